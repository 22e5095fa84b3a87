// The routes the edge agent uses, against a real database: desired state with ETag, version documents
// whose signatures verify with the served key, status reports driving an `all` deployment.
import assert from 'node:assert/strict';
import { flowSha256, verifyDesiredState, verifyFlow, type DeviceStatusReport } from '../../../contracts/fleet/protocol';
import { lineFlow, lineTemplate } from '../../fixtures/repo/templates';
import { refused, startHarness, type Harness } from './harness';

describe('repo: device-facing API', function () {
  this.timeout(60_000);
  let h: Harness;
  let tokenA: string;
  let tokenB: string;

  before(async () => {
    h = await startHarness();
    await h.admin.createTemplate(lineTemplate);
    await h.admin.publishVersion('line-inspection', { version: '1.0.0', flow: lineFlow('v1'), changelog: 'first' });
    tokenA = (await h.admin.registerDevice({ id: 'line-a', tier: 'line', labels: { site: 'north' }, parameters: { LINE_ID: 'A' } })).token;
    tokenB = (await h.admin.registerDevice({ id: 'line-b', tier: 'line', labels: { site: 'south' }, parameters: { LINE_ID: 'B' } })).token;
  });
  after(async () => {
    await h?.close();
  });

  const report = (deviceId: string, state: DeviceStatusReport['state'], running: string | null, extra: Partial<DeviceStatusReport> = {}): DeviceStatusReport => ({
    deviceId,
    state,
    running,
    ts: Date.now(),
    ...extra,
  });

  it('serves no version before a deployment, with the device parameters', async () => {
    const r = await h.device(tokenA).desired('line-a');
    assert.equal(r.notModified, false);
    if (r.notModified) return;
    const { signature, generation, ...rest } = r.state;
    assert.deepEqual(rest, { deviceId: 'line-a', deploymentId: null, version: null, parameters: { LINE_ID: 'A' } });
    assert.equal(generation, 0);
    assert.equal(verifyDesiredState(r.state, await h.anon().publicKey()), true, `signed whole: ${signature}`);
  });

  it('a device reads nothing that is not assigned to it', async () => {
    const e = await refused(h.device(tokenA).getVersion('line-inspection', '1.0.0'), 403);
    assert.match(e.message, /not assigned to device line-a/);
    await refused(h.device(tokenA).desired('line-b'), 403);
    await refused(h.device(tokenA).reportStatus('line-b', report('line-b', 'running', null)), 403);
    await refused(h.anon().desired('line-a'), 401);
    await refused(h.device('lsd_not-a-token').desired('line-a'), 401);
  });

  it('deploys to every device at once, and status reports complete the deployment', async () => {
    const dep = await h.admin.createDeployment({ template: 'line-inspection', version: '1.0.0', target: { tier: 'line' } });
    assert.equal(dep.state, 'rolling out');
    assert.deepEqual(dep.devices.map((d) => [d.deviceId, d.state]), [['line-a', 'pending'], ['line-b', 'pending']]);

    const first = await h.device(tokenA).desired('line-a');
    assert.equal(first.notModified, false);
    if (first.notModified) return;
    assert.equal(first.state.deploymentId, dep.id);
    assert.equal(first.state.version?.version, '1.0.0');
    assert.equal(first.state.version?.href, '/api/v1/templates/line-inspection/versions/1.0.0');
    // Unchanged desired state: 304 on the same ETag.
    const again = await h.device(tokenA).desired('line-a', first.etag);
    assert.equal(again.notModified, true);

    const doc = await h.device(tokenA).getVersion('line-inspection', '1.0.0');
    assert.equal(doc.sha256, flowSha256(doc.flow));
    assert.equal(doc.sha256, first.state.version?.sha256);
    const pem = await h.anon().publicKey();
    assert.match(pem, /BEGIN PUBLIC KEY/);
    assert.equal(verifyFlow(doc.flow, doc.signature, pem), true);
    const tampered = structuredClone(doc.flow) as Array<Record<string, unknown>>;
    tampered[1]!.topic = 'changed after signing';
    assert.equal(verifyFlow(tampered, doc.signature, pem), false);

    await h.device(tokenA).reportStatus('line-a', report('line-a', 'downloading', null, { deploymentId: dep.id, target: 'line-inspection@1.0.0' }));
    assert.equal((await h.admin.getDeployment(dep.id)).devices[0]!.state, 'downloading');
    await h.device(tokenA).reportStatus('line-a', report('line-a', 'running', 'line-inspection@1.0.0', { deploymentId: dep.id, runningSha256: doc.sha256 }));
    assert.equal((await h.admin.getDeployment(dep.id)).state, 'rolling out');
    await h.device(tokenB).reportStatus('line-b', report('line-b', 'running', 'line-inspection@1.0.0', { deploymentId: dep.id }));
    const done = await h.admin.getDeployment(dep.id);
    assert.equal(done.state, 'completed');
    assert.deepEqual(done.counts, { running: 2 });
    const dev = await h.admin.getDevice('line-a');
    assert.equal(dev.state, 'running');
    assert.equal(dev.running, 'line-inspection@1.0.0');
    assert.equal(dev.runningSha256, doc.sha256);
  });

  it('refuses a status report that names another device in its body', async () => {
    const e = await refused(h.device(tokenA).reportStatus('line-a', report('line-b', 'running', null)), 422);
    assert.deepEqual(e.problems.map((p) => p.field), ['deviceId']);
    const bad = await refused(h.device(tokenA).reportStatus('line-a', { deviceId: 'line-a', state: 'sleeping', running: null, ts: 1 } as unknown as DeviceStatusReport), 422);
    assert.equal(bad.problems[0]!.field, 'state');
    assert.match(bad.problems[0]!.reason, /must be one of/);
  });

  it('an admin reads any device desired state', async () => {
    const r = await h.admin.desired('line-b');
    assert.equal(r.notModified, false);
  });
});
