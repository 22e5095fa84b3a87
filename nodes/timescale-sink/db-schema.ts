// The sink's tables in PostgreSQL: DDL from table specs, a hypertable when the TimescaleDB extension is
// available, otherwise declarative range partitions by day that are created ahead of time (and on demand
// for older data); the rollups (continuous aggregates with the Timescale licence, tables the sink keeps
// elsewhere); compression and retention policies where the licence has them; an optional read-only role.
// Used by the sink on first use and by `linesight db migrate`: one transaction under one advisory lock, so
// concurrent migrations and sinks leave exactly one schema and never half of one. Names are validated
// identifiers, always quoted; partition bounds are computed here.
import { LinesightError } from '../../contracts/errors';
import { assertIdentifier, qualified, quoteIdent, quoteLiteral } from '../timescale-db';
import type { TableSpec } from './row-mapper';
import { caggPolicy, caggSQL, maintainSQL, ROLLUPS, rollupTableSQL } from './rollups';
import { applyRetention, imageTableDays, type RetentionOptions } from './retention';
import { systemClock, type Clock } from '../../lib/clock';

export interface Queryable {
  query(sql: string, params?: unknown[]): Promise<{ rows: Array<Record<string, unknown>>; rowCount?: number | null }>;
}

export type StorageMode = 'hypertable' | 'partitions';

export interface SchemaOptions extends RetentionOptions {
  schema: string;
  tables: TableSpec[];
  /** Use the TimescaleDB extension when available ('auto'), never ('off'), or fail without it ('require'). */
  timescale?: 'auto' | 'off' | 'require';
  /** Plain PostgreSQL: daily partitions created this many days ahead of today. */
  partitionDaysAhead?: number;
  /** TimescaleDB (Timescale licence): compress chunks older than this many days (0 = no compression policy). */
  compressAfterDays?: number;
  /** Create the rollups of the contract tables (default true). */
  rollups?: boolean;
  /** A role that may only read the history (created with LOGIN when missing; granted SELECT on the schema). */
  readonlyRole?: string;
  /** Password for a newly created read-only role (never logged). */
  readonlyPassword?: string;
  /** Which PLC devices belong to which line (for traceability's tag samples). */
  lineDevices?: Array<{ line: string; device: string; site?: string }>;
  /** Clock for "today" (tests). */
  clock?: Pick<Clock, 'now'>;
}

export interface TimescaleInfo {
  /** The server has the extension's files (pg_available_extensions). */
  available: boolean;
  /** The extension is created in this database. */
  installed: boolean;
  /** timescaledb is in shared_preload_libraries (required before it can be used). */
  preloaded: boolean;
  version?: string;
  /** timescaledb.license: 'apache' (no compression, policies, continuous aggregates) or 'timescale'. */
  license?: string;
}

export type RollupKind = 'continuous-aggregate' | 'table' | 'missing';

export interface MigrationReport {
  mode: StorageMode;
  timescale: TimescaleInfo;
  /** TimescaleDB with the Timescale licence: compression, policies and continuous aggregates. */
  fullLicence: boolean;
  tables: Array<{ table: string; kind: TableKind }>;
  rollups: Array<{ name: string; kind: RollupKind }>;
  partitionsCreated: string[];
  notes: string[];
}

export type TableKind = 'hypertable' | 'partitioned' | 'plain' | 'missing';

const DAY_MS = 86_400_000;

/** The advisory lock every migration (db migrate and every sink) takes for its whole transaction. */
export const MIGRATE_LOCK_SQL = `select pg_advisory_xact_lock(hashtext('linesight db migrate'))`;

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
  const prefix = (spec.prefixIndexes ?? []).map(
    (c) => `create index if not exists ${quoteIdent(`${spec.name}_${assertIdentifier(c, 'prefixIndexes')}_prefix_idx`.slice(0, 63))} on ${qualified(schema, spec.name)} ((${quoteIdent(c)} collate "C"))`,
  );
  return prefix.concat((spec.indexes ?? []).map((cols) => {
    const name = `${spec.name}_${cols.join('_')}_idx`.slice(0, 63);
    return `create index if not exists ${quoteIdent(name)} on ${qualified(schema, spec.name)} (${cols.map((c, i) => (i === cols.length - 1 && c === spec.columns[0].name ? `${quoteIdent(c)} desc` : quoteIdent(c))).join(', ')})`;
  }));
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

/** What the server offers of TimescaleDB. Reads only catalogs and settings, never loads the library. */
export async function detectTimescale(q: Queryable): Promise<TimescaleInfo> {
  const installed = await q.query(`select extversion::text as v from pg_extension where extname = 'timescaledb'`);
  let available: string | undefined;
  try {
    const r = await q.query(`select default_version::text as v from pg_available_extensions where name = 'timescaledb'`);
    available = r.rows[0]?.v as string | undefined;
  } catch {
    /* embedded servers may not list extensions */
  }
  const pre = await q.query(`select coalesce((select setting from pg_settings where name = 'shared_preload_libraries'), '') as s`);
  const preloaded = String(pre.rows[0]?.s ?? '')
    .split(',')
    .some((x) => x.trim().replace(/^["']|["']$/g, '') === 'timescaledb');
  const info: TimescaleInfo = { available: !!available || installed.rows.length > 0, installed: installed.rows.length > 0, preloaded, version: (installed.rows[0]?.v as string) ?? available };
  if (preloaded) {
    const l = await q.query(`select current_setting('timescaledb.license', true) as l`);
    info.license = (l.rows[0]?.l as string) || undefined;
  }
  return info;
}

export function notPreloadedError(ts: TimescaleInfo): LinesightError {
  return new LinesightError(
    `TimescaleDB ${ts.version ?? ''} is installed on the server but not loaded: add timescaledb to shared_preload_libraries in postgresql.conf and restart PostgreSQL${ts.installed ? '' : ' (or use timescale "off" for plain daily partitions)'}`.replace('  ', ' '),
    { code: 'TIMESCALE_NOT_PRELOADED', field: 'timescale' },
  );
}

export async function describeTable(q: Queryable, schema: string, table: string, ts?: TimescaleInfo): Promise<TableKind> {
  const r = await q.query(
    `select c.relkind::text as kind from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = $2`,
    [schema, table],
  );
  if (!r.rows.length) return 'missing';
  if (r.rows[0].kind === 'p') return 'partitioned';
  ts ??= await detectTimescale(q);
  if (ts.installed) {
    // Touching TimescaleDB's catalog without the library preloaded ends the session (FATAL): say why instead.
    if (!ts.preloaded) throw notPreloadedError(ts);
    const h = await q.query(`select 1 from timescaledb_information.hypertables where hypertable_schema = $1 and hypertable_name = $2`, [schema, table]);
    if (h.rows.length) return 'hypertable';
  }
  return 'plain';
}

/** 'continuous-aggregate', 'table' or 'missing' for a rollup name. */
export async function describeRollup(q: Queryable, schema: string, name: string): Promise<RollupKind> {
  const r = await q.query(`select c.relkind::text as kind from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = $2`, [schema, name]);
  if (!r.rows.length) return 'missing';
  return r.rows[0].kind === 'v' ? 'continuous-aggregate' : 'table';
}

/** True when the timescaledb extension is installed in this database. */
export async function hasTimescale(q: Queryable): Promise<boolean> {
  return (await detectTimescale(q)).installed;
}

/** True when the server could install timescaledb (it is among the available extensions). */
export async function timescaleAvailable(q: Queryable): Promise<boolean> {
  return (await detectTimescale(q)).available;
}

/** A pg Pool (a connection is taken for the transaction), or one connection (a Client). */
export type Lockable = Queryable & { connect?: unknown; totalCount?: number };
type PooledClient = Queryable & { release(err?: Error | boolean): void; on(ev: 'error', fn: (e: Error) => void): unknown; off(ev: 'error', fn: (e: Error) => void): unknown };

/**
 * Runs `fn` in one transaction holding the migration lock, on one connection (taken from a pool when
 * given one). Anything that fails rolls everything back: no half-made schema.
 */
export async function underMigrationLock<T>(db: Lockable, fn: (q: Queryable) => Promise<T>): Promise<T> {
  const pooled = typeof db.connect === 'function' && typeof db.totalCount === 'number';
  const client = pooled ? await (db.connect as () => Promise<PooledClient>)() : undefined;
  let broken: Error | undefined;
  const onError = (e: Error) => (broken ??= e);
  client?.on('error', onError);
  const q: Queryable = client ?? db;
  try {
    await q.query('begin');
    try {
      await q.query(MIGRATE_LOCK_SQL);
      const out = await fn(q);
      await q.query('commit');
      return out;
    } catch (err) {
      await q.query('rollback').catch((e: Error) => (broken ??= e));
      throw err;
    }
  } finally {
    client?.off('error', onError);
    client?.release(broken ?? false);
  }
}

/**
 * Creates the schema, tables, rollups, policies and role when missing, applies changed policies, and
 * reports what it found. Safe to run again and from several processes at once (one transaction under one
 * advisory lock).
 */
export function migrate(db: Lockable, opts: SchemaOptions): Promise<MigrationReport> {
  assertIdentifier(opts.schema, 'schema');
  if (opts.readonlyRole !== undefined) assertIdentifier(opts.readonlyRole, 'readonlyRole');
  return underMigrationLock(db, (q) => migrateLocked(q, opts));
}

async function migrateLocked(q: Queryable, opts: SchemaOptions): Promise<MigrationReport> {
  const schema = opts.schema;
  const notes: string[] = [];
  const want = opts.timescale ?? 'auto';
  const ts = await detectTimescale(q);
  if (ts.installed && !ts.preloaded) throw notPreloadedError(ts);
  let mode: StorageMode = 'partitions';
  if (want !== 'off') {
    if (ts.installed) mode = 'hypertable';
    else if (ts.available && ts.preloaded) {
      await q.query('create extension if not exists timescaledb');
      Object.assign(ts, await detectTimescale(q));
      mode = 'hypertable';
    } else if (ts.available) {
      if (want === 'require') throw notPreloadedError(ts);
      notes.push('timescaledb is on the server but not in shared_preload_libraries; using daily range partitions');
    } else notes.push('timescaledb extension not available on this server; using daily range partitions');
  }
  if (want === 'require' && mode !== 'hypertable') throw new LinesightError(`timescale: "require" but ${notes.join('; ')}`, { field: 'timescale' });
  const full = mode === 'hypertable' && ts.license === 'timescale';
  if (mode === 'hypertable' && !full) {
    notes.push(
      `TimescaleDB ${ts.version} with the ${ts.license ?? 'unknown'} licence: hypertables without compression, policies or continuous aggregates; old chunks are dropped by the sink's own drop_chunks job and the rollups are tables the sink keeps`,
    );
    if (opts.compressAfterDays) notes.push(`compress-after ${opts.compressAfterDays} days ignored: compression needs the Timescale licence`);
  }

  await q.query(`create schema if not exists ${quoteIdent(schema)}`);
  const report: MigrationReport = { mode, timescale: ts, fullLicence: full, tables: [], rollups: [], partitionsCreated: [], notes };
  const keeper = new PartitionKeeper(q, schema, opts.clock);
  const kinds = new Map<string, TableKind>();
  for (const spec of opts.tables) {
    let kind = await describeTable(q, schema, spec.name, ts);
    if (kind === 'missing') {
      await q.query(createTableSQL(schema, spec, mode === 'partitions'));
      if (mode === 'hypertable') {
        await q.query(`select create_hypertable($1::regclass, $2::name, chunk_time_interval => interval '1 day', if_not_exists => true)`, [qualified(schema, spec.name), spec.columns[0].name]);
      }
      kind = await describeTable(q, schema, spec.name, ts);
    } else await addMissingColumns(q, schema, spec, notes);
    for (const sql of indexSQL(schema, spec)) await q.query(sql);
    if (kind === 'hypertable' && full) await timescalePolicies(q, schema, spec, opts, notes);
    if (kind === 'partitioned') report.partitionsCreated.push(...(await keeper.createAhead(spec.name, opts.partitionDaysAhead ?? 7)));
    kinds.set(spec.name, kind);
    report.tables.push({ table: spec.name, kind });
  }
  if (opts.rollups !== false) {
    for (const def of ROLLUPS) {
      if (!kinds.has(def.source)) continue;
      let kind = await describeRollup(q, schema, def.name);
      if (kind === 'missing') {
        if (full && kinds.get(def.source) === 'hypertable') {
          const finer = def.caggFrom ? report.rollups.find((r) => r.name === def.caggFrom)?.kind : undefined;
          await q.query(caggSQL(schema, def, finer === 'continuous-aggregate'));
          const p = caggPolicy(def);
          await q.query(
            `select add_continuous_aggregate_policy($1::regclass, start_offset => null, end_offset => $2::interval, schedule_interval => $3::interval, if_not_exists => true)`,
            [qualified(schema, def.name), p.endOffset, p.schedule],
          );
          kind = 'continuous-aggregate';
        } else {
          for (const sql of rollupTableSQL(schema, def)) await q.query(sql);
          // Rows stored before the rollup existed (an upgrade) are counted once, now, under the same lock.
          const r = await q.query(maintainSQL(schema, [def], `select * from ${qualified(schema, def.source)}`));
          if (Number(r.rows[0]?.n)) notes.push(`${def.name}: filled from ${r.rows[0].n} ${def.source} rows already stored`);
          kind = 'table';
        }
      }
      report.rollups.push({ name: def.name, kind });
    }
  }
  // Which PLC devices belong to which line (traceability's tag samples): with the contract tables only.
  if (kinds.has('inspections') || opts.lineDevices?.length) {
    await q.query(`create table if not exists ${qualified(schema, 'line_devices')} (site text, line text not null, device text not null, primary key (line, device))`);
  }
  for (const ld of opts.lineDevices ?? []) {
    await q.query(`insert into ${qualified(schema, 'line_devices')} (site, line, device) values ($1, $2, $3) on conflict (line, device) do update set site = excluded.site`, [ld.site ?? null, ld.line, ld.device]);
  }
  notes.push(...(await applyRetention(q, schema, kinds, full, opts, opts.clock, keeper)));
  if (opts.readonlyRole) notes.push(...(await readonlyRole(q, schema, opts.readonlyRole, opts.readonlyPassword)));
  return report;
}

async function addMissingColumns(q: Queryable, schema: string, spec: TableSpec, notes: string[]): Promise<void> {
  const r = await q.query(`select column_name::text as c from information_schema.columns where table_schema = $1 and table_name = $2`, [schema, spec.name]);
  const have = new Set(r.rows.map((x) => String(x.c)));
  for (const c of spec.columns) {
    if (have.has(c.name) || c.notNull) continue;
    await q.query(`alter table ${qualified(schema, spec.name)} add column if not exists ${quoteIdent(c.name)} ${c.type}`);
    notes.push(`${spec.name}: added column ${c.name}`);
  }
}

/** Compression settings chosen for the rollup and traceability queries: segments per line/camera, newest first. */
export function compressionSettings(spec: TableSpec): { segmentBy: string[]; orderBy: string; index: string } {
  const seg = (spec.segmentBy ?? []).map((c) => assertIdentifier(c, 'segmentBy'));
  const time = spec.columns[0].name;
  // Every column of the natural key must be a segment or an order column (TimescaleDB's rule for unique indexes).
  const rest = spec.key.filter((k) => k !== time && !seg.includes(k)).map(quoteIdent);
  // Order-by columns have min/max sparse indexes already (and TimescaleDB allows no bloom filter on them).
  const index = (spec.bloom ?? []).filter((c) => c !== time && !spec.key.includes(c) && !seg.includes(c)).map((c) => `bloom(${quoteIdent(assertIdentifier(c, 'bloom'))})`).join(', ');
  return { segmentBy: seg, orderBy: [`${quoteIdent(time)} desc`, ...rest].join(', '), index };
}

interface Job {
  job_id: number;
  days: number | null;
}

async function policyJob(q: Queryable, proc: string, schema: string, table: string, key: string): Promise<Job | undefined> {
  const r = await q.query(
    `select job_id, extract(epoch from (config->>$4)::interval) / 86400 as days from timescaledb_information.jobs
      where proc_name = $1 and hypertable_schema = $2 and hypertable_name = $3`,
    [proc, schema, table, key],
  );
  return r.rows[0] ? { job_id: Number(r.rows[0].job_id), days: r.rows[0].days === null ? null : Number(r.rows[0].days) } : undefined;
}

/** Makes the compression and retention policies of a hypertable what the options say; 0 removes one. */
async function timescalePolicies(q: Queryable, schema: string, spec: TableSpec, opts: SchemaOptions, notes: string[]): Promise<void> {
  const rel = qualified(schema, spec.name);
  const compress = spec.name === 'images' ? 0 : (opts.compressAfterDays ?? 0);
  const cjob = await policyJob(q, 'policy_compression', schema, spec.name, 'compress_after');
  if (compress) {
    const h = await q.query(`select compression_enabled from timescaledb_information.hypertables where hypertable_schema = $1 and hypertable_name = $2`, [schema, spec.name]);
    if (h.rows[0]?.compression_enabled !== true) {
      const cs = compressionSettings(spec);
      // ALTER TABLE ... SET takes literals only; the columns are validated identifiers.
      await q.query(
        `alter table ${rel} set (timescaledb.compress${cs.segmentBy.length ? `, timescaledb.compress_segmentby = ${quoteLiteral(cs.segmentBy.map(quoteIdent).join(', '))}` : ''}, timescaledb.compress_orderby = ${quoteLiteral(cs.orderBy)}${cs.index ? `, timescaledb.compress_index = ${quoteLiteral(cs.index)}` : ''})`,
      );
    }
  }
  if (cjob && cjob.days !== compress) {
    await q.query(`select remove_compression_policy($1::regclass, if_exists => true)`, [rel]);
    if (!compress) notes.push(`${spec.name}: compression policy removed`);
  }
  if (compress && (!cjob || cjob.days !== compress)) {
    await q.query(`select add_compression_policy($1::regclass, make_interval(days => $2::int))`, [rel, compress]);
    notes.push(`${spec.name}: compress after ${compress} days`);
  }
  const retain = spec.name === 'images' ? imageTableDays(opts) : (opts.retainDays ?? 0);
  const rjob = await policyJob(q, 'policy_retention', schema, spec.name, 'drop_after');
  if (rjob && rjob.days !== retain) {
    await q.query(`select remove_retention_policy($1::regclass, if_exists => true)`, [rel]);
    if (!retain) notes.push(`${spec.name}: retention policy removed (kept forever)`);
  }
  if (retain && (!rjob || rjob.days !== retain)) {
    await q.query(`select add_retention_policy($1::regclass, make_interval(days => $2::int))`, [rel, retain]);
    notes.push(`${spec.name}: keep ${retain} days`);
  }
}

/** A login role that may read the schema and nothing else (also for tables created later). */
async function readonlyRole(q: Queryable, schema: string, role: string, password?: string): Promise<string[]> {
  const notes: string[] = [];
  const exists = await q.query(`select 1 from pg_roles where rolname = $1`, [role]);
  const r = quoteIdent(role);
  if (!exists.rows.length) {
    // Role names and passwords take no parameters in DDL: the name is a checked identifier, the password a quoted literal.
    await q.query(`create role ${r} login nosuperuser nocreatedb nocreaterole noinherit${password ? ` password ${quoteLiteral(password)}` : ''}`);
    notes.push(`created read-only role ${role}`);
  }
  const s = quoteIdent(schema);
  await q.query(`grant usage on schema ${s} to ${r}`);
  await q.query(`grant select on all tables in schema ${s} to ${r}`);
  await q.query(`alter default privileges in schema ${s} grant select on tables to ${r}`);
  await q.query(`revoke create on schema ${s} from ${r}`);
  notes.push(`${role} may read schema ${schema} (select only)`);
  return notes;
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
