// TimescaleDB, every variant, each on its own server (never the shared one):
//   LINESIGHT_TIMESCALE_URL           full build (Timescale licence), timescaledb preloaded
//   LINESIGHT_TIMESCALE_APACHE_URL    Apache-only build (-DAPACHE_ONLY=ON), preloaded
//   LINESIGHT_TIMESCALE_NOPRELOAD_URL timescaledb on the server but not in shared_preload_libraries
// Each block skips with the reason when its URL is unset. README "History" says how to build and run them.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { migrate, type SchemaOptions } from '../../../nodes/timescale-sink/db-schema';
import { CONTRACT_TABLES } from '../../../nodes/timescale-sink/row-mapper';
import { ROLLUPS } from '../../../nodes/timescale-sink/rollups';
import { startHistoryServer } from '../../../runtime/history/server';
import { freshSchema } from '../../support/services';
import { dropSchemaRetrying as dropSchema, query } from '../timescale-sink/harness';
import { assertRollupsMatch, BASE, inspection, openSink, refreshCagg, tagBatch } from '../history/support';

const run = promisify(execFile);
const BIN = path.resolve(__dirname, '..', '..', '..', '..', 'bin', 'linesight.js');
const TABLES = Object.values(CONTRACT_TABLES);

function needs(env: string, what: string): string | undefined {
  const url = process.env[env];
  if (!url) console.log(`      [skip] ${env} unset: needs ${what} (README "History": building TimescaleDB for the tests)`);
  return url;
}

async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

const jobs = (url: string, schema: string) =>
  query(
    url,
    `select coalesce(j.hypertable_name, '') as t, j.proc_name as p, j.config->>'compress_after' as c, j.config->>'drop_after' as d from timescaledb_information.jobs j
      left join timescaledb_information.continuous_aggregates a on a.materialization_hypertable_schema = j.hypertable_schema and a.materialization_hypertable_name = j.hypertable_name
      where j.hypertable_schema = $1 or a.view_schema = $1 order by 2, 1`,
    [schema],
  );

/**
 * Compresses every chunk of a hypertable. The sink's compression policy (its data is older than
 * compressAfterDays) may compress a chunk at the same moment: TimescaleDB then re-checks after taking its
 * locks and raises "is already compressed" even with if_not_compressed; the chunk is compressed, so the
 * statement is run again (it skips compressed chunks with a notice).
 */
async function compressAll(url: string, table: string): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      await query(url, `select compress_chunk(c, true) from show_chunks('${table}') c`);
      return;
    } catch (err) {
      if (i >= 10 || !/is already compressed/.test((err as Error).message)) throw err;
    }
  }
}

async function refreshAll(url: string, schema: string): Promise<void> {
  // refresh_continuous_aggregate cannot run inside a transaction: one statement per call, autocommit.
  for (const def of ROLLUPS) await refreshCagg(url, schema, def.name);
}

describe('TimescaleDB: full licence (continuous aggregates, compression, policies)', function () {
  this.timeout(300_000);
  const url = needs('LINESIGHT_TIMESCALE_URL', 'a PostgreSQL with the full TimescaleDB build preloaded');
  let schema: string;
  before(function () {
    if (!url) this.skip();
  });
  beforeEach(async () => (schema = await freshSchema(url!, 'tsfull')));
  afterEach(async () => dropSchema(url!, schema));

  const opts = (o: Partial<SchemaOptions> = {}): SchemaOptions => ({ schema, tables: TABLES, ...o });

  it('applies policy changes and removes a policy set to 0; segmentby/orderby chosen for the queries', async () => {
    const r1 = await withClient(url!, (c) => migrate(c, opts({ compressAfterDays: 7, retainDays: 30 })));
    assert.equal(r1.fullLicence, true);
    assert.deepEqual(r1.rollups.map((r) => r.kind), ROLLUPS.map(() => 'continuous-aggregate'));
    let j = await jobs(url!, schema);
    assert.equal(j.filter((x) => x.p === 'policy_compression').length, 4, 'inspections, detections, tag_samples, line_actions (images are not compressed)');
    assert.ok(j.filter((x) => x.p === 'policy_compression').every((x) => x.c === '7 days'));
    assert.equal(j.filter((x) => x.p === 'policy_retention').length, 5);
    assert.equal(j.filter((x) => x.p === 'policy_refresh_continuous_aggregate').length, ROLLUPS.length);
    const cs = await query(url!, `select hypertable::text h, segmentby s, orderby o from timescaledb_information.hypertable_compression_settings where hypertable::text like $1 order by 1`, [`${schema}.%`]);
    assert.deepEqual(
      cs.map((x) => [x.h.split('.')[1], x.s, x.o]),
      [
        ['detections', 'site,line,camera_id', '"time" DESC,inspection_id,idx'],
        ['images', null, null],
        ['inspections', 'site,line,camera_id', '"time" DESC,inspection_id'],
        ['line_actions', 'line', '"time" DESC,action_id'],
        ['tag_samples', 'device,tag', '"time" DESC'],
      ],
    );
    // Changed values are applied (not swallowed), 0 removes.
    const r2 = await withClient(url!, (c) => migrate(c, opts({ compressAfterDays: 14, retainDays: 0 })));
    assert.ok(r2.notes.some((n) => /retention policy removed/.test(n)));
    j = await jobs(url!, schema);
    assert.deepEqual([...new Set(j.filter((x) => x.p === 'policy_compression').map((x) => x.c))], ['14 days']);
    assert.equal(j.filter((x) => x.p === 'policy_retention').length, 0);
    await withClient(url!, (c) => migrate(c, opts({ compressAfterDays: 0, retainDays: 90 })));
    j = await jobs(url!, schema);
    assert.equal(j.filter((x) => x.p === 'policy_compression').length, 0);
    assert.deepEqual([...new Set(j.filter((x) => x.p === 'policy_retention').map((x) => x.d))], ['90 days']);
  });

  it('four concurrent db migrate processes: exactly one schema and exactly the intended jobs', async () => {
    await dropSchema(url!, schema);
    const args = [BIN, 'db', 'migrate', '--url', url!, '--schema', schema, '--compress-after', '7', '--retain', '30'];
    const res = await Promise.allSettled(Array.from({ length: 4 }, () => run(process.execPath, args)));
    assert.deepEqual(res.map((r) => (r.status === 'fulfilled' ? 'ok' : String((r as PromiseRejectedResult).reason))), ['ok', 'ok', 'ok', 'ok']);
    const h = await query(url!, `select hypertable_name n from timescaledb_information.hypertables where hypertable_schema = $1 order by 1`, [schema]);
    assert.deepEqual(h.map((x) => x.n), ['detections', 'images', 'inspections', 'line_actions', 'tag_samples']);
    const j = await jobs(url!, schema);
    assert.equal(j.length, 4 + 5 + ROLLUPS.length, JSON.stringify(j));
  });

  it('four sinks starting at once on an empty schema: exactly one schema and exactly the intended jobs', async () => {
    await dropSchema(url!, schema);
    const sinks = await Promise.all(Array.from({ length: 4 }, () => openSink(url!, schema, { compressAfterDays: 7, retainDays: 30 })));
    try {
      const h = await query(url!, `select count(*)::int n from timescaledb_information.hypertables where hypertable_schema = $1`, [schema]);
      assert.equal(h[0].n, 5);
      const j = await jobs(url!, schema);
      assert.equal(j.length, 4 + 5 + ROLLUPS.length, JSON.stringify(j));
    } finally {
      await Promise.all(sinks.map((s) => s.close()));
    }
  });

  it('continuous aggregates equal count(*) over the raw rows after late, replayed and compressed data', async () => {
    const sink = await openSink(url!, schema, { compressAfterDays: 7 });
    try {
      const first = Array.from({ length: 200 }, (_, i) => inspection(i));
      const tags = Array.from({ length: 100 }, (_, i) => tagBatch(i));
      assert.deepEqual(await sink.send([...first, ...tags]), []);
      // Compress every chunk, then replay into it and add late rows there.
      for (const t of ['inspections', 'detections', 'tag_samples']) await compressAll(url!, `"${schema}"."${t}"`);
      const late = Array.from({ length: 40 }, (_, i) => inspection(500 + i, BASE + 60_000 * i + 17));
      assert.deepEqual(await sink.send([...first, ...late, ...tags]), []);
      const n = await query(url!, `select count(*)::int n from "${schema}".inspections`);
      assert.equal(n[0].n, 240);
      await refreshAll(url!, schema);
      await assertRollupsMatch(url!, schema);
      // The history API reads the same names on TimescaleDB.
      const api = await startHistoryServer({ db: url!, schema, allowWritableRole: true });
      try {
        const r = await fetch(`${api.url}/inspections/insp-7`);
        assert.equal(r.status, 200);
        const s = await (await fetch(`${api.url}/defect-rate?from=${new Date(BASE - 86_400_000).toISOString()}&to=${new Date(BASE + 4 * 86_400_000).toISOString()}&bucket=day&by=none`)).json();
        assert.equal(s.points.reduce((a: number, p: { inspections: number }) => a + p.inspections, 0), 240);
      } finally {
        await api.close();
      }
    } finally {
      await sink.close();
    }
  });

  it('the history API answers the same over continuous aggregates as over the rollup tables the sink keeps, after late and replayed data', async () => {
    // Same server, two schemas: hypertables with continuous aggregates, and (timescale "off") daily partitions
    // with the rollup tables a sink keeps on plain PostgreSQL. The same messages go into both.
    const plain = await freshSchema(url!, 'tsplain');
    const caggSink = await openSink(url!, schema);
    const plainSink = await openSink(url!, plain, { timescale: 'off' });
    const now = BASE + 2 * 86_400_000 + 3_600_000;
    const apis: Array<Awaited<ReturnType<typeof startHistoryServer>>> = [];
    try {
      const kinds = await query(url!, `select n.nspname s, c.relkind::text k from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname in ($1, $2) and c.relname = 'inspection_rollup_1h'`, [schema, plain]);
      assert.deepEqual(Object.fromEntries(kinds.map((k) => [k.s === schema ? 'cagg' : 'plain', k.k])), { cagg: 'v', plain: 'r' }, 'a continuous aggregate (view) beside a table');
      const both = async (payloads: unknown[]) => {
        assert.deepEqual(await caggSink.send(payloads), []);
        assert.deepEqual(await plainSink.send(payloads), []);
      };
      const first = Array.from({ length: 300 }, (_, i) => inspection(i));
      await both(first);
      await refreshAll(url!, schema);
      // Late rows two days back and inside buckets already materialised, then replays of everything.
      const late = Array.from({ length: 60 }, (_, i) => inspection(1000 + i, BASE - 2 * 86_400_000 + i * 60_000));
      const inside = Array.from({ length: 40 }, (_, i) => inspection(2000 + i, BASE + i * 30_000 + 11));
      await both([...first.slice(0, 100), ...late, ...inside]);
      await both([...first, ...late, ...inside]);
      await refreshAll(url!, schema);
      const counts = await query(url!, `select (select count(*)::int from "${schema}".inspections) a, (select count(*)::int from "${plain}".inspections) b`);
      assert.deepEqual(counts[0], { a: 400, b: 400 });

      for (const s of [schema, plain]) apis.push(await startHistoryServer({ db: url!, schema: s, allowWritableRole: true, now: () => now, shifts: [6] }));
      const wide = `from=${new Date(BASE - 3 * 86_400_000).toISOString()}&to=${new Date(BASE + 4 * 86_400_000).toISOString()}`;
      const paths = [
        ...(['line', 'camera', 'model_version', 'class', 'none'] as const).map((by) => `/defect-rate?${wide}&bucket=day&by=${by}`),
        `/defect-rate?${wide}&bucket=hour&by=line`,
        `/defect-rate?${wide}&bucket=hour&by=class&line=line1`,
        `/defect-rate?${wide}&bucket=day&by=class&defectClass=hole`,
        `/defect-rate?from=${new Date(BASE - 2 * 86_400_000).toISOString()}&to=${new Date(BASE - 2 * 86_400_000 + 7_200_000).toISOString()}&bucket=minute&by=class`,
        `/defect-rate?from=${new Date(BASE).toISOString()}&to=${new Date(BASE + 3_600_000).toISOString()}&bucket=minute&by=model_version`,
        `/model-comparison?${wide}`,
        `/model-comparison?${wide}&line=line1`,
        `/worst-lines?${wide}`,
        `/worst-lines`,
      ];
      for (const p of paths) {
        const [a, b] = await Promise.all(
          apis.map(async (api) => {
            const r = await fetch(`${api.url}${p}`);
            assert.equal(r.status, 200, `${p}: ${r.status}`);
            return r.json();
          }),
        );
        const list = (a as { points?: unknown[]; rows?: unknown[]; lines?: unknown[] });
        assert.ok((list.points ?? list.rows ?? list.lines ?? []).length > 0, `${p}: not empty`);
        assert.deepEqual(a, b, `${p}: continuous aggregates answer as the sink-kept rollups`);
      }
    } finally {
      for (const api of apis) await api.close();
      await caggSink.close();
      await plainSink.close();
      await dropSchema(url!, plain);
    }
  });
});

describe('TimescaleDB: Apache licence (no compression, policies or continuous aggregates)', function () {
  this.timeout(300_000);
  const url = needs('LINESIGHT_TIMESCALE_APACHE_URL', 'a PostgreSQL with the Apache-only TimescaleDB build preloaded');
  let schema: string;
  before(function () {
    if (!url) this.skip();
  });
  beforeEach(async () => (schema = await freshSchema(url!, 'tsapache')));
  afterEach(async () => dropSchema(url!, schema));

  it('db migrate with compress/retain completes: hypertables, rollup tables, one note saying so, no policy jobs', async () => {
    const r = await run(process.execPath, [BIN, 'db', 'migrate', '--url', url!, '--schema', schema, '--compress-after', '7', '--retain', '30']);
    assert.match(r.stdout, /licence apache/);
    assert.equal((r.stdout.match(/with the apache licence: hypertables without compression/g) ?? []).length, 1);
    assert.match(r.stdout, /compress-after 7 days ignored/);
    const h = await query(url!, `select hypertable_name n from timescaledb_information.hypertables where hypertable_schema = $1 order by 1`, [schema]);
    assert.equal(h.length, 5);
    const rel = await query(url!, `select count(*)::int n from pg_class c join pg_namespace s on s.oid = c.relnamespace where s.nspname = $1 and c.relname like '%_rollup_%' and c.relkind = 'r'`, [schema]);
    assert.equal(rel[0].n, ROLLUPS.length);
    assert.deepEqual(await jobs(url!, schema), []);
  });

  it('the sink accepts every message with compressAfterDays/retainDays set; its rollups equal count(*); its drop_chunks job retains', async () => {
    const sink = await openSink(url!, schema, { compressAfterDays: 7, retainDays: 30 });
    try {
      assert.ok(sink.logs.some((l) => /apache licence/.test(l)), sink.logs.join('\n'));
      const first = Array.from({ length: 150 }, (_, i) => inspection(i));
      const late = Array.from({ length: 30 }, (_, i) => inspection(900 + i, BASE - 86_400_000 + i * 1000));
      assert.deepEqual(await sink.send([...first, ...Array.from({ length: 60 }, (_, i) => tagBatch(i))]), []);
      assert.deepEqual(await sink.send([...first.slice(0, 70), ...late]), []);
      await assertRollupsMatch(url!, schema);
    } finally {
      await sink.close();
    }
    // Retention: chunks older than 30 days (by the given clock) go, with the sink's own drop_chunks.
    const report = await withClient(url!, (c) => migrate(c, { schema, tables: TABLES, retainDays: 30, clock: { now: () => BASE + 31 * 86_400_000 } }));
    assert.ok(report.notes.some((n) => /inspections: dropped \d+ chunks older than 30 days/.test(n)), report.notes.join('\n'));
    const left = await query(url!, `select count(*)::int n from "${schema}".inspections where time < $1`, [new Date(BASE + 86_400_000).toISOString()]);
    assert.equal(left[0].n, 0);
  });
});

describe('TimescaleDB installed but not in shared_preload_libraries', function () {
  this.timeout(120_000);
  const url = needs('LINESIGHT_TIMESCALE_NOPRELOAD_URL', 'a PostgreSQL with TimescaleDB installed but not preloaded');
  before(function () {
    if (!url) this.skip();
  });

  it('db migrate fails with a clear error naming shared_preload_libraries (no crash), or falls back to partitions when the database has no extension yet', async () => {
    const installed = (await query(url!, `select 1 from pg_extension where extname = 'timescaledb'`)).length > 0;
    const schema = `nopre_${process.pid}`;
    try {
      const req = await run(process.execPath, [BIN, 'db', 'migrate', '--url', url!, '--schema', schema, '--timescale', 'require']).then(
        () => 'ok',
        (e: { stderr: string }) => e.stderr,
      );
      assert.match(req, /not loaded: add timescaledb to shared_preload_libraries in postgresql\.conf and restart PostgreSQL/);
      assert.doesNotMatch(req, /Unhandled 'error' event|at .*\.js:\d+/);
      const auto = await run(process.execPath, [BIN, 'db', 'migrate', '--url', url!, '--schema', schema]).then(
        (r) => r.stdout,
        (e: { stderr: string }) => e.stderr,
      );
      if (installed) assert.match(auto, /shared_preload_libraries/);
      else assert.match(auto, /daily range partitions[\s\S]*not in shared_preload_libraries; using daily range partitions/);
      // A sink says the same instead of crashing.
      if (installed) await assert.rejects(openSink(url!, schema), /shared_preload_libraries/);
    } finally {
      await dropSchema(url!, schema).catch(() => undefined);
    }
  });
});
