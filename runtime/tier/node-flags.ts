// The V8 settings a tier runtime runs under, and the relaunch that applies them when `linesight runtime`
// was started without them.
//
// Why: a runtime that takes camera images moves tens of MB/s through short-lived Buffers. With V8's
// default (small) initial old generation, that traffic keeps tripping the old-generation limit, so V8
// runs a full mark-compact several times a second (about 6/s at 100 images/s of 2 MP here), each pausing
// the event loop for 5-15 ms and keeping a second core busy marking. Those pauses were the p99 of the
// inspection -> PLC reaction. Starting with a larger initial heap lets the young generation reclaim the
// image Buffers and the full collections stop (0 in 30 s of the same load), at the price of the heap
// growing to that size before V8 first compacts it. The size is a start value, not a cap.
import { spawn } from 'node:child_process';

export const INITIAL_HEAP_ENV = 'LINESIGHT_INITIAL_HEAP_MIB';
export const DEFAULT_INITIAL_HEAP_MIB = 256;
/** Set in a relaunched runtime, so it never relaunches itself again. */
export const RELAUNCHED_ENV = 'LINESIGHT_RELAUNCHED';

const HEAP_FLAG = '--initial-heap-size';

/** The initial heap in MiB from the command line, else the environment, else the default; 0 = V8's own. */
export function initialHeapMiB(fromCli?: number | string, env: NodeJS.ProcessEnv = process.env): number {
  const [raw, where] = fromCli !== undefined ? [String(fromCli), '--initial-heap-mib'] : env[INITIAL_HEAP_ENV] !== undefined && env[INITIAL_HEAP_ENV] !== '' ? [env[INITIAL_HEAP_ENV]!, INITIAL_HEAP_ENV] : [String(DEFAULT_INITIAL_HEAP_MIB), 'default'];
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n > 65_536) throw new Error(`${where} must be a whole number of MiB from 0 to 65536 (0 = V8's default), got ${JSON.stringify(raw)}`);
  return n;
}

/** Node command-line flags for a runtime with this initial heap. */
export function runtimeNodeFlags(heapMiB: number): string[] {
  return heapMiB > 0 ? [`${HEAP_FLAG}=${heapMiB}`] : [];
}

/** The initial heap this process was started with (MiB), or null when V8 chose. */
export function currentInitialHeapMiB(execArgv: string[] = process.execArgv): number | null {
  for (const a of execArgv) {
    const m = /^--initial[-_]heap[-_]size=(\d+)$/.exec(a);
    if (m) return Number(m[1]);
  }
  return null;
}

/** Whether this process must be relaunched to run under `flags`. */
export function needsRelaunch(flags: string[], execArgv: string[] = process.execArgv, env: NodeJS.ProcessEnv = process.env): boolean {
  if (flags.length === 0 || env[RELAUNCHED_ENV]) return false;
  return flags.some((f) => !execArgv.includes(f));
}

/**
 * Runs this same command again in a child Node started with `flags`, and mirrors it: signals that can be
 * caught (SIGINT, SIGTERM, SIGHUP) are passed on and this process exits as the child did. If this process
 * is killed outright, the child notices its IPC channel closing and kills itself (see `followLauncher`),
 * so a supervisor's SIGKILL still takes the runtime down. Never resolves.
 */
export function relaunch(flags: string[]): Promise<never> {
  const child = spawn(process.execPath, [...process.execArgv, ...flags, ...process.argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [RELAUNCHED_ENV]: '1' },
  });
  const pass = (sig: NodeJS.Signals) => () => child.kill(sig);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, pass(sig));
  return new Promise<never>(() => {
    child.once('exit', (code, signal) => {
      if (signal) {
        process.removeAllListeners(signal);
        process.kill(process.pid, signal);
      }
      process.exit(code ?? 1);
    });
    child.once('error', (err) => {
      console.error(`linesight: could not relaunch the runtime with ${flags.join(' ')}: ${err.message}`);
      process.exit(1);
    });
  });
}

/** In a relaunched runtime: die with the launcher. Returns whether this process is one. */
export function followLauncher(): boolean {
  if (!process.env[RELAUNCHED_ENV] || typeof process.send !== 'function') return false;
  // Not passed on to whatever the runtime starts (an exec node running another runtime must relaunch).
  delete process.env[RELAUNCHED_ENV];
  process.once('disconnect', () => process.kill(process.pid, 'SIGKILL'));
  process.channel?.unref();
  return true;
}
