// `linesight simulate fleet`: N simulated edge agents in one process, each with its own HTTP and MQTT
// clients, against one repository or several replicas. Each registers (or uses a given token), polls its
// desired state with ETag, listens on its retained desired topic, checks the signed state with the agent's
// own DesiredGuard and the version with verifyVersion, "deploys" (no Node-RED: it reports downloading ->
// verifying -> running with the version's sha256) and reports through the agent's Reporter.
import type { Command } from 'commander';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import mqtt, { type MqttClient } from 'mqtt';
import { fleetTopics, type DesiredState, type DeviceStatusReport } from '../../../contracts/fleet/protocol';
import { DesiredGuard } from '../../agent/desired-guard';
import { DeviceApi } from '../../agent/device-api';
import { AgentStore } from '../../agent/last-good';
import { Reporter } from '../../agent/reporter';
import { verifyVersion } from '../../agent/verify';
import { RepoApiError, RepoClient } from '../../repo/client';

export interface FleetDevice {
  id: string;
  token: string;
}

export interface FleetSimOptions {
  /** Repository base URLs; device requests go round-robin over them, skipping one that refused a connection. */
  repos: string[];
  /** Devices to simulate: registered with `adminToken` as `<idPrefix>-<n>` when not given with tokens. */
  devices: number | FleetDevice[];
  adminToken?: string;
  idPrefix?: string;
  tier?: 'line' | 'factory' | 'cloud';
  labels?: Record<string, string>;
  /** Parameters every registered device gets; `{id}` in a string value becomes the device id. */
  parameters?: Record<string, string | number | boolean>;
  /** Desired-state poll interval (ms). */
  pollMs?: number;
  /** MQTT broker for the retained desired topic and the state topic; none = HTTP polling only. */
  broker?: string;
  brokerProtocolVersion?: 4 | 5;
  /** How long a simulated deploy takes from downloading to running (ms). */
  deployMs?: number;
  /** Where each device keeps its pinned key and accepted generation (a temporary folder, removed on stop, when unset). */
  stateDir?: string;
  /** Called with a summary every `summaryMs` and once when stopped. */
  onSummary?: (s: FleetSummary) => void;
  summaryMs?: number;
  log?: (line: string) => void;
  /** The fetch every device request goes through (default: the global one, round-robin over several `repos`). */
  fetch?: typeof fetch;
}

export interface FleetSummary {
  elapsedS: number;
  devices: number;
  polls: number;
  pollsPerS: number;
  /** Conditional polls (If-None-Match) answered, their latency in ms. */
  conditionalPolls: number;
  pollMs: { p50: number; p99: number; max: number };
  notModified: number;
  pollErrors: number;
  mqttDesired: number;
  refused: number;
  deploys: number;
  /** Devices by what they last reported. */
  states: Record<string, number>;
  /** This process's event-loop delay (ms): where it is high, poll latencies include the simulator's own wait. */
  loopDelayMs: { p50: number; p99: number };
  done?: boolean;
}

export interface FleetSimulator {
  devices: SimAgent[];
  /** Resolves when every device registered, connected and made its first poll. */
  ready: Promise<void>;
  summary(): FleetSummary;
  /** Starts a new latency window (e.g. after warm-up). */
  resetStats(): void;
  stop(): Promise<FleetSummary>;
}

/** Latencies are kept in a bounded reservoir so a long run does not grow without end. */
const RESERVOIR = 200_000;

class Stats {
  started = Date.now();
  readonly loop = monitorEventLoopDelay({ resolution: 10 });
  constructor() {
    this.loop.enable();
  }
  polls = 0;
  conditional: number[] = [];
  conditionalCount = 0;
  notModified = 0;
  pollErrors = 0;
  mqttDesired = 0;
  refused = 0;
  deploys = 0;

  addConditional(ms: number): void {
    this.conditionalCount++;
    if (this.conditional.length < RESERVOIR) this.conditional.push(ms);
    else this.conditional[Math.floor(Math.random() * this.conditionalCount) % RESERVOIR] = ms;
  }
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * A fetch spreading requests over several repository replicas, round-robin; a replica that refuses or drops
 * a connection is skipped for a few seconds and the request goes to the next one (a status report sent
 * twice is harmless: the repository applies the same report once).
 */
export function balancedFetch(repos: string[], skipMs = 3000): typeof fetch {
  const bases = repos.map((u) => u.replace(/\/+$/, ''));
  const downUntil = new Array<number>(bases.length).fill(0);
  let turn = 0;
  return async (input, init) => {
    const url = String(input);
    const from = bases.find((b) => url.startsWith(b)) ?? bases[0]!;
    const route = url.slice(from.length);
    let lastErr: unknown;
    for (let tried = 0; tried < bases.length; tried++) {
      const now = Date.now();
      let i = turn++ % bases.length;
      for (let k = 0; k < bases.length && downUntil[i]! > now; k++) i = (i + 1) % bases.length;
      try {
        return await fetch(bases[i] + route, init);
      } catch (err) {
        const code = (err as { cause?: { code?: string } }).cause?.code;
        if ((err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError' || !code) throw err;
        downUntil[i] = Date.now() + skipMs;
        lastErr = err;
      }
    }
    throw lastErr;
  };
}

/** One simulated agent. */
export class SimAgent {
  etag: string | null = null;
  running: string | null = null;
  runningSha256: string | null = null;
  deploymentId: string | null = null;
  reported: DeviceStatusReport['state'] = 'pending';
  /** The newest desired state accepted (verified) and its generation. */
  accepted: DesiredState | null = null;
  /** Generations accepted, in order: each must be larger than the one before. */
  readonly generations: number[] = [];
  private pending: DesiredState | null = null;
  private applying: Promise<void> | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private closed = false;
  mqtt: MqttClient | null = null;
  private reporter: Reporter;
  private readonly guard: DesiredGuard;

  constructor(
    readonly id: string,
    private readonly api: DeviceApi,
    /** The current statistics window (resetStats starts a new one). */
    private readonly stats: () => Stats,
    private readonly publicKey: () => Promise<string>,
    store: AgentStore,
    private readonly options: { pollMs: number; deployMs: number; broker?: string; brokerProtocolVersion?: 4 | 5; log: (line: string) => void },
  ) {
    this.guard = new DesiredGuard({ deviceId: id, store, publicKey });
    this.reporter = this.newReporter();
  }

  private newReporter(): Reporter {
    return new Reporter(this.api, this.mqtt, (l) => this.options.log(`${this.id} ${l}`));
  }

  /** Connects to the broker (subscribed to its desired topic), then makes its first poll and reports. */
  async start(): Promise<void> {
    if (this.options.broker) {
      this.mqtt = await mqtt.connectAsync(this.options.broker, {
        clientId: `linesight-sim-${this.id}`,
        protocolVersion: this.options.brokerProtocolVersion ?? 4,
        reconnectPeriod: 2000,
        connectTimeout: 20_000,
      });
      // Its reports now also go, retained, on its state topic, as the agent's do.
      await this.reporter.close();
      this.reporter = this.newReporter();
      this.mqtt.on('message', (_topic, payload) => {
        if (!payload.length) return;
        this.stats().mqttDesired++;
        let state: unknown;
        try {
          state = JSON.parse(payload.toString());
        } catch {
          this.stats().refused++;
          return;
        }
        void this.offer(state);
      });
      await this.mqtt.subscribeAsync(fleetTopics.desired(this.id), { qos: 1 });
    }
    this.report();
    await this.poll();
  }

  /** Polls now, then every pollMs with up to 10 % jitter, as agents that started at different times do. */
  schedule(firstInMs: number): void {
    const next = (ms: number) => {
      if (this.closed) return;
      this.pollTimer = setTimeout(() => void this.poll().finally(() => next(this.options.pollMs * (0.95 + Math.random() * 0.1))), ms);
    };
    next(firstInMs);
  }

  async poll(): Promise<void> {
    const conditional = this.etag !== null;
    const t0 = performance.now();
    try {
      const r = await this.api.desired(this.etag);
      const ms = performance.now() - t0;
      this.stats().polls++;
      if (conditional) this.stats().addConditional(ms);
      if (!r.changed) {
        this.stats().notModified++;
        return;
      }
      this.etag = r.etag;
      await this.offer(r.desired);
    } catch (err) {
      this.stats().pollErrors++;
      this.options.log(`${this.id} poll failed: ${(err as Error).message}`);
    }
  }

  /** A desired state from either source: verified like the agent does, then applied in order. */
  private async offer(candidate: unknown): Promise<void> {
    const verdict = await this.guard.check(candidate);
    if (!verdict.ok) {
      // The same state arriving by MQTT and by HTTP is accepted twice (same generation, same content).
      this.stats().refused++;
      this.options.log(`${this.id} refused a desired state: ${verdict.reason}`);
      return;
    }
    const state = verdict.state;
    if (this.accepted && state.generation <= this.accepted.generation) return;
    this.accepted = state;
    this.generations.push(state.generation);
    this.pending = state;
    this.applying ??= this.applyPending().finally(() => (this.applying = null));
  }

  private async applyPending(): Promise<void> {
    while (this.pending && !this.closed) {
      const state = this.pending;
      this.pending = null;
      await this.apply(state);
    }
  }

  private async apply(state: DesiredState): Promise<void> {
    this.deploymentId = state.deploymentId;
    const want = state.version;
    if (!want) return this.report();
    const target = `${want.template}@${want.version}`;
    if (this.running === target && this.runningSha256 === want.sha256) return this.report();
    this.stats().deploys++;
    const step = this.options.deployMs / 2;
    this.report('downloading', target);
    let problems: string[];
    try {
      const doc = await this.withRetry(() => this.api.version(want.href));
      await sleep(step);
      this.report('verifying', target);
      problems = verifyVersion(want, doc, await this.publicKey(), null);
    } catch (err) {
      problems = [(err as Error).message];
    }
    if (this.pending || this.closed) return; // a newer state came in: deploy that one instead
    if (problems.length) return this.report('failed', target, problems);
    await sleep(step);
    this.running = target;
    this.runningSha256 = want.sha256;
    this.report('running');
  }

  /** A version download goes on through a replica restart. */
  private async withRetry<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const status = (err as { status?: number }).status;
        if (attempt >= 5 || (status !== undefined && status < 500)) throw err;
        await sleep(500 * attempt);
      }
    }
  }

  private report(state: DeviceStatusReport['state'] = this.running ? 'running' : 'pending', target: string | null = null, reasons: string[] = []): void {
    this.reported = state;
    this.reporter.report({
      deviceId: this.id,
      state,
      running: this.running,
      deploymentId: this.deploymentId,
      target,
      reasons: reasons.length ? reasons : undefined,
      runningSha256: this.runningSha256,
      ts: Date.now(),
    });
  }

  /** Waits until the newest report reached the repository. */
  flush(timeoutMs = 10_000): Promise<void> {
    return this.reporter.flush(timeoutMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    await this.applying?.catch(() => {});
    await this.reporter.close();
    await this.mqtt?.endAsync().catch(() => {});
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Registers `count` devices (8 at a time); a device already registered gets a new token. */
export async function registerFleet(repo: string, adminToken: string, count: number, opts: { idPrefix: string; tier: 'line' | 'factory' | 'cloud'; labels?: Record<string, string>; parameters?: Record<string, string | number | boolean>; pollS: number }): Promise<FleetDevice[]> {
  const admin = new RepoClient({ url: repo, token: adminToken });
  const out: FleetDevice[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const id = `${opts.idPrefix}-${String(i).padStart(String(count - 1).length, '0')}`;
      const parameters = Object.fromEntries(Object.entries(opts.parameters ?? {}).map(([k, v]) => [k, typeof v === 'string' ? v.replaceAll('{id}', id) : v]));
      try {
        const r = await admin.registerDevice({ id, tier: opts.tier, labels: opts.labels, parameters, pollIntervalSeconds: Math.max(1, Math.round(opts.pollS)) });
        out[i] = { id, token: r.token };
      } catch (err) {
        if (!(err instanceof RepoApiError) || err.status !== 409) throw err;
        out[i] = { id, token: (await admin.rotateDeviceToken(id)).token };
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return out;
}

export function runFleetSimulator(opts: FleetSimOptions): FleetSimulator {
  if (!opts.repos.length) throw new Error('at least one repository URL is needed');
  const log = opts.log ?? (() => {});
  const pollMs = opts.pollMs ?? 5000;
  const stats = { current: new Stats() };
  const stateDir = opts.stateDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'linesight-fleet-'));
  const ownStateDir = !opts.stateDir;
  const fetchImpl = opts.fetch ?? (opts.repos.length > 1 ? balancedFetch(opts.repos) : undefined);
  const agents: SimAgent[] = [];
  // Every device pins the same key; it is fetched once (a device whose folder already pins one uses that).
  let key: Promise<string> | undefined;
  const publicKey = () => (key ??= new DeviceApi(opts.repos[0]!, 'fleet', '', 15_000, fetchImpl).publicKey().catch((err) => {
    key = undefined;
    throw err;
  }));
  let summaryTimer: NodeJS.Timeout | undefined;
  let stopped: Promise<FleetSummary> | undefined;

  const summary = (done = false): FleetSummary => {
    const s = stats.current;
    const elapsedS = (Date.now() - s.started) / 1000;
    const sorted = [...s.conditional].sort((a, b) => a - b);
    const states: Record<string, number> = {};
    for (const a of agents) states[a.reported] = (states[a.reported] ?? 0) + 1;
    return {
      elapsedS: round(elapsedS, 1),
      devices: agents.length,
      polls: s.polls,
      pollsPerS: round(s.polls / Math.max(elapsedS, 0.001), 1),
      conditionalPolls: s.conditionalCount,
      pollMs: { p50: round(percentile(sorted, 50), 2), p99: round(percentile(sorted, 99), 2), max: round(sorted[sorted.length - 1] ?? 0, 2) },
      notModified: s.notModified,
      pollErrors: s.pollErrors,
      mqttDesired: s.mqttDesired,
      refused: s.refused,
      deploys: s.deploys,
      states,
      loopDelayMs: { p50: round(s.loop.percentile(50) / 1e6, 2), p99: round(s.loop.percentile(99) / 1e6, 2) },
      ...(done ? { done } : {}),
    };
  };

  const ready = (async () => {
    const devices = Array.isArray(opts.devices)
      ? opts.devices
      : await registerFleet(opts.repos[0]!, opts.adminToken ?? '', opts.devices, { idPrefix: opts.idPrefix ?? 'sim', tier: opts.tier ?? 'line', labels: opts.labels, parameters: opts.parameters, pollS: pollMs / 1000 });
    for (const d of devices) {
      const api = new DeviceApi(opts.repos[0]!, d.id, d.token, 15_000, fetchImpl);
      agents.push(new SimAgent(d.id, api, () => stats.current, publicKey, new AgentStore(path.join(stateDir, d.id)), { pollMs, deployMs: opts.deployMs ?? 200, broker: opts.broker, brokerProtocolVersion: opts.brokerProtocolVersion, log }));
    }
    // Started a few dozen at a time, so a thousand agents do not all connect in the same millisecond.
    let next = 0;
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (next < agents.length && !stopped) await agents[next++]!.start();
    }));
    // Spread over the poll interval, as a real fleet's agents are.
    agents.forEach((a, i) => a.schedule(((i + 0.5) / agents.length) * pollMs));
    if (opts.onSummary) {
      summaryTimer = setInterval(() => opts.onSummary!(summary()), opts.summaryMs ?? 10_000);
      summaryTimer.unref();
    }
  })();

  return {
    devices: agents,
    ready,
    summary: () => summary(),
    resetStats() {
      stats.current.loop.disable();
      stats.current = new Stats();
    },
    stop() {
      stopped ??= (async () => {
        clearInterval(summaryTimer);
        await ready.catch(() => {});
        await Promise.all(agents.map((a) => a.flush(5000)));
        const last = summary(true);
        stats.current.loop.disable();
        await Promise.all(agents.map((a) => a.close()));
        if (ownStateDir) fs.rmSync(stateDir, { recursive: true, force: true });
        opts.onSummary?.(last);
        return last;
      })();
      return stopped;
    },
  };
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

/** "5s", "200ms", "2m", or a bare number of milliseconds. */
export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(String(s).trim());
  if (!m) throw new Error(`"${s}" is not a duration (e.g. 5s, 200ms, 2m)`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
}

function parseLabels(s: string | undefined): Record<string, string> | undefined {
  if (!s) return undefined;
  const out: Record<string, string> = {};
  for (const pair of s.split(',').filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`--labels must be key=value pairs separated by commas, got "${pair}"`);
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}

export function register(sim: Command): void {
  sim
    .command('fleet')
    .description('N simulated edge agents in one process (real HTTP and MQTT clients) against a flow repository: polls, verification, deploy reports')
    .requiredOption('--repo <urls>', 'repository URL; several, comma-separated, are used round-robin (replicas)')
    .option('--devices <n>', 'number of simulated devices', '100')
    .option('--token <token>', 'admin token to register the devices with (or LINESIGHT_REPO_TOKEN)')
    .option('--tokens <file>', 'JSON [{"id","token"}] of devices already registered, instead of registering')
    .option('--broker <url>', 'MQTT broker: each device subscribes to its retained desired topic')
    .option('--broker-mqtt5', 'speak MQTT 5 to the broker (default 3.1.1)')
    .option('--poll <duration>', 'desired-state poll interval', '5s')
    .option('--tier <tier>', 'tier of registered devices: line, factory or cloud', 'line')
    .option('--labels <k=v,...>', 'labels of registered devices')
    .option('--param <k=v,...>', 'parameters of registered devices; {id} becomes the device id', 'LINE_ID={id}')
    .option('--id-prefix <prefix>', 'device ids are <prefix>-<n>', 'sim')
    .option('--deploy-time <duration>', 'how long a simulated deploy takes', '200ms')
    .option('--duration <duration>', 'stop after this long (default: until Ctrl-C)')
    .option('--every <duration>', 'print a summary this often', '10s')
    .option('--json', 'print summaries as JSON lines')
    .action(async (o) => {
      const tier = o.tier as 'line' | 'factory' | 'cloud';
      if (!['line', 'factory', 'cloud'].includes(tier)) throw new Error(`--tier must be line, factory or cloud, got "${o.tier}"`);
      const count = Number(o.devices);
      if (!Number.isInteger(count) || count < 1) throw new Error(`--devices must be a whole number >= 1, got "${o.devices}"`);
      const token = o.token ?? process.env.LINESIGHT_REPO_TOKEN;
      const devices: number | FleetDevice[] = o.tokens ? (JSON.parse(fs.readFileSync(o.tokens, 'utf8')) as FleetDevice[]) : count;
      if (!o.tokens && !token) throw new Error('--token (an admin token, to register the devices) or --tokens <file> is required');
      const print = (s: FleetSummary) => {
        if (o.json) return console.log(JSON.stringify(s));
        const states = Object.entries(s.states).map(([k, v]) => `${k} ${v}`).join(', ');
        console.log(`${s.done ? 'done' : 'fleet'}: ${s.elapsedS} s, ${s.devices} devices, ${s.pollsPerS} polls/s, conditional p50 ${s.pollMs.p50} ms p99 ${s.pollMs.p99} ms, errors ${s.pollErrors}, mqtt ${s.mqttDesired}, deploys ${s.deploys}, refused ${s.refused}, event-loop delay p99 ${s.loopDelayMs.p99} ms; ${states}`);
      };
      const params = parseLabels(o.param);
      const fleet = runFleetSimulator({
        repos: String(o.repo).split(',').map((u: string) => u.trim()).filter(Boolean),
        devices,
        adminToken: token,
        idPrefix: o.idPrefix,
        tier,
        labels: parseLabels(o.labels),
        parameters: params,
        pollMs: parseDuration(o.poll),
        broker: o.broker,
        brokerProtocolVersion: o.brokerMqtt5 ? 5 : 4,
        deployMs: parseDuration(o.deployTime),
        summaryMs: parseDuration(o.every),
        onSummary: print,
        log: process.env.LINESIGHT_FLEET_DEBUG ? (l) => console.error(l) : undefined,
      });
      const stopAsked = new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
        if (o.duration) setTimeout(resolve, parseDuration(o.duration));
      });
      await Promise.race([fleet.ready, stopAsked]);
      await stopAsked;
      await fleet.stop();
      process.exit(0);
    });
}
