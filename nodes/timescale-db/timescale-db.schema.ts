/** The database behind timescale-sink nodes: TimescaleDB, or plain PostgreSQL. */
export interface TimescaleDbConfig {
  name?: string;
  /**
   * Connection URL, e.g. postgres://linesight@db.factory:5432/history. When set it takes precedence over
   * host/port/database/user. Keep the password out of it: use the Password credential.
   */
  url?: string;
  /** Host; else PGHOST; else 127.0.0.1. */
  host?: string;
  /**
   * Port; else PGPORT; else 5432.
   * @TJS-type integer
   * @minimum 1
   * @maximum 65535
   */
  port?: number;
  /** Database name; else PGDATABASE; else postgres. */
  database?: string;
  /** User; else PGUSER; else postgres. */
  user?: string;
  /**
   * TLS: off, encrypted without checking the certificate, or encrypted with the server verified
   * against the CA file (or the system CAs).
   * @default "disable"
   */
  tls: 'disable' | 'require' | 'verify-full';
  /** PEM file with the CA that signed the server certificate (tls: verify-full). */
  caFile?: string;
  /**
   * Connections in the pool shared by every sink using this database.
   * @TJS-type integer
   * @minimum 1
   * @maximum 100
   * @default 10
   */
  poolSize: number;
  /**
   * Schema holding the tables.
   * @pattern ^[A-Za-z_][A-Za-z0-9_]{0,62}$
   * @default "public"
   */
  schema: string;
  /**
   * Give up a connection attempt after this many ms (the sink then retries with backoff).
   * @TJS-type integer
   * @minimum 100
   * @default 10000
   */
  connectTimeoutMs: number;
}
