// The history on PostgreSQL (LINESIGHT_PG_URL) or embedded PGlite: rollups the sink keeps equal count(*)
// over the raw rows after late and replayed data; traceability returns the line's tag samples of the time
// window; the API refuses writes because its role cannot write; bad input is a 400 naming the field;
// concurrent `db migrate` leaves exactly one schema; images are retained apart from rows.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { migrate } from '../../../nodes/timescale-sink/db-schema';
import { CONTRACT_TABLES } from '../../../nodes/timescale-sink/row-mapper';
import { startHistoryServer, type HistoryServer } from '../../../runtime/history/server';
import { freshSchema, pgService, type PgService } from '../../support/services';
import { dropSchemaRetrying as dropSchema, query } from '../timescale-sink/harness';
import { action, assertRollupsMatch, BASE, inspection, openSink, tagBatch, type Sink } from './support';

const run = promisify(execFile);
const BIN = path.resolve(__dirname, '..', '..', '..', '..', 'bin', 'linesight.js');

describe('history: rollups, traceability and the read-only API', function () {
  this.timeout(180_000);
  let pg: PgService;
  let schema: string;
  let sink: Sink | undefined;
  let api: HistoryServer | undefined;
  const roles: string[] = [];

  before(async () => (pg = await pgService()));
  beforeEach(async () => (schema = await freshSchema(pg.url, 'hist')));
  afterEach(async () => {
    await api?.close();
    api = undefined;
    await sink?.close();
    sink = undefined;
    await dropSchema(pg.url, schema);
  });
  after(async () => {
    for (const r of roles) await query(pg.url, `drop owned by "${r}"; drop role if exists "${r}"`).catch(() => undefined);
  });

  for (const method of ['auto', 'unnest'] as const) {
    it(`rollups equal a direct count(*) after late and replayed data (method ${method})`, async () => {
      sink = await openSink(pg.url, schema, { method });
      const first = Array.from({ length: 300 }, (_, i) => inspection(i));
      const tags = Array.from({ length: 200 }, (_, i) => tagBatch(i));
      assert.deepEqual(await sink.send([...first, ...tags]), []);
      await assertRollupsMatch(pg.url, schema);
      // Late data (two days before the rest), replays of what is stored, and batches mixing both.
      const late = Array.from({ length: 60 }, (_, i) => inspection(1000 + i, BASE - 2 * 86_400_000 + i * 60_000));
      const lateTags = Array.from({ length: 40 }, (_, i) => tagBatch(1000 + i, BASE - 2 * 86_400_000 + i * 30_000));
      assert.deepEqual(await sink.send([...first.slice(0, 150), ...late, ...tags.slice(50), ...lateTags]), []);
      assert.deepEqual(await sink.send([...first, ...late, ...tags, ...lateTags]), []);
      const raw = await query(pg.url, `select (select count(*)::int from "${schema}".inspections) i, (select count(*)::int from "${schema}".tag_samples) t`);
      assert.deepEqual(raw[0], { i: 360, t: 720 }, 'replays added no raw rows');
      await assertRollupsMatch(pg.url, schema);
      const total = await query(pg.url, `select sum(inspections)::int n, sum(detections)::int d from "${schema}".inspection_rollup_1d`);
      const direct = await query(pg.url, `select count(*)::int n, sum(defect_count)::int d from "${schema}".inspections`);
      assert.deepEqual(total[0], direct[0]);
    });
  }

  it('rollups made for a history that already has rows (an upgrade) start equal to count(*)', async () => {
    const c0 = await connect(pg.url);
    await migrate(c0, { schema, tables: Object.values(CONTRACT_TABLES), rollups: false }).finally(() => c0.end());
    sink = await openSink(pg.url, schema, { createTables: false });
    assert.deepEqual(await sink.send([...Array.from({ length: 80 }, (_, i) => inspection(i)), ...Array.from({ length: 30 }, (_, i) => tagBatch(i))]), []);
    const c1 = await connect(pg.url);
    const report = await migrate(c1, { schema, tables: Object.values(CONTRACT_TABLES) }).finally(() => c1.end());
    assert.ok(report.notes.some((n) => /inspection_rollup_1m: filled from 80 inspections rows/.test(n)) || report.rollups.every((r) => r.kind === 'continuous-aggregate'), report.notes.join('\n'));
    await assertRollupsMatch(pg.url, schema);
  });

  it('traceability: an inspection with its detections, images, the line\'s tag samples within ± window, actions and model version', async () => {
    const c0 = await connect(pg.url);
    await migrate(c0, { schema, tables: Object.values(CONTRACT_TABLES), lineDevices: [{ line: 'line1', device: 'plc-l1' }] }).finally(() => c0.end());
    sink = await openSink(pg.url, schema);
    const t = BASE + 3_600_000;
    const insp = { ...inspection(1, t), line: 'line1', image: { data: Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2]), format: 'jpeg' as const, width: 64, height: 48 } };
    // Samples every second from t-20 s to t+20 s on the line's PLC, and on another line's PLC at the same times.
    const samples = Array.from({ length: 41 }, (_, k) => [
      { device: 'plc-l1', tag: 'speed', value: 100 + k, quality: 'good' as const, ts: t + (k - 20) * 1000 + 300, unit: 'mm/s' },
      { device: 'plc-l2', tag: 'speed', value: -1, quality: 'good' as const, ts: t + (k - 20) * 1000 + 300 },
    ]);
    assert.deepEqual(await sink.send([insp, ...samples, action(1, insp)]), []);
    assert.deepEqual(await sink.send([{ ...insp, image: { ...insp.image, data: Buffer.from('thumb'), width: 16, height: 12 } }], 'thumbnail'), []);
    api = await startHistoryServer({ db: pg.url, schema, allowWritableRole: true });
    const d = await get(`${api.url}/inspections/insp-1?window=5`);
    assert.equal(d.status, 200, JSON.stringify(d.body));
    const body = d.body;
    assert.equal(body.inspection.productSerial, 'SN-100001');
    assert.equal(body.modelVersion, 'v2');
    assert.equal(body.detections.length, 1);
    assert.deepEqual(body.tags.devices, ['plc-l1']);
    const times = body.tags.samples.map((s: { time: string }) => Date.parse(s.time));
    assert.equal(body.tags.samples.length, 10, 'samples at t-4.7 s .. t+4.3 s: 10 of them, none of the other line');
    assert.ok(times.every((x: number) => x >= t - 5000 && x <= t + 5000), 'all inside ± 5 s');
    assert.ok(body.tags.samples.every((s: { device: string }) => s.device === 'plc-l1'));
    assert.deepEqual(body.tags.atInspection.map((s: { value: number; time: string }) => [s.value, s.time]), [[119, new Date(t - 700).toISOString()]], 'the last reading at or before the inspection');
    assert.deepEqual(body.actions.map((a: { ruleId: string; kind: string }) => [a.ruleId, a.kind]), [['hole-stop', 'stop']]);
    assert.deepEqual(body.images.map((i: { kind: string }) => i.kind).sort(), ['full', 'thumbnail']);
    const img = await fetch(`http://127.0.0.1:${api.port}${body.images.find((i: { kind: string }) => i.kind === 'full').url}`);
    assert.equal(img.status, 200);
    assert.equal(img.headers.get('content-type'), 'image/jpeg');
    assert.deepEqual(Buffer.from(await img.arrayBuffer()), insp.image.data);
    const wide = await get(`${api.url}/inspections/insp-1?window=20`);
    assert.equal(wide.body.tags.samples.length, 40);
    const s = await get(`${api.url}/search?q=SN-10000`);
    assert.deepEqual(s.body.hits.map((h: { inspectionId: string }) => h.inspectionId), ['insp-1']);
    const p = await get(`${api.url}/products/SN-100001`);
    assert.equal(p.body.inspections[0].inspection.inspectionId, 'insp-1');
  });

  it('an inspection from a sink without images and a line with no devices mapped: the detail still answers, with every device', async () => {
    sink = await openSink(pg.url, schema, { images: 'none' });
    await query(pg.url, `drop table "${schema}".line_devices`);
    const t = BASE + 7_200_000;
    assert.deepEqual(await sink.send([inspection(5, t), [{ device: 'plcA', tag: 'speed', value: 3, quality: 'good', ts: t - 1000 }, { device: 'plcB', tag: 'speed', value: 4, quality: 'good', ts: t + 1000 }]]), []);
    api = await startHistoryServer({ db: pg.url, schema, allowWritableRole: true });
    const d = await get(`${api.url}/inspections/insp-5`);
    assert.equal(d.status, 200, JSON.stringify(d.body));
    assert.deepEqual(d.body.images, []);
    assert.equal(d.body.tags.devices, 'all');
    assert.deepEqual(d.body.tags.samples.map((x: { device: string }) => x.device), ['plcA', 'plcB']);
  });

  it('defect-rate series, worst lines and CSV export come from the rollups and the rows', async () => {
    sink = await openSink(pg.url, schema);
    const all = Array.from({ length: 90 }, (_, i) => inspection(i, BASE + i * 20_000));
    assert.deepEqual(await sink.send(all), []);
    api = await startHistoryServer({ db: pg.url, schema, allowWritableRole: true, now: () => BASE + 3_600_000, shifts: [6, 14, 22] });
    const from = new Date(BASE).toISOString();
    const to = new Date(BASE + 3_600_000).toISOString();
    const byLine = await get(`${api.url}/defect-rate?from=${from}&to=${to}&bucket=hour&by=line`);
    assert.equal(byLine.status, 200, JSON.stringify(byLine.body));
    for (const l of ['line0', 'line1', 'line2']) {
      const mine = all.filter((x) => x.line === l);
      const pt = byLine.body.points.find((x: { key: string }) => x.key === l);
      assert.equal(pt.inspections, mine.length);
      assert.equal(pt.defective, mine.filter((x) => x.detections.length > 0).length);
      assert.equal(pt.defectRate, pt.defective / pt.inspections);
    }
    const byClass = await get(`${api.url}/defect-rate?from=${from}&to=${to}&bucket=minute&by=class&defectClass=hole`);
    const holes = all.flatMap((x) => x.detections).filter((x) => x.defectClass === 'hole').length;
    assert.equal(byClass.body.points.reduce((n: number, x: { detections: number }) => n + x.detections, 0), holes);
    // A series larger than maxPoints is refused naming maxPoints, not cut short; exactly maxPoints is served.
    const perMinute = await get(`${api.url}/defect-rate?from=${from}&to=${to}&bucket=minute&by=line`);
    const n = perMinute.body.points.length;
    assert.ok(n > 3, `${n} points by line per minute`);
    const exact = await get(`${api.url}/defect-rate?from=${from}&to=${to}&bucket=minute&by=line&maxPoints=${n}`);
    assert.equal(exact.status, 200, JSON.stringify(exact.body));
    assert.deepEqual(exact.body.points, perMinute.body.points);
    const over = await get(`${api.url}/defect-rate?from=${from}&to=${to}&bucket=minute&by=line&maxPoints=${n - 1}`);
    assert.equal(over.status, 400, JSON.stringify(over.body));
    assert.equal(over.body.field, 'maxPoints');
    assert.match(over.body.error, new RegExp(`more than ${n - 1} points \\(minute buckets per line\\); choose bucket=hour`));
    const overClass = await get(`${api.url}/defect-rate?from=${from}&to=${to}&bucket=minute&by=class&maxPoints=1`);
    assert.equal(overClass.status, 400, JSON.stringify(overClass.body));
    assert.equal(overClass.body.field, 'maxPoints');
    const worst = await get(`${api.url}/worst-lines`);
    assert.equal(worst.body.from, new Date(BASE).toISOString(), 'this shift began at 06:00 UTC');
    const rates = worst.body.lines.map((x: { defectRate: number }) => x.defectRate);
    assert.deepEqual(rates, [...rates].sort((a: number, b: number) => b - a));
    assert.equal(worst.body.lines.length, 3);
    const csv = await fetch(`${api.url}/export.csv?from=${from}&to=${to}&line=line1`);
    assert.equal(csv.status, 200);
    const lines = (await csv.text()).trim().split('\r\n');
    assert.equal(lines[0], 'time,inspection_id,product_serial,site,line,camera_id,model_version,defect_count,defect_classes');
    assert.equal(lines.length - 1, all.filter((x) => x.line === 'line1').length);

    // Model comparison: per line and model version, the rate, classes and confidence distribution of its rows.
    const cmp = await get(`${api.url}/model-comparison?from=${from}&to=${to}&line=line1`);
    assert.equal(cmp.status, 200, JSON.stringify(cmp.body));
    const mine = all.filter((x) => x.line === 'line1');
    const versions = [...new Set(mine.map((x) => x.modelVersion ?? null))].sort((a, b) => String(a).localeCompare(String(b)));
    assert.deepEqual(cmp.body.rows.map((r: { modelVersion: string | null }) => r.modelVersion), versions);
    for (const row of cmp.body.rows) {
      const of = mine.filter((x) => (x.modelVersion ?? null) === row.modelVersion);
      const dets = of.flatMap((x) => x.detections);
      assert.equal(row.inspections, of.length);
      assert.equal(row.defective, of.filter((x) => x.detections.length > 0).length);
      assert.equal(row.detections, dets.length);
      const bins = new Array(10).fill(0);
      for (const d of dets) bins[Math.min(9, Math.floor(Math.round(d.confidence * 1e6) / 1e5))]++;
      assert.deepEqual(row.confidenceBins, bins, `confidence bins of ${row.modelVersion}`);
      const classes: Record<string, number> = {};
      for (const d of dets) classes[d.defectClass] = (classes[d.defectClass] ?? 0) + 1;
      assert.deepEqual(row.classes, classes);
      if (dets.length) assert.ok(Math.abs(row.meanConfidence - dets.reduce((a, d) => a + d.confidence, 0) / dets.length) < 1e-6);
    }
    assert.equal((await get(`${api.url}/model-comparison?from=${to}&to=${from}`)).status, 400);
  });

  it('refuses bad input with a 400 naming the field, unknown paths with 404, writes with 405 — never a 500', async () => {
    sink = await openSink(pg.url, schema);
    api = await startHistoryServer({ db: pg.url, schema, allowWritableRole: true });
    const cases: Array<[string, number, string?]> = [
      ['/search', 400, 'q'],
      ['/search?q=' + 'x'.repeat(500), 400, 'q'],
      ['/search?q=a%00b', 400, 'q'],
      ['/search?q=a&limit=abc', 400, 'limit'],
      ['/search?q=a&limit=100000', 400, 'limit'],
      ['/search?q=a&colour=red', 400, 'colour'],
      ['/search?q=%25%5F%5C', 200],
      ['/defect-rate?bucket=week', 400, 'bucket'],
      ['/defect-rate?by=shoe', 400, 'by'],
      ['/defect-rate?from=yesterday', 400, 'from'],
      ['/defect-rate?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z', 400, 'from'],
      ['/defect-rate?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z&bucket=minute', 400, 'from'],
      ['/defect-rate?from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z&bucket=minute', 400, 'bucket'],
      ['/defect-rate?defectClass=hole', 400, 'defectClass'],
      ['/defect-rate?maxPoints=0', 400, 'maxPoints'],
      ['/defect-rate?maxPoints=100001', 400, 'maxPoints'],
      ['/defect-rate?to=99999999999999999999', 400, 'to'],
      ['/inspections/nope', 404, 'inspectionId'],
      ['/inspections/nope?window=-1', 400, 'window'],
      ['/inspections/nope/images/full', 404, 'kind'],
      ['/products/none', 404, 'serial'],
      ['/worst-lines?limit=0', 400, 'limit'],
      ['/export.csv?limit=x', 400, 'limit'],
      ['/nothing', 404],
      ['/inspections/%E0%A4%A', 400],
    ];
    for (const [p, status, field] of cases) {
      const r = await get(`${api.url}${p}`);
      assert.equal(r.status, status, `${p}: ${JSON.stringify(r.body)}`);
      if (field) assert.equal(r.body.field, field, `${p}: ${JSON.stringify(r.body)}`);
    }
    for (const m of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const r: Response = await fetch(`${api.url}/search?q=a`, { method: m, body: m === 'DELETE' ? undefined : '{}' });
      assert.equal(r.status, 405, m);
    }
    const doc = await get(`${api.url}/openapi.json`);
    assert.equal(doc.body.openapi, '3.1.0');
    // Every documented GET path answers with something other than 404 "no such resource" or 500.
    for (const p of Object.keys(doc.body.paths)) {
      const r = await get(`${api.url}${p.replace('{inspectionId}', 'insp-x').replace('{kind}', 'full').replace('{serial}', 'SN-x')}${p === '/search' ? '?q=x' : ''}`);
      assert.ok(r.status < 500 && !/no such resource/.test(JSON.stringify(r.body)), `${p}: ${r.status}`);
    }
  });

  it('the API refuses writes because its role cannot write, and will not start as a role that can', async () => {
    const role = `ls_ro_${crypto.randomBytes(4).toString('hex')}`;
    roles.push(role);
    const c = await connect(pg.url);
    try {
      await migrate(c, { schema, tables: Object.values(CONTRACT_TABLES), readonlyRole: role });
    } finally {
      await c.end();
    }
    await assert.rejects(startHistoryServer({ db: pg.url, schema }), /role can write \(.*INSERT on /);
    // A real server: log in as the role. Embedded PGlite has a single user: SET ROLE to it.
    const asRole = pg.kind === 'real' ? { db: withUser(pg.url, role) } : { db: pg.url, role };
    api = await startHistoryServer({ schema, ...asRole });
    const r = await get(`${api.url}/search?q=SN`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    // Outside the API's read-only transactions too, the role cannot write.
    const write = `insert into "${schema}".inspections (time, inspection_id, site, line, camera_id, defect_count) values (now(), 'x', 's', 'l', 'c', 0)`;
    const err = await api.queries
      .read(async (q) => {
        await q.query('set transaction read write').catch(() => undefined);
        return q.query(write);
      })
      .then(() => undefined, (e: { code?: string }) => e.code);
    assert.ok(err === '42501' || err === '25006', `write refused (got ${err})`);
    if (pg.kind === 'real') {
      const direct = await api.pool.query(write).then(() => 'written', (e: { code?: string }) => e.code);
      assert.equal(direct, '42501', 'the role itself has no INSERT privilege');
    } else {
      const cl = await connect(pg.url);
      try {
        await cl.query('begin');
        await cl.query(`set local role "${role}"`);
        const direct = await cl.query(write).then(() => 'written', (e: { code?: string }) => e.code);
        assert.equal(direct, '42501', 'the role itself has no INSERT privilege');
      } finally {
        await cl.query('rollback').catch(() => undefined);
        await cl.end();
      }
    }
    const rows = await query(pg.url, `select count(*)::int n from "${schema}".inspections`);
    assert.equal(rows[0].n, 0);
  });

  it('linesight history serve: refuses a role that can write, serves with --allow-writable-role', async () => {
    sink = await openSink(pg.url, schema);
    const refused = await run(process.execPath, [BIN, 'history', 'serve', '--db', pg.url, '--schema', schema, '--port', '0']).then(
      () => 'started',
      (e: { stderr: string }) => e.stderr,
    );
    assert.match(refused, /role can write .*--readonly-role/);
    const child = spawn(process.execPath, [BIN, 'history', 'serve', '--db', pg.url, '--schema', schema, '--port', '0', '--allow-writable-role'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const base = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (b: Buffer) => {
          out += b.toString();
          const m = /history API at (http:\S+)/.exec(out);
          if (m) resolve(m[1]);
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
      });
      const doc = await get(`${base}/openapi.json`);
      assert.equal(doc.status, 200);
      const bad = await get(`${base}/search?q=`);
      assert.deepEqual([bad.status, bad.body.field], [400, 'q']);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('keeps thumbnails and annotated images longer than full frames, and rows apart from both', async () => {
    sink = await openSink(pg.url, schema);
    const now = Date.UTC(2026, 5, 1);
    const old = (i: number, daysAgo: number) => ({ ...inspection(i, now - daysAgo * 86_400_000 + i), image: { data: Buffer.from([i]), format: 'jpeg' as const, width: 1, height: 1 } });
    const items = [old(1, 3), old(2, 10), old(3, 40), old(4, 100)];
    assert.deepEqual(await sink.send(items), []);
    assert.deepEqual(await sink.send(items, 'thumbnail'), []);
    assert.deepEqual(await sink.send(items, 'annotated'), []);
    const c = await connect(pg.url);
    try {
      const report = await migrate(c, { schema, tables: Object.values(CONTRACT_TABLES), imageRetainDays: 7, imageVariantRetainDays: 60, clock: { now: () => now } });
      assert.ok(report.notes.some((n) => /full frames older than 7 days/.test(n)), report.notes.join('\n'));
    } finally {
      await c.end();
    }
    const imgs = await query(pg.url, `select inspection_id, kind from "${schema}".images order by 1, 2`);
    assert.deepEqual(
      imgs.map((r) => `${r.inspection_id}/${r.kind}`),
      ['insp-1/annotated', 'insp-1/full', 'insp-1/thumbnail', 'insp-2/annotated', 'insp-2/thumbnail', 'insp-3/annotated', 'insp-3/thumbnail'],
    );
    const rows = await query(pg.url, `select count(*)::int n from "${schema}".inspections`);
    assert.equal(rows[0].n, 4, 'the rows stay (retainDays 0)');
  });

  it('concurrent db migrate (4 processes) on an empty database leaves exactly one schema', async function () {
    if (pg.kind === 'embedded') {
      console.log('      [skip] embedded PGlite runs every connection in one session, so there is nothing concurrent to lock against');
      return this.skip();
    }
    await dropSchema(pg.url, schema);
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => run(process.execPath, [BIN, 'db', 'migrate', '--url', pg.url, '--schema', schema, '--days-ahead', '2'])));
    assert.deepEqual(results.map((r) => (r.status === 'fulfilled' ? 'ok' : String((r as PromiseRejectedResult).reason))), ['ok', 'ok', 'ok', 'ok']);
    const rels = await query(pg.url, `select c.relname::text t, c.relkind::text k from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relkind in ('r','p','v') and not c.relispartition order by 1`, [schema]);
    const kinds = new Set(rels.filter((r) => Object.keys(CONTRACT_TABLES).includes(r.t)).map((r) => r.k));
    assert.equal(kinds.size, 1, `one storage kind for every table: ${JSON.stringify(rels)}`);
    assert.deepEqual(
      rels.map((r) => r.t),
      ['confidence_rollup_1h', 'defect_rollup_1d', 'defect_rollup_1h', 'defect_rollup_1m', 'detections', 'images', 'inspection_rollup_1d', 'inspection_rollup_1h', 'inspection_rollup_1m', 'inspections', 'line_actions', 'line_devices', 'tag_rollup_1m', 'tag_samples'],
    );
  });
});

async function connect(url: string): Promise<Client> {
  const c = new Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

function withUser(url: string, user: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = '';
  return u.toString();
}

async function get(url: string): Promise<{ status: number; body: any }> {
  const r = await fetch(url);
  const text = await r.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: r.status, body };
}
