// The bounded set of inspections "waiting for the flow". A slot is taken when an inspection is sent and
// given back when every node wired to the intake has completed it (or at once in `send` mode, or when
// its hold time runs out). When every slot is taken, new inspections are refused: memory stays bounded
// by `max` images no matter how far the flow falls behind.
import { systemClock, type Clock } from '../../lib/clock';

export interface AdmissionOptions {
  max: number;
  /** Completions needed before a slot is free again (the wired nodes that call done()); may be set later. */
  completionsNeeded: number;
  /** A slot held longer than this is freed anyway (a downstream node that never calls done()). */
  holdTimeoutMs: number;
  clock?: Pick<Clock, 'now'>;
}

interface Slot {
  at: number;
  remaining: number;
  /** Node ids that already completed it (a node completes each message once). */
  by?: Set<string>;
}

export class Admission {
  private readonly slots = new Map<string, Slot>();
  private readonly clock: Pick<Clock, 'now'>;
  /** Slots freed by the hold timeout: a sign that a downstream node forgets done(). */
  expired = 0;
  peak = 0;

  constructor(private readonly o: AdmissionOptions) {
    this.clock = o.clock ?? systemClock;
  }

  /** Sets how many completions free a slot (known once the downstream nodes exist). */
  setCompletionsNeeded(n: number): void {
    this.o.completionsNeeded = n;
  }

  get waiting(): number {
    return this.slots.size;
  }
  get max(): number {
    return this.o.max;
  }

  /** Takes a slot for `key`; false when all are taken. */
  tryAcquire(key: string): boolean {
    if (this.slots.size >= this.o.max) {
      this.expire();
      if (this.slots.size >= this.o.max) return false;
    }
    if (this.o.completionsNeeded <= 0) return true;
    this.slots.set(key, { at: this.clock.now(), remaining: this.o.completionsNeeded });
    if (this.slots.size > this.peak) this.peak = this.slots.size;
    return true;
  }

  /** A downstream node `nodeId` completed message `key`. */
  complete(key: string, nodeId: string): void {
    const s = this.slots.get(key);
    if (!s) return;
    if (this.o.completionsNeeded > 1) {
      s.by ??= new Set();
      if (s.by.has(nodeId)) return;
      s.by.add(nodeId);
    }
    if (--s.remaining <= 0) this.slots.delete(key);
  }

  release(key: string): void {
    this.slots.delete(key);
  }

  /** Frees slots older than the hold timeout; returns how many. */
  expire(): number {
    const limit = this.clock.now() - this.o.holdTimeoutMs;
    let n = 0;
    // Map iteration is in insertion order, so the oldest come first.
    for (const [k, s] of this.slots) {
      if (s.at > limit) break;
      this.slots.delete(k);
      n++;
    }
    this.expired += n;
    return n;
  }

  clear(): void {
    this.slots.clear();
  }
}
