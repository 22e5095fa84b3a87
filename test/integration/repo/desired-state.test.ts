// The signed desired state, the generation that only grows, what a device token may read, and cancelling
// a deployment, against a real database (and two replicas on one PostgreSQL when LINESIGHT_PG_URL is set).
import assert from 'node:assert/strict';
import Ajv from 'ajv';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { verifyDesiredState, type DesiredState, type DeviceStatusReport } from '../../../contracts/fleet/protocol';
import { RepoClient } from '../../../runtime/repo/client';
import { createRepoServer } from '../../../runtime/repo/server';
import { lineFlow, lineTemplate } from '../../fixtures/repo/templates';
import { pgService } from '../../support/services';
import { refused, startHarness, type Harness } from './harness';

const otherTemplate = { ...lineTemplate, slug: 'other-line', title: 'Another team\'s flow' };

describe('repo: signed desired state, generation, device read scope, cancel', function () {
  this.timeout(90_000);
  let h: Harness;
  let pem: string;
  const tokens = new Map<string, string>();
  const dev = (id: string) => h.device(tokens.get(id)!);
  const desired = async (id: string): Promise<DesiredState> => {
    const r = await dev(id).desired(id);
    if (r.notModified) throw new Error('expected a body');
    return r.state;
  };
  const report = (id: string, state: DeviceStatusReport['state'], running: string | null, extra: Partial<DeviceStatusReport> = {}): DeviceStatusReport => ({ deviceId: id, state, running, ts: Date.now(), ...extra });

  before(async () => {
    h = await startHarness();
    pem = await h.anon().publicKey();
    await h.admin.createTemplate(lineTemplate);
    await h.admin.createTemplate(otherTemplate);
    for (const v of ['1.0.0', '1.1.0', '2.0.0']) await h.admin.publishVersion('line-inspection', { version: v, flow: lineFlow(v) });
    await h.admin.publishVersion('other-line', { version: '1.0.0', flow: lineFlow('secret') });
    for (const id of ['sig-1', 'scope-1', 'cancel-1', 'cancel-2']) tokens.set(id, (await h.admin.registerDevice({ id, tier: 'line', parameters: { LINE_ID: id } })).token);
  });
  after(async () => {
    await h?.close();
  });

  it('the whole desired state is signed, and its generation grows with every change: deploy, parameters, rollback', async () => {
    const g0 = await desired('sig-1');
    assert.ok(verifyDesiredState(g0, pem));
    // The OpenAPI document describes what is served.
    const doc = (await h.anon().openApi()) as { components: { schemas: Record<string, object> } };
    const valid = new Ajv({ strict: false }).compile(doc.components.schemas.DesiredState!);
    const dep = await h.admin.createDeployment({ template: 'line-inspection', version: '1.0.0', target: { ids: ['sig-1'] }, window: { from: '22:00', to: '06:00' } });
    const g1 = await desired('sig-1');
    assert.ok(verifyDesiredState(g1, pem));
    assert.ok(g1.generation > g0.generation, `${g1.generation} > ${g0.generation}`);
    assert.deepEqual([g1.deploymentId, g1.version?.version, g1.gate], [dep.id, '1.0.0', { window: { from: '22:00', to: '06:00' } }]);
    for (const g of [g0, g1]) assert.ok(valid(g), JSON.stringify(valid.errors));
    // Every field is covered: forged parameters, gate or generation on a genuine document do not verify.
    assert.equal(verifyDesiredState({ ...g1, parameters: { LINE_ID: 'forged' } }, pem), false);
    assert.equal(verifyDesiredState({ ...g1, gate: undefined }, pem), false);
    assert.equal(verifyDesiredState({ ...g1, generation: g1.generation + 1 }, pem), false);
    // Same state, same bytes: the ETag holds until the generation moves.
    const first = await dev('sig-1').desired('sig-1');
    assert.equal((await dev('sig-1').desired('sig-1', first.etag)).notModified, true);
    await h.admin.updateDevice('sig-1', { parameters: { LINE_ID: 'sig-1b' } });
    const g2 = await desired('sig-1');
    assert.ok(g2.generation > g1.generation && verifyDesiredState(g2, pem));
    assert.equal((await dev('sig-1').desired('sig-1', first.etag)).notModified, false);
    await h.admin.rollbackDeployment(dep.id);
    const g3 = await desired('sig-1');
    assert.ok(g3.generation > g2.generation && verifyDesiredState(g3, pem));
    assert.equal(g3.version, null);
  });

  it('a device reads only versions a deployment assigned to it, never what it claims to run', async () => {
    // The old hole: claim to run another template's version, then read it.
    await dev('scope-1').reportStatus('scope-1', report('scope-1', 'running', 'other-line@1.0.0'));
    const e = await refused(dev('scope-1').getVersion('other-line', '1.0.0'), 403);
    assert.match(e.message, /not assigned to device scope-1/);
    // Nor does the claim become "previous" when a deployment comes, so a rollback cannot hand it out.
    const d1 = await h.admin.createDeployment({ template: 'line-inspection', version: '1.0.0', target: { ids: ['scope-1'] } });
    assert.equal((await h.admin.getDeployment(d1.id)).devices[0]!.previous, null);
    await refused(dev('scope-1').getVersion('other-line', '1.0.0'), 403);
    // Assigned: the current desired version.
    assert.equal((await dev('scope-1').getVersion('line-inspection', '1.0.0')).version, '1.0.0');
    await dev('scope-1').reportStatus('scope-1', report('scope-1', 'running', 'line-inspection@1.0.0', { deploymentId: d1.id }));
    // A newer deployment: the new one and the previous assigned one are readable, a never-assigned one is not.
    await h.admin.createDeployment({ template: 'line-inspection', version: '1.1.0', target: { ids: ['scope-1'] } });
    assert.equal((await dev('scope-1').getVersion('line-inspection', '1.1.0')).version, '1.1.0');
    assert.equal((await dev('scope-1').getVersion('line-inspection', '1.0.0')).version, '1.0.0', 'previous assigned');
    await refused(dev('scope-1').getVersion('line-inspection', '2.0.0'), 403);
    // Its last known good (assigned to it) stays readable after two more deployments moved on.
    await h.admin.createDeployment({ template: 'line-inspection', version: '2.0.0', target: { ids: ['scope-1'] } });
    assert.equal((await dev('scope-1').getVersion('line-inspection', '1.0.0')).version, '1.0.0', 'last known good, assigned to it');
    // An admin still reads anything.
    assert.equal((await h.admin.getVersion('other-line', '1.0.0')).version, '1.0.0');
  });

  it('cancel: devices pending or waiting go back to their previous version; running ones stay; audited; 409 when finished', async () => {
    const base = await h.admin.createDeployment({ template: 'line-inspection', version: '1.0.0', target: { ids: ['cancel-1', 'cancel-2'] } });
    for (const id of ['cancel-1', 'cancel-2']) await dev(id).reportStatus(id, report(id, 'running', 'line-inspection@1.0.0', { deploymentId: base.id }));
    assert.equal((await h.admin.getDeployment(base.id)).state, 'completed');
    const d = await h.admin.createDeployment({ template: 'line-inspection', version: '1.1.0', target: { ids: ['cancel-1', 'cancel-2'] }, lineState: { tag: 'lineState', idleValue: 0 } });
    await dev('cancel-1').reportStatus('cancel-1', report('cancel-1', 'running', 'line-inspection@1.1.0', { deploymentId: d.id }));
    await dev('cancel-2').reportStatus('cancel-2', report('cancel-2', 'waiting', 'line-inspection@1.0.0', { deploymentId: d.id, target: 'line-inspection@1.1.0', reasons: ['line-state gate key "lineState" has never been set'] }));
    const before2 = await desired('cancel-2');
    await refused(dev('cancel-2').cancelDeployment(d.id), 403);
    const c = await h.admin.cancelDeployment(d.id);
    assert.equal(c.state, 'cancelled');
    assert.deepEqual(c.devices.map((x) => [x.deviceId, x.state]), [['cancel-1', 'running'], ['cancel-2', 'cancelled']]);
    const after2 = await desired('cancel-2');
    assert.equal(after2.version?.version, '1.0.0');
    assert.equal(after2.deploymentId, null);
    assert.ok(after2.generation > before2.generation && verifyDesiredState(after2, pem));
    assert.equal((await desired('cancel-1')).version?.version, '1.1.0', 'a device already running it stays');
    // A late report from the cancelled deployment moves nothing.
    await dev('cancel-2').reportStatus('cancel-2', report('cancel-2', 'running', 'line-inspection@1.1.0', { deploymentId: d.id }));
    assert.equal((await h.admin.getDeployment(d.id)).devices[1]!.state, 'cancelled');
    const e = await refused(h.admin.cancelDeployment(d.id), 409);
    assert.match(e.message, /cannot cancel deployment .*: it is cancelled/);
    await refused(h.admin.cancelDeployment(base.id), 409);
    await refused(h.admin.cancelDeployment('dep-nope'), 404);
    const audit = await h.admin.audit({ subject: d.id });
    assert.ok(audit.some((x) => x.action === 'deployment.cancel' && x.actor === 'token:initial(user:admin)'), JSON.stringify(audit));
    assert.ok(audit.some((x) => x.action === 'deployment.cancel.devices' && JSON.stringify(x.detail.restored) === '["cancel-2"]'));
  });

  it('the generation is race-free across two replicas sharing one PostgreSQL', async function () {
    const pg = await pgService();
    if (pg.kind === 'embedded') {
      console.log('      [skip] needs LINESIGHT_PG_URL: replicas are separate PostgreSQL sessions');
      return this.skip();
    }
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'linesight-replica-'));
    // The second replica shares the schema and the signing key (docker guide: replicas must share it).
    fs.cpSync(h.dataDir, dataDir, { recursive: true });
    const twin = await createRepoServer({ db: pg.url, schema: h.schema, dataDir, poolSize: 4, log: () => {}, now: () => h.clock.now });
    try {
      const admins = [h.admin, new RepoClient({ url: twin.url, token: h.repo.adminToken })];
      const start = (await desired('sig-1')).generation;
      // 2 x 10 parameter changes at once through both replicas: each must move the generation on.
      await Promise.all(Array.from({ length: 20 }, (_, i) => admins[i % 2]!.updateDevice('sig-1', { parameters: { LINE_ID: `race-${i}` } })));
      const end = await desired('sig-1');
      // Both replicas read one clock here, already below the generation: each change adds exactly one.
      assert.equal(end.generation, start + 20, 'no lost update');
      const viaTwin = await new RepoClient({ url: twin.url, token: tokens.get('sig-1') }).desired('sig-1');
      assert.ok(!viaTwin.notModified && verifyDesiredState(viaTwin.state, pem) && viaTwin.state.generation === end.generation);
      // Each replica keeps the answer it made for a generation; a change through the other replica moves the
      // generation in the database, and the next poll of this one answers the new state, not the kept one.
      const twinDevice = new RepoClient({ url: twin.url, token: tokens.get('sig-1') });
      assert.equal((await twinDevice.desired('sig-1', viaTwin.etag)).notModified, true);
      await h.admin.updateDevice('sig-1', { parameters: { LINE_ID: 'changed-elsewhere' } });
      const moved = await twinDevice.desired('sig-1', viaTwin.etag);
      assert.ok(!moved.notModified && moved.etag !== viaTwin.etag, 'a new answer after the other replica changed the device');
      assert.deepEqual([moved.state.parameters, moved.state.generation], [{ LINE_ID: 'changed-elsewhere' }, end.generation + 1]);
      assert.ok(verifyDesiredState(moved.state, pem));
      // A poll's check-in, written in a batch by the twin, is what the twin's next read of the device shows.
      h.clock.advance(10_000);
      assert.equal((await twinDevice.desired('sig-1', moved.etag)).notModified, true);
      assert.equal((await new RepoClient({ url: twin.url, token: h.repo.adminToken }).getDevice('sig-1')).lastSeen, new Date(h.clock.now).toISOString());
    } finally {
      await twin.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
