// Traceability through the history API: p99 of GET /api/v1/history/inspections/{id} (the inspection, its
// detections, images, the line's tag samples within ± 5 s, actions, model version) and of a serial search,
// with HISTORY_BENCH_ROWS inspection rows (default 200,000 for a quick run; the goal is stated for
// 10,000,000: p99 < 50 ms). Rows are generated in the database (generate_series) into the tables the sink
// makes (hypertables where TimescaleDB is available). Baseline: the bare SQL lookup of the inspection row by
// id on the same table, so the ratio is "times the cost of one index lookup".
// Needs a real PostgreSQL: LINESIGHT_PG_URL or postgres://postgres@127.0.0.1:5432/test.
import crypto from 'node:crypto';
import { Client } from 'pg';
import { migrate, partitionSQL } from '../nodes/timescale-sink/db-schema';
import { CONTRACT_TABLES } from '../nodes/timescale-sink/row-mapper';
import { startHistoryServer } from '../runtime/history/server';
import { percentile, report } from './support/report';

const URL_ = process.env.LINESIGHT_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROWS = Number(process.env.HISTORY_BENCH_ROWS ?? 200_000);
const LINES = 100;
const QUERIES = Number(process.env.HISTORY_BENCH_QUERIES ?? 500);
const START = Date.UTC(2026, 0, 1);
// One inspection per line every 2.5 s on average: 10 M rows span about 3 days.
const SPAN_MS = Math.round((ROWS / LINES) * 2_500);
// Each line's PLC: 3 tags read every 2 s (37.5 M tag rows beside 10 M inspections).
const TAG_STEP_MS = Number(process.env.HISTORY_BENCH_TAG_STEP_MS ?? 2_000);

// HISTORY_BENCH_SCHEMA=<name>: keep the generated history in that schema and reuse it on the next run (10 M rows
// take ~20 minutes to generate here); the migration still runs, so new indexes are made on the kept rows.
const KEEP = process.env.HISTORY_BENCH_SCHEMA;

async function main() {
  const schema = KEEP ?? `bench_trace_${crypto.randomBytes(3).toString('hex')}`;
  const c = new Client({ connectionString: URL_ });
  await c.connect();
  const kept = KEEP ? Number((await c.query(`select count(*)::int n from pg_tables where schemaname = $1 and tablename = 'inspections'`, [KEEP])).rows[0].n) > 0 : false;
  try {
    const r = await migrate(c, {
      schema,
      tables: Object.values(CONTRACT_TABLES),
      rollups: false,
      partitionDaysAhead: 1,
      lineDevices: Array.from({ length: LINES }, (_, l) => ({ line: `line${l}`, device: `plc${l}` })),
    });
    if (r.mode === 'partitions') {
      for (const t of ['inspections', 'detections', 'images', 'tag_samples', 'line_actions'])
        for (let d = START; d <= START + SPAN_MS; d += 86_400_000) await c.query(partitionSQL(schema, t, d));
    }
    const t0 = Date.now();
    const S = `"${schema}"`;
    if (kept && Number((await c.query(`select count(*)::bigint n from ${S}.inspections`)).rows[0].n) !== ROWS) throw new Error(`HISTORY_BENCH_SCHEMA=${KEEP} holds another number of rows than HISTORY_BENCH_ROWS=${ROWS}`);
    const at = `timestamptz '${new Date(START).toISOString()}' + (g * ${SPAN_MS / ROWS}) * interval '1 millisecond'`;
    // Inspections; every 4th has detections (1 or 2); every 50th a line action; a thumbnail image row each.
    for (let lo = 0; !kept && lo < ROWS; lo += 1_000_000) {
      const hi = Math.min(ROWS, lo + 1_000_000) - 1;
      await c.query(`insert into ${S}.inspections (time, inspection_id, site, line, camera_id, product_serial, model_version, defect_count)
        select ${at}, 'insp-' || g, 'plant1', 'line' || (g % ${LINES}), 'cam' || (g % 2), 'SN-' || lpad(g::text, 9, '0'), 'v' || (g % 3), case when g % 4 = 0 then 1 + g % 2 else 0 end
          from generate_series(${lo}, ${hi}) g`);
      await c.query(`insert into ${S}.detections (time, inspection_id, idx, site, line, camera_id, product_serial, defect_class, confidence, box_x, box_y, box_width, box_height, model_version)
        select ${at}, 'insp-' || g, k, 'plant1', 'line' || (g % ${LINES}), 'cam' || (g % 2), 'SN-' || lpad(g::text, 9, '0'), (array['hole','scratch','dent'])[1 + (g + k) % 3], 0.8, 10, 20, 30, 40, 'v' || (g % 3)
          from generate_series(${lo}, ${hi}) g cross join generate_series(0, 1) k where g % 4 = 0 and k <= g % 2`);
      await c.query(`insert into ${S}.images (time, inspection_id, kind, format, width, height, size_bytes, path)
        select ${at}, 'insp-' || g, 'thumbnail', 'jpeg', 256, 160, 9000, 'plant1/line' || (g % ${LINES}) || '/insp-' || g || '-thumbnail.jpg' from generate_series(${lo}, ${hi}) g`);
      await c.query(`insert into ${S}.line_actions (time, action_id, rule_id, kind, severity, inspection_id, site, line, writes)
        select ${at} + interval '150 ms', 'act-' || g, 'hole-stop', 'stop', 'critical', 'insp-' || g, 'plant1', 'line' || (g % ${LINES}), '[]'::jsonb from generate_series(${lo}, ${hi}) g where g % 50 = 0`);
    }
    const tagStep = TAG_STEP_MS;
    const steps = Math.floor(SPAN_MS / tagStep);
    for (let lo = 0; !kept && lo <= steps; lo += 5_000) {
      const hi = Math.min(steps, lo + 5_000 - 1);
      await c.query(`insert into ${S}.tag_samples (time, device, tag, value_num, quality)
        select timestamptz '${new Date(START).toISOString()}' + (s * ${tagStep}) * interval '1 millisecond', 'plc' || l, t, s % 100, 'good'
          from generate_series(${lo}, ${hi}) s cross join generate_series(0, ${LINES - 1}) l cross join unnest(array['speed','count','state']) t`);
    }
    await c.query(`analyze ${S}.inspections; analyze ${S}.detections; analyze ${S}.images; analyze ${S}.tag_samples; analyze ${S}.line_actions`);
    const tags = (await c.query(`select count(*)::bigint n from ${S}.tag_samples`)).rows[0].n;
    console.error(`# ${ROWS} inspections, ${tags} tag samples generated in ${Date.now() - t0} ms (${r.mode})`);

    const api = await startHistoryServer({ db: URL_, schema, allowWritableRole: true });
    try {
      const ids = Array.from({ length: QUERIES }, () => Math.floor(Math.random() * ROWS));
      for (const g of ids.slice(0, 20)) await (await fetch(`${api.url}/inspections/insp-${g}`)).arrayBuffer(); // warm-up
      const detail: number[] = [];
      const search: number[] = [];
      const bare: number[] = [];
      for (const g of ids) {
        let t = process.hrtime.bigint();
        const res = await fetch(`${api.url}/inspections/insp-${g}`);
        const body = (await res.json()) as { tags?: { samples: unknown[] } };
        if (res.status !== 200 || !body.tags?.samples.length) throw new Error(`insp-${g}: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
        detail.push(Number(process.hrtime.bigint() - t) / 1e6);
        t = process.hrtime.bigint();
        const s = await fetch(`${api.url}/search?q=SN-${String(g).padStart(9, '0')}`);
        await s.arrayBuffer();
        search.push(Number(process.hrtime.bigint() - t) / 1e6);
        t = process.hrtime.bigint();
        await c.query(`select * from ${S}.inspections where inspection_id = $1 order by time desc limit 1`, [`insp-${g}`]);
        bare.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      const note = `${ROWS} inspection rows (${r.mode}), ${tags} tag samples, ${QUERIES} random inspections over HTTP; goal p99 < 50 ms at 10,000,000 rows (HISTORY_BENCH_ROWS=10000000)`;
      report({ bench: 'history-traceability', metric: 'GET /inspections/{id} p99 (detail with detections, images, tags ± 5 s, actions)', value: percentile(detail, 99), unit: 'ms', baseline: percentile(bare, 99), note: `${note}; baseline: the bare SQL lookup of the inspection row by id` });
      report({ bench: 'history-traceability', metric: 'GET /search?q=<serial> p99', value: percentile(search, 99), unit: 'ms', baseline: percentile(bare, 99), note });
      report({ bench: 'history-traceability', metric: 'GET /inspections/{id} p50', value: percentile(detail, 50), unit: 'ms', note });
    } finally {
      await api.close();
    }
  } finally {
    if (!KEEP) await c.query(`drop schema if exists "${schema}" cascade`).catch(() => undefined);
    await c.end();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
