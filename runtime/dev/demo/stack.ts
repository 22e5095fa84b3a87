// The whole Linesight stack on one machine (`linesight demo`, `npm start`): embedded MQTT brokers for the
// factory and the cloud, embedded PostgreSQL (PGlite) for the repository and the two histories, the flow
// repository, three tier runtimes each supervised by its edge agent, a simulated PLC and camera. The three
// templates are published and deployed through the repository, exactly as on real equipment.
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ModbusRTU = require('modbus-serial');
import { startEmbeddedBroker, type EmbeddedBroker } from '../../embedded/broker';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../embedded/postgres';
import { createRepoServer, type RepoServer } from '../../repo/server';
import { RepoClient, type DeploymentView } from '../../repo/client';
import { defaultParameters } from '../../../contracts/fleet/templates';
import type { FlowTemplate } from '../../repo/templates';
import { StatusReport, type DeploymentLine } from './status-report';
import { loadTemplates, publishShippedTemplate, screenPath } from './templates';
import { publishShippedModel, shippedModelFiles } from './models';
import { startChild, type Child } from './children';
import { availableNodeTypes } from '../../repo/node-types';
import type { Tier } from '../../tier/tier-runtime';
import { freePort } from '../../free-port';
import { ensurePrivateDir } from '../../../lib/private-files';
import { redactUrl } from '../../../lib/redact';

export interface DemoOptions {
  /** Everything the demo keeps (repository, databases, runtimes, logs); wiped at start. */
  dataDir: string;
  /** Line editor port; factory +1, cloud +2, repository +10. 0 = free ports everywhere (tests). */
  port: number;
  /** Simulated camera: inspections per second and the share with drawn defects. */
  cameraRate?: number;
  defectRate?: number;
  say?: (line: string) => void;
}

function deploymentLine(v: DeploymentView): DeploymentLine {
  return { id: v.id, template: v.template, version: v.version, state: v.state, devices: v.devices.map((d) => ({ deviceId: d.deviceId, state: d.state, reasons: d.reasons ?? [] })) };
}

export interface DemoStatus {
  historyRows: number;
  alarmLamp: boolean | null;
  alarmLampSeenOn: boolean;
  devices: Array<{ id: string; state: string; running: string | null; reasons: string[] }>;
  /** The most recent deployments with each device's state, newest first. */
  deployments: DeploymentLine[];
}

export interface Demo {
  editors: Partial<Record<Tier, string>>;
  /** The second line, whose camera sends images only: vision-detect runs the model the deployment names. */
  visionLine?: { device: string; editor: string; cameraPort: number; model: string };
  /** The line screen (Dashboard 2.0) of the line runtime, when the line tier runs. */
  lineScreen?: string;
  repository: { url: string; adminTokenFile: string | undefined };
  cloudHistoryUrl: string;
  factoryHistoryUrl: string;
  plc: { host: string; port: number };
  cameraPort: number;
  missing: string[];
  status(): Promise<DemoStatus>;
  stop(): Promise<void>;
}

const DEVICES: Record<Tier, string> = { line: 'line-1', factory: 'factory-1', cloud: 'cloud-1' };
const SLUG: Record<Tier, string> = { line: 'line-inspection', factory: 'factory-aggregation', cloud: 'cloud-history' };
/** The vision-AI loop: a second line device on vision-inspection with the shipped defect-detector 1.0.0. */
const VISION = { device: 'line-2', slug: 'vision-inspection', model: 'defect-detector', version: '1.0.0' };

function simulatorAvailable(name: string): boolean {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(`../simulators/${name}`);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return false;
    throw err;
  }
}

export async function startDemo(opts: DemoOptions): Promise<Demo> {
  const say = opts.say ?? (() => {});
  const dataDir = path.resolve(opts.dataDir);
  fs.rmSync(dataDir, { recursive: true, force: true });
  // Keys, tokens, editor logins and logs of every part of the demo live here: private to this account.
  ensurePrivateDir(dataDir);
  const logDir = path.join(dataDir, 'logs');
  const port = (offset: number) => (opts.port === 0 ? freePort() : Promise.resolve(opts.port + offset));

  const cleanups: Array<() => Promise<void>> = [];
  const children: Child[] = [];
  const stopAll = async () => {
    // An agent needs up to its health window + 5 s, then 10 s to escalate to SIGKILL on a stuck Node-RED:
    // killing the agent sooner would orphan its runtime.
    await Promise.allSettled(children.map((c) => c.stop(c.name.endsWith('-runtime') ? 45_000 : 10_000)));
    for (const c of cleanups.reverse()) await c().catch(() => {});
  };
  try {
    // Two brokers, as on a real site: lines publish to the factory's, the factory forwards to the cloud's.
    // aedes 1.x speaks MQTT 3.1.1 only, so every demo connection uses protocol version 4.
    const factoryBroker: EmbeddedBroker = await startEmbeddedBroker();
    cleanups.push(() => factoryBroker.stop());
    const cloudBroker: EmbeddedBroker = await startEmbeddedBroker();
    cleanups.push(() => cloudBroker.stop());
    // The histories live on disk in the demo's data folder (wiped at each start), not in this process's
    // memory: images are stored inline, so an in-memory history grew the demo by ~700 MiB an hour.
    const historiesDir = path.join(dataDir, 'histories');
    const factoryDb: EmbeddedPostgres = await startEmbeddedPostgres({ dataDir: path.join(historiesDir, 'factory') });
    cleanups.push(() => factoryDb.stop());
    const cloudDb: EmbeddedPostgres = await startEmbeddedPostgres({ dataDir: path.join(historiesDir, 'cloud') });
    cleanups.push(() => cloudDb.stop());
    say(`brokers: factory ${redactUrl(factoryBroker.url)}, cloud ${redactUrl(cloudBroker.url)} (embedded aedes, MQTT 3.1.1); histories: embedded PGlite in ${historiesDir}`);

    // The console's Quality pages read the cloud tier's history. Embedded PGlite has one user, who can write:
    // allowed here, refused in production (linesight repo --history-db as a read-only role).
    const repo: RepoServer = await createRepoServer({
      dataDir: path.join(dataDir, 'repo'),
      port: await port(10),
      broker: cloudBroker.url,
      brokerProtocolVersion: 4,
      history: { db: cloudDb.url, schema: 'cloud', allowWritableRole: true },
      log: (l) => say(`repository: ${l}`),
    });
    cleanups.push(() => repo.close());
    const client = new RepoClient({ url: repo.url, token: repo.adminToken });

    const missing: string[] = [];
    // A template whose nodes this build lacks cannot be published; its tier is left out and named.
    const installed = availableNodeTypes();
    const templates = new Map<string, FlowTemplate>();
    for (const t of loadTemplates()) {
      const lacking = t.manifest.requiredNodes.filter((n) => !installed.has(n));
      if (lacking.length) {
        missing.push(`${t.manifest.slug} needs ${lacking.join(', ')}, not in this build: the ${t.manifest.tier} tier is not started`);
        continue;
      }
      templates.set(t.manifest.slug, t);
      await publishShippedTemplate(client, t, 'linesight demo');
      say(`published ${t.manifest.slug}@${t.manifest.version}`);
    }

    // The model the vision line runs, published as a user would (`linesight models publish`); a new version
    // is published and canaried by hand (README: "The vision-AI loop on the demo").
    const vision = templates.has(VISION.slug) && shippedModelFiles(VISION.model, VISION.version) !== undefined;
    if (templates.has(VISION.slug) && !vision) {
      templates.delete(VISION.slug);
      missing.push(`models/${VISION.model}/${VISION.version} is not in this build: the vision line (${VISION.device}) is not started`);
    }
    if (vision) {
      await publishShippedModel(client, VISION.model, VISION.version);
      say(`published model ${VISION.model}@${VISION.version}`);
    }

    const plc = { host: '127.0.0.1', port: await freePort() };
    const cameraPort = await freePort();
    const visionCameraPort = await freePort();
    const withDefaults = (slug: string, values: Record<string, string | number | boolean>) => ({ ...(templates.has(slug) ? defaultParameters(templates.get(slug)!.manifest) : {}), ...values });
    const parameters: Record<Tier, Record<string, string | number | boolean>> = {
      line: withDefaults(SLUG.line, { SITE: 'plant1', LINE: 'line1', CAMERA_PORT: cameraPort, PLC_HOST: plc.host, PLC_PORT: plc.port, PLC_UNIT: 1, UPLINK_URL: factoryBroker.url, UPLINK_MQTT: 4 }),
      factory: withDefaults(SLUG.factory, { SITE: 'plant1', BROKER_URL: factoryBroker.url, BROKER_MQTT: 4, DB_URL: factoryDb.url, DB_SCHEMA: 'factory', CLOUD_URL: cloudBroker.url, CLOUD_MQTT: 4 }),
      // aedes 1.x has no shared subscriptions: one worker, no group.
      cloud: withDefaults(SLUG.cloud, { BROKER_URL: cloudBroker.url, BROKER_MQTT: 4, SHARE_GROUP: '', DB_URL: cloudDb.url, DB_SCHEMA: 'cloud' }),
    };
    const visionParameters = withDefaults(VISION.slug, { SITE: 'plant1', LINE: 'line2', CAMERA_PORT: visionCameraPort, PLC_HOST: plc.host, PLC_PORT: plc.port, PLC_UNIT: 1, UPLINK_URL: factoryBroker.url, UPLINK_MQTT: 4 });

    if (simulatorAvailable('plc')) {
      const sim = startChild('plc-simulator', ['simulate', 'plc', '--host', plc.host, '--port', String(plc.port)], { logDir });
      children.push(sim);
      await sim.waitFor(/^ready$/, 60_000);
      say(`simulated PLC: Modbus TCP ${plc.host}:${plc.port} (alarm lamp = coil 0, diverter = coil 2)`);
    } else missing.push('`linesight simulate plc` (runtime/dev/simulators/plc.ts) is not in this build: no PLC, plc-read/plc-write retry');

    const tiers = (['line', 'factory', 'cloud'] as Tier[]).filter((t) => templates.has(SLUG[t]));
    const editors: Partial<Record<Tier, string>> = {};
    const editorPorts: Record<Tier, number> = { line: await port(0), factory: await port(1), cloud: await port(2) };
    // One runtime per device: the three tiers, and the vision line beside line-1.
    const runtimes = tiers.map((tier) => ({ id: DEVICES[tier], tier, name: `${tier}-runtime`, slug: SLUG[tier], parameters: parameters[tier], port: editorPorts[tier], userDir: path.join(dataDir, tier) }));
    if (vision) runtimes.push({ id: VISION.device, tier: 'line', name: 'vision-line-runtime', slug: VISION.slug, parameters: visionParameters, port: await port(3), userDir: path.join(dataDir, VISION.device) });
    for (const { id, tier, name, parameters: values, port: editorPort, userDir } of runtimes) {
      const existing = (await client.listDevices()).find((d) => d.id === id);
      const token = existing ? (await client.rotateDeviceToken(id)).token : (await client.registerDevice({ id, tier, labels: { site: 'plant1', demo: 'true' }, parameters: values, pollIntervalSeconds: 5 })).token;
      const child = startChild(name, [
        'runtime', '--tier', tier, '--port', String(editorPort), '--user-dir', userDir, '--insecure', '--log-level', 'warn',
        '--device', id, '--repo', repo.url, '--broker', cloudBroker.url, '--poll-interval', '5', '--health-window', '5',
      ], {
        logDir,
        // The editor's flow-repository sidebar reaches the repository through its runtime with this token.
        env: { LINESIGHT_DEVICE_TOKEN: token, LINESIGHT_REPOSITORY_URL: repo.url, LINESIGHT_REPOSITORY_TOKEN: repo.adminToken ?? '' },
      });
      children.push(child);
      if (id === DEVICES[tier]) editors[tier] = `http://127.0.0.1:${editorPort}/`;
    }
    await Promise.all(runtimes.map((r) => children.find((c) => c.name === r.name)!.waitFor(/linesight agent for device .*: runtime \S+ at /, 120_000)));
    say('runtimes started, each supervised by its edge agent');

    // Deploy through the repository: the agents pick their versions up by MQTT (and polling).
    const deployments: DeploymentView[] = [];
    for (const r of runtimes) {
      const t = templates.get(r.slug)!;
      deployments.push(await client.createDeployment({ template: t.manifest.slug, version: t.manifest.version, target: { ids: [r.id] }, strategy: 'all' }));
    }
    const deadline = Date.now() + 180_000;
    // Each deployment's progress as events while the demo waits for it.
    const progress = new StatusReport();
    for (;;) {
      const views = await Promise.all(deployments.map((d) => client.getDeployment(d.id)));
      for (const line of progress.deploymentEvents(views.map(deploymentLine))) say(line);
      const states = views.flatMap((v) => v.devices.map((d) => `${d.deviceId} ${d.state}`));
      if (views.every((v) => v.devices.every((d) => d.state === 'running'))) break;
      const failed = views.flatMap((v) => v.devices.filter((d) => d.state === 'failed' || d.state === 'rolled back'));
      if (failed.length) throw new Error(`deployment failed: ${failed.map((f) => `${f.deviceId}: ${f.reasons.join('; ')}`).join(' | ')}`);
      if (Date.now() > deadline) throw new Error(`deployments did not reach running within 3 minutes: ${states.join(', ')}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    say(`deployed through the repository: ${runtimes.map((r) => `${r.id} runs ${r.slug}`).join(', ')}${vision ? ` (with model ${VISION.model}@${VISION.version})` : ''}`);

    if (simulatorAvailable('camera')) {
      const cam = startChild('camera-simulator', ['simulate', 'camera', '--target', `127.0.0.1:${cameraPort}`, '--rate', String(opts.cameraRate ?? 2), '--size', '640x400', '--defect-rate', String(opts.defectRate ?? 0.5)], { logDir });
      children.push(cam);
      say(`simulated camera: ${opts.cameraRate ?? 2} inspections/s to camera-intake on 127.0.0.1:${cameraPort}`);
      if (vision) {
        // One image a second is enough to see the model's verdicts and keeps ONNX Runtime light on a small machine.
        const visionCam = startChild('vision-camera-simulator', ['simulate', 'camera', '--images-only', '--target', `127.0.0.1:${visionCameraPort}`, '--rate', '1', '--size', '640x400', '--defect-rate', String(opts.defectRate ?? 0.5), '--camera-id', 'vision-cam'], { logDir });
        children.push(visionCam);
        say(`simulated camera (images only): 1 image/s to ${VISION.device}'s camera-intake on 127.0.0.1:${visionCameraPort}; vision-detect finds the defects`);
      }
    } else missing.push('`linesight simulate camera` (runtime/dev/simulators/camera.ts) is not in this build: no inspections arrive');

    // Watching the result the way a user would check it: rows in the cloud history, the alarm coil.
    const modbus = new ModbusRTU();
    let alarmSeenOn = false;
    let lamp: boolean | null = null;
    const poll = setInterval(async () => {
      try {
        if (!modbus.isOpen) await modbus.connectTCP(plc.host, { port: plc.port });
        modbus.setTimeout(1000);
        lamp = Boolean((await modbus.readCoils(0, 1)).data[0]);
        if (lamp) alarmSeenOn = true;
      } catch {
        lamp = null;
      }
    }, 250);
    cleanups.push(async () => {
      clearInterval(poll);
      await new Promise<void>((r) => (modbus.isOpen ? modbus.close(() => r()) : r()));
    });

    const screen = templates.has(SLUG.line) ? screenPath(templates.get(SLUG.line)!) : undefined;
    return {
      editors,
      lineScreen: editors.line && screen ? new URL(screen, editors.line).href : undefined,
      visionLine: vision ? { device: VISION.device, editor: `http://127.0.0.1:${runtimes.find((r) => r.id === VISION.device)!.port}/`, cameraPort: visionCameraPort, model: `${VISION.model}@${VISION.version}` } : undefined,
      repository: { url: repo.url, adminTokenFile: repo.adminTokenFile },
      cloudHistoryUrl: cloudDb.url,
      factoryHistoryUrl: factoryDb.url,
      plc,
      cameraPort,
      missing,
      async status() {
        let historyRows = 0;
        const pg = new Client({ connectionString: cloudDb.url });
        try {
          if (!templates.has(SLUG.cloud)) throw new Error('no cloud tier');
          await pg.connect();
          historyRows = Number((await pg.query('select count(*)::int as n from cloud.inspections')).rows[0].n);
        } catch {
          historyRows = 0;
        } finally {
          await pg.end().catch(() => {});
        }
        const devices = (await client.listDevices()).map((d) => ({ id: d.id, state: d.state, running: d.running, reasons: d.reasons ?? [] }));
        const recent = (await client.listDeployments()).slice(0, 5);
        const deployments = (await Promise.all(recent.map((d) => client.getDeployment(d.id)))).map(deploymentLine);
        return { historyRows, alarmLamp: lamp, alarmLampSeenOn: alarmSeenOn, devices, deployments };
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
