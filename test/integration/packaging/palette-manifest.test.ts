// The palette package's manifest against the Node-RED Flow Library's conventions and against what its compiled
// files really import: a dependency a node needs is declared, and nothing the nodes do not need (above all
// node-red itself) is.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT, PALETTE_NAME, paletteRoot } from '../../../runtime/paths';

interface PaletteManifest {
  name: string;
  keywords: string[];
  license: string;
  engines: { node: string };
  files: string[];
  'node-red': { version: string; nodes: Record<string, string>; plugins: Record<string, string> };
  dependencies: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  devDependencies?: Record<string, string>;
}

/** Packages Node-RED brings to every node (the peer), never installed by the palette. */
const FROM_THE_PEER = (name: string) => name === 'node-red' || name.startsWith('@node-red/');
/** What a plain Node-RED user directory must never receive from the palette. */
const FORBIDDEN_IN_PALETTE = ['node-red', 'aedes', '@electric-sql/pglite', 'express', 'commander', 'bcryptjs', 'semver'];

function walk(dir: string, out: string[] = []): string[] {
  for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, ent.name);
    if (ent.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/** Package names the compiled CommonJS files require (type-only imports are gone after compilation). */
function requiredPackages(files: string[]): Map<string, string[]> {
  const builtins = new Set(builtinModules);
  const found = new Map<string, string[]>();
  for (const file of files.filter((f) => f.endsWith('.js') && !f.endsWith('.browser.js'))) {
    for (const m of fs.readFileSync(file, 'utf8').matchAll(/\brequire\(\s*["']([^"'.][^"']*)["']\s*\)/g)) {
      const spec = m[1]!;
      if (spec.startsWith('node:') || builtins.has(spec.split('/')[0]!)) continue;
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
      found.set(name, [...(found.get(name) ?? []), path.relative(PACKAGE_ROOT, file)]);
    }
  }
  return found;
}

describe('palette package manifest (@linesight/node-red-linesight)', () => {
  const root = paletteRoot();
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as PaletteManifest;

  it('is named and tagged the way the Flow Library lists palettes', () => {
    assert.equal(pkg.name, PALETTE_NAME);
    assert.match(pkg.name, /^@[a-z0-9-]+\/node-red-/, 'a scoped name (the Flow Library asks new packages for one)');
    assert.ok(pkg.keywords.includes('node-red'), 'the keyword the Flow Library and the palette manager search for');
    assert.equal(pkg['node-red'].version, '>=4.1.0');
    assert.ok(pkg.engines.node);
    assert.equal(pkg.license, 'Apache-2.0');
    for (const f of ['README.md', 'LICENSE', 'package.json']) assert.ok(fs.existsSync(path.join(root, f)), `${f} is in the palette folder`);
    assert.deepEqual([...pkg.files].sort(), ['LICENSE', 'README.md', 'dist', 'examples']);
  });

  it('points node-red.nodes and node-red.plugins at compiled files inside the package, each node with its editor', () => {
    for (const [type, js] of Object.entries(pkg['node-red'].nodes)) {
      assert.match(js, /^dist\//);
      assert.ok(fs.existsSync(path.join(root, js)), `${type}: ${js} is built into the palette`);
      assert.ok(fs.existsSync(path.join(root, js.replace(/\.js$/, '.html'))), `${type}: its editor HTML is beside it`);
    }
    for (const [id, js] of Object.entries(pkg['node-red'].plugins)) {
      assert.ok(fs.existsSync(path.join(root, js)), `plugin ${id}: ${js} is built into the palette`);
    }
    assert.deepEqual(Object.keys(pkg['node-red'].plugins), ['linesight-flow-repository']);
    // What the nodes read at run time, at the same relative places as in dist/.
    assert.ok(fs.existsSync(path.join(root, 'dist', 'schemas', 'Inspection.json')), 'the generated JSON schemas');
    assert.ok(fs.existsSync(path.join(root, 'dist', 'proto', 'linesight', 'v1', 'inspection.proto')), 'the proto');
    assert.equal(fs.existsSync(path.join(root, 'dist', 'runtime')), false, 'no runtime in the palette');
    assert.equal(fs.existsSync(path.join(root, 'dist', 'test')), false, 'no tests in the palette');
  });

  it('ships the Import > Examples flows in examples/, current with the top-level examples/', () => {
    const ours = fs.readdirSync(path.join(PACKAGE_ROOT, 'examples')).filter((f) => f.endsWith('.json')).sort();
    assert.ok(ours.length >= 3);
    assert.deepEqual(fs.readdirSync(path.join(root, 'examples')).sort(), ours);
    for (const f of ours) assert.equal(fs.readFileSync(path.join(root, 'examples', f), 'utf8'), fs.readFileSync(path.join(PACKAGE_ROOT, 'examples', f), 'utf8'));
  });

  it('refuses to be packed before a build (a tarball without its compiled nodes)', () => {
    const unbuilt = fs.mkdtempSync(path.join(os.tmpdir(), 'linesight-unbuilt-palette-'));
    try {
      for (const f of ['package.json', 'README.md', 'LICENSE']) fs.copyFileSync(path.join(root, f), path.join(unbuilt, f));
      const pack = spawnSync('npm', ['pack', '--dry-run'], { cwd: unbuilt, encoding: 'utf8', timeout: 60_000 });
      assert.notEqual(pack.status, 0);
      assert.match(pack.stderr, /the palette is not built: run npm run build/);
    } finally {
      fs.rmSync(unbuilt, { recursive: true, force: true });
    }
  });

  it('lists every node in its README', () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    for (const type of Object.keys(pkg['node-red'].nodes)) assert.match(readme, new RegExp(`^\\| \`${type}\` \\|`, 'm'), `${type} has a row in the README's node table`);
  });

  it('has node-red as an optional peer, never as a dependency', () => {
    assert.equal(pkg.peerDependencies?.['node-red'], '>=4.1.0');
    assert.equal(pkg.peerDependenciesMeta?.['node-red']?.optional, true, 'npm 7+ would otherwise install a second Node-RED into the user dir');
    assert.equal(pkg.devDependencies, undefined);
    for (const name of FORBIDDEN_IN_PALETTE) assert.equal(pkg.dependencies[name], undefined, `${name} is no dependency of the palette`);
  });

  it('depends on exactly the packages its compiled files require', () => {
    const required = requiredPackages(walk(path.join(root, 'dist')));
    // An optional peer (onnxruntime-node, ~300 MB, for vision-detect only) is required on first use, not installed.
    const optionalPeers = Object.keys(pkg.peerDependencies ?? {}).filter((n) => n !== 'node-red');
    assert.deepEqual(optionalPeers, ['onnxruntime-node']);
    const needed = [...required.keys()].filter((n) => !FROM_THE_PEER(n) && !optionalPeers.includes(n)).sort();
    assert.deepEqual(Object.keys(pkg.dependencies).sort(), needed, `required by the palette's files: ${JSON.stringify(Object.fromEntries(required))}`);
    for (const n of optionalPeers) assert.ok(required.has(n), `${n} is an optional peer the palette's files do require`);
    // node-opcua's many packages must move together with the version the OPC UA driver was tested with.
    assert.equal(pkg.dependencies['node-opcua'], '2.182.2');
    // The versions agree with the linesight package's, so one install serves both.
    const rootPkg = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as PaletteManifest;
    for (const [name, range] of Object.entries(pkg.dependencies)) assert.equal(range, rootPkg.dependencies[name] ?? range, `${name}: the same range in both packages`);
    assert.equal(rootPkg.dependencies[PALETTE_NAME], JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version, 'linesight depends on this palette version');
  });
});
