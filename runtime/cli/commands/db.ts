// `linesight db migrate`: creates the timescale-sink tables ahead of time (hypertables when TimescaleDB
// is available, daily partitions otherwise), the rollups, policies and an optional read-only role, e.g. in
// a deployment step where the sink's database user may not create tables. One transaction under the same
// advisory lock the sinks take: run it from as many places at once as you like.
import type { Command } from 'commander';

interface MigrateOptions {
  url?: string;
  schema: string;
  timescale: 'auto' | 'off' | 'require';
  daysAhead: string;
  compressAfter: string;
  retain: string;
  imageRetain?: string;
  imageVariantRetain?: string;
  tables?: string;
  readonlyRole?: string;
  readonlyPasswordEnv?: string;
  lineDevice: string[];
}

export function register(program: Command): void {
  const db = program.command('db').description('database schema for the timescale sink');
  db.command('migrate')
    .description('create the schema, tables, partitions and policies of timescale-sink (safe to run again)')
    .option('--url <url>', 'postgres://user@host:5432/db (default: LINESIGHT_PG_URL, then PG* environment variables); password via PGPASSWORD')
    .option('--schema <name>', 'schema for the tables', 'public')
    .option('--timescale <mode>', 'auto | off | require: hypertables when the extension is available', 'auto')
    .option('--days-ahead <n>', 'plain PostgreSQL: daily partitions created this many days ahead', '7')
    .option('--compress-after <days>', 'TimescaleDB (Timescale licence): compression policy after this many days (0 = none; removes an existing one)', '0')
    .option('--retain <days>', 'drop rows older than this many days (0 = keep; removes an existing policy)', '0')
    .option('--image-retain <days>', 'full-frame images: keep this many days (default: --retain; 0 = keep)')
    .option('--image-variant-retain <days>', 'thumbnail/annotated images: keep this many days (default: --image-retain; 0 = keep)')
    .option('--tables <list>', 'comma-separated subset of inspections,detections,images,tag_samples,line_actions')
    .option('--readonly-role <name>', 'create (if missing) a login role that may only SELECT this schema, for the history API')
    .option('--readonly-password-env <VAR>', 'environment variable holding the password of a newly created read-only role')
    .option('--line-device <line=device>', "a PLC device of a line, for traceability's tag samples (repeatable)", (v: string, acc: string[]) => [...acc, v], [] as string[])
    .action(async (o: MigrateOptions) => {
      /* eslint-disable @typescript-eslint/no-require-imports */
      const { Client } = require('pg') as typeof import('pg');
      const { migrate, CONTRACT_TABLES } = require('../../../nodes/timescale-sink') as typeof import('../../../nodes/timescale-sink');
      /* eslint-enable @typescript-eslint/no-require-imports */
      if (!['auto', 'off', 'require'].includes(o.timescale)) throw new Error(`--timescale must be auto, off or require, not ${o.timescale}`);
      const num = (v: string, flag: string) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} must be a whole number >= 0, not ${v}`);
        return n;
      };
      const names = o.tables ? o.tables.split(',').map((s) => s.trim()).filter(Boolean) : Object.keys(CONTRACT_TABLES);
      const tables = names.map((n) => {
        const t = (CONTRACT_TABLES as Record<string, (typeof CONTRACT_TABLES)[keyof typeof CONTRACT_TABLES]>)[n];
        if (!t) throw new Error(`--tables: unknown table ${n} (known: ${Object.keys(CONTRACT_TABLES).join(', ')})`);
        return t;
      });
      const lineDevices = o.lineDevice.map((v) => {
        const m = /^([^=]+)=(.+)$/.exec(v);
        if (!m) throw new Error(`--line-device must be LINE=DEVICE, not ${v}`);
        return { line: m[1].trim(), device: m[2].trim() };
      });
      let readonlyPassword: string | undefined;
      if (o.readonlyPasswordEnv) {
        readonlyPassword = process.env[o.readonlyPasswordEnv];
        if (!readonlyPassword) throw new Error(`--readonly-password-env: environment variable ${o.readonlyPasswordEnv} is not set`);
      }
      const url = o.url ?? process.env.LINESIGHT_PG_URL;
      const client = new Client(url ? { connectionString: url, application_name: 'linesight db migrate' } : { application_name: 'linesight db migrate' });
      // A server that ends the session (e.g. FATAL) must give an error message, not an unhandled 'error' event.
      let lost: Error | undefined;
      client.on('error', (err) => (lost = err));
      await client.connect();
      try {
        const report = await migrate(client, {
          schema: o.schema,
          tables,
          timescale: o.timescale,
          partitionDaysAhead: Math.max(1, num(o.daysAhead, '--days-ahead')),
          compressAfterDays: num(o.compressAfter, '--compress-after'),
          retainDays: num(o.retain, '--retain'),
          imageRetainDays: o.imageRetain === undefined ? undefined : num(o.imageRetain, '--image-retain'),
          imageVariantRetainDays: o.imageVariantRetain === undefined ? undefined : num(o.imageVariantRetain, '--image-variant-retain'),
          readonlyRole: o.readonlyRole,
          readonlyPassword,
          lineDevices,
        }).catch((err: Error) => {
          throw lost && lost !== err ? new Error(`${err.message} (connection lost: ${lost.message})`) : err;
        });
        const ts = report.timescale;
        console.log(`storage: ${report.mode === 'hypertable' ? 'TimescaleDB hypertables' : 'daily range partitions'} in schema ${o.schema}`);
        if (ts.installed) console.log(`  timescaledb ${ts.version}, licence ${ts.license ?? 'unknown'}${report.fullLicence ? ' (compression, policies, continuous aggregates)' : ''}`);
        for (const t of report.tables) console.log(`  ${t.table}: ${t.kind}`);
        for (const r of report.rollups) console.log(`  ${r.name}: ${r.kind === 'continuous-aggregate' ? 'continuous aggregate' : r.kind === 'table' ? 'rollup table kept by the sinks' : r.kind}`);
        if (report.partitionsCreated.length) console.log(`  partitions created: ${report.partitionsCreated.length}`);
        for (const n of report.notes) console.log(`  note: ${n}`);
      } finally {
        await client.end().catch(() => undefined);
      }
    });
}
