// One repository, two replicas (two `linesight repo` processes on one PostgreSQL schema), 100 simulated
// agents spreading their requests over both, a canary-and-waves deployment, and one replica SIGKILLed in
// the middle of it. The other finishes the rollout: every device runs the version, no wave is released
// twice, each device's desired generation moves once for its one change, and a subscriber on the real
// broker sees each device's desired state published exactly once.
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { Client } from 'pg';
import { fleetTopics, type DesiredState } from '../../../contracts/fleet/protocol';
import { RepoClient } from '../../../runtime/repo/client';
import { registerFleet, runFleetSimulator, type FleetSimulator } from '../../../runtime/dev/simulators/fleet';
import { lineFlow, lineTemplate } from '../../fixtures/repo/templates';
import { startReplicaSet, type ReplicaSet } from '../../support/repo-replicas';
import { dropSchema, freshSchema, mqttService, pgService } from '../../support/services';
import { waitFor } from '../../support/wait';

const DEVICES = 100;
const CANARY = 5;
const WAVE = 19;
const VERSION = 'line-inspection@1.0.0';

describe('scale: 100 simulated agents, two repository replicas, one SIGKILLed mid-rollout', function () {
  this.timeout(240_000);
  let set: ReplicaSet | undefined;
  let fleet: FleetSimulator | undefined;
  let sub: mqtt.MqttClient | undefined;
  let schema: string | undefined;
  let dbUrl: string;
  let brokerUrl: string;
  const prefix = `scale${Date.now().toString(36)}`;
  /** Every non-empty desired-state message of our devices, as the broker delivered it. */
  const published = new Map<string, DesiredState[]>();

  before(async function () {
    const pg = await pgService();
    // Two processes cannot share one embedded PGlite: replicas need a PostgreSQL server.
    if (pg.kind !== 'real') return this.skip();
    const broker = await mqttService();
    dbUrl = pg.url;
    brokerUrl = broker.url;
    schema = await freshSchema(pg.url, 'scale');
    set = await startReplicaSet(2, { db: pg.url, schema, broker: broker.url, mqtt5: broker.protocolVersion === 5, poolSize: 10 });
    sub = await mqtt.connectAsync(broker.url, { protocolVersion: broker.protocolVersion, reconnectPeriod: 0 });
    sub.on('message', (topic, payload) => {
      const id = topic.split('/')[2] ?? '';
      if (!id.startsWith(`${prefix}-`) || !payload.length || !topic.endsWith('/desired')) return;
      published.set(id, [...(published.get(id) ?? []), JSON.parse(payload.toString())]);
    });
    await sub.subscribeAsync('linesight/fleet/+/desired', { qos: 1 });
  });

  after(async () => {
    await fleet?.stop().catch(() => {});
    // Leave no retained messages of these devices on a shared broker.
    if (sub) {
      for (let i = 0; i < DEVICES; i++) {
        const id = `${prefix}-${String(i).padStart(2, '0')}`;
        await sub.publishAsync(fleetTopics.desired(id), '', { qos: 1, retain: true }).catch(() => {});
        await sub.publishAsync(fleetTopics.state(id), '', { qos: 1, retain: true }).catch(() => {});
      }
      await sub.endAsync().catch(() => {});
    }
    await set?.close();
    if (schema) await dropSchema(dbUrl, schema).catch(() => {});
  });

  it('finishes a canary rollout to every device after a replica dies, releasing each wave once and publishing each state once', async () => {
    const [a, b] = set!.replicas as [ReplicaSet['replicas'][0], ReplicaSet['replicas'][0]];
    const adminA = new RepoClient({ url: a.url, token: set!.adminToken });
    const adminB = new RepoClient({ url: b.url, token: set!.adminToken });
    await adminA.createTemplate(lineTemplate);
    await adminA.publishVersion('line-inspection', { version: '1.0.0', flow: lineFlow() });
    const devices = await registerFleet(a.url, set!.adminToken, DEVICES, { idPrefix: prefix, tier: 'line', parameters: { LINE_ID: 'L' }, pollS: 1 });

    // Polls every second over both replicas; a deploy takes 1.2 s, so the rollout runs for several seconds.
    fleet = runFleetSimulator({ repos: set!.urls, devices, pollMs: 1000, deployMs: 1200, broker: brokerUrl, brokerProtocolVersion: 4 });
    await fleet.ready;
    const dep = await adminA.createDeployment({ template: 'line-inspection', version: '1.0.0', target: { tier: 'line' }, strategy: 'canary', canary: CANARY, waveSize: WAVE });

    // Mid-rollout: the canary and the first wave are out, later waves are still queued.
    await waitFor('the first wave after the canary to be released', async () => {
      const d = await adminB.getDeployment(dep.id);
      return d.devices.filter((x) => x.state !== 'queued').length >= CANARY + WAVE;
    }, 60_000, 100);
    const before = await adminB.getDeployment(dep.id);
    assert.equal(before.state, 'rolling out', 'the kill comes before the rollout is over');
    assert.ok(before.devices.some((x) => x.state === 'queued'), 'waves are still queued when the replica dies');
    await a.kill();
    assert.ok(a.exited());

    const done = await waitFor('the surviving replica to complete the rollout', async () => {
      const d = await adminB.getDeployment(dep.id);
      return d.state === 'completed' ? d : undefined;
    }, 120_000, 250);
    assert.equal(done.counts.running, DEVICES, JSON.stringify(done.counts));
    await waitFor('every simulated device to report running', () => fleet!.devices.every((x) => x.reported === 'running' && x.running === VERSION), 30_000);

    // No wave released twice: one audit entry per wave, and every device in exactly one of them.
    const audit = (await adminB.audit({ subject: dep.id, limit: 1000 })).filter((e) => e.action === 'deployment.wave');
    const waves = audit.map((e) => (e.detail as { wave: number }).wave).sort((x, y) => x - y);
    assert.deepEqual(waves, [0, 1, 2, 3, 4, 5]);
    const released = audit.flatMap((e) => (e.detail as { devices: string[] }).devices);
    assert.equal(released.length, DEVICES);
    assert.equal(new Set(released).size, DEVICES);

    // Each device's desired state changed once (the release of its wave): its generation moved once.
    const db = new Client({ connectionString: dbUrl });
    await db.connect();
    const rows = await db.query(`select id, desired_generation, published_generation from "${schema}".devices where id like $1 order by id`, [`${prefix}-%`]).finally(() => db.end());
    assert.equal(rows.rowCount, DEVICES);
    const generation = new Map(rows.rows.map((r) => [r.id as string, Number(r.desired_generation)]));
    for (const agent of fleet!.devices) {
      assert.equal(agent.generations.length, 2, `${agent.id} accepted generations ${agent.generations.join(', ')} (its first state, then the deployment)`);
      assert.equal(agent.generations[0], 0);
      assert.equal(agent.generations[1], generation.get(agent.id));
    }

    // Published exactly once per device and generation, also for releases the killed replica committed
    // but did not publish (the survivor's sweep publishes those, once).
    await waitFor('every device\'s desired state on the broker', () => devices.every((d) => published.get(d.id)?.some((s) => s.generation === generation.get(d.id))), 60_000, 200);
    for (const d of devices) {
      const seen = published.get(d.id)!;
      assert.equal(seen.length, 1, `${d.id}: desired state published ${seen.length} times (generations ${seen.map((s) => s.generation).join(', ')})`);
      assert.equal(seen[0]!.version?.version, '1.0.0');
      assert.equal(seen[0]!.deploymentId, dep.id);
    }
  });
});
