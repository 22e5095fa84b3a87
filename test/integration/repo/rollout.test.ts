// Deployments driven only by device status reports through the API, against a real database: canary then
// waves, a failed canary halting the rest, pause/resume, rollback, deploy gates, offline detection; and the
// retained desired-state message on the broker.
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { fleetTopics, type DesiredState, type DeviceStatusReport } from '../../../contracts/fleet/protocol';
import type { RepoClient } from '../../../runtime/repo/client';
import { mqttService } from '../../support/services';
import { waitFor } from '../../support/wait';
import { lineFlow, lineTemplate } from '../../fixtures/repo/templates';
import { refused, startHarness, type Harness } from './harness';

describe('repo: deployments driven by device reports', function () {
  this.timeout(90_000);
  let h: Harness;
  const tokens = new Map<string, string>();
  const dev = (id: string): RepoClient => h.device(tokens.get(id)!);
  const ids = ['line-1', 'line-2', 'line-3', 'line-4', 'line-5'];

  /** What an agent does: read desired, download, verify, run (or fail), and say so at each step. */
  async function agentApplies(id: string, outcome: 'running' | 'failed' = 'running'): Promise<void> {
    const d = await dev(id).desired(id);
    assert.equal(d.notModified, false);
    if (d.notModified || !d.state.version) throw new Error(`${id} has nothing to apply`);
    const v = d.state.version;
    const target = `${v.template}@${v.version}`;
    const previous = (await h.admin.getDevice(id)).running;
    const base = { deviceId: id, deploymentId: d.state.deploymentId, target, ts: Date.now() };
    await dev(id).reportStatus(id, { ...base, state: 'downloading', running: previous });
    await dev(id).getVersion(v.template, v.version);
    await dev(id).reportStatus(id, { ...base, state: 'verifying', running: previous });
    if (outcome === 'running') await dev(id).reportStatus(id, { ...base, state: 'running', running: target });
    else await dev(id).reportStatus(id, { ...base, state: 'failed', running: previous, reasons: ['node plc-write: connection refused'] });
  }
  const states = async (depId: string) => Object.fromEntries((await h.admin.getDeployment(depId)).devices.map((d) => [d.deviceId, d.state]));
  const desiredVersion = async (id: string) => {
    const d = await h.admin.desired(id);
    return d.notModified ? undefined : (d.state.version?.version ?? null);
  };

  before(async () => {
    h = await startHarness({ offlineAfterIntervals: 3 });
    await h.admin.createTemplate(lineTemplate);
    await h.admin.publishVersion('line-inspection', { version: '1.0.0', flow: lineFlow('v1') });
    await h.admin.publishVersion('line-inspection', { version: '1.1.0', flow: lineFlow('v1.1') });
    await h.admin.publishVersion('line-inspection', { version: '2.0.0', flow: lineFlow('v2') });
    for (const id of ids) tokens.set(id, (await h.admin.registerDevice({ id, tier: 'line', labels: { plant: 'p1' }, parameters: { LINE_ID: id }, pollIntervalSeconds: 10 })).token);
    // Everyone starts on 1.0.0.
    const base = await h.admin.createDeployment({ template: 'line-inspection', version: '1.0.0', target: { labels: { plant: 'p1' } } });
    for (const id of ids) await agentApplies(id);
    assert.equal((await h.admin.getDeployment(base.id)).state, 'completed');
  });
  after(async () => {
    await h?.close();
  });

  it('canary: one device first, then waves once the previous ones run', async () => {
    const d = await h.admin.createDeployment({ template: 'line-inspection', version: '1.1.0', target: { tier: 'line' }, strategy: 'canary', canary: 1, waveSize: 2 });
    assert.deepEqual(await states(d.id), { 'line-1': 'pending', 'line-2': 'queued', 'line-3': 'queued', 'line-4': 'queued', 'line-5': 'queued' });
    assert.equal(await desiredVersion('line-2'), '1.0.0', 'a queued device keeps its version');
    // A queued device may not read the new version yet.
    await refused(dev('line-2').getVersion('line-inspection', '1.1.0'), 403);
    await agentApplies('line-1');
    assert.deepEqual(await states(d.id), { 'line-1': 'running', 'line-2': 'pending', 'line-3': 'pending', 'line-4': 'queued', 'line-5': 'queued' });
    await agentApplies('line-2');
    assert.equal((await states(d.id))['line-4'], 'queued', 'the next wave waits for the whole current wave');
    await agentApplies('line-3');
    assert.deepEqual(await states(d.id), { 'line-1': 'running', 'line-2': 'running', 'line-3': 'running', 'line-4': 'pending', 'line-5': 'pending' });
    await agentApplies('line-4');
    await agentApplies('line-5');
    const done = await h.admin.getDeployment(d.id);
    assert.equal(done.state, 'completed');
    assert.deepEqual(done.devices.map((x) => x.wave), [0, 1, 1, 2, 2]);
  });

  it('a failed canary halts the rest; rollback sends the canary back to its previous version', async () => {
    const d = await h.admin.createDeployment({ template: 'line-inspection', version: '2.0.0', target: { tier: 'line' }, strategy: 'canary', canary: 1 });
    await agentApplies('line-1', 'failed');
    const halted = await h.admin.getDeployment(d.id);
    assert.equal(halted.state, 'halted');
    assert.match(halted.reason ?? '', /canary device line-1 failed: node plc-write: connection refused/);
    assert.deepEqual(await states(d.id), { 'line-1': 'failed', 'line-2': 'queued', 'line-3': 'queued', 'line-4': 'queued', 'line-5': 'queued' });
    for (const id of ids.slice(1)) assert.equal(await desiredVersion(id), '1.1.0', `${id} never got 2.0.0`);
    // Resuming a halted deployment with its failure standing halts it again, releasing nothing.
    assert.equal((await h.admin.resumeDeployment(d.id)).state, 'halted');
    const rb = await h.admin.rollbackDeployment(d.id);
    assert.equal(rb.state, 'rolled back');
    assert.equal(rb.devices.find((x) => x.deviceId === 'line-1')!.previous, 'line-inspection@1.1.0');
    assert.equal(await desiredVersion('line-1'), '1.1.0');
    await refused(h.admin.rollbackDeployment(d.id), 409);
    const audit = (await h.admin.audit({ subject: d.id })).map((e) => e.action);
    assert.ok(audit.includes('deployment.halted') && audit.includes('deployment.rollback'), JSON.stringify(audit));
  });

  it('pause holds back further waves; resume releases them', async () => {
    const d = await h.admin.createDeployment({ template: 'line-inspection', version: '2.0.0', target: { ids: ['line-2', 'line-3', 'line-4'] }, strategy: 'canary', canary: 1, waveSize: 1 });
    assert.equal((await h.admin.pauseDeployment(d.id)).state, 'paused');
    await refused(h.admin.pauseDeployment(d.id), 409);
    await agentApplies('line-2');
    assert.deepEqual(await states(d.id), { 'line-2': 'running', 'line-3': 'queued', 'line-4': 'queued' });
    assert.equal((await h.admin.getDeployment(d.id)).state, 'paused');
    const resumed = await h.admin.resumeDeployment(d.id);
    assert.equal(resumed.state, 'rolling out');
    assert.deepEqual(await states(d.id), { 'line-2': 'running', 'line-3': 'pending', 'line-4': 'queued' });
    // Roll back half-way: the devices it reached go back, the one it never reached is untouched.
    await agentApplies('line-3');
    const rb = await h.admin.rollbackDeployment(d.id);
    assert.deepEqual(rb.devices.map((x) => [x.deviceId, x.state, x.previous]), [
      ['line-2', 'rolled back', 'line-inspection@1.1.0'],
      ['line-3', 'rolled back', 'line-inspection@1.1.0'],
      ['line-4', 'rolled back', 'line-inspection@1.1.0'],
    ]);
    assert.equal(await desiredVersion('line-2'), '1.1.0');
    assert.equal(await desiredVersion('line-3'), '1.1.0');
    assert.equal(await desiredVersion('line-4'), '1.1.0');
  });

  it('carries a deploy window and a line-state gate to the device; the device reports waiting', async () => {
    const d = await h.admin.createDeployment({
      template: 'line-inspection',
      version: '2.0.0',
      target: { ids: ['line-5'] },
      window: { from: '22:00', to: '06:00', timezone: 'Europe/Berlin' },
      lineState: { tag: 'line.running', idleValue: false },
    });
    assert.deepEqual(d.gate, { window: { from: '22:00', to: '06:00', timezone: 'Europe/Berlin' }, lineState: { tag: 'line.running', idleValue: false } });
    const desired = await dev('line-5').desired('line-5');
    assert.equal(desired.notModified, false);
    if (desired.notModified) return;
    assert.deepEqual(desired.state.gate, d.gate);
    // Outside its window the device holds back and says why; the deployment shows it.
    await dev('line-5').reportStatus('line-5', { deviceId: 'line-5', state: 'waiting', running: 'line-inspection@1.1.0', deploymentId: d.id, target: 'line-inspection@2.0.0', reasons: ['outside deploy window 22:00-06:00 Europe/Berlin'], ts: Date.now() });
    const w = await h.admin.getDeployment(d.id);
    assert.equal(w.devices[0]!.state, 'waiting');
    assert.deepEqual(w.devices[0]!.reasons, ['outside deploy window 22:00-06:00 Europe/Berlin']);
    assert.equal(w.state, 'rolling out');
    await agentApplies('line-5');
    assert.equal((await h.admin.getDeployment(d.id)).state, 'completed');
  });

  it('two overlapping deployments created at once, then reports from every device at once: no deadlock, nothing lost', async () => {
    const burst = Array.from({ length: 12 }, (_, i) => `burst-${String(i).padStart(2, '0')}`);
    for (const id of burst) tokens.set(id, (await h.admin.registerDevice({ id, tier: 'line', labels: { group: 'burst' }, parameters: { LINE_ID: id } })).token);
    const [d1, d2] = await Promise.all([
      h.admin.createDeployment({ template: 'line-inspection', version: '1.1.0', target: { labels: { group: 'burst' } } }),
      h.admin.createDeployment({ template: 'line-inspection', version: '2.0.0', target: { ids: burst.slice(6) } }),
    ]);
    // Every device reports at once on whatever it was told last.
    await Promise.all(burst.map((id) => agentApplies(id)));
    for (const id of burst) {
      const d = await h.admin.getDevice(id);
      // Each device runs what it was last told: the two deployments raced for the overlap, either may win.
      assert.equal(d.running, `${d.desired!.template}@${d.desired!.version}`, id);
      if (burst.indexOf(id) < 6) assert.equal(d.running, 'line-inspection@1.1.0', id);
    }
    const a = await h.admin.getDeployment(d1.id);
    const b = await h.admin.getDeployment(d2.id);
    // Each device's row in each deployment is either running or superseded by the other one; none is lost.
    for (const dep of [a, b]) for (const x of dep.devices) assert.ok(['running', 'superseded'].includes(x.state), `${dep.id} ${x.deviceId} ${x.state}`);
    assert.deepEqual([a.state, b.state], ['completed', 'completed']);
  });

  it('shows a device that stopped checking in as offline with when it was last seen, never as running', async () => {
    // line-1 failed the 2.0.0 canary and was rolled back; its agent is back on 1.1.0 and says so.
    await dev('line-1').reportStatus('line-1', { deviceId: 'line-1', state: 'running', running: 'line-inspection@1.1.0', ts: Date.now() });
    const seen = (await h.admin.getDevice('line-1')).lastSeen;
    assert.equal((await h.admin.getDevice('line-1')).state, 'running');
    h.clock.advance(25_000); // 2.5 poll intervals of 10 s
    assert.equal((await h.admin.getDevice('line-1')).state, 'running');
    h.clock.advance(10_000); // 3.5 intervals
    const off = await h.admin.getDevice('line-1');
    assert.equal(off.state, 'offline');
    assert.equal(off.reportedState, 'running');
    assert.equal(off.lastSeen, seen);
    // Devices polling every 10 s are past 3 intervals; those polling every 30 s (burst-*) are not.
    for (const x of await h.admin.listDevices()) assert.equal(x.state, x.pollIntervalSeconds === 10 ? 'offline' : 'running', x.id);
    // Offline devices in a deployment are shown as such, with when they were last seen.
    for (const dep of await h.admin.listDeployments()) {
      for (const x of (await h.admin.getDeployment(dep.id)).devices) {
        if (x.deviceId.startsWith('line-')) assert.ok(x.deviceState === 'offline' && x.lastSeen, `${dep.id} ${x.deviceId}`);
        else assert.equal(x.deviceState, 'running');
      }
    }
    // Checking in again brings it back: a poll of its desired state is enough.
    await dev('line-1').desired('line-1');
    const back = await h.admin.getDevice('line-1');
    assert.equal(back.state, 'running');
    assert.equal(back.lastSeen, new Date(h.clock.now).toISOString());
    await dev('line-2').reportStatus('line-2', { deviceId: 'line-2', state: 'running', running: 'line-inspection@1.1.0', ts: Date.now() });
    assert.equal((await h.admin.getDevice('line-2')).state, 'running');
  });
});

describe('repo: desired-state notifications over MQTT', function () {
  this.timeout(60_000);
  let h: Harness;
  let sub: mqtt.MqttClient;

  before(async () => {
    const broker = await mqttService();
    h = await startHarness({ broker: broker.url, brokerProtocolVersion: broker.protocolVersion });
    sub = await mqtt.connectAsync(broker.url, { protocolVersion: broker.protocolVersion, reconnectPeriod: 0 });
  });
  after(async () => {
    await sub?.endAsync();
    await h?.close();
  });

  it('publishes a retained desired state on every change, readable by a late subscriber', async () => {
    const id = `notify-${Date.now().toString(36)}`;
    await h.admin.createTemplate(lineTemplate);
    await h.admin.publishVersion('line-inspection', { version: '1.0.0', flow: lineFlow() });
    const { token } = await h.admin.registerDevice({ id, tier: 'line', parameters: { LINE_ID: 'N' } });
    const seen: DesiredState[] = [];
    sub.on('message', (topic, payload) => {
      if (topic === fleetTopics.desired(id) && payload.length) seen.push(JSON.parse(payload.toString()));
    });
    await sub.subscribeAsync(fleetTopics.desired(id), { qos: 1 });
    const d = await h.admin.createDeployment({ template: 'line-inspection', version: '1.0.0', target: { ids: [id] } });
    const first = await waitFor('desired state on MQTT', () => seen.find((s) => s.version?.version === '1.0.0'), 20_000);
    assert.equal(first.deploymentId, d.id);
    assert.equal(first.deviceId, id);
    // The retained copy equals what HTTP serves.
    const http = await h.device(token).desired(id);
    assert.equal(http.notModified, false);
    if (!http.notModified) assert.deepEqual(first, http.state);

    await h.admin.updateDevice(id, { parameters: { LINE_ID: 'N2' } });
    await waitFor('parameter change on MQTT', () => seen.find((s) => s.parameters.LINE_ID === 'N2'), 20_000);
    await h.admin.rollbackDeployment(d.id);
    await waitFor('rollback on MQTT', () => seen.find((s) => s.version === null && s.parameters.LINE_ID === 'N2'), 20_000);

    const broker = await mqttService();
    const late = await mqtt.connectAsync(broker.url, { protocolVersion: broker.protocolVersion, reconnectPeriod: 0 });
    try {
      const got: DesiredState[] = [];
      late.on('message', (_t, p, packet) => packet.retain && p.length && got.push(JSON.parse(p.toString())));
      await late.subscribeAsync(fleetTopics.desired(id), { qos: 1 });
      const retained = await waitFor('retained desired state', () => got[0], 20_000);
      assert.equal(retained.version, null);
      assert.equal(retained.parameters.LINE_ID, 'N2');
      // Clean the retained message so the real broker does not keep it.
      await late.publishAsync(fleetTopics.desired(id), '', { retain: true, qos: 1 });
    } finally {
      await late.endAsync();
    }
  });
});

export type { DeviceStatusReport };
