// What the editor-tunnel tests share: a fleet (real repository, real agents supervising real Node-RED
// runtimes on loopback ports the tests never call), people with each role, and the editor reached only
// through the repository.
import http from 'node:http';
import WebSocket from 'ws';
import { login, type BrowserSession } from '../repo/harness';
import { startFleet, uniqueId, type AgentUnderTest, type Fleet } from '../agent/fleet';
import { probeFlow } from '../../fixtures/agent/flows';
import { waitFor } from '../../support/wait';

export const PASSWORD = 'tunnel-test-password';

export interface TunnelWorld {
  fleet: Fleet;
  a: AgentUnderTest;
  b: AgentUnderTest;
  ids: { a: string; b: string };
  deployer: BrowserSession;
  viewer: BrowserSession;
  /** A request to the repository as a logged-in person (the cookie, and the CSRF token on changes). */
  as(who: BrowserSession, method: string, route: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  turnOn(id: string, idleMinutes?: number): Promise<void>;
  connected(id: string): Promise<void>;
  close(): Promise<void>;
}

export async function startTunnelWorld(opts: { tunnelWindow?: number } = {}): Promise<TunnelWorld> {
  const fleet = await startFleet({ broker: true, repo: { tunnelWindow: opts.tunnelWindow, tunnelRecheckMs: 500 } });
  const ids = { a: uniqueId('edit-a'), b: uniqueId('edit-b') };
  const [ta, tb] = [await fleet.register(ids.a, { LINE_ID: 'L1' }), await fleet.register(ids.b, { LINE_ID: 'L2' })];
  await fleet.publish('1.0.0', probeFlow('v1'));
  await fleet.deploy({ version: '1.0.0', target: { ids: [ids.a] } });
  const tunnel = { reconnect: { initialMs: 100, maxMs: 1000 } };
  const [a, b] = await Promise.all([fleet.startAgent(ids.a, ta, { tunnel }), fleet.startAgent(ids.b, tb, { tunnel })]);
  await a.waitFor('running', 'agent-probe@1.0.0');
  const url = fleet.h.repo.url;
  await fleet.h.admin.createUser({ name: 'dana', role: 'deployer', password: PASSWORD });
  await fleet.h.admin.createUser({ name: 'vic', role: 'viewer', password: PASSWORD });
  const deployer = await login(url, 'dana', PASSWORD);
  const viewer = await login(url, 'vic', PASSWORD);
  const as: TunnelWorld['as'] = (who, method, route, body, headers = {}) =>
    fetch(`${fleet.h.repo.url}${route}`, {
      method,
      redirect: 'manual',
      headers: { cookie: who.cookie, ...(method === 'GET' ? {} : { 'x-csrf-token': who.csrfToken }), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  const world: TunnelWorld = {
    fleet,
    a,
    b,
    ids,
    deployer,
    viewer,
    as,
    async turnOn(id, idleMinutes) {
      const res = await as(deployer, 'POST', `/api/v1/devices/${id}/remote-editing`, idleMinutes === undefined ? { enabled: true } : { enabled: true, idleMinutes });
      if (res.status !== 200) throw new Error(`turning remote editing on: HTTP ${res.status} ${await res.text()}`);
    },
    async connected(id) {
      await waitFor(`the tunnel of ${id}`, () => fleet.h.repo.tunnels.status(id).connected, 30_000);
    },
    close: () => fleet.close(),
  };
  return world;
}

/** The editor's comms socket as a browser opens it: session cookie and the repository's own Origin. */
export function openComms(url: string, id: string, who: BrowserSession): Promise<{ ws: WebSocket; messages: unknown[] }> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/devices/${id}/editor/comms`, { headers: { cookie: who.cookie, origin: url } });
  const messages: unknown[] = [];
  ws.on('message', (data) => {
    const parsed = JSON.parse(data.toString()) as unknown;
    messages.push(...(Array.isArray(parsed) ? parsed : [parsed]));
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, messages }));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`comms socket refused: HTTP ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', reject);
  });
}

/** A GET whose answer the client does not read until `resume` (a slow reader). */
export function slowGet(url: string, cookie: string): Promise<{ status: number; resume(): Promise<number> }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { cookie } }, (res) => {
      res.pause();
      resolve({
        status: res.statusCode ?? 0,
        resume: () =>
          new Promise((done, fail) => {
            let bytes = 0;
            res.on('data', (c: Buffer) => (bytes += c.length));
            res.on('end', () => done(bytes));
            res.on('error', fail);
            res.resume();
          }),
      });
    });
    req.on('error', reject);
  });
}
