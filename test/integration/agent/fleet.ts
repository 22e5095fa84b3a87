// A real repository (in-process, on the test database, with the test broker) and edge agents under test,
// each supervising its own Node-RED child process.
import fs from 'node:fs';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import mqtt from 'mqtt';
import { Client } from 'pg';
import { EdgeAgent, type AgentOptions, type StateChange } from '../../../runtime/agent/agent';
import type { DesiredVia } from '../../../runtime/agent/desired-source';
import { fleetTopics, type DesiredState, type DeviceStatusReport } from '../../../contracts/fleet/protocol';
import type { RepoDeploymentCreate } from '../../../runtime/repo/api.schema';
import type { RepoServerOptions } from '../../../runtime/repo/server';
import type { DeviceView } from '../../../runtime/repo/client';
import { probeTemplate } from '../../fixtures/agent/flows';
import { startHarness, type Harness } from '../repo/harness';
import { tempDir } from '../../support/runtime-process';
import { freePort, mqttService, pgService } from '../../support/services';
import { waitFor } from '../../support/wait';

export const OPERATOR_PASSWORD = 'operator-test-password';

export interface AgentUnderTest {
  id: string;
  agent: EdgeAgent;
  userDir: string;
  port: number;
  url: string;
  states: StateChange[];
  reports: DeviceStatusReport[];
  desired: Array<{ d: DesiredState; via: DesiredVia }>;
  output: string[];
  /** What the runtime answers on GET /probe (null when it does not answer). */
  probe(): Promise<{ version: string; line: string } | null>;
  waitFor(state: StateChange['state'], target?: string | null, timeoutMs?: number): Promise<StateChange>;
  stop(): Promise<void>;
}

export interface Fleet {
  h: Harness;
  brokerUrl: string | null;
  register(id: string, parameters?: Record<string, string | number | boolean>): Promise<string>;
  publish(version: string, flow: unknown[]): Promise<void>;
  deploy(d: Omit<RepoDeploymentCreate, 'template'>): Promise<string>;
  /** Changes a published version's flow in the database, behind the repository's back (an attacker's edit). */
  tamper(version: string, flow: unknown[]): Promise<void>;
  startAgent(id: string, token: string, o?: Partial<AgentOptions>): Promise<AgentUnderTest>;
  device(id: string): Promise<DeviceView>;
  close(): Promise<void>;
}

export function uniqueId(prefix: string): string {
  return `${prefix}-${Math.random().toString(16).slice(2, 8)}`;
}

export async function startFleet(opts: { broker: boolean; repo?: Partial<RepoServerOptions> }): Promise<Fleet> {
  const m = opts.broker ? await mqttService() : null;
  const h = await startHarness({ ...(m ? { broker: m.url, brokerProtocolVersion: 4, now: Date.now } : { now: Date.now }), ...opts.repo });
  await h.admin.createTemplate(probeTemplate);
  const agents: AgentUnderTest[] = [];
  const devices: string[] = [];
  const fleet: Fleet = {
    h,
    brokerUrl: m?.url ?? null,
    async register(id, parameters = { LINE_ID: id }) {
      devices.push(id);
      return (await h.admin.registerDevice({ id, tier: 'line', parameters })).token;
    },
    async publish(version, flow) {
      await h.admin.publishVersion(probeTemplate.slug, { version, flow, changelog: `test ${version}` });
    },
    async deploy(d) {
      return (await h.admin.createDeployment({ template: probeTemplate.slug, ...d })).id;
    },
    async tamper(version, flow) {
      const pg = await pgService();
      const c = new Client({ connectionString: pg.url });
      await c.connect();
      try {
        const t = `"${h.schema}".versions`;
        await c.query(`alter table ${t} disable trigger versions_immutable`);
        await c.query(`update ${t} set flow_json = $1 where template = $2 and version = $3`, [JSON.stringify(flow), probeTemplate.slug, version]);
        await c.query(`alter table ${t} enable trigger versions_immutable`);
      } finally {
        await c.end();
      }
    },
    async startAgent(id, token, o = {}) {
      const port = o.runtime?.port ?? (await freePort());
      const userDir = o.runtime?.userDir ?? tempDir('linesight-agent-');
      const a = await startAgentUnderTest(id, { deviceId: id, tier: 'line', repoUrl: h.repo.url, token, brokerUrl: m?.url ?? null, pollIntervalMs: 30_000, healthWindowMs: 2000, ...o, runtime: { port, userDir, logLevel: 'warn', ...o.runtime } });
      agents.push(a);
      return a;
    },
    device(id) {
      return h.admin.getDevice(id);
    },
    async close() {
      await Promise.all(agents.map((a) => a.stop().catch(() => {})));
      if (m) await clearRetained(m.url, devices);
      await h.close();
    },
  };
  return fleet;
}

export async function startAgentUnderTest(id: string, o: AgentOptions): Promise<AgentUnderTest> {
  const output: string[] = [];
  const agent = new EdgeAgent({
    // The operator's own editor login, for hand edits.
    runtimeEnv: { ...process.env, LINESIGHT_ADMIN_PASSWORD_HASH: bcrypt.hashSync(OPERATOR_PASSWORD, 4) },
    driftIntervalMs: 500,
    gateIntervalMs: 300,
    log: (l) => output.push(l),
    ...o,
  });
  const states: StateChange[] = [];
  const reports: DeviceStatusReport[] = [];
  const desired: Array<{ d: DesiredState; via: DesiredVia }> = [];
  agent.on('state', (s: StateChange) => states.push(s));
  agent.on('report', (r: DeviceStatusReport) => reports.push(r));
  agent.on('desired', (d: DesiredState, via: DesiredVia) => desired.push({ d, via }));
  await agent.start();
  const url = `http://127.0.0.1:${o.runtime.port}/`;
  let stopped = false;
  return {
    id,
    agent,
    userDir: o.runtime.userDir,
    port: o.runtime.port,
    url,
    states,
    reports,
    desired,
    output,
    async probe() {
      try {
        const res = await fetch(`${url}probe`, { signal: AbortSignal.timeout(5000) });
        return res.ok ? ((await res.json()) as { version: string; line: string }) : null;
      } catch {
        return null;
      }
    },
    async waitFor(state, target, timeoutMs = 60_000) {
      try {
        return await waitFor(
          `${id} to be ${state}${target ? ` ${target}` : ''}`,
          () => {
            if (agent.state !== state) return null;
            if (target !== undefined && (state === 'running' ? agent.running : agent.target) !== target) return null;
            return { state: agent.state, target: agent.target, reasons: agent.reasons };
          },
          timeoutMs,
          100,
        );
      } catch (err) {
        throw new Error(`${(err as Error).message}; now ${agent.state} ${agent.target ?? ''} ${agent.reasons.join('; ')}\n${output.slice(-40).join('\n')}`);
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await agent.stop();
    },
  };
}

/** Leaves no retained fleet messages behind on a shared broker. */
async function clearRetained(url: string, ids: string[]): Promise<void> {
  if (!ids.length) return;
  const c = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 }).catch(() => null);
  if (!c) return;
  for (const id of ids) {
    await c.publishAsync(fleetTopics.desired(id), '', { qos: 1, retain: true }).catch(() => {});
    await c.publishAsync(fleetTopics.state(id), '', { qos: 1, retain: true }).catch(() => {});
  }
  await c.endAsync().catch(() => {});
}

export function rmrf(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

export function flowFileOf(userDir: string): string {
  return path.join(userDir, 'flows.json');
}
