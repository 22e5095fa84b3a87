// Credentials never reach a log line or a status text: the real repository (`linesight repo`), a real edge
// agent (`linesight runtime --device …`), the `linesight flows` CLI and nodes in a real Node-RED runtime,
// given a broker that requires a password (a private Mosquitto) and a PostgreSQL URL with a password.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../../runtime/paths';
import { RepoClient } from '../../../runtime/repo/client';
import { hasMosquitto, startPrivateMosquitto, type PrivateMosquitto } from '../cloud-bridge/private-mosquitto';
import { startRuntimeProcess, tempDir, type RuntimeProcess } from '../../support/runtime-process';
import { dropSchema, freePort, freshSchema, pgService } from '../../support/services';
import { waitFor } from '../../support/wait';

const REPO_BROKER_SECRET = 'Repo-Broker-Secret-4711';
const DEVICE_BROKER_SECRET = 'Device-Broker-Secret-0815';
const PG_SECRET = 'Pg-Url-Secret-1234';
const CLI_SECRET = 'Cli-Url-Secret-9999';
const NODE_SECRET = 'Node-Url-Secret-2468';
const ALL_SECRETS = [REPO_BROKER_SECRET, DEVICE_BROKER_SECRET, PG_SECRET, CLI_SECRET, NODE_SECRET];

interface Proc {
  proc: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

function linesight(args: string[], env: Record<string, string> = {}): Proc {
  const proc = spawn(process.execPath, [path.join(PACKAGE_ROOT, 'bin', 'linesight.js'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  return {
    proc,
    output: () => out,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode) return;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

function assertNoSecret(text: string, where: string): void {
  for (const s of ALL_SECRETS) assert.ok(!text.includes(s), `${where} shows a password (${s}):\n${text}`);
}

/** `postgres://user@host/db` with a password put into its userinfo (the test server trusts local connections). */
function withPassword(url: string, password: string): string {
  const u = new URL(url);
  u.password = password;
  if (!u.username) u.username = 'postgres';
  return u.toString();
}

describe('credentials never in logs or status texts (real repository, agent, CLI, Node-RED)', function () {
  this.timeout(180_000);
  let broker: PrivateMosquitto;
  let repo: Proc | undefined;
  let agent: Proc | undefined;
  let rt: RuntimeProcess | undefined;
  let schema: string;
  let pgUrl: string;
  let repoUrl: string;
  let dataDir: string;
  let deviceToken: string;

  before(async function () {
    if (!hasMosquitto) this.skip();
    broker = await startPrivateMosquitto({ users: { 'linesight-repo': REPO_BROKER_SECRET, 'line-7': DEVICE_BROKER_SECRET, watcher: 'watcher-pass' } });
    pgUrl = (await pgService()).url;
    schema = await freshSchema(pgUrl, 'redact');
    dataDir = path.join(tempDir('ls-redact-'), 'repo');
    const port = await freePort();
    const brokerUrl = broker.url.replace('mqtt://', `mqtt://linesight-repo:${REPO_BROKER_SECRET}@`);
    repo = linesight(['repo', '--port', String(port), '--data-dir', dataDir, '--db', withPassword(pgUrl, PG_SECRET), '--schema', schema, '--broker', brokerUrl]);
    await waitFor('the repository to start', () => / ready at /.test(repo!.output()), 60_000, 100);
    repoUrl = `http://127.0.0.1:${port}`;
    const admin = new RepoClient({ url: repoUrl, token: fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim() });
    deviceToken = (await admin.registerDevice({ id: 'line-7', tier: 'line' })).token;
  });
  after(async () => {
    await rt?.stop();
    await agent?.stop();
    await repo?.stop();
    await broker?.stop();
    if (schema) await dropSchema(pgUrl, schema).catch(() => {});
  });

  it('the repository logs its broker as user:***@host and logs in with the URL userinfo', async () => {
    await waitFor('the notifier to connect', () => /notifications: connected to/.test(repo!.output()), 30_000, 100);
    assert.match(repo!.output(), /notifications: connected to mqtt:\/\/linesight-repo:\*\*\*@127\.0\.0\.1:\d+/);
    // CONNACK accepted: the broker saw the repository's account log in.
    await waitFor('the broker to log the login', () => /u'linesight-repo'/.test(broker.log()), 10_000);
    assertNoSecret(repo!.output(), 'the repository log');
  });

  it('the edge agent logs in to the fleet broker with LINESIGHT_BROKER_PASSWORD as its device id, never printing it', async () => {
    const deviceId = 'line-7';
    const port = await freePort();
    const userDir = path.join(tempDir('ls-redact-agent-'), 'user');
    agent = linesight(
      ['runtime', '--tier', 'line', '--port', String(port), '--user-dir', userDir, '--insecure', '--device', deviceId, '--repo', repoUrl, '--broker', broker.url, '--poll-interval', '5', '--health-window', '1'],
      { LINESIGHT_DEVICE_TOKEN: deviceToken, LINESIGHT_BROKER_PASSWORD: DEVICE_BROKER_SECRET },
    );
    await waitFor('the agent to reach the fleet broker', () => /fleet broker connected/.test(agent!.output()), 60_000, 200);
    assert.match(agent!.output(), new RegExp(`fleet broker connected \\(mqtt://127\\.0\\.0\\.1:\\d+ as ${deviceId}\\)`));
    assertNoSecret(agent!.output(), 'the agent log');
    await agent.stop();
    agent = undefined;
  });

  it('an agent given a wrong password in the URL says the broker refused, without the password', async () => {
    const port = await freePort();
    const userDir = path.join(tempDir('ls-redact-agent2-'), 'user');
    agent = linesight(
      ['runtime', '--tier', 'line', '--port', String(port), '--user-dir', userDir, '--insecure', '--device', 'line-7', '--repo', repoUrl, '--broker', broker.url.replace('mqtt://', `mqtt://line-7:${NODE_SECRET}@`)],
      { LINESIGHT_DEVICE_TOKEN: 'lsd_not-a-real-token' },
    );
    await waitFor('the refusal', () => /fleet broker: .*(Not authorized|Bad username or password).* \(mqtt:\/\/127\.0\.0\.1:\d+ as line-7\)/i.test(agent!.output()), 60_000, 200);
    assertNoSecret(agent!.output(), 'the agent log');
    await agent.stop();
    agent = undefined;
  });

  it('linesight flows prints a repository URL with a password redacted', async () => {
    const cli = linesight(['flows', '--url', repoUrl.replace('http://', `http://admin:${CLI_SECRET}@`), '--token', 'lsa_x', 'list']);
    await new Promise((r) => cli.proc.once('exit', r));
    assert.notEqual(cli.proc.exitCode, 0);
    assert.match(cli.output(), /admin:\*\*\*@127\.0\.0\.1/);
    assertNoSecret(cli.output(), 'the CLI');
  });

  it('nodes in a real runtime: status texts and logs show broker and OPC UA URLs without their passwords', async () => {
    rt = await startRuntimeProcess({ tier: 'line', insecure: true, args: ['--log-level', 'info'] });
    const closed = await freePort();
    const statusLog = { id: 'dbg', z: 'tab1', type: 'debug', name: 'status log', active: true, tosidebar: false, console: true, tostatus: false, complete: 'status', targetType: 'msg', x: 500, y: 100, wires: [] };
    await rt.deploy([
      { id: 'tab1', type: 'tab', label: 'redact' },
      { id: 'ep', type: 'plc-endpoint', name: '', protocol: 'opcua', endpointUrl: `opc.tcp://op:${NODE_SECRET}@127.0.0.1:${closed}/UA/X`, reconnectMinMs: 200, reconnectMaxMs: 1000, timeoutMs: 2000, tags: [{ name: 'LineSpeed', address: 'ns=1;s=Line1.LineSpeed' }] },
      { id: 'rd', z: 'tab1', type: 'plc-read', name: 'rd', endpoint: 'ep', tags: 'LineSpeed', intervalMs: 500, x: 100, y: 100, wires: [[]] },
      { id: 'st', z: 'tab1', type: 'status', name: 'all statuses', scope: null, x: 300, y: 100, wires: [['dbg']] },
      statusLog,
    ]);
    await waitFor('an OPC UA status naming the endpoint', () => /opc\.tcp:\/\/op:\*\*\*@127\.0\.0\.1/.test(rt!.output()), 60_000, 200).catch((err) => {
      throw new Error(`${err.message}\n${rt!.output()}`);
    });
    // A broker URL with userinfo is refused as a config error (the login belongs in the node's
    // credentials); the error names the field and never repeats the password.
    await rt.deploy([
      { id: 'tab1', type: 'tab', label: 'redact' },
      { id: 'bk', type: 'cloud-broker', name: 'uplink', url: broker.url.replace('mqtt://', `mqtt://line-7:${NODE_SECRET}@`), protocolVersion: 4, maxReconnectMs: 1000, connectTimeoutMs: 3000 },
      { id: 'up', z: 'tab1', type: 'cloud-bridge', name: 'up', broker: 'bk', topicTemplate: 'redact/{site}/{line}/{kind}', site: 's', line: 'l', outboxFile: path.join(rt.userDir, 'outbox.db'), x: 100, y: 100, wires: [] },
    ]);
    await waitFor('the config error', () => /cloud-broker "uplink" config: url must match/.test(rt!.output()), 30_000, 200);
    assertNoSecret(rt.output(), 'the runtime log');
  });
});
