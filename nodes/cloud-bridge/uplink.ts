// The drain engine of cloud-bridge: everything goes into the durable outbox first; while the link is up
// the oldest messages are published with at most `window` unacknowledged at a time, and each is removed
// from the outbox only when the broker acknowledges it. A lost link rewinds to the oldest unacknowledged
// message, so order per topic holds and nothing is skipped (the receiver drops the duplicates by id).
import { EventEmitter } from 'node:events';
import type { DurableQueue, QueuedItem } from '../../lib/durable-queue';
import type { OutboxEntry } from './outbound';
import type { OutboxMeta } from './wire-format';
import { systemClock, type Clock } from '../../lib/clock';

export interface UplinkTransport {
  readonly connected: boolean;
  /** Calls back on PUBACK/PUBCOMP, or with an error (with `permanent: true` if retrying cannot help). */
  publish(topic: string, body: Buffer, meta: OutboxMeta, qos: 1 | 2, cb: (err?: Error & { permanent?: boolean }) => void): void;
}

export interface UplinkOptions {
  queue: DurableQueue;
  transport: UplinkTransport;
  qos: 1 | 2;
  /** Most messages published and not yet acknowledged. */
  window: number;
  /** Most payload bytes published and not yet acknowledged (one message is always allowed). Default 16 MiB. */
  windowBytes?: number;
  /** Wait after a transient publish failure while still connected. */
  retryMs?: number;
  clock?: Clock;
}

export interface UplinkStats {
  backlog: number;
  backlogBytes: number;
  inFlight: number;
  sent: number;
  dropped: number;
  rejected: number;
}

/**
 * Events: 'rejected' (item, error) when the broker refuses a message for good (it is removed and counted),
 * 'error' is never emitted (transient failures are retried).
 */
export class Uplink extends EventEmitter {
  private readonly o: Required<UplinkOptions>;
  // seq -> payload length of what is published and not yet acknowledged on the current connection.
  private inflight = new Map<number, number>();
  private inflightBytes = 0;
  private cursor = 0;
  private gen = 0;
  private acks: number[] = [];
  private pumpScheduled = false;
  private retryTimer: unknown;
  private stopped = false;
  private sentCount = 0;
  private rejectedCount = 0;

  constructor(opts: UplinkOptions) {
    super();
    this.o = {
      retryMs: 1000,
      windowBytes: 16 * 1024 * 1024,
      clock: systemClock,
      ...opts,
    } as Uplink['o'];
  }

  /**
   * Queues entries and starts sending; throws QueueFullError under refuse-newest. `onStored` runs once
   * they are in the outbox file (at the next group commit, or at once without one) or already delivered:
   * only then may the message be acknowledged to whoever sent it.
   */
  enqueue(entries: OutboxEntry[], onStored?: () => void): number[] {
    const seqs = entries.length === 1 ? [this.o.queue.push(entries[0].key, entries[0].payload, entries[0].meta as unknown as Record<string, unknown>)] : this.o.queue.pushMany(entries.map((e) => ({ key: e.key, payload: e.payload, meta: e.meta as unknown as Record<string, unknown> })));
    if (onStored) this.o.queue.whenStored(seqs, onStored);
    this.schedulePump();
    return seqs;
  }

  /** The link came up: start again from the oldest unacknowledged message. */
  linkUp(): void {
    this.rewind();
    this.schedulePump();
  }

  /** The link went down: whatever was in flight will be sent again. */
  linkDown(): void {
    this.rewind();
  }

  get stats(): UplinkStats {
    const s = this.o.queue.size;
    return { backlog: s.messages, backlogBytes: s.bytes, inFlight: this.inflight.size, sent: this.sentCount, dropped: this.o.queue.dropped, rejected: this.rejectedCount };
  }

  /** Stops sending and writes pending acks; the queue itself is closed by its owner. */
  stop(): void {
    this.stopped = true;
    if (this.retryTimer !== undefined) this.o.clock.clearTimeout(this.retryTimer);
    this.flushAcks();
  }

  private rewind(): void {
    this.gen++;
    this.inflight.clear();
    this.inflightBytes = 0;
    this.cursor = 0;
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.stopped) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.stopped) return;
    this.flushAcks();
    if (!this.o.transport.connected || this.retryTimer !== undefined) return;
    const room = this.o.window - this.inflight.size;
    if (room <= 0) return;
    const items = this.o.queue.peek(room, this.cursor);
    const gen = this.gen;
    for (const it of items) {
      if (this.inflight.size > 0 && this.inflightBytes + it.payload.length > this.o.windowBytes) break;
      this.cursor = it.seq;
      this.inflight.set(it.seq, it.payload.length);
      this.inflightBytes += it.payload.length;
      this.o.transport.publish(it.key, it.payload, it.meta as unknown as OutboxMeta, this.o.qos, (err) => (err ? this.failed(it, gen, err) : this.acked(it.seq, gen)));
    }
  }

  private acked(seq: number, gen: number): void {
    // Delivered is delivered, whichever connection carried it.
    this.acks.push(seq);
    this.sentCount++;
    if (gen === this.gen) this.settle(seq);
    this.schedulePump();
  }

  private settle(seq: number): void {
    const len = this.inflight.get(seq);
    if (len === undefined) return;
    this.inflight.delete(seq);
    this.inflightBytes -= len;
  }

  private failed(item: QueuedItem, gen: number, err: Error & { permanent?: boolean }): void {
    if (this.stopped) return;
    if (err.permanent) {
      this.acks.push(item.seq);
      this.rejectedCount++;
      if (gen === this.gen) this.settle(item.seq);
      this.emit('rejected', item, err);
      this.schedulePump();
      return;
    }
    if (gen !== this.gen) return;
    // Transient while the link still looks up (a timeout, a broker hiccup): wait, then resend from the oldest.
    this.rewind();
    if (this.retryTimer === undefined) {
      this.retryTimer = this.o.clock.setTimeout(() => {
        this.retryTimer = undefined;
        this.schedulePump();
      }, this.o.retryMs);
    }
  }

  private flushAcks(): void {
    if (this.acks.length === 0 || this.o.queue.isClosed) return;
    const a = this.acks;
    this.acks = [];
    this.o.queue.ack(a);
  }
}
