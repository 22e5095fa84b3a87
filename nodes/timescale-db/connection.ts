// One PostgreSQL connection pool per timescale-db config node: configuration resolved explicit >
// environment (PGHOST, ...) > defaults, TLS, the password from Node-RED credentials (never logged),
// and what the server can do (COPY FROM STDIN, TimescaleDB), learnt once.
import fs from 'node:fs';
import { Pool, type PoolConfig } from 'pg';
import { LinesightError } from '../../contracts/errors';
import { assertIdentifier } from './identifiers';
import type { TimescaleDbConfig } from './timescale-db.schema';

export interface DbCredentials {
  password?: string;
}

export interface ServerInfo {
  version: string;
  /** Embedded PGlite: no COPY FROM STDIN and one session shared by all connections. */
  pglite: boolean;
  copy: boolean;
  timescaleInstalled: boolean;
}

export function poolConfigFor(cfg: TimescaleDbConfig, creds: DbCredentials = {}, env: NodeJS.ProcessEnv = process.env): PoolConfig {
  const base: PoolConfig = {
    max: cfg.poolSize ?? 10,
    connectionTimeoutMillis: cfg.connectTimeoutMs ?? 10_000,
    idleTimeoutMillis: 30_000,
    application_name: 'linesight',
    // A query that hangs on a half-open socket must not hold a batch forever.
    query_timeout: 120_000,
    keepAlive: true,
  };
  if (cfg.url) {
    let u: URL;
    try {
      u = new URL(cfg.url);
    } catch {
      throw new LinesightError('url is not a valid URL (expected postgres://user@host:5432/database)', { field: 'url' });
    }
    if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new LinesightError(`url must start with postgres://, not ${u.protocol}//`, { field: 'url' });
    base.connectionString = cfg.url;
  } else {
    base.host = cfg.host || env.PGHOST || '127.0.0.1';
    base.port = cfg.port || Number(env.PGPORT) || 5432;
    base.database = cfg.database || env.PGDATABASE || 'postgres';
    base.user = cfg.user || env.PGUSER || 'postgres';
  }
  if (creds.password) base.password = creds.password;
  if (cfg.tls === 'require') base.ssl = { rejectUnauthorized: false };
  else if (cfg.tls === 'verify-full') {
    let ca: string | undefined;
    if (cfg.caFile) {
      try {
        ca = fs.readFileSync(cfg.caFile, 'utf8');
      } catch (err) {
        throw new LinesightError(`caFile cannot be read: ${(err as Error).message}`, { field: 'caFile' });
      }
    }
    base.ssl = { rejectUnauthorized: true, ...(ca ? { ca } : {}) };
  }
  return base;
}

/** Host/port/database for status and logs, never the password. */
export function describeTarget(cfg: PoolConfig): string {
  if (cfg.connectionString) {
    const u = new URL(cfg.connectionString);
    return `${u.hostname}:${u.port || 5432}${u.pathname}`;
  }
  return `${cfg.host}:${cfg.port}/${cfg.database}`;
}

export class Database {
  readonly pool: Pool;
  readonly schema: string;
  readonly target: string;
  private info?: Promise<ServerInfo>;
  private closed = false;
  /** Called for errors of idle connections (a restarting server); the pool replaces them. */
  onIdleError?: (err: Error) => void;

  constructor(cfg: TimescaleDbConfig, creds: DbCredentials = {}, env?: NodeJS.ProcessEnv) {
    this.schema = assertIdentifier(cfg.schema ?? 'public', 'schema');
    const pc = poolConfigFor(cfg, creds, env);
    this.target = describeTarget(pc);
    this.pool = new Pool(pc);
    // Without a listener an idle client's error (server restart) would crash the process.
    this.pool.on('error', (err) => this.onIdleError?.(err));
  }

  /** What the server supports; asked once per successful connection, retried after a failure. */
  serverInfo(): Promise<ServerInfo> {
    this.info ??= (async () => {
      const v = await this.pool.query(`select version() as v, exists(select 1 from pg_extension where extname = 'timescaledb') as ts`);
      const version = String(v.rows[0].v);
      const pglite = /pglite|wasm|emscripten/i.test(version);
      return { version, pglite, copy: !pglite, timescaleInstalled: v.rows[0].ts === true };
    })();
    this.info.catch(() => (this.info = undefined));
    return this.info;
  }

  private users = 0;
  private released?: () => void;

  /** A node starts using the pool; the pool stays open until every user has released it. */
  acquire(): void {
    this.users++;
  }

  release(): void {
    this.users = Math.max(0, this.users - 1);
    if (this.users === 0) this.released?.();
  }

  /**
   * Ends the pool once every user released it (sinks flush during their own close), or after `waitMs`.
   * Node-RED may close the config node before the nodes that use it.
   */
  async close(waitMs = 15_000): Promise<void> {
    if (this.closed) return;
    if (this.users > 0) {
      let t: NodeJS.Timeout | undefined;
      await new Promise<void>((r) => {
        this.released = r;
        t = setTimeout(r, waitMs);
      });
      clearTimeout(t);
    }
    this.closed = true;
    await this.pool.end();
  }
}
