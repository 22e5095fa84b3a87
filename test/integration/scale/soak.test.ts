// Memory stays flat (CI variant): a factory runtime (real Node-RED process) takes a steady inspection
// stream from Mosquitto into PostgreSQL and sends it up to a cloud broker of its own (a private Mosquitto)
// that goes away for 15 s in the middle. Sampled every second from /proc: RSS, file handles, sockets.
// Bounds (stated here and in the README): RSS never above 512 MiB, and the mean of the last third of the
// samples at most 64 MiB above the mean of the middle third (V8 grows its heap towards a steady size in
// the first minute; a leak keeps growing); file handles and sockets end at most 8 above the warm-up
// sample; the outbox empties after the outage and its file (with WAL) shrinks back under 5 MiB.
// SOAK_SECONDS (default 60) lengthens it; the 1-hour run is the same test with SOAK_SECONDS=3600.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startRuntimeProcess, type RuntimeProcess } from '../../support/runtime-process';
import { dropSchema, freshSchema, mqttService, pgService, topicPrefix } from '../../support/services';
import { runLoadProcess, sampleProcess, stored, workerFlow, type ProcessSample } from '../../support/scale';
import { sleep, waitFor } from '../../support/wait';
import { hasMosquitto, startPrivateMosquitto, type PrivateMosquitto } from '../cloud-bridge/private-mosquitto';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
const RATE = 100;
const COUNT = RATE * SECONDS;
const MiB = 1024 * 1024;

describe(`soak: a factory runtime for ${SECONDS} s at ${RATE} inspections/s with a 15 s uplink outage (integration, real processes)`, function () {
  this.timeout((SECONDS + 240) * 1000);
  let rt: RuntimeProcess | undefined;
  let cloud: PrivateMosquitto | undefined;
  let schema: string | undefined;
  let pgUrl = '';
  after(async () => {
    await rt?.stop();
    await cloud?.stop();
    if (schema) await dropSchema(pgUrl, schema);
  });

  it('keeps RSS, file handles and sockets within bounds, stores everything, and the outbox shrinks back after the outage', async function () {
    const mq = await mqttService();
    if (mq.protocolVersion !== 5 || !hasMosquitto) this.skip();
    cloud = await startPrivateMosquitto();
    pgUrl = (await pgService()).url;
    schema = await freshSchema(pgUrl, 'soak');
    const prefix = topicPrefix();
    const runId = crypto.randomBytes(4).toString('hex');
    rt = await startRuntimeProcess({ tier: 'factory' });
    await rt.deploy(workerFlow({ mqttUrl: mq.url, prefix, pgUrl, schema, clientId: `ls-soak-${runId}`, uplinkPrefix: `${prefix}-up`, uplinkUrl: cloud.url }));
    await runLoadProcess({ url: mq.url, prefix, rate: 0, count: 1, runId: `${runId}probe` });
    await waitFor('the probe stored', async () => (await stored(pgUrl, schema!, `${runId}probe`)).inspections === 1, 60_000, 200);
    const outbox = path.join(rt.userDir, 'linesight', 'outbox', 'up.db');
    const outboxBytes = () => [outbox, `${outbox}-wal`].reduce((n, f) => n + (fs.existsSync(f) ? fs.statSync(f).size : 0), 0);
    const outboxItems = () => {
      const db = new Database(outbox, { readonly: true, fileMustExist: true });
      try {
        return (db.prepare('select count(*) as n from items').get() as { n: number }).n;
      } finally {
        db.close();
      }
    };

    const pid = rt.proc.pid!;
    const samples: ProcessSample[] = [];
    const sampler = setInterval(() => samples.push(sampleProcess(pid)), 1000);
    const loading = runLoadProcess({ url: mq.url, prefix, rate: RATE, count: COUNT, runId });
    let peakOutbox = 0;
    try {
      // The outage: the cloud broker is away for 15 s from a third of the way in.
      await sleep((SECONDS / 3) * 1000);
      await cloud.stop();
      const outageEnds = Date.now() + 15_000;
      while (Date.now() < outageEnds) {
        peakOutbox = Math.max(peakOutbox, outboxBytes());
        await sleep(500);
      }
      const backlog = outboxItems();
      await cloud.start();
      const load = await loading;
      assert.equal(load.acked, COUNT);
      assert.ok(backlog > 0, 'inspections waited in the outbox during the outage');
      const s = await waitFor(`all ${COUNT} stored`, async () => {
        const now = await stored(pgUrl, schema!, runId);
        return now.inspections >= COUNT ? now : undefined;
      }, 120_000, 500);
      assert.equal(s.inspections, COUNT);
      await waitFor('the outbox to empty after the outage', () => outboxItems() === 0, 120_000, 500);
      await sleep(3000);
    } finally {
      clearInterval(sampler);
    }
    const warm = samples[Math.min(samples.length - 1, 5)];
    const last = samples[samples.length - 1];
    const peakRss = Math.max(...samples.slice(5).map((x) => x.rssMiB));
    const line = (x: ProcessSample) => `rss ${x.rssMiB.toFixed(0)} MiB, ${x.fds} fds, ${x.sockets} sockets`;
    console.log(`      warm-up: ${line(warm)}; end: ${line(last)}; peak rss ${peakRss.toFixed(0)} MiB; outbox peak ${(peakOutbox / MiB).toFixed(1)} MiB, end ${(outboxBytes() / MiB).toFixed(2)} MiB (${samples.length} samples)`);
    const mean = (xs: ProcessSample[]) => xs.reduce((n, x) => n + x.rssMiB, 0) / xs.length;
    const third = Math.floor(samples.length / 3);
    const growth = mean(samples.slice(-third)) - mean(samples.slice(third, 2 * third));
    console.log(`      RSS mean, last third vs middle third: ${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MiB`);
    assert.ok(peakRss <= 512, `RSS peak ${peakRss.toFixed(0)} MiB (bound 512)`);
    assert.ok(growth <= 64, `RSS mean grew ${growth.toFixed(0)} MiB from the middle to the last third (bound 64)`);
    assert.ok(last.fds - warm.fds <= 8, `file handles ${warm.fds} -> ${last.fds} (bound +8)`);
    assert.ok(last.sockets - warm.sockets <= 8, `sockets ${warm.sockets} -> ${last.sockets} (bound +8)`);
    assert.ok(outboxBytes() < 5 * MiB, `outbox file back under 5 MiB (${outboxBytes()} bytes, peak ${peakOutbox})`);
  });
});
