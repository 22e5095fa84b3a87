// Cloud workers scaling out: N = 1, 2, 4 worker runtimes (each its own Node-RED process: cloud-bridge-in
// in one shared-subscription group -> timescale-sink) on one Mosquitto, into one PostgreSQL. Each N takes
// the same burst of inspections (5 detections + a JPEG thumbnail each) sent as fast as the broker
// acknowledges; the figure is inspections stored per second. Baselines in the same run: the raw pipeline
// (one mqtt.js subscriber + COPY, bench/support/raw-pipeline.ts) on the same burst, and the database alone
// (the same rows COPYed from memory, 1 and 4 connections), which is where the workers stop growing.
// Env: WORKERS_BENCH_BURST (20000), WORKERS_BENCH_N (1,2,4). The broker is a private Mosquitto on a free
// port configured like docker/mosquitto/mosquitto.conf (unbounded queues), so the shared one is untouched.
// Scale-out on a small machine: on 2 cores one uncapped worker and PostgreSQL already fill the machine, so
// more uncapped workers only compete for it. Each N is run again with every worker capped at
// WORKERS_BENCH_CPU of a core (default 0.25; 0 skips it; needs a writable cgroup cpu controller): a worker
// on a small machine of its own. Its baseline is one capped worker, so the ratio is the scale-out factor.
import crypto from 'node:crypto';
import os from 'node:os';
import { Client } from 'pg';
import { makeInspection, thumbnail } from '../runtime/dev/simulators/inspection-load';
import { startPrivateMosquitto } from '../test/integration/cloud-bridge/private-mosquitto';
import { startRuntimeProcess, type RuntimeProcess } from '../test/support/runtime-process';
import { addReceivedAt, delays, runLoadProcess, stored, storedOrStalled, workerFlow } from '../test/support/scale';
import { dropSchema, freshSchema, topicPrefix } from '../test/support/services';
import { sleep, waitFor } from '../test/support/wait';
import { COLS, RawPipeline, rawTables, rowsOf } from './support/raw-pipeline';
import { capCpu, cpuCapUnavailable } from './support/cpu-cap';
import { report } from './support/report';

const PG = process.env.LINESIGHT_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const BURST = Number(process.env.WORKERS_BENCH_BURST ?? 20_000);
const NS = (process.env.WORKERS_BENCH_N ?? '1,2,4').split(',').map(Number);
const CAP = Number(process.env.WORKERS_BENCH_CPU ?? 0.25);
const BENCH = 'cloud-workers';

async function waitStored(schema: string, runId: string, count: number, startedAt: number): Promise<{ rate: number; p99: number; missing: number }> {
  const s = await storedOrStalled(PG, schema, runId, count);
  const d = await delays(PG, schema, runId);
  return { rate: (s.inspections * 1000) / (d.lastAt - startedAt), p99: d.p99, missing: count - s.inspections };
}

/** The database alone: the burst's rows COPYed from memory over `connections` connections. */
async function databaseOnly(connections: number): Promise<number> {
  const schema = await freshSchema(PG, 'bench_dbonly');
  const image = await thumbnail();
  const clients: Client[] = [];
  try {
    await rawTables(PG, schema);
    const per = 700; // 700 inspections = 4,900 rows of the three tables, the sink's batch size
    const batches: Array<Record<keyof typeof COLS, unknown[][]>> = [];
    for (let b = 0; b * per < BURST; b++) {
      const batch: Record<keyof typeof COLS, unknown[][]> = { inspections: [], detections: [], images: [] };
      for (let i = b * per; i < Math.min(BURST, (b + 1) * per); i++) {
        const rows = rowsOf(makeInspection({ url: '', prefix: '', rate: 0, count: 0, runId: 'db' }, i, image, Date.now()) as never);
        for (const k of Object.keys(COLS) as Array<keyof typeof COLS>) batch[k].push(...rows[k]);
      }
      batches.push(batch);
    }
    for (let i = 0; i < connections; i++) {
      const c = new Client({ connectionString: PG });
      await c.connect();
      clients.push(c);
    }
    const t0 = Date.now();
    await Promise.all(
      clients.map(async (c, i) => {
        const p = new RawPipeline(c, schema, '');
        for (let b = i; b < batches.length; b += connections) await p.write(batches[b]);
      }),
    );
    return (BURST * 1000) / (Date.now() - t0);
  } finally {
    for (const c of clients) await c.end();
    await dropSchema(PG, schema);
  }
}

async function main() {
  const broker = await startPrivateMosquitto();
  const load = `load average ${os.loadavg()[0].toFixed(1)} at start (2 cores shared with other work)`;
  try {
    // Raw pipeline on the same broker and burst.
    const rawSchema = await freshSchema(PG, 'bench_wraw');
    const rawPrefix = topicPrefix();
    const db = new Client({ connectionString: PG });
    await db.connect();
    const raw = new RawPipeline(db, rawSchema, broker.url);
    let rawRate = 0;
    try {
      await rawTables(PG, rawSchema);
      await raw.start(rawPrefix);
      const runId = `raw${crypto.randomBytes(3).toString('hex')}`;
      const l = await runLoadProcess({ url: broker.url, prefix: rawPrefix, rate: 0, count: BURST, runId, window: 5000 });
      rawRate = (await waitStored(rawSchema, runId, BURST, l.startedAt)).rate;
    } finally {
      await raw.stop();
      await db.end();
      await dropSchema(PG, rawSchema);
    }
    const db1 = await databaseOnly(1);
    const db4 = await databaseOnly(4);

    const capWhy = CAP > 0 ? cpuCapUnavailable() : 'WORKERS_BENCH_CPU=0';
    if (capWhy) console.error(`# capped workers skipped: ${capWhy}`);
    let oneCapped = 0;
    for (const [n, cap] of [...NS.map((x) => [x, 0] as const), ...(capWhy ? [] : NS.map((x) => [x, CAP] as const))]) {
      const schema = await freshSchema(PG, `bench_w${n}`);
      const prefix = topicPrefix();
      const runId = `w${n}${crypto.randomBytes(3).toString('hex')}`;
      const workers: RuntimeProcess[] = [];
      const uncap: Array<() => void> = [];
      try {
        for (let i = 0; i < n; i++) {
          const rt = await startRuntimeProcess({ tier: 'cloud', timeoutMs: 90_000 });
          workers.push(rt);
          if (cap) uncap.push(capCpu(rt.proc.pid!, cap));
          const clientId = `ls-bw${i}-${runId}`;
          await rt.deploy(workerFlow({ mqttUrl: broker.url, prefix, pgUrl: PG, schema, clientId, shareGroup: `bench${runId}`, sessionExpiry: 60 }));
          await waitFor(`worker ${i} connected`, () => broker.log().includes(` as ${clientId} `), 60_000, 200);
          if (i === 0) {
            await runLoadProcess({ url: broker.url, prefix, rate: 0, count: 1, runId: `${runId}probe` });
            await addReceivedAt(PG, schema);
            await waitFor('the tables made', async () => (await stored(PG, schema, `${runId}probe`)).inspections === 1, 60_000, 200);
          }
        }
        await sleep(1000);
        const l = await runLoadProcess({ url: broker.url, prefix, rate: 0, count: BURST, runId, window: 5000 });
        const r = await waitStored(schema, runId, BURST, l.startedAt);
        if (cap) {
          if (n === NS[0]) oneCapped = r.rate / n;
          report({
            bench: BENCH,
            metric: `${n} worker${n > 1 ? 's' : ''} capped at ${cap} core each: inspections/s stored`,
            value: r.rate,
            unit: 'insp/s',
            baseline: oneCapped * n,
            note: `each worker a small machine of its own (cgroup CPU quota); baseline = ${n} x one capped worker's rate (ratio 1 = scales linearly); ${BURST} inspections; p99 capture->row ${r.p99.toFixed(0)} ms; missing ${r.missing}; ${load}`,
          });
          continue;
        }
        report({
          bench: BENCH,
          metric: `${n} worker${n > 1 ? 's' : ''}: inspections/s stored`,
          value: r.rate,
          unit: 'insp/s',
          baseline: rawRate,
          note: `${BURST} inspections (x7 rows) sent flat out; baseline = one raw mqtt.js+COPY process; database alone ${db1.toFixed(0)} insp/s on 1 connection, ${db4.toFixed(0)} on 4; p99 capture->row ${r.p99.toFixed(0)} ms; missing ${r.missing}; ${load}`,
        });
      } finally {
        for (const u of uncap) u();
        for (const w of workers) await w.stop();
        await dropSchema(PG, schema);
      }
    }
    report({ bench: BENCH, metric: 'database alone, COPY from memory, 4 connections', value: db4, unit: 'insp/s', baseline: db1, note: 'baseline = 1 connection; the ceiling the workers approach on this machine' });
  } finally {
    await broker.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
