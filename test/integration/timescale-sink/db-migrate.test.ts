// `linesight db migrate` as a user runs it: a child process against the test database.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { dropSchema, pgService, type PgService } from '../../support/services';
import { query } from './harness';

const run = promisify(execFile);
const BIN = path.resolve(__dirname, '..', '..', '..', '..', 'bin', 'linesight.js');

describe('linesight db migrate', function () {
  this.timeout(60_000);
  let pg: PgService;
  const schema = `migrate_${process.pid}`;
  before(async () => (pg = await pgService()));
  after(async () => dropSchema(pg.url, schema));

  it('creates the schema and the five tables, partitioned by day, and is safe to run again', async () => {
    const args = [BIN, 'db', 'migrate', '--url', pg.url, '--schema', schema, '--days-ahead', '2'];
    const first = await run(process.execPath, args);
    assert.match(first.stdout, /storage: (TimescaleDB hypertables|daily range partitions) in schema migrate_/);
    const second = await run(process.execPath, args);
    assert.match(second.stdout, /inspections: (partitioned|hypertable)/);
    const tables = await query(pg.url, `select c.relname as t, c.relkind::text k from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relkind in ('r','p') and c.relname !~ '_p[0-9]{8}$' order by 1`, [schema]);
    const raw = ['detections', 'images', 'inspections', 'line_actions', 'tag_samples'];
    assert.deepEqual(tables.map((t) => t.t).filter((t) => raw.includes(t)), raw);
    // Beside them: the rollups (tables here; continuous aggregates with the Timescale licence) and the line/device map.
    const others = tables.map((t) => t.t).filter((t) => !raw.includes(t));
    assert.ok(others.every((t) => /_rollup_(1m|1h|1d)$|^line_devices$/.test(t)), others.join(', '));
    const cols = await query(pg.url, `select column_name from information_schema.columns where table_schema = $1 and table_name = 'inspections' order by ordinal_position limit 2`, [schema]);
    assert.deepEqual(cols.map((c) => c.column_name), ['time', 'inspection_id']);
  });

  it('creates a read-only role and the line/device map when asked, and prints the rollups', async () => {
    const role = `ls_ro_cli_${process.pid}`;
    try {
      const r = await run(process.execPath, [BIN, 'db', 'migrate', '--url', pg.url, '--schema', schema, '--readonly-role', role, '--line-device', 'line1=plc1', '--line-device', 'line1=plc1b']);
      assert.match(r.stdout, /inspection_rollup_1m: (continuous aggregate|rollup table kept by the sinks)/);
      assert.match(r.stdout, new RegExp(`created read-only role ${role}|${role} may read schema`));
      const priv = await query(pg.url, `select has_table_privilege($1, $2, 'SELECT') s, has_table_privilege($1, $2, 'INSERT') i`, [role, `"${schema}".inspections`]);
      assert.deepEqual(priv[0], { s: true, i: false });
      const ld = await query(pg.url, `select line, device from "${schema}".line_devices order by device`);
      assert.deepEqual(ld, [{ line: 'line1', device: 'plc1' }, { line: 'line1', device: 'plc1b' }]);
      await assert.rejects(run(process.execPath, [BIN, 'db', 'migrate', '--url', pg.url, '--schema', schema, '--line-device', 'line1']), /--line-device must be LINE=DEVICE/);
    } finally {
      await dropSchema(pg.url, schema);
      await query(pg.url, `drop owned by "${role}"; drop role if exists "${role}"`).catch(() => undefined);
    }
  });

  it('refuses a schema name that is not an identifier', async () => {
    await assert.rejects(run(process.execPath, [BIN, 'db', 'migrate', '--url', pg.url, '--schema', 'x"; drop schema public; --']), /schema .* is not a valid identifier/);
  });
});
