// Device check-ins ("last seen") from desired-state polls, written in batches: a thousand devices polling
// every 5 s were 200 single-row UPDATEs a second, each a WAL record and a commit; here every poll only
// notes its device and time, and one UPDATE per `batchMs` (100 ms) writes all the devices that polled.
// A crash loses at most that window of check-ins (never anything a rollout or a signature needs); a read
// of last_seen in this process first writes what is pending (flush), so it always sees its own polls.
import type { StoreContext } from './context';

/** How often the pending check-ins are written (one statement for all of them). */
export const CHECK_IN_BATCH_MS = 100;

export class CheckIns {
  /** Device id -> the newest time (ms) it checked in, not yet written. */
  private pending = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly ctx: StoreContext,
    private readonly batchMs = CHECK_IN_BATCH_MS,
  ) {}

  /** Notes that the device checked in now; written within `batchMs`. */
  note(id: string): void {
    if (this.closed) return;
    this.pending.set(id, this.ctx.now());
    this.timer ??= setTimeout(() => void this.flush(), this.batchMs);
    this.timer.unref?.();
  }

  /**
   * Writes every pending check-in now and resolves when it (and any write already under way) is done.
   * A device's last_seen is written at most every min(5 s, half its poll interval). The write never waits
   * for a row lock (SKIP LOCKED): a device row another transaction holds (a report, which writes last_seen
   * itself; a wave's release; a publish claim) is left for the device's next poll, so check-ins can neither
   * queue behind a rollout nor take part in a deadlock with one (locking many rows in one statement could).
   * A failed write is dropped: the next poll notes the device again.
   */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.pending.size) return this.writing;
    const batch = this.pending;
    this.pending = new Map();
    const ids = [...batch.keys()];
    const times = ids.map((id) => new Date(batch.get(id)!));
    this.writing = this.writing.then(() =>
      this.ctx.db
        .checkInQuery(
          `with due as (
             select d.id, c.t from ${this.ctx.s}.devices d join unnest($1::text[], $2::timestamptz[]) as c(id, t) on c.id = d.id
              where d.last_seen is null or d.last_seen < c.t - least(5000, d.poll_interval_s * 500) * interval '1 millisecond'
              order by d.id
              for update of d skip locked)
           update ${this.ctx.s}.devices d set last_seen = due.t from due where d.id = due.id`,
          [ids, times],
        )
        .then(
          () => undefined,
          () => undefined,
        ),
    );
    return this.writing;
  }

  /** Writes what is pending and takes no more (the repository is stopping). */
  close(): Promise<void> {
    this.closed = true;
    return this.flush();
  }
}
