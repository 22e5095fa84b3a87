// `linesight models` as a process against a real repository: publish (and resume an upload a previous
// run left half done), list, show, diff side by side; and `flows deploy --model` pinning a model.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../../runtime/paths';
import { lineFlow, lineTemplate } from '../../fixtures/repo/templates';
import { waitFor } from '../../support/wait';
import { startHarness, type Harness } from './harness';

const BIN = path.join(PACKAGE_ROOT, 'bin', 'linesight.js');

describe('repo: linesight models (process)', function () {
  this.timeout(120_000);
  let h: Harness;
  let dir: string;
  let tokenFile: string;
  // A child process, awaited: the repository answers from this test's own process.
  const cli = (...args: string[]) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      execFile(process.execPath, [BIN, args[0]!, '--url', h.repo.url, '--token-file', tokenFile, ...args.slice(1)], { encoding: 'utf8', timeout: 60_000 }, (err, out, errText) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out, err: errText });
      });
    });

  before(async () => {
    h = await startHarness();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linesight-models-cli-'));
    tokenFile = path.join(dir, 'token');
    fs.writeFileSync(tokenFile, `${h.repo.adminToken}\n`, { mode: 0o600 });
  });
  after(async () => {
    await h?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('publish resumes an upload a cut run left half done; list, show and diff', async () => {
    const data = crypto.randomBytes(3 * 1024 * 1024);
    const file = path.join(dir, 'detector.onnx');
    fs.writeFileSync(file, data);
    const sha256 = crypto.createHash('sha256').update(data).digest('hex');
    // A previous run got the first MiB across and died.
    const up = await h.admin.createModelUpload('detector', { version: '1.0.0', format: 'onnx', sha256, bytes: data.length, metadata: { classes: ['scratch', 'hole'], metrics: { precision: 0.8 } } });
    await h.admin.putModelChunk(up.uploadId, file, 0, 1024 * 1024 - 1, data.length);
    fs.writeFileSync(path.join(dir, 'm1.json'), JSON.stringify({ classes: ['scratch', 'hole'], metrics: { precision: 0.8 } }));
    const r1 = await cli('models', 'publish', file, '--name', 'detector', '--semver', '1.0.0', '--metadata', path.join(dir, 'm1.json'), '--chunk-mib', '1');
    assert.equal(r1.code, 0, r1.err);
    assert.match(r1.out, new RegExp(`published detector@1.0.0 \\(onnx, ${data.length} bytes, sha256 ${sha256}\\)`));
    const starts = (await h.admin.audit({ subject: 'detector@1.0.0' })).filter((e) => e.action === 'model.upload.start');
    assert.equal(starts.length, 1, 'the run went on with the same upload');

    fs.writeFileSync(path.join(dir, 'm2.json'), JSON.stringify({ classes: ['scratch', 'hole', 'stain'], metrics: { precision: 0.9 } }));
    assert.equal((await cli('models', 'publish', file, '--name', 'detector', '--semver', '1.1.0', '--metadata', path.join(dir, 'm2.json'), '--changelog', 'adds stain')).code, 0);
    const again = await cli('models', 'publish', file, '--name', 'detector', '--semver', '1.1.0');
    assert.equal(again.code, 1);
    assert.match(again.err, /already published/);

    const list = await cli('models', 'list');
    assert.match(list.out, /detector\s+latest 1\.1\.0\s+onnx\s+versions 1\.0\.0, 1\.1\.0/);
    const shown = await cli('models', 'show', 'detector@1.1.0');
    assert.match(shown.out, /sha256\s+[0-9a-f]{64}/);
    assert.match(shown.out, /changelog\s+adds stain/);
    const diff = await cli('models', 'diff', 'detector@1.0.0', 'detector@1.1.0');
    assert.equal(diff.code, 0, diff.err);
    assert.match(diff.out, /\* metrics\.precision\s+0\.8\s+0\.9/);
    assert.match(diff.out, /\* classes\[2\]\s+-\s+stain/);
    assert.doesNotMatch(diff.out, /classes\[0\]/, 'unchanged rows are left out');
    assert.equal((await cli('models', 'show', 'detector')).code, 2);
  });

  it('an uploading process killed mid-stream (SIGKILL): models publish resumes from the offset the repository kept', async () => {
    const data = crypto.randomBytes(6 * 1024 * 1024);
    const file = path.join(dir, 'killed.onnx');
    fs.writeFileSync(file, data);
    const sha256 = crypto.createHash('sha256').update(data).digest('hex');
    const up = await h.admin.createModelUpload('killed', { version: '1.0.0', format: 'onnx', sha256, bytes: data.length });
    // A client process that sends the whole artifact as one chunk, gets 2 MiB across and then stalls.
    const script = `
      const http = require('node:http'); const fs = require('node:fs');
      const [url, token, file, total] = process.argv.slice(1);
      const req = http.request(url, { method: 'PUT', headers: { authorization: 'Bearer ' + token, 'content-type': 'application/octet-stream', 'content-length': total, 'content-range': 'bytes 0-' + (Number(total) - 1) + '/' + total } });
      req.on('error', () => {});
      req.write(fs.readFileSync(file).subarray(0, 2 * 1024 * 1024));
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['-e', script, `${h.repo.url}/api/v1/models/uploads/${up.uploadId}`, h.repo.adminToken!, file, String(data.length)], { stdio: 'ignore' });
    const offset = await waitFor('2 MiB of the killed client on the repository', async () => ((await h.admin.modelUploadOffset(up.uploadId)) === 2 * 1024 * 1024 ? true : null), 30_000);
    assert.ok(offset);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const r = await cli('models', 'publish', file, '--name', 'killed', '--semver', '1.0.0', '--json');
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).sha256, sha256);
    const audit = (await h.admin.audit({ subject: 'killed@1.0.0' })).map((e) => e.action).reverse();
    assert.deepEqual(audit, ['model.upload.start', 'model.publish'], 'one upload, resumed, then published');
  });

  it('flows publish carries the models a manifest declares; a deploy resolves them to the newest match', async () => {
    const tpl = path.join(dir, 'needs-model');
    fs.mkdirSync(tpl);
    fs.writeFileSync(
      path.join(tpl, 'manifest.json'),
      JSON.stringify({ slug: 'needs-model', title: 'Needs a model', tier: 'line', version: '1.0.0', parameters: lineTemplate.parameters, requiredNodes: ['inject', 'debug'], models: [{ name: 'detector', range: '^1.0.0' }], flow: lineFlow('n') }),
    );
    const r = await cli('flows', 'publish', tpl);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual((await h.admin.getVersion('needs-model', '1.0.0') as { models?: unknown }).models, [{ name: 'detector', range: '^1.0.0' }]);
    await h.admin.registerDevice({ id: 'cli-line-0', tier: 'line', parameters: { LINE_ID: 'L0' } });
    const dep = await h.admin.createDeployment({ template: 'needs-model', version: '1.0.0', target: { ids: ['cli-line-0'] } });
    assert.deepEqual(dep.models, [{ name: 'detector', version: '1.1.0' }]);
  });

  it('flows deploy --model pins a model version for a canary', async () => {
    await h.admin.createTemplate(lineTemplate);
    await h.admin.publishVersion(lineTemplate.slug, { version: '1.0.0', flow: lineFlow('m') });
    await h.admin.registerDevice({ id: 'cli-line-1', tier: 'line', parameters: { LINE_ID: 'L1' } });
    const r = await cli('flows', 'deploy', `${lineTemplate.slug}@1.0.0`, '--ids', 'cli-line-1', '--model', 'detector=1.1.0');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /models detector@1\.1\.0/);
    const status = await cli('flows', 'status');
    assert.match(status.out, /line-inspection@1\.0\.0\s+all\s+rolling out\s+1 pending models detector@1\.1\.0/);
  });
});
