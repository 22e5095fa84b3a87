// The rooms of the house and who may import whom (README "Layout"). Each rule is checked over the
// TypeScript sources, so a new import across a forbidden boundary fails here with the file and the line.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../../runtime/paths';

interface Edge {
  from: string;
  to: string;
  line: number;
}

const SOURCE_ROOTS = ['contracts', 'lib', 'nodes', 'editor-plugins', 'runtime'];
const IMPORT = /(?:from|import|require\s*\()\s*['"](\.{1,2}\/[^'"]*)['"]/g;

function sources(dir: string, out: string[] = []): string[] {
  for (const ent of fs.readdirSync(path.join(PACKAGE_ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${ent.name}`;
    if (ent.isDirectory()) sources(rel, out);
    else if (/\.ts$/.test(ent.name) && !ent.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

function resolve(from: string, spec: string): string {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  for (const candidate of [base, `${base}.ts`, `${base}/index.ts`]) {
    const abs = path.join(PACKAGE_ROOT, candidate);
    if (fs.existsSync(abs) && fs.statSync(abs).isFile()) return candidate;
  }
  return base;
}

function edgesOf(files: string[]): Edge[] {
  const edges: Edge[] = [];
  for (const file of files) {
    const lines = fs.readFileSync(path.join(PACKAGE_ROOT, file), 'utf8').split('\n');
    lines.forEach((text, i) => {
      for (const m of text.matchAll(IMPORT)) edges.push({ from: file, to: resolve(file, m[1]!), line: i + 1 });
    });
  }
  return edges;
}

const nodeOf = (file: string): string | undefined => /^nodes\/([^/]+)\//.exec(file)?.[1];
const isPublicFace = (file: string): boolean => /^nodes\/[^/]+\/index\.ts$/.test(file);

/**
 * Node-RED-facing modules of a node besides its adapter (`nodes/<node>/<node>.ts`): they map connection
 * state to a status or find a config node, so they may use the node kit. Every other module of a node is
 * a core and must not.
 */
const ADAPTER_SIDE = new Set([
  'nodes/cloud-bridge/status.ts',
  'nodes/camera-intake/intake-status.ts',
  'nodes/cloud-broker/use-broker.ts',
  'nodes/plc-endpoint/connection-state.ts',
  'nodes/plc-endpoint/endpoint-link.ts',
]);
const isAdapter = (file: string): boolean => {
  const node = nodeOf(file);
  return node !== undefined && node !== 'kit' && (file === `nodes/${node}/${node}.ts` || ADAPTER_SIDE.has(file));
};

/** Code that runs in the editor (browser): the editor kit, a node's `<node>.editor.ts` and `*.browser.ts`. */
const isEditorSide = (file: string): boolean => file.startsWith('nodes/kit/editor/') || /\.(editor|browser)\.ts$/.test(file);

const files = SOURCE_ROOTS.filter((d) => fs.existsSync(path.join(PACKAGE_ROOT, d))).flatMap((d) => sources(d));
const edges = edgesOf(files);
const show = (bad: Edge[]) => bad.map((e) => `${e.from}:${e.line} imports ${e.to}`).join('\n');

describe('architecture: who may import whom', () => {
  it('finds the sources and their imports (the rules below are not vacuous)', () => {
    assert.ok(files.length > 100, `only ${files.length} source files found under ${PACKAGE_ROOT}`);
    assert.ok(edges.some((e) => e.from.startsWith('nodes/') && e.to.startsWith('contracts/')));
    assert.ok(edges.some((e) => e.from.startsWith('runtime/') && e.to.startsWith('nodes/')));
  });

  it('contracts import nothing of ours outside contracts/', () => {
    assert.equal(show(edges.filter((e) => e.from.startsWith('contracts/') && !e.to.startsWith('contracts/'))), '');
  });

  it('libraries import only contracts and other libraries', () => {
    assert.equal(show(edges.filter((e) => e.from.startsWith('lib/') && !/^(contracts|lib)\//.test(e.to))), '');
  });

  it('the node kit imports only contracts and libraries', () => {
    assert.equal(show(edges.filter((e) => e.from.startsWith('nodes/kit/') && !/^(contracts|lib|nodes\/kit)\//.test(e.to))), '');
  });

  it('nodes never import the runtime, the repository, the agent or the editor plugins', () => {
    assert.equal(show(edges.filter((e) => e.from.startsWith('nodes/') && /^(runtime|editor-plugins)\//.test(e.to))), '');
  });

  it('a node uses another node only through its public face (nodes/<node>/index.ts)', () => {
    const bad = edges.filter((e) => {
      const [a, b] = [nodeOf(e.from), nodeOf(e.to)];
      return a && b && a !== b && b !== 'kit' && !isPublicFace(e.to);
    });
    assert.equal(show(bad), '');
  });

  it('cores do not import the node kit (errors they raise live in contracts/errors.ts)', () => {
    const bad = edges.filter((e) => e.to.startsWith('nodes/kit/') && nodeOf(e.from) !== 'kit' && nodeOf(e.from) && !isAdapter(e.from) && !isPublicFace(e.from) && !(isEditorSide(e.from) && e.to.startsWith('nodes/kit/editor/')));
    assert.equal(show(bad), '');
  });

  it('the editor kit (nodes/kit/editor/) imports only itself: it runs in the browser', () => {
    assert.equal(show(edges.filter((e) => e.from.startsWith('nodes/kit/editor/') && !e.to.startsWith('nodes/kit/editor/'))), '');
  });

  it('editor code never imports an adapter or the runtime node kit (nothing of Node-RED\'s runtime reaches the browser)', () => {
    const bad = edges.filter((e) => isEditorSide(e.from) && (isAdapter(e.to) || (e.to.startsWith('nodes/kit/') && !e.to.startsWith('nodes/kit/editor/'))));
    assert.equal(show(bad), '');
  });

  it('programs and editor plugins reach nodes only through their public faces', () => {
    const bad = edges.filter((e) => /^(runtime|editor-plugins)\//.test(e.from) && e.to.startsWith('nodes/') && !isPublicFace(e.to));
    assert.equal(show(bad), '');
  });

  it('editor plugins import only contracts and libraries', () => {
    assert.equal(show(edges.filter((e) => e.from.startsWith('editor-plugins/') && !/^(contracts|lib|editor-plugins)\//.test(e.to))), '');
  });

  it('the history API reads through public faces only and is a program of its own (no repository, agent, CLI or dev imports)', () => {
    const bad = edges.filter((e) => e.from.startsWith('runtime/history/') && !/^(contracts|lib|runtime\/history)\//.test(e.to) && !isPublicFace(e.to));
    assert.equal(show(bad), '');
    assert.ok(edges.some((e) => e.from.startsWith('runtime/history/') && e.to === 'nodes/timescale-db/index.ts'), 'the rule is not vacuous');
  });

  it('the repository and the agent are separate programs (the agent uses only the repository client)', () => {
    const bad = edges.filter(
      (e) =>
        (e.from.startsWith('runtime/repo/') && /^runtime\/(agent|cli|dev)\//.test(e.to)) ||
        (e.from.startsWith('runtime/agent/') && /^runtime\/(cli|dev)\//.test(e.to)) ||
        (e.from.startsWith('runtime/agent/') && e.to.startsWith('runtime/repo/') && e.to !== 'runtime/repo/client.ts'),
    );
    assert.equal(show(bad), '');
  });

  it("the repository store's parts use only contracts, libraries, the repository's rules and each other; only its face composes them", () => {
    const RULES = /^runtime\/repo\/(api\.schema|auth|db|model-storage|node-policy|publish-checks|rollout)\.ts$/;
    const bad = edges.filter(
      (e) =>
        e.from.startsWith('runtime/repo/store/') &&
        (!(/^(contracts|lib)\//.test(e.to) || RULES.test(e.to) || e.to.startsWith('runtime/repo/store/')) || (e.to === 'runtime/repo/store/repo-store.ts' && e.from !== e.to)),
    );
    assert.equal(show(bad), '');
    assert.ok(edges.some((e) => e.from === 'runtime/repo/server.ts' && e.to === 'runtime/repo/store/repo-store.ts'), 'the server uses the store through its face');
  });

  it('templates are published in one place (runtime/repo/templates.ts); manifests and parameter checks live in contracts/fleet/templates.ts', () => {
    const HOME = new Set(['runtime/repo/templates.ts', 'runtime/repo/client.ts', 'runtime/repo/server.ts']);
    const publishers = files.filter((f) => !HOME.has(f) && !f.startsWith('runtime/repo/store/') && /\.createTemplate\(|\.publishVersion\(/.test(fs.readFileSync(path.join(PACKAGE_ROOT, f), 'utf8')));
    assert.deepEqual(publishers, []);
    const manifestTypes = files.filter((f) => f !== 'contracts/fleet/templates.ts' && /\binterface (Shipped)?TemplateManifest\b/.test(fs.readFileSync(path.join(PACKAGE_ROOT, f), 'utf8')));
    assert.deepEqual(manifestTypes, []);
    for (const user of ['runtime/cli/commands/flows.ts', 'runtime/dev/demo/templates.ts']) assert.ok(edges.some((e) => e.from === user && e.to === 'runtime/repo/templates.ts'), `${user} publishes through runtime/repo/templates.ts`);
  });

  it('the palette rooms use only the palette package\'s dependencies (node-red and express as types only; optional peers as types or a require() on first use)', () => {
    const palette = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'packages', 'palette', 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      peerDependenciesMeta?: Record<string, { optional?: boolean }>;
    };
    const allowed = new Set(Object.keys(palette.dependencies));
    // An optional peer (onnxruntime-node for vision-detect) may be missing: only a require() inside a function
    // can say so in words; a top-level import would stop the whole palette from loading.
    const optionalPeers = new Set(Object.entries(palette.peerDependenciesMeta ?? {}).filter(([, m]) => m.optional).map(([n]) => n));
    const TYPES_ONLY = new Set(['node-red', 'express']);
    const bad: string[] = [];
    for (const file of files.filter((f) => /^(contracts|lib|nodes|editor-plugins)\//.test(f))) {
      fs.readFileSync(path.join(PACKAGE_ROOT, file), 'utf8').split('\n').forEach((text, i) => {
        const statement = /^\s*(import\s+type\b[^'"]*from|(?:import|export)\b[^'"]*from|\}[^'"]*from|import)\s*['"]([^'"]+)['"]|\b(require|import)\(\s*['"]([^'"]+)['"]/g;
        for (const m of text.matchAll(statement)) {
          const spec = (m[2] ?? m[4])!;
          if (spec.startsWith('.') || spec.startsWith('node:')) continue;
          const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
          const typeOnly = /^import\s+type\s/.test(m[1] ?? '');
          if (allowed.has(name) || (typeOnly && TYPES_ONLY.has(name)) || name.startsWith('@node-red/')) continue;
          if (optionalPeers.has(name) && (typeOnly || (m[3] === 'require' && /^\s+/.test(text)))) continue;
          bad.push(`${file}:${i + 1} ${typeOnly ? 'imports types of' : 'imports'} ${spec}`);
        }
      });
    }
    assert.equal(bad.join('\n'), '', 'the palette package would not install it into a user\'s Node-RED');
  });
});
