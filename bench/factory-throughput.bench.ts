// A factory runtime (its own Node-RED process: cloud-bridge-in -> timescale-sink, and cloud-bridge up to
// the cloud) taking inspections (5 detections and a JPEG thumbnail each) from real Mosquitto into real
// PostgreSQL, fed by a load generator in another process (mqtt.js, QoS 1). Beside it, in the same run and
// on the same load: a raw pipeline (one mqtt.js subscriber, rows made by hand, COPY into a staging table and
// INSERT ... ON CONFLICT DO NOTHING into the same tables, every 200 ms or 5,000 rows).
// Two phases each: a steady stream at RATE for SECONDS (delay capture -> row p50/p99, runtime RSS over
// time), then a burst of BURST inspections sent as fast as the broker takes them (the most either keeps up
// with). Env: FACTORY_BENCH_SECONDS (30; the README's full run is 300), FACTORY_BENCH_RATE (2000),
// FACTORY_BENCH_BURST (20000), FACTORY_BENCH_UPLINK (1 = with cloud-bridge up), FACTORY_BENCH_PROFILE (a
// directory for the runtime's CPU profile). Needs LINESIGHT_PG_URL and
// LINESIGHT_MQTT_URL (defaults: the local servers).
import crypto from 'node:crypto';
import os from 'node:os';
import { Client } from 'pg';
import { thumbnail } from '../runtime/dev/simulators/inspection-load';
import { startRuntimeProcess, type RuntimeProcess } from '../test/support/runtime-process';
import { addReceivedAt, delays, processCpuMs, runLoadProcess, sampleProcess, stored, storedOrStalled, workerFlow, type ProcessSample } from '../test/support/scale';
import { RawPipeline, rawTables } from './support/raw-pipeline';
import { dropSchema, freshSchema, topicPrefix } from '../test/support/services';
import { waitFor } from '../test/support/wait';
import { report } from './support/report';
import { startPrivateMosquitto } from '../test/integration/cloud-bridge/private-mosquitto';

const PG = process.env.LINESIGHT_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
// Default: a private Mosquitto on a free port configured like docker/mosquitto/mosquitto.conf. The shared
// test broker keeps Mosquitto's default queue of 1,000 messages per session and drops QoS 1 messages
// beyond it whenever a consumer lags; FACTORY_BENCH_BROKER=shared measures against it anyway.
const SHARED_MQ = process.env.LINESIGHT_MQTT_URL ?? 'mqtt://127.0.0.1:1883';
let MQ = SHARED_MQ;
const SECONDS = Number(process.env.FACTORY_BENCH_SECONDS ?? 30);
const RATE = Number(process.env.FACTORY_BENCH_RATE ?? 2000);
const BURST = Number(process.env.FACTORY_BENCH_BURST ?? 20_000);
const UPLINK = process.env.FACTORY_BENCH_UPLINK !== '0';
const BENCH = 'factory-throughput';
// A directory: the runtime process writes a V8 CPU profile there when it exits (node --cpu-prof).
const PROFILE_DIR = process.env.FACTORY_BENCH_PROFILE;

interface Phase {
  /** Inspections stored per second, first publish -> last row. */
  rate: number;
  p50: number;
  p99: number;
  missing: number;
  /** CPU time (user + system) the pipeline's process spent per 1,000 inspections, ms. */
  cpuPerK: number;
}

/** CPU time (user + system, ms) a process has used: this one, or another one read from /proc. */
function cpuMs(pid?: number): number {
  if (pid === undefined) {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  }
  return processCpuMs(pid);
}

/** Waits until a run's inspections are all stored (or stop growing), then reads rate and delays. */
async function settle(schema: string, runId: string, count: number, startedAt: number, cpu: () => number, cpuAtStart: number): Promise<Phase> {
  const s = await storedOrStalled(PG, schema, runId, count);
  const cpuPerK = ((cpu() - cpuAtStart) * 1000) / count;
  const d = await delays(PG, schema, runId);
  return { rate: (s.inspections * 1000) / (d.lastAt - startedAt), p50: d.p50, p99: d.p99, missing: count * 7 - (s.inspections + s.detections + s.images), cpuPerK };
}

// ---- the two phases, for either pipeline

async function phases(schema: string, prefix: string, tag: string, cpu: () => number): Promise<{ steady: Phase; burst: Phase }> {
  const runId = `${tag}${crypto.randomBytes(3).toString('hex')}`;
  let cpuAt = cpu();
  const steadyLoad = await runLoadProcess({ url: MQ, prefix, rate: RATE, count: RATE * SECONDS, runId });
  const steady = await settle(schema, runId, RATE * SECONDS, steadyLoad.startedAt, cpu, cpuAt);
  const burstId = `${runId}b`;
  cpuAt = cpu();
  const burstLoad = await runLoadProcess({ url: MQ, prefix, rate: 0, count: BURST, runId: burstId, window: 5000 });
  const burst = await settle(schema, burstId, BURST, burstLoad.startedAt, cpu, cpuAt);
  return { steady, burst };
}

async function main() {
  const broker = process.env.FACTORY_BENCH_BROKER === 'shared' ? undefined : await startPrivateMosquitto();
  if (broker) MQ = broker.url;
  try {
    await measure(broker ? 'a private Mosquitto 2.0 (max_queued_messages unbounded, as docker/mosquitto)' : `the shared Mosquitto at ${SHARED_MQ}`);
  } finally {
    await broker?.stop();
  }
}

async function measure(brokerNote: string) {
  const thumbBytes = (await thumbnail()).length;
  const load = `load average ${os.loadavg()[0].toFixed(1)} at start (2 cores shared with other work)`;

  // Raw pipeline first, in this process.
  const rawSchema = await freshSchema(PG, 'bench_raw');
  const rawPrefix = topicPrefix();
  const db = new Client({ connectionString: PG });
  await db.connect();
  const raw = new RawPipeline(db, rawSchema, MQ);
  let rawResult: { steady: Phase; burst: Phase };
  try {
    await rawTables(PG, rawSchema);
    await raw.start(rawPrefix, UPLINK ? `${rawPrefix}-up` : undefined);
    rawResult = await phases(rawSchema, rawPrefix, 'raw', () => cpuMs());
  } finally {
    await raw.stop();
    await db.end();
    await dropSchema(PG, rawSchema);
  }

  // The runtime, its own process.
  const schema = await freshSchema(PG, 'bench_fac');
  const prefix = topicPrefix();
  let rt: RuntimeProcess | undefined;
  const samples: ProcessSample[] = [];
  let sampler: NodeJS.Timeout | undefined;
  let rtResult: { steady: Phase; burst: Phase };
  try {
    rt = await startRuntimeProcess({ tier: 'factory', timeoutMs: 60_000, nodeArgs: PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [] });
    const runId = crypto.randomBytes(3).toString('hex');
    await rt.deploy(workerFlow({ mqttUrl: MQ, prefix, pgUrl: PG, schema, clientId: `ls-bench-${runId}`, uplinkPrefix: UPLINK ? `${prefix}-up` : undefined }));
    await addReceivedAt(PG, schema);
    await runLoadProcess({ url: MQ, prefix, rate: 0, count: 1, runId: `${runId}probe` });
    await waitFor('the probe inspection stored', async () => (await stored(PG, schema, `${runId}probe`)).inspections === 1, 60_000, 200);
    const pid = rt.proc.pid!;
    samples.push(sampleProcess(pid));
    sampler = setInterval(() => samples.push(sampleProcess(pid)), 1000);
    rtResult = await phases(schema, prefix, 'rt', () => cpuMs(pid));
  } finally {
    clearInterval(sampler);
    await rt?.stop();
    await dropSchema(PG, schema);
  }

  const ctx = `${brokerNote}; ${RATE}/s offered for ${SECONDS} s, 5 detections + ${thumbBytes} B JPEG thumbnail each${UPLINK ? ', both also send each one up (runtime: cloud-bridge with its outbox; raw: one mqtt.js publish)' : ''}; ${load}`;
  report({ bench: BENCH, metric: 'steady inspections/s stored', value: rtResult.steady.rate, unit: 'insp/s', baseline: rawResult.steady.rate, note: ctx });
  report({ bench: BENCH, metric: 'steady rows/s stored (inspections+detections)', value: rtResult.steady.rate * 6, unit: 'rows/s', baseline: rawResult.steady.rate * 6 });
  report({ bench: BENCH, metric: 'capture -> row p50', value: rtResult.steady.p50, unit: 'ms', baseline: rawResult.steady.p50 });
  report({ bench: BENCH, metric: 'capture -> row p99', value: rtResult.steady.p99, unit: 'ms', baseline: rawResult.steady.p99 });
  report({ bench: BENCH, metric: 'rows missing (steady + burst)', value: rtResult.steady.missing + rtResult.burst.missing, unit: 'rows', baseline: rawResult.steady.missing + rawResult.burst.missing, note: 'zero loss expected; duplicates cannot land (natural key), counts are exact' });
  report({ bench: BENCH, metric: 'CPU per 1,000 inspections (steady)', value: rtResult.steady.cpuPerK, unit: 'ms', baseline: rawResult.steady.cpuPerK, note: `user + system time of the pipeline's process (runtime: /proc; raw: this process); at ${RATE}/s a process has 1,000 ms per second of one core, so 2,000/s needs under ${(1000 / (RATE / 1000)).toFixed(0)} ms here, whatever the load on the machine` });
  report({ bench: BENCH, metric: 'CPU per 1,000 inspections (burst)', value: rtResult.burst.cpuPerK, unit: 'ms', baseline: rawResult.burst.cpuPerK });
  report({ bench: BENCH, metric: 'burst inspections/s stored', value: rtResult.burst.rate, unit: 'insp/s', baseline: rawResult.burst.rate, note: `${BURST} sent as fast as Mosquitto acknowledges` });
  report({ bench: BENCH, metric: 'burst capture -> row p99', value: rtResult.burst.p99, unit: 'ms', baseline: rawResult.burst.p99 });
  const rss = samples.map((s) => s.rssMiB);
  const third = Math.max(1, Math.floor(rss.length / 3));
  const avg = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
  report({ bench: BENCH, metric: 'runtime RSS peak', value: Math.max(...rss), unit: 'MiB', note: `sampled every 1 s over ${rss.length} s: ${rss.filter((_, i) => i % Math.max(1, Math.floor(rss.length / 12)) === 0).map((v) => v.toFixed(0)).join(' ')}` });
  report({ bench: BENCH, metric: 'runtime RSS growth, last third vs first third of the run', value: avg(rss.slice(-third)) - avg(rss.slice(0, third)), unit: 'MiB' });
  report({ bench: BENCH, metric: 'runtime open fds first/last', value: samples[samples.length - 1].fds, unit: 'fds', baseline: samples[0].fds });
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
