// Local secrets: a real runtime's user dir, Node-RED's own files in it (sessions after a login, node
// credentials after a deploy, settings), the agent's store and the repository's data dir are private to
// the account that runs them (folders 0700, files 0600), on a first start and after an upgrade from a
// version that left them 0755/0644.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { AgentStore } from '../../../runtime/agent/last-good';
import { createRepoServer } from '../../../runtime/repo/server';
import { startRuntimeProcess, tempDir, type RuntimeProcess } from '../../support/runtime-process';
import { dropSchema, freshSchema, pgService } from '../../support/services';
import { waitFor } from '../../support/wait';

const mode = (p: string) => fs.statSync(p).mode & 0o777;
const octal = (m: number) => `0${m.toString(8)}`;

/** Every path under `dir` (not following symlinks, not into node_modules) with a mode other than 0700/0600. */
function openToOthers(dir: string): string[] {
  const found: string[] = [];
  if ((mode(dir) & 0o077) !== 0) found.push(`${dir} ${octal(mode(dir))}`);
  for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, ent.name);
    if (ent.isSymbolicLink() || ent.name === 'node_modules') continue;
    if (ent.isDirectory()) found.push(...openToOthers(p));
    else if ((mode(p) & 0o077) !== 0) found.push(`${p} ${octal(mode(p))}`);
  }
  return found;
}

/** What an older version left behind: every folder 0755, every file 0644. */
function loosen(dir: string): void {
  fs.chmodSync(dir, 0o755);
  for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, ent.name);
    if (ent.isSymbolicLink() || ent.name === 'node_modules') continue;
    if (ent.isDirectory()) loosen(p);
    else fs.chmodSync(p, 0o644);
  }
}

// A core node with credentials, so Node-RED writes flows_cred.json.
const FLOW_WITH_CREDENTIALS = [
  { id: 'tab1', type: 'tab', label: 'secrets' },
  { id: 'req1', z: 'tab1', type: 'http request', name: 'with login', method: 'GET', ret: 'txt', url: 'http://127.0.0.1:9/', authType: 'basic', x: 100, y: 100, wires: [[]], credentials: { user: 'svc', password: 'node-credential-password' } },
];

describe('local secret files (real runtime, agent store, repository data dir)', function () {
  this.timeout(120_000);
  let rt: RuntimeProcess | undefined;
  afterEach(async () => {
    await rt?.stop();
    rt = undefined;
  });

  // No secret from the test environment: the runtime must generate and store its own.
  const env = { LINESIGHT_CREDENTIAL_SECRET: '', LINESIGHT_ADMIN_PASSWORD_HASH: '' };

  async function startAndLogIn(userDir: string, password: string): Promise<RuntimeProcess> {
    const started = await startRuntimeProcess({ tier: 'line', insecure: false, userDir, env });
    rt = started;
    await started.login('admin', password);
    await waitFor('.sessions.json after the login', () => fs.existsSync(path.join(userDir, '.sessions.json')), 15_000);
    return started;
  }

  it('a new user dir: 0700, and sessions, node credentials, settings and Linesight secrets 0600', async () => {
    const userDir = path.join(tempDir('ls-secrets-'), 'user');
    rt = await startRuntimeProcess({ tier: 'line', insecure: false, userDir, env });
    const password = /password "([^"]+)"/.exec(rt.output())?.[1];
    assert.ok(password, rt.output());
    await rt.login('admin', password);
    await rt.deploy(FLOW_WITH_CREDENTIALS);
    const files = ['.sessions.json', 'flows_cred.json', 'flows.json', '.config.runtime.json', '.linesight/credential-secret', '.linesight/admin.json'];
    await waitFor('Node-RED to write its files', () => files.every((f) => fs.existsSync(path.join(userDir, f))), 15_000);
    assert.equal(octal(mode(userDir)), '0700', 'user dir');
    assert.equal(octal(mode(path.join(userDir, '.linesight'))), '0700', '.linesight');
    for (const f of files) assert.equal(octal(mode(path.join(userDir, f))), '0600', f);
    assert.deepEqual(openToOthers(userDir), [], 'nothing in the user dir is readable by group or others');
    // The sessions file holds a live token; it must be the one just issued.
    assert.ok(fs.readFileSync(path.join(userDir, '.sessions.json'), 'utf8').includes(rt.authHeader!.slice('Bearer '.length)));
  });

  it('an upgrade from 0755/0644 is made private at start, and Node-RED rewrites stay private', async () => {
    const userDir = path.join(tempDir('ls-secrets-up-'), 'user');
    const first = await startRuntimeProcess({ tier: 'line', insecure: false, userDir, env });
    rt = first;
    const password = /password "([^"]+)"/.exec(first.output())?.[1];
    assert.ok(password);
    await first.login('admin', password);
    await first.deploy(FLOW_WITH_CREDENTIALS);
    await waitFor('flows_cred.json', () => fs.existsSync(path.join(userDir, 'flows_cred.json')), 15_000);
    await first.stop();
    rt = undefined;

    loosen(userDir);
    assert.equal(octal(mode(path.join(userDir, '.sessions.json'))), '0644', 'the old mode is set up');

    const second = await startAndLogIn(userDir, password);
    assert.match(second.output(), /made \d+ file\(s\) in .* private to this account/);
    assert.equal(octal(mode(userDir)), '0700');
    for (const f of ['.sessions.json', 'flows_cred.json', 'flows.json', '.config.runtime.json', '.linesight/credential-secret', '.linesight/admin.json']) {
      assert.equal(octal(mode(path.join(userDir, f))), '0600', f);
    }
    // A redeploy rewrites flows and credentials through new files: still 0600.
    await second.deploy(FLOW_WITH_CREDENTIALS.map((n) => (n.id === 'req1' ? { ...n, name: 'renamed' } : n)));
    await waitFor('the redeploy on disk', () => fs.readFileSync(path.join(userDir, 'flows.json'), 'utf8').includes('renamed'), 15_000);
    assert.deepEqual(openToOthers(userDir), []);
  });

  it('the agent store: 0700 with 0600 files whatever the umask, and an old readable store is fixed', () => {
    const dir = path.join(tempDir('ls-agent-store-'), 'agent');
    fs.mkdirSync(dir, { mode: 0o755 });
    fs.chmodSync(dir, 0o755);
    fs.writeFileSync(path.join(dir, 'repository-key.pem'), 'old key', { mode: 0o644 });
    fs.writeFileSync(path.join(dir, 'last-good.json'), '{}', { mode: 0o644 });
    const old = process.umask(0);
    try {
      const store = new AgentStore(dir);
      assert.equal(octal(mode(dir)), '0700');
      assert.equal(octal(mode(path.join(dir, 'repository-key.pem'))), '0600');
      assert.equal(octal(mode(path.join(dir, 'last-good.json'))), '0600');
      store.savePublicKey('-----BEGIN PUBLIC KEY-----\n');
      store.saveLastGood({ target: 't@1.0.0', sha256: 'x', key: 'k', deploymentId: null, parameters: { DB_URL: 'postgres://u:pw@db/x' }, flow: [], deployedAt: 1 });
      store.recordFailure({ key: 'k2', target: 't@2.0.0', state: 'failed', reasons: ['x'], at: 2 });
      for (const f of ['repository-key.pem', 'last-good.json', 'failed.json']) assert.equal(octal(mode(path.join(dir, f))), '0600', f);
    } finally {
      process.umask(old);
    }
  });

  it('the repository data dir: signing key, admin token and admin password 0600 in a 0700 dir, also after an upgrade', async () => {
    const pg = await pgService();
    const schema = await freshSchema(pg.url, 'repo');
    const dataDir = path.join(tempDir('ls-repo-secrets-'), 'data');
    const poolSize = pg.kind === 'embedded' ? 1 : 2;
    try {
      let repo = await createRepoServer({ db: pg.url, schema, dataDir, poolSize });
      await repo.close();
      for (const f of ['signing-key.pem', 'admin-token', 'admin-password']) assert.equal(octal(mode(path.join(dataDir, f))), '0600', f);
      assert.equal(octal(mode(dataDir)), '0700');
      loosen(dataDir);
      repo = await createRepoServer({ db: pg.url, schema, dataDir, poolSize });
      await repo.close();
      assert.equal(octal(mode(dataDir)), '0700');
      for (const f of ['signing-key.pem', 'admin-token', 'admin-password']) assert.equal(octal(mode(path.join(dataDir, f))), '0600', f);
    } finally {
      await dropSchema(pg.url, schema).catch(() => {});
    }
  });
});
