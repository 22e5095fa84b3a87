// timescale-sink in a real Node-RED against PostgreSQL (LINESIGHT_PG_URL) or embedded PGlite: contracts
// land typed, replays add nothing, bad rows are isolated and reported by field, hostile names refused,
// partitions exist ahead of time, and rows wait (memory, then disk) while the database is away.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Inspection, LineAction, TagSample } from '../../../contracts/messages';
import { sampleInspection } from '../../fixtures/contracts';
import { freshSchema, pgService, type PgService } from '../../support/services';
import { waitFor } from '../../support/wait';
import { DiskSpool } from '../../../nodes/timescale-sink/spool';
import { CuttableProxy, dropSchemaRetrying as dropSchema, helper, loadSink, query, sendAll, unloadSink } from './harness';

const DAY = 86_400_000;

describe('timescale-sink (integration)', function () {
  this.timeout(120_000);
  let pg: PgService;
  let schema: string;
  let tmp: string;

  before(async () => {
    pg = await pgService();
  });
  beforeEach(async () => {
    schema = await freshSchema(pg.url, 'sink');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-sink-'));
    await helper.startServer();
  });
  afterEach(async () => {
    await unloadSink();
    await helper.stopServer();
    await dropSchema(pg.url, schema);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const imageInspection = (i: number): Inspection => ({
    ...sampleInspection(i, 3),
    image: { data: Buffer.from([0xff, 0xd8, 0xff, i & 0xff, 0x00, 0x27, 0x5c]), format: 'jpeg', width: 1920, height: 1200 },
  });
  const tags: TagSample[] = [
    { device: 'plc1', tag: 'speed', value: 1.25, quality: 'good', ts: 1_760_000_000_500, unit: 'm/s' },
    { device: 'plc1', tag: 'running', value: true, quality: 'good', ts: 1_760_000_000_500 },
    { device: 'plc1', tag: 'recipe', value: "A7'); drop table tag_samples; --", quality: 'uncertain', ts: 1_760_000_000_500, reason: 'stale' },
  ];
  const action: LineAction = {
    actionId: 'act-1', ruleId: 'scratch-divert', kind: 'divert', severity: 'warning', inspectionId: 'insp-1', site: 'plant1', line: 'line1',
    ts: 1_760_000_000_900, writes: [{ tag: 'diverter', value: true }], reason: 'scratch >= 0.8',
  };

  for (const method of ['auto', 'unnest'] as const) {
    it(`stores each contract in its table with the right types and values; a replay adds no rows (method ${method})`, async () => {
      const run = await loadSink(pg.url, schema, { method });
      const payloads = [imageInspection(1), imageInspection(2), tags, tags[0], action];
      await sendAll(run, payloads);
      assert.deepEqual(run.caught.map((m) => m.error?.message), []);
      const q = (sql: string) => query(pg.url, sql.replace(/\$s/g, `"${schema}"`));

      const ins = await q(`select * from $s.inspections order by inspection_id`);
      assert.equal(ins.length, 2);
      assert.ok(ins[0].time instanceof Date);
      assert.equal(ins[0].time.getTime(), 1_760_000_000_001);
      assert.deepEqual({ ...ins[0], time: undefined }, {
        time: undefined, inspection_id: 'insp-1', site: 'plant1', line: 'line1', camera_id: 'cam1', product_serial: 'SN100001',
        model_version: 'yolo-v8.2', defect_count: 3, attributes: { shift: 'A' },
      });
      const det = await q(`select idx, defect_class, confidence, box_x, box_width, product_serial from $s.detections where inspection_id = 'insp-2' order by idx`);
      assert.deepEqual(det, [
        { idx: 0, defect_class: 'dent', confidence: 0.5, box_x: 0, box_width: 30, product_serial: 'SN100002' },
        { idx: 1, defect_class: 'scratch', confidence: 0.6, box_x: 10, box_width: 30, product_serial: 'SN100002' },
        { idx: 2, defect_class: 'dent', confidence: 0.7, box_x: 20, box_width: 30, product_serial: 'SN100002' },
      ]);
      const img = await q(`select kind, format, width, height, size_bytes, data, path from $s.images where inspection_id = 'insp-1'`);
      assert.deepEqual(img, [{ kind: 'full', format: 'jpeg', width: 1920, height: 1200, size_bytes: 7, data: Buffer.from([0xff, 0xd8, 0xff, 1, 0x00, 0x27, 0x5c]), path: null }]);
      const tg = await q(`select tag, value_num, value_bool, value_text, quality, reason, unit from $s.tag_samples order by tag`);
      assert.deepEqual(tg, [
        { tag: 'recipe', value_num: null, value_bool: null, value_text: "A7'); drop table tag_samples; --", quality: 'uncertain', reason: 'stale', unit: null },
        { tag: 'running', value_num: null, value_bool: true, value_text: null, quality: 'good', reason: null, unit: null },
        { tag: 'speed', value_num: 1.25, value_bool: null, value_text: null, quality: 'good', reason: null, unit: 'm/s' },
      ]);
      const act = await q(`select time, action_id, kind, severity, inspection_id, writes, reason from $s.line_actions`);
      assert.deepEqual(act, [{ time: new Date(1_760_000_000_900), action_id: 'act-1', kind: 'divert', severity: 'warning', inspection_id: 'insp-1', writes: [{ tag: 'diverter', value: true }], reason: 'scratch >= 0.8' }]);

      const counts = async () => (await q(`select (select count(*) from $s.inspections)::int i, (select count(*) from $s.detections)::int d, (select count(*) from $s.images)::int m, (select count(*) from $s.tag_samples)::int t, (select count(*) from $s.line_actions)::int a`))[0];
      const first = await counts();
      assert.deepEqual(first, { i: 2, d: 6, m: 2, t: 3, a: 1 });
      // The same messages again (a bridge replay, a spool replay): nothing new.
      await sendAll(run, payloads);
      assert.deepEqual(await counts(), first);
      assert.equal(run.caught.length, 0);
      await waitFor('green status', () => /rows written/.test(run.statuses.map((s) => s.text).filter(Boolean).pop() ?? ''));
    });
  }

  it('uses COPY on a server that supports it and unnest on embedded PGlite', async () => {
    const run = await loadSink(pg.url, schema, {});
    await sendAll(run, [sampleInspection(1, 1)]);
    await waitFor('status with the method', () => run.statuses.some((s) => /rows written \((copy|unnest)\)/.test(s.text ?? '')));
    const text = run.statuses.map((s) => s.text ?? '').find((t) => /\((copy|unnest)\)/.test(t))!;
    assert.match(text, pg.kind === 'real' ? /\(copy\)/ : /\(unnest\)/);
  });

  it('reports a row the database refuses with its field and reason; the rest of the batch lands', async () => {
    const run = await loadSink(pg.url, schema, { batchSize: 5000, batchAgeMs: 500 });
    const payloads = Array.from({ length: 40 }, (_, i) => sampleInspection(i, 2));
    // Passes the contract, but PostgreSQL text cannot hold a NUL character.
    payloads[17].productSerial = 'SN\u0000BAD';
    await sendAll(run, payloads);
    assert.equal(run.caught.length, 1);
    const err = run.caught[0].error;
    assert.match(err.message, /payload\.productSerial/);
    assert.match(err.message, /0x00/);
    assert.equal(run.caught[0].payload.inspectionId, 'insp-17');
    assert.equal(run.completed.length, 39);
    const [c] = await query(pg.url, `select (select count(*) from "${schema}".inspections)::int i, (select count(*) from "${schema}".detections)::int d, (select count(*) from "${schema}".inspections where inspection_id = 'insp-17')::int bad`);
    assert.deepEqual(c, { i: 39, d: 78, bad: 0 });
  });

  it('maps messages into a custom table; a check violation names the field; SQL in values is stored as text', async () => {
    await query(pg.url, `create table "${schema}".oven_readings (time timestamptz not null, oven text not null, temp double precision check (temp < 1000), note text, unique (oven, time))`);
    const run = await loadSink(pg.url, schema, {
      target: 'custom', table: 'oven_readings', createTables: false, keyColumns: 'oven',
      columns: [
        { column: 'time', field: 'payload.ts', type: 'timestamptz' },
        { column: 'oven', field: 'payload.oven', type: 'text' },
        { column: 'temp', field: 'payload.temp', type: 'double precision' },
        { column: 'note', field: 'payload.note', type: 'text' },
      ],
    });
    const readings = [
      { ts: 1000, oven: 'o1', temp: 180, note: "'); drop table oven_readings; --" },
      { ts: 1000, oven: 'o2', temp: 5000, note: 'too hot for the check' },
      { ts: 2000, oven: 'o1', temp: 'abc', note: 'not a number' },
      { ts: 2000, oven: 'o2', temp: 181, note: null },
    ];
    await sendAll(run, [readings]);
    assert.equal(run.caught.length, 1, 'one message, two refused rows, one error');
    const msg = run.caught[0].error.message;
    assert.match(msg, /2 rows of this message were not stored/);
    assert.match(msg, /payload\[1\]\.temp: new row for relation .* violates check constraint/);
    assert.match(msg, /payload\[2\]\.temp: invalid input syntax for type double precision: "abc"/);
    const rows = await query(pg.url, `select oven, temp, note from "${schema}".oven_readings order by time, oven`);
    assert.deepEqual(rows, [
      { oven: 'o1', temp: 180, note: "'); drop table oven_readings; --" },
      { oven: 'o2', temp: 181, note: null },
    ]);
  });

  it('refuses hostile table and column names in the config, naming the field', async () => {
    const run = await loadSink(pg.url, schema, {
      target: 'custom', table: 'x"; drop table y; --',
      columns: [{ column: 'time', field: 'payload.ts', type: 'timestamptz' }],
    });
    await waitFor('invalid config status', () => run.statuses.some((s) => s.text === 'invalid config'));
    run.sink.receive({ payload: { ts: 1 } });
    await waitFor('error', () => run.caught.length === 1);
    assert.match(run.caught[0].error.message, /table must match pattern/);
    await unloadSink();
    const run2 = await loadSink(pg.url, schema, {
      target: 'custom', table: 'ok_table',
      columns: [{ column: 'time', field: 'payload.ts', type: 'timestamptz' }, { column: 'a" text); drop table y; --', field: 'payload.a', type: 'text' }],
    });
    run2.sink.receive({ payload: { ts: 1 } });
    await waitFor('error', () => run2.caught.length === 1);
    assert.match(run2.caught[0].error.message, /columns\/1\/column|columns\[1\]\.column/);
    const t = await query(pg.url, `select count(*)::int n from pg_tables where schemaname = $1`, [schema]);
    assert.equal(t[0].n, 0, 'no table was created');
  });

  it('creates daily partitions ahead of time on plain PostgreSQL, and on demand for older data', async function () {
    const run = await loadSink(pg.url, schema, { timescale: 'off', partitionDaysAhead: 3 });
    await sendAll(run, [sampleInspection(1, 1)]);
    const parts = await query<{ name: string }>(
      pg.url,
      `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent join pg_namespace n on n.oid = p.relnamespace where n.nspname = $1 and p.relname = 'detections' order by 1`,
      [schema],
    );
    const name = (ms: number) => `detections_p${new Date(ms).toISOString().slice(0, 10).replace(/-/g, '')}`;
    const today = Math.floor(Date.now() / DAY) * DAY;
    const want = [name(1_760_000_000_000), ...[0, 1, 2, 3].map((d) => name(today + d * DAY))];
    assert.deepEqual(parts.map((p) => p.name), want.sort());
    const [kind] = await query(pg.url, `select c.relkind::text k from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = 'inspections'`, [schema]);
    assert.equal(kind.k, 'p');
  });

  it('makes hypertables when the TimescaleDB extension is available', async function () {
    const avail = await query(pg.url, `select 1 from pg_available_extensions where name = 'timescaledb'`).catch(() => []);
    if (!avail.length) {
      console.log('      [skip] timescaledb is not installed on this PostgreSQL; the hypertable path is tested where it is');
      this.skip();
    }
    const run = await loadSink(pg.url, schema, { timescale: 'require', compressAfterDays: 7, retainDays: 365 });
    await sendAll(run, [sampleInspection(1, 2), sampleInspection(1, 2)]);
    const h = await query(pg.url, `select hypertable_name from timescaledb_information.hypertables where hypertable_schema = $1 order by 1`, [schema]);
    assert.deepEqual(h.map((r) => r.hypertable_name), ['detections', 'images', 'inspections', 'line_actions', 'tag_samples']);
    const [c] = await query(pg.url, `select count(*)::int n from "${schema}".detections`);
    assert.equal(c.n, 2);
  });

  it('stores images as files in an external image store with the path in the table', async () => {
    const dir = path.join(tmp, 'images');
    const run = await loadSink(pg.url, schema, { images: 'path', imageDir: dir });
    await sendAll(run, [imageInspection(5)]);
    const [row] = await query(pg.url, `select path, data, size_bytes from "${schema}".images`);
    assert.equal(row.path, 'plant1/line1/2025-10-09/insp-5.jpg');
    assert.equal(row.data, null);
    assert.deepEqual(fs.readFileSync(path.join(dir, row.path)), Buffer.from([0xff, 0xd8, 0xff, 5, 0x00, 0x27, 0x5c]));
  });

  it('starts while the database is away, says so, and turns green when it comes back without any message', async () => {
    const proxy = CuttableProxy.forUrl(pg.url);
    await proxy.up();
    await proxy.down();
    const run = await loadSink(proxy.urlFor(pg.url), schema, {});
    await waitFor('red status naming the database problem', () => run.statuses.some((s) => s.fill === 'red' && /^database: /.test(s.text ?? '')), 20_000);
    await proxy.up(proxy.port);
    await waitFor('green status', () => run.statuses.length && run.statuses[run.statuses.length - 1].fill === 'green', 40_000);
    await unloadSink();
    await proxy.down();
  });

  it('while the database is unreachable keeps rows in memory, then on disk, says so, and writes each once when it is back', async () => {
    const proxy = CuttableProxy.forUrl(pg.url);
    await proxy.up();
    const spoolFile = path.join(tmp, 'spool.db');
    const cfg = { spool: true, spoolFile, maxMemoryRows: 300, batchSize: 100, batchAgeMs: 20 };
    // First deploy: create the tables, then cut the cable.
    let run = await loadSink(proxy.urlFor(pg.url), schema, cfg);
    await sendAll(run, [sampleInspection(0, 1)]);
    await proxy.down();
    // 300 messages of 3 rows: memory holds at most 300 rows (those wait, not done yet); the rest go to disk (done).
    for (let i = 0; i < 300; i++) run.sink.receive({ payload: sampleInspection(1000 + i, 2) });
    // Messages with every row on disk are done; those with a row still in memory wait.
    await waitFor('most messages done (their rows on disk)', () => run.completed.length >= 1 + 150, 20_000);
    assert.equal(run.caught.length, 0, 'nothing refused: memory, then the spool');
    await waitFor('status says unreachable', () => run.statuses.some((s) => /database unreachable: [\d,]+ rows in memory, [\d,]+ on disk/.test(s.text ?? '')), 20_000);
    // Redeploy while the database is still away: what is in memory goes to the spool too, and its messages are done.
    await unloadSink();
    assert.equal(run.caught.length, 0);
    const spool = new DiskSpool({ file: spoolFile });
    assert.equal(spool.rows, 900, 'all 300 messages (900 rows) wait on disk');
    spool.close();
    const [before] = await query(pg.url, `select count(*)::int n from "${schema}".inspections`);
    assert.equal(before.n, 1);
    await proxy.up(proxy.port);
    run = await loadSink(proxy.urlFor(pg.url), schema, cfg);
    await sendAll(run, [sampleInspection(0, 1), sampleInspection(1000, 2)]);
    await waitFor(
      'all rows written from the spool',
      async () => (await query(pg.url, `select (select count(*) from "${schema}".inspections)::int i, (select count(*) from "${schema}".detections)::int d`))[0],
      60_000,
    ).then(async () =>
      waitFor('301 inspections and 601 detections', async () => {
        const [c] = await query(pg.url, `select (select count(*) from "${schema}".inspections)::int i, (select count(*) from "${schema}".detections)::int d`);
        return c.i === 301 && c.d === 601;
      }, 60_000),
    );
    await waitFor('status back to green', () => run.statuses.length && run.statuses[run.statuses.length - 1].fill === 'green', 20_000);
    assert.equal(run.caught.length, 0);
    await unloadSink();
    await proxy.down();
  });
});
