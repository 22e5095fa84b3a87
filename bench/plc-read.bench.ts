// Reading 1,000 tags laid out in 10 blocks of 100 neighbouring holding registers from pymodbus (another
// process): polls per second through plc-read in a real Node-RED (the project's tier runtime, in this
// process) beside raw modbus-serial issuing the same 10 requests in the same run, and node-red-contrib-modbus
// 5.23.3 (Modbus-Flex-Getter, one message per request) on the same read in the same runtime.
import ModbusRTU from 'modbus-serial';
import { freePort } from '../test/support/services';
import { startPymodbus } from '../test/integration/plc/peers';
import { report } from './support/report';
import { startBenchRuntime } from './plc-runtime';

const BLOCKS = 10;
const PER_BLOCK = 100;
const STRIDE = 200;
const ROUND_MS = 3000;
const ROUNDS = 3;

/** Closed loop: how many polls complete per second over `ms`. */
async function pollsPerSecond(poll: () => Promise<unknown>, ms: number): Promise<number> {
  for (let i = 0; i < 20; i++) await poll(); // warm-up
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < ms) {
    await poll();
    n++;
  }
  return n / ((performance.now() - t0) / 1000);
}

/**
 * Closed loops of `a` and `b` interleaved poll by poll for `ms`, so both see the same machine load (a
 * shared 2-core machine drifts by 2x within seconds): polls/s of each = its polls / time spent in it.
 */
async function interleaved(a: () => Promise<unknown>, b: () => Promise<unknown>, ms: number): Promise<[number, number]> {
  for (let i = 0; i < 50; i++) {
    await a();
    await b();
  }
  let ta = 0;
  let tb = 0;
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    const t1 = performance.now();
    await a();
    const t2 = performance.now();
    await b();
    ta += t2 - t1;
    tb += performance.now() - t2;
    n++;
  }
  return [n / (ta / 1000), n / (tb / 1000)];
}

async function main() {
  const port = await freePort();
  const hr: Record<number, number> = {};
  for (let b = 0; b < BLOCKS; b++) for (let i = 0; i < PER_BLOCK; i++) hr[b * STRIDE + i] = (b * 1000 + i) & 0xffff;
  const peer = await startPymodbus({ hr }, { port });
  try {
    const tags = [];
    for (let b = 0; b < BLOCKS; b++) for (let i = 0; i < PER_BLOCK; i++) tags.push({ name: `t${b}_${i}`, address: `hr:${b * STRIDE + i}`, type: 'uint16' });

    // Raw modbus-serial: the same 10 requests, all in flight at once.
    const raw = new ModbusRTU();
    await raw.connectTCP('127.0.0.1', { port });
    raw.setID(1);
    raw.setTimeout(2000);
    const rawPoll = () => Promise.all(Array.from({ length: BLOCKS }, (_, b) => raw.readHoldingRegisters(b * STRIDE, PER_BLOCK)));

    const red = await startBenchRuntime();
    await red.deploy([
      { id: 'tab', type: 'tab', label: 'bench' },
      { id: 'ep', type: 'plc-endpoint', name: 'bench', protocol: 'modbus-tcp', host: '127.0.0.1', port, maxInFlight: BLOCKS, timeoutMs: 2000, tags },
      { id: 'r', type: 'plc-read', z: 'tab', endpoint: 'ep', intervalMs: 0, wires: [['out']] },
      { id: 'out', type: 'debug', z: 'tab', active: false, tosidebar: false, console: false, complete: 'false', wires: [] },
    ]);
    const ep = red.node('ep');
    const readNode = red.node('r');
    let waiting: ((m: unknown) => void) | undefined;
    red.onInput('out', (m) => {
      const w = waiting;
      waiting = undefined;
      w?.(m);
    });
    const t0 = Date.now();
    while (ep.driver.state.phase !== 'connected') {
      if (Date.now() - t0 > 20_000) throw new Error('plc-endpoint did not connect');
      await new Promise((r) => setTimeout(r, 20));
    }
    let lastMsg: any;
    const nodePoll = () =>
      new Promise((resolve) => {
        waiting = (m: unknown) => resolve((lastMsg = m));
        readNode.receive({});
      });
    await nodePoll();
    if (lastMsg.payload.length !== 1000 || lastMsg.payload.some((s: any) => s.quality !== 'good')) throw new Error('plc-read did not read 1,000 good tags');
    if (lastMsg.values.t3_7 !== 3007) throw new Error('wrong value decoded');
    const before = ep.driver.requests;
    for (let i = 0; i < 10; i++) await nodePoll();
    const perPoll = (ep.driver.requests - before) / 10;

    const [nodeRate, rawRate] = await interleaved(nodePoll, rawPoll, ROUNDS * ROUND_MS);

    // node-red-contrib-modbus 5.23.3: Modbus-Client + Modbus-Flex-Getter, one message per 100-register request.
    let contrib = NaN;
    let contribNote = '';
    try {
      await red.deploy([
        { id: 'tab', type: 'tab', label: 'bench' },
        { id: 'mc', type: 'modbus-client', name: 'c', clienttype: 'tcp', bufferCommands: true, tcpHost: '127.0.0.1', tcpPort: port, tcpType: 'DEFAULT', unit_id: 1, commandDelay: 1, clientTimeout: 2000, reconnectOnTimeout: true, reconnectTimeout: 2000, parallelUnitIdsAllowed: true, stateLogEnabled: false, queueLogEnabled: false, failureLogEnabled: false },
        { id: 'g', type: 'modbus-flex-getter', z: 'tab', server: 'mc', showStatusActivities: false, showErrors: false, logIOActivities: false, useIOFile: false, useIOForPayload: false, emptyMsgOnFail: false, keepMsgProperties: false, wires: [['cout'], []] },
        { id: 'cout', type: 'debug', z: 'tab', active: false, tosidebar: false, console: false, complete: 'false', wires: [] },
      ]);
      const g = red.node('g');
      if (!g) throw new Error('node-red-contrib-modbus did not load in the runtime');
      let onOut: (() => void) | undefined;
      red.onInput('cout', () => onOut?.());
      await new Promise((r) => setTimeout(r, 1500)); // its client connects on its own schedule
      const contribPoll = () =>
        new Promise<void>((resolve, reject) => {
          let got = 0;
          const t = setTimeout(() => {
            onOut = undefined;
            reject(new Error(`node-red-contrib-modbus answered ${got} of ${BLOCKS}`));
          }, 10_000);
          onOut = () => {
            if (++got === BLOCKS) {
              clearTimeout(t);
              onOut = undefined;
              resolve();
            }
          };
          for (let b = 0; b < BLOCKS; b++) g.receive({ payload: { fc: 3, unitid: 1, address: b * STRIDE, quantity: PER_BLOCK } });
        });
      contrib = await pollsPerSecond(contribPoll, ROUND_MS);
      contribNote = `Modbus-Flex-Getter, 10 messages per poll, raw register arrays (no tag decoding); measured alone for ${ROUND_MS / 1000} s right after`;
    } catch (err) {
      contribNote = `node-red-contrib-modbus failed: ${(err as Error).message}`;
    }
    await red.deploy([]);
    await red.close();
    await new Promise<void>((r) => raw.close(() => r()));

    report({ bench: 'plc-read', metric: 'requests per poll (1,000 tags in 10 blocks of 100)', value: perPoll, unit: 'requests', baseline: 10, note: 'minimum is 10' });
    report({ bench: 'plc-read', metric: 'polls per second, 1,000 tags decoded, through plc-read in Node-RED', value: nodeRate, unit: 'polls/s', baseline: rawRate, note: `baseline: raw modbus-serial issuing the same 10 requests (all in flight) against pymodbus; the two closed loops interleaved poll by poll for ${(ROUNDS * ROUND_MS) / 1000} s; goal ratio >= 0.8` });
    if (Number.isFinite(contrib)) {
      report({ bench: 'plc-read', metric: 'polls per second, node-red-contrib-modbus 5.23.3 on the same read', value: contrib, unit: 'polls/s', baseline: nodeRate, note: `${contribNote}; ratio = contrib / plc-read` });
    } else console.error(contribNote);
  } finally {
    await peer.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
