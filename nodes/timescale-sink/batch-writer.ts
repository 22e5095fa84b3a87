// Batching, flow control and outage handling for the sink, independent of PostgreSQL: rows are grouped
// per table into batches sealed by count or age; at most `maxInFlight` batches are written at once; when
// the database is away the batch waits and the retry backs off; rows beyond `maxMemoryRows` go to a disk
// spool (or are refused when there is none), so memory never grows without bound. A batch the database
// refuses for data reasons is split in halves until the bad rows are found; the rest are written.
import { Backoff } from '../../lib/backoff';
import { LinesightError } from '../../contracts/errors';
import type { ErrorClass } from './copy-writer';
import type { Row } from './row-mapper';
import { systemClock, type Clock } from '../../lib/clock';

export interface SpooledBatch {
  seq: number;
  table: string;
  rows: Row[];
}

/** Where batches wait on disk while the database is away. */
export interface Spool {
  /** Stores all the batches durably (all or none) before returning; throws when the spool is full. */
  push(batches: Array<{ table: string; rows: Row[] }>): void;
  /** Oldest batches first, skipping the seqs in `exclude`. */
  peek(limit: number, exclude: Set<number>): SpooledBatch[];
  ack(seq: number): void;
  readonly rows: number;
  close(): void;
}

export interface WriterState {
  phase: 'idle' | 'writing' | 'retrying' | 'closed';
  /** Rows held in memory (open, queued and in-flight batches). */
  memoryRows: number;
  spooledRows: number;
  inFlight: number;
  written: number;
  failed: number;
  retryInMs?: number;
  lastError?: string;
}

export interface BatchWriterOptions {
  /** Writes a whole batch or nothing. */
  write(table: string, rows: Row[]): Promise<unknown>;
  classify(err: unknown): ErrorClass;
  /** Turns the error of a single refused row into one that names the field. */
  explain(table: string, row: Row, err: Error): Promise<Error>;
  /** Rows now safe: written to the database, or stored in the spool. */
  onDurable(rows: Row[]): void;
  /** A row that can never be written, with the reason. */
  onFailed(row: Row, err: Error): void;
  onState?(state: WriterState): void;
  batchSize?: number;
  maxAgeMs?: number;
  maxInFlight?: number;
  maxMemoryRows?: number;
  spool?: Spool;
  backoff?: Backoff;
  clock?: Clock;
}

export class BacklogFullError extends LinesightError {
  constructor(message: string) {
    super(message, { code: 'BACKLOG_FULL', statusText: 'backlog full' });
    this.name = 'BacklogFullError';
  }
}

interface Batch {
  table: string;
  rows: Row[];
  spoolSeq?: number;
  /** Rows already written or failed (kept across retries of the rest). */
  settled: Set<Row>;
}

export class BatchWriter {
  private readonly o: Required<Omit<BatchWriterOptions, 'spool' | 'onState'>> & Pick<BatchWriterOptions, 'spool' | 'onState'>;
  private readonly open = new Map<string, { rows: Row[]; timer: unknown }>();
  private readonly queue: Batch[] = [];
  private readonly inFlightBatches = new Set<Batch>();
  private readonly inFlightSeqs = new Set<number>();
  private memoryRows = 0;
  private written = 0;
  private failed = 0;
  private retryTimer: unknown;
  private retryAt = 0;
  private lastError?: string;
  private closing = false;
  private closed = false;
  private waiters: Array<() => void> = [];

  constructor(opts: BatchWriterOptions) {
    // An option given as undefined means "the default".
    opts = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as BatchWriterOptions;
    this.o = {
      batchSize: 5000,
      maxAgeMs: 200,
      maxInFlight: 2,
      maxMemoryRows: 100_000,
      backoff: new Backoff({ initialMs: 250, maxMs: 15_000 }),
      clock: systemClock,
      ...opts,
    };
  }

  /**
   * Accepts the rows of one message (for one or more tables), all in the same place: in memory while there
   * is room, else straight in the spool (durable at once); without room anywhere a BacklogFullError is
   * thrown and nothing is kept, so a message is never half-accepted.
   */
  add(batches: Array<{ table: string; rows: Row[] }>): 'memory' | 'spool' {
    if (this.closing || this.closed) throw new LinesightError('the sink is closing; rows not accepted', { code: 'CLOSED' });
    let n = 0;
    for (const b of batches) n += b.rows.length;
    if (n === 0) return 'memory';
    if (this.memoryRows + n > this.o.maxMemoryRows && this.o.spool) this.spillWaiting();
    if (this.memoryRows + n > this.o.maxMemoryRows) {
      const spool = this.o.spool;
      if (!spool) {
        throw new BacklogFullError(`backlog full: ${this.memoryRows} rows wait for the database (limit ${this.o.maxMemoryRows}) and no disk spool is configured; message not stored`);
      }
      try {
        spool.push(batches);
      } catch (err) {
        throw new BacklogFullError(`backlog full: ${this.memoryRows} rows in memory and the disk spool refused more (${(err as Error).message}); message not stored`);
      }
      for (const b of batches) this.o.onDurable(b.rows);
      this.emit();
      this.pump();
      return 'spool';
    }
    for (const { table, rows } of batches) {
      let b = this.open.get(table);
      if (!b) {
        b = { rows: [], timer: this.o.clock.setTimeout(() => this.seal(table), this.o.maxAgeMs) };
        this.open.set(table, b);
      }
      for (const r of rows) b.rows.push(r);
      this.memoryRows += rows.length;
      if (b.rows.length >= this.o.batchSize) this.cutFull(table, b);
    }
    return 'memory';
  }

  // Memory is full: everything waiting in memory (sealed and open batches, not those in flight) moves to
  // the spool in one transaction, so the disk sees few large writes rather than one per message.
  private spillWaiting(): void {
    const waiting: Array<{ table: string; rows: Row[] }> = [];
    for (const b of this.queue) {
      const rows = b.rows.filter((r) => !b.settled.has(r));
      if (rows.length) waiting.push({ table: b.table, rows });
    }
    for (const [table, b] of this.open) if (b.rows.length) waiting.push({ table, rows: b.rows });
    if (!waiting.length) return;
    try {
      this.o.spool!.push(waiting);
    } catch {
      return; // the spool is full: the caller refuses the message
    }
    this.queue.length = 0;
    for (const b of this.open.values()) this.o.clock.clearTimeout(b.timer);
    this.open.clear();
    for (const w of waiting) {
      this.memoryRows -= w.rows.length;
      this.o.onDurable(w.rows);
    }
  }

  /** Starts writing what waits (e.g. the spool left by an earlier run) without waiting for new rows. */
  kick(): void {
    this.pump();
  }

  /** Seals every open batch now (e.g. before close). */
  flush(): void {
    for (const t of [...this.open.keys()]) this.seal(t);
  }

  state(): WriterState {
    const retryInMs = this.retryTimer !== undefined ? Math.max(0, this.retryAt - this.o.clock.now()) : undefined;
    const phase = this.closed ? 'closed' : retryInMs !== undefined ? 'retrying' : this.inFlightBatches.size || this.queue.length ? 'writing' : 'idle';
    return {
      phase,
      memoryRows: this.memoryRows,
      spooledRows: this.o.spool?.rows ?? 0,
      inFlight: this.inFlightBatches.size,
      written: this.written,
      failed: this.failed,
      retryInMs,
      lastError: this.lastError,
    };
  }

  /** Resolves when nothing waits in memory or in the spool and nothing is in flight. */
  drained(): Promise<void> {
    if (this.isDrained()) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  /**
   * Seals open batches and keeps writing for up to `graceMs`; what is still not written then goes to the
   * spool (duplicates of in-flight rows are harmless: writes are idempotent) or is reported as failed.
   */
  async close(graceMs = 5000): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    this.flush();
    this.pump();
    if (!this.isDrained()) {
      let t: unknown;
      await Promise.race([this.drained(), new Promise<void>((r) => (t = this.o.clock.setTimeout(r, graceMs)))]);
      this.o.clock.clearTimeout(t);
    }
    this.closed = true;
    if (this.retryTimer !== undefined) this.o.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const left = [...this.inFlightBatches, ...this.queue].filter((b) => b.spoolSeq === undefined);
    this.queue.length = 0;
    for (const b of left) {
      const rows = b.rows.filter((r) => !b.settled.has(r));
      if (!rows.length) continue;
      let kept = false;
      if (this.o.spool) {
        try {
          this.o.spool.push([{ table: b.table, rows }]);
          kept = true;
        } catch {
          /* reported below */
        }
      }
      if (kept) this.o.onDurable(rows);
      else for (const r of rows) this.o.onFailed(r, new LinesightError(`closed before the database accepted the row (${this.lastError ?? 'still writing'}); not stored`, { code: 'CLOSED' }));
    }
    this.memoryRows = 0;
    this.o.spool?.close();
    this.emit();
    for (const w of this.waiters.splice(0)) w();
  }

  // Full batches leave at once; the remainder stays open with its age timer.
  private cutFull(table: string, b: { rows: Row[]; timer: unknown }): void {
    const size = this.o.batchSize;
    let i = 0;
    for (; b.rows.length - i >= size; i += size) this.queue.push({ table, rows: b.rows.slice(i, i + size), settled: new Set() });
    if (i === b.rows.length) {
      this.o.clock.clearTimeout(b.timer);
      this.open.delete(table);
    } else b.rows = b.rows.slice(i);
    this.pump();
  }

  private seal(table: string): void {
    const b = this.open.get(table);
    if (!b) return;
    this.open.delete(table);
    this.o.clock.clearTimeout(b.timer);
    for (let i = 0; i < b.rows.length; i += this.o.batchSize) {
      this.queue.push({ table, rows: b.rows.slice(i, i + this.o.batchSize), settled: new Set() });
    }
    this.pump();
  }

  private pump(): void {
    if (this.closed) return;
    while (this.retryTimer === undefined && this.inFlightBatches.size < this.o.maxInFlight) {
      const batch = this.queue.shift() ?? this.fromSpool();
      if (!batch) break;
      this.inFlightBatches.add(batch);
      if (batch.spoolSeq !== undefined) this.inFlightSeqs.add(batch.spoolSeq);
      void this.run(batch);
    }
    this.emit();
  }

  private fromSpool(): Batch | undefined {
    const spool = this.o.spool;
    if (!spool || spool.rows === 0 || this.closing) return undefined;
    const [b] = spool.peek(1, this.inFlightSeqs);
    return b ? { table: b.table, rows: b.rows, spoolSeq: b.seq, settled: new Set() } : undefined;
  }

  private async run(batch: Batch): Promise<void> {
    try {
      await this.isolate(batch, batch.rows.filter((r) => !batch.settled.has(r)));
      if (batch.spoolSeq !== undefined && !this.closed) this.o.spool!.ack(batch.spoolSeq);
      this.o.backoff.reset();
      this.lastError = undefined;
    } catch (err) {
      if (this.closed) return;
      this.lastError = (err as Error).message;
      if (batch.spoolSeq !== undefined) {
        // Rows written or reported so far must not be replayed: swap the spooled batch for the rest.
        const rest = batch.rows.filter((r) => !batch.settled.has(r));
        if (rest.length !== batch.rows.length) {
          try {
            if (rest.length) this.o.spool!.push([{ table: batch.table, rows: rest }]);
            this.o.spool!.ack(batch.spoolSeq);
          } catch {
            /* keep the whole batch; replaying written rows is harmless */
          }
        }
      } else {
        this.queue.unshift(batch);
      }
      const delay = this.o.backoff.next();
      this.retryAt = this.o.clock.now() + delay;
      this.retryTimer = this.o.clock.setTimeout(() => {
        this.retryTimer = undefined;
        this.pump();
      }, delay);
    } finally {
      this.inFlightBatches.delete(batch);
      if (batch.spoolSeq !== undefined) this.inFlightSeqs.delete(batch.spoolSeq);
      if (!this.closed) {
        this.pump();
        if (this.isDrained()) for (const w of this.waiters.splice(0)) w();
      }
    }
  }

  // Writes rows; on a data error splits them in halves until each bad row stands alone. Transient errors
  // propagate (the whole remaining batch is retried later).
  private async isolate(batch: Batch, rows: Row[]): Promise<void> {
    if (rows.length === 0) return;
    try {
      await this.o.write(batch.table, rows);
      this.settle(batch, rows);
      return;
    } catch (err) {
      const kind = this.o.classify(err);
      if (kind === 'transient' || this.closed) throw err;
      if (kind === 'fatal') {
        const e = new LinesightError(`table ${batch.table}: ${(err as Error).message}; not stored`, { code: (err as { code?: string }).code, cause: err });
        this.fail(batch, rows, () => e);
        return;
      }
      if (rows.length === 1) {
        let explained: Error;
        try {
          explained = await this.o.explain(batch.table, rows[0], err as Error);
        } catch {
          explained = err as Error;
        }
        this.fail(batch, rows, () => explained);
        return;
      }
    }
    const mid = rows.length >> 1;
    await this.isolate(batch, rows.slice(0, mid));
    await this.isolate(batch, rows.slice(mid));
  }

  private settle(batch: Batch, rows: Row[]): void {
    // After close the unwritten rows were handed to the spool already; a late success changes nothing.
    if (this.closed) return;
    for (const r of rows) batch.settled.add(r);
    this.written += rows.length;
    if (batch.spoolSeq === undefined) {
      this.memoryRows -= rows.length;
      this.o.onDurable(rows);
    }
  }

  private fail(batch: Batch, rows: Row[], err: () => Error): void {
    if (this.closed) return;
    for (const r of rows) {
      batch.settled.add(r);
      this.failed++;
      if (batch.spoolSeq === undefined) this.memoryRows--;
      this.o.onFailed(r, err());
    }
  }

  private isDrained(): boolean {
    return this.open.size === 0 && this.queue.length === 0 && this.inFlightBatches.size === 0 && (this.closing || !this.o.spool || this.o.spool.rows === 0);
  }

  private emit(): void {
    this.o.onState?.(this.state());
  }
}
