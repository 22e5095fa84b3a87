// One contract suite for both table writers (COPY with staged fallback, and unnest), against the test
// database: all-or-nothing batches, idempotent replays, partial overlaps, refused rows by SQLSTATE.
import assert from 'node:assert/strict';
import { Pool } from 'pg';
import { CopyWriter, UnnestWriter, classifyError, type TableWriter } from '../../../nodes/timescale-sink/copy-writer';
import { migrate } from '../../../nodes/timescale-sink/db-schema';
import { CONTRACT_TABLES, mapContract, type Row } from '../../../nodes/timescale-sink/row-mapper';
import { sampleInspection } from '../../fixtures/contracts';
import { dropSchema, freshSchema, pgService, type PgService } from '../../support/services';

const detections = (from: number, n: number): Row[] =>
  Array.from({ length: n }, (_, i) => mapContract(sampleInspection(from + i, 2), 1, { images: 'none' })[1].rows).flat();

for (const kind of ['copy', 'unnest'] as const) {
  describe(`timescale-sink table writer: ${kind}`, function () {
    this.timeout(60_000);
    let pg: PgService;
    let pool: Pool;
    let schema: string;
    let writer: TableWriter;
    const spec = CONTRACT_TABLES.detections;
    const count = async () => Number((await pool.query(`select count(*) n from "${schema}".detections`)).rows[0].n);

    before(async function () {
      pg = await pgService();
      if (kind === 'copy' && pg.kind === 'embedded') {
        console.log('      [skip] embedded PGlite has no COPY FROM STDIN; the copy writer runs against real PostgreSQL (LINESIGHT_PG_URL)');
        this.skip();
      }
      schema = await freshSchema(pg.url, 'writer');
      pool = new Pool({ connectionString: pg.url, max: 2 });
      await migrate(pool, { schema, tables: [spec], timescale: 'off', partitionDaysAhead: 1 });
      await pool.query(`create table "${schema}".detections_p20251009 partition of "${schema}".detections for values from ('2025-10-09') to ('2025-10-10')`);
    });
    beforeEach(async () => {
      await pool.query(`truncate "${schema}".detections`);
      writer = kind === 'copy' ? new CopyWriter(pool, schema) : new UnnestWriter(pool, schema);
    });
    after(async () => {
      if (!pool) return;
      await pool.end();
      await dropSchema(pg.url, schema);
    });

    it('writes a batch and reports how many rows were new', async () => {
      assert.equal(await writer.write(spec, detections(0, 100)), 200);
      assert.equal(await count(), 200);
    });

    it('adds nothing when the same batch comes again, and only the new rows of an overlapping batch', async () => {
      await writer.write(spec, detections(0, 100));
      assert.equal(await writer.write(spec, detections(0, 100)), 0);
      assert.equal(await writer.write(spec, detections(50, 100)), 100);
      assert.equal(await count(), 300);
      if (writer instanceof CopyWriter) assert.deepEqual(writer.counts, { direct: 1, staged: 2 }, 'duplicates moved the table to the staged path');
    });

    it('writes nothing of a batch with one refused row, and says the data is at fault', async () => {
      const rows = detections(0, 50);
      rows[37] = { ...rows[37], values: rows[37].values.map((v, i) => (i === 7 ? 'dent\u0000' : v)) };
      await assert.rejects(writer.write(spec, rows), (err: Error) => classifyError(err) === 'row');
      assert.equal(await count(), 0);
      // The connection is still good for the next batch.
      assert.equal(await writer.write(spec, detections(0, 10)), 20);
    });

    it('stores values with SQL, tabs, newlines and backslashes as they are', async () => {
      const rows = detections(0, 1);
      const nasty = "x'); drop table detections; --\t\\N\n\\\r";
      rows[0] = { ...rows[0], values: rows[0].values.map((v, i) => (i === 7 ? nasty : v)) };
      await writer.write(spec, rows);
      const r = await pool.query(`select defect_class from "${schema}".detections where idx = 0`);
      assert.equal(r.rows[0].defect_class, nasty);
    });
  });
}
