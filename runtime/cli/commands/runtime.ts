import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { TIERS, startRuntime, type Tier } from '../../tier/tier-runtime';
import { splitUrlCredentials } from '../../../lib/redact';
import { restrictProcessUmask } from '../../../lib/private-files';
import { hashPassword, resolveAdminAuth } from '../../tier/admin-auth';
import { AGENT_ADMIN_USER, AGENT_PASSWORD_HASH_ENV, HEALTH_INTERVAL_ENV, healthLogger, TELEMETRY_LOG_LEVEL_ENV, type ChildMessage } from '../../agent/child-ipc';
import { RuntimeTelemetry } from '../../agent/runtime-telemetry';
import type { LogLevel } from '../../../contracts/fleet/protocol';
import { NodeHealthTracker, type FlowsStopping, type StatusLike } from '../../agent/node-health';
import { parseTypeList } from '../../repo/node-policy';
import { DEFAULT_INITIAL_HEAP_MIB, INITIAL_HEAP_ENV, followLauncher, initialHeapMiB, needsRelaunch, relaunch, runtimeNodeFlags } from '../../tier/node-flags';

export function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number 0..65535');
  return n;
}

export function parseTier(v: string): Tier {
  if (!TIERS.includes(v as Tier)) throw new InvalidArgumentError(`must be one of ${TIERS.join(', ')}`);
  return v as Tier;
}

const LOG_LEVEL_NAMES = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

export function parseLogLevel(v: string): string {
  if (!LOG_LEVEL_NAMES.includes(v)) throw new InvalidArgumentError(`must be one of ${LOG_LEVEL_NAMES.join(', ')}`);
  return v;
}

export function parseSeconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number of seconds >= 0');
  return n;
}

/**
 * Settings for a runtime started by the edge agent (it has an IPC channel to its parent): node errors and
 * the nodes with problems go to the agent for its health window, and the agent gets its own login next to
 * the operator's. `follow` subscribes the node health tracker to Node-RED's events before flows start.
 */
function childOfAgentSettings(o: { userDir: string; insecure: boolean; logLevel: string; tier: string }): { settings: Record<string, unknown>; follow: (RED: any) => void } {
  const send = (m: ChildMessage) => process.send?.(m);
  // The Node-RED API, once `follow` has it: names nodes inside subflow instances, absent from the flow config.
  let nodeRed: any;
  const health = new NodeHealthTracker({
    lookup: (id) => nodeRed?.nodes?.getNode?.(id) ?? undefined,
    onChange: (problems) => {
      try {
        send({ type: 'linesight-node-problems', problems, ts: Date.now() });
      } catch {
        // The parent is gone; nothing to tell.
      }
    },
  });
  // Log lines and health samples for the repository (the agent buffers and sends them).
  const telemetry = new RuntimeTelemetry({ sendLines: (lines) => send({ type: 'linesight-log-lines', lines }), lookup: (id) => nodeRed?.nodes?.getNode?.(id) ?? undefined });
  const telemetryLevel = (process.env[TELEMETRY_LOG_LEVEL_ENV] || 'info') as LogLevel;
  const intervalMs = Number(process.env[HEALTH_INTERVAL_ENV]) || 10_000;
  const sampler = setInterval(() => {
    try {
      send({ type: 'linesight-health-sample', sample: telemetry.sample() });
    } catch {
      // The parent is gone; nothing to tell.
    }
  }, intervalMs);
  sampler.unref();
  const settings: Record<string, unknown> = {
    logging: {
      console: { level: o.logLevel ?? 'info', metrics: false, audit: false },
      linesightHealth: healthLogger(send, (m) => health.log(m)),
      linesightTelemetry: telemetry.logger(telemetryLevel),
    },
  };
  const agentHash = process.env[AGENT_PASSWORD_HASH_ENV];
  if (!o.insecure && agentHash) {
    const operator = resolveAdminAuth(path.resolve(o.userDir));
    if (operator.generatedPassword) {
      console.log(`editor login for ${o.tier}: user "${operator.settings.users[0].username}", password "${operator.generatedPassword}" (shown once; stored hashed in ${operator.storedAt})`);
    }
    settings.adminAuth = { type: 'credentials', users: [...operator.settings.users, { username: AGENT_ADMIN_USER, password: agentHash, permissions: '*' }] };
  }
  // RED.events is Node-RED's public runtime event bus: 'node-status' carries every node.status() call.
  const follow = (RED: any) => {
    nodeRed = RED;
    RED.events.on('flows:starting', (e: { config?: { flows?: unknown[] } }) => {
      health.flowsStarting(e?.config);
      telemetry.flowsStarting(e?.config);
    });
    // Message hooks count what each node receives and sends (a counter each, no copy of the message).
    RED.hooks.add('onSend.linesightTelemetry', (events: unknown) => telemetry.sent(events as { source?: { id?: string } }[]));
    RED.hooks.add('onReceive.linesightTelemetry', (event: unknown) => telemetry.received(event as { destination?: { id?: string } }));
    RED.events.on('flows:started', () => health.flowsStarted());
    RED.events.on('flows:stopping', (e: FlowsStopping) => health.flowsStopping(e));
    RED.events.on('node-status', (e: { id?: string; status?: StatusLike }) => {
      if (typeof e?.id === 'string') {
        health.status(e.id, e.status);
        telemetry.status(e.id, e.status);
      }
    });
  };
  return { settings, follow };
}

interface AgentCliOptions {
  tier: Tier;
  port: number;
  host: string;
  userDir: string;
  insecure: boolean;
  logLevel: string;
  device?: string;
  repo?: string;
  token?: string;
  broker?: string;
  brokerUser?: string;
  pollInterval: number;
  healthWindow: number;
  repoKey?: string;
  initialHeapMib?: string;
  refuseNodeTypes?: string;
  statusGrace: number;
  healthInterval: number;
  telemetryLogLevel: string;
  telemetry: boolean;
}

/**
 * The fleet broker login: the URL's userinfo, else --broker-user / LINESIGHT_BROKER_USERNAME and
 * LINESIGHT_BROKER_PASSWORD (the environment keeps the password out of `ps`). With a password and no user
 * name the device id is the user name, which is what the shipped broker ACL expects.
 */
export function fleetBrokerLogin(deviceId: string, brokerUrl: string | undefined, user: string | undefined, env: NodeJS.ProcessEnv = process.env): { username?: string; password?: string } | undefined {
  if (!brokerUrl) return undefined;
  const fromUrl = splitUrlCredentials(brokerUrl);
  const password = fromUrl.password ?? (env.LINESIGHT_BROKER_PASSWORD || undefined);
  const username = fromUrl.username ?? user ?? (env.LINESIGHT_BROKER_USERNAME || (password !== undefined ? deviceId : undefined));
  return { ...(username !== undefined ? { username } : {}), ...(password !== undefined ? { password } : {}) };
}

async function runAgent(o: AgentCliOptions): Promise<void> {
  // The agent writes the last good flow, the pinned key and its runtime's boot flow: private by default.
  restrictProcessUmask();
  const token = o.token ?? process.env.LINESIGHT_DEVICE_TOKEN;
  const missing = [!o.device && '--device', !o.repo && '--repo', !token && '--token (or LINESIGHT_DEVICE_TOKEN)'].filter(Boolean);
  if (missing.length) throw new Error(`the edge agent needs ${missing.join(', ')}`);
  if (o.pollInterval === 0 && !o.broker) throw new Error('the edge agent needs --broker when --poll-interval is 0 (it would never learn its desired version)');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { EdgeAgent } = require('../../agent/agent') as typeof import('../../agent/agent');
  const agent = new EdgeAgent({
    deviceId: o.device!,
    tier: o.tier,
    repoUrl: o.repo!,
    token: token!,
    brokerUrl: o.broker ?? null,
    brokerLogin: fleetBrokerLogin(o.device!, o.broker, o.brokerUser),
    pollIntervalMs: o.pollInterval * 1000,
    healthWindowMs: o.healthWindow * 1000,
    statusGraceMs: o.statusGrace * 1000,
    refuseNodeTypes: parseTypeList(o.refuseNodeTypes ?? process.env.LINESIGHT_AGENT_REFUSE_NODE_TYPES ?? 'exec'),
    repoKeyPem: o.repoKey ? fs.readFileSync(o.repoKey, 'utf8') : undefined,
    runtime: { port: o.port, host: o.host, userDir: o.userDir, insecure: o.insecure, logLevel: o.logLevel, nodeFlags: runtimeNodeFlags(initialHeapMiB(o.initialHeapMib)) },
    telemetry: o.telemetry === false ? false : { intervalMs: o.healthInterval * 1000, logLevel: o.telemetryLogLevel },
    log: (l) => console.log(l),
  });
  await agent.start();
  console.log(`linesight agent for device ${o.device}: runtime ${o.tier} at ${agent.supervisor.url} (${agent.state}${agent.running ? ` ${agent.running}` : ''})`);
  const stop = () => {
    agent.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

export function register(program: Command): void {
  const cmd = program
    .command('runtime')
    .description('start a tier runtime: Node-RED 4.1 with the Linesight nodes and the editor')
    .requiredOption('--tier <tier>', 'line | factory | cloud', parseTier)
    .option('--port <port>', 'HTTP port for the editor and admin API', parsePort, 1880)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--user-dir <dir>', 'Node-RED user directory (flows, credentials, outbox)', '.linesight/runtime')
    .option('--insecure', 'serve the editor without login (demo on one machine only)', false)
    .option('--log-level <level>', 'Node-RED log level', 'info')
    .option('--initial-heap-mib <n>', `V8 initial heap in MiB: fewer full garbage collections under image load (0 = V8's default; env ${INITIAL_HEAP_ENV}; default ${DEFAULT_INITIAL_HEAP_MIB})`)
    .option('--device <id>', 'edge agent: follow this device\'s desired flow from the repository (supervises the runtime as a child process)')
    .option('--repo <url>', 'edge agent: flow repository URL, e.g. https://repo.example:8080')
    .option('--token <token>', 'edge agent: device token (prefer LINESIGHT_DEVICE_TOKEN: arguments are visible to other users)')
    .option('--broker <url>', 'edge agent: fleet MQTT broker for instant desired-state updates, e.g. mqtt://broker:1883 (password in LINESIGHT_BROKER_PASSWORD)')
    .option('--broker-user <name>', 'edge agent: fleet broker user name (env LINESIGHT_BROKER_USERNAME; default the device id when a password is set)')
    .option('--poll-interval <s>', 'edge agent: seconds between HTTP polls of the desired state (0 = MQTT only)', parseSeconds, 30)
    .option('--health-window <s>', 'edge agent: seconds a new flow must run without node errors, red node statuses or crashes', parseSeconds, 10)
    .option('--repo-key <file>', 'edge agent: pin the repository public key (PEM) instead of fetching it at first contact')
    .option('--refuse-node-types <list>', 'edge agent: node types this device never runs, even in a signed version; comma-separated, "none" for none (env LINESIGHT_AGENT_REFUSE_NODE_TYPES; default exec)')
    .option('--health-interval <s>', 'edge agent: seconds between health samples sent to the repository (CPU, memory, event-loop delay, per-node counts and status)', parseSeconds, 10)
    .option('--telemetry-log-level <level>', 'edge agent: the least severe runtime log level sent to the repository (fatal, error, warn, info, debug, trace)', parseLogLevel, 'info')
    .option('--no-telemetry', 'edge agent: send no log lines or health samples to the repository')
    .option('--status-grace <s>', 'edge agent: seconds a node may show a red status before it fails the health window or makes the device degraded', parseSeconds, 3)
    .action(async (o) => {
      if (o.device || o.repo || o.token) return runAgent(o as AgentCliOptions);
      const relaunched = followLauncher();
      const childOfAgent = !relaunched && typeof process.send === 'function';
      // An agent starts its runtime with the flags already; anyone else gets them by a relaunch.
      if (!childOfAgent && !relaunched) {
        const flags = runtimeNodeFlags(initialHeapMiB(o.initialHeapMib));
        if (needsRelaunch(flags)) return relaunch(flags);
      }
      const child = childOfAgent ? childOfAgentSettings(o) : undefined;
      const rt = await startRuntime({
        tier: o.tier,
        port: o.port,
        host: o.host,
        userDir: o.userDir,
        insecure: o.insecure,
        logLevel: o.logLevel,
        settings: child?.settings,
        beforeStart: child?.follow,
        say: (l) => console.log(l),
      });
      console.log(`linesight runtime ${rt.tier} ready at ${rt.url}`);
      const stop = () => {
        rt.close().then(() => process.exit(0), () => process.exit(1));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      if (childOfAgent) {
        process.send!({ type: 'linesight-ready', url: rt.url, port: rt.port } satisfies ChildMessage);
        // Without its agent nobody restarts or watches this runtime; the agent starts a new one.
        process.once('disconnect', stop);
      }
    });
  cmd
    .command('hash-password')
    .description('print a bcrypt hash for LINESIGHT_ADMIN_PASSWORD_HASH (reads the password from stdin)')
    .action(async () => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      const pw = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
      if (!pw) throw new Error('empty password on stdin');
      console.log(hashPassword(pw));
    });
}
