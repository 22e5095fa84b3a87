// plc-endpoint / plc-read / plc-write in a real Node-RED against pymodbus in another process. The
// register words below were worked out by hand (Python struct for the float64 bytes), not by the codec.
import assert from 'node:assert/strict';
import type ModbusRTU from 'modbus-serial';
import { freePort } from '../../support/services';
import { waitFor } from '../../support/wait';
import { closeClient, rawClient, startPymodbus, type Peer } from './peers';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const helper = require('node-red-node-test-helper');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const plcEndpoint = require('../../../nodes/plc-endpoint/plc-endpoint');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const plcRead = require('../../../nodes/plc-read/plc-read');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const plcWrite = require('../../../nodes/plc-write/plc-write');

helper.init(require.resolve('node-red'));

interface Case {
  name: string;
  address: string;
  type: string;
  order?: string;
  length?: number;
  scale?: number;
  offset?: number;
  /** Holding (or input) register offset and its words, by hand. */
  hr?: [number, number[]];
  ir?: [number, number[]];
  expect: unknown;
}

// -123456789 = 0xF8A432EB; 3.14159274f = 0x40490FDB; 0x0001020304050607 = 283686952306183;
// -1234.5678 (float64) = C0 93 4A 45 6D 5C FA AD; -1000 (int64) = FFFF FFFF FFFF FC18.
const CASES: Case[] = [
  { name: 'i16', address: 'hr:0', type: 'int16', hr: [0, [0xfb2e]], expect: -1234 },
  { name: 'i16_badc', address: 'hr:1', type: 'int16', order: 'BADC', hr: [1, [0x2efb]], expect: -1234 },
  { name: 'u16', address: 'hr:2', type: 'uint16', hr: [2, [0xc350]], expect: 50000 },
  { name: 'u16_dcba', address: 'hr:3', type: 'uint16', order: 'DCBA', hr: [3, [0x50c3]], expect: 50000 },
  { name: 'i32_abcd', address: 'hr:10', type: 'int32', order: 'ABCD', hr: [10, [0xf8a4, 0x32eb]], expect: -123456789 },
  { name: 'i32_badc', address: 'hr:12', type: 'int32', order: 'BADC', hr: [12, [0xa4f8, 0xeb32]], expect: -123456789 },
  { name: 'i32_cdab', address: 'hr:14', type: 'int32', order: 'CDAB', hr: [14, [0x32eb, 0xf8a4]], expect: -123456789 },
  { name: 'i32_dcba', address: 'hr:16', type: 'int32', order: 'DCBA', hr: [16, [0xeb32, 0xa4f8]], expect: -123456789 },
  { name: 'u32_abcd', address: 'hr:18', type: 'uint32', hr: [18, [0xb2d0, 0x5e00]], expect: 3000000000 },
  { name: 'u32_cdab', address: 'hr:20', type: 'uint32', order: 'CDAB', hr: [20, [0x5e00, 0xb2d0]], expect: 3000000000 },
  { name: 'f32_abcd', address: 'hr:22', type: 'float32', hr: [22, [0x4049, 0x0fdb]], expect: 3.1415927410125732 },
  { name: 'f32_badc', address: 'hr:24', type: 'float32', order: 'BADC', hr: [24, [0x4940, 0xdb0f]], expect: 3.1415927410125732 },
  { name: 'f32_cdab', address: 'hr:26', type: 'float32', order: 'CDAB', hr: [26, [0x0fdb, 0x4049]], expect: 3.1415927410125732 },
  { name: 'f32_dcba', address: 'hr:28', type: 'float32', order: 'DCBA', hr: [28, [0xdb0f, 0x4940]], expect: 3.1415927410125732 },
  { name: 'i64_abcd', address: 'hr:30', type: 'int64', hr: [30, [0x0001, 0x0203, 0x0405, 0x0607]], expect: 283686952306183 },
  { name: 'i64_badc', address: 'hr:34', type: 'int64', order: 'BADC', hr: [34, [0x0100, 0x0302, 0x0504, 0x0706]], expect: 283686952306183 },
  { name: 'i64_cdab', address: 'hr:38', type: 'int64', order: 'CDAB', hr: [38, [0x0607, 0x0405, 0x0203, 0x0001]], expect: 283686952306183 },
  { name: 'i64_dcba', address: 'hr:42', type: 'int64', order: 'DCBA', hr: [42, [0x0706, 0x0504, 0x0302, 0x0100]], expect: 283686952306183 },
  { name: 'i64_neg', address: 'hr:46', type: 'int64', hr: [46, [0xffff, 0xffff, 0xffff, 0xfc18]], expect: -1000 },
  { name: 'i64_big', address: 'hr:50', type: 'int64', hr: [50, [0x0102, 0x0304, 0x0506, 0x0708]], expect: '72623859790382856' },
  { name: 'f64_abcd', address: 'hr:54', type: 'float64', hr: [54, [0xc093, 0x4a45, 0x6d5c, 0xfaad]], expect: -1234.5678 },
  { name: 'f64_badc', address: 'hr:58', type: 'float64', order: 'BADC', hr: [58, [0x93c0, 0x454a, 0x5c6d, 0xadfa]], expect: -1234.5678 },
  { name: 'f64_cdab', address: 'hr:62', type: 'float64', order: 'CDAB', hr: [62, [0xfaad, 0x6d5c, 0x4a45, 0xc093]], expect: -1234.5678 },
  { name: 'f64_dcba', address: 'hr:66', type: 'float64', order: 'DCBA', hr: [66, [0xadfa, 0x5c6d, 0x454a, 0x93c0]], expect: -1234.5678 },
  { name: 'str', address: 'hr:70', type: 'string', length: 6, hr: [70, [0x4c49, 0x4e45, 0x2d37]], expect: 'LINE-7' },
  { name: 'str_badc', address: 'hr:73', type: 'string', order: 'BADC', length: 6, hr: [73, [0x494c, 0x454e, 0x372d]], expect: 'LINE-7' },
  { name: 'str_nul', address: 'hr:76', type: 'string', length: 4, hr: [76, [0x4f4b, 0x0000]], expect: 'OK' },
  { name: 'bit0', address: 'hr:80.0', type: 'bool', hr: [80, [0xa005]], expect: true },
  { name: 'bit1', address: 'hr:80.1', type: 'bool', expect: false },
  { name: 'bit2_modicon', address: '40081.2', type: 'bool', expect: true },
  { name: 'bit15', address: 'hr:80.15', type: 'bool', expect: true },
  { name: 'modicon_hr', address: '40091', type: 'uint16', hr: [90, [4321]], expect: 4321 },
  { name: 'modicon6_hr', address: '400092', type: 'int16', hr: [91, [0xffff]], expect: -1 },
  { name: 'scaled', address: 'hr:95', type: 'int16', scale: 0.1, offset: -10, hr: [95, [1234]], expect: 113.4 },
  { name: 'ir_i16', address: 'ir:0', type: 'int16', ir: [0, [777]], expect: 777 },
  { name: 'ir_modicon_f32', address: '30003', type: 'float32', ir: [2, [0x4049, 0x0fdb]], expect: 3.1415927410125732 },
  { name: 'coil3', address: 'c:3', type: 'bool', expect: true },
  { name: 'coil4_modicon', address: '00005', type: 'bool', expect: false },
  { name: 'di2', address: '10003', type: 'bool', expect: true },
  { name: 'di1', address: 'di:1', type: 'bool', expect: false },
];

const WRITE_TAGS = [
  { name: 'lamp', address: 'c:10', type: 'bool', writable: true },
  { name: 'horn', address: '00012', type: 'bool', writable: true },
  { name: 'w_i16', address: 'hr:100', type: 'int16', writable: true, min: -500, max: 500 },
  { name: 'w_i32_cdab', address: 'hr:102', type: 'int32', order: 'CDAB', writable: true },
  { name: 'w_f32_badc', address: 'hr:104', type: 'float32', order: 'BADC', writable: true },
  { name: 'w_f64_dcba', address: 'hr:106', type: 'float64', order: 'DCBA', writable: true },
  { name: 'w_i64_cdab', address: 'hr:110', type: 'int64', order: 'CDAB', writable: true },
  { name: 'w_str', address: 'hr:114', type: 'string', length: 5, writable: true },
  { name: 'w_bit', address: 'hr:120.3', type: 'bool', writable: true },
  { name: 'w_scaled', address: 'hr:121', type: 'uint16', scale: 0.5, offset: 0, writable: true },
  { name: 'ro_speed', address: 'hr:122', type: 'uint16' },
];

function layout() {
  const hr: Record<number, number> = { 120: 0x0101, 122: 7 };
  const ir: Record<number, number> = {};
  for (const c of CASES) {
    if (c.hr) c.hr[1].forEach((w, i) => (hr[c.hr![0] + i] = w));
    if (c.ir) c.ir[1].forEach((w, i) => (ir[c.ir![0] + i] = w));
  }
  return { hr, ir, co: { 3: true, 4: false }, di: { 2: true } };
}

describe('plc nodes against pymodbus (Modbus TCP)', function () {
  this.timeout(60_000);
  let peer: Peer;
  let port: number;
  let raw: ModbusRTU;

  before(async () => {
    port = await freePort();
    peer = await startPymodbus(layout(), { port });
    raw = await rawClient(port);
  });
  after(async () => {
    await closeClient(raw);
    await peer?.stop();
  });
  beforeEach(async () => {
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
  });

  const endpoint = (tags: unknown[]) => ({ id: 'ep', type: 'plc-endpoint', name: 'pymodbus', protocol: 'modbus-tcp', host: '127.0.0.1', port, unitId: 1, timeoutMs: 2000, tags });

  it('decodes every data type and byte order exactly, in the fewest requests', async () => {
    const tags = CASES.map(({ name, address, type, order, length, scale, offset }) => ({ name, address, type, order, length, scale, offset }));
    await helper.load([plcEndpoint, plcRead], [endpoint(tags), { id: 'r', type: 'plc-read', endpoint: 'ep', intervalMs: 0, maxGap: 10, wires: [['out']] }, { id: 'out', type: 'helper' }]);
    const out = helper.getNode('out');
    const got = new Promise<any>((r) => out.on('input', r));
    const ep = helper.getNode('ep');
    await waitFor('connected', () => ep.driver.state.phase === 'connected', 20_000);
    const before = ep.driver.requests;
    helper.getNode('r').receive({ payload: 'go' });
    const msg = await got;
    assert.equal(msg.payload.length, CASES.length);
    for (const c of CASES) {
      const s = msg.payload.find((p: any) => p.tag === c.name);
      assert.equal(s.quality, 'good', `${c.name}: ${s.reason}`);
      assert.equal(s.device, 'pymodbus');
      if (typeof c.expect === 'number' && !Number.isInteger(c.expect)) assert.ok(Math.abs(s.value - c.expect) < 1e-9, `${c.name}: ${s.value} != ${c.expect}`);
      else assert.deepEqual(s.value, c.expect, c.name);
      assert.deepEqual(msg.values[c.name], s.value);
    }
    // holding 0..96 with gaps <= 10 -> 1 request; input 0..3 -> 1; coils 3..4 -> 1; discrete 1..2 -> 1.
    assert.equal(ep.driver.requests - before, 4);
  });

  it('writes every type and order; the registers hold the hand-computed words; read-back verifies', async () => {
    await helper.load([plcEndpoint, plcWrite], [endpoint(WRITE_TAGS), { id: 'w', type: 'plc-write', endpoint: 'ep', verify: true, wires: [['out']] }, { id: 'out', type: 'helper' }]);
    const out = helper.getNode('out');
    const ep = helper.getNode('ep');
    await waitFor('connected', () => ep.driver.state.phase === 'connected', 20_000);
    const got = new Promise<any>((r) => out.on('input', r));
    helper.getNode('w').receive({
      payload: [
        { tag: 'lamp', value: true },
        { tag: 'horn', value: 1 },
        { tag: 'w_i16', value: -321 },
        { tag: 'w_i32_cdab', value: -123456789 },
        { tag: 'w_f32_badc', value: 3.1415927410125732 },
        { tag: 'w_f64_dcba', value: -1234.5678 },
        { tag: 'w_i64_cdab', value: 283686952306183 },
        { tag: 'w_str', value: 'AB-1' },
        { tag: 'w_bit', value: true },
        { tag: 'w_scaled', value: 21.5 },
      ],
    });
    const msg = await got;
    assert.equal(msg.written.length, 10);
    assert.deepEqual((await raw.readCoils(10, 2)).data.slice(0, 2), [true, true]);
    const hr = (await raw.readHoldingRegisters(100, 22)).data;
    assert.deepEqual(hr.slice(0, 1), [0x10000 - 321]);
    assert.deepEqual(hr.slice(2, 4), [0x32eb, 0xf8a4]);
    assert.deepEqual(hr.slice(4, 6), [0x4940, 0xdb0f]);
    assert.deepEqual(hr.slice(6, 10), [0xadfa, 0x5c6d, 0x454a, 0x93c0]);
    assert.deepEqual(hr.slice(10, 14), [0x0607, 0x0405, 0x0203, 0x0001]);
    assert.deepEqual(hr.slice(14, 17), [0x4142, 0x2d31, 0x0000]);
    assert.equal(hr[20], 0x0109, 'bit 3 set, the other bits of the register kept');
    assert.equal(hr[21], 43, '21.5 / scale 0.5');
  });

  it('writes int64 values beyond 2^53 given as decimal text or BigInt exactly, and reads them back exactly', async () => {
    await helper.load([plcEndpoint, plcWrite], [endpoint(WRITE_TAGS), { id: 'w', type: 'plc-write', endpoint: 'ep', verify: true, wires: [['out']] }, { id: 'out', type: 'helper' }]);
    const out = helper.getNode('out');
    const ep = helper.getNode('ep');
    await waitFor('connected', () => ep.driver.state.phase === 'connected', 20_000);
    // 2^53 + 1 has no JS number; 0x0102030405060708 and -2^63 are hand-computed words (CDAB: words reversed).
    const cases: Array<[unknown, string, number[]]> = [
      ['9007199254740993', '9007199254740993', [0x0001, 0x0000, 0x0000, 0x0020]],
      [72623859790382856n, '72623859790382856', [0x0708, 0x0506, 0x0304, 0x0102]],
      ['-9223372036854775808', '-9223372036854775808', [0x0000, 0x0000, 0x0000, 0x8000]],
    ];
    for (const [value, text, words] of cases) {
      const got = new Promise<any>((r) => out.once('input', r));
      helper.getNode('w').receive({ payload: { tag: 'w_i64_cdab', value } });
      const msg = await got;
      assert.deepEqual(msg.written, [{ tag: 'w_i64_cdab', value: text, readBack: text }], `read back exactly: ${text}`);
      assert.deepEqual((await raw.readHoldingRegisters(110, 4)).data, words);
    }
  });

  it('accepts a LineAction from defect-rule and writes its writes', async () => {
    await helper.load([plcEndpoint, plcWrite], [endpoint(WRITE_TAGS), { id: 'w', type: 'plc-write', endpoint: 'ep', wires: [['out']] }, { id: 'out', type: 'helper' }]);
    await raw.writeCoil(10, false);
    const ep = helper.getNode('ep');
    await waitFor('connected', () => ep.driver.state.phase === 'connected', 20_000);
    const got = new Promise<any>((r) => helper.getNode('out').on('input', r));
    const action = { actionId: 'a1', ruleId: 'r1', kind: 'alarm', severity: 'critical', ts: Date.now(), writes: [{ tag: 'lamp', value: true }, { tag: 'w_i16', value: 42 }] };
    helper.getNode('w').receive({ payload: action });
    const msg = await got;
    assert.equal(msg.payload.actionId, 'a1');
    assert.equal((await raw.readCoils(10, 1)).data[0], true);
    assert.equal((await raw.readHoldingRegisters(100, 1)).data[0], 42);
  });

  const BAD: [string, unknown, RegExp][] = [
    ['unknown tag', [{ tag: 'w_i16', value: 1 }, { tag: 'nope', value: 1 }], /tag "nope": unknown tag/],
    ['non-writable tag', [{ tag: 'w_i16', value: 2 }, { tag: 'ro_speed', value: 1 }], /tag "ro_speed": is not writable/],
    ['wrong type for bool', [{ tag: 'w_i16', value: 3 }, { tag: 'lamp', value: 'on' }], /tag "lamp": expects a boolean \(or 0\/1\), got string "on"/],
    ['wrong type for number', [{ tag: 'w_i16', value: 4 }, { tag: 'w_i32_cdab', value: '12' }], /tag "w_i32_cdab": expects a finite number, got string "12"/],
    ['above the tag maximum', [{ tag: 'w_i16', value: 5 }, { tag: 'w_i16', value: 501 }], /tag "w_i16": value 501 is above the tag maximum 500/],
    ['out of the type range after scale', [{ tag: 'w_i16', value: 6 }, { tag: 'w_scaled', value: 40000 }], /tag "w_scaled": value 40000 \(raw 80000\) is out of range for uint16/],
    ['string too long', [{ tag: 'w_i16', value: 7 }, { tag: 'w_str', value: 'TOO-LONG' }], /tag "w_str": string of 8 characters is longer than the tag's 5/],
    ['not an integer', [{ tag: 'w_i16', value: 1.5 }], /tag "w_i16": int16 expects an integer, got 1.5/],
    ['missing value', [{ tag: 'w_i16' }], /tag "w_i16": value is required/],
  ];
  for (const [what, payload, pattern] of BAD) {
    it(`refuses ${what} with an error naming the tag, and writes nothing`, async () => {
      await raw.writeRegister(100, 999);
      await helper.load([plcEndpoint, plcWrite], [endpoint(WRITE_TAGS), { id: 'w', type: 'plc-write', endpoint: 'ep', wires: [['out']] }, { id: 'out', type: 'helper' }]);
      const ep = helper.getNode('ep');
      await waitFor('connected', () => ep.driver.state.phase === 'connected', 20_000);
      const w = helper.getNode('w');
      let sent = false;
      helper.getNode('out').on('input', () => (sent = true));
      const err = new Promise<any>((r) => w.on('call:error', r));
      const requestsBefore = ep.driver.requests;
      w.receive({ payload });
      const call = await err;
      assert.match(String(call.args[0]), pattern);
      assert.equal(sent, false);
      assert.equal(ep.driver.requests, requestsBefore, 'no request was sent');
      assert.equal((await raw.readHoldingRegisters(100, 1)).data[0], 999, 'the valid first write was not sent either');
    });
  }

  it('marks samples bad with the reason when a read fails (illegal address), never skipping the poll', async () => {
    const tags = [{ name: 'beyond', address: 'hr:20000', type: 'uint16' }, { name: 'ok', address: 'hr:2', type: 'uint16' }];
    await helper.load([plcEndpoint, plcRead], [endpoint(tags), { id: 'r', type: 'plc-read', endpoint: 'ep', intervalMs: 200, wires: [['out']] }, { id: 'out', type: 'helper' }]);
    const msgs: any[] = [];
    helper.getNode('out').on('input', (m: any) => msgs.push(m));
    // Polls before the connection is up are bad too ("not connected"): none is skipped.
    const connected = () => msgs.filter((m) => m.values.ok !== null);
    await waitFor('three polls after connecting', () => connected().length >= 3, 20_000);
    for (const m of msgs.filter((x) => x.values.ok === null)) assert.match(m.payload[0].reason, /not connected/);
    for (const m of connected().slice(0, 3)) {
      const beyond = m.payload.find((s: any) => s.tag === 'beyond');
      assert.equal(beyond.quality, 'bad');
      assert.equal(beyond.value, null);
      assert.match(beyond.reason, /Illegal data address|exception/i);
      assert.equal(m.values.ok, 50000);
    }
  });

  it('refuses an invalid tag table at deploy, naming the tag and the reason', async () => {
    const tags = [{ name: 'bad_addr', address: '50001', type: 'uint16' }, { name: 'ro', address: 'ir:3', type: 'uint16', writable: true }, { name: 'c', address: 'c:1', type: 'int16' }];
    await helper.load([plcEndpoint, plcWrite], [endpoint(tags), { id: 'w', type: 'plc-write', endpoint: 'ep', wires: [[]] }]);
    const ep = helper.getNode('ep');
    await waitFor('config error logged', () => ep.error.called, 5000);
    const text = String(ep.error.firstCall.args[0]);
    assert.match(text, /tag "bad_addr" has address "50001" is not a Modbus address/);
    assert.match(text, /tag "ro" is writable but input registers are read-only/);
    assert.match(text, /tag "c" is a coil and can only be bool, not int16/);
    const w = helper.getNode('w');
    const err = new Promise<any>((r) => w.on('call:error', r));
    w.receive({ payload: { tag: 'c', value: true } });
    assert.match(String((await err).args[0]), /invalid config/);
  });
});
