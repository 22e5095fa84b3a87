// The sink's tables in PostgreSQL: DDL from table specs, a hypertable when the TimescaleDB extension is
// available (with optional compression and retention policies), otherwise declarative range partitions by
// day that are created ahead of time (and on demand for older data). Used by the sink on first use and by
// `linesight db migrate`. Names are validated identifiers, always quoted; partition bounds are computed here.
import { assertIdentifier, qualified, quoteIdent, quoteLiteral } from '../timescale-db';
import type { TableSpec } from './row-mapper';
import { systemClock, type Clock } from '../../lib/clock';

export interface Queryable {
  query(sql: string, params?: unknown[]): Promise<{ rows: Array<Record<string, unknown>>; rowCount?: number | null }>;
}

export type StorageMode = 'hypertable' | 'partitions';

export interface SchemaOptions {
  schema: string;
  tables: TableSpec[];
  /** Use the TimescaleDB extension when available ('auto'), never ('off'), or fail without it ('require'). */
  timescale?: 'auto' | 'off' | 'require';
  /** Plain PostgreSQL: daily partitions created this many days ahead of today. */
  partitionDaysAhead?: number;
  /** TimescaleDB: compress chunks older than this many days (0 = no compression policy). */
  compressAfterDays?: number;
  /** Drop data older than this many days (0 = keep forever): a retention policy, or dropped partitions. */
  retainDays?: number;
  /** Clock for "today" (tests). */
  clock?: Pick<Clock, 'now'>;
}

export interface MigrationReport {
  mode: StorageMode;
  tables: Array<{ table: string; kind: TableKind }>;
  partitionsCreated: string[];
  notes: string[];
}

export type TableKind = 'hypertable' | 'partitioned' | 'plain' | 'missing';

const DAY_MS = 86_400_000;

export function columnDDL(spec: TableSpec): string {
  return spec.columns.map((c) => `${quoteIdent(c.name)} ${c.type}${c.notNull ? ' not null' : ''}`).join(',\n  ');
}

/** CREATE TABLE for a spec; `partitioned` adds PARTITION BY RANGE on the time column. */
export function createTableSQL(schema: string, spec: TableSpec, partitioned: boolean): string {
  checkSpec(spec);
  const key = spec.key.length ? `,\n  constraint ${quoteIdent(`${spec.name.slice(0, 50)}_natural_key`)} unique (${spec.key.map(quoteIdent).join(', ')})` : '';
  const time = spec.columns[0].name;
  return `create table if not exists ${qualified(schema, spec.name)} (\n  ${columnDDL(spec)}${key}\n)${partitioned ? ` partition by range (${quoteIdent(time)})` : ''}`;
}

export function indexSQL(schema: string, spec: TableSpec): string[] {
  return (spec.indexes ?? []).map((cols) => {
    const name = `${spec.name}_${cols.join('_')}_idx`.slice(0, 63);
    return `create index if not exists ${quoteIdent(name)} on ${qualified(schema, spec.name)} (${cols.map((c, i) => (i === cols.length - 1 && c === spec.columns[0].name ? `${quoteIdent(c)} desc` : quoteIdent(c))).join(', ')})`;
  });
}

function checkSpec(spec: TableSpec): void {
  assertIdentifier(spec.name, 'table');
  spec.columns.forEach((c, i) => assertIdentifier(c.name, `columns[${i}].column`));
  if (spec.columns[0]?.type !== 'timestamptz') throw new Error(`table ${spec.name}: the first column must be the timestamptz time column`);
  for (const k of spec.key) if (!spec.columns.some((c) => c.name === k)) throw new Error(`table ${spec.name}: key column ${k} is not a column`);
}

/** UTC day start (ms) of a time. */
export function dayStart(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

export function partitionName(table: string, dayMs: number): string {
  const d = new Date(dayMs).toISOString();
  return `${table.slice(0, 50)}_p${d.slice(0, 4)}${d.slice(5, 7)}${d.slice(8, 10)}`;
}

/** CREATE TABLE ... PARTITION OF for one UTC day. Bounds are literals (PostgreSQL takes no parameters here) built from a number. */
export function partitionSQL(schema: string, table: string, dayMs: number): string {
  const from = new Date(dayStart(dayMs)).toISOString();
  const to = new Date(dayStart(dayMs) + DAY_MS).toISOString();
  return `create table if not exists ${qualified(schema, partitionName(table, dayMs))} partition of ${qualified(schema, table)} for values from (${quoteLiteral(from)}) to (${quoteLiteral(to)})`;
}

export async function describeTable(q: Queryable, schema: string, table: string): Promise<TableKind> {
  const r = await q.query(
    `select c.relkind::text as kind from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = $2`,
    [schema, table],
  );
  if (!r.rows.length) return 'missing';
  if (r.rows[0].kind === 'p') return 'partitioned';
  if (await hasTimescale(q)) {
    const h = await q.query(`select 1 from timescaledb_information.hypertables where hypertable_schema = $1 and hypertable_name = $2`, [schema, table]);
    if (h.rows.length) return 'hypertable';
  }
  return 'plain';
}

/** True when the timescaledb extension is installed in this database. */
export async function hasTimescale(q: Queryable): Promise<boolean> {
  const r = await q.query(`select 1 from pg_extension where extname = 'timescaledb'`);
  return r.rows.length > 0;
}

/** True when the server could install timescaledb (it is among the available extensions). */
export async function timescaleAvailable(q: Queryable): Promise<boolean> {
  try {
    const r = await q.query(`select 1 from pg_available_extensions where name = 'timescaledb'`);
    return r.rows.length > 0;
  } catch {
    return false;
  }
}

/**
 * Creates the schema and tables when missing and reports what it found. Safe to run again and from
 * several processes at once: every statement is "if not exists" or tolerates a concurrent creator.
 */
export async function migrate(q: Queryable, opts: SchemaOptions): Promise<MigrationReport> {
  const schema = assertIdentifier(opts.schema, 'schema');
  const notes: string[] = [];
  let mode: StorageMode = 'partitions';
  if ((opts.timescale ?? 'auto') !== 'off') {
    if (await hasTimescale(q)) mode = 'hypertable';
    else if (await timescaleAvailable(q)) {
      try {
        await q.query('create extension if not exists timescaledb');
        mode = 'hypertable';
      } catch (err) {
        notes.push(`timescaledb is available but could not be created (${(err as Error).message}); using daily partitions`);
      }
    } else notes.push('timescaledb extension not available on this server; using daily range partitions');
  }
  if (opts.timescale === 'require' && mode !== 'hypertable') throw new Error(`timescale: "require" but ${notes.join('; ')}`);

  await tolerate(() => q.query(`create schema if not exists ${quoteIdent(schema)}`));
  const report: MigrationReport = { mode, tables: [], partitionsCreated: [], notes };
  for (const spec of opts.tables) {
    let kind = await describeTable(q, schema, spec.name);
    if (kind === 'missing') {
      await tolerate(() => q.query(createTableSQL(schema, spec, mode === 'partitions')));
      if (mode === 'hypertable') {
        await q.query(`select create_hypertable($1::regclass, $2::name, chunk_time_interval => interval '1 day', if_not_exists => true)`, [
          `${qualified(schema, spec.name)}`,
          spec.columns[0].name,
        ]);
      }
      kind = await describeTable(q, schema, spec.name);
    }
    for (const sql of indexSQL(schema, spec)) await tolerate(() => q.query(sql));
    if (kind === 'hypertable') await timescalePolicies(q, schema, spec, opts, notes);
    if (kind === 'partitioned') {
      const keeper = new PartitionKeeper(q, schema, opts.clock);
      report.partitionsCreated.push(...(await keeper.createAhead(spec.name, opts.partitionDaysAhead ?? 7)));
      if (opts.retainDays) notes.push(...(await keeper.dropOlderThan(spec.name, opts.retainDays)).map((p) => `dropped partition ${p}`));
    }
    report.tables.push({ table: spec.name, kind });
  }
  return report;
}

async function timescalePolicies(q: Queryable, schema: string, spec: TableSpec, opts: SchemaOptions, notes: string[]): Promise<void> {
  const rel = qualified(schema, spec.name);
  if (opts.compressAfterDays) {
    const seg = (spec.segmentBy ?? []).map((c) => assertIdentifier(c, 'segmentBy')).join(',');
    // ALTER TABLE ... SET takes literals only; the segment columns are validated identifiers.
    await q.query(`alter table ${rel} set (timescaledb.compress${seg ? `, timescaledb.compress_segmentby = ${quoteLiteral(seg)}` : ''})`);
    await q.query(`select add_compression_policy($1::regclass, make_interval(days => $2::int), if_not_exists => true)`, [rel, opts.compressAfterDays]);
    notes.push(`${spec.name}: compress after ${opts.compressAfterDays} days`);
  }
  if (opts.retainDays) {
    await q.query(`select add_retention_policy($1::regclass, make_interval(days => $2::int), if_not_exists => true)`, [rel, opts.retainDays]);
    notes.push(`${spec.name}: keep ${opts.retainDays} days`);
  }
}

// A concurrent creator makes "if not exists" statements fail with duplicate_table / unique_violation on
// the catalog; the object exists afterwards either way.
async function tolerate(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== '42P07' && code !== '23505' && code !== '42P06' && code !== '42710') throw err;
  }
}

/**
 * Daily partitions of a plain-PostgreSQL table: created ahead of time, on demand for the days a batch
 * touches (backfills, replays from a spool), and dropped after the retention period.
 */
export class PartitionKeeper {
  private readonly known = new Map<string, Set<number>>();
  constructor(
    private readonly q: Queryable,
    private readonly schema: string,
    private readonly clock: Pick<Clock, 'now'> = systemClock,
  ) {}

  private async load(table: string): Promise<Set<number>> {
    let set = this.known.get(table);
    if (set) return set;
    set = new Set();
    const r = await this.q.query(
      `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent
         join pg_namespace n on n.oid = p.relnamespace where n.nspname = $1 and p.relname = $2`,
      [this.schema, table],
    );
    for (const row of r.rows) {
      const m = /_p(\d{4})(\d{2})(\d{2})$/.exec(String(row.name));
      if (m) set.add(Date.UTC(+m[1], +m[2] - 1, +m[3]));
    }
    this.known.set(table, set);
    return set;
  }

  /** Makes sure a partition exists for every UTC day among `times` (unix ms); returns the ones created. */
  async ensure(table: string, times: Iterable<number>): Promise<string[]> {
    const set = await this.load(table);
    const created: string[] = [];
    const days = new Set<number>();
    for (const t of times) days.add(dayStart(t));
    for (const day of [...days].sort((a, b) => a - b)) {
      if (set.has(day)) continue;
      try {
        await this.q.query(partitionSQL(this.schema, table, day));
        created.push(partitionName(table, day));
      } catch (err) {
        // 42P17: a partition made by someone else already covers the day; 42P07/23505: created concurrently.
        const code = (err as { code?: string }).code;
        if (code !== '42P07' && code !== '23505' && code !== '42P17') throw err;
      }
      set.add(day);
    }
    return created;
  }

  /** Today and the next `days` days. */
  createAhead(table: string, days: number): Promise<string[]> {
    const today = dayStart(this.clock.now());
    return this.ensure(table, Array.from({ length: days + 1 }, (_, i) => today + i * DAY_MS));
  }

  /** Drops this table's daily partitions that ended more than `days` days ago; returns their names. */
  async dropOlderThan(table: string, days: number): Promise<string[]> {
    const set = await this.load(table);
    const cutoff = dayStart(this.clock.now()) - days * DAY_MS;
    const dropped: string[] = [];
    for (const day of [...set].sort((a, b) => a - b)) {
      if (day + DAY_MS > cutoff) continue;
      await this.q.query(`drop table if exists ${qualified(this.schema, partitionName(table, day))}`);
      set.delete(day);
      dropped.push(partitionName(table, day));
    }
    return dropped;
  }

  /** Forget what is known (after a reconnect to a server that may have been rebuilt). */
  reset(): void {
    this.known.clear();
  }
}
