import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_INITIAL_HEAP_MIB, INITIAL_HEAP_ENV } from '../../../runtime/tier/node-flags';
import { DASHBOARD_NAME, PACKAGE_ROOT, PALETTE_NAME } from '../../../runtime/paths';
import { startRuntimeProcess, type RuntimeProcess } from '../../support/runtime-process';
import { waitFor } from '../../support/wait';
import { devOnlyNodeModules } from '../../../runtime/tier/tier-runtime';

describe('tier runtime (linesight runtime, real Node-RED process)', function () {
  this.timeout(60_000);
  let rt: RuntimeProcess | undefined;
  afterEach(async () => {
    await rt?.stop();
    rt = undefined;
  });

  it('serves the editor and lists the palette module and its nodes in GET /nodes', async () => {
    rt = await startRuntimeProcess({ tier: 'line', insecure: true });
    const editor = await fetch(rt.url);
    assert.equal(editor.status, 200);
    assert.match(await editor.text(), /Linesight · line/);
    const res = await rt.request('GET', 'nodes');
    assert.equal(res.status, 200);
    const sets = (await res.json()) as Array<{ module: string; types: string[]; enabled: boolean; err?: string }>;
    const ours = sets.filter((s) => s.module === PALETTE_NAME);
    assert.ok(ours.length > 0, 'the palette module is loaded');
    const broken = ours.filter((s) => s.err);
    assert.deepEqual(broken.map((s) => `${s.types}: ${s.err}`), [], 'every linesight node set loads');
    assert.ok(ours.some((s) => s.types.includes('contract-check')));
    // Benchmark comparators installed as devDependencies never reach a runtime's palette.
    const devOnly = devOnlyNodeModules(rt.userDir);
    assert.ok(devOnly.includes('node-red-contrib-modbus'), 'the comparator is installed in a development checkout');
    assert.deepEqual(sets.filter((s) => devOnly.includes(s.module)).map((s) => s.module), []);
    // Dashboard 2.0 (the line screen) loads from the link in the user directory, every set without error.
    const dashboard = sets.filter((s) => s.module === DASHBOARD_NAME) as Array<{ types: string[]; enabled: boolean; err?: string; local?: boolean }>;
    assert.deepEqual(dashboard.filter((s) => s.err || !s.enabled).map((s) => `${s.types}: ${s.err}`), [], 'every Dashboard 2.0 node set loads');
    assert.ok(dashboard.some((s) => s.types.includes('ui-template')) && dashboard.every((s) => s.local), 'Dashboard 2.0 is loaded from the user directory');
    assert.equal(fs.realpathSync(path.join(rt.userDir, 'node_modules', ...DASHBOARD_NAME.split('/'))), fs.realpathSync(path.join(PACKAGE_ROOT, 'node_modules', ...DASHBOARD_NAME.split('/'))));
  });

  it('requires a login for the editor API outside the demo', async () => {
    rt = await startRuntimeProcess({ tier: 'factory', insecure: false });
    const m = /password "([^"]+)"/.exec(rt.output());
    assert.ok(m, `generated password is printed once:\n${rt.output()}`);
    assert.equal((await rt.request('GET', 'flows')).status, 401);
    await assert.rejects(rt.login('admin', 'wrong-password'), /login failed: 403|login failed: 401/);
    await rt.login('admin', m[1]);
    assert.equal((await rt.request('GET', 'flows')).status, 200);
    const stored = rt.userDir + '/.linesight/admin.json';
    const fs = await import('node:fs');
    const text = fs.readFileSync(stored, 'utf8');
    assert.ok(!text.includes(m[1]), 'the password is stored hashed, never in clear');
    assert.match(text, /\$2[aby]\$10\$/);
  });

  it('fails a node with an invalid config at deploy, naming the node and the field', async () => {
    rt = await startRuntimeProcess({ tier: 'line', insecure: true });
    await rt.deploy([
      { id: 'tab1', type: 'tab', label: 'Flow 1' },
      { id: 'n1', z: 'tab1', type: 'contract-check', name: 'gate', contract: 'everything', wires: [[], []] },
    ]);
    const out = await waitFor('the config error in the log', () => (/contract-check "gate" config: contract must be one of/.test(rt!.output()) ? rt!.output() : ''));
    assert.match(out, /\[error\]/);
  });

  describe('node flags (runtime/node-flags.ts)', () => {
    const health = async (r: RuntimeProcess) => (await (await fetch(`${r.url}healthz`)).json()) as { initialHeapMiB: number | null };
    // ps exits 1 when it finds none: read its output either way.
    const childrenOf = (pid: number) => spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).stdout.split('\n').map((l) => Number(l.trim())).filter((n) => n > 0);
    const refused = async (url: string) => fetch(url, { signal: AbortSignal.timeout(2000) }).then(() => false, () => true);

    it('started without them, relaunches itself under the runtime heap flags and passes SIGTERM on', async () => {
      rt = await startRuntimeProcess({ relaunch: true });
      assert.equal((await health(rt)).initialHeapMiB, DEFAULT_INITIAL_HEAP_MIB, 'Node-RED runs in a process started with --initial-heap-size');
      const [child] = childrenOf(rt.proc.pid!);
      assert.ok(child, 'the launcher has the runtime as its child');
      assert.match(fs.readFileSync(`/proc/${child}/cmdline`, 'utf8'), new RegExp(`--initial-heap-size=${DEFAULT_INITIAL_HEAP_MIB}\0`));
      const exit = new Promise<[number | null, string | null]>((r) => rt!.proc.once('exit', (c, s) => r([c, s])));
      rt.proc.kill('SIGTERM');
      assert.deepEqual(await exit, [0, null], 'the launcher exits as its runtime did: cleanly');
      assert.equal(fs.existsSync(`/proc/${child}`), false, 'the runtime is gone');
      assert.ok(await refused(rt.url));
    });

    it('a launcher killed outright takes its runtime with it', async () => {
      rt = await startRuntimeProcess({ relaunch: true });
      const [child] = childrenOf(rt.proc.pid!);
      rt.proc.kill('SIGKILL');
      await waitFor('the runtime to die with its launcher', () => !fs.existsSync(`/proc/${child}`) || /^\S+ \S+ Z/.test(fs.readFileSync(`/proc/${child}/stat`, 'utf8')), 10_000);
      await waitFor('the editor port to close', () => refused(rt!.url), 10_000);
    });

    it('takes the heap from --initial-heap-mib or LINESIGHT_INITIAL_HEAP_MIB; 0 runs in place with V8 defaults', async () => {
      rt = await startRuntimeProcess({ relaunch: true, env: { [INITIAL_HEAP_ENV]: '64' } });
      assert.equal((await health(rt)).initialHeapMiB, 64);
      await rt.stop();
      rt = await startRuntimeProcess({ relaunch: true, args: ['--initial-heap-mib', '0'] });
      assert.equal((await health(rt)).initialHeapMiB, null);
      assert.deepEqual(childrenOf(rt.proc.pid!), [], 'no relaunch: the runtime is the process started');
    });

    it('refuses a heap size that is not a whole number of MiB, naming the option', async () => {
      const out = spawnSync(process.execPath, [path.join(PACKAGE_ROOT, 'bin', 'linesight.js'), 'runtime', '--tier', 'line', '--initial-heap-mib', 'lots'], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(out.status, 1);
      assert.match(out.stderr, /--initial-heap-mib must be a whole number of MiB from 0 to 65536.*"lots"/);
    });
  });
});
