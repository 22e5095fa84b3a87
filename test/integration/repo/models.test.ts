// The model registry against a real database and real HTTP: resumable upload (a client cut mid-chunk
// resumes from HEAD's offset), sha256 mismatch refused, immutability (sequential and 8 concurrent), the
// signature verifies with the repository key, Range downloads, auth (no token, device tokens) and audit.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { API_ROOT, verifyModelVersion } from '../../../contracts/fleet/protocol';
import { RepoClient } from '../../../runtime/repo/client';
import { pgService } from '../../support/services';
import { waitFor } from '../../support/wait';
import { lineFlow, lineTemplate } from '../../fixtures/repo/templates';
import { refused, startHarness, type Harness } from './harness';

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

describe('repo: model registry', function () {
  this.timeout(120_000);
  let h: Harness;
  let dir: string;
  /** What the repository logged: a request that failed inside it is logged with its stack. */
  const logged: string[] = [];
  const metadata = { input: { width: 320, height: 320, channels: 3, layout: 'NCHW' }, classes: ['scratch', 'hole', 'stain'], metrics: { precision: 0.91, recall: 0.88 }, dataset: { name: 'synthetic-v1' } };

  const writeArtifact = (name: string, bytes: number) => {
    const data = crypto.randomBytes(bytes);
    const file = path.join(dir, name);
    fs.writeFileSync(file, data);
    return { file, data, sha256: sha(data) };
  };

  before(async () => {
    h = await startHarness({ ...((await pgService()).kind === 'real' ? { poolSize: 8 } : {}), log: (line) => logged.push(line) });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linesight-models-'));
  });
  after(async () => {
    await h?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('publishes an artifact in chunks; the version is signed, content-addressed, listed and audited', async () => {
    const a = writeArtifact('a.onnx', 3 * 1024 * 1024 + 17);
    const v = await h.admin.publishModel('defects', a.file, { version: '1.0.0', format: 'onnx', metadata, changelog: 'first', chunkBytes: 1024 * 1024 });
    assert.equal(v.sha256, a.sha256);
    assert.equal(v.bytes, a.data.length);
    assert.deepEqual(v.metadata, metadata);
    assert.equal(v.publisher, 'admin', 'the first admin token belongs to user admin');
    assert.ok(verifyModelVersion(v, v.signature, h.repo.publicKeyPem), 'the signature verifies with the repository key');
    assert.ok(!verifyModelVersion({ ...v, metadata: { ...metadata, classes: ['scratch'] } }, v.signature, h.repo.publicKeyPem), 'changed metadata does not verify');
    // Stored once, by content, in a private folder.
    const blob = path.join(h.dataDir, 'models', 'blobs', a.sha256.slice(0, 2), a.sha256);
    assert.deepEqual(fs.readFileSync(blob), a.data);
    assert.equal(fs.statSync(path.join(h.dataDir, 'models')).mode & 0o777, 0o700);
    assert.deepEqual((await h.admin.listModels()).map((m) => [m.name, m.latest]), [['defects', '1.0.0']]);
    assert.deepEqual((await h.admin.getModel('defects')).versions.map((x) => x.version), ['1.0.0']);
    const audit = await h.admin.audit({ subject: 'defects@1.0.0' });
    assert.deepEqual(audit.map((e) => e.action).reverse(), ['model.upload.start', 'model.publish']);
  });

  it('a client cut mid-chunk resumes from the offset HEAD tells; the artifact is whole', async () => {
    const a = writeArtifact('b.onnx', 4 * 1024 * 1024);
    const up = await h.admin.createModelUpload('defects', { version: '1.1.0', format: 'onnx', sha256: a.sha256, bytes: a.data.length });
    assert.equal(up.offset, 0);
    // One PUT announcing the whole artifact; the client sends 1.5 MiB and its connection dies.
    const sent = 1.5 * 1024 * 1024;
    await new Promise<void>((resolve) => {
      const req = http.request(`${h.repo.url}${API_ROOT}/models/uploads/${up.uploadId}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${h.repo.adminToken}`, 'content-type': 'application/octet-stream', 'content-length': String(a.data.length), 'content-range': `bytes 0-${a.data.length - 1}/${a.data.length}` },
      });
      req.on('error', () => resolve());
      req.write(a.data.subarray(0, sent), () => setTimeout(() => req.destroy(), 200));
    });
    const offset = await waitFor('the cut chunk to be on disk', async () => {
      const o = await h.admin.modelUploadOffset(up.uploadId);
      return o === sent ? o : null;
    });
    // A client going away is not a server error.
    assert.deepEqual(logged.filter((l) => /^request .* failed/.test(l)), []);
    // A chunk that does not start at the offset is refused with the offset.
    const wrong = await refused(h.admin.putModelChunk(up.uploadId, a.file, 0, 1023, a.data.length), 409);
    assert.match(wrong.message, new RegExp(`at byte ${sent}`));
    // Announcing the same artifact again is the same upload, at its offset (what `models publish` does to resume).
    const again = await h.admin.createModelUpload('defects', { version: '1.1.0', format: 'onnx', sha256: a.sha256, bytes: a.data.length });
    assert.deepEqual([again.uploadId, again.offset], [up.uploadId, offset]);
    const v = await h.admin.publishModel('defects', a.file, { version: '1.1.0', format: 'onnx' });
    assert.equal(v.sha256, a.sha256);
    const res = await fetch(`${h.repo.url}${API_ROOT}/models/defects/versions/1.1.0/artifact`, { headers: { authorization: `Bearer ${h.repo.adminToken}` } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('etag'), `"${a.sha256}"`);
    assert.equal(sha(Buffer.from(await res.arrayBuffer())), a.sha256);
    await refused(h.admin.modelUploadOffset(up.uploadId), 404);
  });

  it('bytes that do not hash to the announced sha256 are refused (422 naming sha256) and the upload discarded', async () => {
    const a = writeArtifact('c.onnx', 200_000);
    const up = await h.admin.createModelUpload('defects', { version: '1.2.0', format: 'onnx', sha256: sha(Buffer.from('something else')), bytes: a.data.length });
    const e = await refused(h.admin.putModelChunk(up.uploadId, a.file, 0, a.data.length - 1, a.data.length), 422);
    assert.deepEqual(e.problems.map((p) => p.field), ['sha256']);
    assert.match(e.problems[0]!.reason, new RegExp(`hash to ${a.sha256}`));
    await refused(h.admin.getModelVersion('defects', '1.2.0'), 404);
    await refused(h.admin.modelUploadOffset(up.uploadId), 404);
    assert.equal(fs.readdirSync(path.join(h.dataDir, 'models', 'uploads')).filter((f) => f.startsWith(up.uploadId)).length, 0);
    assert.equal((await h.admin.audit({ subject: 'defects@1.2.0' }))[0]!.action, 'model.upload.refused');
  });

  it('more bytes than the Content-Range names: 413; a bad Content-Range: 422 naming it', async () => {
    const a = writeArtifact('d.onnx', 1000);
    const up = await h.admin.createModelUpload('over', { version: '1.0.0', format: 'onnx', sha256: a.sha256, bytes: 1000 });
    const put = (range: string | undefined, body: Buffer) =>
      fetch(`${h.repo.url}${API_ROOT}/models/uploads/${up.uploadId}`, { method: 'PUT', headers: { authorization: `Bearer ${h.repo.adminToken}`, 'content-type': 'application/octet-stream', ...(range ? { 'content-range': range } : {}) }, body: new Uint8Array(body) });
    const bad = await put(undefined, a.data);
    assert.equal(bad.status, 422);
    assert.equal((await bad.json()).problems[0].field, 'Content-Range');
    assert.equal((await put('bytes 0-999/5000', a.data)).status, 422);
    assert.equal((await put('bytes 0-99/1000', a.data)).status, 413);
    assert.equal(await h.admin.modelUploadOffset(up.uploadId), 0, 'a refused chunk leaves nothing behind');
    const e = await refused(h.admin.createModelUpload('over', { version: '1.0.0', format: 'onnx', sha256: a.sha256, bytes: 3 * 1024 ** 3 }), 422);
    assert.deepEqual(e.problems.map((p) => p.field), ['bytes']);
  });

  it('immutable: the same version again (or equal by precedence) is 409, at announcement and at completion', async () => {
    const a = writeArtifact('e.onnx', 5000);
    await h.admin.publishModel('fixed', a.file, { version: '2.0.0', format: 'onnx' });
    for (const version of ['2.0.0', '2.0.0+b1']) {
      const e = await refused(h.admin.createModelUpload('fixed', { version, format: 'onnx', sha256: a.sha256, bytes: 5000 }), 409);
      assert.match(e.problems[0]!.reason, /already published/);
    }
    const put = await fetch(`${h.repo.url}${API_ROOT}/models/fixed/versions/2.0.0`, { method: 'PUT', headers: { authorization: `Bearer ${h.repo.adminToken}` } });
    assert.equal(put.status, 405);
  });

  it('8 publishers of one version at once: exactly one succeeds, seven are 409, one version stored', async () => {
    const uploads = Array.from({ length: 8 }, (_, i) => writeArtifact(`race-${i}.onnx`, 300_000));
    const results = await Promise.allSettled(
      uploads.map((a, i) => new RepoClient({ url: h.repo.url, token: h.repo.adminToken }).publishModel('raced', a.file, { version: i % 2 ? `3.0.0+b${i}` : '3.0.0', format: 'onnx' })),
    );
    const statuses = results.map((r) => (r.status === 'rejected' ? (r.reason as { status: number }).status : 201));
    assert.equal(statuses.filter((s) => s === 201).length, 1, `statuses ${statuses.join(', ')}`);
    assert.deepEqual(statuses.filter((s) => s !== 201), Array(7).fill(409));
    const stored = (await h.admin.getModel('raced')).versions;
    assert.equal(stored.length, 1);
    const winner = uploads[statuses.indexOf(201)]!;
    assert.equal(stored[0]!.sha256, winner.sha256);
  });

  it('Range: a middle range, an open range, a suffix, an unsatisfiable one; If-None-Match answers 304', async () => {
    const a = writeArtifact('f.onnx', 10_000);
    await h.admin.publishModel('ranged', a.file, { version: '1.0.0', format: 'onnx' });
    const get = (headers: Record<string, string>) => fetch(`${h.repo.url}${API_ROOT}/models/ranged/versions/1.0.0/artifact`, { headers: { authorization: `Bearer ${h.repo.adminToken}`, ...headers } });
    const mid = await get({ range: 'bytes=100-199' });
    assert.equal(mid.status, 206);
    assert.equal(mid.headers.get('content-range'), 'bytes 100-199/10000');
    assert.deepEqual(Buffer.from(await mid.arrayBuffer()), a.data.subarray(100, 200));
    const open = await get({ range: 'bytes=9000-' });
    assert.deepEqual(Buffer.from(await open.arrayBuffer()), a.data.subarray(9000));
    const suffix = await get({ range: 'bytes=-10' });
    assert.deepEqual(Buffer.from(await suffix.arrayBuffer()), a.data.subarray(9990));
    const outside = await get({ range: 'bytes=20000-' });
    assert.equal(outside.status, 416);
    assert.equal(outside.headers.get('content-range'), 'bytes */10000');
    assert.equal((await get({ 'if-none-match': `"${a.sha256}"` })).status, 304);
    // If-Range with another ETag: the whole artifact, not a piece of something else.
    const stale = await get({ range: 'bytes=100-199', 'if-range': '"0000"' });
    assert.equal(stale.status, 200);
    assert.equal((await stale.arrayBuffer()).byteLength, 10_000);
  });

  it('auth: no token 401 before any byte is read; a device token 403 on upload and on a model not assigned to it', async () => {
    const a = writeArtifact('g.onnx', 2000);
    const up = await h.admin.createModelUpload('guarded', { version: '1.0.0', format: 'onnx', sha256: a.sha256, bytes: 2000 });
    await refused(h.anon().listModels(), 401);
    await refused(h.anon().putModelChunk(up.uploadId, a.file, 0, 1999, 2000), 401);
    assert.equal(await h.admin.modelUploadOffset(up.uploadId), 0, 'an unauthenticated chunk wrote nothing');
    const { token } = await h.admin.registerDevice({ id: 'model-dev-1', tier: 'line', parameters: { LINE_ID: 'L1' } });
    const device = h.device(token);
    const e = await refused(device.createModelUpload('guarded', { version: '1.0.1', format: 'onnx', sha256: a.sha256, bytes: 2000 }), 403);
    assert.match(e.message, /needs role deployer; a device token was given/);
    await refused(device.putModelChunk(up.uploadId, a.file, 0, 1999, 2000), 403);
    await h.admin.putModelChunk(up.uploadId, a.file, 0, 1999, 2000);
    await refused(device.getModelVersion('guarded', '1.0.0'), 403);
    const art = await fetch(`${h.repo.url}${API_ROOT}/models/guarded/versions/1.0.0/artifact`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(art.status, 403);
    assert.match((await art.json()).error, /not assigned to device model-dev-1/);
  });

  it('a deployment assigns models: ranges resolve to the newest match, pins override; the device may then download exactly those', async () => {
    const a = writeArtifact('h1.onnx', 1000);
    const b = writeArtifact('h2.onnx', 1000);
    const c = writeArtifact('h3.onnx', 1000);
    await h.admin.publishModel('detector', a.file, { version: '1.0.0', format: 'onnx' });
    await h.admin.publishModel('detector', b.file, { version: '1.4.0', format: 'onnx' });
    await h.admin.publishModel('detector', c.file, { version: '2.0.0', format: 'onnx' });
    await h.admin.createTemplate(lineTemplate);
    await h.admin.publishVersion(lineTemplate.slug, { version: '1.0.0', flow: lineFlow('m'), models: [{ name: 'detector', range: '^1.0.0' }] });
    const e = await refused(h.admin.publishVersion(lineTemplate.slug, { version: '1.0.1', flow: lineFlow('m'), models: [{ name: 'detector', range: 'not a range' }] }), 422);
    assert.deepEqual(e.problems.map((p) => p.field), ['models[0].range']);
    const { token } = await h.admin.registerDevice({ id: 'model-dev-2', tier: 'line', parameters: { LINE_ID: 'L2', BROKER_URL: 'mqtt://localhost:1883' } });
    const device = h.device(token);
    const dep = await h.admin.createDeployment({ template: lineTemplate.slug, version: '1.0.0', target: { ids: ['model-dev-2'] } });
    assert.deepEqual(dep.models, [{ name: 'detector', version: '1.4.0' }]);
    const d1 = await device.desired('model-dev-2');
    assert.ok(!d1.notModified);
    assert.deepEqual(d1.state.models!.map((m) => [m.name, m.version, m.sha256, m.bytes]), [['detector', '1.4.0', b.sha256, 1000]]);
    const doc = await device.getModelVersion('detector', '1.4.0');
    assert.equal(doc.signature, d1.state.models![0]!.signature);
    await refused(device.getModelVersion('detector', '2.0.0'), 403);
    // A canary of a model alone: same flow version, the model pinned.
    const dep2 = await h.admin.createDeployment({ template: lineTemplate.slug, version: '1.0.0', target: { ids: ['model-dev-2'] }, models: { detector: '2.0.0' } });
    assert.deepEqual(dep2.models, [{ name: 'detector', version: '2.0.0' }]);
    const d2 = await device.desired('model-dev-2');
    assert.ok(!d2.notModified);
    assert.equal(d2.state.models![0]!.version, '2.0.0');
    assert.ok(d2.state.generation > d1.state.generation);
    await device.getModelVersion('detector', '2.0.0');
    // What it ran before stays readable (a rollback returns it there).
    await device.getModelVersion('detector', '1.4.0');
    const unknown = await refused(h.admin.createDeployment({ template: lineTemplate.slug, version: '1.0.0', target: { ids: ['model-dev-2'] }, models: { detector: '9.9.9' } }), 422);
    assert.deepEqual(unknown.problems.map((p) => p.field), ['models.detector']);
    // Rolling the model deployment back restores the model it had.
    await h.admin.rollbackDeployment(dep2.id);
    const d3 = await device.desired('model-dev-2');
    assert.ok(!d3.notModified);
    assert.equal(d3.state.models![0]!.version, '1.4.0');
    // A running report names the models: the device document shows them.
    await device.reportStatus('model-dev-2', { deviceId: 'model-dev-2', state: 'running', running: `${lineTemplate.slug}@1.0.0`, models: [{ name: 'detector', version: '1.4.0' }], ts: Date.now() });
    assert.deepEqual((await h.admin.getDevice('model-dev-2')).models, [{ name: 'detector', version: '1.4.0' }]);
  });

  it('an upload abandoned for more than 7 days is discarded, bytes and all, when the next one is announced', async () => {
    const a = writeArtifact('old.onnx', 4000);
    const up = await h.admin.createModelUpload('abandoned', { version: '1.0.0', format: 'onnx', sha256: a.sha256, bytes: 4000 });
    await h.admin.putModelChunk(up.uploadId, a.file, 0, 1999, 4000);
    const partial = path.join(h.dataDir, 'models', 'uploads', `${up.uploadId}.partial`);
    assert.ok(fs.existsSync(partial));
    h.clock.advance(6 * 24 * 3600 * 1000);
    await h.admin.createModelUpload('abandoned', { version: '1.0.1', format: 'onnx', sha256: a.sha256, bytes: 4000 });
    assert.equal(await h.admin.modelUploadOffset(up.uploadId), 2000, 'six days old: kept');
    h.clock.advance(2 * 24 * 3600 * 1000);
    await h.admin.createModelUpload('abandoned', { version: '1.0.2', format: 'onnx', sha256: a.sha256, bytes: 4000 });
    await refused(h.admin.modelUploadOffset(up.uploadId), 404);
    assert.ok(!fs.existsSync(partial));
  });
});
