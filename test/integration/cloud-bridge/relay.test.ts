// A factory runtime relaying inspections (cloud-bridge-in -> timescale-sink + cloud-bridge up), as a real
// Node-RED process on a private Mosquitto and real PostgreSQL.
// 1. Killed with SIGKILL mid-stream and started again with the same user dir: every inspection is stored
//    once and sent up. cloud-bridge-in acknowledges a message to the broker only when the sink has
//    committed it and the bridge's outbox holds it on disk (group commit), so what the broker forgot is
//    never lost and what it hands again is a duplicate (dropped by id upstream, by natural key in the sink).
// 2. A user wires a function node that changes the message beside the sink and the bridge: the sink and
//    the bridge still get the inspection as it arrived (Node-RED's copies come back for such a wiring).
//    Not Buffers changed in place: Node-RED's copy (lodash cloneDeep, Buffer.slice) shares their bytes.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import mqtt from 'mqtt';
import { fromWire } from '../../../nodes/cloud-bridge/wire-format';
import { startRuntimeProcess, type RuntimeProcess } from '../../support/runtime-process';
import { dropSchema, freshSchema, pgService, topicPrefix } from '../../support/services';
import { addReceivedAt, runLoadProcess, stored, withClient, workerFlow } from '../../support/scale';
import { waitFor, sleep } from '../../support/wait';
import { hasMosquitto, startPrivateMosquitto, type PrivateMosquitto } from './private-mosquitto';

interface Relay {
  broker: PrivateMosquitto;
  pgUrl: string;
  schema: string;
  prefix: string;
  runId: string;
  /** Inspection id -> the product serial it was sent up with. */
  up: Map<string, string>;
  upCount: () => number;
  sub: mqtt.MqttClient;
}

async function startRelay(tag: string): Promise<Relay> {
  const broker = await startPrivateMosquitto();
  const pgUrl = (await pgService()).url;
  const schema = await freshSchema(pgUrl, tag);
  const prefix = topicPrefix();
  const up = new Map<string, string>();
  let count = 0;
  const sub = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
  sub.on('message', (_t, p, packet) => {
    const v = fromWire(p, packet.properties as never).value as { inspectionId: string; productSerial: string };
    up.set(v.inspectionId, v.productSerial);
    count++;
  });
  await sub.subscribeAsync(`${prefix}-up/#`, { qos: 1 });
  return { broker, pgUrl, schema, prefix, runId: crypto.randomBytes(4).toString('hex'), up, upCount: () => count, sub };
}

async function stopRelay(r: Relay | undefined, rt: RuntimeProcess | undefined): Promise<void> {
  await rt?.stop();
  await r?.sub.endAsync();
  await r?.broker.stop();
  if (r) await dropSchema(r.pgUrl, r.schema);
}

/** Waits until `count` inspections of the run are stored and sent up, or nothing moves for 30 s. */
async function settle(r: Relay, count: number) {
  let last = '';
  for (let still = 0; still < 60; ) {
    const s = await stored(r.pgUrl, r.schema, r.runId);
    const ups = [...r.up.keys()].filter((id) => id.startsWith(`${r.runId}-`)).length;
    if (s.inspections >= count && s.detections >= count * 5 && s.images >= count && ups >= count) break;
    const now = `${s.inspections}/${ups}`;
    still = now === last ? still + 1 : 0;
    last = now;
    await sleep(500);
  }
  return { db: await stored(r.pgUrl, r.schema, r.runId), up: [...r.up.keys()].filter((id) => id.startsWith(`${r.runId}-`)).length };
}

describe('a factory runtime relaying inspections up (integration, real processes)', function () {
  this.timeout(300_000);

  describe('killed with SIGKILL mid-stream', () => {
    let r: Relay | undefined;
    let rt: RuntimeProcess | undefined;
    after(async () => stopRelay(r, rt));

    const RATE = 300;
    const COUNT = 6000;
    it(`stores each of ${COUNT} inspections once and sends each one up after a restart with the same user dir`, async function () {
      if (!hasMosquitto) this.skip();
      r = await startRelay('relaykill');
      const flow = workerFlow({ mqttUrl: r.broker.url, prefix: r.prefix, pgUrl: r.pgUrl, schema: r.schema, clientId: `ls-relay-${r.runId}`, sessionExpiry: 600, uplinkPrefix: `${r.prefix}-up` });
      rt = await startRuntimeProcess({ tier: 'factory' });
      await rt.deploy(flow);
      await addReceivedAt(r.pgUrl, r.schema);
      await runLoadProcess({ url: r.broker.url, prefix: r.prefix, rate: 0, count: 1, runId: `${r.runId}probe` });
      await waitFor('the probe stored', async () => (await stored(r!.pgUrl, r!.schema, `${r!.runId}probe`)).inspections === 1, 60_000, 200);

      const loading = runLoadProcess({ url: r.broker.url, prefix: r.prefix, rate: RATE, count: COUNT, runId: r.runId });
      await waitFor('a third of the stream stored', async () => (await stored(r!.pgUrl, r!.schema, r!.runId)).inspections >= COUNT / 3, 120_000, 100);
      const userDir = rt.userDir;
      rt.proc.kill('SIGKILL');
      await new Promise((res) => rt!.proc.once('exit', res));
      const atKill = { db: (await stored(r.pgUrl, r.schema, r.runId)).inspections, up: r.up.size };
      await sleep(2000);
      rt = await startRuntimeProcess({ tier: 'factory', userDir });
      const load = await loading;
      assert.equal(load.acked, COUNT, `the broker acknowledged every publish (${load.errors} errors: ${load.firstError ?? ''})`);

      const final = await settle(r, COUNT);
      if (final.db.inspections !== COUNT || final.up !== COUNT) {
        const missingUp = Array.from({ length: COUNT }, (_, i) => `${r!.runId}-${i}`).filter((id) => !r!.up.has(id));
        console.log(`      at the kill: ${atKill.db} stored, ${atKill.up} up; not sent up: ${missingUp.slice(0, 40).join(' ')}\n${rt.output()}`);
      }
      assert.deepEqual(final.db, { inspections: COUNT, distinctInspections: COUNT, detections: COUNT * 5, images: COUNT });
      assert.equal(final.up, COUNT, 'every inspection sent up (duplicates allowed: the receiver drops them by id)');
    });
  });

  describe('with a function node that changes the message wired beside the sink and the bridge', () => {
    let r: Relay | undefined;
    let rt: RuntimeProcess | undefined;
    after(async () => stopRelay(r, rt));

    const COUNT = 500;
    it('the sink and the bridge get every inspection as it arrived', async function () {
      if (!hasMosquitto) this.skip();
      r = await startRelay('relayedit');
      const flow = workerFlow({ mqttUrl: r.broker.url, prefix: r.prefix, pgUrl: r.pgUrl, schema: r.schema, clientId: `ls-relay-${r.runId}`, uplinkPrefix: `${r.prefix}-up` }) as Array<Record<string, unknown>>;
      // First on the wire: Node-RED hands it the message itself and the others a copy made before it runs.
      const input = flow.find((n) => n.id === 'in') as { wires: string[][] };
      input.wires[0].unshift('edit');
      flow.push({ id: 'edit', type: 'function', z: 'scale', x: 300, y: 200, name: 'edit', func: `msg.payload.productSerial = 'edited'; msg.payload.detections.length = 0; return null;`, outputs: 1, wires: [[]] });
      rt = await startRuntimeProcess({ tier: 'factory' });
      await rt.deploy(flow);
      await addReceivedAt(r.pgUrl, r.schema).catch((err) => {
        throw new Error(`${err.message}\n${rt!.output()}`);
      });
      await runLoadProcess({ url: r.broker.url, prefix: r.prefix, rate: 0, count: 1, runId: `${r.runId}probe` });
      await waitFor('the probe stored', async () => (await stored(r!.pgUrl, r!.schema, `${r!.runId}probe`)).inspections === 1, 60_000, 200);

      await runLoadProcess({ url: r.broker.url, prefix: r.prefix, rate: 200, count: COUNT, runId: r.runId });
      const final = await settle(r, COUNT);
      assert.deepEqual(final.db, { inspections: COUNT, distinctInspections: COUNT, detections: COUNT * 5, images: COUNT });
      assert.equal(final.up, COUNT);
      const edited = [...r.up.entries()].filter(([id, serial]) => id.startsWith(`${r!.runId}-`) && serial !== `SN${id}`);
      assert.deepEqual(edited, [], 'every inspection sent up with its own serial');
      const rows = await withClient(r.pgUrl, async (c) => (await c.query(`select count(*)::int as n from "${r!.schema}".inspections where inspection_id like $1 and product_serial <> 'SN' || inspection_id`, [`${r!.runId}-%`])).rows[0].n);
      assert.equal(rows, 0, 'every row stored with its own serial');
    });
  });
});
