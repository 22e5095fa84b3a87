// `linesight history serve`: the read-only history API (runtime/history) over the timescale-sink database,
// for the console's Quality section. A separate process from the repository: it holds only a read-only
// database role, and the history database may live elsewhere than the repository's.
import type { Command } from 'commander';

interface ServeOptions {
  db?: string;
  schema: string;
  port: string;
  host: string;
  role?: string;
  imageDir?: string;
  shifts: string;
  corsOrigin?: string;
  allowWritableRole?: boolean;
}

export function register(program: Command): void {
  const history = program.command('history').description('the read-only history API over the timescale-sink database');
  history
    .command('serve')
    .description(`serve ${'/api/v1/history'} (search, traceability, defect-rate series, worst lines, CSV export; OpenAPI at /api/v1/history/openapi.json)`)
    .option('--db <url>', 'postgres:// URL as a read-only role (default: LINESIGHT_HISTORY_DB_URL); password via PGPASSWORD')
    .option('--schema <name>', 'schema of the sink tables', 'public')
    .option('--port <n>', 'port (0 = any free one)', '8090')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--role <name>', 'SET ROLE to this read-only role for every query (when the URL\'s user is not that role)')
    .option('--image-dir <dir>', "the sink's image store, for images stored as files")
    .option('--shifts <hours>', 'shift start hours in UTC, for "worst lines this shift"', '6,14,22')
    .option('--cors-origin <origin>', 'allow a console served from this origin')
    .option('--allow-writable-role', 'start even when the database role could write (not for production)')
    .action(async (o: ServeOptions) => {
      /* eslint-disable @typescript-eslint/no-require-imports */
      const { startHistoryServer } = require('../../history/server') as typeof import('../../history/server');
      const { redactUrl } = require('../../../lib/redact') as typeof import('../../../lib/redact');
      /* eslint-enable @typescript-eslint/no-require-imports */
      const db = o.db ?? process.env.LINESIGHT_HISTORY_DB_URL;
      if (!db) throw new Error('--db is required (or set LINESIGHT_HISTORY_DB_URL)');
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, not ${o.port}`);
      const shifts = o.shifts.split(',').map((s) => Number(s.trim()));
      if (!shifts.length || shifts.some((h) => !Number.isInteger(h) || h < 0 || h > 23)) throw new Error(`--shifts must be hours 0..23, comma-separated, not ${o.shifts}`);
      const s = await startHistoryServer({
        db,
        schema: o.schema,
        port,
        host: o.host,
        role: o.role,
        imageDir: o.imageDir,
        shifts,
        token: process.env.LINESIGHT_HISTORY_TOKEN || undefined,
        corsOrigin: o.corsOrigin,
        allowWritableRole: o.allowWritableRole,
      });
      console.log(`linesight history API at ${s.url} (database ${redactUrl(db)}, schema ${o.schema}${process.env.LINESIGHT_HISTORY_TOKEN ? ', bearer token required' : ''})`);
      const stop = () => void s.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
