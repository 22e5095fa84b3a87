// Learns the device's desired state two ways, either one enough on its own: the retained MQTT message on
// linesight/fleet/{deviceId}/desired (instant), and HTTP polling with ETag (works through proxies and
// when the broker is down). Emits 'desired' (DesiredState, via) whenever a source delivers a state.
import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import { Backoff } from '../../lib/backoff';
import { fleetTopics, type DesiredState } from '../../contracts/fleet/protocol';
import type { DeviceApi } from './device-api';

export type DesiredVia = 'mqtt' | 'http';

/** Problems with a desired-state document, or [] when it is usable. */
export function desiredProblems(d: unknown, deviceId: string): string[] {
  const p: string[] = [];
  if (!d || typeof d !== 'object') return ['desired state is not an object'];
  const o = d as Record<string, unknown>;
  if (o.deviceId !== deviceId) p.push(`deviceId is ${JSON.stringify(o.deviceId)}, this device is ${deviceId}`);
  if (o.parameters !== undefined && (typeof o.parameters !== 'object' || o.parameters === null || Array.isArray(o.parameters))) p.push('parameters must be an object');
  const v = o.version as Record<string, unknown> | null | undefined;
  if (v !== null && v !== undefined) {
    for (const k of ['template', 'version', 'sha256', 'signature', 'href']) if (typeof v[k] !== 'string' || !v[k]) p.push(`version.${k} must be a non-empty string`);
    if (typeof v.sha256 === 'string' && !/^[0-9a-f]{64}$/.test(v.sha256)) p.push('version.sha256 must be 64 hex digits');
  } else if (v === undefined) p.push('version is missing (null when nothing is assigned)');
  if (!Number.isSafeInteger(o.generation) || (o.generation as number) < 0) p.push('generation must be a whole number >= 0');
  if (o.gate !== undefined && (typeof o.gate !== 'object' || o.gate === null || Array.isArray(o.gate))) p.push('gate must be an object');
  if (o.models !== undefined && !Array.isArray(o.models)) p.push('models must be a list');
  return p;
}

export interface DesiredSourceOptions {
  deviceId: string;
  /**
   * Checks every candidate (signature, device, generation) before it is emitted; a refused one is emitted
   * as 'refused' (reason, via) and changes nothing. Without it only the shape is checked.
   */
  accept?: (candidate: unknown, via: DesiredVia) => Promise<{ ok: true; state: DesiredState } | { ok: false; reason: string; transient?: boolean }>;
  api: DeviceApi;
  mqtt?: MqttClient | null;
  /** 0 disables polling. */
  pollIntervalMs: number;
  log?: (line: string) => void;
  random?: () => number;
}

export class DesiredSource extends EventEmitter {
  private etag: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = true;
  private polling: Promise<void> | null = null;
  /** Counts MQTT deliveries, so a poll answered from before the newest MQTT message is not taken as newer. */
  private mqttSeq = 0;
  private readonly backoff = new Backoff({ initialMs: 1000, maxMs: 30_000 });
  private readonly onMessage = (topic: string, payload: Buffer) => this.fromMqtt(topic, payload);
  private readonly onConnect = () => this.subscribe();
  /** Candidates are checked one at a time, in arrival order, whichever source brought them. */
  private checking: Promise<void> = Promise.resolve();
  private mqttRetry: NodeJS.Timeout | null = null;
  private mqttArrivals = 0;
  private readonly mqttRetryBackoff = new Backoff({ initialMs: 2000, maxMs: 60_000 });
  /** Last transport trouble per source, for status. */
  readonly trouble: Partial<Record<DesiredVia, string>> = {};

  constructor(private readonly o: DesiredSourceOptions) {
    super();
  }

  start(): void {
    this.stopped = false;
    const m = this.o.mqtt;
    if (m) {
      m.on('message', this.onMessage);
      m.on('connect', this.onConnect);
      if (m.connected) this.subscribe();
    }
    if (this.o.pollIntervalMs > 0) this.schedule(0);
  }

  /** Polls now (e.g. at start); resolves when the poll is done. */
  pollNow(): Promise<void> {
    this.polling ??= this.poll().finally(() => (this.polling = null));
    return this.polling;
  }

  private subscribe(): void {
    this.o.mqtt?.subscribe(fleetTopics.desired(this.o.deviceId), { qos: 1 }, (err) => {
      if (err) this.trouble.mqtt = `subscribe failed: ${err.message}`;
    });
  }

  private fromMqtt(topic: string, payload: Buffer): void {
    if (topic !== fleetTopics.desired(this.o.deviceId) || this.stopped) return;
    if (payload.length === 0) return; // retained message cleared
    let d: unknown;
    try {
      d = JSON.parse(payload.toString('utf8'));
    } catch {
      this.o.log?.(`[agent] ignored desired state on MQTT: not JSON`);
      if (this.o.accept) this.emit('refused', 'it is not JSON', 'mqtt');
      return;
    }
    this.considerMqtt(d);
  }

  private considerMqtt(d: unknown): void {
    // A newer message replaces one still waiting to be checked.
    if (this.mqttRetry) clearTimeout(this.mqttRetry);
    this.mqttRetry = null;
    const arrival = ++this.mqttArrivals;
    void this.inOrder(async () => {
      const verdict = await this.check(d, 'mqtt');
      if (this.stopped) return;
      if (verdict === 'later') {
        if (arrival !== this.mqttArrivals) return; // a newer message came meanwhile
        // Not checkable yet (no key pinned, repository unreachable): the retained message will not come
        // again by itself, so try it again rather than wait for the next change.
        this.mqttRetry = setTimeout(() => this.considerMqtt(d), this.mqttRetryBackoff.next());
        return;
      }
      if (!verdict) return;
      this.mqttRetryBackoff.reset();
      delete this.trouble.mqtt;
      this.mqttSeq++;
      this.emit('desired', verdict, 'mqtt');
    });
  }

  /** Runs `fn` after every candidate before it is settled; one failure does not stop the ones after it. */
  private inOrder(fn: () => Promise<void>): Promise<void> {
    const run = this.checking.then(fn);
    this.checking = run.catch((err) => this.o.log?.(`[agent] checking a desired state failed: ${(err as Error).message}`));
    return run;
  }

  /**
   * The state to act on; undefined when the candidate was refused (logged, and emitted as 'refused');
   * 'later' when it could not be checked yet.
   */
  private async check(d: unknown, via: DesiredVia): Promise<DesiredState | 'later' | undefined> {
    const where = via === 'mqtt' ? 'on MQTT' : 'from the repository';
    if (!this.o.accept) {
      const problems = desiredProblems(d, this.o.deviceId);
      if (!problems.length) return d as DesiredState;
      this.o.log?.(`[agent] ignored desired state ${where}: ${problems.join('; ')}`);
      return undefined;
    }
    const verdict = await this.o.accept(d, via);
    if (verdict.ok) return verdict.state;
    this.o.log?.(`[agent] ${verdict.transient ? 'could not check' : 'refused'} desired state ${where}: ${verdict.reason}`);
    if (verdict.transient) return 'later';
    this.emit('refused', verdict.reason, via);
    return undefined;
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.o.pollIntervalMs <= 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.pollNow().then(() => undefined);
    }, delayMs);
  }

  private async poll(): Promise<void> {
    let next = this.o.pollIntervalMs;
    const seq = this.mqttSeq;
    try {
      const r = await this.o.api.desired(this.etag);
      this.backoff.reset();
      delete this.trouble.http;
      if (r.changed && !this.stopped) {
        // Checked in line with MQTT candidates, so `seq` is compared after every earlier message is settled.
        await this.inOrder(async () => {
          if (seq !== this.mqttSeq) {
            // The repository publishes after it commits, so this answer may predate the MQTT message that
            // arrived meanwhile: ask again rather than go back to an older state.
            next = 0;
            return;
          }
          const state = await this.check(r.desired, 'http');
          // 'later': the ETag is not taken, so the next poll brings the state again.
          if (!state || state === 'later' || this.stopped) return;
          this.etag = r.etag;
          this.emit('desired', state, 'http');
        });
      }
    } catch (err) {
      const msg = (err as Error).message;
      if (this.trouble.http !== msg) this.o.log?.(`[agent] polling the repository failed: ${msg}`);
      this.trouble.http = msg;
      next = Math.min(this.o.pollIntervalMs, this.backoff.next());
    }
    // +-10 % so a fleet restarted together does not poll in lockstep.
    const jitter = 1 + ((this.o.random ?? Math.random)() - 0.5) * 0.2;
    this.schedule(Math.max(50, Math.round(next * jitter)));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.mqttRetry) clearTimeout(this.mqttRetry);
    this.mqttRetry = null;
    const m = this.o.mqtt;
    if (m) {
      m.off('message', this.onMessage);
      m.off('connect', this.onConnect);
    }
    await this.polling?.catch(() => {});
    await this.checking;
  }
}
