import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DurableQueue } from '../../../../lib/durable-queue';
import { Uplink, type UplinkTransport } from '../../../../nodes/cloud-bridge/uplink';
import type { OutboxMeta } from '../../../../nodes/cloud-bridge/wire-format';
import { waitFor } from '../../../support/wait';

interface Pending {
  topic: string;
  body: string;
  resolve(): void;
  reject(e: Error): void;
}

/** A broker stand-in that holds every publish until the test acknowledges or fails it. */
class FakeTransport implements UplinkTransport {
  connected = false;
  pending: Pending[] = [];
  delivered: string[] = [];
  publish(topic: string, body: Buffer, _meta: OutboxMeta, _qos: 1 | 2, cb: (err?: Error) => void): void {
    const p: Pending = { topic, body: body.toString(), resolve: () => { this.delivered.push(p.body); cb(); }, reject: (e) => cb(e) };
    this.pending.push(p);
  }
  ackAll() {
    for (const p of this.pending.splice(0)) p.resolve();
  }
}

const entry = (i: number, topic = 't') => ({ key: topic, payload: Buffer.from(`m${i}`), meta: { id: `id${i}`, kind: 'tags' as const, contentType: 'application/json' } });
const tick = () => new Promise((r) => setImmediate(r));

describe('cloud-bridge Uplink', () => {
  let q: DurableQueue;
  let t: FakeTransport;
  let u: Uplink;
  beforeEach(() => {
    q = new DurableQueue({ file: path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'upl-')), 'o.db'), syncEveryMs: 0 });
    t = new FakeTransport();
    u = new Uplink({ queue: q, transport: t, qos: 1, window: 3, retryMs: 10 });
  });
  afterEach(() => {
    u.stop();
    q.close();
  });

  it('accepts while down and publishes nothing', async () => {
    for (let i = 0; i < 5; i++) u.enqueue([entry(i)]);
    await tick();
    assert.equal(t.pending.length, 0);
    assert.equal(u.stats.backlog, 5);
  });

  it('keeps at most `window` unacknowledged and drains in order, removing only acknowledged messages', async () => {
    for (let i = 0; i < 7; i++) u.enqueue([entry(i)]);
    t.connected = true;
    u.linkUp();
    await tick();
    assert.deepEqual(t.pending.map((p) => p.body), ['m0', 'm1', 'm2']);
    assert.equal(u.stats.inFlight, 3);
    t.pending.shift()!.resolve();
    await waitFor('one more sent', () => t.pending.length === 3);
    assert.deepEqual(t.pending.map((p) => p.body), ['m1', 'm2', 'm3']);
    while (t.delivered.length < 7) {
      t.ackAll();
      await tick();
      await tick();
    }
    assert.deepEqual(t.delivered, ['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6']);
    await waitFor('outbox empty', () => q.size.messages === 0);
  });

  it('also bounds the bytes in flight, but always lets one message through', async () => {
    u.stop();
    u = new Uplink({ queue: q, transport: t, qos: 1, window: 100, windowBytes: 5 });
    u.enqueue([entry(0), entry(1), entry(2), { ...entry(3), payload: Buffer.alloc(50) }]);
    t.connected = true;
    u.linkUp();
    await tick();
    assert.deepEqual(t.pending.map((p) => p.body), ['m0', 'm1'], '2 + 2 bytes fit in 5, a third would not');
    t.ackAll();
    await waitFor('next', () => t.pending.length === 1 && t.pending[0].body === 'm2');
    t.ackAll();
    await waitFor('the big one alone', () => t.pending.length === 1 && t.pending[0].body.length === 50);
  });

  it('after a lost link resends from the oldest unacknowledged message: a duplicate maybe, never a gap', async () => {
    for (let i = 0; i < 5; i++) u.enqueue([entry(i)]);
    t.connected = true;
    u.linkUp();
    await tick();
    const first = t.pending.splice(0);
    first[0].resolve(); // m0 acknowledged; m1, m2 lost with the link
    t.connected = false;
    u.linkDown();
    first[1].reject(new Error('connection closed'));
    first[2].reject(new Error('connection closed'));
    await tick();
    t.connected = true;
    u.linkUp();
    await tick();
    await tick();
    assert.deepEqual(t.pending.map((p) => p.body), ['m1', 'm2', 'm3']);
  });

  it('a transient failure while connected rewinds and retries after a pause', async () => {
    u.enqueue([entry(0)]);
    t.connected = true;
    u.linkUp();
    await tick();
    t.pending.shift()!.reject(new Error('timeout'));
    await waitFor('retried', () => t.pending.length === 1, 2000, 5);
    assert.equal(t.pending[0].body, 'm0');
  });

  it('a message the broker refuses for good is removed, counted and reported; the rest go on', async () => {
    const rejected: string[] = [];
    u.on('rejected', (item: { meta: { id: string } }) => rejected.push(item.meta.id));
    u.enqueue([entry(0), entry(1)]);
    t.connected = true;
    u.linkUp();
    await tick();
    t.pending.shift()!.reject(Object.assign(new Error('not authorized'), { permanent: true }));
    t.pending.shift()!.resolve();
    await waitFor('both settled', () => q.size.messages === 0);
    assert.deepEqual(rejected, ['id0']);
    assert.equal(u.stats.rejected, 1);
  });

  it('new messages keep flowing while a backlog drains', async () => {
    for (let i = 0; i < 4; i++) u.enqueue([entry(i)]);
    t.connected = true;
    u.linkUp();
    await tick();
    u.enqueue([entry(4)]);
    while (t.delivered.length < 5) {
      t.ackAll();
      await tick();
      await tick();
    }
    assert.deepEqual(t.delivered, ['m0', 'm1', 'm2', 'm3', 'm4']);
  });
});
