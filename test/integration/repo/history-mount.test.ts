// The quality history mounted in the repository (/api/v1/history): a viewer reads it with a session or a
// token, no session is 401, a device token 403; bad input keeps the history API's 400 naming the field;
// its operations are in the repository's OpenAPI document; a database role that can write is refused.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Client } from 'pg';
import { migrate } from '../../../nodes/timescale-sink/db-schema';
import { CONTRACT_TABLES } from '../../../nodes/timescale-sink/row-mapper';
import { freshSchema, pgService, type PgService } from '../../support/services';
import { dropSchemaRetrying as dropSchema, query } from '../timescale-sink/harness';
import { inspection, openSink } from '../history/support';
import { login, startHarness, type Harness } from './harness';

describe('repo: the quality history mounted at /api/v1/history', function () {
  this.timeout(120_000);
  let pg: PgService;
  let schema: string;
  let h: Harness | undefined;
  const role = `ls_ro_${crypto.randomBytes(4).toString('hex')}`;

  before(async () => {
    pg = await pgService();
    schema = await freshSchema(pg.url, 'qhist');
    const c = new Client({ connectionString: pg.url });
    await c.connect();
    try {
      await migrate(c, { schema, tables: Object.values(CONTRACT_TABLES), readonlyRole: role });
    } finally {
      await c.end();
    }
    const sink = await openSink(pg.url, schema);
    try {
      assert.deepEqual(await sink.send([1, 2, 3, 4].map((i) => inspection(i, Date.now() - 60_000 * i))), []);
    } finally {
      await sink.close();
    }
  });
  after(async () => {
    await h?.close();
    await dropSchema(pg.url, schema);
    await query(pg.url, `drop owned by "${role}"; drop role if exists "${role}"`).catch(() => undefined);
  });

  it('refuses to start with a history role that can write, naming the override', async () => {
    await assert.rejects(startHarness({ history: { db: pg.url, schema } }), /history API's database role can write .*--allow-writable-history-role overrides/);
  });

  it('a viewer reads it with a session or a token; no session 401; a device token 403; bad input 400 naming the field', async () => {
    h = await startHarness({ history: { db: pg.url, schema, role } });
    await h.admin.createUser({ name: 'quality-viewer', role: 'viewer', password: 'viewer-password' });
    const viewer = await login(h.repo.url, 'quality-viewer', 'viewer-password');
    const base = `${h.repo.url}/api/v1/history`;

    const bySession = await viewer.request('GET', '/api/v1/history/search?q=SN-10000');
    assert.equal(bySession.status, 200);
    const hits = ((await bySession.json()) as { hits: { productSerial: string }[] }).hits.map((x) => x.productSerial).sort();
    assert.deepEqual(hits, ['SN-100001', 'SN-100002', 'SN-100003', 'SN-100004']);
    const detail = await viewer.request('GET', '/api/v1/history/inspections/insp-3');
    assert.equal(detail.status, 200);
    assert.equal(((await detail.json()) as { inspection: { line: string } }).inspection.line, 'line0');

    const token = (await h.admin.createToken({ name: 'quality-ci', role: 'viewer' })).token;
    const byToken = await fetch(`${base}/worst-lines`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(byToken.status, 200);

    const anonymous = await fetch(`${base}/search?q=SN`);
    assert.equal(anonymous.status, 401);
    const wrongToken = await fetch(`${base}/search?q=SN`, { headers: { authorization: 'Bearer lsa_nope' } });
    assert.equal(wrongToken.status, 401);

    const { token: deviceToken } = await h.admin.registerDevice({ id: 'line-q', tier: 'line' });
    const byDevice = await fetch(`${base}/search?q=SN`, { headers: { authorization: `Bearer ${deviceToken}` } });
    assert.equal(byDevice.status, 403);
    assert.match(((await byDevice.json()) as { error: string }).error, /needs role viewer; a device token/);

    const bad = await viewer.request('GET', '/api/v1/history/defect-rate?bucket=week');
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { field: string }).field, 'bucket');
    const write = await viewer.request('POST', '/api/v1/history/search?q=SN');
    assert.equal(write.status, 405, 'the history is read-only, also for a session with its CSRF token');
    const foreign = await viewer.request('GET', '/api/v1/history/search?q=SN', { origin: 'http://evil.example' });
    assert.equal(foreign.status, 403);

    const doc = (await (await fetch(`${h.repo.url}/api/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, { 'x-linesight-role'?: string }>> };
    for (const p of ['search', 'inspections/{inspectionId}', 'defect-rate', 'model-comparison', 'worst-lines', 'export.csv']) {
      assert.equal(doc.paths[`/api/v1/history/${p}`]?.get?.['x-linesight-role'], 'viewer', `${p} documented for viewers`);
    }
    const own = await fetch(`${base}/openapi.json`);
    assert.equal(own.status, 200, "the history's own document is public, as the repository's");
  });
});
