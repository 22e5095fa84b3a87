// `linesight repo` as a real process, and `linesight flows ...` against it: each subcommand with its exit
// code, output and error messages.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RepoClient } from '../../../runtime/repo/client';
import { PACKAGE_ROOT } from '../../../runtime/paths';
import { dropSchema, freePort, freshSchema, pgService } from '../../support/services';
import { waitFor } from '../../support/wait';
import { lineFlow, lineTemplate } from '../../fixtures/repo/templates';
import { login } from './harness';

const BIN = path.join(PACKAGE_ROOT, 'bin', 'linesight.js');

interface Started {
  proc: ChildProcess;
  url: string;
  out: () => string;
  stop(): Promise<void>;
}

async function startRepoProcess(args: string[]): Promise<Started> {
  const port = await freePort();
  const proc = spawn(process.execPath, [BIN, 'repo', '--port', String(port), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  let exited = false;
  proc.once('exit', () => (exited = true));
  await waitFor('linesight repo to be ready', () => {
    if (exited) throw new Error(`linesight repo exited:\n${out}`);
    return out.includes(' ready at ');
  }, 45_000);
  return {
    proc,
    url: `http://127.0.0.1:${port}`,
    out: () => out,
    async stop() {
      if (exited) return;
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(t);
    },
  };
}

describe('repo: linesight repo and linesight flows (processes)', function () {
  this.timeout(120_000);
  let repo: Started;
  let dataDir: string;
  let work: string;
  let schema: string | undefined;
  let dbArgs: string[] = [];
  let adminToken: string;

  /** Runs `linesight flows <args>` against the repository; returns exit code and output. */
  function flows(args: string[], opts: { token?: string | null; url?: string } = {}) {
    const base = ['flows', '--url', opts.url ?? repo.url];
    if (opts.token !== null) base.push('--token-file', path.join(dataDir, 'admin-token'));
    const r = spawnSync(process.execPath, [BIN, ...base, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, LINESIGHT_REPO_TOKEN: '', LINESIGHT_REPO_TOKEN_FILE: '' } });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  before(async () => {
    const pg = await pgService();
    // On a real server the repository gets its own schema; without one it runs its own embedded PGlite.
    if (pg.kind === 'real') {
      schema = await freshSchema(pg.url, 'repocli');
      dbArgs = ['--db', pg.url, '--schema', schema];
    }
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'linesight-repo-cli-'));
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'linesight-flows-'));
    repo = await startRepoProcess(['--data-dir', dataDir, ...dbArgs]);
    adminToken = fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim();
  });
  after(async () => {
    await repo?.stop();
    if (schema) await dropSchema((await pgService()).url, schema).catch(() => {});
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('creates the admin token, the admin password and signing key with mode 0600, says where, and never prints them', () => {
    for (const f of ['admin-token', 'admin-password', 'signing-key.pem']) {
      assert.equal(fs.statSync(path.join(dataDir, f)).mode & 0o777, 0o600, f);
      assert.match(repo.out(), new RegExp(path.join(dataDir, f).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
    }
    assert.match(adminToken, /^lsa_/);
    assert.ok(!repo.out().includes(adminToken), 'the admin token must not be printed');
    assert.ok(!repo.out().includes(fs.readFileSync(path.join(dataDir, 'admin-password'), 'utf8').trim()), 'the admin password must not be printed');
    assert.ok(!repo.out().includes(fs.readFileSync(path.join(dataDir, 'signing-key.pem'), 'utf8').split('\n')[1]!), 'the key must not be printed');
  });

  it('publish: a manifest creates the template; a flow file needs --template and --semver; refusals exit 1 with the reason', () => {
    fs.writeFileSync(path.join(work, 'manifest.json'), JSON.stringify({ ...lineTemplate, version: '1.0.0', changelog: 'first', flowFile: 'flow-1.json' }));
    fs.writeFileSync(path.join(work, 'flow-1.json'), JSON.stringify(lineFlow('v1')));
    fs.writeFileSync(path.join(work, 'flow-2.json'), JSON.stringify([...lineFlow('v2'), { id: 'extra', type: 'debug', z: 'tab1', wires: [] }]));
    fs.writeFileSync(path.join(work, 'bad.json'), JSON.stringify([{ id: 'a', type: 'node-red-contrib-s7' }]));
    let r = flows(['publish', path.join(work, 'manifest.json')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /created template line-inspection/);
    assert.match(r.stdout, /published line-inspection@1.0.0 sha256 [0-9a-f]{64}/);
    r = flows(['publish', path.join(work, 'manifest.json')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /version: 1.0.0 is already published/);
    r = flows(['publish', path.join(work, 'flow-2.json'), '--template', 'line-inspection', '--semver', '1.1.0', '--changelog', 'adds a debug node']);
    assert.equal(r.code, 0, r.stderr);
    r = flows(['publish', path.join(work, 'bad.json'), '--template', 'line-inspection', '--semver', '1.2.0']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /flow\[0\]\.type: unknown node type "node-red-contrib-s7"/);
    assert.match(r.stderr, /^linesight flows: version line-inspection@1\.2\.0 refused \(HTTP 422\)$/m);
    assert.equal(r.stderr.match(/unknown node type/g)?.length, 1, 'each problem once');
    r = flows(['publish', path.join(work, 'flow-2.json'), '--template', 'line-inspection']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /which version\?/);
    r = flows(['publish', path.join(work, 'missing.json')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /does not exist/);
  });

  it('publish: a template folder (manifest.json + flow.json, changelog as a list) like flows/<slug>/', () => {
    const dir = path.join(work, 'cell-check');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ ...lineTemplate, slug: 'cell-check', version: '0.2.0', changelog: [{ version: '0.1.0', changes: 'old' }, { version: '0.2.0', changes: 'second cut' }] }));
    fs.writeFileSync(path.join(dir, 'flow.json'), JSON.stringify(lineFlow('cell')));
    let r = flows(['publish', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /published cell-check@0\.2\.0/);
    r = flows(['show', 'cell-check']);
    assert.match(r.stdout, /0\.2\.0 .* second cut/);
  });

  it('list and show', () => {
    let r = flows(['list']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /line-inspection\s+line\s+1\.1\.0\s+2 version\(s\)\s+Line inspection/);
    assert.match(r.stdout, /cell-check\s+line\s+0\.2\.0\s+1 version\(s\)/);
    r = flows(['show', 'line-inspection']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /1\.1\.0 .* adds a debug node/);
    r = flows(['--json', 'show', 'line-inspection@1.0.0']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.version, '1.0.0');
    assert.equal(doc.flow.length, 4);
    r = flows(['show', 'line-inspection@9.9.9']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no version line-inspection@9\.9\.9 \(HTTP 404\)/);
  });

  it('diff between two versions and against a local file', () => {
    let r = flows(['diff', 'line-inspection@1.0.0', 'line-inspection@1.1.0']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\+ debug extra$/m);
    assert.match(r.stdout, /^~ inject inj1 "v2": name$/m);
    r = flows(['diff', '--exit-code', 'line-inspection@1.0.0', 'line-inspection@1.1.0']);
    assert.equal(r.code, 1);
    r = flows(['diff', '--exit-code', 'line-inspection@1.0.0', path.join(work, 'flow-1.json')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /same nodes and settings/);
  });

  it('register, deploy --wait, status and rollback', async () => {
    let r = flows(['register', 'line-7', '--tier', 'line', '--label', 'plant=p1', '--param', 'LINE_ID=L7', '--param', 'SPEED_LIMIT=2.5', '--token-out', path.join(work, 'line-7.token')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /device token written to/);
    const deviceToken = fs.readFileSync(path.join(work, 'line-7.token'), 'utf8').trim();
    assert.ok(!r.stdout.includes(deviceToken));
    const agent = new RepoClient({ url: repo.url, token: deviceToken });
    const admin = new RepoClient({ url: repo.url, token: adminToken });
    assert.deepEqual((await admin.getDevice('line-7')).parameters, { LINE_ID: 'L7', SPEED_LIMIT: 2.5 });

    r = flows(['deploy', 'line-inspection@1.0.0', '--label', 'plant=p1']);
    assert.equal(r.code, 0, r.stderr);
    const first = /deployment (dep-[0-9a-f]+)/.exec(r.stdout)![1]!;
    await agent.reportStatus('line-7', { deviceId: 'line-7', state: 'running', running: 'line-inspection@1.0.0', deploymentId: first, ts: Date.now() });

    // An agent that applies whatever it is told, while `deploy --wait` waits.
    let stop = false;
    const loop = (async () => {
      while (!stop) {
        const d = await agent.desired('line-7');
        if (!d.notModified && d.state.version?.version === '1.1.0') {
          await agent.reportStatus('line-7', { deviceId: 'line-7', state: 'running', running: 'line-inspection@1.1.0', deploymentId: d.state.deploymentId, ts: Date.now() });
          return;
        }
        await new Promise((res) => setTimeout(res, 300));
      }
    })();
    const waited = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, [BIN, 'flows', '--url', repo.url, '--token-file', path.join(dataDir, 'admin-token'), 'deploy', 'line-inspection@1.1.0', '--ids', 'line-7', '--strategy', 'canary', '--window', '22:00-06:00', '--timezone', 'UTC', '--line-state', 'line.running=false', '--wait', '--timeout', '60']);
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => (stderr += d));
      p.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
    stop = true;
    await loop;
    assert.equal(waited.code, 0, waited.stderr);
    assert.match(waited.stdout, /line-inspection@1\.1\.0, canary, completed/);
    assert.match(waited.stdout, /window 22:00-06:00 UTC/);
    assert.match(waited.stdout, /only while line\.running = false/);
    const second = /deployment (dep-[0-9a-f]+)/.exec(waited.stdout)![1]!;

    r = flows(['status']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /line-7\s+line\s+running\s+running line-inspection@1\.1\.0\s+desired line-inspection@1\.1\.0/);
    r = flows(['status', second]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /wave 0\s+line-7\s+running/);

    r = flows(['rollback', second]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /rolled back/);
    assert.equal((await admin.getDevice('line-7')).desired?.version, '1.0.0');
    r = flows(['rollback', second]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot rollback deployment .* it is rolled back \(HTTP 409\)/);
  });

  it('cancel: a deployment a device waits on is cancelled, the device goes back, and a second cancel exits 1', async () => {
    const admin = new RepoClient({ url: repo.url, token: adminToken });
    let r = flows(['deploy', 'line-inspection@1.1.0', '--ids', 'line-7', '--line-state', 'line.running=false']);
    assert.equal(r.code, 0, r.stderr);
    const dep = /deployment (dep-[0-9a-f]+)/.exec(r.stdout)![1]!;
    assert.equal((await admin.getDevice('line-7')).desired?.version, '1.1.0');
    const agent = new RepoClient({ url: repo.url, token: fs.readFileSync(path.join(work, 'line-7.token'), 'utf8').trim() });
    const why = 'line-state gate key "line.running" has never been set (idle is false)';
    await agent.reportStatus('line-7', { deviceId: 'line-7', state: 'waiting', running: 'line-inspection@1.0.0', deploymentId: dep, target: 'line-inspection@1.1.0', reasons: [why], ts: Date.now() });
    r = flows(['status']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(`line-7`) && r.stdout.includes(why), r.stdout);
    r = flows(['cancel', dep]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`deployment ${dep}: line-inspection@1\\.1\\.0, all, cancelled`));
    assert.match(r.stdout, /wave 0\s+line-7\s+cancelled/);
    assert.equal((await admin.getDevice('line-7')).desired?.version, '1.0.0', 'back on what it had before');
    r = flows(['cancel', dep]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot cancel deployment .* it is cancelled \(HTTP 409\)/);
    assert.ok((await admin.audit({ subject: dep })).some((e) => e.action === 'deployment.cancel' && e.actor === 'token:initial(user:admin)'));
  });

  it('deploy refusals: bad window syntax exits 2, an unknown version exits 1 naming the field', () => {
    let r = flows(['deploy', 'line-inspection@1.0.0', '--tier', 'line', '--window', 'night']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--window must look like 22:00-06:00/);
    r = flows(['deploy', 'line-inspection@3.0.0', '--tier', 'line']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /version: line-inspection has no version "3\.0\.0"/);
  });

  it('token create/list/revoke for CI', () => {
    const out = path.join(work, 'ci.token');
    let r = flows(['token', 'create', 'ci-pipeline', '--token-out', out]);
    assert.equal(r.code, 0, r.stderr);
    const id = /\(([0-9a-f-]{36})\)/.exec(r.stdout)![1]!;
    assert.equal(fs.statSync(out).mode & 0o777, 0o600);
    const ciToken = fs.readFileSync(out, 'utf8').trim();
    assert.ok(!r.stdout.includes(ciToken));
    // The token from the environment, as a CI job would pass it.
    const asCi = () => spawnSync(process.execPath, [BIN, 'flows', '--url', repo.url, 'list'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, LINESIGHT_REPO_TOKEN: ciToken, LINESIGHT_REPO_TOKEN_FILE: '' } });
    const before = asCi();
    assert.equal(before.status, 0, before.stderr);
    assert.match(before.stdout, /line-inspection/);
    r = flows(['token', 'list']);
    assert.match(r.stdout, new RegExp(`${id}\\s+ci-pipeline`));
    r = flows(['token', 'revoke', id]);
    assert.equal(r.code, 0, r.stderr);
    const after = asCi();
    assert.equal(after.status, 1);
    assert.match(after.stderr, /HTTP 401/);
  });

  it('without a token exits 1 with 401; an unreachable repository exits 2', async () => {
    let r = flows(['list'], { token: null });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /a valid bearer token is required .*\(HTTP 401\)/);
    const dead = await freePort();
    r = flows(['list'], { url: `http://127.0.0.1:${dead}` });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cannot reach the repository/);
  });

  it('repo users add/list/disable/reset-password against the running repository, with the admin token', async () => {
    const users = (args: string[], input?: string) => {
      const r = spawnSync(process.execPath, [BIN, 'repo', 'users', '--url', repo.url, '--token-file', path.join(dataDir, 'admin-token'), ...args], { encoding: 'utf8', timeout: 60_000, input, env: { ...process.env, LINESIGHT_REPO_TOKEN: '', LINESIGHT_REPO_TOKEN_FILE: '' } });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    let r = users(['add', 'olga', '--role', 'deployer']);
    assert.equal(r.code, 0, r.stderr);
    const printed = /shown once: (\S+)/.exec(r.stdout)![1]!;
    assert.deepEqual((await login(repo.url, 'olga', printed)).user, { name: 'olga', role: 'deployer' });
    r = users(['add', 'piet', '--role', 'viewer', '--password-stdin'], 'piet-password\n');
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /piet-password/);
    const piet = await login(repo.url, 'piet', 'piet-password');
    r = users(['add', 'bad', '--role', 'root']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /must be one of viewer, deployer, admin/);
    r = users(['add', 'olga', '--role', 'viewer']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /a user named olga exists \(HTTP 409\)/);
    r = users(['list']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^admin\s+admin\s+enabled\s+last login never$/m);
    assert.match(r.stdout, /^olga\s+deployer\s+enabled\s+last login 20\d\d-/m);
    r = users(['reset-password', 'piet']);
    assert.equal(r.code, 0, r.stderr);
    const newPassword = /shown once: (\S+);/.exec(r.stdout)![1]!;
    assert.equal((await piet.request('GET', '/api/v1/session')).status, 401, 'a new password ends the sessions');
    await login(repo.url, 'piet', newPassword);
    r = users(['reset-password', 'piet', '--password-stdin'], 'piet-password-2');
    assert.equal(r.code, 0, r.stderr);
    const again = await login(repo.url, 'piet', 'piet-password-2');
    r = users(['disable', 'piet']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await again.request('GET', '/api/v1/session')).status, 401);
    await assert.rejects(login(repo.url, 'piet', 'piet-password-2'), /HTTP 401/);
    assert.match(users(['list', '--json']).stdout, /"name": "piet",\s+"role": "viewer",\s+"disabled": true/);
    r = users(['disable', 'admin']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /last enabled admin/);
    // Without a token: the same refusal as `linesight flows`.
    const anon = spawnSync(process.execPath, [BIN, 'repo', 'users', '--url', repo.url, 'list'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, LINESIGHT_REPO_TOKEN: '', LINESIGHT_REPO_TOKEN_FILE: '' } });
    assert.equal(anon.status, 1);
    assert.match(anon.stderr, /^linesight repo users: a valid bearer token is required .*\(HTTP 401\)/);
  });

  it('a restart keeps the data, the key and the token, and creates no new token', async () => {
    const key = fs.readFileSync(path.join(dataDir, 'signing-key.pem'), 'utf8');
    await repo.stop();
    repo = await startRepoProcess(['--data-dir', dataDir, ...dbArgs]);
    assert.doesNotMatch(repo.out(), /created the first admin token|created the first admin user|created the repository signing key/);
    assert.equal(fs.readFileSync(path.join(dataDir, 'signing-key.pem'), 'utf8'), key);
    const r = flows(['list']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /line-inspection/);
  });
});
