// A factory runtime (real Node-RED process) taking a steady inspection stream from real Mosquitto into
// real PostgreSQL and up to the cloud: every inspection stored once with its five detections and its
// thumbnail, and every one sent up. CI-sized (30 s at 300 inspections/s); the full 2,000/s run is
// bench/factory-throughput.bench.ts.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { fromWire } from '../../../nodes/cloud-bridge/wire-format';
import { startRuntimeProcess, type RuntimeProcess } from '../../support/runtime-process';
import { dropSchema, freshSchema, mqttService, pgService, topicPrefix } from '../../support/services';
import { addReceivedAt, runLoadProcess, stored, workerFlow } from '../../support/scale';
import { waitFor } from '../../support/wait';

const RATE = 300;
const SECONDS = 30;
const COUNT = RATE * SECONDS;

describe('factory runtime throughput: cloud-bridge-in -> timescale-sink + cloud-bridge up (integration, real processes)', function () {
  this.timeout(240_000);
  let rt: RuntimeProcess | undefined;
  let schema: string | undefined;
  let pgUrl = '';
  let sub: any;
  after(async () => {
    await sub?.endAsync();
    await rt?.stop();
    if (schema) await dropSchema(pgUrl, schema);
  });

  it(`stores ${COUNT} inspections sent at ${RATE}/s exactly once (5 detections and a thumbnail each) and sends each one up`, async function () {
    const mq = await mqttService();
    if (mq.protocolVersion !== 5) this.skip();
    pgUrl = (await pgService()).url;
    schema = await freshSchema(pgUrl, 'scale');
    const prefix = topicPrefix();
    const runId = crypto.randomBytes(4).toString('hex');

    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mqtt = require('mqtt');
    sub = await mqtt.connectAsync(mq.url, { protocolVersion: 5 });
    const up = new Set<string>();
    sub.on('message', (_t: string, p: Buffer, packet: any) => {
      const d = fromWire(p, packet.properties);
      up.add((d.value as { inspectionId: string }).inspectionId);
    });
    await sub.subscribeAsync(`${prefix}-up/#`, { qos: 1 });

    rt = await startRuntimeProcess({ tier: 'factory' });
    await rt.deploy(workerFlow({ mqttUrl: mq.url, prefix, pgUrl, schema, clientId: `ls-scale-${runId}`, uplinkPrefix: `${prefix}-up` }));
    await addReceivedAt(pgUrl, schema);
    // The downlink is subscribed once a probe inspection gets through.
    await runLoadProcess({ url: mq.url, prefix, rate: 0, count: 1, runId: `${runId}probe` });
    await waitFor('the probe inspection in the database', async () => (await stored(pgUrl, schema!, `${runId}probe`)).inspections === 1, 60_000, 200);

    const load = await runLoadProcess({ url: mq.url, prefix, rate: RATE, count: COUNT, runId });
    assert.equal(load.acked, COUNT, `the broker acknowledged every publish (${load.errors} errors: ${load.firstError ?? ''})`);
    const final = await waitFor(
      `all ${COUNT} inspections stored`,
      async () => {
        const s = await stored(pgUrl, schema!, runId);
        return s.inspections >= COUNT && s.detections >= COUNT * 5 && s.images >= COUNT ? s : undefined;
      },
      120_000,
      500,
    );
    assert.deepEqual(final, { inspections: COUNT, distinctInspections: COUNT, detections: COUNT * 5, images: COUNT });
    await waitFor(`all ${COUNT} inspections sent up`, () => [...up].filter((id) => id.startsWith(`${runId}-`)).length === COUNT, 120_000, 500);
  });
});
