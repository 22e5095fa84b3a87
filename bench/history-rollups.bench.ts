// Rollup queries of the history API for HISTORY_BENCH_DAYS days x HISTORY_BENCH_LINES lines (default 30 x
// 100, the goal: p99 < 200 ms): a 30-day defect-rate series per line by day, by defect class by day, per
// line by hour over the last 7 days (the console's week view, 16,800 points), the refusal of 30 days per line
// by hour (72,000 points, more than the default maxPoints), and the worst lines of a shift (from the
// per-minute rollup). The storage is what `db migrate` makes on the server (timescale 'auto'): where the
// rollups are tables the sink keeps (plain PostgreSQL, PGlite, Apache-only TimescaleDB) the rollup rows are
// generated in the database (one camera and model version per line, every minute, hour and day); where they
// are continuous aggregates (TimescaleDB, Timescale licence) raw rows are generated instead (one inspection
// per line per minute, a detection of one class on every other one, so every line has every class every
// hour) and the aggregates are refreshed with their policy jobs paused; measured as the policies would leave
// them at the end of the period (the newest part read live) and again fully materialised
// (HISTORY_BENCH_TIMESCALE=off: the sink-kept tables on any server). Baseline: count(*) of the rows the
// series reads, the least any query over them costs. Needs a real PostgreSQL: LINESIGHT_PG_URL or
// postgres://postgres@127.0.0.1:5432/test.
import crypto from 'node:crypto';
import { Client } from 'pg';
import { migrate } from '../nodes/timescale-sink/db-schema';
import { caggPolicy, ROLLUPS } from '../nodes/timescale-sink/rollups';
import { CONTRACT_TABLES } from '../nodes/timescale-sink/row-mapper';
import { startHistoryServer } from '../runtime/history/server';
import { percentile, report } from './support/report';

const URL_ = process.env.LINESIGHT_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const DAYS = Number(process.env.HISTORY_BENCH_DAYS ?? 30);
const LINES = Number(process.env.HISTORY_BENCH_LINES ?? 100);
const QUERIES = Number(process.env.HISTORY_BENCH_QUERIES ?? 50);
const START = Date.UTC(2026, 0, 1);
/** 'auto' (default): what db migrate makes on the server; 'off': the sink-kept tables even on TimescaleDB. */
const TIMESCALE = process.env.HISTORY_BENCH_TIMESCALE === 'off' ? 'off' : 'auto';

/** Rollup rows straight into the tables the sink keeps. */
async function rollupRows(c: Client, S: string, from: string): Promise<void> {
  for (const [suffix, step, n] of [
    ['1m', '1 minute', DAYS * 1440],
    ['1h', '1 hour', DAYS * 24],
    ['1d', '1 day', DAYS],
  ] as const) {
    const per = suffix === '1m' ? 1 : suffix === '1h' ? 60 : 1440;
    for (let lo = 0; lo < n; lo += 5000) {
      const hi = Math.min(n, lo + 5000) - 1;
      await c.query(`insert into ${S}.inspection_rollup_${suffix} (bucket, site, line, camera_id, model_version, inspections, defective, detections)
        select timestamptz '${from}' + b * interval '${step}', 'plant1', 'line' || l, 'cam0', 'v' || (l % 3), 24 * ${per}, ((b + l) % 5) * ${per}, ((b + l) % 7) * ${per}
          from generate_series(${lo}, ${hi}) b cross join generate_series(0, ${LINES - 1}) l`);
      await c.query(`insert into ${S}.defect_rollup_${suffix} (bucket, site, line, camera_id, model_version, defect_class, detections)
        select timestamptz '${from}' + b * interval '${step}', 'plant1', 'line' || l, 'cam0', 'v' || (l % 3), k, ((b + l) % 3) * ${per}
          from generate_series(${lo}, ${hi}) b cross join generate_series(0, ${LINES - 1}) l cross join unnest(array['hole','scratch','dent']) k`);
    }
  }
}

/** Raw rows (a day at a time) for the continuous aggregates, which are then refreshed once. */
async function rawRows(c: Client, S: string, from: string): Promise<void> {
  // The refresh policies would refresh concurrently with the one below: paused for the run.
  // (timescaledb_information.jobs names a refresh job by its view in 2.28, by the materialization before.)
  const paused = await c.query(`select j.job_id, alter_job(j.job_id, scheduled => false) from timescaledb_information.jobs j
    where j.proc_name = 'policy_refresh_continuous_aggregate' and (j.hypertable_schema = $1 or exists (select 1 from timescaledb_information.continuous_aggregates a
      where a.view_schema = $1 and a.materialization_hypertable_schema = j.hypertable_schema and a.materialization_hypertable_name = j.hypertable_name))`, [S.slice(1, -1)]);
  if (paused.rowCount !== 7) throw new Error(`paused ${paused.rowCount} refresh policies, expected 7`);
  // A run of these policies that had already started is cancelled (it would refresh beside the one below).
  await c.query(`select pg_cancel_backend(pid) from pg_stat_activity where application_name = any($1::text[])`, [paused.rows.map((r) => `Refresh Continuous Aggregate Policy [${r.job_id}]`)]);
  for (let d = 0; d < DAYS; d++) {
    const lo = d * 1440;
    const hi = lo + 1439;
    await c.query(`insert into ${S}.inspections (time, inspection_id, site, line, camera_id, product_serial, model_version, defect_count)
      select timestamptz '${from}' + b * interval '1 minute', 'i' || b || '-' || l, 'plant1', 'line' || l, 'cam0', 'SN' || b || '-' || l, 'v' || (l % 3), case when b % 2 = 0 then 1 else 0 end
        from generate_series(${lo}, ${hi}) b cross join generate_series(0, ${LINES - 1}) l`);
    await c.query(`insert into ${S}.detections (time, inspection_id, idx, site, line, camera_id, product_serial, defect_class, confidence, model_version)
      select timestamptz '${from}' + b * interval '1 minute', 'i' || b || '-' || l, 0, 'plant1', 'line' || l, 'cam0', 'SN' || b || '-' || l,
             (array['hole','scratch','dent'])[1 + (b / 2 + l) % 3], 0.5 + ((b + l) % 50) / 100.0, 'v' || (l % 3)
        from generate_series(${lo}, ${hi}, 2) b cross join generate_series(0, ${LINES - 1}) l`);
  }
}

/**
 * Refreshes every continuous aggregate of the schema, finer ones first (the coarser are built on them):
 * 'policy' only as far as each refresh policy would have gone at the end of the period (the end minus its
 * end offset; the rest is read live, real-time aggregation), 'all' to the end.
 */
async function refresh(c: Client, schema: string, upTo: 'policy' | 'all'): Promise<void> {
  const t = Date.now();
  const names = new Set((await c.query(`select view_name from timescaledb_information.continuous_aggregates where view_schema = $1`, [schema])).rows.map((r) => r.view_name));
  const end = new Date(START + DAYS * 86_400_000).toISOString();
  for (const def of ROLLUPS.filter((d) => names.has(d.name))) {
    const until = upTo === 'policy' ? `(timestamptz '${end}' - interval '${caggPolicy(def).endOffset}')` : 'null';
    await c.query(`call refresh_continuous_aggregate('"${schema}"."${def.name}"', null, ${until})`);
  }
  for (const r of ['inspection_rollup_1m', 'inspection_rollup_1h', 'inspection_rollup_1d', 'defect_rollup_1d', 'defect_rollup_1h']) await c.query(`analyze ${await materialization(c, schema, r)}`);
  console.error(`# ${names.size} continuous aggregates refreshed (${upTo === 'policy' ? 'as far as their policies would at the end' : 'to the end'}) in ${Date.now() - t} ms`);
}

/** The materialization hypertable behind a continuous aggregate (what ANALYZE needs). */
async function materialization(c: Client, schema: string, view: string): Promise<string> {
  const r = await c.query(`select format('%I.%I', materialization_hypertable_schema, materialization_hypertable_name) as m from timescaledb_information.continuous_aggregates where view_schema = $1 and view_name = $2`, [schema, view]);
  return r.rows[0].m;
}

async function main() {
  const schema = `bench_rollup_${crypto.randomBytes(3).toString('hex')}`;
  const c = new Client({ connectionString: URL_ });
  await c.connect();
  try {
    const m = await migrate(c, { schema, tables: [CONTRACT_TABLES.inspections, CONTRACT_TABLES.detections], timescale: TIMESCALE, partitionDaysAhead: 1 });
    const caggs = m.rollups.some((r) => r.kind === 'continuous-aggregate');
    const S = `"${schema}"`;
    const t0 = Date.now();
    const from = new Date(START).toISOString();
    if (caggs) await rawRows(c, S, from);
    else await rollupRows(c, S, from);
    if (!caggs) await c.query(`analyze ${S}.inspection_rollup_1m; analyze ${S}.inspection_rollup_1h; analyze ${S}.inspection_rollup_1d; analyze ${S}.defect_rollup_1d; analyze ${S}.defect_rollup_1h`);
    const storage = caggs
      ? `continuous aggregates (TimescaleDB ${m.timescale.version}; ${DAYS * 1440 * LINES} raw inspections, 1 per line per minute; policies paused)`
      : `sink-kept rollup tables (${m.mode})`;
    console.error(`# ${caggs ? 'raw rows' : 'rollups'} for ${DAYS} days x ${LINES} lines generated in ${Date.now() - t0} ms`);
    const end = START + DAYS * 86_400_000;
    const api = await startHistoryServer({ db: URL_, schema, allowWritableRole: true, now: () => end - 3_600_000 });
    const measure = async (state: string) => {
      const range = `from=${from}&to=${new Date(end).toISOString()}`;
      const week = `from=${new Date(end - 7 * 86_400_000).toISOString()}&to=${new Date(end).toISOString()}`;
      const cases: Array<[string, string, string, string[]?]> = [
        // 30 days by hour for 100 lines is 72,000 points: refused (400 maxPoints) by default; the refusal's cost.
        ['defect-rate by line per hour, 30 days (refused: > 20,000 points)', `/defect-rate?${range}&bucket=hour&by=line`, `select count(*) from ${S}.inspection_rollup_1h where bucket >= $1 and bucket < $2`],
        // The console's "last 7 days": by line per hour, 16,800 points.
        ['defect-rate by line per hour, last 7 days', `/defect-rate?${week}&bucket=hour&by=line`, `select count(*) from ${S}.inspection_rollup_1h where bucket >= $1 and bucket < $2`, [new Date(end - 7 * 86_400_000).toISOString(), new Date(end).toISOString()]],
        ['defect-rate by line per day', `/defect-rate?${range}&bucket=day&by=line`, `select count(*) from ${S}.inspection_rollup_1d where bucket >= $1 and bucket < $2`],
        ['defect-rate by class per day', `/defect-rate?${range}&bucket=day&by=class`, `select count(*) from ${S}.defect_rollup_1d where bucket >= $1 and bucket < $2`],
        ['worst lines this shift', `/worst-lines`, `select count(*) from ${S}.inspection_rollup_1m where bucket >= $1 and bucket < $2`],
      ];
      for (const [name, path, baseSql, baseArgs] of cases) {
        const times: number[] = [];
        const base: number[] = [];
        let points = 0;
        for (let i = 0; i < QUERIES + 3; i++) {
          let t = process.hrtime.bigint();
          const res = await fetch(`${api.url}${path}`);
          const body = (await res.json()) as { points?: unknown[]; lines?: unknown[]; field?: string };
          const refused = name.includes('refused');
          if (refused ? res.status !== 400 || body.field !== 'maxPoints' : res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
          const ms = Number(process.hrtime.bigint() - t) / 1e6;
          points = (body.points ?? body.lines ?? []).length;
          t = process.hrtime.bigint();
          const shift = baseArgs ?? (path === '/worst-lines' ? [new Date(end - 3_600_000 - 7 * 3_600_000).toISOString(), new Date(end).toISOString()] : [from, new Date(end).toISOString()]);
          await c.query(baseSql, shift);
          const bms = Number(process.hrtime.bigint() - t) / 1e6;
          if (i >= 3) {
            times.push(ms);
            base.push(bms);
          }
        }
        report({
          bench: 'history-rollups',
          metric: `${name} p99 (${DAYS} days x ${LINES} lines${caggs ? `, ${state}` : ''})`,
          value: percentile(times, 99),
          unit: 'ms',
          baseline: percentile(base, 99),
          note: `${QUERIES} requests over HTTP, ${points} points/lines per answer; ${storage}${state === 'as the policies leave them' ? '; refreshed as far as each policy would have at the end (the newest part read live from the finer aggregate or raw rows)' : caggs ? `; ${state}` : ''}; baseline: count(*) of the rollup rows the query reads; goal p99 < 200 ms`,
        });
      }
    };
    try {
      if (caggs) {
        await refresh(c, schema, 'policy');
        await measure('as the policies leave them');
        await refresh(c, schema, 'all');
        await measure('fully materialised');
      } else await measure('');
    } finally {
      await api.close();
    }
  } finally {
    await c.query(`drop schema if exists "${schema}" cascade`).catch(() => undefined);
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
