// Runs a poll every interval without overlap: when a poll outlasts the interval the next one starts as
// soon as it ends (one is owed, never a growing backlog). stop() waits for a poll in progress.
import { systemClock, type Clock } from '../../lib/clock';

export class Poller {
  private timer: unknown;
  private running: Promise<void> | undefined;
  private owed = false;
  private stopped = false;
  /** Polls that started late because the previous one was still running. */
  overruns = 0;

  constructor(
    private readonly poll: () => Promise<void>,
    private readonly intervalMs: number,
    private readonly timers: Clock = systemClock,
  ) {}

  start(): void {
    if (this.intervalMs > 0) this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timers.clearTimeout(this.timer);
    this.timer = this.timers.setTimeout(() => this.tick(), ms);
  }

  private tick(): void {
    if (this.intervalMs > 0) this.schedule(this.intervalMs);
    if (this.running) {
      this.owed = true;
      this.overruns++;
      return;
    }
    this.running = this.poll()
      .catch(() => {})
      .finally(() => {
        this.running = undefined;
        if (this.stopped) return;
        if (this.owed) {
          this.owed = false;
          this.schedule(0);
        }
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timers.clearTimeout(this.timer);
    await this.running;
  }
}
