// Rollup queries of the history API for HISTORY_BENCH_DAYS days x HISTORY_BENCH_LINES lines (default 30 x
// 100, the goal: p99 < 200 ms): a 30-day defect-rate series per line by day, by defect class by day, per
// line by hour over the last 7 days (the console's week view, 16,800 points), the refusal of 30 days per line
// by hour (72,000 points, more than the default maxPoints), and the worst lines of a shift (from the per-minute rollup). The rollup rows are generated in the
// database (one camera and model version per line, every minute, hour and day) into the tables the sink
// keeps (plain PostgreSQL, PGlite, Apache-only TimescaleDB; with the Timescale licence they are continuous
// aggregates over the same columns). Baseline: count(*) of the rows the series reads, the least any query
// over them costs. Needs a real PostgreSQL: LINESIGHT_PG_URL or postgres://postgres@127.0.0.1:5432/test.
import crypto from 'node:crypto';
import { Client } from 'pg';
import { migrate } from '../nodes/timescale-sink/db-schema';
import { CONTRACT_TABLES } from '../nodes/timescale-sink/row-mapper';
import { startHistoryServer } from '../runtime/history/server';
import { percentile, report } from './support/report';

const URL_ = process.env.LINESIGHT_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const DAYS = Number(process.env.HISTORY_BENCH_DAYS ?? 30);
const LINES = Number(process.env.HISTORY_BENCH_LINES ?? 100);
const QUERIES = Number(process.env.HISTORY_BENCH_QUERIES ?? 50);
const START = Date.UTC(2026, 0, 1);

async function main() {
  const schema = `bench_rollup_${crypto.randomBytes(3).toString('hex')}`;
  const c = new Client({ connectionString: URL_ });
  await c.connect();
  try {
    await migrate(c, { schema, tables: [CONTRACT_TABLES.inspections, CONTRACT_TABLES.detections], timescale: 'off', partitionDaysAhead: 1 });
    const S = `"${schema}"`;
    const t0 = Date.now();
    const from = new Date(START).toISOString();
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
    await c.query(`analyze ${S}.inspection_rollup_1m; analyze ${S}.inspection_rollup_1h; analyze ${S}.inspection_rollup_1d; analyze ${S}.defect_rollup_1d; analyze ${S}.defect_rollup_1h`);
    console.error(`# rollups for ${DAYS} days x ${LINES} lines generated in ${Date.now() - t0} ms`);
    const end = START + DAYS * 86_400_000;
    const api = await startHistoryServer({ db: URL_, schema, allowWritableRole: true, now: () => end - 3_600_000 });
    try {
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
          metric: `${name} p99 (${DAYS} days x ${LINES} lines)`,
          value: percentile(times, 99),
          unit: 'ms',
          baseline: percentile(base, 99),
          note: `${QUERIES} requests over HTTP, ${points} points/lines per answer; sink-kept rollup tables; baseline: count(*) of the rollup rows the query reads; goal p99 < 200 ms`,
        });
      }
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
