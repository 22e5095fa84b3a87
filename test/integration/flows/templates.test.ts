// The shipped flow templates (flows/<slug>/): manifests that the repository accepts, parameters that
// match what the flows reference, node types this package really registers, Import > Examples copies
// that are up to date, and flows that deploy into a real runtime without a configuration error.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import semver from 'semver';
import { PACKAGE_ROOT, dashboardRoot, moduleNodeFiles, paletteNodeFiles } from '../../../runtime/paths';
import { defaultParameters, referencedParameters } from '../../../contracts/fleet/templates';
import { EXAMPLES_DIR, exampleFlow, exampleText, loadTemplates, publishShippedTemplate } from '../../../runtime/dev/demo/templates';
import { startRuntimeProcess, tempDir, type RuntimeProcess } from '../../support/runtime-process';
import { sleep } from '../../support/wait';
import { createRepoServer, type RepoServer } from '../../../runtime/repo/server';
import { RepoClient } from '../../../runtime/repo/client';
import { ModelsDir, NAME } from '../vision-detect/models-dir';

const templates = loadTemplates();
const ours = new Set(Object.keys(paletteNodeFiles()));
/** Node-RED Dashboard 2.0, which the line screen of line-inspection is built with (a linesight dependency). */
const DASHBOARD = new Set(Object.keys(moduleNodeFiles(dashboardRoot()!)));
const CORE = new Set(['tab', 'catch', 'debug', 'status', 'complete', 'inject', 'function', 'change', 'switch', 'link in', 'link out', 'comment', 'group', 'junction']);

describe('flow templates (flows/)', function () {
  this.timeout(120_000);

  it('ships line-inspection, factory-aggregation and cloud-history, one per tier, and vision-inspection for lines whose cameras send images only', () => {
    assert.deepEqual(templates.map((t) => [t.manifest.slug, t.manifest.tier]).sort(), [['cloud-history', 'cloud'], ['factory-aggregation', 'factory'], ['line-inspection', 'line'], ['vision-inspection', 'line']]);
    assert.deepEqual(templates.find((t) => t.manifest.slug === 'vision-inspection')!.manifest.models, [{ name: 'defect-detector', range: '^1.0.0' }]);
  });

  for (const t of templates) {
    const m = t.manifest;
    describe(m.slug, () => {
      it('has a complete manifest: semver version with a changelog entry, parameters as a JSON Schema whose defaults validate', () => {
        assert.ok(semver.valid(m.version), `version ${m.version}`);
        assert.ok(m.changelog.some((c) => c.version === m.version && c.changes.length > 0), 'changelog entry for the version');
        assert.ok(m.title && m.description, 'title and description');
        const validate = new Ajv({ strict: true, allErrors: true, allowUnionTypes: true }).compile(m.parameters);
        assert.ok(validate(defaultParameters(m)), `defaults valid: ${JSON.stringify(validate.errors)}`);
        for (const r of m.parameters.required ?? []) assert.ok(m.parameters.properties[r], `required ${r} is declared`);
      });

      it('references exactly the parameters it declares', () => {
        assert.deepEqual([...referencedParameters(t.flow).keys()].sort(), Object.keys(m.parameters.properties).sort());
      });

      it('uses only node types it lists, each registered by this package, Node-RED core or Dashboard 2.0', () => {
        const used = [...new Set(t.flow.map((n) => String(n.type)))].filter((x) => x !== 'tab').sort();
        assert.deepEqual(used, [...m.requiredNodes].sort());
        const unknown = used.filter((x) => !ours.has(x) && !CORE.has(x) && !DASHBOARD.has(x));
        assert.deepEqual(unknown, [], 'node types neither in the palette\'s package.json node-red.nodes, nor core, nor Dashboard 2.0');
      });

      it('is a well-formed flow: unique ids, every wire and config reference resolves, nodes sit on the tab', () => {
        const ids = new Set<string>();
        for (const n of t.flow) {
          assert.ok(!ids.has(String(n.id)), `duplicate id ${n.id}`);
          ids.add(String(n.id));
        }
        const tab = t.flow.find((n) => n.type === 'tab')!;
        for (const n of t.flow) {
          if (n.type === 'tab') continue;
          assert.equal(n.z, tab.id, `${n.id} is on the tab (config nodes too, so they see the tab's parameters)`);
          for (const port of (n.wires as string[][] | undefined) ?? []) for (const w of port) assert.ok(ids.has(w), `${n.id} wires to ${w}`);
          for (const k of ['endpoint', 'broker', 'db']) if (typeof n[k] === 'string') assert.ok(ids.has(n[k] as string), `${n.id}.${k} -> ${n[k]}`);
        }
      });

      it('sets every property the nodes\' config schemas default, so the editor finds each node fully configured', () => {
        const gaps: string[] = [];
        for (const n of t.flow) {
          const name = `${String(n.type).split('-').map((w) => w[0].toUpperCase() + w.slice(1)).join('')}Config`;
          const file = path.join(PACKAGE_ROOT, 'dist', 'schemas', `${name}.json`);
          if (!fs.existsSync(file)) continue;
          const schema = JSON.parse(fs.readFileSync(file, 'utf8')) as { properties: Record<string, { default?: unknown }> };
          for (const [k, p] of Object.entries(schema.properties)) if (p.default !== undefined && !(k in n)) gaps.push(`${n.id} (${n.type}).${k}`);
        }
        assert.deepEqual(gaps, []);
      });

      it('has an up-to-date Import > Examples copy in examples/ (regenerate: node dist/runtime/dev/demo/templates.js)', () => {
        const file = path.join(EXAMPLES_DIR, `${m.slug}.json`);
        assert.ok(fs.existsSync(file), `${file} exists`);
        assert.equal(fs.readFileSync(file, 'utf8'), exampleText(t));
      });
    });
  }

  it('is accepted by the flow repository (publish checks: node types, parameters) and published versions verify', async () => {
    const dir = tempDir('linesight-templates-repo-');
    let repo: RepoServer | undefined;
    try {
      repo = await createRepoServer({ dataDir: dir, port: 0, log: () => {} });
      const client = new RepoClient({ url: repo.url, token: repo.adminToken });
      for (const t of templates) assert.deepEqual(await publishShippedTemplate(client, t), { created: true, published: true });
      for (const t of templates) assert.deepEqual(await publishShippedTemplate(client, t), { created: false, published: false }, 'publishing again changes nothing');
      const listed = await client.listTemplates();
      assert.deepEqual(listed.map((x) => `${x.slug}@${x.latest}`).sort(), templates.map((t) => `${t.manifest.slug}@${t.manifest.version}`).sort());
    } finally {
      await repo?.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('deploys into a real runtime of its tier with its default parameters', () => {
    let rt: RuntimeProcess | undefined;
    const modelDirs: ModelsDir[] = [];
    afterEach(async () => {
      await rt?.stop();
      rt = undefined;
      for (const m of modelDirs.splice(0)) m.remove();
    });
    for (const t of templates) {
      it(`${t.manifest.slug}: every node starts without a configuration error`, async () => {
        rt = await startRuntimeProcess({ tier: t.manifest.tier });
        // Ports the defaults would take on a real line are taken here from free ones, so tests do not collide.
        const values: Record<string, string | number> = t.manifest.tier === 'line' ? { CAMERA_PORT: 0 } : {};
        // A template that declares models finds them where the edge agent installs them: here, installed the same way.
        if (t.manifest.models?.length) {
          const models = new ModelsDir();
          modelDirs.push(models);
          for (const m of t.manifest.models) assert.equal(m.name, NAME, 'the shipped templates use the shipped model');
          models.install('1.0.0');
          values.MODELS_DIR = models.dir;
        }
        const flow = exampleFlow(t, values);
        await rt.deploy(flow);
        const deployed = (await (await rt.request('GET', 'flows')).json()) as unknown[];
        assert.equal(deployed.length, flow.length);
        await sleep(3000);
        const sets = (await (await rt.request('GET', 'nodes')).json()) as Array<{ types: string[]; enabled: boolean }>;
        const installed = new Set(sets.filter((x) => x.enabled).flatMap((x) => x.types));
        assert.deepEqual(t.manifest.requiredNodes.filter((x) => !installed.has(x)), [], 'every node type the template needs is installed in the runtime');
        const out = rt.output();
        const errors = out.split('\n').filter((l) => /\[error\]/.test(l));
        assert.deepEqual(errors, [], `no node refused its configuration or failed to start:\n${out}`);
      });
    }
  });
});
