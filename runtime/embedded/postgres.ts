// Embedded PostgreSQL for a machine with no database server: PGlite (Postgres compiled to WASM) served
// over the Postgres wire protocol, so the same `pg` client code runs against it and against a real server.
// Known limit (measured): COPY FROM STDIN through pglite-socket breaks the connection; callers that
// bulk-load must use batched INSERT ... SELECT FROM unnest(...) here.
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { ensurePrivateDir } from '../../lib/private-files';

export interface EmbeddedPostgres {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(opts: { dataDir?: string; port?: number; host?: string } = {}): Promise<EmbeddedPostgres> {
  // The database holds token hashes and every flow: private to this account, like the rest of a data dir.
  if (opts.dataDir) ensurePrivateDir(opts.dataDir);
  const db = await PGlite.create(opts.dataDir ? { dataDir: opts.dataDir } : {});
  const host = opts.host ?? '127.0.0.1';
  const server = new PGLiteSocketServer({ db, port: opts.port ?? 0, host, maxConnections: 64 });
  await server.start();
  const conn = server.getServerConn(); // "host:port"
  const port = Number(conn.split(':').pop());
  return {
    url: `postgres://postgres@${host}:${port}/postgres?sslmode=disable`,
    port,
    async stop() {
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
