// Embedded PostgreSQL for a machine with no database server: PGlite (Postgres compiled to WASM) served
// over the Postgres wire protocol, so the same `pg` client code runs against it and against a real server.
// Known limit (measured): COPY FROM STDIN through pglite-socket breaks the connection; callers that
// bulk-load must use batched INSERT ... SELECT FROM unnest(...) here.
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { ensurePrivateDir } from '../../lib/private-files';

/** WAL kept by the embedded database: checkpoint past this much, keep this much recycled (MB). */
export const WAL_MAX_MB = 64;
export const WAL_MIN_MB = 32;
export const CHECKPOINT_EVERY_MS = 30_000;

export interface EmbeddedPostgres {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(opts: { dataDir?: string; port?: number; host?: string } = {}): Promise<EmbeddedPostgres> {
  // The database holds token hashes and every flow: private to this account, like the rest of a data dir.
  if (opts.dataDir) ensurePrivateDir(opts.dataDir);
  // PGlite runs Postgres as a single backend without a checkpointer: nothing checkpoints every 5 minutes,
  // nor once max_wal_size is written (measured: WAL kept growing past it), so every WAL segment stayed -- in
  // memory for the demo's histories, as much again as the rows (96 MiB of WAL after 13 minutes of the demo).
  // A CHECKPOINT every 30 s recycles the segments before it; max/min_wal_size bound what is kept (64 MiB).
  const startParams = [...PGlite.defaultStartParams, '-c', `max_wal_size=${WAL_MAX_MB}MB`, '-c', `min_wal_size=${WAL_MIN_MB}MB`];
  const db = await PGlite.create(opts.dataDir ? { dataDir: opts.dataDir, startParams } : { startParams });
  const checkpoints = setInterval(() => void db.exec('CHECKPOINT').catch(() => {}), CHECKPOINT_EVERY_MS);
  checkpoints.unref();
  const host = opts.host ?? '127.0.0.1';
  const server = new PGLiteSocketServer({ db, port: opts.port ?? 0, host, maxConnections: 64 });
  await server.start();
  const conn = server.getServerConn(); // "host:port"
  const port = Number(conn.split(':').pop());
  return {
    url: `postgres://postgres@${host}:${port}/postgres?sslmode=disable`,
    port,
    async stop() {
      clearInterval(checkpoints);
      await server.stop();
      await db.close();
    },
  };
}

/** True when the server behind `url` is embedded PGlite (no COPY FROM STDIN, no extensions). */
export async function isPglite(query: (sql: string) => Promise<{ rows: Array<Record<string, unknown>> }>): Promise<boolean> {
  const r = await query('select version() as v');
  return /pglite|wasm|emscripten/i.test(String(r.rows[0]?.v ?? ''));
}
