import assert from 'node:assert/strict';
import { startRuntimeProcess, type RuntimeProcess } from '../../support/runtime-process';
import { waitFor } from '../../support/wait';
import { devOnlyNodeModules } from '../../../runtime/tier-runtime';

describe('tier runtime (linesight runtime, real Node-RED process)', function () {
  this.timeout(60_000);
  let rt: RuntimeProcess | undefined;
  afterEach(async () => {
    await rt?.stop();
    rt = undefined;
  });

  it('serves the editor and lists the linesight module and its nodes in GET /nodes', async () => {
    rt = await startRuntimeProcess({ tier: 'line', insecure: true });
    const editor = await fetch(rt.url);
    assert.equal(editor.status, 200);
    assert.match(await editor.text(), /Linesight · line/);
    const res = await rt.request('GET', 'nodes');
    assert.equal(res.status, 200);
    const sets = (await res.json()) as Array<{ module: string; types: string[]; enabled: boolean; err?: string }>;
    const ours = sets.filter((s) => s.module === 'linesight');
    assert.ok(ours.length > 0, 'linesight module is loaded');
    const broken = ours.filter((s) => s.err);
    assert.deepEqual(broken.map((s) => `${s.types}: ${s.err}`), [], 'every linesight node set loads');
    assert.ok(ours.some((s) => s.types.includes('contract-check')));
    // Benchmark comparators installed as devDependencies never reach a runtime's palette.
    const devOnly = devOnlyNodeModules(rt.userDir);
    assert.ok(devOnly.includes('node-red-contrib-modbus'), 'the comparator is installed in a development checkout');
    assert.deepEqual(sets.filter((s) => devOnly.includes(s.module)).map((s) => s.module), []);
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
});
