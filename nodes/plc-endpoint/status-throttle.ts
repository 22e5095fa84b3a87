// Per-message status text (counters) at most a few times a second: node.status is an editor event, and
// calling it for every message costs more than the Modbus write it reports.
import type { NodeStatus } from 'node-red';

export class StatusThrottle {
  private timer: NodeJS.Timeout | undefined;
  private next: (() => NodeStatus | undefined) | undefined;

  constructor(private readonly show: (s: NodeStatus) => void, private readonly everyMs = 250) {}

  /** Shows what `compute` returns now if nothing was shown recently, else once the interval has passed. */
  update(compute: () => NodeStatus | undefined): void {
    this.next = compute;
    if (this.timer) return;
    this.flush();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.next) this.flush();
    }, this.everyMs);
  }

  private flush(): void {
    const s = this.next?.();
    this.next = undefined;
    if (s) this.show(s);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.next = undefined;
  }
}
