// Peers for the PLC integration tests, each in its own process: pymodbus (Debian, /usr/bin/python3)
// and the project's own simulator (`linesight simulate plc`).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ModbusRTU from 'modbus-serial';
import { waitFor } from '../../support/wait';

export type Layout = { hr?: Record<number, number>; ir?: Record<number, number>; co?: Record<number, number | boolean>; di?: Record<number, number | boolean> };

export interface Peer {
  proc: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
export const PYMODBUS_SCRIPT = path.join(ROOT, 'test', 'fixtures', 'plc', 'modbus_server.py');

function waitReady(proc: ChildProcess, what: string, pattern: RegExp, timeoutMs = 20_000): Promise<void> & { out: () => string } {
  let out = '';
  const p = new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} did not start within ${timeoutMs} ms: ${out}`)), timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.length > 20_000) out = out.slice(-10_000);
      if (pattern.test(out)) {
        clearTimeout(t);
        resolve();
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`${what} exited with ${code}: ${out}`));
    });
  }) as Promise<void> & { out: () => string };
  p.out = () => out;
  return p;
}

// Backstop: whatever happens in a test, no peer outlives the test process.
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function track(proc: ChildProcess): ChildProcess {
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return proc;
}

function stopper(proc: ChildProcess): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
      proc.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      proc.kill('SIGTERM');
    });
}

/** pymodbus serving `layout` on 127.0.0.1:port (TCP) or a serial path (RTU). */
export async function startPymodbus(layout: Layout, where: { port: number } | { serialPath: string; baud?: number }): Promise<Peer> {
  const args = 'port' in where ? ['tcp', String(where.port)] : ['rtu', where.serialPath, String(where.baud ?? 9600)];
  const proc = track(spawn('/usr/bin/python3', [PYMODBUS_SCRIPT, ...args], { stdio: ['pipe', 'pipe', 'pipe'] }));
  const ready = waitReady(proc, 'pymodbus', /READY/);
  const norm = (o?: Record<number, number | boolean>) => Object.fromEntries(Object.entries(o ?? {}).map(([k, v]) => [k, Number(v)]));
  proc.stdin!.write(JSON.stringify({ hr: norm(layout.hr), ir: norm(layout.ir), co: norm(layout.co), di: norm(layout.di) }) + '\n');
  proc.stdin!.end();
  await ready;
  return { proc, output: ready.out, stop: stopper(proc) };
}

/** A serial line for Modbus RTU: socat joins two pseudo-terminals, `plc` for the endpoint, `peer` for the server. */
export async function startPtyPair(): Promise<{ plc: string; peer: string; stop(): Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plc-rtu-'));
  const plc = path.join(dir, 'plc');
  const peer = path.join(dir, 'peer');
  const socat = track(spawn('socat', [`pty,raw,echo=0,link=${plc}`, `pty,raw,echo=0,link=${peer}`], { stdio: 'ignore' }));
  const stop = async () => {
    await stopper(socat)();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('socat pty pair (Debian package socat)', () => fs.existsSync(plc) && fs.existsSync(peer), 10_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { plc, peer, stop };
}

/** The project's simulator in a child process: `linesight simulate plc`. */
export async function startSimulator(args: string[]): Promise<Peer> {
  const proc = track(spawn(process.execPath, [path.join(ROOT, 'bin', 'linesight.js'), 'simulate', 'plc', ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const ready = waitReady(proc, 'simulator', /ready/i, 60_000);
  await ready;
  return { proc, output: ready.out, stop: stopper(proc) };
}

/** A raw modbus-serial client, to check what really sits in the registers. */
export async function rawClient(port: number): Promise<ModbusRTU> {
  const c = new ModbusRTU();
  await c.connectTCP('127.0.0.1', { port });
  c.setID(1);
  c.setTimeout(2000);
  return c;
}

export function closeClient(c: ModbusRTU | undefined): Promise<void> {
  return new Promise((r) => (c ? c.close(() => r()) : r()));
}

/** test/fixtures/plc/stall-server: never answers holding reads at 1000+, prints "connections N". */
export async function startStallServer(port: number): Promise<Peer & { connections(): number }> {
  const script = path.join(ROOT, 'dist', 'test', 'fixtures', 'plc', 'stall-server.js');
  const proc = track(spawn(process.execPath, [script, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const ready = waitReady(proc, 'stall server', /READY/);
  await ready;
  return {
    proc,
    output: ready.out,
    stop: stopper(proc),
    connections: () => {
      const all = [...ready.out().matchAll(/connections (\d+)/g)];
      return all.length ? Number(all[all.length - 1][1]) : 0;
    },
  };
}
