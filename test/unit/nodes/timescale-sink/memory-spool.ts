// The sink's spool in memory, for unit tests of the batch writer; spool-contract.test.ts holds it to
// the same behaviour as the DiskSpool the sink really uses.
import type { Spool, SpooledBatch } from '../../../../nodes/timescale-sink/batch-writer';
import type { Row } from '../../../../nodes/timescale-sink/row-mapper';

export class MemorySpool implements Spool {
  items: SpooledBatch[] = [];
  seq = 0;
  limit = Infinity;
  closed = false;
  push(batches: Array<{ table: string; rows: Row[] }>): void {
    const n = batches.reduce((a, b) => a + b.rows.length, 0);
    if (this.rows + n > this.limit) throw new Error('spool full');
    for (const b of batches) this.items.push({ seq: ++this.seq, table: b.table, rows: b.rows.map((r) => ({ ...r, ticket: 0 })) });
  }
  peek(limit: number, exclude: Set<number>): SpooledBatch[] {
    return this.items.filter((i) => !exclude.has(i.seq)).slice(0, limit);
  }
  ack(seq: number): void {
    this.items = this.items.filter((i) => i.seq !== seq);
  }
  get rows(): number {
    return this.items.reduce((a, b) => a + b.rows.length, 0);
  }
  close(): void {
    this.closed = true;
  }
}
