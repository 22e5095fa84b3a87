// Convergence of a fleet on one machine: time from `POST /deployments` until 10 and until 20 runtimes
// (each a Node-RED child process supervised by its own edge agent) report `running` the new version,
// p50 and max, learning of it by MQTT and by HTTP polling alone. Baseline: pushing the same flow
// straight into the same runtimes' admin APIs in parallel (no download, verification or health window).
import { EdgeAgent } from '../runtime/agent/agent';
import type { DeviceStatusReport } from '../contracts/fleet/protocol';
import { probeFlow, probeTemplate } from '../test/fixtures/agent/flows';
import { startHarness, type Harness } from '../test/integration/repo/harness';
import { tempDir } from '../test/support/runtime-process';
import { freePort, mqttService, stopEmbeddedServices } from '../test/support/services';
import { percentile, report } from './support/report';

const HEALTH_WINDOW_MS = 1000;
const POLL_MS = 2000;
const N = 20;

interface Device {
  id: string;
  token: string;
  group: 'a' | 'b';
  port: number;
  userDir: string;
  agent?: EdgeAgent;
}

async function startAgents(h: Harness, devices: Device[], brokerUrl: string | null, pollIntervalMs: number): Promise<void> {
  // Five at a time: twenty Node-RED processes starting at once on two cores would only queue for CPU.
  for (let i = 0; i < devices.length; i += 5) {
    await Promise.all(
      devices.slice(i, i + 5).map(async (d) => {
        d.agent = new EdgeAgent({ deviceId: d.id, tier: 'line', repoUrl: h.repo.url, token: d.token, brokerUrl, pollIntervalMs, healthWindowMs: HEALTH_WINDOW_MS, runtime: { port: d.port, userDir: d.userDir, logLevel: 'error' }, log: () => {} });
        await d.agent.start();
      }),
    );
  }
}

async function stopAgents(devices: Device[]): Promise<void> {
  await Promise.all(devices.map((d) => d.agent?.stop()));
  for (const d of devices) d.agent = undefined;
}

/** Deploys `version` to `target` and resolves with each device's time (ms) to report running it. */
async function converge(h: Harness, devices: Device[], version: string, target: { tier?: 'line'; labels?: Record<string, string> }): Promise<number[]> {
  const want = `${probeTemplate.slug}@${version}`;
  const times = new Map<string, number>();
  let t0 = 0;
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${times.size} of ${devices.length} converged on ${want} within 90 s`)), 90_000);
    for (const d of devices) {
      const on = (r: DeviceStatusReport) => {
        if (r.state === 'running' && r.running === want && !times.has(d.id)) {
          times.set(d.id, performance.now() - t0);
          d.agent!.off('report', on);
          if (times.size === devices.length) {
            clearTimeout(timer);
            resolve();
          }
        }
        if (r.state === 'rolled back' || r.state === 'failed') reject(new Error(`${d.id}: ${r.state} ${r.reasons?.join('; ')}`));
      };
      d.agent!.on('report', on);
    }
  });
  const phases: Record<string, number[]> = {};
  const listeners = devices.map((d) => {
    const on = (s: { state: string }) => (phases[s.state] ??= []).push(performance.now() - t0);
    const onD = () => (phases.desired ??= []).push(performance.now() - t0);
    d.agent!.on('state', on);
    d.agent!.on('desired', onD);
    return () => {
      d.agent!.off('state', on);
      d.agent!.off('desired', onD);
    };
  });
  t0 = performance.now();
  await h.admin.createDeployment({ template: probeTemplate.slug, version, target });
  await done;
  listeners.forEach((off) => off());
  if (process.env.BENCH_DEBUG) {
    for (const [k, v] of Object.entries(phases)) console.error(`  ${want} ${k}: first ${Math.round(Math.min(...v))} p50 ${Math.round(percentile(v, 50))} max ${Math.round(Math.max(...v))} ms`);
  }
  return [...times.values()];
}

/** The raw figure: the same full deploy straight into each runtime's admin API, all in parallel. */
async function directDeploy(devices: Device[]): Promise<number> {
  const flows = await Promise.all(devices.map(async (d) => (await d.agent!.supervisor.admin!.getFlows()).flows));
  const t0 = performance.now();
  await Promise.all(devices.map((d, i) => d.agent!.supervisor.admin!.deploy(flows[i])));
  return performance.now() - t0;
}

function figures(mode: string, n: number, times: number[], baseline: number, note: string): void {
  report({ bench: 'agent-convergence', metric: `${n} runtimes running the new version, ${mode}, p50`, value: percentile(times, 50), unit: 'ms', baseline, note });
  report({ bench: 'agent-convergence', metric: `${n} runtimes running the new version, ${mode}, max`, value: Math.max(...times), unit: 'ms', baseline, note: n === 20 && mode === 'MQTT' ? `goal < 3000 ms; ${note}` : note });
}

async function main() {
  const m = await mqttService();
  const h = await startHarness({ broker: m.url, brokerProtocolVersion: m.protocolVersion === 5 ? 5 : 4, now: Date.now });
  const devices: Device[] = [];
  try {
    await h.admin.createTemplate(probeTemplate);
    for (let i = 0; i < N; i++) {
      const id = `bench-line-${i}-${Math.random().toString(16).slice(2, 6)}`;
      const group = i < N / 2 ? 'a' : 'b';
      const { token } = await h.admin.registerDevice({ id, tier: 'line', labels: { group }, parameters: { LINE_ID: id } });
      devices.push({ id, token, group, port: await freePort(), userDir: tempDir('linesight-bench-') });
    }
    for (const v of ['1.0.0', '1.1.0', '2.0.0', '2.1.0']) await h.admin.publishVersion(probeTemplate.slug, { version: v, flow: probeFlow(`v${v}`) });
    const half = devices.filter((d) => d.group === 'a');
    const base = `health window ${HEALTH_WINDOW_MS} ms included; baseline: direct parallel POST /flows of the same flow into the same runtimes (no download, verification or health window); ${m.kind} broker, agents in one process, 2 cores`;

    const started = performance.now();
    await startAgents(h, devices, m.url, 3_600_000);
    if (process.env.BENCH_DEBUG) console.error(`  ${N} agents and runtimes started in ${Math.round(performance.now() - started)} ms`);
    const mq10 = await converge(h, half, '1.0.0', { labels: { group: 'a' } });
    const mq20 = await converge(h, devices, '1.1.0', { tier: 'line' });
    const raw10 = await directDeploy(half);
    const raw20 = await directDeploy(devices);
    figures('MQTT', 10, mq10, raw10, `${base}; polling hourly`);
    figures('MQTT', 20, mq20, raw20, `${base}; polling hourly`);
    await stopAgents(devices);

    // Polling alone: the same devices restart on their last good flow, with no broker at all.
    await startAgents(h, devices, null, POLL_MS);
    const po10 = await converge(h, half, '2.0.0', { labels: { group: 'a' } });
    const po20 = await converge(h, devices, '2.1.0', { tier: 'line' });
    figures('polling alone', 10, po10, raw10, `${base}; poll interval ${POLL_MS} ms +-10 %, agents given no broker`);
    figures('polling alone', 20, po20, raw20, `${base}; poll interval ${POLL_MS} ms +-10 %, agents given no broker`);
  } finally {
    await stopAgents(devices).catch(() => {});
    await h.close();
    await stopEmbeddedServices();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
