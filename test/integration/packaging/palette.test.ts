// The palette as a Node-RED user gets it: `npm pack` the palette package, `npm install` the tarball into a fresh
// user directory that holds nothing else, start a plain Node-RED 4.1 on it, and check through the admin API
// that every Linesight node and the sidebar plugin register, that an example imports and deploys, and that
// the install brought no second Node-RED and none of the linesight command's server dependencies.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DASHBOARD_NAME, PACKAGE_ROOT, PALETTE_NAME, paletteNodeFiles, paletteRoot } from '../../../runtime/paths';
import { linesightNodeTypes } from '../../../runtime/repo/node-types';
import { devOnlyNodeModules } from '../../../runtime/tier/tier-runtime';
import { freePort } from '../../support/services';
import { waitFor } from '../../support/wait';

/**
 * What a plain Node-RED user directory must never receive from the palette. Dashboard 2.0 is among them: the
 * line-inspection example's line screen uses it, but a user installs it (or has it) beside the palette.
 */
const FORBIDDEN = ['node-red', 'aedes', '@electric-sql/pglite', 'express', DASHBOARD_NAME];

/**
 * The environment of a user's shell: `npm test` passes its settings down as npm_* variables and puts this
 * checkout's node_modules/.bin first on PATH (where Node-RED's own npm 10 sits); the user's npm sees neither.
 */
function userNpmEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  const pathKey = Object.keys(env).find((k) => k.toUpperCase() === 'PATH') ?? 'PATH';
  env[pathKey] = (env[pathKey] ?? '').split(path.delimiter).filter((dir) => !path.resolve(dir).startsWith(PACKAGE_ROOT + path.sep)).join(path.delimiter);
  return env;
}

function npm(args: string[], cwd: string, timeout = 15 * 60_000, extraEnv: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync('npm', args, { cwd, env: { ...userNpmEnv(), ...extraEnv }, encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024 });
}

function tail(text: string, lines = 30): string {
  return text.split('\n').slice(-lines).join('\n');
}

interface LsEntry {
  version?: string;
  dependencies?: Record<string, LsEntry>;
}

/** Every installed package in `npm ls --all --json` (an optional peer left out shows as `{}`: not installed). */
function installedNames(tree: LsEntry, out = new Set<string>()): Set<string> {
  for (const [name, entry] of Object.entries(tree.dependencies ?? {})) {
    if (entry.version) out.add(name);
    installedNames(entry, out);
  }
  return out;
}

interface NodeSet {
  id: string;
  module: string;
  version: string;
  types: string[];
  enabled: boolean;
  local?: boolean;
  err?: string;
}

describe('palette package in a plain Node-RED 4.1 (npm pack, npm install, node-red -u)', function () {
  this.timeout(20 * 60_000);
  const root = paletteRoot();
  let work: string;
  let userDir: string;
  let packed: { filename: string; size: number; unpackedSize: number; files: Array<{ path: string }> };
  let nodeRed: ChildProcess | undefined;
  let log = '';
  let url = '';
  const timings: Record<string, number> = {};
  let npmVersion = '';
  const timed = <T>(what: string, fn: () => T): T => {
    const t0 = Date.now();
    try {
      return fn();
    } finally {
      timings[what] = (Date.now() - t0) / 1000;
    }
  };
  const api = (route: string, init: RequestInit = {}) =>
    fetch(url + route, { ...init, headers: { Accept: 'application/json', 'Content-Type': 'application/json', ...(init.headers as Record<string, string>) } });

  before(async function () {
    const ping = npm(['ping'], os.tmpdir(), 30_000);
    if (ping.status !== 0) {
      const why = ping.signal ? 'no answer within 30 s' : tail((ping.stderr || String(ping.error ?? '')).trim(), 3);
      console.log(`      skipped: the npm registry cannot be reached (npm ping: ${why}); the palette's dependencies come from it`);
      this.skip();
    }
    npmVersion = npm(['--version'], os.tmpdir(), 30_000).stdout.trim();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'linesight-palette-'));
    userDir = path.join(work, 'node-red-user');
    fs.mkdirSync(userDir);

    const pack = timed('npm pack', () => npm(['pack', '--json', '--pack-destination', work], root));
    assert.equal(pack.status, 0, `npm pack failed:\n${tail(pack.stderr)}`);
    packed = (JSON.parse(pack.stdout) as typeof packed[])[0]!;

    // What Node-RED writes into a new user directory, and nothing else.
    fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', description: 'A Node-RED Project', version: '0.0.1', private: true }, null, 2));
    // onnxruntime-node's install script fetches optional GPU files from a host this network cannot reach; the
    // palette's README tells users on such networks to skip it exactly like this (the CPU backend is bundled).
    const install = timed('npm install', () => npm(['install', '--no-audit', '--no-fund', path.join(work, packed.filename)], userDir, undefined, { ONNXRUNTIME_NODE_INSTALL: 'skip' }));
    assert.equal(install.status, 0, `npm install of the tarball failed:\n${tail(install.stdout + install.stderr)}`);

    // The Node-RED of this checkout (4.1), started the way a user starts theirs. Node-RED also scans the
    // node_modules it sits in; the development-only Node-RED modules there are excluded, and a module in the
    // user directory wins over the same module found beside Node-RED, so what loads is the tarball's.
    // Dashboard 2.0 found there stands in for the one a user installs for the example's line screen.
    const port = await freePort();
    const redJs = require.resolve('node-red/red.js', { paths: [PACKAGE_ROOT] });
    const t0 = Date.now();
    nodeRed = spawn(process.execPath, [redJs, '-u', userDir, '-p', String(port), '-D', 'uiHost=127.0.0.1', '-D', `nodesExcludes=${JSON.stringify(devOnlyNodeModules(userDir))}`], { cwd: userDir, env: userNpmEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    nodeRed.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    nodeRed.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    url = `http://127.0.0.1:${port}/`;
    await waitFor('Node-RED to start', () => {
      if (nodeRed!.exitCode !== null) throw new Error(`Node-RED exited (${nodeRed!.exitCode}):\n${tail(log)}`);
      return /Server now running at/.test(log);
    }, 120_000, 100);
    timings['Node-RED start'] = (Date.now() - t0) / 1000;
  });

  after(async () => {
    if (nodeRed && nodeRed.exitCode === null) {
      const exited = new Promise((resolve) => nodeRed!.once('exit', resolve));
      nodeRed.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (nodeRed.exitCode === null) nodeRed.kill('SIGKILL');
    }
    if (work && Object.keys(timings).length) {
      const du = spawnSync('du', ['-sk', path.join(userDir, 'node_modules')], { encoding: 'utf8' });
      const mib = Math.round(Number(du.stdout.split('\t')[0]) / 1024);
      const packages = fs.existsSync(path.join(userDir, 'node_modules', '.package-lock.json'))
        ? Object.keys((JSON.parse(fs.readFileSync(path.join(userDir, 'node_modules', '.package-lock.json'), 'utf8')) as { packages: object }).packages).length
        : NaN;
      console.log(`      palette (npm ${npmVersion}): tarball ${Math.round(packed.size / 1024)} KiB (${packed.files.length} files); ${Object.entries(timings).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ')}; user dir node_modules ${mib} MiB, ${packages} packages`);
    }
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('packs the nodes, the plugin, the schemas, the proto, the examples, README and licence, and no runtime or tests', () => {
    const files = packed.files.map((f) => f.path);
    for (const f of ['package.json', 'README.md', 'LICENSE', 'examples/line-inspection.json', 'dist/schemas/Inspection.json', 'dist/proto/linesight/v1/inspection.proto']) {
      assert.ok(files.includes(f), `${f} is in the tarball`);
    }
    for (const js of [...Object.values(paletteNodeFiles()), 'dist/editor-plugins/flow-repository/flow-repository.js']) {
      assert.ok(files.includes(js), `${js} is in the tarball`);
      assert.ok(files.includes(js.replace(/\.js$/, '.html')), `${js}'s editor HTML is in the tarball`);
    }
    assert.deepEqual(files.filter((f) => /^dist\/(runtime|test|bench)\//.test(f) || f.endsWith('.ts')), [], 'no runtime, tests, benchmarks or TypeScript sources');
  });

  it('installs without a second Node-RED and without the linesight command\'s server dependencies', () => {
    const ls = npm(['ls', '--all', '--json'], userDir, 120_000);
    const tree = JSON.parse(ls.stdout) as LsEntry;
    assert.ok(tree.dependencies?.[PALETTE_NAME]?.version, `the palette is installed: ${tail(ls.stderr)}`);
    const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) assert.equal(manifest[field]?.[DASHBOARD_NAME], undefined, `the palette's ${field} leave Dashboard 2.0 to the user`);
    const installed = installedNames(tree);
    assert.deepEqual(FORBIDDEN.filter((name) => installed.has(name)), [], 'none of these is in the installed dependency tree');
    for (const name of FORBIDDEN) assert.equal(fs.existsSync(path.join(userDir, 'node_modules', name)), false, `no node_modules/${name}`);
  });

  it('registers every Linesight node from the user directory with no error', async () => {
    const res = await api('nodes');
    assert.equal(res.status, 200);
    const sets = (await res.json()) as NodeSet[];
    const ours = sets.filter((s) => s.module === PALETTE_NAME);
    assert.deepEqual(ours.filter((s) => s.err || !s.enabled).map((s) => `${s.id}: ${s.err}`), [], `every node set loads:\n${tail(log)}`);
    assert.deepEqual(ours.map((s) => s.id).sort(), Object.keys(paletteNodeFiles()).map((n) => `${PALETTE_NAME}/${n}`).sort());
    assert.deepEqual(ours.flatMap((s) => s.types).sort(), [...new Set(linesightNodeTypes())].sort());
    for (const s of ours) {
      assert.equal(s.local, true, `${s.id} is loaded from the user directory`);
      assert.equal(s.version, JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version);
    }
    assert.deepEqual([...new Set(sets.map((s) => s.module))].sort(), ['node-red', PALETTE_NAME, DASHBOARD_NAME].sort(), 'nothing but Node-RED core, the palette and Dashboard 2.0 beside Node-RED');
    assert.ok(sets.filter((s) => s.module === DASHBOARD_NAME).every((s) => !s.local), 'Dashboard 2.0 is not in the user directory: the palette did not bring it');
  });

  it('registers the flow-repository sidebar plugin with no error', async () => {
    const res = await api('plugins');
    assert.equal(res.status, 200);
    const sets = (await res.json()) as Array<{ id: string; module: string; enabled: boolean; err?: string; plugins: Array<{ id: string; type?: string }> }>;
    const ours = sets.filter((s) => s.module === PALETTE_NAME);
    assert.deepEqual(ours.map((s) => ({ id: s.id, err: s.err, enabled: s.enabled })), [{ id: `${PALETTE_NAME}/linesight-flow-repository`, err: undefined, enabled: true }]);
    assert.ok(ours[0]!.plugins.length > 0, 'the set defines its plugin');
    const editor = await fetch(url + 'plugins', { headers: { Accept: 'text/html' } });
    assert.match(await editor.text(), /RED\.plugins\.registerPlugin\(["']linesight-flow-repository["']/, 'the editor receives the plugin\'s script');
  });

  it('offers the examples under Import > Examples, and one deploys', async () => {
    // The routes the editor's Import > Examples menu reads.
    const modules = (await (await api('library/examples/flows/')).json()) as string[];
    assert.ok(modules.includes(PALETTE_NAME), `examples of ${modules.join(', ')}`);
    const listing = (await (await api(`library/examples/flows/${PALETTE_NAME}`)).json()) as Array<{ fn?: string }>;
    assert.deepEqual(listing.map((e) => e.fn).sort(), ['cloud-history', 'factory-aggregation', 'line-inspection', 'vision-detect', 'vision-inspection']);
    const example = await api(`library/examples/flows/${PALETTE_NAME}/line-inspection`);
    assert.equal(example.status, 200);
    const flow = (await example.json()) as Array<{ id: string; type: string; env?: Array<{ name: string; value: string }> }>;
    // The camera port is a parameter; a free one keeps the test off a port something else may hold.
    const tab = flow.find((n) => n.type === 'tab')!;
    const cameraPort = tab.env?.find((e) => e.name === 'CAMERA_PORT');
    if (cameraPort) cameraPort.value = String(await freePort());

    const before = log.length;
    const deploy = await api('flows', { method: 'POST', body: JSON.stringify(flow), headers: { 'Node-RED-Deployment-Type': 'full' } });
    assert.equal(deploy.status, 204, await deploy.text());
    const started = await waitFor('the flows to start', () => (/Started flows/.test(log.slice(before)) ? log.slice(before) : ''), 60_000);
    assert.doesNotMatch(started, /Waiting for missing types|Unknown type|\[error\]/, started);
    const deployed = (await (await api('flows')).json()) as Array<{ type: string }>;
    const ours = new Set(linesightNodeTypes());
    assert.deepEqual(deployed.filter((n) => ours.has(n.type)).map((n) => n.type).sort(), flow.filter((n) => ours.has(n.type)).map((n) => n.type).sort());
    assert.ok(deployed.filter((n) => ours.has(n.type)).length >= 8, 'the example uses most of the palette');
  });
});
