// Rollups of the history: defect rate and counts per line, camera, model version (and defect class) per
// minute, hour and day, and tag-sample aggregates per tag per minute. With the Timescale licence they are
// continuous aggregates (refreshed by policies); elsewhere (plain PostgreSQL, embedded PGlite, Apache-only
// TimescaleDB) they are ordinary tables of the same names and columns that the sink updates in the same
// transaction that inserts the raw rows — only the rows that were new count, so late and replayed data give
// exactly count(*) over the raw rows. Queries read the same names either way. When every row of a batch is
// new (the COPY path's usual case) the sink aggregates the batch itself and upserts only the few rollup rows
// (aggregateRows); otherwise the database aggregates the rows its INSERT returned (maintainSQL).
import { qualified, quoteIdent } from '../timescale-db';

export type RollupSource = 'inspections' | 'detections' | 'tag_samples';

export interface Measure {
  name: string;
  type: 'bigint' | 'double precision';
  /** Aggregate over the raw rows (both the continuous aggregate and the sink's upsert use it). */
  agg: string;
  /** How a stored value `t.<name>` and a new one `excluded.<name>` combine. */
  merge: string;
  /** Raw columns the aggregate reads. */
  reads: string[];
  /**
   * The same aggregate computed in the sink's process (see aggregateRows), over the column `reads[0]`;
   * `[lo, hi]` counts values with lo <= v < hi (hi null: no upper bound).
   */
  js: 'count' | 'countPositive' | 'sum' | 'countNonNull' | 'min' | 'max' | 'sumNullable' | [number, number | null];
}

export interface RollupDef {
  name: string;
  source: RollupSource;
  bucket: '1 minute' | '1 hour' | '1 day';
  groupBy: string[];
  measures: Measure[];
  /** Derived columns: generated in the sink's table, an aggregate in the continuous aggregate. */
  derived?: Array<{ name: string; type: 'double precision'; generated: string; agg: string }>;
  /**
   * As a continuous aggregate, built on this finer rollup (same keys, every measure a count summed again)
   * rather than on the raw rows: its real-time part then reads the finer aggregate, not hours of raw rows.
   */
  caggFrom?: string;
}

const sum = (name: string, agg: string, reads: string[], js: Measure['js']): Measure => ({
  name,
  type: 'bigint',
  agg,
  merge: `t.${quoteIdent(name)} + excluded.${quoteIdent(name)}`,
  reads,
  js,
});
const nullableSum = (name: string, agg: string, reads: string[]): Measure => ({
  name,
  type: 'double precision',
  agg,
  merge: `case when t.${quoteIdent(name)} is null then excluded.${quoteIdent(name)} when excluded.${quoteIdent(name)} is null then t.${quoteIdent(name)} else t.${quoteIdent(name)} + excluded.${quoteIdent(name)} end`,
  reads,
  js: 'sumNullable',
});

const BUCKETS = [
  ['1m', '1 minute'],
  ['1h', '1 hour'],
  ['1d', '1 day'],
] as const;

/** Confidence bins of confidence_rollup_1h: [k/10, (k+1)/10), the last open above (so 1.0 counts). */
export const CONFIDENCE_BINS: Array<[number, number | null]> = Array.from({ length: 10 }, (_, k) => [k / 10, k === 9 ? null : (k + 1) / 10]);

/** Every rollup, keyed by name. */
export const ROLLUPS: RollupDef[] = [
  ...BUCKETS.map(([suffix, bucket], i): RollupDef => ({
    name: `inspection_rollup_${suffix}`,
    source: 'inspections',
    bucket,
    ...(i ? { caggFrom: `inspection_rollup_${BUCKETS[i - 1][0]}` } : {}),
    groupBy: ['site', 'line', 'camera_id', 'model_version'],
    measures: [
      sum('inspections', 'count(*)', [], 'count'),
      sum('defective', 'sum(case when defect_count > 0 then 1 else 0 end)::bigint', ['defect_count'], 'countPositive'),
      sum('detections', 'sum(defect_count)::bigint', ['defect_count'], 'sum'),
    ],
  })),
  ...BUCKETS.map(([suffix, bucket], i): RollupDef => ({
    name: `defect_rollup_${suffix}`,
    source: 'detections',
    bucket,
    ...(i ? { caggFrom: `defect_rollup_${BUCKETS[i - 1][0]}` } : {}),
    groupBy: ['site', 'line', 'camera_id', 'model_version', 'defect_class'],
    measures: [sum('detections', 'count(*)', [], 'count')],
  })),
  // Confidence distribution per model version: what a canary line's new model is compared by. Ten bins of 0.1
  // (the last takes 1.0), and the sum for the mean.
  {
    name: 'confidence_rollup_1h',
    source: 'detections',
    bucket: '1 hour',
    groupBy: ['site', 'line', 'model_version', 'defect_class'],
    measures: [
      sum('detections', 'count(*)', [], 'count'),
      { name: 'confidence_sum', type: 'double precision', agg: 'sum(confidence)', merge: 't.confidence_sum + excluded.confidence_sum', reads: ['confidence'], js: 'sum' },
      ...CONFIDENCE_BINS.map(([lo, hi], k) =>
        sum(`conf_${k}`, `sum(case when confidence >= ${lo}${hi === null ? '' : ` and confidence < ${hi}`} then 1 else 0 end)::bigint`, ['confidence'], [lo, hi]),
      ),
    ],
  },
  {
    name: 'tag_rollup_1m',
    source: 'tag_samples',
    bucket: '1 minute',
    groupBy: ['device', 'tag'],
    measures: [
      sum('samples', 'count(*)', [], 'count'),
      sum('value_count', 'count(value_num)', ['value_num'], 'countNonNull'),
      { name: 'value_min', type: 'double precision', agg: 'min(value_num)', merge: 'least(t.value_min, excluded.value_min)', reads: ['value_num'], js: 'min' },
      { name: 'value_max', type: 'double precision', agg: 'max(value_num)', merge: 'greatest(t.value_max, excluded.value_max)', reads: ['value_num'], js: 'max' },
      nullableSum('value_sum', 'sum(value_num)', ['value_num']),
    ],
    derived: [{ name: 'value_avg', type: 'double precision', generated: 'value_sum / nullif(value_count, 0)', agg: 'avg(value_num)' }],
  },
];

export function rollupsOf(source: string): RollupDef[] {
  return ROLLUPS.filter((r) => r.source === source);
}

/** Raw columns the rollups of `source` read (the time column first). */
export function rollupInputs(source: string): string[] {
  const cols = new Set<string>(['time']);
  for (const r of rollupsOf(source)) {
    for (const g of r.groupBy) cols.add(g);
    for (const m of r.measures) for (const c of m.reads) cols.add(c);
  }
  return [...cols];
}

const ORIGIN = `timestamptz '2000-01-03 00:00:00+00'`;

/** The bucket expression of the sink's tables; aligned like time_bucket (UTC midnight for days). */
export function bucketSQL(def: Pick<RollupDef, 'bucket'>, time = 'time'): string {
  return `date_bin(interval '${def.bucket}', ${quoteIdent(time)}, ${ORIGIN})`;
}

const colType = (_c: string) => 'text';

/** The sink-maintained table. Its unique key treats a missing model version as one value. */
export function rollupTableSQL(schema: string, def: RollupDef): string[] {
  const rel = qualified(schema, def.name);
  const cols = [
    `"bucket" timestamptz not null`,
    ...def.groupBy.map((g) => `${quoteIdent(g)} ${colType(g)}`),
    ...def.measures.map((m) => `${quoteIdent(m.name)} ${m.type}${m.type === 'bigint' ? ' not null default 0' : ''}`),
    ...(def.derived ?? []).map((d) => `${quoteIdent(d.name)} ${d.type} generated always as (${d.generated}) stored`),
  ];
  return [
    `create table if not exists ${rel} (\n  ${cols.join(',\n  ')},\n  constraint ${quoteIdent(`${def.name}_key`)} unique nulls not distinct (bucket, ${def.groupBy.map(quoteIdent).join(', ')})\n)`,
    `create index if not exists ${quoteIdent(`${def.name}_${def.groupBy[0] === 'site' ? 'line' : 'tag'}_idx`)} on ${rel} (${def.groupBy[0] === 'site' ? '"line"' : '"device", "tag"'}, "bucket" desc)`,
  ];
}

/**
 * The continuous aggregate (Timescale licence): same name and columns as the sink's table. Hour and day
 * buckets of inspections and detections are aggregates of the next finer one (hierarchical), so a query's
 * real-time part over the not yet materialised end reads at most a day of hourly rows, an hour of minute
 * rows and a minute or two of raw rows, instead of up to a day of raw rows. `hierarchical` false (the finer
 * rollup is not a continuous aggregate, e.g. a table kept from an Apache-licence past) builds it on the raw rows.
 */
export function caggSQL(schema: string, def: RollupDef, hierarchical = true): string {
  const from = hierarchical ? def.caggFrom : undefined;
  if (from && (def.derived?.length || def.measures.some((m) => m.type !== 'bigint'))) throw new Error(`${def.name}: only counts can be summed again from ${from}`);
  const cols = [
    `time_bucket(interval '${def.bucket}', ${from ? '"bucket"' : '"time"'}) as "bucket"`,
    ...def.groupBy.map(quoteIdent),
    ...def.measures.map((m) => `${from ? `sum(${quoteIdent(m.name)})::bigint` : m.agg} as ${quoteIdent(m.name)}`),
    ...(def.derived ?? []).map((d) => `${d.agg} as ${quoteIdent(d.name)}`),
  ];
  return `create materialized view if not exists ${qualified(schema, def.name)} with (timescaledb.continuous, timescaledb.materialized_only = false) as
  select ${cols.join(', ')} from ${qualified(schema, from ?? def.source)} group by ${def.groupBy.map((_, i) => i + 2).concat(1).join(', ')} with no data`;
}

/** Refresh policy per bucket size: late data of any age is picked up (start_offset => null). */
export function caggPolicy(def: RollupDef): { endOffset: string; schedule: string } {
  if (def.bucket === '1 minute') return { endOffset: '1 minute', schedule: '1 minute' };
  if (def.bucket === '1 hour') return { endOffset: '1 hour', schedule: '10 minutes' };
  return { endOffset: '1 day', schedule: '1 hour' };
}

/**
 * One statement that takes the new raw rows from `source` (a SELECT or an INSERT ... RETURNING whose
 * rows carry at least rollupInputs(table)) and adds them to every rollup of the table, ending with the
 * number of rows: `select count(*) from ins`. Rows are grouped in key order so concurrent writers lock
 * rollup rows in the same order.
 */
export function maintainSQL(schema: string, defs: RollupDef[], source: string): string {
  const parts = [`ins as (${source})`];
  defs.forEach((def, i) => {
    const keys = ['bucket', ...def.groupBy];
    const n = keys.length;
    const order = Array.from({ length: n }, (_, k) => k + 1).join(', ');
    parts.push(
      `r${i} as (insert into ${qualified(schema, def.name)} as t (${[...keys, ...def.measures.map((m) => m.name)].map(quoteIdent).join(', ')})
        select ${bucketSQL(def)}, ${def.groupBy.map(quoteIdent).join(', ')}, ${def.measures.map((m) => m.agg).join(', ')} from ins group by ${order} order by ${order}
        on conflict on constraint ${quoteIdent(`${def.name}_key`)} do update set ${def.measures.map((m) => `${quoteIdent(m.name)} = ${m.merge}`).join(', ')}
        returning 1)`,
    );
  });
  return `with ${parts.join(',\n')}\nselect count(*)::int as n from ins`;
}

const BUCKET_MS: Record<RollupDef['bucket'], number> = { '1 minute': 60_000, '1 hour': 3_600_000, '1 day': 86_400_000 };
/** date_bin's origin (2000-01-03 UTC) is a whole number of days after the epoch, so buckets are plain floors. */
const ORIGIN_MS = Date.UTC(2000, 0, 3);

/** Start of the row's bucket, as bucketSQL computes it, from an ISO time, a Date or unix ms. */
export function bucketStart(def: Pick<RollupDef, 'bucket'>, time: unknown): number {
  const ms = time instanceof Date ? time.getTime() : typeof time === 'number' ? time : Date.parse(String(time));
  if (!Number.isFinite(ms)) throw new Error(`rollup ${def.bucket}: the time ${JSON.stringify(time)} is not a time`);
  const w = BUCKET_MS[def.bucket];
  return ORIGIN_MS + Math.floor((ms - ORIGIN_MS) / w) * w;
}

// A UTC time as toISOString writes it ("2026-12-06T23:59:12.345Z"), as the contracts' rows carry it.
const isCanonicalIso = (t: unknown): t is string => typeof t === 'string' && t.length === 24 && t.charCodeAt(23) === 90 && t.charCodeAt(10) === 84 && t.charCodeAt(13) === 58 && t.charCodeAt(16) === 58;
// Buckets are whole minutes, hours or days from a midnight origin: for a canonical UTC time the bucket
// start is the time cut after its minute, hour or day (no Date.parse per row, per rollup).
const ISO_CUT: Record<RollupDef['bucket'], [number, string]> = { '1 minute': [16, ':00.000Z'], '1 hour': [13, ':00:00.000Z'], '1 day': [10, 'T00:00:00.000Z'] };

/** The ISO time of the start of the row's bucket, as bucketSQL computes it. */
function bucketIso(def: Pick<RollupDef, 'bucket'>, time: unknown): string {
  if (isCanonicalIso(time)) {
    const [cut, rest] = ISO_CUT[def.bucket];
    return time.slice(0, cut) + rest;
  }
  return new Date(bucketStart(def, time)).toISOString();
}

const num = (v: unknown): number | null => (v === null || v === undefined || v === '' ? null : Number(v));

/**
 * The rollup rows of a batch whose rows are all new, aggregated in the sink's process: column arrays in the
 * order of aggregateSQL's parameters (bucket, group-by columns, measures). `names`/`arrays` are the batch's
 * columns (at least rollupInputs of the source), one array per column.
 */
export function aggregateRows(def: RollupDef, names: string[], arrays: unknown[][]): unknown[][] {
  const col = (n: string) => {
    const i = names.indexOf(n);
    if (i < 0) throw new Error(`rollup ${def.name} needs the column ${n}`);
    return arrays[i];
  };
  const time = col('time');
  const keys = def.groupBy.map(col);
  const reads = def.measures.map((m) => (m.reads[0] ? col(m.reads[0]) : undefined));
  const groups = new Map<string, { key: unknown[]; acc: Array<number | null> }>();
  const n = time.length;
  for (let r = 0; r < n; r++) {
    const bucket = bucketIso(def, time[r]);
    const key: unknown[] = [bucket];
    // The group's identity: strings as they are, anything else as JSON, each marked so the two never meet.
    let id = bucket;
    for (const k of keys) {
      const v = k[r] ?? null;
      key.push(v);
      id += typeof v === 'string' ? `\u0001s${v}` : `\u0001j${JSON.stringify(v)}`;
    }
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { key, acc: def.measures.map((m) => (m.js === 'min' || m.js === 'max' || m.js === 'sumNullable' ? null : 0)) }));
    for (let i = 0; i < def.measures.length; i++) {
      const m = def.measures[i];
      if (m.js === 'count') {
        g.acc[i]! += 1;
        continue;
      }
      const v = num(reads[i]![r]);
      if (v === null) continue;
      const a = g.acc[i];
      if (Array.isArray(m.js)) {
        const [lo, hi] = m.js;
        if (v >= lo && (hi === null || v < hi)) g.acc[i] = a! + 1;
        continue;
      }
      switch (m.js) {
        case 'countPositive': g.acc[i] = a! + (v > 0 ? 1 : 0); break;
        case 'sum': g.acc[i] = a! + v; break;
        case 'countNonNull': g.acc[i] = a! + 1; break;
        case 'min': g.acc[i] = a === null || v < a ? v : a; break;
        case 'max': g.acc[i] = a === null || v > a ? v : a; break;
        case 'sumNullable': g.acc[i] = a === null ? v : a + v; break;
      }
    }
  }
  const out: unknown[][] = [[], ...def.groupBy.map(() => []), ...def.measures.map(() => [])];
  for (const { key, acc } of groups.values()) {
    out[0].push(key[0]);
    for (let k = 1; k < key.length; k++) out[k].push(key[k]);
    for (let i = 0; i < acc.length; i++) out[key.length + i].push(acc[i]);
  }
  return out;
}

/**
 * One statement that adds pre-aggregated rows (aggregateRows, one parameter array per column, defs in order)
 * to every rollup of a table. Rows are upserted in key order, as maintainSQL does, so concurrent writers of
 * either kind lock rollup rows in the same order.
 */
export function aggregateSQL(schema: string, defs: RollupDef[]): string {
  let p = 0;
  const parts = defs.map((def, i) => {
    const keys = ['bucket', ...def.groupBy];
    const types = ['timestamptz', ...def.groupBy.map(colType), ...def.measures.map((m) => m.type)];
    const names = [...keys, ...def.measures.map((m) => m.name)].map(quoteIdent);
    const order = Array.from({ length: keys.length }, (_, k) => k + 1).join(', ');
    return `r${i} as (insert into ${qualified(schema, def.name)} as t (${names.join(', ')})
        select * from unnest(${types.map((t) => `$${++p}::${t}[]`).join(', ')}) as u(${names.join(', ')}) order by ${order}
        on conflict on constraint ${quoteIdent(`${def.name}_key`)} do update set ${def.measures.map((m) => `${quoteIdent(m.name)} = ${m.merge}`).join(', ')}
        returning 1)`;
  });
  return `with ${parts.join(',\n')}\nselect ${defs.map((_, i) => `(select count(*) from r${i})`).join(' + ')} as n`;
}
