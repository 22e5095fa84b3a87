// plc-write of one coil to pymodbus (another process), closed loop, in a real Node-RED (the tier runtime,
// in this process): p50/p99 from message in to message out, beside raw modbus-serial writeCoil in the
// same run, interleaved write by write so both see the same machine load. Goal: the node adds <= 0.2 ms at p99.
import ModbusRTU from 'modbus-serial';
import { freePort } from '../test/support/services';
import { startPymodbus } from '../test/integration/plc/peers';
import { percentile, report } from './support/report';
import { startBenchRuntime } from './plc-runtime';

const ROUNDS = 6;
const PER_ROUND = 1000;

async function main() {
  const port = await freePort();
  const peer = await startPymodbus({}, { port });
  const red = await startBenchRuntime();
  try {
    const raw = new ModbusRTU();
    await raw.connectTCP('127.0.0.1', { port });
    raw.setID(1);
    raw.setTimeout(2000);

    await red.deploy([
      { id: 'tab', type: 'tab', label: 'bench' },
      { id: 'ep', type: 'plc-endpoint', name: 'bench', protocol: 'modbus-tcp', host: '127.0.0.1', port, timeoutMs: 2000, tags: [{ name: 'AlarmLamp', address: 'c:0', type: 'bool', writable: true }] },
      { id: 'w', type: 'plc-write', z: 'tab', endpoint: 'ep', wires: [['out']] },
      { id: 'out', type: 'debug', z: 'tab', active: false, tosidebar: false, console: false, complete: 'false', wires: [] },
    ]);
    const ep = red.node('ep');
    const w = red.node('w');
    const t0 = Date.now();
    while (ep.driver.state.phase !== 'connected') {
      if (Date.now() - t0 > 20_000) throw new Error('plc-endpoint did not connect');
      await new Promise((r) => setTimeout(r, 20));
    }
    let waiting: (() => void) | undefined;
    red.onInput('out', () => {
      const f = waiting;
      waiting = undefined;
      f?.();
    });
    let state = false;
    const nodeWrite = () =>
      new Promise<void>((resolve, reject) => {
        // A failed write sends nothing on: the timer turns that into a failed benchmark, not a hang.
        const t = setTimeout(() => reject(new Error('plc-write produced no output within 5 s')), 5000);
        waiting = () => {
          clearTimeout(t);
          resolve();
        };
        state = !state;
        w.receive({ payload: { tag: 'AlarmLamp', value: state } });
      });
    const rawWrite = async () => {
      state = !state;
      await raw.writeCoil(0, state);
    };
    const time = async (f: () => Promise<void>, n: number, into: number[]) => {
      for (let i = 0; i < n; i++) {
        const a = process.hrtime.bigint();
        await f();
        into.push(Number(process.hrtime.bigint() - a) / 1e6);
      }
    };
    // Warm-up, then interleaved rounds.
    await time(nodeWrite, 200, []);
    await time(rawWrite, 200, []);
    // Interleaved write by write, so both see the same machine load.
    const nodeMs: number[] = [];
    const rawMs: number[] = [];
    for (let i = 0; i < ROUNDS * PER_ROUND; i++) {
      await time(rawWrite, 1, rawMs);
      await time(nodeWrite, 1, nodeMs);
    }
    const coil = (await raw.readCoils(0, 1)).data[0];
    if (coil !== state) throw new Error('the last write did not land');
    await new Promise<void>((r) => raw.close(() => r()));

    const n = `${ROUNDS * PER_ROUND} writes each, interleaved write by write`;
    report({ bench: 'plc-write', metric: 'one coil, message in to message out, p50', value: percentile(nodeMs, 50), unit: 'ms', baseline: percentile(rawMs, 50), note: `baseline: raw modbus-serial writeCoil to pymodbus; ${n}` });
    report({ bench: 'plc-write', metric: 'one coil, message in to message out, p99', value: percentile(nodeMs, 99), unit: 'ms', baseline: percentile(rawMs, 99), note: `baseline: raw modbus-serial writeCoil; ${n}` });
    report({ bench: 'plc-write', metric: 'added by the node at p99 (node p99 - raw p99)', value: percentile(nodeMs, 99) - percentile(rawMs, 99), unit: 'ms', baseline: null, note: 'goal <= 0.2 ms' });
  } finally {
    await red.deploy([]).catch(() => {});
    await red.close();
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
