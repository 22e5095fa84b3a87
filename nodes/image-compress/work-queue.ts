// Runs at most `concurrency` jobs at once and lets at most `maxQueued` wait; beyond that a job is refused
// at once, so a burst can never pile up images in memory.

export class QueueFullError extends Error {
  constructor(queued: number) {
    super(`too many images waiting (${queued} queued); this one is refused`);
    this.name = 'QueueFullError';
  }
}

interface Waiter {
  start(): void;
  cancel(err: Error): void;
}

export class WorkQueue {
  private running = 0;
  private readonly waiting: Waiter[] = [];
  private idle: Array<() => void> = [];
  completed = 0;
  failed = 0;
  refused = 0;

  constructor(
    readonly concurrency: number,
    readonly maxQueued: number,
  ) {
    if (!(concurrency >= 1)) throw new Error('concurrency must be >= 1');
  }

  get active(): number {
    return this.running;
  }
  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `job` when a slot is free; rejects with QueueFullError when the queue is full. */
  run<T>(job: () => Promise<T>): Promise<T> {
    if (this.running < this.concurrency) return this.start(job);
    if (this.waiting.length >= this.maxQueued) {
      this.refused++;
      return Promise.reject(new QueueFullError(this.waiting.length));
    }
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ start: () => this.start(job).then(resolve, reject), cancel: reject });
    });
  }

  private async start<T>(job: () => Promise<T>): Promise<T> {
    this.running++;
    try {
      const r = await job();
      this.completed++;
      return r;
    } catch (err) {
      this.failed++;
      throw err;
    } finally {
      this.running--;
      const next = this.waiting.shift();
      if (next) next.start();
      else if (this.running === 0) for (const f of this.idle.splice(0)) f();
    }
  }

  /** Refuses everything still waiting with `err`, then resolves when running jobs have finished. */
  async close(err: Error): Promise<void> {
    for (const w of this.waiting.splice(0)) w.cancel(err);
    if (this.running > 0) await new Promise<void>((r) => this.idle.push(r));
  }
}
