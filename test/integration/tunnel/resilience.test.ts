// The editor tunnel under trouble: the repository restarts (the agent dials again), a reader that does
// not read (its stream stops at the window; other editor requests go on), and an unused tunnel that
// closes itself after the idle time and turns remote editing off.
import assert from 'node:assert/strict';
import { createRepoServer } from '../../../runtime/repo/server';
import { pgService } from '../../support/services';
import { waitFor } from '../../support/wait';
import { slowGet, startTunnelWorld, type TunnelWorld } from './support';

const WINDOW = 64 * 1024;
/** The biggest file the Node-RED editor serves (its TypeScript worker), about 6.4 MB. */
const BIG = 'vendor/monaco/dist/ts.worker.js';

describe('editor tunnel: restart, back-pressure, idle close', function () {
  this.timeout(180_000);
  let w: TunnelWorld;
  let editor: (id: string) => string;

  before(async function () {
    this.timeout(150_000);
    w = await startTunnelWorld({ tunnelWindow: WINDOW });
    editor = (id) => `/devices/${id}/editor/`;
    await w.turnOn(w.ids.a);
    await w.connected(w.ids.a);
  });
  after(async function () {
    this.timeout(60_000);
    await w?.close();
  });

  it('a stream nobody reads stops at its window; other editor requests go on; it completes when read', async () => {
    const tunnel = w.fleet.h.repo.tunnels.get(w.ids.a)!;
    const stuck = tunnel.open({ type: 'http', method: 'GET', path: `/${BIG}`, headers: {} });
    stuck.pause();
    stuck.end();
    // A chunk that does not fit the credit left waits for more: the window fills to within one chunk.
    await waitFor('the first window of the big answer', () => stuck.stats.received >= WINDOW - 32 * 1024, 20_000);
    // Other streams of the same tunnel are not held up behind it.
    for (let i = 0; i < 5; i++) assert.equal((await w.as(w.deployer, 'GET', `${editor(w.ids.a)}settings`)).status, 200);
    assert.ok(stuck.stats.received <= WINDOW, `the agent sent ${stuck.stats.received} bytes without credit (window ${WINDOW})`);
    let bytes = 0;
    stuck.on('data', (c: Buffer) => (bytes += c.length));
    const ended = new Promise((r) => stuck.once('end', r));
    stuck.resume();
    await ended;
    assert.ok(stuck.stats.received > 6_000_000, `${stuck.stats.received} bytes in all once read`);
  });

  it('a browser that reads slowly does not stall other sessions, and gets every byte when it reads', async () => {
    const url = w.fleet.h.repo.url;
    const slow = await slowGet(`${url}${editor(w.ids.a)}${BIG}`, w.deployer.cookie);
    assert.equal(slow.status, 200);
    const flows = await w.as(w.deployer, 'GET', `${editor(w.ids.a)}flows`);
    assert.equal(flows.status, 200);
    for (let i = 0; i < 5; i++) assert.equal((await w.as(w.deployer, 'GET', `${editor(w.ids.a)}settings`)).status, 200);
    const direct = (await import('node:fs')).statSync(require.resolve(`@node-red/editor-client/public/${BIG}`)).size;
    assert.equal(await slow.resume(), direct);
  });

  it('survives the repository restarting: the agent dials again and the editor answers', async () => {
    const old = w.fleet.h.repo;
    const port = old.port;
    await old.close();
    await waitFor('the agent to notice', () => !w.a.agent.tunnel?.connected, 20_000);
    const pg = await pgService();
    const repo = await createRepoServer({ db: pg.url, schema: w.fleet.h.schema, dataDir: w.fleet.h.dataDir, port, poolSize: 4, broker: w.fleet.brokerUrl ?? undefined, brokerProtocolVersion: 4, tunnelWindow: WINDOW });
    w.fleet.h.repo = repo;
    await w.connected(w.ids.a);
    assert.equal((await w.as(w.deployer, 'GET', `${editor(w.ids.a)}settings`)).status, 200);
  });

  it('closes after the idle time and turns remote editing off, until someone turns it on again', async () => {
    await w.turnOn(w.ids.b, 0.02);
    await w.connected(w.ids.b);
    await waitFor('the idle tunnel to close', () => !w.fleet.h.repo.tunnels.status(w.ids.b).connected, 30_000);
    await waitFor('remote editing to be off', async () => (await w.fleet.device(w.ids.b)).remoteEditing === null, 20_000);
    const audit = (await w.fleet.h.admin.audit({ subject: w.ids.b })) as unknown as Array<{ action: string; detail: { reason?: string } }>;
    assert.ok(audit.some((e) => e.action === 'device.remote-editing.off' && /idle/.test(e.detail.reason ?? '')));
    await waitFor('agent B to hear that remote editing is off', () => w.b.desired.some((d) => !d.d.remoteEditing && d.d.generation > 0) && w.b.agent.tunnel === null, 20_000);
    await w.turnOn(w.ids.b, 5);
    await w.connected(w.ids.b);
  });
});
