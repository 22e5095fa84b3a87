// The two ways a batch reaches a table, both idempotent. CopyWriter: COPY straight into the table (about
// twice as fast as any INSERT); the natural key's unique index makes that COPY fail as a whole when the
// batch holds a row already stored (a replay), and then the batch goes by COPY into a per-connection
// staging table and one INSERT ... SELECT ... ON CONFLICT DO NOTHING, as do the next batches of that
// table for a while. UnnestWriter: one INSERT ... SELECT FROM unnest($1::type[], ...) ON CONFLICT DO
// NOTHING for servers without COPY FROM STDIN (embedded PGlite). Also: which database errors are worth
// a retry, and which field of a refused row is to blame.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { LinesightError } from '../../contracts/errors';
import { qualified, quoteIdent } from '../timescale-db';
import type { ColumnSpec, Row, TableSpec } from './row-mapper';
import type { Queryable } from './db-schema';
import { aggregateRows, aggregateSQL, maintainSQL, rollupInputs, type RollupDef } from './rollups';

export interface TableWriter {
  readonly method: 'copy' | 'unnest';
  /** Writes all rows or none; resolves with the number of rows that were new. */
  write(table: TableSpec, rows: Row[]): Promise<number>;
}

// ---- COPY text format -----------------------------------------------------------------------------

const COPY_SPECIAL = /[\\\t\n\r]/g;
const COPY_ESC: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** One value in COPY text format (tab-separated, \N for NULL, backslash escapes). */
export function copyValue(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 't' : 'f';
  if (Buffer.isBuffer(v)) return '\\\\x' + v.toString('hex');
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  COPY_SPECIAL.lastIndex = 0;
  return COPY_SPECIAL.test(s) ? s.replace(COPY_SPECIAL, (c) => COPY_ESC[c]) : s;
}

export function copyLine(values: unknown[]): string {
  let line = copyValue(values[0]);
  for (let i = 1; i < values.length; i++) line += '\t' + copyValue(values[i]);
  return line + '\n';
}

/** COPY data in chunks of about 64 KiB, so a large batch never becomes one huge string. */
export function* copyChunks(rows: Row[], chunkBytes = 64 * 1024): Generator<string> {
  let buf = '';
  for (const r of rows) {
    buf += copyLine(r.values);
    if (buf.length >= chunkBytes) {
      yield buf;
      buf = '';
    }
  }
  if (buf) yield buf;
}

const cols = (t: TableSpec) => t.columns.map((c) => quoteIdent(c.name)).join(', ');

/** Rollups the sink keeps (plain PostgreSQL, PGlite, Apache-only TimescaleDB), by raw table. */
export type MaintainedRollups = Map<string, RollupDef[]>;

// Rows spooled by an older version may have fewer values than the table now has columns (columns are
// only ever added at the end): the missing ones are NULL.
function padded(table: TableSpec, rows: Row[]): Row[] {
  const n = table.columns.length;
  return rows.some((r) => r.values.length < n) ? rows.map((r) => (r.values.length < n ? { ...r, values: [...r.values, ...new Array(n - r.values.length).fill(null)] } : r)) : rows;
}

/** Column arrays of the rows for an unnest(...) source. */
function columnArrays(table: TableSpec, rows: Row[], only?: string[]): { arrays: unknown[][]; names: string[]; types: string[] } {
  const idx = only ? only.map((n) => table.columns.findIndex((c) => c.name === n)) : table.columns.map((_, i) => i);
  const arrays: unknown[][] = idx.map(() => new Array(rows.length));
  for (let r = 0; r < rows.length; r++) {
    const v = rows[r].values;
    for (let k = 0; k < idx.length; k++) arrays[k][r] = v[idx[k]] ?? null;
  }
  return { arrays, names: idx.map((i) => table.columns[i].name), types: idx.map((i) => table.columns[i].type) };
}

export class CopyWriter implements TableWriter {
  readonly method = 'copy' as const;
  // Staging tables are per connection (temporary); remember which connection has which.
  private readonly staged = new WeakMap<PoolClient, Set<string>>();
  private readonly stageNames = new Map<string, string>();

  constructor(
    private readonly pool: Pool,
    private readonly schema: string,
    private readonly rollups: MaintainedRollups = new Map(),
  ) {}

  private stageName(table: string): string {
    let n = this.stageNames.get(table);
    if (!n) {
      n = `ls_stage_${this.stageNames.size}_${table}`.slice(0, 63);
      this.stageNames.set(table, n);
    }
    return n;
  }

  // Tables whose recent batches held duplicates: staged writes until this time (ms).
  private readonly stagedUntil = new Map<string, number>();
  /** How long a table stays on the staged path after a batch with duplicates. */
  stagedForMs = 30_000;
  /** Batches written by each path (for tests and status). */
  readonly counts = { direct: 0, staged: 0 };

  async write(table: TableSpec, rows: Row[]): Promise<number> {
    rows = padded(table, rows);
    const until = this.stagedUntil.get(table.name);
    if (until === undefined || Date.now() >= until) {
      try {
        const n = await this.session(table, rows, false);
        this.counts.direct++;
        return n;
      } catch (err) {
        // 23505: some row of the batch is stored already (by any unique index): settle it row by row.
        if ((err as { code?: string }).code !== '23505') throw err;
        this.stagedUntil.set(table.name, Date.now() + this.stagedForMs);
      }
    }
    const n = await this.session(table, rows, true);
    this.counts.staged++;
    return n;
  }

  private async session(table: TableSpec, rows: Row[], staged: boolean): Promise<number> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // A checked-out client emits 'error' when the server goes away mid-batch; the pending query rejects
    // too, which is where it is handled. Without this listener the event would crash the process.
    const onError = (err: Error) => (broken ??= err);
    client.on('error', onError);
    try {
      const stage = this.stageName(table.name);
      let set = this.staged.get(client);
      if (!set) this.staged.set(client, (set = new Set()));
      if (staged && !set.has(stage)) {
        // LIKE copies the columns and NOT NULLs but no unique index: duplicates are settled by the INSERT.
        await client.query(`create temporary table if not exists ${quoteIdent(stage)} (like ${qualified(this.schema, table.name)}) on commit delete rows`);
        set.add(stage);
      }
      await client.query('begin');
      try {
        const into = staged ? `pg_temp.${quoteIdent(stage)}` : qualified(this.schema, table.name);
        const copy = client.query(copyFrom(`copy ${into} (${cols(table)}) from stdin`));
        // pipeline destroys the COPY stream on any failure, which aborts the COPY on the server.
        await pipeline(Readable.from(copyChunks(rows)), copy);
        let n = copy.rowCount ?? rows.length;
        const defs = this.rollups.get(table.name);
        if (staged) {
          const insert = `insert into ${qualified(this.schema, table.name)} (${cols(table)}) select ${cols(table)} from pg_temp.${quoteIdent(stage)} on conflict do nothing`;
          if (defs?.length) {
            // Only the rows that were new reach the rollups: a replay adds nothing to them either.
            const r = await client.query(maintainSQL(this.schema, defs, `${insert} returning *`));
            n = Number(r.rows[0].n);
          } else {
            const r = await client.query(insert);
            n = r.rowCount ?? 0;
          }
        } else if (defs?.length) {
          // The COPY went straight in, so every row was new: the batch is aggregated here and only the
          // rollup rows (a few per bucket and key) are upserted, in the same transaction.
          const a = columnArrays(table, rows, rollupInputs(table.name));
          await client.query(aggregateSQL(this.schema, defs), defs.flatMap((def) => aggregateRows(def, a.names, a.arrays)));
        }
        await client.query('commit');
        return n;
      } catch (err) {
        await client.query('rollback').catch((e: Error) => (broken = e));
        if (classifyError(err) === 'transient') broken = err as Error;
        throw err;
      }
    } catch (err) {
      if (classifyError(err) === 'transient') broken ??= err as Error;
      throw err;
    } finally {
      // A connection that failed mid-COPY is not reused.
      client.off('error', onError);
      client.release(broken);
    }
  }
}

export class UnnestWriter implements TableWriter {
  readonly method = 'unnest' as const;
  private readonly sql = new Map<string, string>();
  constructor(
    private readonly db: Queryable,
    private readonly schema: string,
    private readonly rollups: MaintainedRollups = new Map(),
  ) {}

  private statement(t: TableSpec): string {
    let s = this.sql.get(t.name);
    if (!s) {
      const arrays = t.columns.map((c, i) => `$${i + 1}::${c.type}[]`).join(', ');
      s = `insert into ${qualified(this.schema, t.name)} (${cols(t)}) select * from unnest(${arrays}) on conflict do nothing`;
      const defs = this.rollups.get(t.name);
      // One statement: the raw rows and the rollups of exactly the rows that were new, or nothing.
      if (defs?.length) s = maintainSQL(this.schema, defs, `${s} returning *`);
      this.sql.set(t.name, s);
    }
    return s;
  }

  async write(table: TableSpec, rows: Row[]): Promise<number> {
    const { arrays } = columnArrays(table, rows);
    const res = await this.db.query(this.statement(table), arrays);
    return this.rollups.get(table.name)?.length ? Number(res.rows[0].n) : (res.rowCount ?? 0);
  }
}

// ---- errors ---------------------------------------------------------------------------------------

export type ErrorClass = 'transient' | 'row' | 'partition' | 'fatal';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);
const NETWORK_MESSAGE = /connection terminated|connection error|timeout|not queryable|terminating connection|the database system is|server closed the connection|socket|connect /i;

/**
 * transient: the server or the network is away (retry the same batch later); row: the data of some row
 * is refused (split the batch to find it); partition: no partition for a row's day (create and retry);
 * fatal: the statement itself cannot work (missing table, permissions) — every row of the batch fails.
 */
export function classifyError(err: unknown): ErrorClass {
  const e = err as { code?: unknown; message?: string };
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code && /^[0-9A-Z]{5}$/.test(code)) {
    const cls = code.slice(0, 2);
    if (code === '23514' && /no partition/i.test(e.message ?? '')) return 'partition';
    if (cls === '22' || cls === '23') return 'row';
    if (cls === '08' || cls === '53' || cls === '57' || cls === '40' || cls === '58' || code === '55P03' || code === '55006') return 'transient';
    return 'fatal';
  }
  if (code && NETWORK_CODES.has(code)) return 'transient';
  if (NETWORK_MESSAGE.test(e?.message ?? '')) return 'transient';
  return 'fatal';
}

/**
 * For one refused row: which column (and so which message field) the database objects to, from the
 * error's column, its constraint, COPY's context line, or by asking the server to cast each value.
 */
export async function explainRowError(
  db: Queryable,
  schema: string,
  table: TableSpec,
  row: Row,
  err: Error & { column?: string; constraint?: string; where?: string },
  fieldOf: (col: ColumnSpec, row: Row) => string,
): Promise<LinesightError> {
  let cols: ColumnSpec[] = [];
  const byName = (n: string | undefined) => table.columns.find((c) => c.name === n);
  if (err.column && byName(err.column)) cols = [byName(err.column)!];
  if (!cols.length && err.constraint) {
    try {
      const r = await db.query(
        `select a.attname as name from pg_constraint c join pg_class t on t.oid = c.conrelid join pg_namespace n on n.oid = t.relnamespace
           join pg_attribute a on a.attrelid = c.conrelid and a.attnum = any(c.conkey)
          where c.conname = $1 and n.nspname = $2 and t.relname = $3`,
        [err.constraint, schema, table.name],
      );
      cols = r.rows.map((x) => byName(String(x.name))).filter((c): c is ColumnSpec => !!c);
    } catch {
      /* the explanation is best effort */
    }
  }
  if (!cols.length && err.where) {
    const m = /column (\w+)/.exec(err.where);
    if (m && byName(m[1])) cols = [byName(m[1])!];
  }
  if (!cols.length) {
    for (let i = 0; i < table.columns.length; i++) {
      const c = table.columns[i];
      const v = row.values[i];
      if (v === null || v === undefined) continue;
      try {
        await db.query(`select $1::${c.type} as v`, [v]);
      } catch (probe) {
        if (classifyError(probe) === 'row') {
          cols = [c];
          break;
        }
      }
    }
  }
  const fields = [...new Set(cols.map((c) => fieldOf(c, row)))];
  const field = fields.join(', ') || row.prefix || 'payload';
  const where = cols.length ? ` (table ${table.name}, column ${cols.map((c) => c.name).join(', ')})` : ` (table ${table.name})`;
  return new LinesightError(`${field}: ${err.message}${where}; the row was not stored`, { field, code: (err as { code?: string }).code, cause: err });
}
