// Runs Node-RED as a child process of the agent (a flow that kills Node-RED cannot take the agent
// down): starts it on the flow the agent chooses, logs in with a per-launch password, restarts it with
// backoff when it dies, and stops restarting once it crash-loops (N exits within T), telling the agent.
import { spawn, type ChildProcess } from 'node:child_process';
import { initialHeapMiB, runtimeNodeFlags } from '../tier/node-flags';
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { Backoff } from '../../lib/backoff';
import { PACKAGE_ROOT } from '../paths';
import { ensurePrivateDir, writePrivateFile } from '../../lib/private-files';
import type { Tier } from '../tier/tier-runtime';
import { AGENT_ADMIN_USER, AGENT_PASSWORD_HASH_ENV, HEALTH_INTERVAL_ENV, isChildMessage, TELEMETRY_LOG_LEVEL_ENV, type ChildLogMessage, type NodeProblem } from './child-ipc';
import { RuntimeAdmin } from './runtime-admin';

/** Secrets of the agent that its runtime (and so every flow) must not inherit. */
export const SECRET_ENV = ['LINESIGHT_DEVICE_TOKEN', 'LINESIGHT_BROKER_PASSWORD'];

/** Counts exits in a sliding time window. */
export class CrashLoopDetector {
  private exits: number[] = [];
  constructor(
    readonly maxExits: number,
    readonly withinMs: number,
    private readonly now: () => number = Date.now,
  ) {}
  /** Records an exit; true when this exit makes a crash loop. */
  recordExit(): boolean {
    const t = this.now();
    this.exits = [...this.exits.filter((x) => t - x < this.withinMs), t];
    return this.exits.length >= this.maxExits;
  }
  get recent(): number {
    const t = this.now();
    return this.exits.filter((x) => t - x < this.withinMs).length;
  }
  reset(): void {
    this.exits = [];
  }
}

export interface SupervisorOptions {
  tier: Tier;
  port: number;
  host?: string;
  /** The child's Node-RED user directory (flows.json lives here). */
  userDir: string;
  insecure?: boolean;
  logLevel?: string;
  /** Node flags of the child (default: the runtime's, see runtime/node-flags.ts). */
  nodeFlags?: string[];
  /** Crash loop: this many exits within `crashLoopWindowMs`. */
  crashLoopExits?: number;
  crashLoopWindowMs?: number;
  startTimeoutMs?: number;
  restartBackoff?: Backoff;
  /** Every line the child prints. */
  onOutput?: (line: string) => void;
  /** How often the child measures a health sample (default 10 s). */
  healthIntervalMs?: number;
  /** The least severe runtime log level the child sends as log lines (default info). */
  telemetryLogLevel?: string;
  env?: NodeJS.ProcessEnv;
}

export type SupervisorState = 'stopped' | 'starting' | 'up' | 'restarting' | 'crash-looping';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Exits within the crash-loop window, this one included. */
  recentExits: number;
}

/**
 * Events: 'up' (admin: RuntimeAdmin), 'exit' (ExitInfo), 'crash-loop' (ExitInfo), 'log' (ChildLogMessage),
 * 'node-problems' (NodeProblem[]: the current child's nodes with problems, whenever that changes),
 * 'log-lines' (DeviceLogLine[]), 'health-sample' (ChildHealthSample).
 */
export class RuntimeSupervisor extends EventEmitter {
  state: SupervisorState = 'stopped';
  admin: RuntimeAdmin | null = null;
  /** The current child's nodes with problems (red status, failed to start); empty for a new child. */
  nodeProblems: NodeProblem[] = [];
  /** Times the runtime died and was restarted by the supervisor (exits the agent asked for do not count). */
  restarts = 0;
  private child: ChildProcess | null = null;
  private readonly detector: CrashLoopDetector;
  private readonly backoff: Backoff;
  private restartTimer: NodeJS.Timeout | null = null;
  private stopping = false;
  /** Children the agent itself stopped: their exit is not a crash. */
  private readonly killed = new WeakSet<ChildProcess>();
  readonly url: string;

  constructor(private readonly o: SupervisorOptions) {
    super();
    this.detector = new CrashLoopDetector(o.crashLoopExits ?? 3, o.crashLoopWindowMs ?? 60_000);
    this.backoff = o.restartBackoff ?? new Backoff({ initialMs: 250, maxMs: 10_000 });
    // A runtime listening on every interface is still reached locally.
    const host = !o.host || o.host === '0.0.0.0' || o.host === '::' ? '127.0.0.1' : o.host.includes(':') ? `[${o.host}]` : o.host;
    this.url = `http://${host}:${o.port}/`;
  }

  get flowFile(): string {
    return path.join(this.o.userDir, 'flows.json');
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Writes the flow the child boots into next (Node-RED reads flows.json at start). */
  writeBootFlow(flow: unknown[]): void {
    // The flow carries filled-in parameters (URLs, maybe with passwords): private like the rest of the user dir.
    // The runtime itself warns when it cannot change the folder's mode (a volume owned by another account).
    ensurePrivateDir(this.o.userDir, () => {});
    writePrivateFile(this.flowFile, JSON.stringify(flow, null, 4));
  }

  /**
   * Starts the child (first start, or after a crash loop) and resolves once it is up and logged in.
   * With `bootFlow` the child starts on that flow instead of whatever flows.json holds.
   */
  async start(bootFlow?: unknown[]): Promise<RuntimeAdmin> {
    this.stopping = false;
    this.clearRestart();
    if (this.child) await this.killChild();
    if (bootFlow) this.writeBootFlow(bootFlow);
    this.detector.reset();
    this.backoff.reset();
    return this.launch();
  }

  /** Resolves when the child is up (immediately when it already is). */
  whenUp(): Promise<RuntimeAdmin> {
    if (this.state === 'up' && this.admin) return Promise.resolve(this.admin);
    return new Promise((resolve) => this.once('up', resolve));
  }

  private launch(): Promise<RuntimeAdmin> {
    this.state = this.state === 'stopped' ? 'starting' : this.state === 'crash-looping' ? 'starting' : this.state;
    const password = this.o.insecure ? null : crypto.randomBytes(18).toString('base64url');
    const args = [path.join(PACKAGE_ROOT, 'bin', 'linesight.js'), 'runtime', '--tier', this.o.tier, '--port', String(this.o.port), '--host', this.o.host ?? '127.0.0.1', '--user-dir', this.o.userDir, '--log-level', this.o.logLevel ?? 'warn'];
    if (this.o.insecure) args.push('--insecure');
    const env: NodeJS.ProcessEnv = { ...(this.o.env ?? process.env) };
    delete env[AGENT_PASSWORD_HASH_ENV];
    // Flows can read the environment (env.get, $env): the device token stays with the agent.
    for (const k of SECRET_ENV) delete env[k];
    if (password) env[AGENT_PASSWORD_HASH_ENV] = bcrypt.hashSync(password, 8);
    env[HEALTH_INTERVAL_ENV] = String(this.o.healthIntervalMs ?? 10_000);
    env[TELEMETRY_LOG_LEVEL_ENV] = this.o.telemetryLogLevel ?? 'info';
    const child = spawn(process.execPath, [...(this.o.nodeFlags ?? runtimeNodeFlags(initialHeapMiB(undefined, env))), ...args], { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    this.child = child;
    this.setNodeProblems([]);
    const forward = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split(/\r?\n/)) if (line) this.o.onOutput?.(line);
    };
    child.stdout!.on('data', forward);
    child.stderr!.on('data', forward);

    return new Promise<RuntimeAdmin>((resolve, reject) => {
      let ready = false;
      const timer = setTimeout(() => {
        if (ready) return;
        this.o.onOutput?.(`[agent] runtime did not report ready within ${this.o.startTimeoutMs ?? 60_000} ms; killing it`);
        child.kill('SIGKILL');
      }, this.o.startTimeoutMs ?? 60_000);
      child.on('message', (m) => {
        if (!isChildMessage(m)) return;
        if (m.type === 'linesight-log') {
          this.emit('log', m as ChildLogMessage);
          return;
        }
        if (m.type === 'linesight-log-lines') {
          if (Array.isArray(m.lines)) this.emit('log-lines', m.lines);
          return;
        }
        if (m.type === 'linesight-health-sample') {
          if (this.child === child && m.sample) this.emit('health-sample', m.sample);
          return;
        }
        if (m.type === 'linesight-node-problems') {
          if (this.child === child && Array.isArray(m.problems)) this.setNodeProblems(m.problems);
          return;
        }
        if (ready) return;
        ready = true;
        clearTimeout(timer);
        const admin = new RuntimeAdmin(this.url, password ? { username: AGENT_ADMIN_USER, password } : null);
        admin.login().then(
          () => {
            if (this.child !== child) return;
            this.admin = admin;
            this.state = 'up';
            this.emit('up', admin);
            resolve(admin);
          },
          (err: Error) => {
            this.o.onOutput?.(`[agent] ${err.message}; restarting the runtime`);
            child.kill('SIGKILL');
          },
        );
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (this.child === child) {
          this.child = null;
          this.admin = null;
          this.setNodeProblems([]);
        }
        if (this.stopping || this.killed.has(child)) {
          if (!ready) reject(new Error('runtime stopped before it was ready'));
          return;
        }
        this.restarts++;
        const loop = this.detector.recordExit();
        const info: ExitInfo = { code, signal, recentExits: this.detector.recent };
        this.emit('exit', info);
        if (loop) {
          this.state = 'crash-looping';
          this.emit('crash-loop', info);
          if (!ready) reject(new CrashLoopError(info, this.detector));
          return;
        }
        this.state = 'restarting';
        const delay = this.backoff.next();
        this.restartTimer = setTimeout(() => {
          this.restartTimer = null;
          this.launch().then(resolve, reject);
        }, delay);
      });
    });
  }

  private setNodeProblems(problems: NodeProblem[]): void {
    if (problems.length === 0 && this.nodeProblems.length === 0) return;
    this.nodeProblems = problems;
    this.emit('node-problems', problems);
  }

  private clearRestart(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
  }

  private async killChild(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode) return;
    this.killed.add(child);
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const hard = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(hard);
    if (this.child === child) this.child = null;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.clearRestart();
    await this.killChild();
    this.admin = null;
    this.state = 'stopped';
  }

  get crashLoopDescription(): string {
    return `${this.detector.maxExits} exits within ${Math.round(this.detector.withinMs / 1000)} s`;
  }
}

export class CrashLoopError extends Error {
  constructor(
    readonly info: ExitInfo,
    detector: CrashLoopDetector,
  ) {
    super(`runtime crash-looped: ${info.recentExits} exits within ${Math.round(detector.withinMs / 1000)} s (last exit code ${info.code ?? info.signal})`);
  }
}

