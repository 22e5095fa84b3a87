// Status at most a few times a second: node.status is an editor event, and calling it for every message
// costs more than the work it reports (a Modbus write, a row). The latest status always shows in the end.
import type { NodeStatus } from 'node-red';
import { systemClock, type Clock } from '../../lib/clock';

export class StatusThrottle {
  private timer: unknown;
  private dueAt = 0;
  private lastShow = -Infinity;
  private next: (() => NodeStatus | undefined) | undefined;

  constructor(
    private readonly show: (s: NodeStatus) => void,
    private readonly everyMs = 250,
    private readonly clock: Clock = systemClock,
  ) {}

  /**
   * Shows what `compute` returns now if nothing was shown in the last `withinMs` (default: the throttle's
   * interval), else as soon as that much time has passed. A shorter `withinMs` brings a pending update
   * forward (e.g. "everything written" should not wait behind a backlog's slower rate). `compute` may
   * return undefined to show nothing.
   */
  update(compute: () => NodeStatus | undefined, withinMs = this.everyMs): void {
    this.next = compute;
    const now = this.clock.now();
    const at = this.lastShow + withinMs;
    if (this.timer !== undefined) {
      if (at >= this.dueAt) return;
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (at <= now) return this.flush();
    this.dueAt = at;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, at - now);
  }

  private flush(): void {
    const s = this.next?.();
    this.next = undefined;
    this.lastShow = this.clock.now();
    if (s) this.show(s);
  }

  stop(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.next = undefined;
  }
}
