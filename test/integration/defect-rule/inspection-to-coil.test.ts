// End to end in a real Node-RED (a `linesight runtime` child process): a Python grpcio camera submits an
// inspection to camera-intake, defect-rule fires, plc-write sets the alarm coil on pymodbus (another
// process), and the hold time later resets it. A clean inspection leaves the coil alone, and a rules
// message swapped in at run time changes what fires.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type ModbusRTU from 'modbus-serial';
import { startRuntimeProcess, type RuntimeProcess } from '../../support/runtime-process';
import { freePort } from '../../support/services';
import { waitFor } from '../../support/wait';
import { generateStubs, listening, pythonSubmit, type PySpec } from '../../fixtures/camera-intake/python-camera';
import { closeClient, rawClient, startPymodbus, type Peer } from '../plc/peers';
import { alarmCoilRule } from '../../fixtures/defect-rules';

// Long enough that the lamp is seen on even when a loaded machine is slow to start the Python camera.
const HOLD_MS = 5000;

async function coil(raw: ModbusRTU, address: number): Promise<boolean> {
  return (await raw.readCoils(address, 1)).data[0];
}
const PASS = 1, FAIL = 2;
async function verdictRegister(raw: ModbusRTU): Promise<number> {
  return (await raw.readHoldingRegisters(0, 1)).data[0];
}

function flow(grpcPort: number, modbusPort: number) {
  return [
    { id: 't1', type: 'tab', label: 'inspection to coil' },
    {
      id: 'ep', type: 'plc-endpoint', name: 'pymodbus', protocol: 'modbus-tcp', host: '127.0.0.1', port: modbusPort, unitId: 1, timeoutMs: 2000,
      tags: [
        { name: 'AlarmLamp', address: 'c:0', type: 'bool', writable: true },
        { name: 'divert', address: 'c:1', type: 'bool', writable: true },
        { name: 'last_result', address: 'hr:0', type: 'uint16', writable: true },
      ],
    },
    { id: 'ci', z: 't1', type: 'camera-intake', name: 'camera', host: '127.0.0.1', port: grpcPort, site: 'plant1', line: 'line1', wires: [['dr']] },
    { id: 'dr', z: 't1', type: 'defect-rule', name: 'rules', rules: [alarmCoilRule('AlarmLamp', HOLD_MS)], wires: [['pw'], ['verdict']] },
    { id: 'pw', z: 't1', type: 'plc-write', name: 'coil', endpoint: 'ep', wires: [[]] },
    // The verdict output lands in a register too (1 pass, 2 fail), so the test knows each inspection was judged.
    {
      id: 'verdict', z: 't1', type: 'change', name: 'verdict code',
      rules: [{ t: 'set', p: 'payload', pt: 'msg', to: '{"tag": "last_result", "value": verdict.result = "pass" ? 1 : 2}', tot: 'jsonata' }],
      wires: [['pw2']],
    },
    { id: 'pw2', z: 't1', type: 'plc-write', name: 'verdict register', endpoint: 'ep', wires: [[]] },
    // A rules message injected through the admin API (POST /inject/inj) swaps the rule set at run time.
    {
      id: 'inj', z: 't1', type: 'inject', name: 'new rules', topic: 'rules', payloadType: 'json', repeat: '', once: false,
      payload: JSON.stringify([{ id: 'dent-divert', condition: { classes: ['dent'], minConfidence: 0.5 }, window: { kind: 'consecutive', count: 2 }, action: { kind: 'divert', writes: [{ tag: 'divert', value: true }] } }]),
      props: [{ p: 'payload' }, { p: 'topic', vt: 'str' }], wires: [['dr']],
    },
  ];
}

describe('defect-rule end to end: gRPC inspection -> rule -> Modbus coil (real Node-RED, pymodbus, Python camera)', function () {
  this.timeout(180_000);
  let rt: RuntimeProcess | undefined;
  let plc: Peer | undefined;
  let raw: ModbusRTU | undefined;
  let stubs: string;
  let grpcPort: number;
  let n = 0;

  const camera = (dets: PySpec['detections']): PySpec => ({
    inspection_id: `e2e-${process.pid}-${n++}`,
    camera_id: 'cam-1',
    line_id: 'line1',
    captured_at_ms: Date.now(),
    detections: dets,
  });

  before(async () => {
    stubs = generateStubs();
    const modbusPort = await freePort();
    grpcPort = await freePort();
    plc = await startPymodbus({ co: { 0: false, 1: false } }, { port: modbusPort });
    raw = await rawClient(modbusPort);
    rt = await startRuntimeProcess({ timeoutMs: 60_000 });
    await rt.deploy(flow(grpcPort, modbusPort));
    await waitFor('camera-intake listening', () => listening(grpcPort), 30_000);
  });
  after(async () => {
    await closeClient(raw);
    await rt?.stop();
    await plc?.stop();
    if (stubs) fs.rmSync(stubs, { recursive: true, force: true });
  });

  it('a clean inspection is accepted and leaves the coil off', async () => {
    const [r] = await pythonSubmit(stubs, `127.0.0.1:${grpcPort}`, [camera([{ defect_class: 'scratch', confidence: 0.4 }, { defect_class: 'dent', confidence: 0.95 }])]);
    assert.equal(r.code, 'OK', r.details);
    assert.equal(r.reply?.accepted, true);
    await waitFor('verdict pass in the register', async () => (await verdictRegister(raw!)) === PASS, 20_000, 20);
    assert.equal(await coil(raw!, 0), false);
  });

  it('a scratch above 0.8 sets the alarm coil, and the hold time resets it', async () => {
    // The rule cannot fire before the camera starts, so the reset cannot come before this plus the hold.
    const submittedAt = Date.now();
    const submitted = pythonSubmit(stubs, `127.0.0.1:${grpcPort}`, [camera([{ defect_class: 'scratch', confidence: 0.93, box: { x: 10, y: 10, width: 30, height: 5 } }])]);
    await waitFor('alarm coil on', () => coil(raw!, 0), 30_000, 20);
    const [r] = await submitted;
    assert.equal(r.code, 'OK', r.details);
    assert.equal(await verdictRegister(raw!), FAIL);
    await waitFor('alarm coil reset after the hold', async () => !(await coil(raw!, 0)), 30_000, 50);
    const resetAfter = Date.now() - submittedAt;
    assert.ok(resetAfter >= HOLD_MS, `reset ${resetAfter} ms after the submit, hold is ${HOLD_MS} ms`);
    assert.doesNotMatch(rt!.output(), /defect-rule.*error|plc-write.*error/i);
  });

  it('rules replaced at run time by a rules message take over', async () => {
    const res = await rt!.request('POST', 'inject/inj');
    assert.equal(res.status, 200, await res.text());
    const dent = () => camera([{ defect_class: 'dent', confidence: 0.9 }]);
    await waitFor('the new rule fires on the second dent in a row', async () => {
      const [r] = await pythonSubmit(stubs, `127.0.0.1:${grpcPort}`, [dent(), dent()], { mode: 'stream' });
      assert.equal(r.code, 'OK', r.details);
      return waitFor('divert coil', () => coil(raw!, 1), 5_000, 20);
    }, 30_000, 200);
    assert.equal(await verdictRegister(raw!), FAIL);
    // the old scratch rule is gone: a scratch now passes and no longer lights the lamp
    const [r] = await pythonSubmit(stubs, `127.0.0.1:${grpcPort}`, [camera([{ defect_class: 'scratch', confidence: 0.99 }])]);
    assert.equal(r.code, 'OK');
    await waitFor('verdict pass in the register', async () => (await verdictRegister(raw!)) === PASS, 20_000, 20);
    assert.equal(await coil(raw!, 0), false);
  });
});
