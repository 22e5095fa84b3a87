// The shipped production broker configuration (docker/mosquitto/mosquitto.production.conf and acl), run
// for real: a Mosquitto started by the test with those files (paths moved to a temp dir, TLS with a CA
// made now), the fleet accounts in a password file, and the per-runtime section `linesight flows broker-acl`
// prints for devices registered in a real repository. A device's credentials reach only its own fleet
// topics; the repository's reach every device.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { PACKAGE_ROOT } from '../../../runtime/paths';
import { fleetTopics } from '../../../contracts/fleet/protocol';
import { RepoClient } from '../../../runtime/repo/client';
import { probeFlow, probeTemplate } from '../../fixtures/agent/flows';
import { dropSchema, freePort, freshSchema, pgService } from '../../support/services';
import { tempDir } from '../../support/runtime-process';
import { sleep, waitFor } from '../../support/wait';

const MOSQUITTO = '/usr/sbin/mosquitto';
const CONF = path.join(PACKAGE_ROOT, 'docker', 'mosquitto', 'mosquitto.production.conf');
const ACL = path.join(PACKAGE_ROOT, 'docker', 'mosquitto', 'acl');

const USERS: Record<string, string> = {
  'line-a': 'secret-of-line-a',
  'line-b': 'secret-of-line-b',
  'linesight-repo': 'secret-of-the-repository',
  'line-1': 'secret-of-line-1',
  'factory-1': 'secret-of-factory-1',
  'cloud-worker-1': 'secret-of-cloud-worker-1',
};

interface Proc {
  proc: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

function linesight(args: string[], env: Record<string, string>): Proc {
  const proc = spawn(process.execPath, [path.join(PACKAGE_ROOT, 'bin', 'linesight.js'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    proc,
    output: () => out,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** The shipped configuration with its /mosquitto paths moved into `dir` and the TLS listener on `port`. */
function shippedConfig(dir: string, port: number): string {
  let conf = fs.readFileSync(CONF, 'utf8');
  const must = (re: RegExp, by: string) => {
    assert.match(conf, re, `the shipped configuration has ${re}`);
    conf = conf.replace(re, by);
  };
  must(/^listener 8883$/m, `listener ${port} 127.0.0.1`);
  must(/^log_dest stdout$/m, `log_dest file ${path.join(dir, 'mosquitto.log')}`);
  assert.match(conf, /^allow_anonymous false$/m);
  assert.match(conf, /^password_file \/mosquitto\/config\/passwords$/m);
  assert.match(conf, /^acl_file \/mosquitto\/config\/acl$/m);
  conf = conf.replaceAll('/mosquitto/config/', `${dir}/config/`).replaceAll('/mosquitto/data/', `${dir}/data/`);
  // Started as root, Mosquitto would drop to the "mosquitto" user, who cannot read this private temp dir.
  return `${conf}\nuser ${os.userInfo().username}\n`;
}

/** The broker's folder: certificates made now (CA + server for 127.0.0.1) and the password file. */
function prepareBrokerDir(): { dir: string; caFile: string } {
  const dir = tempDir('ls-acl-');
  const certs = path.join(dir, 'config', 'certs');
  fs.mkdirSync(certs, { recursive: true });
  fs.mkdirSync(path.join(dir, 'data'));
  const ssl = (...a: string[]) => execFileSync('/usr/bin/openssl', a, { stdio: 'ignore' });
  fs.writeFileSync(path.join(certs, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=linesight-acl-test-ca', '-keyout', path.join(certs, 'ca.key'), '-out', path.join(certs, 'ca.pem'));
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', path.join(certs, 'server.key'), '-out', path.join(certs, 'server.csr'));
  ssl('x509', '-req', '-in', path.join(certs, 'server.csr'), '-CA', path.join(certs, 'ca.pem'), '-CAkey', path.join(certs, 'ca.key'), '-CAcreateserial', '-days', '1', '-extfile', path.join(certs, 'ext.cnf'), '-out', path.join(certs, 'server.pem'));
  // The password file, made the way docker/README.md says.
  const passwords = path.join(dir, 'config', 'passwords');
  fs.writeFileSync(passwords, '', { mode: 0o600 });
  for (const [u, p] of Object.entries(USERS)) execFileSync('/usr/bin/mosquitto_passwd', ['-b', passwords, u, p]);
  return { dir, caFile: path.join(certs, 'ca.pem') };
}

/** What `linesight flows broker-acl` prints for the devices registered in the repository. */
async function brokerAclFromCli(repoUrl: string, token: string): Promise<string> {
  const cli = linesight(['flows', '--url', repoUrl, 'broker-acl'], { LINESIGHT_REPO_TOKEN: token });
  const status = await new Promise<number | null>((r) => cli.proc.once('exit', r));
  assert.equal(status, 0, cli.output());
  assert.match(cli.output(), /^user line-1$/m);
  return cli.output();
}

async function startMosquitto(dir: string, port: number, aclText: string): Promise<Broker> {
  // The shipped ACL with the section `linesight flows broker-acl` printed appended.
  fs.writeFileSync(path.join(dir, 'config', 'acl'), `${fs.readFileSync(ACL, 'utf8')}\n${aclText}`, { mode: 0o600 });
  const confFile = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(confFile, shippedConfig(dir, port));
  const proc: ChildProcess = spawn(MOSQUITTO, ['-c', confFile], { stdio: 'ignore' });
  const log = () => {
    try {
      return fs.readFileSync(path.join(dir, 'mosquitto.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const listening = () =>
    new Promise<boolean>((resolve) => {
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => (sock.destroy(), resolve(true)));
      sock.once('error', () => resolve(false));
    });
  await waitFor(`the shipped Mosquitto configuration on port ${port}`, async () => {
    if (proc.exitCode !== null) throw new Error(`mosquitto exited (${proc.exitCode}):\n${log()}`);
    return listening();
  }, 15_000, 50);
  return {
    port,
    ca: fs.readFileSync(path.join(dir, 'config', 'certs', 'ca.pem')),
    log,
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

interface Broker {
  port: number;
  ca: Buffer;
  log(): string;
  stop(): Promise<void>;
}

interface Received {
  topic: string;
  payload: string;
}

describe('broker for production: shipped Mosquitto password file and ACL (real Mosquitto, repository, agent)', function () {
  this.timeout(120_000);
  let broker: Broker;
  let repo: Proc | undefined;
  let agent: Proc | undefined;
  let admin: RepoClient;
  let repoUrl: string;
  let caFile: string;
  let pgUrl: string;
  let schema: string | undefined;
  const devices: Record<string, string> = {};
  const clients: MqttClient[] = [];

  before(async function () {
    if (!fs.existsSync(MOSQUITTO)) this.skip();
    const prepared = prepareBrokerDir();
    caFile = prepared.caFile;
    const brokerPort = await freePort();
    // The repository, a real `linesight repo` process, logs in as linesight-repo over TLS (the broker
    // comes up after it: it keeps retrying).
    pgUrl = (await pgService()).url;
    schema = await freshSchema(pgUrl, 'acl');
    const dataDir = path.join(tempDir('ls-acl-repo-'), 'data');
    const repoPort = await freePort();
    repo = linesight(['repo', '--port', String(repoPort), '--data-dir', dataDir, '--db', pgUrl, '--schema', schema, '--broker', `mqtts://127.0.0.1:${brokerPort}`], {
      LINESIGHT_REPO_BROKER_USERNAME: 'linesight-repo',
      LINESIGHT_REPO_BROKER_PASSWORD: USERS['linesight-repo'],
      NODE_EXTRA_CA_CERTS: caFile,
    });
    await waitFor('the repository to start', () => / ready at /.test(repo!.output()), 60_000, 100);
    repoUrl = `http://127.0.0.1:${repoPort}`;
    const token = fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim();
    admin = new RepoClient({ url: repoUrl, token });
    const register = async (d: Parameters<RepoClient['registerDevice']>[0]) => (devices[d.id] = (await admin.registerDevice(d)).token);
    await register({ id: 'line-a', tier: 'line', parameters: { SITE: 'plant9', LINE: 'a', LINE_ID: 'A' } });
    await register({ id: 'line-b', tier: 'line', parameters: { SITE: 'plant9', LINE: 'b', LINE_ID: 'B' } });
    await register({ id: 'line-1', tier: 'line', parameters: { SITE: 'plant1', LINE: 'line1' } });
    await register({ id: 'factory-1', tier: 'factory', labels: { site: 'plant1' } });
    await register({ id: 'cloud-worker-1', tier: 'cloud' });
    broker = await startMosquitto(prepared.dir, brokerPort, await brokerAclFromCli(repoUrl, token));
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
    await agent?.stop();
    await repo?.stop();
    await broker?.stop();
    if (schema) await dropSchema(pgUrl, schema).catch(() => {});
  });

  async function connect(username: string | undefined, password: string | undefined, protocolVersion: 4 | 5 = 4): Promise<{ client: MqttClient; got: Received[] }> {
    const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${broker.port}`, {
      ca: broker.ca,
      username,
      password,
      protocolVersion,
      reconnectPeriod: 0,
      connectTimeout: 5_000,
      clientId: `acl-test-${username ?? 'anon'}-${Math.random().toString(16).slice(2, 8)}`,
    });
    clients.push(client);
    const got: Received[] = [];
    client.on('message', (topic, payload) => got.push({ topic, payload: payload.toString() }));
    return { client, got };
  }
  const as = (user: string, v: 4 | 5 = 4) => connect(user, USERS[user], v);

  it('refuses a wrong password, an unknown account and anonymous clients', async () => {
    await assert.rejects(connect('line-a', 'secret-of-line-b'), /not authori[sz]ed|bad user ?name or password/i);
    await assert.rejects(connect('line-z', 'whatever'), /not authori[sz]ed|bad user ?name or password/i);
    await assert.rejects(connect(undefined, undefined), /not authori[sz]ed|bad user ?name or password/i);
    await assert.rejects(connect('line-a', 'secret-of-line-b', 5), /not authori[sz]ed|bad user ?name or password/i);
  });

  it('a device reads its own desired state (retained, from the repository) and no other device\'s, wildcards included', async () => {
    const repo = await as('linesight-repo');
    await repo.client.publishAsync(fleetTopics.desired('line-a'), 'desired-for-a', { qos: 1, retain: true });
    await repo.client.publishAsync(fleetTopics.desired('line-b'), 'desired-for-b', { qos: 1, retain: true });
    const a = await as('line-a');
    await a.client.subscribeAsync(fleetTopics.desired('line-b'), { qos: 1 });
    await a.client.subscribeAsync('linesight/fleet/+/desired', { qos: 1 });
    await a.client.subscribeAsync('linesight/fleet/#', { qos: 1 });
    await a.client.subscribeAsync('#', { qos: 1 });
    // A marker after the retained deliveries: once it arrives, anything B's topics would have sent has.
    await repo.client.publishAsync(fleetTopics.desired('line-a'), 'marker-for-a', { qos: 1 });
    await repo.client.publishAsync(fleetTopics.desired('line-b'), 'live-for-b', { qos: 1 });
    await waitFor('the marker at A', () => a.got.some((m) => m.payload === 'marker-for-a'), 10_000);
    await sleep(300);
    assert.ok(a.got.some((m) => m.payload === 'desired-for-a'), 'A gets its own retained desired state');
    assert.deepEqual([...new Set(a.got.map((m) => m.topic))], [fleetTopics.desired('line-a')], `A saw only its own desired topic: ${JSON.stringify(a.got)}`);
  });

  it('a device cannot publish another device\'s desired or state topics: the broker drops it', async () => {
    const repo = await as('linesight-repo');
    await repo.client.subscribeAsync('linesight/fleet/+/state', { qos: 1 });
    const b = await as('line-b');
    await b.client.subscribeAsync(fleetTopics.desired('line-b'), { qos: 1 });
    const a = await as('line-a');
    // MQTT 3.1.1 has no way to say "refused": the broker acknowledges and drops.
    await a.client.publishAsync(fleetTopics.desired('line-b'), 'forged-desired-by-a', { qos: 1, retain: true });
    await a.client.publishAsync(fleetTopics.state('line-b'), 'forged-state-by-a', { qos: 1, retain: true });
    // A may not write its own desired state either: only the repository sets what a device should run.
    await a.client.publishAsync(fleetTopics.desired('line-a'), 'self-desired-by-a', { qos: 1, retain: true });
    // MQTT 5 says why.
    const a5 = await as('line-a', 5);
    await assert.rejects(a5.client.publishAsync(fleetTopics.desired('line-b'), 'forged-v5', { qos: 1 }), /not authori[sz]ed|135/i);
    // Markers through the legitimate paths, after the forged ones.
    await repo.client.publishAsync(fleetTopics.desired('line-b'), 'real-desired-for-b', { qos: 1 });
    await b.client.publishAsync(fleetTopics.state('line-b'), 'real-state-of-b', { qos: 1 });
    await waitFor('B\'s real desired state at B', () => b.got.some((m) => m.payload === 'real-desired-for-b'), 10_000);
    await waitFor('B\'s real state at the repository', () => repo.got.some((m) => m.payload === 'real-state-of-b'), 10_000);
    await sleep(300);
    assert.deepEqual(b.got.filter((m) => /forged|self/.test(m.payload)), [], 'B never sees what A forged');
    assert.deepEqual(repo.got.filter((m) => /forged|self/.test(m.payload)), [], 'the repository never sees a state A forged for B');
    // Nothing forged was retained either: a fresh subscriber of B's desired gets the repository's copy.
    const b2 = await as('line-b');
    await b2.client.subscribeAsync(fleetTopics.desired('line-b'), { qos: 1 });
    await waitFor('the retained desired state', () => b2.got.length > 0, 10_000);
    assert.ok(!b2.got.some((m) => /forged/.test(m.payload)), JSON.stringify(b2.got));
  });

  it('a device writes its own state, and the repository reads it', async () => {
    const repo = await as('linesight-repo');
    await repo.client.subscribeAsync(fleetTopics.state('line-a'), { qos: 1 });
    const a = await as('line-a');
    await a.client.publishAsync(fleetTopics.state('line-a'), 'state-of-a', { qos: 1 });
    await waitFor('A\'s state at the repository', () => repo.got.some((m) => m.payload === 'state-of-a'), 10_000);
    // A device cannot read states (its own or others').
    await a.client.subscribeAsync('linesight/fleet/+/state', { qos: 1 });
    await a.client.publishAsync(fleetTopics.state('line-a'), 'state-of-a-again', { qos: 1 });
    await waitFor('the second state at the repository', () => repo.got.some((m) => m.payload === 'state-of-a-again'), 10_000);
    await sleep(300);
    assert.deepEqual(a.got.filter((m) => m.topic.endsWith('/state')), []);
  });

  it('line data: a line writes only its own line\'s topics, its factory reads them, a cloud worker reads them through a shared subscription', async () => {
    const factory = await as('factory-1');
    await factory.client.subscribeAsync('linesight/plant1/+/+', { qos: 1 });
    const cloud = await as('cloud-worker-1', 5);
    // A wide filter: the broker still delivers only what the account may read (never fleet topics).
    await cloud.client.subscribeAsync('$share/history/linesight/#', { qos: 1 });
    const line = await as('line-1');
    await line.client.publishAsync('linesight/plant1/line2/inspection', 'not-my-line', { qos: 1 });
    await line.client.publishAsync('linesight/plant2/line1/inspection', 'not-my-site', { qos: 1 });
    await line.client.publishAsync(fleetTopics.desired('line-a'), 'line-forging-fleet', { qos: 1 });
    await line.client.publishAsync('linesight/plant1/line1/inspection', 'my-inspection', { qos: 1 });
    await waitFor('the inspection at the factory', () => factory.got.some((m) => m.payload === 'my-inspection'), 10_000);
    await waitFor('the inspection at the cloud worker', () => cloud.got.some((m) => m.payload === 'my-inspection'), 10_000);
    await sleep(300);
    assert.deepEqual(factory.got.map((m) => m.payload), ['my-inspection']);
    // The worker is a device too: besides the data it may read its own desired state, and nothing else of the fleet.
    assert.deepEqual(cloud.got.filter((m) => !m.topic.startsWith('linesight/fleet/')).map((m) => m.payload), ['my-inspection']);
    assert.deepEqual([...new Set(cloud.got.filter((m) => m.topic.startsWith('linesight/fleet/')).map((m) => m.topic))].filter((t) => t !== fleetTopics.desired('cloud-worker-1')), []);
    // Another plant's line cannot read plant1's data.
    const other = await as('line-a');
    await other.client.subscribeAsync('linesight/plant1/#', { qos: 1 });
    await line.client.publishAsync('linesight/plant1/line1/tags', 'tags-of-line1', { qos: 1 });
    await waitFor('the tags at the factory', () => factory.got.some((m) => m.payload === 'tags-of-line1'), 10_000);
    await sleep(300);
    assert.deepEqual(other.got, []);
  });

  it('a real repository and a real agent work through it: MQTT alone brings the desired version, the state goes back', async () => {
    await waitFor('the repository on the broker', () => /notifications: connected to mqtts:\/\/127\.0\.0\.1:\d+/.test(repo!.output()), 30_000, 100);
    const watcher = await as('linesight-repo');
    await watcher.client.subscribeAsync(fleetTopics.state('line-a'), { qos: 1 });
    const port = await freePort();
    // --poll-interval 0: the agent learns its desired version from the broker only.
    agent = linesight(
      ['runtime', '--tier', 'line', '--port', String(port), '--user-dir', path.join(tempDir('ls-acl-agent-'), 'user'), '--insecure',
        '--device', 'line-a', '--repo', repoUrl, '--broker', `mqtts://127.0.0.1:${broker.port}`, '--poll-interval', '0', '--health-window', '1'],
      { LINESIGHT_DEVICE_TOKEN: devices['line-a'], LINESIGHT_BROKER_PASSWORD: USERS['line-a'], NODE_EXTRA_CA_CERTS: caFile },
    );
    await waitFor('the agent on the broker', () => /fleet broker connected \(mqtts:\/\/127\.0\.0\.1:\d+ as line-a\)/.test(agent!.output()), 60_000, 200);
    await admin.createTemplate(probeTemplate);
    await admin.publishVersion(probeTemplate.slug, { version: '1.0.0', flow: probeFlow('v1'), changelog: 'first' });
    await admin.createDeployment({ template: probeTemplate.slug, version: '1.0.0', target: { ids: ['line-a'] } });
    await waitFor('the desired version by MQTT', () => /desired state via mqtt: agent-probe@1\.0\.0/.test(agent!.output()), 60_000, 200);
    await waitFor('running', () => /\[agent\] running/.test(agent!.output()), 90_000, 200).catch((err) => {
      throw new Error(`${err.message}\n${agent!.output()}`);
    });
    const probe = (await (await fetch(`http://127.0.0.1:${port}/probe`)).json()) as { version: string; line: string };
    assert.deepEqual(probe, { version: 'v1', line: 'A' });
    const state = (payload: string) => {
      try {
        return (JSON.parse(payload) as { state?: string }).state;
      } catch {
        return undefined;
      }
    };
    await waitFor('the running state on the broker', () => watcher.got.some((m) => state(m.payload) === 'running'), 20_000);
    for (const secret of Object.values(USERS)) {
      assert.ok(!agent.output().includes(secret), 'the agent log has no broker password');
      assert.ok(!repo!.output().includes(secret), 'the repository log has no broker password');
    }
  });
});
