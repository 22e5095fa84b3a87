// Two cloud workers (real Node-RED processes) in one shared-subscription group on one Mosquitto, writing
// into one database; one is killed with SIGKILL mid-stream and started again (as a supervisor would) with
// the same client id. Every inspection is stored exactly once: the downlink acknowledges a message only
// after the sink committed (or spooled) it, the worker's persistent session keeps what it had not
// acknowledged, and the sink's natural key absorbs the replays.
//
// Mosquitto 2.0 (measured here): a dead member's persistent session stays in the group, so the broker keeps
// giving it its share and queues that share (up to max_queued_messages) for its return; it does not hand
// in-flight messages to the other members. With a clean session instead, everything sent to the dead
// worker and not acknowledged is lost. So: persistent session, fixed client id per worker, a broker queue
// large enough for a restart (docker/mosquitto/mosquitto.conf), and a supervisor that restarts the worker.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startRuntimeProcess, type RuntimeProcess } from '../../support/runtime-process';
import { dropSchema, freshSchema, pgService, topicPrefix } from '../../support/services';
import { runLoadProcess, stored, withClient, workerFlow } from '../../support/scale';
import { waitFor, sleep } from '../../support/wait';
import { hasMosquitto, startPrivateMosquitto, type PrivateMosquitto } from '../cloud-bridge/private-mosquitto';

const RATE = 300;
const SECONDS = 30;
const COUNT = RATE * SECONDS;

describe('cloud workers in a shared subscription, one killed with SIGKILL mid-stream (integration, real processes)', function () {
  this.timeout(300_000);
  const workers: Array<RuntimeProcess | undefined> = [];
  let broker: PrivateMosquitto | undefined;
  let schema: string | undefined;
  let pgUrl = '';
  after(async () => {
    for (const w of workers) await w?.stop();
    await broker?.stop();
    if (schema) await dropSchema(pgUrl, schema);
  });

  it(`stores each of ${COUNT} inspections exactly once; the surviving worker keeps writing while the other is down`, async function () {
    if (!hasMosquitto) this.skip();
    broker = await startPrivateMosquitto();
    pgUrl = (await pgService()).url;
    schema = await freshSchema(pgUrl, 'workers');
    const prefix = topicPrefix();
    const runId = crypto.randomBytes(4).toString('hex');
    const flow = (i: number) => workerFlow({ mqttUrl: broker!.url, prefix, pgUrl, schema: schema!, clientId: `ls-worker${i}-${runId}`, shareGroup: 'workers', sessionExpiry: 600, ackAfter: process.env.LS_SCALE_ACK_AFTER as 'receipt' | undefined });

    // One after the other, so the second finds the tables made.
    for (let i = 0; i < 2; i++) {
      workers[i] = await startRuntimeProcess({ tier: 'cloud' });
      await workers[i]!.deploy(flow(i));
      await waitFor(`worker ${i} connected`, () => broker!.log().includes(` as ls-worker${i}-${runId} `), 60_000, 200);
      if (i > 0) continue;
      await runLoadProcess({ url: broker.url, prefix, rate: 0, count: 1, runId: `${runId}probe` });
      await waitFor('worker 0 storing (probe stored)', async () => (await stored(pgUrl, schema!, `${runId}probe`)).inspections === 1, 60_000, 200);
    }
    await sleep(1000);

    const loading = runLoadProcess({ url: broker.url, prefix, rate: RATE, count: COUNT, runId });
    await waitFor('a third of the stream stored', async () => (await stored(pgUrl, schema!, runId)).inspections >= COUNT / 3, 120_000, 200);
    const victim = workers[1]!;
    const userDir = victim.userDir;
    victim.proc.kill('SIGKILL');
    await new Promise((r) => victim.proc.once('exit', r));
    workers[1] = undefined;
    const atKill = (await stored(pgUrl, schema, runId)).inspections;
    await sleep(4000);
    const whileDown = (await stored(pgUrl, schema, runId)).inspections - atKill;
    assert.ok(whileDown > 0, 'the surviving worker stored inspections while the other was down');

    // The supervisor's restart: same user dir (flow, spool) and so the same client id and session.
    workers[1] = await startRuntimeProcess({ tier: 'cloud', userDir });
    const load = await loading;
    assert.equal(load.acked, COUNT, `the broker acknowledged every publish (${load.errors} errors: ${load.firstError ?? ''})`);
    let final = await stored(pgUrl, schema, runId);
    for (let still = 0; still < 60 && (final.inspections < COUNT || final.detections < COUNT * 5 || final.images < COUNT); ) {
      await sleep(1000);
      const now = await stored(pgUrl, schema, runId);
      still = now.inspections === final.inspections ? still + 1 : 0;
      final = now;
    }
    if (final.inspections !== COUNT) {
      const missing = await withClient(pgUrl, async (c) => (await c.query(`select s from generate_series(0, ${COUNT - 1}) s where not exists (select 1 from "${schema}".inspections where inspection_id = $1 || '-' || s)`, [runId])).rows.map((r) => r.s));
      console.log(`      missing: ${missing.join(' ')} (stored ${atKill} when the worker was killed)\n      worker 0:\n${workers[0]!.output()}\n      worker 1 after restart:\n${workers[1]!.output()}`);
    }
    assert.deepEqual(final, { inspections: COUNT, distinctInspections: COUNT, detections: COUNT * 5, images: COUNT });
  });
});
