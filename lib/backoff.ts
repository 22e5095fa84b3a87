// Exponential backoff with full jitter, shared by every reconnecting client (PLC, broker, database).

export interface BackoffOptions {
  /** First delay in ms. */
  initialMs?: number;
  /** Upper bound for any delay in ms. */
  maxMs?: number;
  factor?: number;
  /** 0 = no jitter, 1 = full jitter (delay drawn from [0, d]). */
  jitter?: number;
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly o: Required<BackoffOptions>;
  constructor(opts: BackoffOptions = {}) {
    this.o = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.5, random: Math.random, ...opts };
  }
  /** The delay before the next attempt; grows until reset(). Never above maxMs. */
  next(): number {
    const base = Math.min(this.o.maxMs, this.o.initialMs * this.o.factor ** this.attempt);
    this.attempt++;
    const j = base * this.o.jitter * this.o.random();
    return Math.max(0, Math.round(base - j));
  }
  reset(): void {
    this.attempt = 0;
  }
  get attempts(): number {
    return this.attempt;
  }
}
