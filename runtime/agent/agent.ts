// The edge agent: keeps one Node-RED runtime (its child process) on the version the repository says it
// should run. idle -> downloading -> verifying -> waiting (gate) -> deploying -> health-check -> running,
// or -> rolling-back -> rolled-back / failed. Hand edits turn running into drifted. See states.ts.
import { EventEmitter } from 'node:events';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { Backoff, type BackoffOptions } from '../../lib/backoff';
import { PACKAGE_ROOT } from '../paths';
import type { RemoteCommand, RemoteEditingRequest } from '../../contracts/fleet/tunnel';
import { TunnelClient } from './tunnel-client';
import { canonicalJson, flowSha256, type DesiredState, type DeviceStatusReport, type VersionDocument } from '../../contracts/fleet/protocol';
import type { Tier } from '../tier/tier-runtime';
import type { ChildLogMessage } from './child-ipc';
import { describeProblem, dueProblems, nextDueInMs } from './node-health';
import { DesiredGuard } from './desired-guard';
import { DesiredSource, type DesiredVia } from './desired-source';
import { DeviceApi, DeviceApiError } from './device-api';
import { detectDrift, type Baseline } from './drift';
import { connectFleetBroker, type FleetBrokerLogin } from './fleet-broker';
import { redactText } from '../../lib/redact';
import { evaluateGate } from './gate';
import { AgentStore, type LastGood } from './last-good';
import { fillParameters } from '../../contracts/fleet/parameters';
import { Reporter } from './reporter';
import type { RuntimeAdmin } from './runtime-admin';
import { canTransition, RESTING, reportedState, type AgentStateName } from './states';
import { RuntimeSupervisor, type ExitInfo } from './supervisor';
import { RefusedBatch, TelemetryUplink } from './telemetry-uplink';
import type { ChildHealthSample } from './child-ipc';
import type { DeviceLogLine } from '../../contracts/fleet/protocol';
import fs from 'node:fs';
import { verifyVersion, type DesiredVersion } from './verify';
import { AgentModels, ModelRefused, type CurrentModel } from './models';

export interface AgentOptions {
  deviceId: string;
  tier: Tier;
  repoUrl: string;
  token: string;
  /** Fleet broker; without it the agent learns its desired state by polling alone. */
  brokerUrl?: string | null;
  /** Fleet broker login when not in the URL's userinfo (never logged). */
  brokerLogin?: FleetBrokerLogin;
  /** HTTP polling period; 0 turns polling off (MQTT alone). */
  pollIntervalMs: number;
  healthWindowMs: number;
  /**
   * How long a node may show a red status before it counts against health (default 3000 ms): within the
   * health window it fails the deploy, afterwards it makes the running device degraded. A red status
   * still there at the end of the window counts however new it is.
   */
  statusGraceMs?: number;
  /** Node types this device refuses to run even in a signed version (default: `exec`). */
  refuseNodeTypes?: string[];
  runtime: { port: number; host?: string; userDir: string; insecure?: boolean; logLevel?: string; nodeFlags?: string[] };
  /** Where last-good.json and the pinned repository key live (default <userDir>/.linesight/agent). */
  stateDir?: string;
  /** Where models are installed, one folder per model with current.json (default <stateDir>/models); the runtime gets it as LINESIGHT_MODELS_DIR. */
  modelsDir?: string;
  /** Model download rate limit in bytes per second (default: unlimited). */
  modelRateBytesPerSec?: number;
  /** Pinned repository public key; otherwise fetched once from the repository and pinned on disk. */
  repoKeyPem?: string;
  crashLoopExits?: number;
  crashLoopWindowMs?: number;
  driftIntervalMs?: number;
  gateIntervalMs?: number;
  log?: (line: string) => void;
  /** Environment of the runtime child (default: this process's). */
  runtimeEnv?: NodeJS.ProcessEnv;
  /** Editor tunnel: reconnect pacing and the flow-control window per stream (tests change them). */
  tunnel?: { reconnect?: BackoffOptions; window?: number };
  /**
   * Remote logs and health (default on): a health sample every `intervalMs` (10 s), runtime log lines at
   * `logLevel` (info) and above, buffered while the repository is away (see TelemetryUplink); false: none.
   */
  telemetry?: false | { intervalMs?: number; logLevel?: string; maxLines?: number; maxBytes?: number; maxSampleAgeMs?: number; batchLines?: number; batchDelayMs?: number };
  /** Child runtime output (default: log). */
  onRuntimeOutput?: (line: string) => void;
  now?: () => Date;
}

export interface StateChange {
  state: AgentStateName;
  target: string | null;
  reasons: string[];
}

/** Same key = same version with the same parameters = nothing to deploy. */
export function targetKey(d: DesiredState): string | null {
  if (!d.version) return null;
  const models = d.models?.length ? `:${flowSha256(d.models.map((m) => [m.name, m.version, m.sha256]))}` : '';
  return `${d.version.sha256}:${flowSha256(d.parameters ?? {})}${models}`;
}

/** One attempt: that content under one deployment. A version that failed here is tried again only by a new deployment. */
export function attemptKey(d: DesiredState): string | null {
  const key = targetKey(d);
  return key && `${d.deploymentId ?? '-'}|${key}`;
}

/**
 * Identity of one accepted desired state: deployment, generation and content. A convergence in progress
 * (downloading, verifying, waiting on a gate) is superseded as soon as it changes, so a redeploy of the
 * same version with another gate, or without one, never leaves the device waiting on the old gate.
 */
export function stateKey(d: DesiredState): string {
  return `${d.generation ?? 0}|${d.deploymentId ?? '-'}|${targetKey(d) ?? '-'}|${canonicalJson(d.gate ?? null)}`;
}

const label = (v: DesiredVersion) => `${v.template}@${v.version}`;

class Superseded extends Error {}

/** Events: 'state' (StateChange), 'report' (DeviceStatusReport), 'desired' (DesiredState, via). */
export class EdgeAgent extends EventEmitter {
  state: AgentStateName = 'starting';
  target: string | null = null;
  reasons: string[] = [];
  readonly store: AgentStore;
  readonly supervisor: RuntimeSupervisor;
  readonly models: AgentModels;
  private readonly api: DeviceApi;
  private mqtt: MqttClient | null = null;
  private source: DesiredSource | null = null;
  private reporter: Reporter | null = null;
  private desired: DesiredState | null = null;
  private lastGood: LastGood | null;
  private baseline: Baseline | null = null;
  /** The read of `baseline` in flight, if any (after a deploy, before the drift check can start). */
  private baselineTaking: Promise<void> | null = null;
  private driftSha: string | null = null;
  private wakeUp: (() => void) | null = null;
  private loopDone: Promise<void> | null = null;
  private driftTimer: NodeJS.Timeout | null = null;
  private recoverTimer: NodeJS.Timeout | null = null;
  private readonly recoverBackoff = new Backoff({ initialMs: 5000, maxMs: 120_000 });
  private stopping = false;
  private inHealthWindow = false;
  private lastReportSig = '';
  /** Whether the running flow's nodes are healthy (decided outside health windows). */
  health: { degraded: boolean; reasons: string[] } = { degraded: false, reasons: [] };
  private healthTimer: NodeJS.Timeout | null = null;
  /** Desired states refused since the last accepted change, newest first (reported with the state). */
  private refusals: string[] = [];
  private readonly guard: DesiredGuard;
  private readonly log: (line: string) => void;
  /** The editor tunnel while remote editing is on. */
  tunnel: TunnelClient | null = null;
  /** The turn-on (its `since`) whose tunnel closed for idleness: it stays closed until the next turn-on. */
  private idleClosedSince: number | null = null;
  /** The agent's last lines, for a support bundle. */
  private readonly recentLog: string[] = [];
  /** Log lines and health samples on their way to the repository (null when telemetry is off). */
  readonly telemetry: TelemetryUplink | null;

  constructor(private readonly o: AgentOptions) {
    super();
    // Every agent line (and the runtime output forwarded through it) leaves without URL passwords or tokens.
    const log = o.log ?? (() => {});
    this.log = (line) => {
      const safe = redactText(line);
      this.recentLog.push(`${new Date().toISOString()} ${safe}`);
      if (this.recentLog.length > 500) this.recentLog.splice(0, this.recentLog.length - 500);
      log(safe);
    };
    this.store = new AgentStore(o.stateDir ?? path.join(o.runtime.userDir, '.linesight', 'agent'));
    this.lastGood = this.store.lastGood();
    this.api = new DeviceApi(o.repoUrl, o.deviceId, o.token);
    const api = this.api;
    this.models = new AgentModels({
      dir: o.modelsDir ?? path.join(this.store.dir, 'models'),
      fetcher: { document: (href) => api.modelDocument(href), artifactRequest: (href) => api.artifactRequest(href) },
      rateBytesPerSec: o.modelRateBytesPerSec,
      log: this.log,
    });
    this.supervisor = new RuntimeSupervisor({
      tier: o.tier,
      ...o.runtime,
      crashLoopExits: o.crashLoopExits,
      crashLoopWindowMs: o.crashLoopWindowMs,
      onOutput: o.onRuntimeOutput ?? this.log,
      // The flow finds its models here (vision-detect watches <dir>/<name>/current.json).
      env: { ...(o.runtimeEnv ?? process.env), LINESIGHT_MODELS_DIR: this.models.dir },
      healthIntervalMs: o.telemetry === false ? undefined : o.telemetry?.intervalMs,
      telemetryLogLevel: o.telemetry === false ? undefined : o.telemetry?.logLevel,
    });
    this.telemetry = o.telemetry === false ? null : this.startTelemetry(o.telemetry ?? {});
    this.supervisor.on('exit', (e: ExitInfo) => this.log(`[agent] runtime exited (${e.code ?? e.signal}); ${e.recentExits} exit(s) recently`));
    this.supervisor.on('crash-loop', (e: ExitInfo) => this.onCrashLoop(e));
    this.guard = new DesiredGuard({ deviceId: o.deviceId, store: this.store, publicKey: () => this.repositoryKey() });
    this.supervisor.on('node-problems', () => this.checkHealth());
  }

  /** Wires the runtime's lines and samples to the repository; a sample gets the restarts and the disk's free space here. */
  private startTelemetry(o: Exclude<AgentOptions['telemetry'], false | undefined>): TelemetryUplink {
    const refusedStatus = (err: unknown) => err instanceof DeviceApiError && (err.status === 400 || err.status === 413 || err.status === 422);
    const send = async (call: () => Promise<void>) => {
      try {
        await call();
      } catch (err) {
        throw refusedStatus(err) ? new RefusedBatch((err as Error).message) : err;
      }
    };
    const uplink = new TelemetryUplink({
      sink: { postLogs: (b) => send(() => this.api.postLogs(b)), postHealth: (b) => send(() => this.api.postHealth(b)) },
      maxLines: o.maxLines,
      maxBytes: o.maxBytes,
      maxSampleAgeMs: o.maxSampleAgeMs,
      batchLines: o.batchLines,
      batchDelayMs: o.batchDelayMs,
      log: this.log,
    });
    // Free space of the disk holding the agent's state and the runtime's outbox (user dir).
    const dataDir = this.o.runtime.userDir;
    this.supervisor.on('log-lines', (lines: DeviceLogLine[]) => uplink.addLines(lines));
    this.supervisor.on('health-sample', (sample: ChildHealthSample) => {
      const restarts = this.supervisor.restarts;
      fs.promises.statfs(dataDir).then(
        (st) => uplink.addSample({ ...sample, restarts, diskFreeBytes: st.bavail * st.bsize }),
        () => uplink.addSample({ ...sample, restarts }),
      );
    });
    return uplink;
  }

  /** Default refused node types of an agent: a signed flow still may not run shell commands here. */
  static readonly DEFAULT_REFUSED_NODE_TYPES: readonly string[] = ['exec'];

  private get statusGraceMs(): number {
    return this.o.statusGraceMs ?? 3000;
  }

  get running(): string | null {
    return this.lastGood?.target ?? null;
  }

  /** Starts the runtime on the last good flow (no network needed), then follows the repository. */
  async start(): Promise<void> {
    if (this.o.brokerUrl) this.mqtt = connectFleetBroker(this.o.brokerUrl, `linesight-agent-${this.o.deviceId}-${process.pid}`, this.log, this.o.brokerLogin);
    this.reporter = new Reporter(this.api, this.mqtt, this.log);
    // No network needed: the runtime starts on the last good models (current.json is put back on them if
    // a switch was interrupted).
    if (this.lastGood?.models?.length) {
      try {
        this.models.switchTo(this.lastGood.models);
      } catch (err) {
        this.log(`[agent] the last good models are not all installed: ${(err as Error).message}`);
      }
    }
    try {
      await this.supervisor.start(this.lastGood?.flow);
      await this.takeBaseline();
      this.to(this.lastGood ? 'running' : 'idle');
    } catch (err) {
      this.to('failed', null, [`runtime did not start: ${(err as Error).message}`]);
      this.scheduleRecovery();
    }
    this.source = new DesiredSource({
      deviceId: this.o.deviceId,
      api: this.api,
      mqtt: this.mqtt,
      pollIntervalMs: this.o.pollIntervalMs,
      log: this.log,
      accept: (candidate) => this.guard.check(candidate),
    });
    this.source.on('desired', (d: DesiredState, via: DesiredVia) => this.onDesired(d, via));
    this.source.on('refused', (reason: string, via: DesiredVia) => this.onRefused(reason, via));
    this.source.start();
    this.loopDone = this.loop();
    this.scheduleDriftCheck();
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.wakeUp?.();
    if (this.driftTimer) clearTimeout(this.driftTimer);
    if (this.recoverTimer) clearTimeout(this.recoverTimer);
    if (this.healthTimer) clearTimeout(this.healthTimer);
    await this.source?.stop();
    this.tunnel?.stop(1001, 'the agent is stopping');
    this.tunnel = null;
    // A convergence step ends at its next check; a health window may need its few seconds.
    await Promise.race([this.loopDone?.catch(() => {}), new Promise((r) => setTimeout(r, this.o.healthWindowMs + 5000).unref())]);
    await this.supervisor.stop();
    this.to('stopped', this.target, []);
    await this.reporter?.flush(2000);
    await this.reporter?.close();
    await this.telemetry?.flush(2000);
    await this.telemetry?.close();
    if (this.mqtt) await this.mqtt.endAsync().catch(() => {});
  }

  /** The desired state the agent currently follows. */
  get desiredState(): DesiredState | null {
    return this.desired;
  }

  private onDesired(d: DesiredState, via: DesiredVia): void {
    this.emit('desired', d, via);
    this.followRemoteEditing(d.remoteEditing);
    if (this.desired && canonicalJson(this.desired) === canonicalJson(d)) return;
    this.log(`[agent] desired state via ${via}: ${d.version ? label(d.version) : 'nothing assigned'} (generation ${d.generation})`);
    this.desired = d;
    // A genuine newer state settles what was refused before; the refusals stay in the repository's audit log.
    this.refusals = [];
    this.wakeUp?.();
  }

  /** A desired state that failed verification: logged, kept in the report's reasons; the agent stays on its real state. */
  private onRefused(reason: string, via: DesiredVia): void {
    const line = `refused desired state from ${via}: ${reason}`;
    this.emit('refused', line);
    if (this.refusals.includes(line)) return;
    this.refusals = [line, ...this.refusals].slice(0, 5);
    if (this.state !== 'starting' && this.state !== 'stopped') this.report(this.state, this.target, this.reasons);
  }

  // ---- the convergence loop: one step at a time, never two deploys at once ----

  private async loop(): Promise<void> {
    while (!this.stopping) {
      const d = this.desired;
      // A crash-looping runtime does not block a new version: converge brings it up empty for it.
      if (d && this.needsWork(d)) {
        try {
          await this.converge(d);
        } catch (err) {
          if (!(err instanceof Superseded) && !this.stopping) {
            this.log(`[agent] convergence failed: ${(err as Error).stack ?? err}`);
            try {
              this.restAt(d);
            } catch (e) {
              // The loop must outlive any one failure: the next round tries again.
              this.log(`[agent] ${(e as Error).message}`);
            }
            await this.pause(10_000);
          }
        }
        continue;
      }
      if (d) this.restAt(d);
      await this.pause();
    }
  }

  private needsWork(d: DesiredState): boolean {
    const key = targetKey(d);
    if (!key) return false;
    if (this.lastGood?.key === key) return false;
    return !this.store.failure(attemptKey(d)!);
  }

  /** Moves to the resting state that matches desired `d` when no work is needed. */
  private restAt(d: DesiredState): void {
    const key = targetKey(d);
    const failure = key ? this.store.failure(attemptKey(d)!) : undefined;
    if (key && failure && this.lastGood?.key !== key) {
      const s = failure.state === 'failed' ? 'failed' : 'rolled-back';
      if (this.state !== s || this.target !== failure.target) this.to(s, failure.target, failure.reasons);
      return;
    }
    // A new deployment of what already runs here: nothing to deploy, but the deployment must hear so.
    let adopted = false;
    if (key && this.lastGood?.key === key && d.deploymentId && this.lastGood.deploymentId !== d.deploymentId) {
      this.lastGood = { ...this.lastGood, deploymentId: d.deploymentId };
      this.store.saveLastGood(this.lastGood);
      adopted = true;
    }
    if (this.state === 'drifted') return;
    if (this.state === 'failed' && this.supervisor.state !== 'up') return;
    const s: AgentStateName = this.lastGood ? 'running' : 'idle';
    if (this.state !== s || adopted) this.to(s, null, []);
  }

  private pause(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      const t = ms === undefined ? null : setTimeout(done, ms);
      const self = this;
      function done() {
        if (t) clearTimeout(t);
        if (self.wakeUp === done) self.wakeUp = null;
        resolve();
      }
      this.wakeUp = done;
    });
  }

  private checkCurrent(key: string): void {
    if (this.stopping) throw new Superseded('stopping');
    const now = this.desired ? stateKey(this.desired) : null;
    if (now !== key) throw new Superseded('a newer desired state arrived');
  }

  private async converge(d: DesiredState): Promise<void> {
    const v = d.version!;
    const key = stateKey(d);
    const content = targetKey(d)!;
    const attempt = attemptKey(d)!;
    const target = label(v);
    this.to('downloading', target, []);
    let doc: VersionDocument;
    try {
      doc = await this.retry(key, `download ${target}`, () => this.api.version(v.href));
    } catch (err) {
      if (!(err instanceof DeviceApiError) || (err.status !== 404 && err.status !== 410)) throw err;
      const reasons = [`version not found in the repository: ${err.message}`];
      this.store.recordFailure({ key: attempt, target, state: 'failed', reasons, at: Date.now() });
      this.to('failed', target, reasons);
      return;
    }
    this.checkCurrent(key);
    const publicKey = await this.retry(key, 'fetch the repository key', () => this.repositoryKey());
    // Each model is downloaded (resuming), hashed and its signature checked before anything is installed;
    // one that is not what the repository signed fails this attempt and the current models stay.
    for (const m of d.models ?? []) {
      try {
        await this.retry(key, `download model ${m.name}@${m.version}`, () => this.models.ensure(m, publicKey));
      } catch (err) {
        if (!(err instanceof ModelRefused) && !(err instanceof DeviceApiError)) throw err;
        const reasons = [err.message];
        this.log(`[agent] refused ${target}: ${err.message}`);
        this.store.recordFailure({ key: attempt, target, state: 'failed', reasons, at: Date.now() });
        this.to('failed', target, reasons);
        return;
      }
      this.checkCurrent(key);
    }

    this.to('verifying', target, []);
    if (this.supervisor.state === 'crash-looping') {
      // The running version keeps killing Node-RED, so waiting for it to stay up could take forever, and
      // the new version may be the fix. Start the runtime on an empty flow to check and install it; if
      // the new version fails too, the rollback goes back to the last good flow as always.
      this.cancelRecovery();
      this.log(`[agent] ${this.running ?? 'the runtime'} is crash-looping: starting Node-RED with no flow to install ${target}`);
      await this.supervisor.start([]);
    }
    const admin = await this.supervisor.whenUp();
    const types = await admin.nodeTypes();
    const problems = verifyVersion(v, doc, publicKey, types, this.o.refuseNodeTypes ?? EdgeAgent.DEFAULT_REFUSED_NODE_TYPES);
    let flow: unknown[] = [];
    if (problems.length === 0) {
      try {
        flow = fillParameters(doc.flow, d.parameters ?? {});
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    if (problems.length) {
      this.log(`[agent] refused ${target}: ${problems.join('; ')}`);
      this.store.recordFailure({ key: attempt, target, state: 'failed', reasons: problems, at: Date.now() });
      this.to('failed', target, problems);
      return;
    }
    this.checkCurrent(key);

    await this.waitForGate(d, key, target);

    this.to('deploying', target, []);
    const models = (d.models ?? []).map((m) => ({ name: m.name, version: m.version, sha256: m.sha256 }));
    let previousModels = new Map<string, CurrentModel | null>();
    try {
      previousModels = this.models.switchTo(models);
    } catch (err) {
      const reasons = [`could not switch to the models: ${(err as Error).message}`];
      this.store.recordFailure({ key: attempt, target, state: 'failed', reasons, at: Date.now() });
      this.to('failed', target, reasons);
      return;
    }
    // A change of models alone (the flow the runtime runs, unedited): no redeploy, which would restart every
    // node and turn cameras away; vision-detect swaps to the new current.json in place. The health window
    // still watches, and a failure puts the previous models back.
    const redeployBecause = models.length > 0 ? await this.whyRedeploy(flow) : 'no models';
    const modelsOnly = redeployBecause === null;
    if (modelsOnly) this.log(`[agent] ${target}: the same flow with new models, not redeployed (the flow swaps models in place)`);
    else if (models.length > 0) this.log(`[agent] ${target}: new models, and the flow is redeployed: ${redeployBecause}`);
    const verdict = await this.deployAndWatch(flow, target, { redeploy: !modelsOnly });
    if (verdict.healthy) {
      this.checkHealth();
      // Disk stays bounded: of each model, the version now running and the one before it.
      for (const m of models) this.models.prune(m.name, [m.version, ...(previousModels.get(m.name)?.version ? [previousModels.get(m.name)!.version] : [])]);
      const kept = (this.lastGood?.models ?? []).filter((m) => !models.some((x) => x.name === m.name));
      this.lastGood = { target, sha256: v.sha256, key: content, deploymentId: d.deploymentId, parameters: d.parameters ?? {}, flow, deployedAt: Date.now(), models: [...kept, ...models] };
      this.store.saveLastGood(this.lastGood);
      this.driftSha = null;
      this.baseline = null; // the drift check waits for the new one
      this.to('running', null, []);
      await this.takeBaseline().catch(() => {});
      return;
    }
    this.to('rolling-back', target, verdict.reasons);
    // The models go back with the flow: the runtime's model watcher swaps to the previous current.json.
    this.models.restore(previousModels);
    const restored = await this.restoreLastGood();
    const reasons = restored ? verdict.reasons : [...verdict.reasons, 'restoring the last good version failed too'];
    this.store.recordFailure({ key: attempt, target, state: restored ? 'rolled back' : 'failed', reasons, at: Date.now() });
    this.to(restored ? 'rolled-back' : 'failed', target, reasons);
    if (!restored) this.scheduleRecovery();
  }

  /** Retries transport failures with backoff while `key` stays desired; a 4xx answer is final. */
  private async retry<T>(key: string, what: string, fn: () => Promise<T>): Promise<T> {
    const backoff = new Backoff({ initialMs: 500, maxMs: 15_000 });
    for (;;) {
      this.checkCurrent(key);
      try {
        return await fn();
      } catch (err) {
        if (err instanceof ModelRefused) throw err;
        if (err instanceof DeviceApiError && err.status && err.status >= 400 && err.status < 500 && err.status !== 408 && err.status !== 429) throw err;
        this.log(`[agent] could not ${what} (will retry): ${(err as Error).message}`);
        await this.pause(backoff.next());
      }
    }
  }

  private async repositoryKey(): Promise<string> {
    if (this.o.repoKeyPem) return this.o.repoKeyPem;
    const pinned = this.store.publicKey();
    if (pinned) return pinned;
    const pem = await this.api.publicKey();
    this.store.savePublicKey(pem);
    return pem;
  }

  private async waitForGate(d: DesiredState, key: string, target: string): Promise<void> {
    let shown = '';
    for (;;) {
      this.checkCurrent(key);
      const admin = await this.supervisor.whenUp();
      const verdict = await evaluateGate(d.gate, {
        now: this.o.now?.() ?? new Date(),
        readLineState: (tag) => admin.globalContext(tag),
        flowRunning: this.lastGood !== null,
      });
      if (verdict.open) return;
      const text = verdict.reasons.join('; ');
      if (text !== shown) {
        this.to('waiting', target, verdict.reasons);
        shown = text;
      }
      await this.pause(this.o.gateIntervalMs ?? 1000);
    }
  }

  /** Deploys `flow` and watches it for the health window. */
  /** True when the runtime is up on the last good flow, equal to `flow`, with no edit made in its editor since. */
  /** Why a change of models must redeploy the flow too, or null when the runtime runs this flow unedited. */
  private async whyRedeploy(flow: unknown[]): Promise<string | null> {
    const admin = this.supervisor.admin;
    if (!this.lastGood) return 'no last good flow yet';
    // Just after a deploy's health window the baseline of what it runs is still being read: wait for it.
    if (!this.baseline && this.baselineTaking) await this.baselineTaking.catch(() => {});
    if (!this.baseline) return 'the running flow has no drift baseline yet';
    if (!admin || this.supervisor.state !== 'up') return `the runtime is ${this.supervisor.state}`;
    if (this.running !== this.lastGood.target) return `the runtime runs ${this.running ?? 'nothing'}, not the last good ${this.lastGood.target}`;
    if (canonicalJson(this.lastGood.flow) !== canonicalJson(flow)) return 'the flow differs from the last good one';
    try {
      return detectDrift(this.baseline, await admin.getFlows()) ? 'the running flow was edited (drift)' : null;
    } catch (err) {
      return `could not read the running flow: ${redactText((err as Error).message)}`;
    }
  }

  private async deployAndWatch(flow: unknown[], target: string, o: { redeploy: boolean } = { redeploy: true }): Promise<{ healthy: boolean; reasons: string[] }> {
    const errors: ChildLogMessage[] = [];
    const onLog = (m: ChildLogMessage) => errors.push(m);
    this.supervisor.on('log', onLog);
    this.inHealthWindow = true;
    if (this.healthTimer) clearTimeout(this.healthTimer);
    this.healthTimer = null;
    try {
      const admin = await this.supervisor.whenUp();
      // Problems older than this belong to the flow being replaced.
      const deployedAt = Date.now();
      try {
        if (o.redeploy) await admin.deploy(flow);
      } catch (err) {
        // The child may have died while starting the new flow: that is what the window watches for.
        if (this.supervisor.state === 'up') return { healthy: false, reasons: [`deploy refused by the runtime: ${(err as Error).message}`] };
      }
      this.to('health-check', target, []);
      const crash = await this.watchWindow(errors, deployedAt);
      const reasons: string[] = [];
      if (crash) reasons.push(crash);
      // Nodes with problems at the end of the window (or past their grace within it) count, each named once.
      const problems = crash ? [] : dueProblems(this.supervisor.nodeProblems, Date.now(), this.statusGraceMs, { final: true, notBefore: deployedAt });
      const named = new Set(problems.map((p) => p.nodeId));
      for (const p of problems.slice(0, 10)) reasons.push(describeProblem(p));
      if (problems.length > 10) reasons.push(`and ${problems.length - 10} more nodes with problems`);
      const logged = errors.filter((e) => !e.nodeId || !named.has(e.nodeId));
      for (const e of logged.slice(0, 10)) reasons.push(`${e.nodeType ? `${e.nodeType}${e.nodeName ? ` "${e.nodeName}"` : ''} (${e.nodeId}): ` : ''}${e.text}`);
      if (logged.length > 10) reasons.push(`and ${logged.length - 10} more errors`);
      return { healthy: reasons.length === 0, reasons };
    } finally {
      this.supervisor.off('log', onLog);
      this.inHealthWindow = false;
    }
  }

  /**
   * Resolves after the runtime has stayed up for the whole window without an error (null), or as soon
   * as it logs an error or a node's red status outlasts the grace period (null; the caller collects
   * them), or it crash-loops (the reason).
   */
  private watchWindow(errors: ChildLogMessage[], deployedAt: number): Promise<string | null> {
    const windowMs = this.o.healthWindowMs;
    const graceMs = this.statusGraceMs;
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      let graceTimer: NodeJS.Timeout | null = null;
      // Set once the window is closing: a node that keeps logging (or changing its red status) cannot hold it open.
      let ending = false;
      const sv = this.supervisor;
      const finish = (result: string | null) => {
        if (timer) clearTimeout(timer);
        if (graceTimer) clearTimeout(graceTimer);
        sv.off('up', onUp);
        sv.off('exit', onExit);
        sv.off('crash-loop', onLoop);
        sv.off('log', onLog);
        sv.off('node-problems', onProblems);
        resolve(result);
      };
      // A red status that lasts the grace period ends the window early; a shorter one is waited out.
      const onProblems = () => {
        if (graceTimer) clearTimeout(graceTimer);
        graceTimer = null;
        if (!timer) return; // the runtime is restarting; the window starts over when it is back
        const now = Date.now();
        if (dueProblems(sv.nodeProblems, now, graceMs, { notBefore: deployedAt }).length) return onLog();
        const wait = nextDueInMs(sv.nodeProblems, now, graceMs, deployedAt);
        if (wait !== null) graceTimer = setTimeout(onProblems, wait + 10);
      };
      const arm = () => {
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => finish(null), windowMs);
      };
      const onUp = () => {
        arm();
        onProblems();
      };
      const onExit = () => {
        // The window starts over once the runtime is back; the crash-loop detector decides when to stop.
        if (timer) clearTimeout(timer);
        timer = null;
        ending = false;
      };
      const onLoop = (e: ExitInfo) => finish(`crash loop: Node-RED exited ${e.recentExits} times within ${Math.round((this.o.crashLoopWindowMs ?? 60_000) / 1000)} s (last exit ${e.code ?? e.signal}) running this version`);
      // Give the first error a moment so the report can name its companions too.
      const onLog = () => {
        if (ending) return;
        ending = true;
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => finish(null), 300);
      };
      sv.on('up', onUp);
      sv.on('exit', onExit);
      sv.on('crash-loop', onLoop);
      sv.on('log', onLog);
      sv.on('node-problems', onProblems);
      if (errors.length) onLog();
      else if (sv.state === 'up') {
        arm();
        onProblems();
      }
      else if (sv.state === 'crash-looping') onLoop({ code: null, signal: null, recentExits: this.o.crashLoopExits ?? 3 });
    });
  }

  /** Puts the last good flow back (an empty flow when there never was one). */
  private async restoreLastGood(): Promise<boolean> {
    const flow = this.lastGood?.flow ?? [];
    try {
      if (this.supervisor.state === 'up' && this.supervisor.admin) await this.supervisor.admin.deploy(flow);
      else await this.supervisor.start(flow);
      await this.takeBaseline();
      return true;
    } catch (err) {
      this.log(`[agent] restoring the last good flow failed: ${(err as Error).message}`);
      return false;
    }
  }

  private onCrashLoop(e: ExitInfo): void {
    if (this.inHealthWindow || this.stopping) return; // the health window owns this one
    const reasons = [`crash loop: Node-RED exited ${e.recentExits} times within ${Math.round((this.o.crashLoopWindowMs ?? 60_000) / 1000)} s (last exit ${e.code ?? e.signal}) running ${this.running ?? 'no version'}`];
    this.log(`[agent] ${reasons[0]}`);
    if (RESTING.includes(this.state)) this.to('failed', this.running, reasons);
    this.scheduleRecovery();
  }

  private cancelRecovery(): void {
    if (this.recoverTimer) clearTimeout(this.recoverTimer);
    this.recoverTimer = null;
  }

  /** After a crash loop outside a deploy: try the last good flow again later, with growing pauses. */
  private scheduleRecovery(): void {
    if (this.stopping || this.recoverTimer) return;
    this.recoverTimer = setTimeout(() => {
      this.recoverTimer = null;
      if (this.stopping) return;
      this.supervisor.start(this.lastGood?.flow).then(
        async () => {
          this.recoverBackoff.reset();
          await this.takeBaseline().catch(() => {});
          if (this.state === 'failed' && !this.target) this.to(this.lastGood ? 'running' : 'idle', null, []);
          else if (this.state === 'failed' && this.target === this.running) this.to('running', null, []);
          this.wakeUp?.();
        },
        () => this.scheduleRecovery(),
      );
    }, this.recoverBackoff.next());
  }

  // ---- health of the running flow (outside health windows) ----

  /**
   * Decides whether the running flow is degraded: a node whose red status (or failed start) outlasts the
   * grace period makes it so, and its recovery ends it. A change is reported at once in a resting state.
   */
  private checkHealth(): void {
    if (this.healthTimer) clearTimeout(this.healthTimer);
    this.healthTimer = null;
    if (this.inHealthWindow || this.stopping) return;
    const problems = this.supervisor.nodeProblems;
    const now = Date.now();
    const due = dueProblems(problems, now, this.statusGraceMs);
    const wait = nextDueInMs(problems, now, this.statusGraceMs);
    if (wait !== null) this.healthTimer = setTimeout(() => this.checkHealth(), wait + 10);
    const reasons = due.slice(0, 10).map(describeProblem);
    if (due.length > 10) reasons.push(`and ${due.length - 10} more nodes with problems`);
    const next = { degraded: due.length > 0, reasons };
    if (JSON.stringify(next) === JSON.stringify(this.health)) return;
    this.health = next;
    this.log(`[agent] ${next.degraded ? `degraded: ${reasons.join('; ')}` : 'healthy again: no node has a problem'}`);
    this.emit('health', next);
    if (RESTING.includes(this.state)) this.report(this.state, this.target, this.reasons);
  }

  // ---- drift ----

  private takeBaseline(): Promise<void> {
    this.baseline = null;
    const taking = (async () => {
      const admin = await this.supervisor.whenUp();
      this.baseline = await admin.getFlows();
    })();
    this.baselineTaking = taking;
    return taking.finally(() => {
      if (this.baselineTaking === taking) this.baselineTaking = null;
    });
  }

  private scheduleDriftCheck(): void {
    if (this.stopping) return;
    this.driftTimer = setTimeout(() => {
      this.driftTimer = null;
      void this.checkDrift().finally(() => this.scheduleDriftCheck());
    }, this.o.driftIntervalMs ?? 5000);
  }

  private async checkDrift(): Promise<void> {
    if ((this.state !== 'running' && this.state !== 'drifted') || this.supervisor.state !== 'up') return;
    const admin: RuntimeAdmin | null = this.supervisor.admin;
    if (!admin) return;
    if (!this.baseline) {
      await this.takeBaseline().catch(() => {});
      return;
    }
    let now;
    try {
      now = await admin.getFlows();
    } catch {
      return; // the runtime is restarting; the supervisor reports that
    }
    if (this.state !== 'running' && this.state !== 'drifted') return;
    const drift = detectDrift(this.baseline, now);
    if (drift && this.state === 'running') {
      this.driftSha = flowSha256(now.flows);
      this.to('drifted', this.running, drift.reasons);
    } else if (!drift && this.state === 'drifted') {
      this.driftSha = null;
      this.to('running', null, []);
    }
  }

  // ---- remote editing: the editor tunnel and remote commands ----

  /** Opens the tunnel while the repository asks for it (and this turn-on has not idled out), closes it otherwise. */
  private followRemoteEditing(request: RemoteEditingRequest | undefined): void {
    if (this.stopping) return;
    const wanted = request?.enabled === true && request.since !== this.idleClosedSince;
    if (!wanted) {
      if (this.tunnel) {
        this.log('[agent] remote editing is off: closing the editor tunnel');
        this.tunnel.stop();
        this.tunnel = null;
      }
      return;
    }
    const idleMs = Math.max(1, request.idleMinutes * 60_000);
    if (this.tunnel) {
      this.tunnel.idleMs = idleMs;
      return;
    }
    this.log(`[agent] remote editing is on: opening the editor tunnel (closes after ${request.idleMinutes} min without use)`);
    const tunnel = new TunnelClient({
      repoUrl: this.o.repoUrl,
      deviceId: this.o.deviceId,
      token: this.o.token,
      idleMs,
      runtime: () => (this.supervisor.state === 'up' ? this.supervisor.admin : null),
      command: (name) => this.remoteCommand(name),
      log: this.log,
      reconnect: this.o.tunnel?.reconnect,
      window: this.o.tunnel?.window,
    });
    tunnel.on('idle', () => {
      this.idleClosedSince = request.since;
      if (this.tunnel === tunnel) this.tunnel = null;
    });
    tunnel.on('open', () => this.emit('tunnel', 'open'));
    tunnel.on('close', () => this.emit('tunnel', 'close'));
    this.tunnel = tunnel;
    tunnel.start();
  }

  /** The commands the repository may ask for through the tunnel; each is audited there. */
  async remoteCommand(name: RemoteCommand): Promise<unknown> {
    this.log(`[agent] remote command: ${name}`);
    switch (name) {
      case 'restart': {
        // Restarts Node-RED on the flow it has now (a hand edit survives; drift stays visible).
        await this.supervisor.start();
        return { restarted: true, pid: this.supervisor.pid ?? null };
      }
      case 'last-good':
        if (!this.lastGood) throw new Error('this device has no last good version yet');
        return { target: this.lastGood.target, sha256: this.lastGood.sha256, deploymentId: this.lastGood.deploymentId ?? null, deployedAt: this.lastGood.deployedAt, flow: this.lastGood.flow };
      case 'flows': {
        const admin = await this.supervisor.whenUp();
        const now = await admin.getFlows();
        return { rev: now.rev, flows: now.flows, running: this.running, parameters: this.lastGood?.parameters ?? {}, state: this.state };
      }
      case 'revert': {
        if (!this.lastGood) throw new Error('this device has no assigned version to revert to');
        const admin = await this.supervisor.whenUp();
        await admin.deploy(this.lastGood.flow);
        await this.takeBaseline();
        this.driftSha = null;
        if (this.state === 'drifted') this.to('running', null, []);
        return { reverted: this.lastGood.target };
      }
      case 'support-bundle':
        return {
          collectedAt: new Date().toISOString(),
          deviceId: this.o.deviceId,
          versions: { linesight: packageVersion(), node: process.version, nodeRed: nodeRedVersion() },
          state: this.state,
          target: this.target,
          reasons: this.reasons,
          running: this.running,
          health: this.health,
          nodeProblems: this.supervisor.nodeProblems,
          runtime: { state: this.supervisor.state, pid: this.supervisor.pid ?? null },
          log: [...this.recentLog],
        };
      default:
        throw new Error(`unknown command ${String(name)}`);
    }
  }

  // ---- state and reports ----

  private to(state: AgentStateName, target: string | null = this.target, reasons: string[] = []): void {
    if (this.state === 'stopped') return;
    if (state !== this.state && !canTransition(this.state, state)) {
      throw new Error(`agent bug: no transition ${this.state} -> ${state}`);
    }
    this.state = state;
    this.target = target;
    this.reasons = reasons;
    this.log(`[agent] ${state}${target ? ` ${target}` : ''}${reasons.length ? `: ${reasons.join('; ')}` : ''}`);
    this.emit('state', { state, target, reasons } satisfies StateChange);
    this.report(state, target, reasons);
  }

  /** Tells the fleet: the state's reasons, how a resting device's nodes are, then any desired states refused since the last accepted change. */
  private report(state: AgentStateName, target: string | null, stateReasons: string[]): void {
    const reported = reportedState(state);
    if (!reported || !this.reporter) return;
    // A resting device tells how its running flow's nodes are; a deploy in flight does not.
    const degraded = RESTING.includes(state) && this.health.degraded;
    const reasons = [...stateReasons, ...(degraded ? this.health.reasons : []), ...this.refusals];
    const deploymentId = this.desired?.deploymentId ?? this.lastGood?.deploymentId ?? null;
    // deploying and health-check both read "verifying" to the fleet: say it once.
    const models = this.lastGood?.models?.map((m) => ({ name: m.name, version: m.version }));
    const sig = `${reported}|${target}|${reasons.join('\n')}|${this.running}|${deploymentId}|${degraded}|${JSON.stringify(models ?? null)}`;
    if (sig === this.lastReportSig && state !== 'drifted') return;
    this.lastReportSig = sig;
    const report: DeviceStatusReport = {
      deviceId: this.o.deviceId,
      state: reported,
      running: this.running,
      deploymentId,
      target: target && target !== this.running ? target : null,
      reasons: reasons.length ? reasons : undefined,
      runningSha256: state === 'drifted' ? this.driftSha : (this.lastGood?.sha256 ?? null),
      ts: Date.now(),
    };
    if (degraded) report.degraded = true;
    if (models) report.models = models;
    this.emit('report', report);
    this.reporter.report(report);
  }
}

export type { VersionDocument };

function packageVersion(): string | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require(path.join(PACKAGE_ROOT, 'package.json')) as { version: string }).version;
  } catch {
    return null;
  }
}

function nodeRedVersion(): string | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('node-red/package.json') as { version: string }).version;
  } catch {
    return null;
  }
}
