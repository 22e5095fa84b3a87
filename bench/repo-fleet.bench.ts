// One repository for 1,000 lines: 1,000 simulated agents (`linesight simulate fleet`, one process, real
// HTTP and MQTT clients) polling their desired state every 5 s with ETag against a `linesight repo`
// process on real PostgreSQL, for ~60 s; then a canary rollout to all 1,000. Baseline, same run and same
// simulated fleet, in alternate 5 s turns: a bare Express app answering each poll with one indexed token
// lookup (304, or a fixed signed state) — the least an authenticated poll can cost on this database.
// Needs LINESIGHT_PG_URL (two processes cannot share embedded PGlite); LINESIGHT_MQTT_URL for the broker.
// LINESIGHT_BENCH_FLEET_DEVICES and LINESIGHT_BENCH_FLEET_SECONDS shrink or grow the run.
import mqtt from 'mqtt';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { fleetTopics, type DesiredState } from '../contracts/fleet/protocol';
import { registerFleet, runFleetSimulator, type FleetDevice } from '../runtime/dev/simulators/fleet';
import { RepoClient } from '../runtime/repo/client';
import { lineFlow, lineTemplate } from '../test/fixtures/repo/templates';
import { startReplicaSet } from '../test/support/repo-replicas';
import { dropSchema, freshSchema, mqttService, pgService, stopEmbeddedServices } from '../test/support/services';
import { percentile, report, round } from './support/report';

const DEVICES = Number(process.env.LINESIGHT_BENCH_FLEET_DEVICES ?? 1000);
const SECONDS = Number(process.env.LINESIGHT_BENCH_FLEET_SECONDS ?? 60);
const POLL_MS = 5000;
/** The first poll interval is warm-up (connections, first unconditional polls); it is not measured. */
const WARMUP_MS = POLL_MS + 2000;

interface Side {
  /** Conditional polls' latencies (ms), request sent to answer's headers. */
  ms: number[];
  errors: number;
  /** Time this side was polled (ms). */
  activeMs: number;
  /** The simulator's event-loop delay while this side was polled. */
  loop: IntervalHistogram;
}

/**
 * One simulated fleet polls the repository and the baseline server in turn, one poll interval (5 s: every
 * device polls once) each, for SECONDS each: both are measured under the same machine load, which on a
 * shared 2-core machine changes from one minute to the next. Only the desired-state polls switch; the
 * pinned key, status reports and MQTT stay with the repository. The latency is timed around the fetch.
 */
async function interleaved(repo: string, base: string, devices: FleetDevice[], broker: string | undefined): Promise<{ ours: Side; baseline: Side; polls: number }> {
  const side = (): Side => ({ ms: [], errors: 0, activeMs: 0, loop: monitorEventLoopDelay({ resolution: 10 }) });
  const ours = side();
  const baseline = side();
  let current: Side | null = null;
  const desired = /\/api\/v1\/devices\/[^/]+\/desired$/;
  const switching: typeof fetch = async (input, init) => {
    const url = String(input);
    const path = url.slice(repo.length);
    if (!desired.test(path)) return fetch(url, init);
    const on = current;
    const conditional = new Headers(init?.headers).has('if-none-match');
    const t0 = performance.now();
    try {
      const r = await fetch((on === baseline ? base : repo) + path, init);
      if (on && conditional) on.ms.push(performance.now() - t0);
      return r;
    } catch (err) {
      if (on) on.errors++;
      throw err;
    }
  };
  const fleet = runFleetSimulator({ repos: [repo], devices, pollMs: POLL_MS, broker, fetch: switching });
  await fleet.ready;
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  fleet.resetStats();
  for (let i = 0; i < (2 * SECONDS * 1000) / POLL_MS; i++) {
    current = i % 2 === 0 ? ours : baseline;
    current.loop.enable();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, POLL_MS));
    current.activeMs += performance.now() - t0;
    current.loop.disable();
  }
  current = null;
  const s = await fleet.stop();
  return { ours, baseline, polls: s.polls };
}

/** The baseline poll server (bench/repo-fleet-baseline.ts) in a process of its own. */
async function baselineServer(dbUrl: string, schema: string, states: Map<string, { etag: string; body: DesiredState }>): Promise<{ url: string; close(): Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linesight-fleet-baseline-'));
  const file = path.join(dir, 'states.json');
  fs.writeFileSync(file, JSON.stringify(Object.fromEntries(states)));
  const proc = spawn(process.execPath, [path.join(__dirname, 'repo-fleet-baseline.js'), dbUrl, schema, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const gone = new Promise<void>((r) => proc.once('exit', () => r()));
  const url = await new Promise<string>((resolve, reject) => {
    proc.stdout!.once('data', (d) => resolve(String(d).trim()));
    proc.once('exit', (code) => reject(new Error(`baseline server exited with ${code}`)));
  });
  return {
    url,
    async close() {
      proc.kill('SIGTERM');
      await gone;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function main(): Promise<void> {
  const db = await pgService();
  if (db.kind !== 'real') {
    console.error('repo-fleet: skipped, it needs LINESIGHT_PG_URL (a repository process and the bench cannot share embedded PGlite)');
    return;
  }
  const broker = await mqttService();
  const schema = await freshSchema(db.url, 'fleetbench');
  const set = await startReplicaSet(1, { db: db.url, schema, broker: broker.url, mqtt5: broker.protocolVersion === 5 });
  const prefix = `fb${Date.now().toString(36)}`;
  try {
    const repo = set.urls[0]!;
    const admin = new RepoClient({ url: repo, token: set.adminToken });
    await admin.createTemplate(lineTemplate);
    await admin.publishVersion('line-inspection', { version: '1.0.0', flow: lineFlow() });
    const devices = await registerFleet(repo, set.adminToken, DEVICES, { idPrefix: prefix, tier: 'line', parameters: { LINE_ID: '{id}' }, pollS: POLL_MS / 1000 });

    // The baseline answers with the states the repository signed.
    const states = new Map<string, { etag: string; body: DesiredState }>();
    for (const d of devices) {
      const r = await new RepoClient({ url: repo, token: d.token }).desired(d.id);
      if (!r.notModified) states.set(d.id, { etag: r.etag, body: r.state });
    }
    const base = await baselineServer(db.url, schema, states);
    const run = await interleaved(repo, base.url, devices, broker.url).finally(() => base.close());
    const { ours, baseline } = run;
    const rate = (x: Side) => x.ms.length / (x.activeMs / 1000);
    const q = (x: Side, p: number) => round(percentile(x.ms, p), 2);
    const lag = (x: Side) => round(x.loop.percentile(99) / 1e6, 1);
    const load = `load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} cores`;
    const note = `${DEVICES} simulated agents polling every ${POLL_MS / 1000} s with ETag, ${SECONDS} s on each side in alternating ${POLL_MS / 1000} s turns (after ${WARMUP_MS / 1000} s warm-up), one linesight repo process, real PostgreSQL; errors ${ours.errors}/${baseline.errors}; goal p99 < 50 ms`;
    report({ bench: 'repo-fleet', metric: 'conditional desired-state polls', value: rate(ours), unit: 'req/s', baseline: rate(baseline), note });
    report({ bench: 'repo-fleet', metric: 'p50 conditional poll latency', value: q(ours, 50), unit: 'ms', baseline: q(baseline, 50), note: `baseline: bare Express + one pg token lookup, same simulated fleet, alternate turns; ${ours.ms.length}/${baseline.ms.length} polls` });
    report({ bench: 'repo-fleet', metric: 'p99 conditional poll latency', value: q(ours, 99), unit: 'ms', baseline: q(baseline, 99), note: `max ${q(ours, 100)} ms (baseline ${q(baseline, 100)} ms); the simulator's own event-loop delay p99 ${lag(ours)} ms during the repository's turns (${lag(baseline)} ms during the baseline's); ${load}` });

    // A canary rollout to every device: 10 canaries, then waves of 20 % of the fleet.
    const fleet = runFleetSimulator({ repos: [repo], devices, pollMs: POLL_MS, broker: broker.url, deployMs: 200 });
    await fleet.ready;
    const waveSize = Math.ceil((DEVICES - 10) / 5);
    const t0 = performance.now();
    const dep = await admin.createDeployment({ template: 'line-inspection', version: '1.0.0', target: { tier: 'line' }, strategy: 'canary', canary: 10, waveSize });
    // Watched from the devices' side (every one reports running), then confirmed once by the repository.
    const patient = new RepoClient({ url: repo, token: set.adminToken, timeoutMs: 300_000 });
    for (let round = 1; ; round++) {
      const allRunning = fleet.devices.every((a) => a.reported === 'running' && a.running === 'line-inspection@1.0.0');
      if (allRunning || round % 50 === 0) {
        const d = await patient.getDeployment(dep.id);
        if (allRunning && d.state === 'completed') break;
        if (d.state !== 'rolling out' && d.state !== 'completed') throw new Error(`rollout ${d.state}: ${d.reason}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const rolloutMs = performance.now() - t0;
    const s = await fleet.stop();
    report({ bench: 'repo-fleet', metric: `canary rollout to ${DEVICES} devices (10 canaries + 5 waves)`, value: rolloutMs / 1000, unit: 's', baseline: null, note: `every device reporting running; simulated deploy 200 ms per device; ${s.deploys} deploys, ${s.mqttDesired} desired states by MQTT, poll errors ${s.pollErrors}` });
  } finally {
    await set.close();
    await clearRetained(broker.url, broker.protocolVersion, prefix, DEVICES);
    await dropSchema(db.url, schema).catch(() => {});
    await stopEmbeddedServices();
  }
}

/** Leaves no retained messages of the simulated devices on a shared broker. */
async function clearRetained(url: string, protocolVersion: 4 | 5, prefix: string, count: number): Promise<void> {
  const c = await mqtt.connectAsync(url, { protocolVersion, reconnectPeriod: 0 }).catch(() => null);
  if (!c) return;
  const width = String(count - 1).length;
  for (let i = 0; i < count; i++) {
    const id = `${prefix}-${String(i).padStart(width, '0')}`;
    await c.publishAsync(fleetTopics.desired(id), '', { qos: 1, retain: true }).catch(() => {});
    await c.publishAsync(fleetTopics.state(id), '', { qos: 1, retain: true }).catch(() => {});
  }
  await c.endAsync();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
