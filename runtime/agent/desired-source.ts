// Learns the device's desired state two ways, either one enough on its own: the retained MQTT message on
// linesight/fleet/{deviceId}/desired (instant), and HTTP polling with ETag (works through proxies and
// when the broker is down). Emits 'desired' (DesiredState, via) whenever a source delivers a state.
import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import { Backoff } from '../../nodes/shared/backoff';
import { fleetTopics, type DesiredState } from '../fleet/protocol';
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
  return p;
}

export interface DesiredSourceOptions {
  deviceId: string;
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
      return;
    }
    const problems = desiredProblems(d, this.o.deviceId);
    if (problems.length) {
      this.o.log?.(`[agent] ignored desired state on MQTT: ${problems.join('; ')}`);
      return;
    }
    delete this.trouble.mqtt;
    this.mqttSeq++;
    this.emit('desired', d as DesiredState, 'mqtt');
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
      if (r.changed && seq !== this.mqttSeq) {
        // The repository publishes after it commits, so this answer may predate the MQTT message that
        // arrived meanwhile: ask again rather than go back to an older state.
        next = 0;
      } else if (r.changed && !this.stopped) {
        const problems = desiredProblems(r.desired, this.o.deviceId);
        if (problems.length) {
          this.o.log?.(`[agent] ignored desired state from the repository: ${problems.join('; ')}`);
        } else {
          this.etag = r.etag;
          this.emit('desired', r.desired, 'http');
        }
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
    const m = this.o.mqtt;
    if (m) {
      m.off('message', this.onMessage);
      m.off('connect', this.onConnect);
    }
    await this.polling?.catch(() => {});
  }
}
