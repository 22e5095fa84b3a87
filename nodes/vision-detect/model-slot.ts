// The model in use and its hot swap: a new version loads in the background while the old one keeps
// working; the switch happens between inspections (each takes the model in use when it starts and keeps
// it to the end); the old session is released once its last inspection is done. A version that fails to
// load leaves the old one in place.

/** What the slot needs of a loaded model. */
export interface SlotModel {
  readonly label: string;
  release(): Promise<void>;
}

/** One inspection's hold on a model: the model cannot be released until `release` is called. */
export interface Lease<M extends SlotModel> {
  model: M;
  release(): void;
}

interface Held<M> {
  model: M;
  users: number;
  retired: boolean;
}

export interface SlotEvents {
  /** A model is in use: the first one, or a new one that replaced `previous`. */
  onSwap(label: string, previous: string | undefined): void;
  /** `label` failed to load; `keeping` is the model still in use, if any. */
  onLoadError(err: Error, label: string, keeping: string | undefined): void;
}

export class ModelSlot<R extends { label: string }, M extends SlotModel> {
  private held?: Held<M>;
  private loading = 0;
  private chain: Promise<void> = Promise.resolve();
  private waiters: Array<{ resolve(l: Lease<M>): void; reject(e: Error): void }> = [];
  private latest = 0;
  private closed = false;
  /** Why the last load failed (cleared by a successful one). */
  lastError?: Error;

  constructor(
    private readonly load: (ref: R) => Promise<M>,
    private readonly events: SlotEvents,
  ) {}

  /** Label of the model in use, if any. */
  get label(): string | undefined {
    return this.held?.model.label;
  }

  /** True while a load runs. */
  get busy(): boolean {
    return this.loading > 0;
  }

  /**
   * Loads `ref` and puts it in use. Loads run one at a time; a ref superseded by a newer request before its
   * turn is skipped. Resolves true once in use, false when it failed or was skipped (never rejects).
   */
  swap(ref: R): Promise<boolean> {
    const ticket = ++this.latest;
    this.loading++;
    const step = this.chain.then(async () => {
      try {
        if (this.closed || ticket !== this.latest) return false;
        let model: M;
        try {
          model = await this.load(ref);
        } catch (err) {
          this.lastError = err as Error;
          this.events.onLoadError(err as Error, ref.label, this.held?.model.label);
          if (!this.held && ticket === this.latest) this.failWaiters(err as Error);
          return false;
        }
        if (this.closed) {
          await model.release().catch(() => undefined);
          return false;
        }
        const previous = this.held;
        this.held = { model, users: 0, retired: false };
        this.lastError = undefined;
        if (previous) this.retire(previous);
        this.events.onSwap(model.label, previous?.model.label);
        for (const w of this.waiters.splice(0)) w.resolve(this.lease());
        return true;
      } finally {
        this.loading--;
      }
    });
    this.chain = step.then(() => undefined);
    return step;
  }

  /** The model in use for one inspection; waits for the first model while it loads. */
  acquire(): Promise<Lease<M>> {
    if (this.closed) return Promise.reject(new Error('closed'));
    if (this.held) return Promise.resolve(this.lease());
    if (this.loading === 0) return Promise.reject(this.lastError ?? new Error('no model loaded'));
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private lease(): Lease<M> {
    const held = this.held!;
    held.users++;
    let released = false;
    return {
      model: held.model,
      release: () => {
        if (released) return;
        released = true;
        held.users--;
        if (held.retired && held.users === 0) void held.model.release().catch(() => undefined);
      },
    };
  }

  private retire(held: Held<M>): void {
    held.retired = true;
    if (held.users === 0) void held.model.release().catch(() => undefined);
  }

  private failWaiters(err: Error): void {
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  /** Stops swapping and releases the model once nothing holds it. */
  async close(): Promise<void> {
    this.closed = true;
    this.failWaiters(new Error('closed before a model was loaded'));
    await this.chain;
    if (this.held) this.retire(this.held);
    this.held = undefined;
  }
}
