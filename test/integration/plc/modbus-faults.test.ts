// Faults with real peers in other processes: pymodbus killed mid-poll and restarted on the same port,
// a PLC that swallows a request (the timeout frees its slot, later requests go on), and redeploys that
// must close every connection.
import assert from 'node:assert/strict';
import { freePort } from '../../support/services';
import { sleep, waitFor } from '../../support/wait';
import { startPymodbus, startStallServer, type Peer } from './peers';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const helper = require('node-red-node-test-helper');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const plcEndpoint = require('../../../nodes/plc-endpoint/plc-endpoint');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const plcRead = require('../../../nodes/plc-read/plc-read');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const plcWrite = require('../../../nodes/plc-write/plc-write');

helper.init(require.resolve('node-red'));

describe('plc nodes under faults (Modbus TCP)', function () {
  this.timeout(120_000);
  const peers: Peer[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (r: unknown) => unhandled.push(r);
  before(() => process.on('unhandledRejection', onUnhandled));
  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    for (const p of peers) await p.stop();
  });
  beforeEach(async () => {
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
  });

  it('pymodbus killed mid-poll and restarted: bad samples with the reason, red status, reconnect within the backoff bound, no growing queue', async () => {
    const port = await freePort();
    const layout = { hr: { 0: 11, 1: 22 } };
    let peer = await startPymodbus(layout, { port });
    peers.push(peer);
    const MAX = 1000;
    await helper.load([plcEndpoint, plcRead, plcWrite], [
      { id: 'ep', type: 'plc-endpoint', name: 'pm', protocol: 'modbus-tcp', host: '127.0.0.1', port, timeoutMs: 500, maxInFlight: 2, reconnectMinMs: 100, reconnectMaxMs: MAX, tags: [{ name: 'a', address: 'hr:0', type: 'uint16' }, { name: 'b', address: 'hr:1', type: 'uint16', writable: true }] },
      { id: 'r', type: 'plc-read', endpoint: 'ep', intervalMs: 50, wires: [['out']] },
      { id: 'w', type: 'plc-write', endpoint: 'ep', wires: [[]] },
      { id: 'out', type: 'helper' },
    ]);
    const ep = helper.getNode('ep');
    const r = helper.getNode('r');
    const w = helper.getNode('w');
    const statuses: any[] = [];
    r.on('call:status', (c: any) => statuses.push(c.args[0]));
    const wStatuses: any[] = [];
    w.on('call:status', (c: any) => wStatuses.push(c.args[0]));
    const retryDelays: number[] = [];
    ep.driver.on('state', (s: any) => s.retryInMs !== undefined && retryDelays.push(s.retryInMs));
    const msgs: any[] = [];
    helper.getNode('out').on('input', (m: any) => msgs.push(m));
    await waitFor('good polls', () => msgs.filter((m) => m.values.a === 11).length >= 3, 20_000);

    peer.proc.kill('SIGKILL');
    await peer.stop();
    const killedAt = msgs.length;
    let maxPending = 0;
    const probe = setInterval(() => (maxPending = Math.max(maxPending, ep.driver.pending)), 10);
    try {
      await waitFor('bad samples after the kill', () => msgs.slice(killedAt).some((m) => m.payload[0].quality === 'bad'), 20_000);
      await waitFor('red ring on plc-read and plc-write', () => statuses.some((s) => s.fill === 'red' && s.shape === 'ring') && wStatuses.some((s) => s.fill === 'red' && s.shape === 'ring'), 20_000).catch((err: Error) => {
        throw new Error(`${err.message}; plc-read showed ${JSON.stringify(statuses.slice(-6))}; plc-write showed ${JSON.stringify(wStatuses.slice(-6))}`);
      });
      const bad = msgs.slice(killedAt).find((m) => m.payload[0].quality === 'bad').payload[0];
      assert.equal(bad.value, null);
      assert.match(bad.reason, /not connected|closed|ECONNRE|timed out|no answer/i);
      // A write while the PLC is away fails at once, naming the tag; it is not queued.
      const err = new Promise<any>((res) => w.once('call:error', res));
      w.receive({ payload: { tag: 'b', value: 5 } });
      assert.match(String((await err).args[0]), /tag "b": write failed: not connected/);
      await sleep(1500); // several polls and reconnect attempts while it is down
      const during = msgs.length - killedAt;
      assert.ok(during >= 5, `polls go on while down (${during})`);

      peer = await startPymodbus(layout, { port });
      peers.push(peer);
      const back = Date.now();
      const n = msgs.length;
      await waitFor('good samples again', () => msgs.slice(n).some((m) => m.values.a === 11), 30_000);
      const took = Date.now() - back;
      console.log(`      resumed ${took} ms after the restart; retry delays ${retryDelays.join(', ')} ms; max pending ${maxPending}`);
      assert.ok(retryDelays.length >= 2 && retryDelays.every((d) => d <= MAX), `every retry delay within the bound: ${retryDelays}`);
      assert.ok(took < MAX + 10_000, `reconnected within the backoff bound (+ slack for a loaded machine): ${took} ms`);
      await waitFor('green again', () => statuses.at(-1)?.fill === 'green', 10_000);
    } finally {
      clearInterval(probe);
    }
    assert.ok(maxPending <= 2, `queue stays bounded (max pending ${maxPending})`);
    assert.equal(ep.driver.pending <= 2, true);
    assert.deepEqual(unhandled, []);
  });

  it('a request the PLC never answers times out with the reason and does not block later requests', async () => {
    const port = await freePort();
    const stall = await startStallServer(port);
    peers.push(stall);
    await helper.load([plcEndpoint, plcRead], [
      { id: 'ep', type: 'plc-endpoint', protocol: 'modbus-tcp', host: '127.0.0.1', port, timeoutMs: 400, maxInFlight: 2, tags: [{ name: 'swallowed', address: 'hr:1000', type: 'uint16' }, { name: 'fine', address: 'hr:7', type: 'uint16' }] },
      { id: 'stuck', type: 'plc-read', endpoint: 'ep', tags: 'swallowed', intervalMs: 0, wires: [['stuckOut']] },
      { id: 'ok', type: 'plc-read', endpoint: 'ep', tags: 'fine', intervalMs: 0, wires: [['okOut']] },
      { id: 'stuckOut', type: 'helper' },
      { id: 'okOut', type: 'helper' },
    ]);
    const ep = helper.getNode('ep');
    await waitFor('connected', () => ep.driver.state.phase === 'connected', 20_000);
    const stuck = new Promise<any>((r) => helper.getNode('stuckOut').once('input', r));
    const oks: any[] = [];
    helper.getNode('okOut').on('input', (m: any) => oks.push(m));
    helper.getNode('stuck').receive({});
    for (let i = 0; i < 5; i++) helper.getNode('ok').receive({});
    // The good reads are answered while the swallowed one is still waiting in flight.
    await waitFor('five answered reads', () => oks.length === 5, 20_000);
    const stuckMsg = await stuck;
    assert.ok(oks.every((m) => m.values.fine === 7));
    assert.equal(stuckMsg.payload[0].quality, 'bad');
    assert.match(stuckMsg.payload[0].reason, /no answer within 400 ms/);
    // And after the timeout the slot is free again.
    const later = new Promise<any>((r) => helper.getNode('okOut').once('input', r));
    helper.getNode('ok').receive({});
    assert.equal((await later).values.fine, 7);
    assert.equal(ep.driver.pending, 0);
  });

  it('redeploy closes the connection; a new deploy opens exactly one', async () => {
    const port = await freePort();
    const stall = await startStallServer(port);
    peers.push(stall);
    const flow = [
      { id: 'ep', type: 'plc-endpoint', protocol: 'modbus-tcp', host: '127.0.0.1', port, tags: [{ name: 'x', address: 'hr:1', type: 'uint16' }] },
      { id: 'r1', type: 'plc-read', endpoint: 'ep', intervalMs: 50, wires: [[]] },
      { id: 'r2', type: 'plc-read', endpoint: 'ep', intervalMs: 50, wires: [[]] },
    ];
    for (let round = 0; round < 3; round++) {
      await helper.load([plcEndpoint, plcRead], flow);
      await waitFor('one shared connection', () => stall.connections() === 1, 20_000);
      await sleep(200);
      assert.equal(stall.connections(), 1, 'two plc-read share one connection');
      await helper.unload();
      await waitFor('connection closed after unload', () => stall.connections() === 0, 10_000);
    }
    assert.deepEqual(unhandled, []);
  });
});
