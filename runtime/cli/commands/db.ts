// `linesight db migrate`: creates the timescale-sink tables ahead of time (hypertables when TimescaleDB
// is available, daily partitions otherwise), e.g. in a deployment step where the sink's database user
// may not create tables.
import type { Command } from 'commander';

interface MigrateOptions {
  url?: string;
  schema: string;
  timescale: 'auto' | 'off' | 'require';
  daysAhead: string;
  compressAfter: string;
  retain: string;
  tables?: string;
}

export function register(program: Command): void {
  const db = program.command('db').description('database schema for the timescale sink');
  db.command('migrate')
    .description('create the schema, tables, partitions and policies of timescale-sink (safe to run again)')
    .option('--url <url>', 'postgres://user@host:5432/db (default: LINESIGHT_PG_URL, then PG* environment variables); password via PGPASSWORD')
    .option('--schema <name>', 'schema for the tables', 'public')
    .option('--timescale <mode>', 'auto | off | require: hypertables when the extension is available', 'auto')
    .option('--days-ahead <n>', 'plain PostgreSQL: daily partitions created this many days ahead', '7')
    .option('--compress-after <days>', 'TimescaleDB: compression policy after this many days (0 = none)', '0')
    .option('--retain <days>', 'drop data older than this many days (0 = keep)', '0')
    .option('--tables <list>', 'comma-separated subset of inspections,detections,images,tag_samples,line_actions')
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
      const url = o.url ?? process.env.LINESIGHT_PG_URL;
      const client = new Client(url ? { connectionString: url, application_name: 'linesight db migrate' } : { application_name: 'linesight db migrate' });
      await client.connect();
      try {
        const report = await migrate(client, {
          schema: o.schema,
          tables,
          timescale: o.timescale,
          partitionDaysAhead: Math.max(1, num(o.daysAhead, '--days-ahead')),
          compressAfterDays: num(o.compressAfter, '--compress-after'),
          retainDays: num(o.retain, '--retain'),
        });
        console.log(`storage: ${report.mode === 'hypertable' ? 'TimescaleDB hypertables' : 'daily range partitions'} in schema ${o.schema}`);
        for (const t of report.tables) console.log(`  ${t.table}: ${t.kind}`);
        if (report.partitionsCreated.length) console.log(`  partitions created: ${report.partitionsCreated.length}`);
        for (const n of report.notes) console.log(`  note: ${n}`);
      } finally {
        await client.end();
      }
    });
}
