import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DurableQueue, QueueClosedError, QueueFullError, type DurableQueueOptions } from '../../../lib/durable-queue';
import { waitFor } from '../../support/wait';
import { ManualClock } from '../../../lib/clock';

const tmpFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dq-')), 'queue.db');
const buf = (s: string) => Buffer.from(s);

// One contract suite, run against each sync policy: what a consumer may rely on must not depend on it.
for (const policy of [
  { name: 'fsync every push', syncEveryMs: 0 },
  { name: 'group commit every 5 ms', syncEveryMs: 5 },
]) {
  describe(`DurableQueue contract (${policy.name})`, () => {
    const open: DurableQueue[] = [];
    const make = (o: Partial<DurableQueueOptions> = {}) => {
      const q = new DurableQueue({ file: tmpFile(), syncEveryMs: policy.syncEveryMs, ...o });
      open.push(q);
      return q;
    };
    const reopen = (q: DurableQueue, o: Partial<DurableQueueOptions> = {}) => {
      q.close();
      return make({ file: q.file, ...o });
    };
    afterEach(() => {
      for (const q of open.splice(0)) q.close();
    });

    it('shrinks its file (and WAL) back once an outage backlog has been acknowledged', () => {
      const q = make();
      const onDisk = () => [q.file, `${q.file}-wal`].reduce((n, f) => n + (fs.existsSync(f) ? fs.statSync(f).size : 0), 0);
      const body = Buffer.alloc(16 * 1024, 7);
      for (let i = 0; i < 1000; i++) q.push('k', body);
      q.flush();
      const peak = onDisk();
      assert.ok(peak > 16 * 1024 * 1000, `backlog on disk (${peak} bytes)`);
      for (let items = q.peek(200); items.length; items = q.peek(200)) q.ack(items.map((i) => i.seq));
      q.flush();
      assert.equal(q.size.messages, 0);
      assert.ok(onDisk() < 5 * 1024 * 1024, `file and WAL back under 5 MiB after the backlog (${onDisk()} bytes, peak ${peak})`);
    });

    it('hands items back oldest first with their key, payload, meta and time', () => {
      const q = make({ clock: new ManualClock(1234) });
      const seqs = [q.push('a', buf('one'), { id: 'x1' }), q.push('b', buf('two')), q.push('a', buf('three'))];
      assert.deepEqual(seqs, [1, 2, 3]);
      const items = q.peek(10);
      assert.deepEqual(items.map((i) => [i.seq, i.key, i.payload.toString(), i.meta, i.enqueuedAt]), [
        [1, 'a', 'one', { id: 'x1' }, 1234],
        [2, 'b', 'two', undefined, 1234],
        [3, 'a', 'three', undefined, 1234],
      ]);
    });

    it('pages with limit and afterSeq, across disk and memory', () => {
      const q = make();
      q.pushMany(Array.from({ length: 5 }, (_, i) => ({ key: 'k', payload: buf(`p${i}`) })));
      q.flush();
      q.pushMany(Array.from({ length: 5 }, (_, i) => ({ key: 'k', payload: buf(`p${i + 5}`) })));
      assert.deepEqual(q.peek(3).map((i) => i.seq), [1, 2, 3]);
      assert.deepEqual(q.peek(4, 3).map((i) => i.seq), [4, 5, 6, 7]);
      assert.deepEqual(q.peek(100, 8).map((i) => i.seq), [9, 10]);
      assert.deepEqual(q.peek(0), []);
    });

    it('removes only acked items; unknown and repeated acks are ignored', () => {
      const q = make();
      q.pushMany([1, 2, 3, 4].map((i) => ({ key: 'k', payload: buf(`x${i}`) })));
      q.ack([2, 4]);
      q.ack([2, 99]);
      assert.deepEqual(q.peek(10).map((i) => i.seq), [1, 3]);
      assert.deepEqual(q.size, { messages: 2, bytes: 4 });
    });

    it('keeps everything not acked across close and reopen, byte for byte', () => {
      let q = make();
      const big = Buffer.alloc(70_000, 7);
      q.push('img', big, { inspectionId: 'i-1', contentType: 'image/jpeg' });
      q.push('json', buf('{"a":1}'));
      q.push('json', buf('{"a":2}'));
      q.ack([2]);
      q = reopen(q);
      const items = q.peek(10);
      assert.deepEqual(items.map((i) => i.seq), [1, 3]);
      assert.ok(items[0].payload.equals(big));
      assert.deepEqual(items[0].meta, { inspectionId: 'i-1', contentType: 'image/jpeg' });
      assert.deepEqual(q.size, { messages: 2, bytes: 70_007 });
    });

    it('never reuses a seq, even after the queue was emptied and reopened', () => {
      let q = make();
      const [a, b] = q.pushMany([{ key: 'k', payload: buf('1') }, { key: 'k', payload: buf('2') }]);
      q.ack([a, b]);
      q = reopen(q);
      assert.equal(q.size.messages, 0);
      assert.equal(q.push('k', buf('3')), 3);
    });

    it('drop-oldest: keeps the newest items within maxMessages and counts the dropped ones, persistently', () => {
      let q = make({ maxMessages: 3, overflow: 'drop-oldest' });
      for (let i = 1; i <= 5; i++) q.push('k', buf(`m${i}`));
      assert.deepEqual(q.peek(10).map((i) => i.payload.toString()), ['m3', 'm4', 'm5']);
      assert.equal(q.dropped, 2);
      q = reopen(q, { maxMessages: 3 });
      assert.equal(q.dropped, 2);
      assert.deepEqual(q.peek(10).map((i) => i.payload.toString()), ['m3', 'm4', 'm5']);
    });

    it('drop-oldest: bounds bytes too', () => {
      const q = make({ maxBytes: 10, overflow: 'drop-oldest' });
      q.push('k', buf('aaaa'));
      q.push('k', buf('bbbb'));
      q.push('k', buf('cccccc'));
      assert.deepEqual(q.peek(10).map((i) => i.payload.toString()), ['bbbb', 'cccccc']);
      assert.deepEqual(q.size, { messages: 2, bytes: 10 });
      assert.equal(q.dropped, 1);
    });

    it('refuse-newest: throws QueueFullError and writes nothing, not even part of a batch', () => {
      let q = make({ maxMessages: 3, overflow: 'refuse-newest' });
      q.pushMany([{ key: 'k', payload: buf('1') }, { key: 'k', payload: buf('2') }]);
      assert.throws(() => q.pushMany([{ key: 'k', payload: buf('3') }, { key: 'k', payload: buf('4') }]), QueueFullError);
      assert.equal(q.push('k', buf('3')), 3);
      assert.throws(() => q.push('k', buf('4')), /queue full: 3 messages/);
      assert.equal(q.dropped, 0);
      q = reopen(q, { maxMessages: 3, overflow: 'refuse-newest' });
      assert.deepEqual(q.peek(10).map((i) => i.payload.toString()), ['1', '2', '3']);
      q.ack([1]);
      assert.equal(q.push('k', buf('4')), 4);
    });

    it('refuses an item that could never fit, under either policy', () => {
      const q = make({ maxBytes: 8, overflow: 'drop-oldest' });
      q.push('k', buf('keep'));
      assert.throws(() => q.push('k', Buffer.alloc(9)), /can never fit/);
      assert.deepEqual(q.peek(10).map((i) => i.payload.toString()), ['keep']);
    });

    it('peeks and acks correctly across items still in memory and items only on disk (beyond the cache)', () => {
      let q = make();
      const n = 25_000; // more than the in-memory cache of recent items holds
      q.pushMany(Array.from({ length: n }, (_, i) => ({ key: 'k', payload: buf(`v${i + 1}`) })));
      q.flush();
      q.ack([1, 2, 3, 24_999]);
      const all = q.peek(n);
      assert.equal(all.length, n - 4);
      assert.deepEqual(all.slice(0, 2).map((i) => i.seq), [4, 5]);
      assert.equal(all[all.length - 1].seq, n);
      assert.ok(all.every((it) => it.payload.toString() === `v${it.seq}`));
      assert.deepEqual(q.peek(3, 24_997).map((i) => i.seq), [24_998, 25_000]);
      const bytes = all.reduce((a, it) => a + it.payload.length, 0);
      assert.deepEqual(q.size, { messages: n - 4, bytes });
      q = reopen(q);
      assert.deepEqual(q.size, { messages: n - 4, bytes });
      assert.equal(q.peek(n).length, n - 4);
      // Acks of rows handed out from disk keep the sizes exact.
      const head = q.peek(2);
      q.ack(head.map((i) => i.seq));
      q.ack(head.map((i) => i.seq));
      const headBytes = head.reduce((a, it) => a + it.payload.length, 0);
      assert.deepEqual(q.size, { messages: n - 6, bytes: bytes - headBytes });
      q = reopen(q);
      assert.deepEqual(q.size, { messages: n - 6, bytes: bytes - headBytes });
    });

    it('peeks from a cursor past items acknowledged out of order, in memory and after a rewind', () => {
      const q = make();
      const seqs = Array.from({ length: 50 }, (_, i) => q.push('k', buf(`p${i}`)));
      q.flush();
      q.ack([seqs[10], seqs[11], seqs[30]]);
      assert.deepEqual(q.peek(5, seqs[9]).map((i) => i.seq), [seqs[12], seqs[13], seqs[14], seqs[15], seqs[16]]);
      assert.deepEqual(q.peek(3, seqs[29]).map((i) => i.seq), [seqs[31], seqs[32], seqs[33]]);
      // Everything but a few acknowledged: the cursor walks a sparse cache.
      q.ack(seqs.filter((_, i) => i % 10 !== 0));
      assert.deepEqual(q.peek(100).map((i) => i.seq), [seqs[0], seqs[20], seqs[40]]);
      assert.deepEqual(q.peek(100, seqs[15]).map((i) => i.seq), [seqs[20], seqs[40]]);
      assert.deepEqual(q.peek(100, seqs[49]), []);
    });

    it('refuses a second queue on a file that is open, and allows it after close', () => {
      const q = make();
      assert.throws(() => new DurableQueue({ file: q.file }), /already open in this process/);
      q.close();
      make({ file: q.file });
    });

    it('rejects a payload that is not a Buffer and any use after close', () => {
      const q = make();
      assert.throws(() => q.push('k', 'text' as unknown as Buffer), /payload must be a Buffer/);
      q.close();
      assert.throws(() => q.push('k', buf('x')), QueueClosedError);
      assert.throws(() => q.peek(1), QueueClosedError);
      q.close();
    });
  });
}

describe('DurableQueue group commit', () => {
  it('holds pushes and acks in memory until the timer fires, then writes them in one transaction', () => {
    const clock = new ManualClock(0);
    const file = tmpFile();
    const q = new DurableQueue({ file, syncEveryMs: 50, clock });
    const reader = new Database(file, { readonly: true });
    const onDisk = () => (reader.prepare('select count(*) as n from items').get() as { n: number }).n;
    try {
      q.pushMany([1, 2, 3].map((i) => ({ key: 'k', payload: buf(`${i}`) })));
      assert.equal(onDisk(), 0);
      assert.equal(clock.pending, 1, 'one timer for the whole group');
      clock.advance(50);
      assert.equal(onDisk(), 3);
      q.ack([1]);
      assert.equal(onDisk(), 3);
      assert.equal(q.size.messages, 2);
      assert.deepEqual(q.peek(10).map((i) => i.seq), [2, 3]);
      assert.equal(clock.pending, 1);
      clock.advance(50);
      assert.equal(onDisk(), 2);
    } finally {
      reader.close();
      q.close();
    }
  });

  it('whenStored calls back once the items are committed, or at once acknowledged or dropped before their commit', () => {
    const clock = new ManualClock(0);
    const file = tmpFile();
    const q = new DurableQueue({ file, syncEveryMs: 50, clock, maxMessages: 5 });
    const reader = new Database(file, { readonly: true });
    const onDisk = () => (reader.prepare('select count(*) as n from items').get() as { n: number }).n;
    const stored: string[] = [];
    try {
      const a = q.pushMany([{ key: 'k', payload: buf('a1') }, { key: 'k', payload: buf('a2') }]);
      q.whenStored(a, () => stored.push(`a:${onDisk()}`));
      const b = q.push('k', buf('b'));
      q.whenStored([b], () => stored.push('b'));
      const c = q.push('k', buf('c'));
      q.whenStored([c], () => stored.push('c'));
      assert.deepEqual(stored, [], 'nothing is stored before the group commit');
      q.ack([b]);
      assert.deepEqual(stored, ['b'], 'delivered before its commit: nothing left to keep');
      q.ack([a[0]]);
      assert.deepEqual(stored, ['b'], 'a waits for its second item');
      clock.advance(50);
      assert.deepEqual(stored, ['b', 'a:2', 'c'], 'called after the commit (a2 and c on disk)');
    } finally {
      reader.close();
      q.close();
    }
    const q2 = new DurableQueue({ file, syncEveryMs: 50, clock: new ManualClock(0), maxMessages: 1 });
    try {
      const calls: number[] = [];
      const [first] = q2.pushMany([{ key: 'k', payload: buf('x') }]);
      q2.whenStored([first], () => calls.push(first));
      assert.equal(calls.length, 0, 'the queue already holds two from before: the new one is pending');
      const [second] = q2.pushMany([{ key: 'k', payload: buf('y') }]);
      assert.deepEqual(calls, [first], 'dropped (drop-oldest) before its commit: called back, counted as dropped');
      q2.whenStored([second], () => calls.push(second));
      q2.flush();
      assert.deepEqual(calls, [first, second]);
      q2.whenStored([second], () => calls.push(-1));
      assert.equal(calls[2], -1, 'already on disk: at once');
    } finally {
      q2.close();
    }
  });

  it('writes what is held in memory on close', () => {
    const file = tmpFile();
    const q = new DurableQueue({ file, syncEveryMs: 60_000 });
    q.push('k', buf('x'));
    q.close();
    const q2 = new DurableQueue({ file });
    assert.equal(q2.size.messages, 1);
    q2.close();
  });
});

describe('DurableQueue survives kill -9', function () {
  this.timeout(60_000);
  const writer = path.join(__dirname, '..', '..', 'fixtures', 'durable-queue-writer.js');

  for (const syncEveryMs of [0, 10]) {
    it(`keeps every item it reported committed (syncEveryMs=${syncEveryMs}) and a clean contiguous prefix`, async () => {
      const file = tmpFile();
      const child = spawn(process.execPath, [writer, file, String(syncEveryMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let committed = 0;
      let lines = 0;
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        for (const m of d.matchAll(/committed (\d+)/g)) {
          committed = Math.max(committed, Number(m[1]));
          lines++;
        }
      });
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      try {
        await waitFor('the writer to commit 3000 items', () => committed >= 3000, 30_000);
      } finally {
        child.kill('SIGKILL');
        await exited;
      }
      assert.ok(lines > 0);
      const q = new DurableQueue({ file });
      try {
        const items = q.peek(1_000_000);
        assert.ok(items.length >= committed, `${items.length} items on disk, ${committed} reported committed`);
        items.forEach((it, i) => {
          assert.equal(it.seq, i + 1, 'no holes');
          assert.deepEqual(it.meta, { n: i + 1 });
          assert.equal(it.payload.toString().slice(0, `item-${i + 1}-`.length), `item-${i + 1}-`);
          assert.equal(it.payload.length, 200);
        });
        assert.equal(q.size.messages, items.length);
      } finally {
        q.close();
      }
    });
  }
});
