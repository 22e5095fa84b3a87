// The sink's disk spool: batches serialised with v8 (keeps Buffers, numbers and nulls exactly) into the
// shared DurableQueue. A spooled row no longer belongs to a live message, so it is stored without its ticket.
import v8 from 'node:v8';
import { DurableQueue } from '../../lib/durable-queue';
import type { Spool, SpooledBatch } from './batch-writer';
import type { Row } from './row-mapper';

interface Stored {
  v: unknown[][];
  p: string[];
}

export class DiskSpool implements Spool {
  private readonly q: DurableQueue;
  private count = 0;

  constructor(opts: { file: string; maxBytes?: number }) {
    this.q = new DurableQueue({ file: opts.file, maxBytes: opts.maxBytes, overflow: 'refuse-newest', syncEveryMs: 0 });
    // Count the rows left from an earlier run (meta keeps each batch's row count).
    let after = 0;
    for (;;) {
      const items = this.q.peek(1000, after);
      if (!items.length) break;
      for (const it of items) this.count += Number(it.meta?.rows ?? 0);
      after = items[items.length - 1].seq;
    }
  }

  push(batches: Array<{ table: string; rows: Row[] }>): void {
    const items = batches
      .filter((b) => b.rows.length)
      .map(({ table, rows }) => ({ key: table, payload: v8.serialize({ v: rows.map((r) => r.values), p: rows.map((r) => r.prefix) } satisfies Stored), meta: { rows: rows.length } }));
    this.q.pushMany(items);
    for (const b of batches) this.count += b.rows.length;
  }

  peek(limit: number, exclude: Set<number>): SpooledBatch[] {
    const out: SpooledBatch[] = [];
    for (const it of this.q.peek(limit + exclude.size)) {
      if (exclude.has(it.seq)) continue;
      const s = v8.deserialize(it.payload) as Stored;
      const rows: Row[] = s.v.map((values, i) => ({ values: values.map(revive), ticket: 0, prefix: s.p[i] }));
      out.push({ seq: it.seq, table: it.key, rows });
      if (out.length >= limit) break;
    }
    return out;
  }

  ack(seq: number): void {
    const [it] = this.q.peek(1, seq - 1);
    if (it?.seq === seq) this.count -= Number(it.meta?.rows ?? 0);
    this.q.ack([seq]);
  }

  get rows(): number {
    return this.count;
  }

  get batches(): number {
    return this.q.size.messages;
  }

  close(): void {
    this.q.close();
  }
}

// v8 gives Uint8Array back for a Buffer; the writers expect Buffers for bytea.
function revive(v: unknown): unknown {
  return v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v;
}
