import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Backoff } from '../../../../lib/backoff';
import { BacklogFullError, BatchWriter, type BatchWriterOptions } from '../../../../nodes/timescale-sink/batch-writer';
import { classifyError } from '../../../../nodes/timescale-sink/copy-writer';
import type { Row } from '../../../../nodes/timescale-sink/row-mapper';
import { DiskSpool } from '../../../../nodes/timescale-sink/spool';
import { waitFor } from '../../../support/wait';
import { MemorySpool } from './memory-spool';

const row = (i: number, ticket = 1): Row => ({ values: [i], ticket, prefix: `payload[${i}]` });
const rows = (from: number, n: number) => Array.from({ length: n }, (_, k) => row(from + k));
const pgError = (code: string, message = 'boom') => Object.assign(new Error(message), { code });

interface Harness {
  w: BatchWriter;
  writes: Array<{ table: string; values: unknown[] }>;
  durable: Row[];
  failed: Array<{ row: Row; err: Error }>;
}

function harness(opts: Partial<BatchWriterOptions> & { db?: (table: string, rows: Row[]) => Promise<void> | void } = {}): Harness {
  const h = { writes: [], durable: [], failed: [] } as unknown as Harness;
  h.w = new BatchWriter({
    write: async (table, rs) => {
      await opts.db?.(table, rs);
      h.writes.push({ table, values: rs.map((r) => r.values[0]) });
    },
    classify: classifyError,
    explain: async (_t, r, err) => new Error(`${r.prefix}: ${err.message}`),
    onDurable: (rs) => h.durable.push(...rs),
    onFailed: (r, err) => h.failed.push({ row: r, err }),
    backoff: new Backoff({ initialMs: 5, maxMs: 20, jitter: 0 }),
    ...opts,
  });
  return h;
}

describe('timescale-sink batch writer', () => {
  it('writes a batch as soon as it holds batchSize rows, the rest when the batch is maxAgeMs old', async () => {
    const h = harness({ batchSize: 3, maxAgeMs: 150 });
    h.w.add([{ table: 't', rows: rows(0, 7) }]);
    await waitFor('two full batches', () => h.writes.length === 2);
    assert.deepEqual(h.writes.map((w) => w.values), [[0, 1, 2], [3, 4, 5]]);
    assert.equal(h.durable.length, 6);
    await waitFor('the aged batch', () => h.writes.length === 3, 5000);
    assert.deepEqual(h.writes[2].values, [6]);
    await h.w.close();
  });

  it('keeps tables in separate batches', async () => {
    const h = harness({ batchSize: 2, maxAgeMs: 20 });
    h.w.add([{ table: 'a', rows: rows(0, 1) }, { table: 'b', rows: rows(10, 1) }]);
    await waitFor('both written', () => h.writes.length === 2);
    assert.deepEqual(h.writes.map((w) => w.table).sort(), ['a', 'b']);
    await h.w.close();
  });

  it('never has more than maxInFlight batches in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const h = harness({
      batchSize: 1,
      maxInFlight: 2,
      db: async () => {
        peak = Math.max(peak, ++inFlight);
        await new Promise((r) => setTimeout(r, 10));
        inFlight--;
      },
    });
    h.w.add([{ table: 't', rows: rows(0, 10) }]);
    await waitFor('all written', () => h.durable.length === 10);
    assert.equal(peak, 2);
    await h.w.close();
  });

  it('refuses a whole message when memory is full and there is no spool, keeping none of it', async () => {
    const h = harness({ batchSize: 100, maxAgeMs: 10_000, maxMemoryRows: 5 });
    h.w.add([{ table: 't', rows: rows(0, 4) }]);
    assert.throws(() => h.w.add([{ table: 't', rows: rows(4, 1) }, { table: 'u', rows: rows(5, 1) }]), (err: Error) => err instanceof BacklogFullError && /backlog full/.test(err.message));
    assert.equal(h.w.state().memoryRows, 4);
    await h.w.close(100);
    assert.deepEqual(h.writes.flatMap((w) => w.values), [0, 1, 2, 3]);
  });

  it('retries a batch with backoff while the database is away and writes it once when it is back', async () => {
    let down = 3;
    const states: string[] = [];
    const h = harness({
      batchSize: 5,
      db: () => {
        if (down-- > 0) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
      },
      onState: (s) => states.push(s.phase),
    });
    h.w.add([{ table: 't', rows: rows(0, 5) }]);
    await waitFor('written after the outage', () => h.durable.length === 5);
    assert.deepEqual(h.writes.map((w) => w.values), [[0, 1, 2, 3, 4]]);
    assert.ok(states.includes('retrying'));
    assert.equal(h.failed.length, 0);
    await h.w.close();
  });

  it('spills to the spool beyond the memory bound (durable at once) and drains it when the database is back', async () => {
    let up = false;
    const spool = new MemorySpool();
    const h = harness({
      batchSize: 4,
      maxAgeMs: 10,
      maxMemoryRows: 8,
      spool,
      db: () => {
        if (!up) throw pgError('57P03', 'the database system is starting up');
      },
    });
    for (let i = 0; i < 5; i++) h.w.add([{ table: 't', rows: rows(i * 4, 4) }]);
    const { memoryRows } = h.w.state();
    assert.ok(memoryRows <= 8, `memory holds ${memoryRows} rows`);
    assert.equal(memoryRows + spool.rows, 20);
    assert.ok(spool.rows >= 12);
    assert.ok(spool.items.length < 5, 'waiting batches moved to disk together, not one write per message');
    assert.equal(h.durable.length, spool.rows, 'spooled rows count as durable');
    await waitFor('retrying', () => h.w.state().phase === 'retrying');
    up = true;
    await waitFor('memory and spool drained', () => h.w.state().memoryRows === 0 && spool.rows === 0, 10_000);
    const written = h.writes.flatMap((w) => w.values as number[]).sort((a, b) => a - b);
    assert.deepEqual(written, Array.from({ length: 20 }, (_, i) => i));
    await h.w.close();
  });

  it('refuses a message when memory and spool are both full', async () => {
    const spool = new MemorySpool();
    spool.limit = 3;
    const h = harness({ batchSize: 100, maxAgeMs: 10_000, maxMemoryRows: 2, spool });
    let accepted = 0;
    let refused: Error | undefined;
    for (let i = 0; i < 10 && !refused; i++) {
      try {
        h.w.add([{ table: 't', rows: rows(i, 1) }]);
        accepted++;
      } catch (err) {
        refused = err as Error;
      }
    }
    assert.match(String(refused), /disk spool refused more/);
    assert.equal(accepted, 5, '3 rows on disk and 2 in memory');
    assert.equal(spool.rows, 3);
    assert.equal(h.w.state().memoryRows, 2);
    await h.w.close(50);
  });

  it('splits a batch the database refuses until the bad rows stand alone; the others are written', async () => {
    const bad = new Set([13, 77]);
    let attempts = 0;
    const h = harness({
      batchSize: 100,
      maxAgeMs: 10,
      db: (_t, rs) => {
        attempts++;
        const b = rs.find((r) => bad.has(r.values[0] as number));
        if (b) throw pgError('22021', 'invalid byte sequence for encoding "UTF8": 0x00');
      },
    });
    h.w.add([{ table: 't', rows: rows(0, 100) }]);
    await waitFor('settled', () => h.durable.length + h.failed.length === 100);
    assert.deepEqual(h.failed.map((f) => f.row.values[0]).sort((a, b) => (a as number) - (b as number)), [13, 77]);
    assert.match(h.failed[0].err.message, /^payload\[13\]: invalid byte sequence/);
    assert.equal(h.durable.length, 98);
    assert.ok(attempts < 40, `isolation took ${attempts} writes`);
    assert.equal(h.w.state().failed, 2);
    await h.w.close();
  });

  it('fails every row of a batch on an error no retry can fix (missing table), naming the table', async () => {
    const h = harness({ batchSize: 3, db: () => { throw pgError('42P01', 'relation "x" does not exist'); } });
    h.w.add([{ table: 'x', rows: rows(0, 3) }]);
    await waitFor('failed', () => h.failed.length === 3);
    assert.match(h.failed[0].err.message, /table x: relation "x" does not exist/);
    await h.w.close();
  });

  it('on close spools what the database did not take within the grace time', async () => {
    const spool = new MemorySpool();
    const h = harness({ batchSize: 10, maxAgeMs: 10_000, spool, db: () => { throw Object.assign(new Error('Connection terminated unexpectedly'), {}); } });
    h.w.add([{ table: 't', rows: rows(0, 4) }]);
    await h.w.close(100);
    assert.equal(spool.rows, 4);
    assert.equal(h.durable.length, 4);
    assert.equal(h.failed.length, 0);
    assert.ok(spool.closed);
    assert.throws(() => h.w.add([{ table: 't', rows: rows(9, 1) }]), /closing/);
  });

  it('on close without a spool reports the unwritten rows as not stored', async () => {
    const h = harness({ batchSize: 10, maxAgeMs: 10_000, db: () => { throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }); } });
    h.w.add([{ table: 't', rows: rows(0, 2) }]);
    await h.w.close(50);
    assert.equal(h.failed.length, 2);
    assert.match(h.failed[0].err.message, /closed before the database accepted/);
  });
});

describe('timescale-sink error classes', () => {
  const table: Array<[unknown, string]> = [
    [pgError('22021'), 'row'],
    [pgError('23502'), 'row'],
    [pgError('23514', 'new row violates check constraint'), 'row'],
    [pgError('23514', 'no partition of relation "t" found for row'), 'partition'],
    [pgError('57P01', 'terminating connection due to administrator command'), 'transient'],
    [pgError('57P03'), 'transient'],
    [pgError('08006'), 'transient'],
    [pgError('40001'), 'transient'],
    [pgError('42P01'), 'fatal'],
    [pgError('42501'), 'fatal'],
    [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }), 'transient'],
    [new Error('Connection terminated unexpectedly'), 'transient'],
    [new Error('Query read timeout'), 'transient'],
    [new TypeError('x is not a function'), 'fatal'],
  ];
  for (const [err, want] of table) {
    it(`${(err as { code?: string }).code ?? (err as Error).message} is ${want}`, () => assert.equal(classifyError(err), want));
  }
});

describe('timescale-sink disk spool', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-spool-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keeps batches with Buffers, nulls and numbers exactly, across a reopen, until acked', () => {
    const file = path.join(dir, 's.db');
    let s = new DiskSpool({ file });
    const img = Buffer.from([0, 1, 2, 255]);
    s.push([
      { table: 'images', rows: [{ values: ['2025-01-01T00:00:00.000Z', 'i1', img, null, 1.5], ticket: 7, prefix: 'payload.image' }] },
      { table: 'detections', rows: rows(0, 3) },
    ]);
    assert.equal(s.rows, 4);
    s.close();
    s = new DiskSpool({ file });
    assert.equal(s.rows, 4);
    const [a, b] = s.peek(2, new Set());
    assert.equal(a.table, 'images');
    assert.ok(Buffer.isBuffer(a.rows[0].values[2]));
    assert.deepEqual(a.rows[0].values, ['2025-01-01T00:00:00.000Z', 'i1', img, null, 1.5]);
    assert.equal(a.rows[0].ticket, 0, 'a spooled row has no live message');
    assert.equal(a.rows[0].prefix, 'payload.image');
    assert.deepEqual(s.peek(5, new Set([a.seq])).map((x) => x.seq), [b.seq]);
    s.ack(a.seq);
    assert.equal(s.rows, 3);
    s.close();
    s = new DiskSpool({ file });
    assert.equal(s.rows, 3);
    assert.equal(s.peek(5, new Set())[0].table, 'detections');
    s.close();
  });

  it('refuses pushes beyond its size limit, atomically', () => {
    const s = new DiskSpool({ file: path.join(dir, 's.db'), maxBytes: 400 });
    s.push([{ table: 't', rows: rows(0, 2) }]);
    const before = s.rows;
    assert.throws(() => s.push([{ table: 't', rows: rows(0, 50) }, { table: 'u', rows: rows(0, 1) }]));
    assert.equal(s.rows, before);
    s.close();
  });
});
