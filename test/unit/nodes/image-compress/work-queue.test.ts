import assert from 'node:assert/strict';
import { QueueFullError, WorkQueue } from '../../../../nodes/image-compress/work-queue';

function deferred() {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('image-compress work-queue', () => {
  it('runs at most `concurrency` jobs, queues up to maxQueued and refuses the rest', async () => {
    const q = new WorkQueue(2, 1);
    const gates = [deferred(), deferred(), deferred()];
    let maxActive = 0;
    const job = (i: number) => () => {
      maxActive = Math.max(maxActive, q.active);
      return gates[i].promise.then(() => i);
    };
    const a = q.run(job(0));
    const b = q.run(job(1));
    const c = q.run(job(2));
    await assert.rejects(q.run(job(0)), QueueFullError);
    assert.equal(q.active, 2);
    assert.equal(q.queued, 1);
    assert.equal(q.refused, 1);
    gates[0].resolve();
    assert.equal(await a, 0);
    assert.equal(q.queued, 0, 'the queued job started');
    gates[1].reject(new Error('boom'));
    await assert.rejects(b, /boom/);
    gates[2].resolve();
    assert.equal(await c, 2);
    assert.equal(maxActive, 2);
    assert.deepEqual([q.completed, q.failed, q.active], [2, 1, 0]);
  });

  it('close refuses the waiting jobs and waits for the running one', async () => {
    const q = new WorkQueue(1, 5);
    const g = deferred();
    let finished = false;
    const running = q.run(() => g.promise.then(() => (finished = true)));
    const waiting = q.run(async () => 'never');
    const closing = q.close(new Error('closed'));
    await assert.rejects(waiting, /closed/);
    g.resolve();
    await closing;
    assert.ok(finished);
    await running;
  });
});
