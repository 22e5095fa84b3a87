// Bad input to the repository answers a 4xx naming the field and the reason, never a 500 (issue #14):
// NUL characters, lone surrogates, integers past int32, deep nesting, unbounded strings, labels and
// parameter values of any JSON, big bodies read before authentication, and a 500 that echoed the database.
import assert from 'node:assert/strict';
import http from 'node:http';
import { API_ROOT } from '../../../contracts/fleet/protocol';
import { lineFlow, lineTemplate } from '../../fixtures/repo/templates';
import { refused, startHarness, type Harness } from './harness';

/** `{"a":{"a":...}}` or `[[...]]` nested `depth` deep, written as text (JSON.stringify would overflow first). */
function deepJson(depth: number, kind: 'object' | 'array'): string {
  return kind === 'object' ? `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}` : `${'['.repeat(depth)}1${']'.repeat(depth)}`;
}

describe('repo: bad input answers 4xx naming the field', function () {
  this.timeout(120_000);
  let h: Harness;
  let deviceToken: string;
  const logs: string[] = [];

  before(async () => {
    h = await startHarness({ log: (line) => logs.push(line) });
    await h.admin.createTemplate(lineTemplate);
    await h.admin.publishVersion('line-inspection', { version: '1.0.0', flow: lineFlow('v1') });
    deviceToken = (await h.admin.registerDevice({ id: 'line-a', tier: 'line', parameters: { LINE_ID: 'A' } })).token;
  });
  after(async () => {
    await h?.close();
  });

  /** Sends `body` as raw text (so it can hold what JSON.stringify would not write) and returns status and answer. */
  const send = async (method: string, route: string, body: string | undefined, token: string | undefined = h.repo.adminToken) => {
    const res = await fetch(`${h.repo.url}${route}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body,
    });
    const text = await res.text();
    let json: { error?: string; problems?: { field: string; reason: string }[]; requestId?: string } = {};
    try {
      json = JSON.parse(text);
    } catch {
      /* not JSON: keep the text in the message below */
    }
    return { status: res.status, json, text };
  };
  const fieldsOf = (r: { json: { problems?: { field: string }[] } }) => (r.json.problems ?? []).map((p) => p.field);
  const expectField = (r: Awaited<ReturnType<typeof send>>, status: number, field: string, reason?: RegExp) => {
    assert.equal(r.status, status, `expected ${status} naming ${field}, got ${r.status}: ${r.text.slice(0, 300)}`);
    const p = r.json.problems?.find((x) => x.field === field);
    assert.ok(p, `no problem names ${field}: ${r.text.slice(0, 300)}`);
    if (reason) assert.match(p.reason, reason);
  };

  describe('NUL characters', () => {
    it('in a template title: 422 naming title', async () => {
      const r = await send('POST', `${API_ROOT}/templates`, JSON.stringify({ slug: 'nul-title', title: 'bad\u0000title', tier: 'line' }));
      expectField(r, 422, 'title', /NUL/);
    });
    it('in device labels (key and value) and parameters: 422 naming each', async () => {
      const r1 = await send('POST', `${API_ROOT}/devices`, JSON.stringify({ id: 'nul-1', tier: 'line', labels: { line: 'a\u0000' } }));
      expectField(r1, 422, 'labels.line', /NUL/);
      const r2 = await send('POST', `${API_ROOT}/devices`, JSON.stringify({ id: 'nul-2', tier: 'line', parameters: { LINE_ID: '\u0000' } }));
      expectField(r2, 422, 'parameters.LINE_ID', /NUL/);
      const r3 = await send('PATCH', `${API_ROOT}/devices/line-a`, JSON.stringify({ labels: { 'a\u0000b': 'x' } }));
      assert.equal(r3.status, 422, r3.text);
      assert.match(r3.text, /NUL/);
    });
    it('in status reasons sent with a device token: 422 naming reasons[0]', async () => {
      const report = { deviceId: 'line-a', state: 'failed', running: null, reasons: ['boom\u0000'], ts: Date.now() };
      expectField(await send('POST', `${API_ROOT}/devices/line-a/status`, JSON.stringify(report), deviceToken), 422, 'reasons[0]', /NUL/);
      const running = { ...report, reasons: [], running: 'line-inspection@1.0.0\u0000' };
      expectField(await send('POST', `${API_ROOT}/devices/line-a/status`, JSON.stringify(running), deviceToken), 422, 'running', /NUL/);
    });
    it('in a path parameter and a query parameter: 4xx, not 500', async () => {
      const r1 = await send('GET', `${API_ROOT}/devices/a%00b`, undefined);
      assert.ok(r1.status >= 400 && r1.status < 500, `${r1.status} ${r1.text}`);
      const r2 = await send('GET', `${API_ROOT}/templates/x%00/versions/1.0.0%00`, undefined, deviceToken);
      assert.ok(r2.status >= 400 && r2.status < 500, `${r2.status} ${r2.text}`);
      const r3 = await send('GET', `${API_ROOT}/audit?subject=a%00`, undefined);
      expectField(r3, 422, 'subject', /NUL/);
    });
  });

  it('a lone surrogate in a JSON string: 422 naming the field', async () => {
    // Written by hand: the escape must reach the server as-is.
    const r = await send('POST', `${API_ROOT}/devices`, '{"id":"sur-1","tier":"line","labels":{"line":"\\ud800"}}');
    expectField(r, 422, 'labels.line', /surrogate/);
    const r2 = await send('POST', `${API_ROOT}/templates`, '{"slug":"sur","title":"x\\udc00y","tier":"line"}');
    expectField(r2, 422, 'title', /surrogate/);
  });

  it('canary and waveSize above int32: 422 naming the field', async () => {
    const base = { template: 'line-inspection', version: '1.0.0', target: { ids: ['line-a'] }, strategy: 'canary' };
    expectField(await send('POST', `${API_ROOT}/deployments`, JSON.stringify({ ...base, canary: 2 ** 31 })), 422, 'canary');
    expectField(await send('POST', `${API_ROOT}/deployments`, JSON.stringify({ ...base, waveSize: 2 ** 40 })), 422, 'waveSize');
  });

  it('a flow or parameters nested 10,000 deep: 422 naming the depth, and the server still serves', async () => {
    const flow = `[{"id":"n1","type":"inject","deep":${deepJson(10_000, 'array')}}]`;
    expectField(await send('POST', `${API_ROOT}/templates/line-inspection/versions`, `{"version":"9.0.0","flow":${flow}}`), 422, 'flow', /nest/);
    const params = `{"slug":"deep-params","title":"x","tier":"line","parameters":${deepJson(10_000, 'object')}}`;
    expectField(await send('POST', `${API_ROOT}/templates`, params), 422, 'parameters', /nest/);
    assert.equal((await h.anon().health()).ok, true);
  });

  it('labels are strings to strings, parameter values are string, number or boolean', async () => {
    const e1 = await refused(h.admin.registerDevice({ id: 'lab-1', tier: 'line', labels: { group: { nested: true } as never } }), 422);
    assert.ok(e1.problems.some((p) => p.field === 'labels.group'), JSON.stringify(e1.problems));
    const e2 = await refused(h.admin.registerDevice({ id: 'lab-2', tier: 'line', parameters: { LINE_ID: ['a'] as never } }), 422);
    assert.ok(e2.problems.some((p) => p.field === 'parameters.LINE_ID'), JSON.stringify(e2.problems));
    const e3 = await refused(h.admin.registerDevice({ id: 'lab-3', tier: 'line', labels: { 'bad key!': 'x' } }), 422);
    assert.match(JSON.stringify(e3.problems), /labels/);
  });

  it('strings have limits: a 5 MB title is refused (413), a 201-character one names title, and nothing is stored', async () => {
    await refused(h.admin.createTemplate({ slug: 'huge-title', title: 'x'.repeat(5 * 1024 * 1024), tier: 'line' }), 413);
    const e = await refused(h.admin.createTemplate({ slug: 'long-title', title: 'x'.repeat(201), tier: 'line' }), 422);
    assert.deepEqual(e.problems, [{ field: 'title', reason: 'must NOT have more than 200 characters' }]);
    await refused(h.admin.getTemplate('huge-title'), 404);
    await refused(h.admin.getTemplate('long-title'), 404);
    // Lists too: reasons in a status report are bounded in number and length.
    const report = { deviceId: 'line-a', state: 'failed', running: null, reasons: Array(101).fill('r'), ts: Date.now() };
    expectField(await send('POST', `${API_ROOT}/devices/line-a/status`, JSON.stringify(report), deviceToken), 422, 'reasons', /100/);
  });

  it('an unauthenticated request is refused before its body is read', async () => {
    // Announce a 9 MB body, send 1 kB of it and wait: a server that authenticates first answers 401 now;
    // one that parses first waits for the other 9 MB.
    const url = new URL(`${h.repo.url}${API_ROOT}/templates/line-inspection/versions`);
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(9 * 1024 * 1024) } });
      const timer = setTimeout(() => {
        req.destroy();
        reject(new Error('no answer within 10 s: the server waited for the body of an unauthenticated request'));
      }, 10_000);
      req.on('response', (res) => {
        clearTimeout(timer);
        res.resume();
        req.destroy();
        resolve(res.statusCode!);
      });
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.write('{"version":"1.2.3","flow":[' + ' '.repeat(1024));
    });
    assert.equal(status, 401);
  });

  it('body limits per route: a small route refuses 1 MB with 413 naming the limit; an admin may publish a 5 MB flow', async () => {
    const big = JSON.stringify({ id: 'big-body', tier: 'line', labels: { note: 'x'.repeat(1024 * 1024) } });
    const r = await send('POST', `${API_ROOT}/devices`, big);
    assert.equal(r.status, 413, r.text.slice(0, 200));
    assert.match(r.json.error ?? '', /limit/);
    const flow = lineFlow('big');
    (flow[3] as Record<string, unknown>).info = 'y'.repeat(5 * 1024 * 1024);
    const v = await h.admin.publishVersion('line-inspection', { version: '5.0.0', flow });
    assert.equal(v.version, '5.0.0');
  });

  it('a 500 answers a generic message with a request id and logs the cause server-side only', async () => {
    const store = h.repo.store as unknown as { listTemplates: () => Promise<unknown> };
    const original = store.listTemplates;
    store.listTemplates = () => Promise.reject(new Error('relation "linesight_repo.secret_table" does not exist'));
    try {
      const r = await send('GET', `${API_ROOT}/templates`, undefined);
      assert.equal(r.status, 500);
      assert.doesNotMatch(r.text, /secret_table|relation/);
      assert.match(r.json.requestId ?? '', /^[0-9a-f-]{8,}$/);
      assert.ok(r.json.error?.includes(r.json.requestId!), r.text);
      const line = logs.find((l) => l.includes(r.json.requestId!));
      assert.ok(line, `no log line names request ${r.json.requestId}`);
      assert.match(line, /secret_table/);
    } finally {
      store.listTemplates = original;
    }
  });

  it('the OpenAPI document shows the limits', async () => {
    type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    const doc = (await h.anon().openApi()) as Obj;
    const schemas = doc.components.schemas as Obj;
    assert.equal(schemas.RepoTemplateCreate.properties.title.maxLength, 200);
    assert.equal(schemas.RepoDeploymentCreate.properties.canary.maximum, 100000);
    assert.equal(schemas.RepoLabels.maxProperties, 64);
    assert.ok(schemas.RepoLabels.propertyNames.pattern);
    assert.equal(schemas.RepoStatusReport.properties.reasons.maxItems, 100);
    const publish = doc.paths[`${API_ROOT}/templates/{slug}/versions`].post;
    assert.match(publish.requestBody.description, /10mb/);
    assert.ok(publish.responses[413] && publish.responses[500]);
    assert.match(doc.info.description, /nest at most 64 deep/);
  });

  it('every answer carries an X-Request-Id', async () => {
    const res = await fetch(`${h.repo.url}/healthz`);
    assert.match(res.headers.get('x-request-id') ?? '', /^[0-9a-f-]{8,}$/);
  });

  it('two templates whose parameter schemas share an $id both work, and deploy more than once', async () => {
    const parameters = { $id: 'https://plant.example/line-params.json', type: 'object', properties: { LINE_ID: { type: 'string' }, SPEED_LIMIT: { type: 'number' } }, required: ['LINE_ID'] };
    for (const slug of ['same-id-a', 'same-id-b']) {
      await h.admin.createTemplate({ ...lineTemplate, slug, parameters });
      await h.admin.publishVersion(slug, { version: '1.0.0', flow: lineFlow(slug) });
    }
    for (const slug of ['same-id-a', 'same-id-b', 'same-id-a']) await h.admin.createDeployment({ template: slug, version: '1.0.0', target: { ids: ['line-a'] } });
  });

  it('fields are named in every refused body shape', async () => {
    assert.deepEqual(fieldsOf(await send('POST', `${API_ROOT}/admin-tokens`, JSON.stringify({ name: 'x'.repeat(65) }))), ['name']);
    const r = await send('POST', `${API_ROOT}/deployments`, JSON.stringify({ template: 'line-inspection', version: '1.0.0', target: { ids: ['line-a'] }, lineState: { tag: 'idle\u0000', idleValue: 1 } }));
    expectField(r, 422, 'lineState.tag', /NUL/);
  });
});
