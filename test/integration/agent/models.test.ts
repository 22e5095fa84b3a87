// Models delivered by the edge agent, against the real repository and real Node-RED runtimes: a deployment
// installs a model (current.json appears, the runtime is told where), a model alone is canaried to one line,
// an artifact tampered in the repository's storage is refused and the line stays on its model, a failed
// health window puts the previous model back, a boot without network starts on the last good model, and a
// download cut by a repository restart resumes where it stopped.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { RepoClient } from '../../../runtime/repo/client';
import { createRepoServer, type RepoServer } from '../../../runtime/repo/server';
import type { CurrentModel } from '../../../runtime/agent/models';
import { probeFlow, probeTemplate, unhealthyFlow } from '../../fixtures/agent/flows';
import { tempDir } from '../../support/runtime-process';
import { dropSchema, freePort, freshSchema, pgService } from '../../support/services';
import { waitFor } from '../../support/wait';
import { startAgentUnderTest, startFleet, uniqueId, type AgentUnderTest, type Fleet } from './fleet';

const V = (v: string) => `agent-probe@${v}`;
const metadata = { input: { width: 320, height: 320, channels: 3, layout: 'NCHW' }, classes: ['scratch', 'hole', 'stain'], metrics: { precision: 0.9 } };

/**
 * Answers GET /models-dir with the LINESIGHT_MODELS_DIR the runtime process was started with (read from the
 * process environment itself: a template may read only the parameters it declares through env.get).
 */
function modelProbeFlow(name: string): unknown[] {
  return probeFlow(name, [
    { id: 'in9', z: 'tab1', type: 'http in', url: '/models-dir', method: 'get', upload: false, swaggerDoc: '', wires: [['fn9']] },
    { id: 'fn9', z: 'tab1', type: 'function', name: 'models dir', func: "msg.payload = { dir: Buffer.constructor('return process')().env.LINESIGHT_MODELS_DIR };\nreturn msg;", outputs: 1, wires: [['out1']] },
  ]);
}

function artifact(dir: string, name: string, bytes: number): { file: string; data: Buffer; sha256: string } {
  const data = crypto.randomBytes(bytes);
  const file = path.join(dir, name);
  fs.writeFileSync(file, data);
  return { file, data, sha256: crypto.createHash('sha256').update(data).digest('hex') };
}

const currentOf = (a: AgentUnderTest, model: string): CurrentModel | null => a.agent.models.current(model);

describe('edge agent: models from the repository', function () {
  this.timeout(180_000);
  let fleet: Fleet;
  let a: AgentUnderTest;
  let b: AgentUnderTest;
  let files: string;
  const ids = { a: uniqueId('line-ma'), b: uniqueId('line-mb') };
  const tokens: Record<string, string> = {};
  const models: Record<string, { file: string; data: Buffer; sha256: string }> = {};

  before(async function () {
    this.timeout(120_000);
    files = tempDir('linesight-model-files-');
    fleet = await startFleet({ broker: false });
    tokens.a = await fleet.register(ids.a, { LINE_ID: 'L1' });
    tokens.b = await fleet.register(ids.b, { LINE_ID: 'L2' });
    [a, b] = await Promise.all([fleet.startAgent(ids.a, tokens.a, { pollIntervalMs: 300 }), fleet.startAgent(ids.b, tokens.b, { pollIntervalMs: 300 })]);
    for (const [v, size] of [['1.0.0', 1_500_000], ['2.0.0', 1_200_000], ['3.0.0', 800_000], ['4.0.0', 900_000]] as const) {
      models[v] = artifact(files, `detector-${v}.onnx`, size);
      await fleet.h.admin.publishModel('detector', models[v]!.file, { version: v, format: 'onnx', metadata: { ...metadata, changelog: `v${v}` } });
    }
    await fleet.h.admin.publishVersion(probeTemplate.slug, { version: '1.0.0', flow: modelProbeFlow('v1'), models: [{ name: 'detector', range: '^1.0.0' }] });
  });
  after(async function () {
    this.timeout(60_000);
    await fleet?.close();
    if (files) fs.rmSync(files, { recursive: true, force: true });
  });

  it('a deployment installs the model: current.json names it, the runtime knows the folder, the repository shows it', async () => {
    const dep = await fleet.deploy({ version: '1.0.0', target: { tier: 'line' } });
    await Promise.all([a.waitFor('running', V('1.0.0')), b.waitFor('running', V('1.0.0'))]);
    for (const x of [a, b]) {
      const cur = currentOf(x, 'detector')!;
      assert.deepEqual({ ...cur, metadata: undefined }, { name: 'detector', version: '1.0.0', file: '1.0.0/model.onnx', sha256: models['1.0.0']!.sha256, metadata: undefined });
      assert.deepEqual(cur.metadata.classes, metadata.classes);
      assert.deepEqual(fs.readFileSync(path.join(x.agent.models.dir, 'detector', cur.file)), models['1.0.0']!.data);
      const doc = JSON.parse(fs.readFileSync(path.join(x.agent.models.dir, 'detector', '1.0.0', 'model.json'), 'utf8'));
      assert.equal(doc.signature.length > 0, true);
      const res = await fetch(`${x.url}models-dir`);
      assert.deepEqual(await res.json(), { dir: x.agent.models.dir });
    }
    await waitFor('the repository to show the model running', async () => {
      const d = await fleet.device(ids.a);
      return d.models?.[0]?.version === '1.0.0' ? d : null;
    });
    await waitFor('the deployment to complete', async () => ((await fleet.h.admin.getDeployment(dep)).state === 'completed' ? true : null), 30_000);
  });

  it('canary of a model alone: one line gets 2.0.0 with the same flow; the other stays on 1.0.0', async () => {
    const dep = await fleet.deploy({ version: '1.0.0', target: { ids: [ids.a] }, models: { detector: '2.0.0' } });
    await waitFor('line a on model 2.0.0', () => (currentOf(a, 'detector')?.version === '2.0.0' && a.agent.state === 'running' ? true : null), 60_000);
    await waitFor('the model canary to complete', async () => ((await fleet.h.admin.getDeployment(dep)).state === 'completed' ? true : null), 30_000);
    assert.equal(currentOf(b, 'detector')?.version, '1.0.0');
    assert.deepEqual((await a.probe())?.version, 'v1');
    assert.deepEqual(a.reports.at(-1)?.models, [{ name: 'detector', version: '2.0.0' }]);
    // Both versions stay installed beside each other (rollback needs the previous one).
    assert.deepEqual(fs.readdirSync(path.join(a.agent.models.dir, 'detector')).filter((f) => !f.startsWith('.')).sort(), ['1.0.0', '2.0.0', 'current.json']);
  });

  it('an artifact tampered in the repository storage is refused; the line stays on its model', async () => {
    const blob = path.join(fleet.h.dataDir, 'models', 'blobs', models['3.0.0']!.sha256.slice(0, 2), models['3.0.0']!.sha256);
    const bytes = fs.readFileSync(blob);
    bytes[1000] = bytes[1000]! ^ 0xff;
    fs.writeFileSync(blob, bytes);
    await fleet.deploy({ version: '1.0.0', target: { ids: [ids.a] }, models: { detector: '3.0.0' } });
    const failed = await a.waitFor('failed', V('1.0.0'));
    assert.match(failed.reasons.join('\n'), /detector@3\.0\.0 refused: the artifact downloaded hashes to [0-9a-f]{64}, not the signed/);
    assert.equal(currentOf(a, 'detector')?.version, '2.0.0');
    assert.ok(!fs.existsSync(path.join(a.agent.models.dir, 'detector', '3.0.0')), 'nothing of the tampered artifact is installed');
    assert.equal((await a.probe())?.version, 'v1', 'the runtime still answers');
  });

  it('a change with a new model whose health window fails: the previous model comes back with the flow', async () => {
    await fleet.publish('1.1.0', unhealthyFlow('v1.1'));
    await fleet.deploy({ version: '1.1.0', target: { ids: [ids.a] }, models: { detector: '4.0.0' } });
    const rolled = await a.waitFor('rolled-back', V('1.1.0'));
    assert.match(rolled.reasons.join('\n'), /calibration table missing/);
    assert.equal(currentOf(a, 'detector')?.version, '2.0.0');
    assert.equal(a.agent.running, V('1.0.0'));
    assert.ok(a.output.some((l) => /model detector@4\.0\.0 installed/.test(l)), 'the new model had been installed and switched to');
  });

  it('boots with no network on the last good model, current.json put back if a switch was interrupted', async () => {
    const userDir = a.userDir;
    const dir = a.agent.models.dir;
    await a.stop();
    // A switch cut short: current.json names a version that is not the last good one.
    fs.writeFileSync(path.join(dir, 'detector', 'current.json'), JSON.stringify({ name: 'detector', version: '4.0.0', file: '4.0.0/model.onnx', sha256: models['4.0.0']!.sha256, metadata: {} }));
    const deadPort = await freePort();
    const offline = await startAgentUnderTest(ids.a, { deviceId: ids.a, tier: 'line', repoUrl: `http://127.0.0.1:${deadPort}`, token: tokens.a, brokerUrl: null, pollIntervalMs: 1000, healthWindowMs: 2000, runtime: { port: await freePort(), userDir, logLevel: 'warn' } });
    try {
      assert.equal(offline.agent.state, 'running');
      assert.equal(offline.agent.running, V('1.0.0'));
      assert.equal(currentOf(offline, 'detector')?.version, '2.0.0');
      assert.equal((await offline.probe())?.version, 'v1');
      assert.deepEqual(await (await fetch(`${offline.url}models-dir`)).json(), { dir });
    } finally {
      await offline.stop();
    }
  });
});

describe('edge agent: a model download resumes after the repository restarts', function () {
  this.timeout(180_000);
  let repo: RepoServer | undefined;
  let agent: AgentUnderTest | undefined;
  let schema: string;
  let dataDir: string;
  let files: string;

  after(async function () {
    this.timeout(60_000);
    await agent?.stop().catch(() => {});
    await repo?.close().catch(() => {});
    const pg = await pgService();
    if (schema) await dropSchema(pg.url, schema).catch(() => {});
    for (const d of [dataDir, files]) if (d) fs.rmSync(d, { recursive: true, force: true });
  });

  it('the agent resumes from its .partial with Range, and installs the verified model', async () => {
    const pg = await pgService();
    schema = await freshSchema(pg.url, 'repomodel');
    dataDir = tempDir('linesight-repo-restart-');
    files = tempDir('linesight-model-files-');
    const port = await freePort();
    const start = () => createRepoServer({ db: pg.url, schema, dataDir, port, poolSize: pg.kind === 'embedded' ? 1 : 4 });
    repo = await start();
    const admin = new RepoClient({ url: repo.url, token: repo.adminToken });
    await admin.createTemplate(probeTemplate);
    await admin.publishVersion(probeTemplate.slug, { version: '1.0.0', flow: probeFlow('v1') });
    // Large beside the loopback socket buffers (a few MB the client holds after the server is gone).
    const big = artifact(files, 'big.onnx', 32 * 1024 * 1024);
    await admin.publishModel('detector', big.file, { version: '1.0.0', format: 'onnx', metadata });
    const id = uniqueId('line-mr');
    const { token } = await admin.registerDevice({ id, tier: 'line', parameters: { LINE_ID: 'L9' } });
    // 8 MiB/s: the download takes about 4 s, long enough to restart the repository in the middle.
    agent = await startAgentUnderTest(id, { deviceId: id, tier: 'line', repoUrl: repo.url, token, brokerUrl: null, pollIntervalMs: 300, healthWindowMs: 1500, modelRateBytesPerSec: 8 * 1024 * 1024, runtime: { port: await freePort(), userDir: tempDir('linesight-agent-'), logLevel: 'warn' } });
    await admin.createDeployment({ template: probeTemplate.slug, version: '1.0.0', target: { ids: [id] }, models: { detector: '1.0.0' } });
    const partial = path.join(agent.agent.models.dir, 'detector', '.1.0.0.partial');
    await waitFor('part of the model on disk', () => (fs.existsSync(partial) && fs.statSync(partial).size > 2 * 1024 * 1024 ? true : null), 30_000);
    await repo.close();
    const cutAt = fs.statSync(partial).size;
    assert.ok(cutAt < big.data.length, `cut at ${cutAt}`);
    repo = await start();
    await agent.waitFor('running', V('1.0.0'));
    const resumed = agent.output.find((l) => /resuming the download at byte (\d+)/.test(l));
    assert.ok(resumed, `no resume in the log:\n${agent.output.slice(-20).join('\n')}`);
    assert.ok(Number(/at byte (\d+)/.exec(resumed)![1]) >= cutAt, resumed);
    assert.equal(agent.agent.models.current('detector')?.sha256, big.sha256);
    assert.deepEqual(fs.readFileSync(path.join(agent.agent.models.dir, 'detector', '1.0.0', 'model.onnx')), big.data);
  });
});
