// Repository replicas as real processes: `linesight repo` started N times on one database schema and one
// data folder (so every replica signs with the same key), each on its own port.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../runtime/paths';
import { freePort } from './services';
import { waitFor } from './wait';

export interface RepoReplica {
  url: string;
  proc: ChildProcess;
  output(): string;
  exited(): boolean;
  /** SIGKILL: no shutdown, open transactions and connections just vanish. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export interface ReplicaSet {
  dataDir: string;
  adminToken: string;
  replicas: RepoReplica[];
  urls: string[];
  close(): Promise<void>;
}

export async function startRepoReplica(args: string[]): Promise<RepoReplica> {
  const port = await freePort();
  const proc = spawn(process.execPath, [path.join(PACKAGE_ROOT, 'bin', 'linesight.js'), 'repo', '--port', String(port), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  let exited = false;
  const gone = new Promise<void>((r) => proc.once('exit', () => ((exited = true), r())));
  await waitFor('linesight repo to be ready', () => {
    if (exited) throw new Error(`linesight repo exited:\n${out}`);
    return out.includes(' ready at ');
  }, 60_000);
  const signal = async (sig: NodeJS.Signals) => {
    if (exited) return;
    proc.kill(sig);
    const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(t);
  };
  return { url: `http://127.0.0.1:${port}`, proc, output: () => out, exited: () => exited, kill: () => signal('SIGKILL'), stop: () => signal('SIGTERM') };
}

/** Starts `count` replicas one after the other (the first creates the key and the admin token). */
export async function startReplicaSet(count: number, opts: { db: string; schema: string; broker?: string; mqtt5?: boolean; poolSize?: number }): Promise<ReplicaSet> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'linesight-replicas-'));
  const args = ['--db', opts.db, '--schema', opts.schema, '--data-dir', dataDir, '--pool-size', String(opts.poolSize ?? 10)];
  if (opts.broker) args.push('--broker', opts.broker);
  if (opts.mqtt5) args.push('--broker-mqtt5');
  const replicas: RepoReplica[] = [];
  try {
    for (let i = 0; i < count; i++) replicas.push(await startRepoReplica(args));
  } catch (err) {
    await Promise.all(replicas.map((r) => r.stop()));
    throw err;
  }
  return {
    dataDir,
    adminToken: fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim(),
    replicas,
    urls: replicas.map((r) => r.url),
    async close() {
      await Promise.all(replicas.map((r) => r.stop()));
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
