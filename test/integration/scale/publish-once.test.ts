// Replicas share the work of publishing desired states on the broker: a generation one replica published
// is never published again by another (one starting, or reconnecting to the broker), and a change a
// replica committed but never published (it died, or had no broker) is published by another, once.
// Regression: every replica published every device's state on each broker connect.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { fleetTopics, type DesiredState } from '../../../contracts/fleet/protocol';
import { RepoClient } from '../../../runtime/repo/client';
import { createRepoServer, type RepoServer } from '../../../runtime/repo/server';
import { lineFlow, lineTemplate } from '../../fixtures/repo/templates';
import { dropSchema, freshSchema, mqttService, pgService } from '../../support/services';
import { sleep, waitFor } from '../../support/wait';

describe('scale: desired states are published once across replicas', function () {
  this.timeout(60_000);
  const servers: RepoServer[] = [];
  let sub: mqtt.MqttClient | undefined;
  let schema: string | undefined;
  let dbUrl: string;
  let dataDir: string;
  const prefix = `once${Date.now().toString(36)}`;
  const ids = Array.from({ length: 10 }, (_, i) => `${prefix}-${i}`);
  const published = new Map<string, DesiredState[]>();

  before(async function () {
    const pg = await pgService();
    // Replicas on one embedded PGlite would share one session; this is about a PostgreSQL server.
    if (pg.kind !== 'real') return this.skip();
    dbUrl = pg.url;
    schema = await freshSchema(pg.url, 'once');
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'linesight-once-'));
    const broker = await mqttService();
    sub = await mqtt.connectAsync(broker.url, { protocolVersion: broker.protocolVersion, reconnectPeriod: 0 });
    sub.on('message', (topic, payload) => {
      const id = topic.split('/')[2] ?? '';
      if (ids.includes(id) && payload.length) published.set(id, [...(published.get(id) ?? []), JSON.parse(payload.toString())]);
    });
    await sub.subscribeAsync(ids.map((id) => fleetTopics.desired(id)), { qos: 1 });
  });

  after(async () => {
    for (const s of servers) await s.close().catch(() => {});
    if (sub) {
      for (const id of ids) await sub.publishAsync(fleetTopics.desired(id), '', { qos: 1, retain: true }).catch(() => {});
      await sub.endAsync().catch(() => {});
    }
    if (schema) await dropSchema(dbUrl, schema).catch(() => {});
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  async function replica(broker: boolean): Promise<RepoServer> {
    const b = await mqttService();
    const s = await createRepoServer({ db: dbUrl, schema, dataDir, ...(broker ? { broker: b.url, brokerProtocolVersion: b.protocolVersion } : {}), publishSweepMs: 500 });
    servers.push(s);
    return s;
  }

  it('publishes a change committed by a replica without a broker once, and no replica publishes it again', async () => {
    // Replica A commits changes but cannot publish them (as one that died right after its commit).
    const a = await replica(false);
    const admin = new RepoClient({ url: a.url, token: fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim() });
    await admin.createTemplate(lineTemplate);
    await admin.publishVersion('line-inspection', { version: '1.0.0', flow: lineFlow() });
    for (const id of ids) await admin.registerDevice({ id, tier: 'line', parameters: { LINE_ID: id } });
    const dep = await admin.createDeployment({ template: 'line-inspection', version: '1.0.0', target: { tier: 'line' } });

    // Replica B publishes what A committed, then C starts: it finds nothing left to publish.
    await replica(true);
    await waitFor('every device\'s desired state on the broker', () => ids.every((id) => published.get(id)?.length), 20_000);
    await replica(true);
    // Both have connected and swept several times (every 500 ms).
    await sleep(2000);
    for (const id of ids) {
      const seen = published.get(id)!;
      assert.equal(seen.length, 1, `${id}: published ${seen.length} times`);
      assert.equal(seen[0]!.deploymentId, dep.id);
    }

    // A new change made on any replica is published once more, by one of them.
    await admin.updateDevice(ids[0]!, { parameters: { LINE_ID: 'changed' } });
    await waitFor('the changed state on the broker', () => published.get(ids[0]!)!.length === 2, 20_000);
    await sleep(1500);
    assert.equal(published.get(ids[0]!)!.length, 2);
    const [first, second] = published.get(ids[0]!)!;
    assert.ok(second!.generation > first!.generation);
    assert.equal(second!.parameters.LINE_ID, 'changed');
  });
});
