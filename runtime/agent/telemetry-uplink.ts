// Sends the runtime's log lines and health samples to the repository, outbound HTTP only. Lines go in
// batches (up to `batchLines` or after `batchDelayMs`), samples as they come; while the repository is
// away both wait in bounded buffers (lines by count and bytes, samples by age), the oldest dropped first
// and the dropped lines counted into the next batch's `dropped`. Sent in order, retried with backoff.
import { Backoff } from '../../lib/backoff';
import type { DeviceLogBatch, DeviceLogLine, HealthSample, HealthSampleBatch } from '../../contracts/fleet/protocol';

export interface TelemetrySink {
  postLogs(batch: DeviceLogBatch): Promise<void>;
  postHealth(batch: HealthSampleBatch): Promise<void>;
}

export interface TelemetryUplinkOptions {
  sink: TelemetrySink;
  /** Lines buffered at most (default 20,000). */
  maxLines?: number;
  /** Bytes of buffered lines at most, counted as their JSON (default 8 MB). */
  maxBytes?: number;
  /** Samples older than this (by their time, against the newest) are dropped (default 24 h). */
  maxSampleAgeMs?: number;
  /** Lines per POST at most (default 500). */
  batchLines?: number;
  /** A batch smaller than `batchLines` waits at most this long (default 1 s). */
  batchDelayMs?: number;
  backoff?: Backoff;
  log?: (line: string) => void;
}

/** A refusal that no retry can fix (the body itself is wrong): the batch is dropped and counted. */
export class RefusedBatch extends Error {}

/** Bytes of a batch per POST at most, below the repository's body limit (4 MB). */
const MAX_BATCH_BYTES = 1024 * 1024;
const MAX_BATCH_SAMPLES = 200;

const sizeOf = (line: DeviceLogLine) => JSON.stringify(line).length + 1;

export class TelemetryUplink {
  private lines: { line: DeviceLogLine; bytes: number }[] = [];
  private bytes = 0;
  private samples: HealthSample[] = [];
  /** Lines dropped and not yet reported in a batch the repository accepted. */
  private droppedUnsent = 0;
  /** Lines dropped since start (for the agent's own log and tests). */
  droppedTotal = 0;
  /** Samples dropped since start for their age. */
  droppedSamples = 0;
  private timer: NodeJS.Timeout | null = null;
  private retry: NodeJS.Timeout | null = null;
  private sending: Promise<void> | null = null;
  private closed = false;
  private readonly backoff: Backoff;
  private failing = false;
  private readonly opts: Required<Omit<TelemetryUplinkOptions, 'sink' | 'backoff' | 'log'>>;

  constructor(private readonly o: TelemetryUplinkOptions) {
    this.backoff = o.backoff ?? new Backoff({ initialMs: 500, maxMs: 30_000 });
    this.opts = {
      maxLines: o.maxLines ?? 20_000,
      maxBytes: o.maxBytes ?? 8 * 1024 * 1024,
      maxSampleAgeMs: o.maxSampleAgeMs ?? 24 * 3_600_000,
      batchLines: Math.min(o.batchLines ?? 500, 1000),
      batchDelayMs: o.batchDelayMs ?? 1000,
    };
  }

  /** Lines waiting to be sent. */
  get bufferedLines(): number {
    return this.lines.length;
  }

  get bufferedSamples(): number {
    return this.samples.length;
  }

  addLines(lines: DeviceLogLine[]): void {
    if (this.closed) return;
    for (const line of lines) {
      const bytes = sizeOf(line);
      this.lines.push({ line, bytes });
      this.bytes += bytes;
    }
    this.trimLines();
    if (this.lines.length >= this.opts.batchLines) this.kick();
    else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.kick();
      }, this.opts.batchDelayMs);
    }
  }

  addSample(sample: HealthSample): void {
    if (this.closed) return;
    this.samples.push(sample);
    this.trimSamples();
    this.kick();
  }

  private trimLines(): void {
    let drop = 0;
    while (this.lines.length - drop > this.opts.maxLines || (this.bytes > this.opts.maxBytes && drop < this.lines.length)) {
      this.bytes -= this.lines[drop]!.bytes;
      drop++;
    }
    if (!drop) return;
    this.lines.splice(0, drop);
    this.droppedUnsent += drop;
    this.droppedTotal += drop;
  }

  private trimSamples(): void {
    const newest = Math.max(...this.samples.map((s) => s.ts));
    const before = this.samples.length;
    this.samples = this.samples.filter((s) => s.ts >= newest - this.opts.maxSampleAgeMs);
    this.droppedSamples += before - this.samples.length;
  }

  private kick(): void {
    if (this.sending || this.retry || this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.sending = this.drain().finally(() => {
      this.sending = null;
    });
  }

  /** Sends everything buffered, oldest first; on a failure waits (backoff) and starts again. */
  private async drain(): Promise<void> {
    while (!this.closed && (this.samples.length || this.lines.length || this.droppedUnsent)) {
      try {
        if (this.samples.length) await this.sendSamples();
        else await this.sendLines();
        if (this.failing) this.o.log?.('[agent] telemetry reaches the repository again');
        this.failing = false;
        this.backoff.reset();
      } catch (err) {
        if (!this.failing) this.o.log?.(`[agent] telemetry not delivered (buffering; will retry): ${(err as Error).message}`);
        this.failing = true;
        this.retry = setTimeout(() => {
          this.retry = null;
          this.kick();
        }, this.backoff.next());
        return;
      }
    }
  }

  private async sendSamples(): Promise<void> {
    const batch: HealthSample[] = [];
    let bytes = 0;
    for (const s of this.samples) {
      const size = JSON.stringify(s).length;
      if (batch.length && (batch.length >= MAX_BATCH_SAMPLES || bytes + size > MAX_BATCH_BYTES)) break;
      batch.push(s);
      bytes += size;
    }
    try {
      await this.o.sink.postHealth({ samples: batch });
    } catch (err) {
      if (!(err instanceof RefusedBatch)) throw err;
      this.o.log?.(`[agent] the repository refused ${batch.length} health samples; dropped: ${err.message}`);
      this.droppedSamples += batch.length;
    }
    // Only what was sent goes: the buffer may have been trimmed meanwhile, never reordered.
    this.samples = this.samples.filter((s) => !batch.includes(s));
  }

  private async sendLines(): Promise<void> {
    const taken: { line: DeviceLogLine; bytes: number }[] = [];
    let bytes = 0;
    for (const entry of this.lines) {
      if (taken.length >= this.opts.batchLines || (taken.length && bytes + entry.bytes > MAX_BATCH_BYTES)) break;
      taken.push(entry);
      bytes += entry.bytes;
    }
    const dropped = this.droppedUnsent;
    if (!taken.length && !dropped) return;
    // A batch must hold a line; dropped lines with nothing left to send are said in a line of their own.
    const lines = taken.length ? taken.map((t) => t.line) : [{ ts: Date.now(), level: 'warn' as const, msg: `[agent] ${dropped} log lines dropped while the repository was unreachable` }];
    let delivered = true;
    try {
      await this.o.sink.postLogs({ lines, ...(dropped ? { dropped } : {}) });
    } catch (err) {
      if (!(err instanceof RefusedBatch)) throw err;
      this.o.log?.(`[agent] the repository refused ${lines.length} log lines; dropped: ${err.message}`);
      delivered = false;
    }
    this.droppedUnsent -= dropped;
    // Lines trimmed while the batch was in flight were counted as dropped: the oldest of the batch.
    const sent = new Set(taken);
    const before = this.lines.length;
    this.lines = this.lines.filter((e) => !sent.has(e));
    const removed = before - this.lines.length;
    for (const e of taken.slice(taken.length - removed)) this.bytes -= e.bytes;
    const trimmedInFlight = taken.length - removed;
    if (delivered) {
      // They reached the repository after all.
      this.droppedUnsent -= trimmedInFlight;
      this.droppedTotal -= trimmedInFlight;
    } else {
      this.droppedUnsent += removed;
      this.droppedTotal += removed;
    }
  }

  /** Waits until the buffers are empty or `timeoutMs` passed (sending at once what waits for its batch). */
  async flush(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    this.kick();
    while (!this.closed && (this.lines.length || this.samples.length) && Date.now() < deadline) {
      this.kick();
      await new Promise((r) => setTimeout(r, 50));
    }
    return !this.lines.length && !this.samples.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.retry) clearTimeout(this.retry);
    this.timer = this.retry = null;
    await this.sending?.catch(() => {});
  }
}
