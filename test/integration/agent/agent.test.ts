// The edge agent against the real repository (in-process, real database) and real Node-RED runtimes
// (child processes the agent starts): converge, health rollback, crash-loop rollback, tampered version,
// drift, line-state gate, and a restart with no network into the last good flow (through the CLI).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../../runtime/paths';
import { crashingFlow, lateCrashFlow, probeFlow, unhealthyFlow } from '../../fixtures/agent/flows';
import { freePort } from '../../support/services';
import { waitFor } from '../../support/wait';
import { flowFileOf, OPERATOR_PASSWORD, startFleet, uniqueId, type AgentUnderTest, type Fleet } from './fleet';

const V = (v: string) => `agent-probe@${v}`;

describe('edge agent: real repository, real Node-RED runtimes', function () {
  this.timeout(180_000);
  let fleet: Fleet;
  let a: AgentUnderTest;
  let b: AgentUnderTest;
  const ids = { a: uniqueId('line-a'), b: uniqueId('line-b') };

  before(async function () {
    this.timeout(120_000);
    fleet = await startFleet({ broker: true });
    const [ta, tb] = [await fleet.register(ids.a, { LINE_ID: 'L1' }), await fleet.register(ids.b, { LINE_ID: 'L2' })];
    [a, b] = await Promise.all([fleet.startAgent(ids.a, ta), fleet.startAgent(ids.b, tb)]);
  });
  after(async function () {
    this.timeout(60_000);
    await fleet?.close();
  });

  it('publish, deploy to the line tier: every runtime converges and runs the flow with its own parameters', async () => {
    assert.equal(a.agent.state, 'idle');
    await fleet.publish('1.0.0', probeFlow('v1'));
    const dep = await fleet.deploy({ version: '1.0.0', target: { tier: 'line' } });
    await Promise.all([a.waitFor('running', V('1.0.0')), b.waitFor('running', V('1.0.0'))]);
    assert.deepEqual(await a.probe(), { version: 'v1', line: 'L1' });
    assert.deepEqual(await b.probe(), { version: 'v1', line: 'L2' });
    const seen = a.states.map((s) => s.state);
    for (const step of ['downloading', 'verifying', 'deploying', 'health-check', 'running']) assert.ok(seen.includes(step as never), `went through ${step}: ${seen}`);
    await waitFor('the deployment to complete in the repository', async () => (await fleet.h.admin.getDeployment(dep)).state === 'completed', 20_000);
    const dev = await fleet.device(ids.a);
    assert.equal(dev.running, V('1.0.0'));
    const lastGood = JSON.parse(fs.readFileSync(path.join(a.userDir, '.linesight', 'agent', 'last-good.json'), 'utf8'));
    assert.equal(lastGood.target, V('1.0.0'));
  });

  it('a flow that fails its health check is rolled back automatically, with the reason reported', async () => {
    await fleet.publish('1.1.0', unhealthyFlow('v1.1-bad'));
    await fleet.deploy({ version: '1.1.0', target: { ids: [ids.a] } });
    const s = await a.waitFor('rolled-back', V('1.1.0'));
    assert.ok(s.reasons.some((r) => /function "calibration" \(calibration-fn\): .*calibration table missing/.test(r)), s.reasons.join('\n'));
    assert.equal(a.agent.running, V('1.0.0'));
    assert.deepEqual(await a.probe(), { version: 'v1', line: 'L1' });
    await waitFor('the repository to show rolled back', async () => (await fleet.device(ids.a)).reportedState === 'rolled back', 20_000);
    const dev = await fleet.device(ids.a);
    assert.equal(dev.running, V('1.0.0'));
    assert.ok(dev.reasons.some((r) => /calibration table missing/.test(r)));
  });

  it('a flow that kills the Node-RED process is rolled back once the crash loop is detected', async () => {
    const pidBefore = a.agent.supervisor.pid;
    await fleet.publish('1.2.0', crashingFlow('v1.2-crash'));
    await fleet.deploy({ version: '1.2.0', target: { ids: [ids.a] } });
    const s = await a.waitFor('rolled-back', V('1.2.0'), 120_000);
    assert.match(s.reasons.join('\n'), /crash loop: Node-RED exited 3 times within 60 s \(last exit 3\)/);
    assert.ok(a.output.filter((l) => /runtime exited \(3\)/.test(l)).length >= 3, 'the runtime really exited, and was restarted each time');
    assert.notEqual(a.agent.supervisor.pid, pidBefore);
    await waitFor('the last good flow to answer again', async () => (await a.probe())?.version === 'v1', 30_000);
    // The agent does not retry a version that failed here, and the runtime stays up on the last good flow.
    assert.equal(a.agent.supervisor.state, 'up');
    assert.equal(JSON.parse(fs.readFileSync(flowFileOf(a.userDir), 'utf8')).some((n: { id: string }) => n.id === 'crash-fn'), false);
  });

  it('a tampered version is refused and reported, and never deployed', async () => {
    await fleet.publish('1.3.0', probeFlow('v1.3'));
    await fleet.tamper('1.3.0', probeFlow('v1.3', [{ id: 'evil', z: 'tab1', type: 'function', func: 'return msg;', wires: [] }]));
    const mark = a.states.length;
    await fleet.deploy({ version: '1.3.0', target: { ids: [ids.a] } });
    const s = await a.waitFor('failed', V('1.3.0'));
    assert.ok(s.reasons.some((r) => /flow sha256 [0-9a-f]{64} does not match the desired/.test(r)), s.reasons.join('\n'));
    assert.ok(!a.states.slice(mark).some((x) => x.state === 'deploying'), 'never reached deploying');
    assert.deepEqual(await a.probe(), { version: 'v1', line: 'L1' });
    await waitFor('the repository to show failed', async () => (await fleet.device(ids.a)).reportedState === 'failed', 20_000);
  });

  it('a hand edit in the local editor is reported as drift', async () => {
    const login = await fetch(`${b.url}auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: 'node-red-editor', grant_type: 'password', scope: '*', username: 'admin', password: OPERATOR_PASSWORD }),
    });
    assert.equal(login.status, 200, 'the operator keeps an editor login next to the agent');
    const auth = { authorization: `Bearer ${((await login.json()) as { access_token: string }).access_token}` };
    const flows = (await (await fetch(`${b.url}flows`, { headers: auth })).json()) as Array<Record<string, unknown>>;
    const edited = flows.map((n) => (n.id === 'fn1' ? { ...n, func: "msg.payload = { version: 'hand-edit', line: 'x' };\nreturn msg;" } : n));
    const res = await fetch(`${b.url}flows`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' }, body: JSON.stringify(edited) });
    assert.equal(res.status, 204);
    const s = await b.waitFor('drifted');
    // The node by type and name, and what changed on it (#16: drift without names).
    assert.deepEqual(s.reasons, ['edited in the local editor: nodes 1 changed (function "answer": func)']);
    await waitFor('the repository to show drifted', async () => (await fleet.device(ids.b)).reportedState === 'drifted', 20_000);
    const dev = await fleet.device(ids.b);
    assert.equal(dev.running, V('1.0.0'));
    assert.notEqual(dev.runningSha256, (await fleet.h.admin.getVersion('agent-probe', '1.0.0')).sha256, 'the reported hash is what really runs');
  });

  it('the line-state gate holds a deploy while the line runs and applies it when the line goes idle', async () => {
    const setLine = (value: number) => fetch(`${b.url}line-state`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value }) });
    assert.equal((await setLine(1)).status, 200);
    await fleet.publish('1.4.0', probeFlow('v1.4'));
    await fleet.deploy({ version: '1.4.0', target: { ids: [ids.b] }, lineState: { tag: 'line_state', idleValue: 0 } });
    const s = await b.waitFor('waiting', V('1.4.0'));
    assert.deepEqual(s.reasons, ['line is not idle: line_state = 1, idle is 0']);
    await waitFor('the repository to show waiting', async () => (await fleet.device(ids.b)).reportedState === 'waiting', 20_000);
    // Held across several gate checks: the line keeps running the old (hand-edited) flow.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(b.agent.state, 'waiting');
    assert.equal((await b.probe())?.version, 'hand-edit');
    assert.equal((await setLine(0)).status, 200);
    await b.waitFor('running', V('1.4.0'));
    assert.deepEqual(await b.probe(), { version: 'v1.4', line: 'L2' });
  });

  it('the deploy window holds a deploy until the device clock is inside it, in the window\'s time zone', async () => {
    // The agent's clock is the device's: set here, so the test does not wait for a real evening.
    let clock = new Date('2026-06-01T10:00:00Z'); // 12:00 in Berlin (summer time): outside 22:00-02:00
    const idc = uniqueId('line-c');
    const c = await fleet.startAgent(idc, await fleet.register(idc, { LINE_ID: 'L3' }), { now: () => clock, gateIntervalMs: 200 });
    await fleet.publish('1.5.0', probeFlow('v1.5'));
    await fleet.deploy({ version: '1.5.0', target: { ids: [idc] }, window: { from: '22:00', to: '02:00', timezone: 'Europe/Berlin' } });
    const s = await c.waitFor('waiting', V('1.5.0'));
    assert.deepEqual(s.reasons, ['outside the deploy window 22:00-02:00 (Europe/Berlin)']);
    await waitFor('the repository to show waiting', async () => (await fleet.device(idc)).reportedState === 'waiting', 20_000);
    clock = new Date('2026-06-01T19:59:00Z'); // 21:59 in Berlin: a minute early, still held
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(c.agent.state, 'waiting');
    assert.equal(await c.probe(), null, 'nothing deployed yet');
    clock = new Date('2026-06-01T22:30:00Z'); // 00:30 in Berlin: inside the window that wraps past midnight
    await c.waitFor('running', V('1.5.0'));
    assert.deepEqual(await c.probe(), { version: 'v1.5', line: 'L3' });
    await c.stop();
  });

  it('a last good version that starts crash-looping does not block the fix: the new version goes in on an empty runtime', async () => {
    const idd = uniqueId('line-d');
    const d = await fleet.startAgent(idd, await fleet.register(idd, { LINE_ID: 'L4' }));
    // Healthy for the 2 s health window, then it kills Node-RED 4 s after every start: a crash loop later on.
    await fleet.publish('1.6.0', lateCrashFlow('v1.6', 4));
    await fleet.deploy({ version: '1.6.0', target: { ids: [idd] } });
    await d.waitFor('running', V('1.6.0'));
    const looping = await d.waitFor('failed', V('1.6.0'), 90_000);
    assert.match(looping.reasons[0], /crash loop: Node-RED exited 3 times within 60 s .* running agent-probe@1\.6\.0/);
    await fleet.publish('1.7.0', probeFlow('v1.7'));
    await fleet.deploy({ version: '1.7.0', target: { ids: [idd] } });
    await d.waitFor('running', V('1.7.0'), 30_000);
    assert.ok(d.output.some((l) => /agent-probe@1\.6\.0 is crash-looping: starting Node-RED with no flow to install agent-probe@1\.7\.0/.test(l)), d.output.slice(-15).join('\n'));
    assert.deepEqual(await d.probe(), { version: 'v1.7', line: 'L4' });
    const pid = d.agent.supervisor.pid;
    await new Promise((r) => setTimeout(r, 6000));
    assert.equal(d.agent.supervisor.pid, pid, 'the fixed version stays up');
    assert.equal(d.agent.state, 'running');
    await d.stop();
  });

  it('a runtime that dies is restarted on the same flow, without a rollback', async () => {
    const pid = a.agent.supervisor.pid!;
    const state = a.agent.state;
    process.kill(pid, 'SIGKILL');
    await waitFor('a new runtime process', () => a.agent.supervisor.state === 'up' && a.agent.supervisor.pid !== pid, 60_000);
    await waitFor('the flow to answer again', async () => (await a.probe())?.version === 'v1', 30_000);
    assert.equal(a.agent.state, state, 'one exit is not a crash loop');
    assert.ok(a.output.some((l) => /runtime exited \(SIGKILL\); 1 exit\(s\) recently/.test(l)), a.output.slice(-10).join('\n'));
  });

  it('a runtime started with no network at all comes back up on its last good flow (through the CLI)', async () => {
    await a.stop();
    fs.rmSync(flowFileOf(a.userDir)); // not even Node-RED's own copy: the agent's last good flow must do
    const dead = await freePort();
    const proc = spawn(
      process.execPath,
      [path.join(PACKAGE_ROOT, 'bin', 'linesight.js'), 'runtime', '--tier', 'line', '--port', String(a.port), '--user-dir', a.userDir, '--log-level', 'warn', '--device', ids.a, '--repo', `http://127.0.0.1:${dead}`, '--broker', `mqtt://127.0.0.1:${dead}`, '--poll-interval', '1'],
      { env: { ...process.env, LINESIGHT_DEVICE_TOKEN: 'no-network-needed', LINESIGHT_ADMIN_PASSWORD_HASH: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    try {
      await waitFor(`the agent to start\n${out}`, () => / \(running agent-probe@1\.0\.0\)/.test(out), 60_000);
      assert.deepEqual(await a.probe(), { version: 'v1', line: 'L1' });
      // The runtime is the agent's child, and flows cannot read the device token from its environment.
      const children = fs.readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      assert.equal(children.length, 1, 'one runtime child');
      const env = fs.readFileSync(`/proc/${children[0]}/environ`, 'utf8').split('\0');
      assert.ok(env.some((e) => e.startsWith('LINESIGHT_AGENT_PASSWORD_HASH=$2')), 'the agent passes only a bcrypt hash of its password');
      assert.ok(!env.some((e) => e.startsWith('LINESIGHT_DEVICE_TOKEN=')), 'the device token stays with the agent');
      await waitFor('a failed poll to be logged', () => /polling the repository failed/.test(out), 20_000);
      assert.deepEqual(await a.probe(), { version: 'v1', line: 'L1' }, 'still running with the repository unreachable');
    } finally {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
    // The agent took its runtime down with it.
    await waitFor('the runtime port to close', async () => (await a.probe()) === null, 15_000);
  });
});
