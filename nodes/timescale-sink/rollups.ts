// Rollups of the history: defect rate and counts per line, camera, model version (and defect class) per
// minute, hour and day, and tag-sample aggregates per tag per minute. With the Timescale licence they are
// continuous aggregates (refreshed by policies); elsewhere (plain PostgreSQL, embedded PGlite, Apache-only
// TimescaleDB) they are ordinary tables of the same names and columns that the sink updates in the same
// statement that inserts the raw rows — only the rows that were new count, so late and replayed data give
// exactly count(*) over the raw rows. Queries read the same names either way.
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
}

export interface RollupDef {
  name: string;
  source: RollupSource;
  bucket: '1 minute' | '1 hour' | '1 day';
  groupBy: string[];
  measures: Measure[];
  /** Derived columns: generated in the sink's table, an aggregate in the continuous aggregate. */
  derived?: Array<{ name: string; type: 'double precision'; generated: string; agg: string }>;
}

const sum = (name: string, agg: string, reads: string[]): Measure => ({
  name,
  type: 'bigint',
  agg,
  merge: `t.${quoteIdent(name)} + excluded.${quoteIdent(name)}`,
  reads,
});
const nullableSum = (name: string, agg: string, reads: string[]): Measure => ({
  name,
  type: 'double precision',
  agg,
  merge: `case when t.${quoteIdent(name)} is null then excluded.${quoteIdent(name)} when excluded.${quoteIdent(name)} is null then t.${quoteIdent(name)} else t.${quoteIdent(name)} + excluded.${quoteIdent(name)} end`,
  reads,
});

const BUCKETS = [
  ['1m', '1 minute'],
  ['1h', '1 hour'],
  ['1d', '1 day'],
] as const;

/** Every rollup, keyed by name. */
export const ROLLUPS: RollupDef[] = [
  ...BUCKETS.map(([suffix, bucket]): RollupDef => ({
    name: `inspection_rollup_${suffix}`,
    source: 'inspections',
    bucket,
    groupBy: ['site', 'line', 'camera_id', 'model_version'],
    measures: [
      sum('inspections', 'count(*)', []),
      sum('defective', 'sum(case when defect_count > 0 then 1 else 0 end)::bigint', ['defect_count']),
      sum('detections', 'sum(defect_count)::bigint', ['defect_count']),
    ],
  })),
  ...BUCKETS.map(([suffix, bucket]): RollupDef => ({
    name: `defect_rollup_${suffix}`,
    source: 'detections',
    bucket,
    groupBy: ['site', 'line', 'camera_id', 'model_version', 'defect_class'],
    measures: [sum('detections', 'count(*)', [])],
  })),
  {
    name: 'tag_rollup_1m',
    source: 'tag_samples',
    bucket: '1 minute',
    groupBy: ['device', 'tag'],
    measures: [
      sum('samples', 'count(*)', []),
      sum('value_count', 'count(value_num)', ['value_num']),
      { name: 'value_min', type: 'double precision', agg: 'min(value_num)', merge: 'least(t.value_min, excluded.value_min)', reads: ['value_num'] },
      { name: 'value_max', type: 'double precision', agg: 'max(value_num)', merge: 'greatest(t.value_max, excluded.value_max)', reads: ['value_num'] },
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

/** The continuous aggregate (Timescale licence): same name and columns as the sink's table. */
export function caggSQL(schema: string, def: RollupDef): string {
  const cols = [
    `time_bucket(interval '${def.bucket}', "time") as "bucket"`,
    ...def.groupBy.map(quoteIdent),
    ...def.measures.map((m) => `${m.agg} as ${quoteIdent(m.name)}`),
    ...(def.derived ?? []).map((d) => `${d.agg} as ${quoteIdent(d.name)}`),
  ];
  return `create materialized view if not exists ${qualified(schema, def.name)} with (timescaledb.continuous, timescaledb.materialized_only = false) as
  select ${cols.join(', ')} from ${qualified(schema, def.source)} group by ${def.groupBy.map((_, i) => i + 2).concat(1).join(', ')} with no data`;
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
