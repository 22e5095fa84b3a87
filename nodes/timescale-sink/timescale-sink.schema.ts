/** One column of a custom table and the message property it is filled from. */
export interface TimescaleSinkColumn {
  /** @pattern ^[A-Za-z_][A-Za-z0-9_]{0,62}$ */
  column: string;
  /**
   * Message property, e.g. payload.temperature (for an array payload: one row per element, payload = the element).
   * @pattern ^[A-Za-z_$][A-Za-z0-9_$]*(\[[0-9]+\])*(\.[A-Za-z_$][A-Za-z0-9_$]*(\[[0-9]+\])*)*$
   */
  field: string;
  type: 'timestamptz' | 'text' | 'integer' | 'bigint' | 'double precision' | 'boolean' | 'jsonb' | 'bytea';
}

export interface TimescaleSinkConfig {
  name?: string;
  /** The timescale-db config node. @minLength 1 @nodeType timescale-db */
  db: string;
  /**
   * `contracts`: Inspection -> inspections + detections (+ images), TagSample/TagSample[] -> tag_samples,
   * LineAction -> line_actions. `custom`: one table filled through `columns`.
   * @default "contracts"
   */
  target: 'contracts' | 'custom';
  /**
   * Custom table name.
   * @pattern ^[A-Za-z_][A-Za-z0-9_]{0,62}$
   */
  table?: string;
  /** Custom table columns. */
  columns?: TimescaleSinkColumn[];
  /**
   * Custom table: the timestamptz column that partitions the table.
   * @pattern ^[A-Za-z_][A-Za-z0-9_]{0,62}$
   * @default "time"
   */
  timeColumn: string;
  /**
   * Custom table: natural key columns, comma-separated (the time column is added); a replayed message
   * with the same key adds no row. Empty: no key, every message adds rows.
   * @pattern ^\s*([A-Za-z_][A-Za-z0-9_]{0,62}\s*(,\s*[A-Za-z_][A-Za-z0-9_]{0,62}\s*)*)?$
   */
  keyColumns?: string;
  /**
   * Create the schema, tables and partitions on first use (otherwise run `linesight db migrate`).
   * @default true
   */
  createTables: boolean;
  /**
   * Use TimescaleDB hypertables when the extension is available; `off` always uses daily partitions.
   * @default "auto"
   */
  timescale: 'auto' | 'off' | 'require';
  /**
   * Plain PostgreSQL: daily partitions are created this many days ahead.
   * @TJS-type integer
   * @minimum 1
   * @maximum 366
   * @default 7
   */
  partitionDaysAhead: number;
  /**
   * TimescaleDB: compress chunks older than this many days; 0 = no compression policy.
   * @TJS-type integer
   * @minimum 0
   * @default 0
   */
  compressAfterDays: number;
  /**
   * Drop history older than this many days (retention policy / old partitions); 0 = keep forever.
   * @TJS-type integer
   * @minimum 0
   * @default 0
   */
  retainDays: number;
  /**
   * Full-frame images: keep this many days (images are most of the bytes); empty = retainDays; 0 = forever.
   * @TJS-type integer
   * @minimum 0
   */
  imageRetainDays?: number;
  /**
   * Thumbnail and annotated image variants: keep this many days (may be longer than full frames);
   * empty = imageRetainDays; 0 = forever.
   * @TJS-type integer
   * @minimum 0
   */
  imageVariantRetainDays?: number;
  /**
   * Inspection images: not stored, bytes in the images table, or files under imageDir with the path in the table.
   * @default "database"
   */
  images: 'none' | 'database' | 'path';
  /** Folder of the external image store (images: path). */
  imageDir?: string;
  /**
   * Rows per batch.
   * @TJS-type integer
   * @minimum 1
   * @maximum 100000
   * @default 5000
   */
  batchSize: number;
  /**
   * A batch is written at the latest this many ms after its first row.
   * @TJS-type integer
   * @minimum 1
   * @maximum 60000
   * @default 200
   */
  batchAgeMs: number;
  /**
   * Batches written at the same time.
   * @TJS-type integer
   * @minimum 1
   * @maximum 32
   * @default 2
   */
  maxInFlight: number;
  /**
   * Rows held in memory while the database is slow or away; beyond this they go to the disk spool.
   * @TJS-type integer
   * @minimum 1
   * @default 100000
   */
  maxMemoryRows: number;
  /**
   * `auto`: COPY into a staging table where the server supports COPY FROM STDIN, else unnest inserts.
   * @default "auto"
   */
  method: 'auto' | 'copy' | 'unnest';
  /**
   * Keep rows on disk (a SQLite file) when memory is full, until the database is back.
   * @default true
   */
  spool: boolean;
  /** Spool file; default <userDir>/linesight/spool/timescale-sink-<node id>.db */
  spoolFile?: string;
  /**
   * Spool size limit in MB; beyond it new messages are refused with an error.
   * @minimum 1
   * @default 512
   */
  spoolMaxMB: number;
  /**
   * On redeploy or stop: keep writing for up to this long, then spool what is left.
   * @TJS-type integer
   * @minimum 0
   * @default 5000
   */
  closeGraceMs: number;
}
