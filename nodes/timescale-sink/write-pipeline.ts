// Everything between a message and its rows in the database, without Node-RED: map the message, track
// it until each of its rows is written (or stored in the spool, or refused), prepare the tables on first
// use, pick COPY or unnest, keep partitions ahead of the data, and retry while the database is away.
import type { Pool } from 'pg';
import { Backoff } from '../../lib/backoff';
import { LinesightError } from '../../contracts/errors';
import type { Inspection } from '../../contracts/messages';
import type { ServerInfo } from '../timescale-db';
import { BatchWriter, type Spool, type WriterState } from './batch-writer';
import { classifyError, CopyWriter, explainRowError, UnnestWriter, type TableWriter } from './copy-writer';
import { describeRollup, describeTable, detectTimescale, migrate, PartitionKeeper, type MigrationReport, type TableKind } from './db-schema';
import { applyRetention } from './retention';
import { rollupsOf, type RollupDef } from './rollups';
import { imagePathFor, storeImage } from './image-store';
import { CONTRACT_TABLES, CustomMapping, claimedContract, fieldOf, mapContract, type MappedRows, type Row, type TableSpec } from './row-mapper';
import type { TimescaleSinkConfig } from './timescale-sink.schema';

export interface DatabaseHandle {
  pool: Pool;
  schema: string;
  serverInfo(): Promise<ServerInfo>;
}

export type Done = (err?: Error) => void;

interface Ticket {
  remaining: number;
  errors: Error[];
  done: Done;
}

interface Setup {
  writer: TableWriter;
  tables: Map<string, TableSpec>;
  partitioned: Set<string>;
  keeper: PartitionKeeper;
  report?: MigrationReport;
  /** Rollups this sink keeps up to date (where they are tables, not continuous aggregates). */
  maintained: Map<string, RollupDef[]>;
}

export interface PipelineEvents {
  state?(s: WriterState & { method?: string }): void;
  /** A row from the spool (its message is long done) could not be written. */
  orphanError?(err: Error): void;
  log?(text: string): void;
}

const DAY_MS = 86_400_000;

export class WritePipeline {
  readonly writer: BatchWriter;
  private readonly tickets = new Map<number, Ticket>();
  private nextTicket = 1;
  private setupP?: Promise<Setup>;
  private method?: string;
  private readonly custom?: CustomMapping;
  private readonly tableSpecs: TableSpec[];
  private maintenance?: NodeJS.Timeout;
  // PGlite runs every connection in one session: transactions must not interleave there.
  private lock: Promise<unknown> = Promise.resolve();
  private serial = false;

  constructor(
    private readonly db: DatabaseHandle,
    private readonly cfg: TimescaleSinkConfig,
    private readonly events: PipelineEvents = {},
    opts: { spool?: Spool; backoff?: Backoff } = {},
  ) {
    if (cfg.target === 'custom') {
      this.custom = new CustomMapping({
        table: cfg.table as string,
        columns: cfg.columns ?? [],
        timeColumn: cfg.timeColumn,
        keyColumns: (cfg.keyColumns ?? '').split(',').map((s) => s.trim()).filter(Boolean),
      });
      this.tableSpecs = [this.custom.table];
    } else {
      this.tableSpecs = Object.values(CONTRACT_TABLES).filter((t) => t.name !== 'images' || cfg.images !== 'none');
    }
    if (cfg.images === 'path' && !cfg.imageDir && cfg.target !== 'custom') throw new LinesightError('imageDir is required when images is "path"', { field: 'imageDir' });
    this.writer = new BatchWriter({
      write: (table, rows) => this.write(table, rows),
      classify: classifyError,
      explain: (table, row, err) => this.explain(table, row, err),
      onDurable: (rows) => this.settle(rows),
      onFailed: (row, err) => this.fail(row, err),
      onState: (s) => this.events.state?.({ ...s, method: this.method }),
      batchSize: cfg.batchSize,
      maxAgeMs: cfg.batchAgeMs,
      maxInFlight: cfg.maxInFlight,
      maxMemoryRows: cfg.maxMemoryRows,
      spool: opts.spool,
      backoff: opts.backoff,
    });
  }

  /** Prepares the tables now (instead of on the first batch); rejects while the database is away. */
  ready(): Promise<Setup> {
    this.setupP ??= this.prepare();
    this.setupP.catch(() => (this.setupP = undefined));
    return this.setupP;
  }

  /**
   * Takes one message. `done` is called once every row of it is written or safely spooled, with an error
   * naming the field when the message (or one of its rows) cannot be stored.
   */
  async accept(msg: Record<string, unknown>, done: Done): Promise<void> {
    let mapped: MappedRows[];
    const ticket = this.nextTicket++;
    try {
      mapped = await this.map(msg, ticket);
    } catch (err) {
      done(err as Error);
      return;
    }
    let total = 0;
    for (const m of mapped) total += m.rows.length;
    this.tickets.set(ticket, { remaining: total, errors: [], done });
    try {
      this.writer.add(mapped);
    } catch (err) {
      this.tickets.delete(ticket);
      done(err as Error);
    }
  }

  private async map(msg: Record<string, unknown>, ticket: number): Promise<MappedRows[]> {
    if (this.custom) return this.custom.map(msg, ticket);
    const kind = typeof msg.imageKind === 'string' && msg.imageKind ? msg.imageKind : 'full';
    if (this.cfg.images === 'path' && claimedContract(msg.payload) === 'inspection') {
      const p = msg.payload as Inspection;
      const mapped = mapContract(p, ticket, { images: 'none' });
      if (p.image) {
        const rel = imagePathFor(p, kind);
        const data = typeof p.image.data === 'string' ? Buffer.from(p.image.data, 'base64') : Buffer.from(p.image.data as Uint8Array);
        await storeImage(this.cfg.imageDir as string, rel, data);
        return mapContract(p, ticket, { images: 'path', imagePath: rel, imageKind: kind });
      }
      return mapped;
    }
    return mapContract(msg.payload, ticket, { images: this.cfg.images, imageKind: kind });
  }

  private settle(rows: Row[]): void {
    for (const r of rows) {
      const t = this.tickets.get(r.ticket);
      if (!t) continue;
      if (--t.remaining === 0) this.finish(r.ticket, t);
    }
  }

  private fail(row: Row, err: Error): void {
    const t = this.tickets.get(row.ticket);
    if (!t) {
      this.events.orphanError?.(err);
      return;
    }
    t.errors.push(err);
    if (--t.remaining === 0) this.finish(row.ticket, t);
  }

  private finish(id: number, t: Ticket): void {
    this.tickets.delete(id);
    if (t.errors.length === 0) return t.done();
    if (t.errors.length === 1) return t.done(t.errors[0]);
    const first = t.errors[0] as LinesightError;
    t.done(new LinesightError(`${t.errors.length} rows of this message were not stored: ${t.errors.map((e) => e.message).join('; ')}`, { field: first.field, code: first.code }));
  }

  private async prepare(): Promise<Setup> {
    const info = await this.db.serverInfo();
    this.serial = info.pglite;
    const q = this.db.pool;
    let report: MigrationReport | undefined;
    if (this.cfg.createTables) {
      report = await this.serialised(() =>
        migrate(q, {
          schema: this.db.schema,
          tables: this.tableSpecs,
          timescale: this.cfg.timescale,
          partitionDaysAhead: this.cfg.partitionDaysAhead,
          compressAfterDays: this.cfg.compressAfterDays,
          retainDays: this.cfg.retainDays,
          imageRetainDays: this.cfg.imageRetainDays,
          imageVariantRetainDays: this.cfg.imageVariantRetainDays,
          imageDir: this.cfg.images === 'path' ? this.cfg.imageDir : undefined,
          rollups: !this.custom,
        }),
      );
      for (const n of report.notes) this.events.log?.(n);
    }
    const partitioned = new Set<string>();
    const kinds = new Map<string, TableKind>();
    const ts = await detectTimescale(q);
    for (const t of this.tableSpecs) {
      const kind = await describeTable(q, this.db.schema, t.name, ts);
      if (kind === 'missing') {
        throw new LinesightError(`table ${this.db.schema}.${t.name} does not exist: enable "create tables" or run linesight db migrate`, { code: '42P01' });
      }
      if (kind === 'partitioned') partitioned.add(t.name);
      kinds.set(t.name, kind);
    }
    const maintained = new Map<string, RollupDef[]>();
    if (!this.custom) {
      for (const t of this.tableSpecs) {
        const defs: RollupDef[] = [];
        for (const def of rollupsOf(t.name)) if ((await describeRollup(q, this.db.schema, def.name)) === 'table') defs.push(def);
        if (defs.length) maintained.set(t.name, defs);
      }
    }
    const useCopy = this.cfg.method === 'copy' || (this.cfg.method === 'auto' && info.copy);
    if (this.cfg.method === 'copy' && !info.copy) this.events.log?.('this server does not support COPY FROM STDIN (embedded PGlite): using unnest inserts');
    const writer: TableWriter = useCopy && info.copy ? new CopyWriter(this.db.pool, this.db.schema, maintained) : new UnnestWriter(this.db.pool, this.db.schema, maintained);
    this.method = writer.method;
    const keeper = new PartitionKeeper(q, this.db.schema);
    const fullLicence = ts.installed && ts.license === 'timescale';
    const retention = {
      retainDays: this.cfg.retainDays,
      imageRetainDays: this.cfg.imageRetainDays,
      imageVariantRetainDays: this.cfg.imageVariantRetainDays,
      imageDir: this.cfg.images === 'path' ? this.cfg.imageDir : undefined,
    };
    const retains = !!(this.cfg.retainDays || this.cfg.imageRetainDays || this.cfg.imageVariantRetainDays);
    if ((partitioned.size || retains) && !this.maintenance) {
      // Keep partitions ahead of the clock, and drop what is past its period (rows and images), while the node runs.
      this.maintenance = setInterval(() => {
        void this.serialised(async () => {
          for (const t of partitioned) await keeper.createAhead(t, this.cfg.partitionDaysAhead);
          if (retains) for (const n of await applyRetention(q, this.db.schema, kinds, fullLicence, retention, undefined, keeper)) this.events.log?.(n);
        }).catch((err: Error) => this.events.log?.(`partition upkeep / retention failed: ${err.message}`));
      }, DAY_MS / 24);
      this.maintenance.unref();
    }
    return { writer, tables: new Map(this.tableSpecs.map((t) => [t.name, t])), partitioned, keeper, report, maintained };
  }

  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.serial) return fn();
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private async write(table: string, rows: Row[]): Promise<void> {
    const s = await this.ready();
    const spec = s.tables.get(table);
    if (!spec) throw new LinesightError(`rows for unknown table ${table}`);
    await this.serialised(async () => {
      if (s.partitioned.has(table)) await s.keeper.ensure(table, times(rows));
      try {
        await s.writer.write(spec, rows);
      } catch (err) {
        if (classifyError(err) !== 'partition') throw err;
        // A partition vanished (dropped by hand or by retention elsewhere): learn again and retry once.
        s.keeper.reset();
        await s.keeper.ensure(table, times(rows));
        await s.writer.write(spec, rows);
      }
    });
  }

  private async explain(table: string, row: Row, err: Error): Promise<Error> {
    const s = await this.ready();
    const spec = s.tables.get(table)!;
    return this.serialised(() => explainRowError(this.db.pool, this.db.schema, spec, row, err, fieldOf));
  }

  /** Messages accepted but not yet written or spooled. */
  get pendingMessages(): number {
    return this.tickets.size;
  }

  async close(graceMs = this.cfg.closeGraceMs): Promise<void> {
    if (this.maintenance) clearInterval(this.maintenance);
    await this.writer.close(graceMs);
    // Messages whose rows were neither written nor spooled were failed by the writer; nothing is left open.
    for (const [id, t] of this.tickets) {
      t.errors.push(new LinesightError('the sink closed before this message was stored'));
      this.finish(id, t);
    }
  }
}

// The days a batch touches. Rows from the contracts carry UTC ISO times (…Z): one parse per new day.
function times(rows: Row[]): number[] {
  const out: number[] = [];
  let lastDay = '';
  for (const r of rows) {
    const iso = String(r.values[0]);
    const utc = iso.length === 24 && iso.endsWith('Z');
    if (utc && iso.slice(0, 10) === lastDay) continue;
    lastDay = utc ? iso.slice(0, 10) : '';
    const t = Date.parse(iso);
    if (!Number.isNaN(t)) out.push(t);
  }
  return out;
}
