// Modbus RTU over a real serial line: socat joins two pseudo-terminals; pymodbus serves RTU on one end,
// plc-endpoint (modbus-serial connectRTUBuffered) talks on the other.
import assert from 'node:assert/strict';
import { waitFor } from '../../support/wait';
import { startPtyPair, startPymodbus, type Peer } from './peers';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const helper = require('node-red-node-test-helper');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const plcEndpoint = require('../../../nodes/plc-endpoint/plc-endpoint');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const plcRead = require('../../../nodes/plc-read/plc-read');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const plcWrite = require('../../../nodes/plc-write/plc-write');

helper.init(require.resolve('node-red'));

describe('plc nodes over Modbus RTU (socat pseudo-terminal pair, pymodbus RTU server)', function () {
  this.timeout(60_000);
  let line: Awaited<ReturnType<typeof startPtyPair>> | undefined;
  let peer: Peer | undefined;

  before(async () => {
    line = await startPtyPair();
    peer = await startPymodbus({ hr: { 0: 0xf8a4, 1: 0x32eb, 2: 0x4049, 3: 0x0fdb, 4: 0x4c49, 5: 0x4e45 }, co: { 1: true } }, { serialPath: line.peer, baud: 38400 });
  });
  after(async () => {
    await peer?.stop();
    await line?.stop();
  });
  beforeEach(async () => {
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
  });

  it('reads typed tags, writes with read-back, one request at a time', async () => {
    const tags = [
      { name: 'i32', address: 'hr:0', type: 'int32' },
      { name: 'f32', address: 'hr:2', type: 'float32' },
      { name: 'code', address: 'hr:4', type: 'string', length: 4 },
      { name: 'lamp', address: 'c:1', type: 'bool' },
      { name: 'stop', address: 'c:2', type: 'bool', writable: true },
      { name: 'setpoint', address: 'hr:10', type: 'int16', writable: true },
    ];
    await helper.load([plcEndpoint, plcRead, plcWrite], [
      { id: 'ep', type: 'plc-endpoint', name: 'rtu', protocol: 'modbus-rtu', serialPath: line!.plc, baudRate: 38400, parity: 'none', unitId: 1, timeoutMs: 2000, tags },
      { id: 'r', type: 'plc-read', endpoint: 'ep', intervalMs: 0, maxGap: 10, wires: [['out']] },
      { id: 'w', type: 'plc-write', endpoint: 'ep', verify: true, wires: [['wout']] },
      { id: 'out', type: 'helper' },
      { id: 'wout', type: 'helper' },
    ]);
    const ep = helper.getNode('ep');
    await waitFor('serial port open', () => ep.driver.state.phase === 'connected', 20_000);
    const written = new Promise<any>((r) => helper.getNode('wout').on('input', r));
    helper.getNode('w').receive({ payload: [{ tag: 'stop', value: true }, { tag: 'setpoint', value: -42 }] });
    assert.deepEqual((await written).written.map((x: any) => x.readBack), [true, -42]);
    const msgs: any[] = [];
    helper.getNode('out').on('input', (m: any) => msgs.push(m));
    for (let i = 0; i < 3; i++) helper.getNode('r').receive({});
    await waitFor('three reads answered', () => msgs.length === 3, 20_000);
    for (const m of msgs) {
      assert.deepEqual(m.values, { i32: -123456789, f32: 3.1415927410125732, code: 'LINE', lamp: true, stop: true, setpoint: -42 });
      assert.ok(m.payload.every((s: any) => s.quality === 'good'));
    }
    assert.equal(ep.driver.connector.pending, 0);
  });

  it('refuses an RTU endpoint without a serial port path', async () => {
    await helper.load([plcEndpoint], [{ id: 'ep', type: 'plc-endpoint', protocol: 'modbus-rtu', tags: [] }]);
    const ep = helper.getNode('ep');
    await waitFor('config error', () => ep.error.called, 5000);
    assert.match(String(ep.error.firstCall.args[0]), /serialPath is required for Modbus RTU/);
  });

  it('refuses a bad parity or baud rate, naming the field', async () => {
    await helper.load([plcEndpoint], [{ id: 'ep', type: 'plc-endpoint', protocol: 'modbus-rtu', serialPath: '/dev/ttyUSB0', parity: 'mark', baudRate: 50, tags: [] }]);
    const ep = helper.getNode('ep');
    await waitFor('config error', () => ep.error.called, 5000);
    const text = String(ep.error.firstCall.args[0]);
    assert.match(text, /parity must be one of "even", "none", "odd"/);
    assert.match(text, /baudRate must be >= 300/);
  });
});
