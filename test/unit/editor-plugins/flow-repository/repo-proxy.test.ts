import assert from 'node:assert/strict';
import express from 'express';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { forward, permissionFor, resolveRepositorySettings } from '../../../../editor-plugins/flow-repository/repo-proxy';

describe('flow-repository: admin proxy to the repository', () => {
  let server: http.Server;
  let url: string;
  const seen: Array<{ method: string; path: string; auth?: string; body: unknown }> = [];

  before(async () => {
    const app = express();
    app.use(express.json());
    app.all('/api/v1/*', (req, res) => {
      seen.push({ method: req.method, path: req.originalUrl, auth: req.headers.authorization, body: req.body });
      if (req.headers.authorization !== 'Bearer admin-secret') return void res.status(401).json({ error: 'bad token' });
      if (req.path.endsWith('/versions') && req.method === 'POST') return void res.status(409).json({ error: 'version exists', problems: [{ field: 'version', reason: 'already published' }] });
      res.json({ ok: true, path: req.originalUrl });
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => (seen.length = 0));

  it('allows only the sidebar routes, each with the permission it needs', () => {
    const table: Array<[string, string, string | undefined]> = [
      ['GET', '/templates', 'flows.read'],
      ['GET', '/templates/line-inspection/versions/1.0.0', 'flows.read'],
      ['GET', '/deployments/d-1?x=1', 'flows.read'],
      ['GET', '/devices', 'flows.read'],
      ['POST', '/templates/line-inspection/versions', 'flows.write'],
      ['POST', '/deployments', 'flows.write'],
      ['POST', '/deployments/d-1/rollback', 'flows.write'],
      ['POST', '/deployments/d-1/cancel', 'flows.write'],
      ['POST', '/deployments/d-1/pause', 'flows.write'],
      ['POST', '/deployments/d-1/resume', 'flows.write'],
      ['GET', '/deployments/d-1/cancel', undefined],
      ['POST', '/devices', undefined], // answers with a device token
      ['POST', '/devices/line-1/token', undefined],
      ['GET', '/devices/line-1/desired', undefined],
      ['GET', '/audit', undefined],
      ['GET', '/templates/../devices', undefined],
      ['DELETE', '/templates', undefined],
    ];
    for (const [m, p, want] of table) assert.equal(permissionFor(m, p), want, `${m} ${p}`);
  });

  it('takes url and token from settings first, then the environment', () => {
    assert.deepEqual(resolveRepositorySettings({ repository: { url: 'http://r/', token: 't' } }, {}), { url: 'http://r', token: 't' });
    assert.deepEqual(resolveRepositorySettings({}, { LINESIGHT_REPOSITORY_URL: 'http://e', LINESIGHT_REPOSITORY_TOKEN: 'u' }), { url: 'http://e', token: 'u' });
    assert.equal(resolveRepositorySettings({ repository: { url: 'http://r' } }, {}), undefined);
  });

  it('forwards with the token and returns the answer, query string included', async () => {
    const a = await forward({ url, token: 'admin-secret' }, 'GET', '/deployments/d-1?since=5', undefined);
    assert.equal(a.status, 200);
    assert.deepEqual(a.body, { ok: true, path: '/api/v1/deployments/d-1?since=5' });
    assert.equal(seen[0].auth, 'Bearer admin-secret');
  });

  it('passes repository errors through with their problems, and never the token', async () => {
    const a = await forward({ url, token: 'admin-secret' }, 'POST', '/templates/x/versions', { version: '1.0.0', flow: [] });
    assert.equal(a.status, 409);
    assert.deepEqual(a.body, { error: 'version exists', problems: [{ field: 'version', reason: 'already published' }] });
    assert.deepEqual(seen[0].body, { version: '1.0.0', flow: [] });
    const refused = await forward({ url, token: 'wrong' }, 'GET', '/templates', undefined);
    assert.equal(refused.status, 502);
    assert.match(JSON.stringify(refused.body), /refused this runtime's token/);
    assert.doesNotMatch(JSON.stringify(refused.body), /wrong|admin-secret/);
  });

  it('says what is wrong when nothing is configured, a route is not allowed, or the repository is down', async () => {
    assert.equal((await forward(undefined, 'GET', '/templates', undefined)).status, 503);
    assert.equal((await forward({ url, token: 'admin-secret' }, 'POST', '/devices', {})).status, 404);
    assert.equal(seen.length, 0, 'refused calls never reach the repository');
    const down = await forward({ url: 'http://127.0.0.1:1', token: 'admin-secret' }, 'GET', '/templates', undefined);
    assert.equal(down.status, 502);
    assert.match((down.body as { error: string }).error, /unreachable/);
  });
});
