// docker/scale/haproxy.cfg checked by HAProxy itself (Debian's haproxy; CI installs it): `haproxy -c` on the
// shipped file as it is, then a real HAProxy with that file (only its listen address and the two server
// addresses rewritten to this machine's) in front of two real `linesight repo` processes on one PostgreSQL
// schema. Requests spread over both replicas (HAProxy's own per-server counters say so), the console page,
// a login session and the API work through it, 20 simulated agents (`linesight simulate fleet`) take a
// deployment through it, and a SIGKILLed replica leaves the rotation on its failed /healthz checks while the
// other takes every request and a second deployment.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../../runtime/paths';
import { TunnelClient } from '../../../runtime/agent/tunnel-client';
import { RepoClient } from '../../../runtime/repo/client';
import { lineFlow, lineTemplate } from '../../fixtures/repo/templates';
import { startReplicaSet, type ReplicaSet } from '../../support/repo-replicas';
import { tempDir } from '../../support/runtime-process';
import { dropSchema, freePort, freshSchema, mqttService, pgService } from '../../support/services';
import { waitFor } from '../../support/wait';

const SHIPPED = path.join(PACKAGE_ROOT, 'docker', 'scale', 'haproxy.cfg');
const BIN = path.join(PACKAGE_ROOT, 'bin', 'linesight.js');
const DEVICES = 20;

function haproxyBinary(): string | undefined {
  for (const p of ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy', '/usr/bin/haproxy']) if (fs.existsSync(p)) return p;
  return undefined;
}

/** `haproxy -c`: exit code and what it printed. */
function checkConfig(bin: string, file: string, extra: string[] = []): { status: number; output: string } {
  try {
    const out = execFileSync(bin, ['-c', ...extra, '-f', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    return { status: 0, output: out };
  } catch (err) {
    const e = err as { status?: number; stdout?: string; stderr?: string };
    return { status: e.status ?? 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** The shipped file with this machine's addresses; every rewrite must find its line (the file's shape is checked too). */
function localConfig(shipped: string, lbPort: number, replicaPorts: number[], statsSocket: string): string {
  let cfg = shipped;
  const swap = (from: RegExp, to: string, what: string) => {
    assert.match(cfg, from, `haproxy.cfg has ${what}`);
    cfg = cfg.replace(from, to);
  };
  swap(/^(\s*)bind :8080$/m, `$1bind 127.0.0.1:${lbPort}`, 'the frontend on :8080');
  replicaPorts.forEach((port, i) => swap(new RegExp(`^(\\s*server repository-${i + 1}) repository-${i + 1}:8080`, 'm'), `$1 127.0.0.1:${port}`, `server repository-${i + 1} at repository-${i + 1}:8080`));
  // HAProxy's own counters, read from its stats socket (added for the test only).
  swap(/^global$/m, `global\n  stats socket ${statsSocket} mode 600 level user`, 'a global section');
  return cfg;
}

type ServerStat = { status: string; requests: number; redispatches: number; responseErrors: number };

/** `show stat` on the stats socket: per server of backend `replicas`, its state and HAProxy's counters. */
function serverStats(socket: string): Promise<Record<string, ServerStat>> {
  return new Promise((resolve, reject) => {
    let text = '';
    const c = net.createConnection(socket, () => c.write('show stat\n'));
    c.on('data', (d) => (text += d));
    c.on('error', reject);
    c.on('end', () => {
      const [head, ...rows] = text.trim().split('\n');
      const cols = head!.replace(/^# /, '').split(',');
      const at = (row: string[], name: string) => row[cols.indexOf(name)] ?? '';
      const out: Record<string, ServerStat> = {};
      for (const line of rows) {
        const row = line.split(',');
        if (at(row, 'pxname') !== 'replicas' || ['FRONTEND', 'BACKEND'].includes(at(row, 'svname'))) continue;
        out[at(row, 'svname')] = { status: at(row, 'status'), requests: Number(at(row, 'stot')), redispatches: Number(at(row, 'wredis') || 0), responseErrors: Number(at(row, 'eresp') || 0) };
      }
      resolve(out);
    });
  });
}

describe('docker/scale/haproxy.cfg: a real HAProxy in front of two real repository replicas', function () {
  this.timeout(300_000);
  const bin = haproxyBinary();
  let set: ReplicaSet | undefined;
  let lb: ChildProcess | undefined;
  let lbOut = '';
  let lbUrl = '';
  let schema: string | undefined;
  let dbUrl = '';
  let brokerUrl = '';
  let dir = '';
  let socket = '';
  const fleetProcs: ChildProcess[] = [];

  before(async function () {
    if (!bin) {
      console.log('      [skip] haproxy is not installed (apt-get install haproxy; .ci/run installs it)');
      return this.skip();
    }
    const pg = await pgService();
    // Replicas are two processes on one database: they need a PostgreSQL server, not the embedded one.
    if (pg.kind !== 'real') {
      console.log('      [skip] needs LINESIGHT_PG_URL: two repository processes share one PostgreSQL schema');
      return this.skip();
    }
    dbUrl = pg.url;
    const broker = await mqttService();
    brokerUrl = broker.url;
    schema = await freshSchema(pg.url, 'lb');
    set = await startReplicaSet(2, { db: pg.url, schema, broker: broker.url, mqtt5: broker.protocolVersion === 5, poolSize: 5 });
    dir = tempDir('linesight-haproxy-');
    socket = path.join(dir, 'stats.sock');
    const lbPort = await freePort();
    const cfgFile = path.join(dir, 'haproxy.cfg');
    fs.writeFileSync(cfgFile, localConfig(fs.readFileSync(SHIPPED, 'utf8'), lbPort, set.urls.map((u) => Number(new URL(u).port)), socket));
    const checked = checkConfig(bin, cfgFile, ['-dW']);
    assert.equal(checked.status, 0, `the config with local addresses passes haproxy -c with zero warnings:\n${checked.output}`);
    lb = spawn(bin, ['-db', '-f', cfgFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    lb.stdout!.on('data', (d) => (lbOut += d));
    lb.stderr!.on('data', (d) => (lbOut += d));
    lbUrl = `http://127.0.0.1:${lbPort}`;
    await waitFor('HAProxy to see both replicas UP', async () => {
      if (lb!.exitCode !== null) throw new Error(`haproxy exited ${lb!.exitCode}:\n${lbOut}`);
      if (!fs.existsSync(socket)) return undefined;
      const s = await serverStats(socket);
      return s['repository-1']?.status === 'UP' && s['repository-2']?.status === 'UP' ? s : undefined;
    }, 60_000, 200);
  });

  after(async () => {
    for (const p of fleetProcs) if (p.exitCode === null) p.kill('SIGKILL');
    if (lb && lb.exitCode === null) {
      const gone = new Promise((r) => lb!.once('exit', r));
      lb.kill('SIGTERM');
      await gone;
    }
    await set?.close();
    if (schema) await dropSchema(dbUrl, schema).catch(() => {});
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the shipped file passes `haproxy -c` as it is (the replica names resolve only inside Compose)', function () {
    if (!bin) return this.skip();
    const r = checkConfig(bin, SHIPPED);
    assert.equal(r.status, 0, r.output);
    // Outside Compose the names do not resolve: with init-addr none HAProxy still starts and waits for them.
    const warnings = r.output.split('\n').filter((l) => /WARNING|ALERT/.test(l));
    for (const w of warnings) assert.match(w, /could not resolve address 'repository-[12]'/, `only the unresolvable replica names are reported: ${w}`);
  });

  it('spreads requests over both replicas, and the console, a login session and the API work through it', async () => {
    const admin = new RepoClient({ url: lbUrl, token: set!.adminToken });
    const before = await serverStats(socket);
    for (let i = 0; i < 40; i++) await admin.listTemplates();
    const after = await serverStats(socket);
    const served = (name: string) => after[name]!.requests - before[name]!.requests;
    console.log(`      [lb] 40 API requests: repository-1 served ${served('repository-1')}, repository-2 ${served('repository-2')}`);
    assert.ok(served('repository-1') >= 10 && served('repository-2') >= 10, `both replicas served (${served('repository-1')} / ${served('repository-2')})`);
    assert.equal(served('repository-1') + served('repository-2'), 40);

    const page = await fetch(`${lbUrl}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i, 'the console page');
    // A session made on one replica holds on the other (sessions live in PostgreSQL).
    const password = fs.readFileSync(path.join(set!.dataDir, 'admin-password'), 'utf8').trim();
    const login = await fetch(`${lbUrl}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) });
    assert.equal(login.status, 200, await login.clone().text());
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const { csrfToken } = (await login.json()) as { csrfToken: string };
    const seen = await serverStats(socket);
    for (let i = 0; i < 6; i++) {
      const r = await fetch(`${lbUrl}/api/v1/session`, { headers: { cookie } });
      assert.equal(r.status, 200, `session request ${i} through the balancer`);
    }
    const later = await serverStats(socket);
    assert.ok(later['repository-1']!.requests > seen['repository-1']!.requests && later['repository-2']!.requests > seen['repository-2']!.requests, 'the session was used on both replicas');
    // A write with the session (CSRF token) through the balancer.
    const created = await fetch(`${lbUrl}/api/v1/templates`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrfToken, 'content-type': 'application/json' }, body: JSON.stringify(lineTemplate) });
    assert.equal(created.status, 201, await created.text());
    await admin.publishVersion('line-inspection', { version: '1.0.0', flow: lineFlow('v1') });
  });

  it("carries an agent's editor tunnel (WebSocket) and sends every request naming that device to the replica holding it", async () => {
    const token = set!.adminToken;
    const admin = new RepoClient({ url: lbUrl, token });
    const id = `tun${Date.now().toString(36)}`;
    const { token: deviceToken } = await admin.registerDevice({ id, tier: 'cloud' }); // not in the line deployments below
    const bearer = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const on = await fetch(`${lbUrl}/api/v1/devices/${id}/remote-editing`, { method: 'POST', headers: bearer, body: JSON.stringify({ enabled: true }) });
    assert.equal(on.status, 200, await on.text());
    // The agent's own tunnel client, given the balancer's address as its repository.
    const ran: string[] = [];
    const tunnel = new TunnelClient({ repoUrl: lbUrl, deviceId: id, token: deviceToken, idleMs: 600_000, runtime: () => null, command: async (name) => (ran.push(name), { ran: name }), log: () => {} });
    const opened = new Promise((r) => tunnel.once('open', r));
    tunnel.start();
    try {
      await opened;
      const before = await serverStats(socket);
      for (let i = 0; i < 8; i++) {
        const r = await fetch(`${lbUrl}/api/v1/devices/${id}/remote-commands`, { method: 'POST', headers: bearer, body: JSON.stringify({ command: 'last-good' }) });
        assert.equal(r.status, 200, `remote command ${i} through the balancer: ${await r.clone().text()}`);
        assert.deepEqual(await r.json(), { command: 'last-good', result: { ran: 'last-good' } });
        assert.equal((await admin.getDevice(id) as unknown as { tunnel: { connected: boolean } }).tunnel.connected, true, `device document ${i} shows the tunnel`);
      }
      assert.equal(ran.length, 8, 'the agent ran every command');
      const after = await serverStats(socket);
      const served = ['repository-1', 'repository-2'].map((n) => after[n]!.requests - before[n]!.requests);
      console.log(`      [lb] 16 requests naming the tunnelled device: repository-1 served ${served[0]}, repository-2 ${served[1]}`);
      assert.ok(served.includes(0) && served.includes(16), `one replica served them all (${served.join(' / ')})`);
    } finally {
      tunnel.stop();
    }
  });

  it(`takes ${DEVICES} simulated agents and a deployment; a SIGKILLed replica leaves the rotation and the other carries on`, async () => {
    const admin = new RepoClient({ url: lbUrl, token: set!.adminToken });
    const prefix = `lb${Date.now().toString(36)}`;
    const fleet = spawn(process.execPath, [BIN, 'simulate', 'fleet', '--repo', lbUrl, '--token', set!.adminToken, '--devices', String(DEVICES), '--poll', '500ms', '--deploy-time', '200ms', '--every', '1s', '--id-prefix', prefix, '--broker', brokerUrl, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    fleetProcs.push(fleet);
    let fleetOut = '';
    fleet.stdout!.on('data', (d) => (fleetOut += d));
    fleet.stderr!.on('data', (d) => (fleetOut += d));
    const summaries = () => fleetOut.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { done?: boolean; devices: number; pollErrors: number; states: Record<string, number> });
    await waitFor(`${DEVICES} simulated devices registered through the balancer`, async () => {
      if (fleet.exitCode !== null) throw new Error(`simulate fleet exited ${fleet.exitCode}:\n${fleetOut}`);
      return (await admin.listDevices()).filter((d) => d.id.startsWith(`${prefix}-`) && d.lastSeen).length === DEVICES;
    }, 90_000, 500);

    const rollout = async (version: string) => {
      const dep = await admin.createDeployment({ template: 'line-inspection', version, target: { tier: 'line' } });
      const done = await waitFor(`deployment of ${version} to complete on every device`, async () => {
        if (fleet.exitCode !== null) throw new Error(`simulate fleet exited ${fleet.exitCode}:\n${fleetOut}`);
        const d = await admin.getDeployment(dep.id);
        return d.state === 'completed' ? d : undefined;
      }, 120_000, 500);
      assert.equal(done.counts.running, DEVICES, JSON.stringify(done.counts));
    };
    await rollout('1.0.0');

    // SIGKILL replica 1 while the agents poll: its checks fail and it leaves the rotation.
    await set!.replicas[0]!.kill();
    await waitFor('HAProxy to mark repository-1 DOWN', async () => (await serverStats(socket))['repository-1']?.status.startsWith('DOWN'), 60_000, 200);
    const down = await serverStats(socket);
    for (let i = 0; i < 20; i++) await admin.listTemplates(); // any failure throws
    const after = await serverStats(socket);
    assert.equal(after['repository-1']!.requests, down['repository-1']!.requests, 'nothing more is sent to the dead replica');
    assert.ok(after['repository-2']!.requests - down['repository-2']!.requests >= 20, 'the live replica takes every request');

    await admin.publishVersion('line-inspection', { version: '1.0.1', flow: lineFlow('v2') });
    await rollout('1.0.1');

    const gone = new Promise((r) => fleet.once('exit', r));
    fleet.kill('SIGTERM');
    await gone;
    const last = summaries().at(-1)!;
    assert.equal(last.done, true, 'the simulator printed its final summary');
    assert.deepEqual(last.states, { running: DEVICES });
    const s = await serverStats(socket);
    // Requests in flight at the SIGKILL get a 502 (HAProxy retries only failed connections, never a sent request).
    console.log(`      [lb] fleet poll errors over the whole run: ${last.pollErrors}; HAProxy redispatches ${s['repository-1']!.redispatches + s['repository-2']!.redispatches}, response errors ${s['repository-1']!.responseErrors + s['repository-2']!.responseErrors}`);
  });
});
