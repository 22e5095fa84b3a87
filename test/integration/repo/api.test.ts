// The admin API against a real database: auth on every route, validation errors naming the field,
// publish checks, immutable versions, the audit log, the OpenAPI document, /healthz and /metrics.
import SwaggerParser from '@apidevtools/swagger-parser';
import assert from 'node:assert/strict';
import { Client } from 'pg';
import { API_ROOT } from '../../../contracts/fleet/protocol';
import { buildApp } from '../../../runtime/repo/server';
import { pgService } from '../../support/services';
import { lineFlow, lineTemplate } from '../../fixtures/repo/templates';
import { refused, startHarness, type Harness } from './harness';

type OpenApi = { paths: Record<string, Record<string, { security?: unknown[] }>> };

describe('repo: admin API', function () {
  this.timeout(60_000);
  let h: Harness;
  let tokenA: string;
  let deploymentId: string;

  before(async () => {
    h = await startHarness();
    await h.admin.createTemplate(lineTemplate);
    await h.admin.publishVersion('line-inspection', { version: '1.0.0', flow: lineFlow('v1') });
    tokenA = (await h.admin.registerDevice({ id: 'line-a', tier: 'line', parameters: { LINE_ID: 'A' } })).token;
    await h.admin.registerDevice({ id: 'line-b', tier: 'line', parameters: { LINE_ID: 'B' } });
    deploymentId = (await h.admin.createDeployment({ template: 'line-inspection', version: '1.0.0', target: { ids: ['line-a'] } })).id;
  });
  after(async () => {
    await h?.close();
  });

  const raw = (method: string, route: string, token?: string, body?: unknown) =>
    fetch(`${h.repo.url}${route}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  describe('auth on every route of the OpenAPI document', () => {
    const concrete = (p: string, deviceId = 'line-a') =>
      p.replace('{slug}', 'line-inspection').replace('{version}', '1.0.0').replace('{tokenId}', 'some-token-id').replace('{id}', p.startsWith(`${API_ROOT}/deployments`) ? deploymentId : deviceId);
    const routes = async () => {
      const doc = (await h.anon().openApi()) as OpenApi;
      return Object.entries(doc.paths).flatMap(([p, ops]) => Object.entries(ops).map(([method, op]) => ({ method: method.toUpperCase(), path: p, security: op.security })));
    };

    it('no token and a wrong token: 401 on every protected route; public routes answer', async () => {
      let protectedCount = 0;
      for (const r of await routes()) {
        const url = concrete(r.path);
        const body = r.method === 'GET' ? undefined : {};
        if (Array.isArray(r.security) && r.security.length === 0) {
          // Logging in is open to anyone, and refuses an empty body.
          assert.equal((await raw(r.method, url)).status, r.method === 'POST' && r.path === `${API_ROOT}/session` ? 422 : 200, `${r.method} ${r.path} is public`);
          continue;
        }
        protectedCount++;
        assert.equal((await raw(r.method, url, undefined, body)).status, 401, `${r.method} ${r.path} without a token`);
        assert.equal((await raw(r.method, url, 'lsa_wrong', body)).status, 401, `${r.method} ${r.path} with a wrong token`);
      }
      assert.ok(protectedCount >= 18, `only ${protectedCount} protected routes`);
    });

    it('a device token: 403 on admin routes and on another device; its own routes answer', async () => {
      for (const r of await routes()) {
        const sec = JSON.stringify(r.security ?? null);
        if (r.security?.length === 0) continue;
        const body = r.method === 'GET' ? undefined : {};
        if (!sec.includes('deviceToken')) {
          const res = await raw(r.method, concrete(r.path), tokenA, body);
          assert.equal(res.status, 403, `${r.method} ${r.path} with a device token`);
          assert.match((await res.json()).error, /needs role (viewer|deployer|admin)\b.*; a device token was given/);
        } else if (r.path.includes('{id}')) {
          const res = await raw(r.method, concrete(r.path, 'line-b'), tokenA, body);
          assert.equal(res.status, 403, `${r.method} ${r.path} for another device`);
          assert.match((await res.json()).error, /only for its own device/);
        }
      }
      assert.equal((await raw('GET', `${API_ROOT}/devices/line-a/desired`, tokenA)).status, 200);
      assert.equal((await raw('GET', `${API_ROOT}/templates/line-inspection/versions/1.0.0`, tokenA)).status, 200);
    });

    it('an admin token may not post a device status', async () => {
      const res = await raw('POST', `${API_ROOT}/devices/line-a/status`, h.repo.adminToken, { deviceId: 'line-a', state: 'running', running: null, ts: 1 });
      assert.equal(res.status, 403);
    });
  });

  describe('validation', () => {
    it('names each refused field of a template', async () => {
      const e = await refused(h.admin.createTemplate({ slug: 'Bad Slug', title: '', tier: 'edge' as 'line' }), 422);
      const fields = e.problems.map((p) => p.field).sort();
      assert.deepEqual(fields, ['slug', 'tier', 'title']);
      assert.match(e.problems.find((p) => p.field === 'tier')!.reason, /must be one of "cloud", "factory", "line"/);
    });

    it('names a missing field, a bad parameter schema and an unknown required node', async () => {
      const e1 = await refused(h.admin.registerDevice({ tier: 'line' } as never), 422);
      assert.deepEqual(e1.problems, [{ field: 'id', reason: 'is required' }]);
      const e2 = await refused(h.admin.createTemplate({ slug: 'x1', title: 'X', tier: 'line', parameters: { type: 'object', properties: { A: { type: 'no-such-type' } } } }), 422);
      assert.equal(e2.problems[0]!.field, 'parameters');
      const e3 = await refused(h.admin.createTemplate({ slug: 'x2', title: 'X', tier: 'line', requiredNodes: ['inject', 'modbus-magic'] }), 422);
      assert.deepEqual(e3.problems.map((p) => p.field), ['requiredNodes[1]']);
    });

    it('refuses a body that is not JSON with 400', async () => {
      const res = await fetch(`${h.repo.url}${API_ROOT}/templates`, { method: 'POST', headers: { authorization: `Bearer ${h.repo.adminToken}`, 'content-type': 'application/json' }, body: '{"slug":' });
      assert.equal(res.status, 400);
      assert.match((await res.json()).error, /not valid JSON/);
    });

    it('names the field of a bad deployment: version, target, window, parameters, tier', async () => {
      const base = { template: 'line-inspection', version: '1.0.0', target: { tier: 'line' as const } };
      assert.equal((await refused(h.admin.createDeployment({ ...base, version: '9.9.9' }), 422)).problems[0]!.field, 'version');
      assert.equal((await refused(h.admin.createDeployment({ ...base, target: {} }), 422)).problems[0]!.field, 'target');
      assert.equal((await refused(h.admin.createDeployment({ ...base, target: { ids: ['ghost'] } }), 422)).problems[0]!.field, 'target.ids[0]');
      assert.equal((await refused(h.admin.createDeployment({ ...base, window: { from: '25:00', to: '06:00' } }), 422)).problems[0]!.field, 'window.from');
      assert.equal((await refused(h.admin.createDeployment({ ...base, window: { from: '22:00', to: '06:00', timezone: 'Mars/Olympus' } }), 422)).problems[0]!.field, 'window.timezone');
      assert.equal((await refused(h.admin.createDeployment({ ...base, strategy: 'canary', canary: 0 }), 422)).problems[0]!.field, 'canary');
      await h.admin.registerDevice({ id: 'line-noparams', tier: 'line', labels: { group: 'np' } });
      const np = await refused(h.admin.createDeployment({ ...base, target: { labels: { group: 'np' } } }), 422);
      assert.deepEqual(np.problems, [{ field: 'devices.line-noparams.parameters.LINE_ID', reason: 'is required by the template' }]);
      await h.admin.registerDevice({ id: 'factory-1', tier: 'factory', labels: { group: 'fx' }, parameters: { LINE_ID: 'F' } });
      const fx = await refused(h.admin.createDeployment({ ...base, target: { labels: { group: 'fx' } } }), 422);
      assert.match(fx.problems[0]!.reason, /factory device; template line-inspection is for the line tier/);
    });
  });

  describe('publishing', () => {
    it('refuses an invalid flow, an unknown node type, an undeclared parameter and a duplicate version, each with the reason', async () => {
      const invalid = await refused(h.admin.publishVersion('line-inspection', { version: '1.1.0', flow: [{ id: 'a', type: 'inject', wires: [['gone']] }] }), 422);
      assert.deepEqual(invalid.problems, [{ field: 'flow[0].wires[0][0]', reason: 'wires to "gone", which is not a node in the flow' }]);
      const unknown = await refused(h.admin.publishVersion('line-inspection', { version: '1.1.0', flow: [{ id: 'a', type: 'node-red-contrib-s7' }] }), 422);
      assert.match(unknown.problems[0]!.reason, /unknown node type "node-red-contrib-s7"/);
      const param = await refused(h.admin.publishVersion('line-inspection', { version: '1.1.0', flow: [{ id: 'a', type: 'inject', topic: '${PLANT_CODE}' }] }), 422);
      assert.deepEqual(param.problems, [{ field: 'flow[0].topic', reason: 'uses parameter "PLANT_CODE", which the template\'s parameter schema does not declare' }]);
      const dup = await refused(h.admin.publishVersion('line-inspection', { version: '1.0.0', flow: lineFlow('other') }), 409);
      assert.match(dup.problems[0]!.reason, /1.0.0 is already published/);
      const notSemver = await refused(h.admin.publishVersion('line-inspection', { version: 'v2', flow: lineFlow() }), 422);
      assert.equal(notSemver.problems[0]!.field, 'version');
      await refused(h.admin.publishVersion('no-such-template', { version: '1.0.0', flow: lineFlow() }), 404);
      assert.deepEqual((await h.admin.getTemplate('line-inspection')).versions, ['1.0.0']);
    });

    it('never changes a published version: no API to do it, and the database refuses too', async () => {
      const before = await h.admin.getVersion('line-inspection', '1.0.0');
      for (const method of ['PUT', 'PATCH', 'DELETE']) {
        const res = await raw(method, `${API_ROOT}/templates/line-inspection/versions/1.0.0`, h.repo.adminToken, { flow: [] });
        assert.equal(res.status, 405, method);
        assert.match((await res.json()).error, /immutable/);
      }
      const pg = await pgService();
      const c = new Client({ connectionString: pg.url });
      await c.connect();
      try {
        await assert.rejects(c.query(`update "${h.schema}".versions set flow_json = '[]' where template = 'line-inspection'`), /published versions are immutable/);
        await assert.rejects(c.query(`delete from "${h.schema}".versions`), /published versions are immutable/);
      } finally {
        await c.end();
      }
      assert.deepEqual(await h.admin.getVersion('line-inspection', '1.0.0'), before);
    });
  });

  describe('audit log', () => {
    it('records every write with who did it', async () => {
      await h.admin.updateDevice('line-b', { labels: { site: 'east' } });
      const entries = await h.admin.audit({ limit: 1000 });
      const actions = entries.map((e) => `${e.action} ${e.subject}`);
      for (const a of ['user.create admin', 'token.create initial', 'template.create line-inspection', 'version.publish line-inspection@1.0.0', 'device.register line-a', 'device.register line-b', `deployment.create ${deploymentId}`, `deployment.wave ${deploymentId}`, 'device.update line-b']) {
        assert.ok(actions.includes(a), `missing audit entry "${a}" in ${JSON.stringify(actions)}`);
      }
      const pub = entries.find((e) => e.action === 'version.publish')!;
      assert.equal(pub.actor, 'token:initial(user:admin)');
      assert.match(String(pub.detail.sha256), /^[0-9a-f]{64}$/);
      // Refused writes leave no trace of a change.
      assert.equal(actions.filter((a) => a.startsWith('version.publish')).length, 1);
      assert.deepEqual((await h.admin.audit({ subject: 'line-b' })).map((e) => e.action), ['device.update', 'device.register']);
      const s = await h.device(tokenA).reportStatus('line-a', { deviceId: 'line-a', state: 'running', running: 'line-inspection@1.0.0', ts: 1 });
      assert.equal(s, undefined);
      const dev = (await h.admin.audit({ subject: 'line-a', limit: 1 }))[0]!;
      assert.equal(dev.actor, 'device:line-a');
      assert.equal(dev.action, 'device.status');
    });
  });

  describe('admin tokens', () => {
    it('issues a named token once, acts under its name, revokes it at once, keeps the last one', async () => {
      const ci = await h.admin.createAdminToken('ci');
      assert.match(ci.token, /^lsa_/);
      const asCi = h.device(ci.token);
      await asCi.createTemplate({ slug: 'from-ci', title: 'From CI', tier: 'line' });
      assert.equal((await h.admin.audit({ subject: 'from-ci' }))[0]!.actor, 'token:ci(pipeline:ci)');
      const listed = await h.admin.listAdminTokens();
      assert.deepEqual(listed.map((t) => t.name).sort(), ['ci', 'initial']);
      assert.ok(!JSON.stringify(listed).includes(ci.token), 'the list never holds a token');
      assert.equal((await refused(h.admin.createAdminToken('ci'), 409)).problems[0]!.field, 'name');
      assert.equal((await refused(h.admin.createAdminToken('has space'), 422)).problems[0]!.field, 'name');
      await h.admin.revokeAdminToken(ci.id);
      await refused(asCi.listTemplates(), 401);
      const initial = (await h.admin.listAdminTokens())[0]!;
      assert.match((await refused(h.admin.revokeAdminToken(initial.id), 409)).message, /last admin token/);
      assert.deepEqual((await h.admin.audit({ subject: 'ci' })).map((e) => e.action), ['token.revoke', 'token.create']);
    });
  });

  describe('OpenAPI document', () => {
    it('validates against the OpenAPI 3.1 schema', async () => {
      const doc = await h.anon().openApi();
      await SwaggerParser.validate(structuredClone(doc) as never);
    });

    it('lists exactly the routes the Express app serves', async () => {
      const doc = (await h.anon().openApi()) as OpenApi;
      const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
      const app = buildApp(h.repo.store, h.repo.publicKeyPem, { requests: new Map() }, Date.now());
      const served: string[] = [];
      type Layer = { route?: { path: string; methods: Record<string, boolean> }; name?: string; handle?: { stack?: Layer[] } };
      const walk = (stack: Layer[], prefix: string) => {
        for (const l of stack) {
          if (l.route) {
            for (const m of Object.keys(l.route.methods)) if (m !== '_all') served.push(`${m.toUpperCase()} ${prefix}${l.route.path.replace(/:(\w+)/g, '{$1}')}`);
          } else if (l.name === 'router' && l.handle?.stack) walk(l.handle.stack, API_ROOT);
        }
      };
      walk((app as unknown as { _router: { stack: Layer[] } })._router.stack, '');
      assert.deepEqual(served.sort(), documented);
    });
  });

  describe('health and metrics', () => {
    it('answers /healthz and /metrics in Prometheus text', async () => {
      assert.deepEqual(await h.anon().health(), { ok: true });
      const res = await fetch(`${h.repo.url}/metrics`);
      assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
      const text = await res.text();
      assert.match(text, /^# TYPE linesight_repo_templates gauge$/m);
      assert.match(text, /^linesight_repo_versions 1$/m);
      assert.match(text, /^linesight_repo_devices\{state="offline"\} \d+$/m);
      // Every template here was created by one POST answered 201.
      const created = (await h.admin.listTemplates()).length;
      assert.match(text, new RegExp(`^linesight_repo_http_requests_total\\{method="POST",route="/api/v1/templates",status="201"\\} ${created}$`, 'm'));
    });
  });
});
