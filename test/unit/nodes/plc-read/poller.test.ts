import assert from 'node:assert/strict';
import type { Clock } from '../../../../lib/clock';
import { Poller } from '../../../../nodes/plc-read/poller';

// Like lib/clock's ManualClock, but lets the poll's promises settle between timers.
class FakeTimers implements Clock {
  private t = 0;
  now() {
    return this.t;
  }
  private next = 1;
  timers = new Map<number, { at: number; fn: () => void }>();
  setTimeout(fn: () => void, ms: number) {
    const id = this.next++;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(h: unknown) {
    this.timers.delete(h as number);
  }
  async advance(ms: number) {
    const end = this.t + ms;
    for (let i = 0; i < 10; i++) await Promise.resolve();
    for (;;) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = due[1].at;
      due[1].fn();
      for (let i = 0; i < 5; i++) await Promise.resolve();
    }
    this.t = end;
  }
}

describe('plc-read poller', () => {
  it('polls every interval', async () => {
    const t = new FakeTimers();
    let polls = 0;
    const p = new Poller(async () => void polls++, 100, t);
    p.start();
    await t.advance(1000);
    assert.equal(polls, 11); // at 0, 100, ..., 1000
    await p.stop();
    await t.advance(1000);
    assert.equal(polls, 11);
  });

  it('never overlaps polls and owes at most one when a poll is slow', async () => {
    const t = new FakeTimers();
    let running = 0;
    let maxRunning = 0;
    let polls = 0;
    let release: () => void = () => {};
    const p = new Poller(
      () => {
        polls++;
        running++;
        maxRunning = Math.max(maxRunning, running);
        return new Promise<void>((r) => (release = () => {
          running--;
          r();
        }));
      },
      100,
      t,
    );
    p.start();
    await t.advance(550); // one poll hangs across five intervals
    assert.equal(polls, 1);
    assert.equal(p.overruns, 5);
    release();
    await t.advance(0);
    assert.equal(polls, 2, 'exactly one owed poll runs at once, not five');
    assert.equal(maxRunning, 1);
    release();
    const stopping = p.stop();
    await stopping;
  });
});
