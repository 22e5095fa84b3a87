// plc nodes against the project's simulator (`linesight simulate plc`) in another process: Modbus TCP
// from modbus-serial's server, and OPC UA from node-opcua's server (read, subscribe, write), including
// killing the OPC UA server mid-subscription and starting it again on the same port.
import assert from 'node:assert/strict';
import { freePort } from '../../support/services';
import { waitFor } from '../../support/wait';
import { SIM_MODBUS_TAGS, SIM_OPCUA_TAGS } from '../../../runtime/dev/simulators/plc-tags';
import { startSimulator, type Peer } from './peers';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const helper = require('node-red-node-test-helper');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const plcEndpoint = require('../../../nodes/plc-endpoint/plc-endpoint');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const plcRead = require('../../../nodes/plc-read/plc-read');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const plcWrite = require('../../../nodes/plc-write/plc-write');

helper.init(require.resolve('node-red'));

describe('plc nodes against the simulator (Modbus TCP and OPC UA, another process)', function () {
  this.timeout(180_000);
  let sim: Peer | undefined;
  let port: number;
  let opcuaPort: number;
  const unhandled: unknown[] = [];
  const onUnhandled = (r: unknown) => unhandled.push(r);

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    port = await freePort();
    opcuaPort = await freePort();
    sim = await startSimulator(['--port', String(port), '--opcua', String(opcuaPort), '--tick', '50']);
  });
  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    await sim?.stop();
  });
  beforeEach(async () => {
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
  });

  const modbusEp = () => ({ id: 'ep', type: 'plc-endpoint', name: 'sim', protocol: 'modbus-tcp', host: '127.0.0.1', port, tags: SIM_MODBUS_TAGS });
  const opcuaEp = () => ({ id: 'ep', type: 'plc-endpoint', name: 'sim-ua', protocol: 'opcua', endpointUrl: `opc.tcp://127.0.0.1:${opcuaPort}/UA/Linesight`, reconnectMinMs: 200, reconnectMaxMs: 2000, timeoutMs: 5000, tags: SIM_OPCUA_TAGS });

  it('Modbus: the line moves, every showcase type decodes, a LineStop write stops it', async () => {
    await helper.load([plcEndpoint, plcRead, plcWrite], [
      modbusEp(),
      { id: 'r', type: 'plc-read', endpoint: 'ep', intervalMs: 100, wires: [['out']] },
      { id: 'w', type: 'plc-write', endpoint: 'ep', verify: true, wires: [['wout']] },
      { id: 'out', type: 'helper' },
      { id: 'wout', type: 'helper' },
    ]);
    let last: any;
    helper.getNode('out').on('input', (m: any) => (last = m));
    await waitFor('line running', () => last?.values.LineSpeed > 0 && last.values.Mode === 1, 30_000);
    const v = last.values;
    assert.equal(v.Int16_ABCD, -1234);
    assert.equal(v.Int16_BADC, -1234);
    for (const o of ['ABCD', 'BADC', 'CDAB', 'DCBA']) {
      assert.equal(v[`Int32_${o}`], -123456789, o);
      assert.equal(v[`Float32_${o}`], 3.1415927410125732, o);
      assert.equal(v[`Int64_${o}`], 283686952306183, o);
      assert.equal(v[`Float64_${o}`], -1234.5678, o);
    }
    assert.equal(v.UInt16, 50000);
    assert.equal(v.UInt32, 3000000000);
    assert.equal(v.ProductCode, 'PX-2000');
    assert.equal(v.EStopOk, true);
    const count = v.GoodCount;
    await waitFor('counter moves', () => last.values.GoodCount > count, 20_000);
    const written = new Promise<any>((r) => helper.getNode('wout').on('input', r));
    helper.getNode('w').receive({ payload: { tag: 'LineStop', value: true } });
    assert.equal((await written).written[0].readBack, true);
    await waitFor('line stopped', () => last.values.LineSpeed === 0 && last.values.Mode === 0, 30_000);
    const w2 = new Promise<any>((r) => helper.getNode('wout').on('input', r));
    helper.getNode('w').receive({ payload: { tag: 'LineStop', value: false } });
    await w2;
  });

  it('OPC UA: subscribes, reads on a message, writes with server types, refuses bad values', async () => {
    await helper.load([plcEndpoint, plcRead, plcWrite], [
      opcuaEp(),
      { id: 'sub', type: 'plc-read', endpoint: 'ep', tags: 'LineSpeed,GoodCount,AlarmLamp', intervalMs: 100, wires: [['subout']] },
      { id: 'r', type: 'plc-read', endpoint: 'ep', intervalMs: 0, wires: [['out']] },
      { id: 'w', type: 'plc-write', endpoint: 'ep', verify: true, timeoutMs: 10_000, wires: [['wout']] },
      { id: 'subout', type: 'helper' },
      { id: 'out', type: 'helper' },
      { id: 'wout', type: 'helper' },
    ]);
    const ep = helper.getNode('ep');
    await waitFor('OPC UA connected', () => ep.driver.state.phase === 'connected', 60_000);
    const changes: any[] = [];
    helper.getNode('subout').on('input', (m: any) => changes.push(...m.payload));
    await waitFor('GoodCount changes published', () => new Set(changes.filter((s) => s.tag === 'GoodCount' && s.quality === 'good').map((s) => s.value)).size >= 3, 30_000);

    const read = new Promise<any>((r) => helper.getNode('out').on('input', r));
    helper.getNode('r').receive({ payload: 'now' });
    const msg = await read;
    assert.equal(msg.payload.length, SIM_OPCUA_TAGS.length);
    assert.ok(msg.payload.every((s: any) => s.quality === 'good'), JSON.stringify(msg.payload.filter((s: any) => s.quality !== 'good')));
    assert.equal(msg.values.ProductCode, 'PX-2000');
    assert.equal(msg.values.LifetimeCount, 0x0001020304050607, 'Int64 [high, low] from the server');
    assert.equal(typeof msg.values.LineSpeed, 'number');
    assert.equal(msg.payload.find((s: any) => s.tag === 'LineSpeed').unit, 'm/min');

    const written = Promise.race([
      new Promise<any>((r) => helper.getNode('wout').once('input', r)),
      new Promise<any>((_, reject) => helper.getNode('w').once('call:error', (c: any) => reject(new Error(`write failed: ${c.args[0]}`)))),
    ]);
    helper.getNode('w').receive({ payload: [{ tag: 'AlarmLamp', value: true }, { tag: 'SpeedSetpoint', value: 150 }, { tag: 'ProductCode', value: 'PX-9' }, { tag: 'BatchSize', value: 1200 }, { tag: 'LifetimeCount', value: -5000000000 }] });
    const wmsg = await written;
    assert.deepEqual(wmsg.written.map((w: any) => w.readBack), [true, 150, 'PX-9', 1200, -5000000000]);
    await waitFor('AlarmLamp change published', () => changes.some((s) => s.tag === 'AlarmLamp' && s.value === true), 20_000);

    const w = helper.getNode('w');
    const cases: [unknown, RegExp][] = [
      [{ tag: 'SpeedSetpoint', value: 500 }, /tag "SpeedSetpoint": value 500 is above the tag maximum 300/],
      [{ tag: 'BatchSize', value: 40000 }, /tag "BatchSize": value 40000 is out of range for int16/],
      [{ tag: 'AlarmLamp', value: 'yes' }, /tag "AlarmLamp": expects a boolean/],
      [{ tag: 'GoodCount', value: 1 }, /tag "GoodCount": is not writable/],
    ];
    for (const [payload, pattern] of cases) {
      const err = new Promise<any>((r) => w.once('call:error', r));
      w.receive({ payload: [{ tag: 'AlarmLamp', value: false }, payload] });
      assert.match(String((await err).args[0]), pattern);
    }
    // The first write of each refused message (AlarmLamp false) was never sent.
    const again = new Promise<any>((r) => helper.getNode('out').once('input', r));
    helper.getNode('r').receive({ payload: 'now' });
    assert.equal((await again).values.AlarmLamp, true);
    const reset = new Promise<any>((r) => helper.getNode('wout').once('input', r));
    w.receive({ payload: [{ tag: 'AlarmLamp', value: false }, { tag: 'SpeedSetpoint', value: 120 }] });
    await reset;
  });

  it('OPC UA: the server is killed mid-subscription and restarted: bad samples, fault shown, resumes, nothing leaks', async () => {
    await helper.load([plcEndpoint, plcRead], [
      opcuaEp(),
      { id: 'sub', type: 'plc-read', endpoint: 'ep', tags: 'LineSpeed,GoodCount', intervalMs: 100, wires: [['subout']] },
    ].concat([{ id: 'subout', type: 'helper' } as any]));
    const ep = helper.getNode('ep');
    const sub = helper.getNode('sub');
    const statuses: any[] = [];
    sub.on('call:status', (c: any) => statuses.push(c.args[0]));
    const samples: any[] = [];
    helper.getNode('subout').on('input', (m: any) => samples.push(...m.payload));
    await waitFor('first good samples', () => samples.some((s) => s.tag === 'GoodCount' && s.quality === 'good'), 60_000);

    sim!.proc.kill('SIGKILL');
    await sim!.stop();
    await waitFor('bad samples after the kill', () => samples.some((s) => s.quality === 'bad'), 30_000);
    const bad = samples.find((s) => s.quality === 'bad');
    assert.equal(bad.value, null);
    assert.ok(bad.reason);
    await waitFor('red status shown', () => statuses.some((s) => s.fill === 'red'), 30_000);

    sim = await startSimulator(['--port', String(port), '--opcua', String(opcuaPort), '--tick', '50']);
    const restartedAt = Date.now();
    const n = samples.length;
    await waitFor('good samples again after the restart', () => samples.slice(n).some((s) => s.tag === 'GoodCount' && s.quality === 'good'), 90_000);
    await waitFor('green status again', () => statuses.at(-1)?.fill === 'green' || ep.driver.state.phase === 'connected', 30_000);
    console.log(`      resumed ${Date.now() - restartedAt} ms after the server was back (reconnect bound 2000 ms + session/subscription repair)`);
    assert.equal(ep.driver.pending, 0);
    assert.deepEqual(unhandled, []);
  });
});
