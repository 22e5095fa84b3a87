// Starts a real tier runtime (`linesight runtime`) as a child process and talks to its admin API.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../runtime/paths';
import { freePort } from './services';
import { initialHeapMiB, runtimeNodeFlags } from '../../runtime/tier/node-flags';

export interface RuntimeProcess {
  url: string;
  port: number;
  userDir: string;
  proc: ChildProcess;
  /** Everything the process printed so far. */
  output(): string;
  /** Authorization header value, when the runtime requires login and `login()` was called. */
  authHeader?: string;
  login(username: string, password: string): Promise<void>;
  /** GET/POST to the admin API with the login token when there is one. */
  request(method: string, route: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  /** Full deploy of a flow array; resolves when Node-RED has accepted it. */
  deploy(flows: unknown[]): Promise<void>;
  stop(): Promise<void>;
}

export interface StartOptions {
  tier?: 'line' | 'factory' | 'cloud';
  insecure?: boolean;
  userDir?: string;
  env?: Record<string, string>;
  args?: string[];
  timeoutMs?: number;
  /** Start plain `node bin/linesight.js runtime …` and let it relaunch itself under the runtime flags. */
  relaunch?: boolean;
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] (not allowed in NODE_OPTIONS). */
  nodeArgs?: string[];
}

export function tempDir(prefix = 'linesight-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function startRuntimeProcess(opts: StartOptions = {}): Promise<RuntimeProcess> {
  const port = await freePort();
  const userDir = opts.userDir ?? tempDir('linesight-rt-');
  const args = [path.join(PACKAGE_ROOT, 'bin', 'linesight.js'), 'runtime', '--tier', opts.tier ?? 'line', '--port', String(port), '--user-dir', userDir, '--log-level', 'warn'];
  if (opts.insecure ?? true) args.push('--insecure');
  args.push(...(opts.args ?? []));
  // Started with the runtime's node flags, as its agent starts it: `proc` is the runtime itself, so a
  // test's SIGKILL hits Node-RED and not a launcher (the launcher has tests of its own).
  const env = { ...process.env, ...opts.env };
  const proc = spawn(process.execPath, [...(opts.relaunch ? [] : runtimeNodeFlags(initialHeapMiB(undefined, env))), ...(opts.nodeArgs ?? []), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const url = `http://127.0.0.1:${port}/`;
  const started = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`runtime did not start within ${opts.timeoutMs ?? 30000} ms:\n${out}`)), opts.timeoutMs ?? 30_000);
    const check = () => {
      if (out.includes(' ready at ')) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout!.on('data', check);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`runtime exited with ${code} before it was ready:\n${out}`));
    });
  });
  try {
    await started;
  } catch (err) {
    // A runtime that never became ready is not left running behind the failed set-up.
    if (proc.exitCode === null && !proc.signalCode) {
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGKILL');
      await exited;
    }
    throw err;
  }
  const rt: RuntimeProcess = {
    url,
    port,
    userDir,
    proc,
    output: () => out,
    async login(username, password) {
      const res = await fetch(`${url}auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_id: 'node-red-admin', grant_type: 'password', scope: '*', username, password }),
      });
      if (!res.ok) throw new Error(`login failed: ${res.status} ${await res.text()}`);
      const tok = (await res.json()) as { access_token: string };
      rt.authHeader = `Bearer ${tok.access_token}`;
    },
    request(method, route, body, headers = {}) {
      const h: Record<string, string> = { accept: 'application/json', ...headers };
      if (rt.authHeader) h.authorization = rt.authHeader;
      if (body !== undefined) h['content-type'] = 'application/json';
      return fetch(url + route.replace(/^\//, ''), { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
    },
    async deploy(flows) {
      const res = await rt.request('POST', 'flows', flows, { 'Node-RED-Deployment-Type': 'full', 'Node-RED-API-Version': 'v1' });
      if (res.status !== 204 && res.status !== 200) throw new Error(`deploy failed: ${res.status} ${await res.text()}`);
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode) return;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
  return rt;
}
