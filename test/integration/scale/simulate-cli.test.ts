// `linesight simulate fleet` as a real process against a real repository: it registers its devices, polls,
// and its last JSON line is the final summary; bad options are refused naming the option.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../../runtime/paths';
import { RepoClient } from '../../../runtime/repo/client';
import { createRepoServer, type RepoServer } from '../../../runtime/repo/server';
import { dropSchema, freshSchema, pgService } from '../../support/services';

const BIN = path.join(PACKAGE_ROOT, 'bin', 'linesight.js');

describe('scale: linesight simulate fleet (process)', function () {
  this.timeout(120_000);
  let repo: RepoServer;
  let schema: string | undefined;
  let dbUrl: string;
  let dataDir: string;

  before(async () => {
    const pg = await pgService();
    dbUrl = pg.url;
    if (pg.kind === 'real') schema = await freshSchema(pg.url, 'simcli');
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'linesight-simcli-'));
    repo = await createRepoServer({ db: pg.url, schema, dataDir, poolSize: pg.kind === 'embedded' ? 1 : 10 });
  });
  after(async () => {
    await repo?.close();
    if (schema) await dropSchema(dbUrl, schema).catch(() => {});
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  // Asynchronous: the repository answers from this process while the simulator runs.
  const run = (args: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [BIN, 'simulate', 'fleet', ...args], { encoding: 'utf8', timeout: 90_000 }, (err, stdout, stderr) => {
        resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });

  it('registers N devices, polls them with ETag, and ends with a JSON summary', async () => {
    const r = await run(['--repo', repo.url, '--token', repo.adminToken!, '--devices', '5', '--poll', '500ms', '--duration', '4s', '--every', '1s', '--id-prefix', 'cli', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const last = lines[lines.length - 1];
    assert.equal(last.done, true);
    assert.equal(last.devices, 5);
    assert.equal(last.pollErrors, 0);
    assert.deepEqual(last.states, { pending: 5 });
    assert.ok(last.conditionalPolls >= 5, `conditional polls ${last.conditionalPolls}`);
    assert.equal(last.notModified, last.conditionalPolls);
    const devices = await new RepoClient({ url: repo.url, token: repo.adminToken }).listDevices();
    assert.deepEqual(devices.map((d) => d.id), ['cli-0', 'cli-1', 'cli-2', 'cli-3', 'cli-4']);
    assert.ok(devices.every((d) => d.state === 'pending' && d.lastSeen), 'every device checked in');
  });

  it('refuses bad options, naming them', async () => {
    const r = await run(['--repo', repo.url, '--token', 'x', '--devices', 'many']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--devices must be a whole number >= 1, got "many"/);
    const t = await run(['--repo', repo.url, '--token', 'x', '--poll', 'often']);
    assert.notEqual(t.status, 0);
    assert.match(t.stderr, /"often" is not a duration/);
  });
});
