// Tells the fleet what this device is doing: retained JSON on linesight/fleet/{deviceId}/state and a POST
// to the repository. Only the newest report matters, so a report that cannot be delivered is replaced by
// the next one rather than queued; failed POSTs retry with backoff.
import type { MqttClient } from 'mqtt';
import { Backoff } from '../../lib/backoff';
import { fleetTopics, type DeviceStatusReport } from '../../contracts/fleet/protocol';
import type { DeviceApi } from './device-api';

export class Reporter {
  private pending: DeviceStatusReport | null = null;
  private sending: Promise<void> | null = null;
  private retry: NodeJS.Timeout | null = null;
  private readonly backoff = new Backoff({ initialMs: 500, maxMs: 30_000 });
  private closed = false;
  last: DeviceStatusReport | null = null;

  constructor(
    private readonly api: DeviceApi | null,
    private readonly mqtt: MqttClient | null,
    private readonly log: (line: string) => void = () => {},
  ) {
    // A broker that comes back gets the current state at once.
    mqtt?.on('connect', () => {
      if (this.last) this.publish(this.last);
    });
  }

  report(r: DeviceStatusReport): void {
    if (this.closed) return;
    this.last = r;
    this.publish(r);
    this.pending = r;
    this.kick();
  }

  private publish(r: DeviceStatusReport): void {
    if (!this.mqtt?.connected) return;
    this.mqtt.publish(fleetTopics.state(r.deviceId), JSON.stringify(r), { qos: 1, retain: true }, (err) => {
      if (err) this.log(`[agent] state not published: ${err.message}`);
    });
  }

  private kick(): void {
    if (!this.api || this.sending || this.retry) return;
    this.sending = this.drain().finally(() => (this.sending = null));
  }

  private async drain(): Promise<void> {
    while (this.pending && !this.closed) {
      const r = this.pending;
      try {
        await this.api!.postStatus(r);
        this.backoff.reset();
        if (this.pending === r) this.pending = null;
      } catch (err) {
        this.log(`[agent] status not delivered to the repository (will retry): ${(err as Error).message}`);
        this.retry = setTimeout(() => {
          this.retry = null;
          this.kick();
        }, this.backoff.next());
        return;
      }
    }
  }

  /** Waits until the newest report reached the repository (or `timeoutMs` passed). */
  async flush(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending && !this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    await this.sending?.catch(() => {});
  }
}
