// Child processes of the demo (`linesight ...` subcommands): output to a log file, readiness by a line
// they print, and a clean stop (SIGTERM, then SIGKILL after a grace period).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../paths';
import { ensurePrivateDir } from '../../../lib/private-files';

const BIN = path.join(PACKAGE_ROOT, 'bin', 'linesight.js');

export interface Child {
  name: string;
  proc: ChildProcess;
  logFile: string;
  /** The last lines it printed (for error messages). */
  tail(lines?: number): string;
  /** Resolves with the first line matching `re`; rejects when the process exits or the time runs out. */
  waitFor(re: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  stop(graceMs?: number): Promise<void>;
}

export function startChild(name: string, args: string[], opts: { logDir: string; env?: NodeJS.ProcessEnv }): Child {
  // A first start prints the editor login it generated: logs are for this account only.
  ensurePrivateDir(opts.logDir);
  const logFile = path.join(opts.logDir, `${name}.log`);
  const log = fs.createWriteStream(logFile, { flags: 'a', mode: 0o600 });
  const proc = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let recent: string[] = [];
  let partial = '';
  const listeners = new Set<(line: string) => void>();
  const onData = (d: Buffer) => {
    log.write(d);
    const text = partial + d.toString('utf8');
    const lines = text.split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      recent.push(l);
      for (const fn of listeners) fn(l);
    }
    if (recent.length > 400) recent = recent.slice(-200);
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  exited.then(() => log.end());
  return {
    name,
    proc,
    logFile,
    tail: (n = 30) => recent.slice(-n).join('\n'),
    waitFor(re, timeoutMs) {
      return new Promise((resolve, reject) => {
        const found = recent.map((l) => re.exec(l)).find(Boolean);
        if (found) return resolve(found);
        const timer = setTimeout(() => finish(new Error(`${name} did not print ${re} within ${timeoutMs} ms; its log (${logFile}) ends:\n${recent.slice(-30).join('\n')}`)), timeoutMs);
        const onLine = (l: string) => {
          const m = re.exec(l);
          if (m) finish(undefined, m);
        };
        const onExit = (code: number | null) => finish(new Error(`${name} exited (${code}) before printing ${re}; its log (${logFile}) ends:\n${recent.slice(-30).join('\n')}`));
        const finish = (err?: Error, m?: RegExpExecArray) => {
          clearTimeout(timer);
          listeners.delete(onLine);
          proc.off('exit', onExit);
          if (err) reject(err);
          else resolve(m!);
        };
        listeners.add(onLine);
        proc.once('exit', onExit);
      });
    },
    async stop(graceMs = 15_000) {
      if (proc.exitCode !== null || proc.signalCode) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}
