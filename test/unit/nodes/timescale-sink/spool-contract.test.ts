// One contract suite for the sink's Spool interface (nodes/timescale-sink/batch-writer.ts), run against
// DiskSpool (the sink's, on the shared DurableQueue) and MemorySpool (the batch writer's unit tests
// stand on it, so it must behave the same). What only a disk can do (survive a reopen) stays in
// batch-writer.test.ts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Spool } from '../../../../nodes/timescale-sink/batch-writer';
import type { Row } from '../../../../nodes/timescale-sink/row-mapper';
import { DiskSpool } from '../../../../nodes/timescale-sink/spool';
import { MemorySpool } from './memory-spool';

const row = (i: number, ticket = 1): Row => ({ values: [i, `v${i}`, null], ticket, prefix: `payload[${i}]` });
const rows = (from: number, n: number) => Array.from({ length: n }, (_, k) => row(from + k));

interface Implementation {
  name: string;
  /** A spool with room for a few small rows (2 fit, 51 do not). */
  open(small?: boolean): Spool;
}

const dirs: string[] = [];
const implementations: Implementation[] = [
  {
    name: 'DiskSpool',
    open(small) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-spool-contract-'));
      dirs.push(dir);
      return new DiskSpool({ file: path.join(dir, 's.db'), ...(small ? { maxBytes: 400 } : {}) });
    },
  },
  {
    name: 'MemorySpool',
    open(small) {
      const s = new MemorySpool();
      if (small) s.limit = 10;
      return s;
    },
  },
];

for (const impl of implementations) {
  describe(`timescale-sink Spool contract: ${impl.name}`, () => {
    let spool: Spool;
    beforeEach(() => (spool = impl.open()));
    afterEach(() => spool.close());
    after(() => {
      for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
    });

    it('gives batches back oldest first with rising seqs, without removing them, and counts their rows', () => {
      spool.push([{ table: 'a', rows: rows(0, 2) }, { table: 'b', rows: rows(2, 3) }]);
      spool.push([{ table: 'c', rows: rows(5, 1) }]);
      assert.equal(spool.rows, 6);
      const first = spool.peek(10, new Set());
      assert.deepEqual(first.map((b) => b.table), ['a', 'b', 'c']);
      assert.ok(first[0].seq < first[1].seq && first[1].seq < first[2].seq, 'seqs rise');
      assert.deepEqual(spool.peek(10, new Set()), first, 'peek does not take');
    });

    it('keeps the values and the prefix of each row; a spooled row has no live message (ticket 0)', () => {
      spool.push([{ table: 't', rows: [row(7, 42)] }]);
      const [b] = spool.peek(1, new Set());
      assert.deepEqual(b.rows, [{ values: [7, 'v7', null], ticket: 0, prefix: 'payload[7]' }]);
    });

    it('peeks at most `limit` batches, skipping the seqs in `exclude`', () => {
      spool.push([1, 2, 3, 4].map((i) => ({ table: `t${i}`, rows: rows(i, 1) })));
      const all = spool.peek(10, new Set());
      assert.deepEqual(spool.peek(2, new Set()).map((b) => b.table), ['t1', 't2']);
      assert.deepEqual(spool.peek(2, new Set([all[0].seq, all[2].seq])).map((b) => b.table), ['t2', 't4']);
    });

    it('removes an acked batch and its rows; a second ack of the same seq changes nothing', () => {
      spool.push([{ table: 'a', rows: rows(0, 2) }, { table: 'b', rows: rows(2, 3) }]);
      const [a, b] = spool.peek(10, new Set());
      spool.ack(a.seq);
      assert.equal(spool.rows, 3);
      assert.deepEqual(spool.peek(10, new Set()).map((x) => x.seq), [b.seq]);
      spool.ack(a.seq);
      assert.equal(spool.rows, 3);
      assert.deepEqual(spool.peek(10, new Set()).map((x) => x.seq), [b.seq]);
    });

    it('refuses a push that does not fit, all or nothing', () => {
      spool.close();
      spool = impl.open(true);
      spool.push([{ table: 't', rows: rows(0, 2) }]);
      assert.throws(() => spool.push([{ table: 't', rows: rows(2, 50) }, { table: 'u', rows: rows(60, 1) }]));
      assert.equal(spool.rows, 2);
      assert.deepEqual(spool.peek(10, new Set()).map((b) => b.table), ['t']);
    });
  });
}
