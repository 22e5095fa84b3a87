// A durable FIFO on disk (better-sqlite3 in WAL mode) for store-and-forward: the cloud-bridge outbox and
// the timescale-sink spool. Items are removed only when the consumer acks them, so a crash replays
// rather than loses. No node-red import; one file per queue.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { systemClock, type Clock } from './clock';

/** Queue files larger than this are rebuilt once they are empty; also the WAL's size after a checkpoint. */
const SHRINK_ABOVE_BYTES = 4 * 1024 * 1024;

export interface DurableQueueOptions {
  /** Path of the SQLite file; its folder is created when missing. */
  file: string;
  /** Upper bound on queued items. Default 1,000,000. */
  maxMessages?: number;
  /** Upper bound on the sum of payload sizes in bytes. Default 512 MiB. */
  maxBytes?: number;
  /** What a push does when a bound would be exceeded. Default 'drop-oldest'. */
  overflow?: 'drop-oldest' | 'refuse-newest';
  /**
   * 0 = every push is its own transaction, fsynced before push() returns: nothing a push returned for is
   * lost, not even by a power cut (one disk flush per push: slow).
   * N = group commit: pushes and acks are held in memory for at most N ms, then written in one transaction;
   * the write reaches the operating system at once (so a killed process loses at most the last N ms) and
   * is fsynced right after in the background, off the event loop (so a power cut loses at most the last
   * N ms plus the duration of one fsync). Acks are grouped the same way, so a crash may replay up to N ms
   * of acknowledged items: duplicates, never gaps. Default 0.
   */
  syncEveryMs?: number;
  /** Time for enqueuedAt and the group-commit timer (tests inject a ManualClock). */
  clock?: Clock;
}

export interface QueuedItem {
  seq: number;
  key: string;
  payload: Buffer;
  meta?: Record<string, unknown>;
  enqueuedAt: number;
}

export interface PushItem {
  key: string;
  payload: Buffer;
  meta?: Record<string, unknown>;
}

export class QueueFullError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueueFullError';
  }
}

export class QueueInUseError extends Error {
  constructor(file: string) {
    super(`durable queue ${file} is already open in this process (two nodes may not share one file)`);
    this.name = 'QueueInUseError';
  }
}

export class QueueClosedError extends Error {
  constructor(file: string) {
    super(`durable queue ${file} is closed`);
    this.name = 'QueueClosedError';
  }
}

interface Row {
  seq: number;
  key: string;
  payload: Buffer;
  meta: string | null;
  enqueued_at: number;
}

const DEFAULT_MAX_MESSAGES = 1_000_000;
const DEFAULT_MAX_BYTES = 512 * 1024 * 1024;
const RECENT_MAX_ITEMS = 20_000;
const RECENT_MAX_BYTES = 32 * 1024 * 1024;

// Files open in this process: two queues on one file would hand out the same seqs twice.
const openFiles = new Set<string>();

export class DurableQueue {
  readonly file: string;
  private readonly resolved: string;
  private readonly db: Database.Database;
  private readonly maxMessages: number;
  private readonly maxBytes: number;
  private readonly overflow: 'drop-oldest' | 'refuse-newest';
  private readonly syncEveryMs: number;
  private readonly clock: Clock;
  // Items pushed but not yet written (group commit only); their seqs are all above every row on disk.
  private pending: QueuedItem[] = [];
  // Acks of rows on disk not yet deleted (group commit only).
  private pendingAcks = new Set<number>();
  // The most recently written items, kept in memory so a consumer that keeps up never reads the disk back
  // and an ack knows the item's size. Seqs in it are all above `diskOnlyMax`; older rows live only on disk.
  private recent = new Map<number, QueuedItem>();
  private recentBytes = 0;
  // Sizes of rows handed out by peek from disk, so their ack needs no lookup (bounded: cleared when large).
  private peekedLens = new Map<number, number>();
  private diskOnlyMax: number;
  private timer: unknown;
  private lastSeq: number;
  private lastSeqOnDisk: number;
  private messages: number;
  private bytes: number;
  private droppedCount: number;
  private droppedOnDisk: number;
  private closed = false;
  private walFd?: number;
  private walSyncing = false;
  private walSyncAgain = false;
  // whenStored callbacks waiting for items still in `pending` (group commit only), oldest first.
  private storedWaiters: Array<{ seqs: number[]; cb: () => void }> = [];
  private readonly stmt: {
    insert: Database.Statement;
    del: Database.Statement;
    peek: Database.Statement;
    oldest: Database.Statement;
    len: Database.Statement;
    setState: Database.Statement;
  };

  /** Called after each group commit with the highest seq now on disk (for tests and metrics). */
  onFlush?: (lastSeq: number) => void;

  constructor(opts: DurableQueueOptions) {
    this.file = opts.file;
    this.maxMessages = opts.maxMessages ?? DEFAULT_MAX_MESSAGES;
    this.maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
    this.overflow = opts.overflow ?? 'drop-oldest';
    this.syncEveryMs = opts.syncEveryMs ?? 0;
    this.clock = opts.clock ?? systemClock;
    if (!(this.maxMessages >= 1)) throw new RangeError('maxMessages must be >= 1');
    if (!(this.maxBytes >= 1)) throw new RangeError('maxBytes must be >= 1');
    if (!(this.syncEveryMs >= 0)) throw new RangeError('syncEveryMs must be >= 0');

    this.resolved = path.resolve(opts.file);
    if (openFiles.has(this.resolved)) throw new QueueInUseError(this.resolved);
    fs.mkdirSync(path.dirname(this.resolved), { recursive: true });
    this.db = new Database(opts.file);
    try {
      this.db.pragma('journal_mode = WAL');
      // After an outage the WAL is cut back to this at each checkpoint instead of keeping its peak size.
      this.db.pragma(`journal_size_limit = ${SHRINK_ABOVE_BYTES}`);
      // syncEveryMs = 0: FULL, each commit is fsynced in WAL mode before it returns. Group commit: NORMAL
      // (commits reach the OS, so a killed process loses nothing committed) plus our own fsync of the WAL file
      // in libuv's thread pool after each commit, so the event loop never waits for the disk.
      this.db.pragma(this.syncEveryMs === 0 ? 'synchronous = FULL' : 'synchronous = NORMAL');
      this.db.exec(`
        create table if not exists items (
          seq integer primary key,
          key text not null,
          payload blob not null,
          meta text,
          enqueued_at integer not null
        );
        create table if not exists state (k text primary key, v integer not null);
      `);
      const state = (k: string) => (this.db.prepare('select v from state where k = ?').get(k) as { v: number } | undefined)?.v ?? 0;
      const agg = this.db.prepare('select count(*) as n, coalesce(sum(length(payload)), 0) as b, coalesce(max(seq), 0) as m from items').get() as { n: number; b: number; m: number };
      this.messages = agg.n;
      this.bytes = agg.b;
      // Seqs never repeat, even after the queue was emptied and reopened.
      this.lastSeq = this.lastSeqOnDisk = Math.max(agg.m, state('last_seq'));
      this.diskOnlyMax = this.lastSeq;
      this.droppedCount = this.droppedOnDisk = state('dropped');
      this.stmt = {
        insert: this.db.prepare('insert into items (seq, key, payload, meta, enqueued_at) values (?, ?, ?, ?, ?)'),
        del: this.db.prepare('delete from items where seq = ?'),
        peek: this.db.prepare('select seq, key, payload, meta, enqueued_at from items where seq > ? and seq <= ? order by seq limit ?'),
        oldest: this.db.prepare('select seq, length(payload) as len from items where seq > ? order by seq limit ?'),
        len: this.db.prepare('select length(payload) as len from items where seq = ?'),
        setState: this.db.prepare('insert into state (k, v) values (?, ?) on conflict (k) do update set v = excluded.v'),
      };
    } catch (err) {
      this.db.close();
      throw err;
    }
    openFiles.add(this.resolved);
  }

  /** Appends one item; returns its seq. Throws QueueFullError under 'refuse-newest' when full. */
  push(key: string, payload: Buffer, meta?: Record<string, unknown>): number {
    return this.pushMany([{ key, payload, meta }])[0];
  }

  /** Appends items atomically (all or none under 'refuse-newest'); returns their seqs in order. */
  pushMany(items: PushItem[]): number[] {
    this.assertOpen();
    if (items.length === 0) return [];
    let addBytes = 0;
    for (const it of items) {
      if (typeof it.key !== 'string') throw new TypeError('key must be a string');
      if (!Buffer.isBuffer(it.payload)) throw new TypeError('payload must be a Buffer');
      addBytes += it.payload.length;
    }
    if (items.length > this.maxMessages || addBytes > this.maxBytes) {
      throw new QueueFullError(`${items.length} item(s) of ${addBytes} bytes can never fit (maxMessages ${this.maxMessages}, maxBytes ${this.maxBytes})`);
    }
    const overMessages = this.messages + items.length - this.maxMessages;
    const overBytes = this.bytes + addBytes - this.maxBytes;
    if ((overMessages > 0 || overBytes > 0) && this.overflow === 'refuse-newest') {
      throw new QueueFullError(
        `queue full: ${this.messages} messages / ${this.bytes} bytes held (max ${this.maxMessages} / ${this.maxBytes}); refused ${items.length} new`,
      );
    }
    const at = this.clock.now();
    const queued: QueuedItem[] = items.map((it) => ({ seq: ++this.lastSeq, key: it.key, payload: it.payload, meta: it.meta, enqueuedAt: at }));
    if (this.syncEveryMs === 0) {
      // Drops and inserts commit together: a crash leaves either the old queue or the new one.
      const before = { m: this.messages, b: this.bytes, d: this.droppedCount };
      try {
        this.db.transaction(() => {
          if (overMessages > 0 || overBytes > 0) this.dropOldest(overMessages, overBytes);
          for (const q of queued) this.insertRow(q);
          this.stmt.setState.run('last_seq', this.lastSeq);
          this.persistDropped();
        })();
        this.lastSeqOnDisk = this.lastSeq;
      } catch (err) {
        this.lastSeq -= queued.length;
        this.messages = before.m;
        this.bytes = before.b;
        this.droppedCount = before.d;
        // The rollback may have restored rows the drop had taken out of the cache: trust the disk only.
        this.forgetRecent();
        throw err;
      }
      this.remember(queued);
    } else {
      if (overMessages > 0 || overBytes > 0) this.dropOldest(overMessages, overBytes);
      this.pending.push(...queued);
      this.schedule();
    }
    this.messages += queued.length;
    this.bytes += addBytes;
    return queued.map((q) => q.seq);
  }

  /**
   * Calls `cb` once every one of `seqs` is stored: written to the file (committed, so a killed process
   * keeps it; under group commit the fsync follows in the background), or no longer needed because it was
   * acknowledged or dropped before its commit. At once (synchronously) when that is already so.
   * A producer that must not acknowledge its source before the item is safe waits for this.
   */
  whenStored(seqs: number[], cb: () => void): void {
    if (this.syncEveryMs === 0 || !seqs.some((q) => this.isPending(q))) return cb();
    this.storedWaiters.push({ seqs, cb });
  }

  /** Up to `limit` items with seq > afterSeq, oldest first (including ones not yet group-committed). */
  peek(limit: number, afterSeq = 0): QueuedItem[] {
    this.assertOpen();
    if (limit <= 0) return [];
    const out: QueuedItem[] = [];
    if (afterSeq < this.diskOnlyMax) {
      for (const r of this.stmt.peek.iterate(afterSeq, this.diskOnlyMax, limit + this.pendingAcks.size) as IterableIterator<Row>) {
        if (this.pendingAcks.has(r.seq)) continue;
        if (this.peekedLens.size > 100_000) this.peekedLens.clear();
        this.peekedLens.set(r.seq, r.payload.length);
        out.push({ seq: r.seq, key: r.key, payload: r.payload, meta: r.meta ? JSON.parse(r.meta) : undefined, enqueuedAt: r.enqueued_at });
        if (out.length >= limit) return out;
      }
    }
    if (this.collectRecent(afterSeq, limit, out)) return out;
    for (const p of this.pending) {
      if (p.seq <= afterSeq) continue;
      out.push(p);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Removes items; unknown or already removed seqs are ignored. */
  ack(seqs: number[]): void {
    this.assertOpen();
    if (seqs.length === 0) return;
    const want = new Set(seqs);
    // Only seqs above what is on disk can be in memory; most acks are for written items, so skip the scan.
    if (this.pending.length && seqs.some((q) => q > this.lastSeqOnDisk)) {
      const keep: QueuedItem[] = [];
      for (const p of this.pending) {
        if (want.has(p.seq)) {
          want.delete(p.seq);
          this.messages--;
          this.bytes -= p.payload.length;
        } else keep.push(p);
      }
      this.pending = keep;
      this.settleWaiters();
    }
    if (want.size === 0) return;
    if (this.syncEveryMs === 0) {
      this.db.transaction(() => {
        for (const s of want) {
          const len = this.takeRecent(s) ?? this.rowLength(s);
          if (len === undefined) continue;
          this.stmt.del.run(s);
          this.messages--;
          this.bytes -= len;
        }
      })();
      this.shrinkWhenEmpty();
    } else {
      // Hidden from peek and uncounted now; deleted on disk at the next group commit.
      for (const s of want) this.hideRow(s);
      this.schedule();
    }
  }

  get size(): { messages: number; bytes: number } {
    return { messages: this.messages, bytes: this.bytes };
  }

  /** Items dropped by 'drop-oldest' over the queue file's whole life. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Writes everything held in memory now, in one transaction. */
  flush(): void {
    this.assertOpen();
    if (this.timer !== undefined) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pending.length === 0 && this.pendingAcks.size === 0 && this.droppedOnDisk === this.droppedCount && this.lastSeqOnDisk === this.lastSeq) return;
    const pending = this.pending;
    const acks = this.pendingAcks;
    this.db.transaction(() => {
      for (const s of acks) this.stmt.del.run(s);
      for (const q of pending) this.insertRow(q);
      this.stmt.setState.run('last_seq', this.lastSeq);
      this.persistDropped();
    })();
    this.pending = [];
    this.pendingAcks = new Set();
    this.lastSeqOnDisk = this.lastSeq;
    this.remember(pending);
    this.settleWaiters();
    this.onFlush?.(this.lastSeq);
    this.syncWalInBackground();
    this.shrinkWhenEmpty();
  }

  /**
   * A queue that held an outage's backlog keeps its pages (SQLite reuses, never returns them); once it
   * is empty again the file is rebuilt (cheap: no rows) and the WAL truncated, so the disk shrinks back.
   */
  private shrinkWhenEmpty(): void {
    if (this.messages !== 0 || this.pending.length || this.pendingAcks.size) return;
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    if (pages * pageSize <= SHRINK_ABOVE_BYTES) return;
    this.db.exec('VACUUM');
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  /** Group commit: fsyncs the WAL file off the event loop; one fsync at a time, another if commits came meanwhile. */
  private syncWalInBackground(): void {
    if (this.syncEveryMs === 0) return;
    if (this.walSyncing) {
      this.walSyncAgain = true;
      return;
    }
    if (this.walFd === undefined) {
      try {
        this.walFd = fs.openSync(`${this.file}-wal`, 'r');
      } catch {
        return; // no WAL file (yet): nothing to sync
      }
    }
    this.walSyncing = true;
    const fd = this.walFd;
    fs.fsync(fd, () => {
      this.walSyncing = false;
      if (this.closed) {
        fs.close(fd, () => {});
        return;
      }
      if (this.walSyncAgain) {
        this.walSyncAgain = false;
        this.syncWalInBackground();
      }
    });
  }

  /** Flushes and closes the file. Further calls throw QueueClosedError; close() twice is harmless. */
  close(): void {
    if (this.closed) return;
    try {
      this.flush();
      if (this.walFd !== undefined) fs.fsyncSync(this.walFd);
    } finally {
      this.closed = true;
      openFiles.delete(this.resolved);
      // A background fsync still holds the descriptor: its callback closes it.
      if (this.walFd !== undefined && !this.walSyncing) fs.closeSync(this.walFd);
      this.db.close();
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private insertRow(q: QueuedItem): void {
    this.stmt.insert.run(q.seq, q.key, q.payload, q.meta === undefined ? null : JSON.stringify(q.meta), q.enqueuedAt);
  }

  private remember(items: QueuedItem[]): void {
    for (const q of items) {
      this.recent.set(q.seq, q);
      this.recentBytes += q.payload.length;
    }
    if (this.recent.size <= RECENT_MAX_ITEMS && this.recentBytes <= RECENT_MAX_BYTES) return;
    // One pass from the oldest (a Map iterates in insertion order, which is seq order here).
    for (const [seq, item] of this.recent) {
      if (this.recent.size <= RECENT_MAX_ITEMS && this.recentBytes <= RECENT_MAX_BYTES) break;
      this.recent.delete(seq);
      this.recentBytes -= item.payload.length;
      this.diskOnlyMax = Math.max(this.diskOnlyMax, seq);
    }
  }

  /**
   * Adds cached items with seq > afterSeq to `out` up to `limit`; true when `out` is full. A consumer
   * peeks from its cursor after every acknowledgement while thousands of items sit in the cache: seqs
   * are looked up from the cursor on (their gaps are the few items acknowledged ahead of it) instead of
   * walking the cache from its oldest item each time.
   */
  private collectRecent(afterSeq: number, limit: number, out: QueuedItem[]): boolean {
    const first = this.recent.keys().next().value as number | undefined;
    if (first === undefined) return false;
    let seq = Math.max(afterSeq + 1, first);
    let misses = 0;
    for (; seq <= this.lastSeqOnDisk; seq++) {
      const r = this.recent.get(seq);
      if (r) {
        out.push(r);
        if (out.length >= limit) return true;
      } else if (++misses > this.recent.size) break; // sparse: walking the cache is cheaper
    }
    if (seq > this.lastSeqOnDisk) return false;
    for (const r of this.recent.values()) {
      if (r.seq < seq) continue;
      out.push(r);
      if (out.length >= limit) return true;
    }
    return false;
  }

  /** Removes an item from the cache; returns its payload length when it was there. */
  private takeRecent(seq: number): number | undefined {
    const r = this.recent.get(seq);
    if (!r) {
      const len = this.peekedLens.get(seq);
      if (len !== undefined) this.peekedLens.delete(seq);
      return len;
    }
    this.recent.delete(seq);
    this.recentBytes -= r.payload.length;
    return r.payload.length;
  }

  private forgetRecent(): void {
    this.recent.clear();
    this.recentBytes = 0;
    this.diskOnlyMax = this.lastSeq;
  }

  private rowLength(seq: number): number | undefined {
    return (this.stmt.len.get(seq) as { len: number } | undefined)?.len;
  }

  /** Group commit: marks a row on disk as gone (uncounted, invisible); returns its length or undefined. */
  private hideRow(seq: number): number | undefined {
    if (this.pendingAcks.has(seq)) return undefined;
    const len = this.takeRecent(seq) ?? this.rowLength(seq);
    if (len === undefined) return undefined;
    this.pendingAcks.add(seq);
    this.messages--;
    this.bytes -= len;
    return len;
  }

  private persistDropped(): void {
    if (this.droppedOnDisk !== this.droppedCount) {
      this.stmt.setState.run('dropped', this.droppedCount);
      this.droppedOnDisk = this.droppedCount;
    }
  }

  // Makes room for new items by removing the oldest ones, on disk first, then in memory. Under group
  // commit the disk rows are only hidden here and deleted by the next flush.
  private dropOldest(overMessages: number, overBytes: number): void {
    let needMsgs = overMessages;
    let needBytes = overBytes;
    const done = () => needMsgs <= 0 && needBytes <= 0;
    const drop = (len: number) => {
      this.droppedCount++;
      needMsgs--;
      needBytes -= len;
    };
    let after = 0;
    while (!done()) {
      const rows = this.stmt.oldest.all(after, Math.max(needMsgs, 256)) as Array<{ seq: number; len: number }>;
      if (rows.length === 0) break;
      for (const r of rows) {
        after = r.seq;
        if (done()) break;
        if (this.pendingAcks.has(r.seq)) continue;
        if (this.syncEveryMs === 0) {
          this.takeRecent(r.seq);
          this.stmt.del.run(r.seq);
          this.messages--;
          this.bytes -= r.len;
        } else this.hideRow(r.seq);
        drop(r.len);
      }
    }
    let droppedPending = false;
    while (!done() && this.pending.length) {
      const p = this.pending.shift()!;
      this.messages--;
      this.bytes -= p.payload.length;
      drop(p.payload.length);
      droppedPending = true;
    }
    if (droppedPending) this.settleWaiters();
  }

  /** Whether `seq` waits in memory for its commit (binary search: `pending` is in seq order). */
  private isPending(seq: number): boolean {
    if (seq <= this.lastSeqOnDisk) return false;
    let lo = 0;
    let hi = this.pending.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const at = this.pending[mid].seq;
      if (at === seq) return true;
      if (at < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  /** Calls the whenStored callbacks none of whose items is still waiting for its commit. */
  private settleWaiters(): void {
    if (this.storedWaiters.length === 0) return;
    const ready: Array<() => void> = [];
    const keep: DurableQueue['storedWaiters'] = [];
    for (const w of this.storedWaiters) {
      if (w.seqs.some((q) => this.isPending(q))) keep.push(w);
      else ready.push(w.cb);
    }
    this.storedWaiters = keep;
    for (const cb of ready) cb();
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      if (!this.closed) this.flush();
    }, this.syncEveryMs);
    // The group commit must not keep a process alive on its own.
    (this.timer as { unref?: () => void } | undefined)?.unref?.();
  }

  private assertOpen(): void {
    if (this.closed) throw new QueueClosedError(this.file);
  }
}
