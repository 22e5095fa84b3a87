// How long the agent takes to bring a 100 MB model onto a line: download (HTTP, from the real repository),
// sha256 + signature check, atomic install and the current.json swap. Baseline, same run: a raw `curl`-like
// Node http GET of the same artifact from the same repository into a file, no checks. Best of 3 rounds each,
// alternating (shared machine). Also: the swap alone (current.json rewrite). Uses LINESIGHT_PG_URL when set.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DeviceApi } from '../runtime/agent/device-api';
import { AgentModels } from '../runtime/agent/models';
import { RepoClient } from '../runtime/repo/client';
import { createRepoServer } from '../runtime/repo/server';
import { dropSchema, freshSchema, pgService, stopEmbeddedServices } from '../test/support/services';
import { lineFlow, lineTemplate } from '../test/fixtures/repo/templates';
import { report, timeIt } from './support/report';

const BYTES = 100 * 1024 * 1024;
const ROUNDS = 5;

async function main(): Promise<void> {
  const db = await pgService();
  const schema = await freshSchema(db.url, 'modelbench');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'linesight-model-bench-'));
  const repo = await createRepoServer({ db: db.url, schema, dataDir: path.join(tmp, 'repo'), poolSize: db.kind === 'embedded' ? 1 : 4 });
  try {
    const admin = new RepoClient({ url: repo.url, token: repo.adminToken });
    const file = path.join(tmp, 'model.onnx');
    fs.writeFileSync(file, crypto.randomBytes(BYTES));
    await admin.publishModel('bench-detector', file, { version: '1.0.0', format: 'onnx', metadata: { classes: ['scratch'] } });
    await admin.createTemplate(lineTemplate);
    await admin.publishVersion(lineTemplate.slug, { version: '1.0.0', flow: lineFlow() });
    const { token } = await admin.registerDevice({ id: 'bench-line', tier: 'line', parameters: { LINE_ID: 'L1' } });
    await admin.createDeployment({ template: lineTemplate.slug, version: '1.0.0', target: { ids: ['bench-line'] }, models: { 'bench-detector': '1.0.0' } });
    const desired = await new RepoClient({ url: repo.url, token }).desired('bench-line');
    if (desired.notModified || !desired.state.models?.[0]) throw new Error('no model in the desired state');
    const want = desired.state.models[0];
    const api = new DeviceApi(repo.url, 'bench-line', token);
    const artifactUrl = `${repo.url}${want.href}/artifact`;

    const agentRun = async (round: number) => {
      const models = new AgentModels({ dir: path.join(tmp, `agent-${round}`), fetcher: { document: (href) => api.modelDocument(href), artifactRequest: (href) => api.artifactRequest(href) } });
      const ms = await timeIt(async () => {
        await models.ensure(want, repo.publicKeyPem);
        models.switchTo([{ name: want.name, version: want.version }]);
      });
      const swap = await timeIt(() => models.switchTo([{ name: want.name, version: want.version }]));
      fs.rmSync(path.join(tmp, `agent-${round}`), { recursive: true, force: true });
      return { ms, swap };
    };
    const rawRun = (round: number) =>
      timeIt(async () => {
        const res = await new Promise<http.IncomingMessage>((resolve, reject) => http.get(artifactUrl, { headers: { authorization: `Bearer ${token}` } }, resolve).on('error', reject));
        await pipeline(res, fs.createWriteStream(path.join(tmp, `raw-${round}.bin`)));
        fs.rmSync(path.join(tmp, `raw-${round}.bin`), { force: true });
      });

    let best = Infinity;
    let bestRaw = Infinity;
    let bestSwap = Infinity;
    for (let round = 0; round < ROUNDS; round++) {
      bestRaw = Math.min(bestRaw, await rawRun(round));
      const r = await agentRun(round);
      best = Math.min(best, r.ms);
      bestSwap = Math.min(bestSwap, r.swap);
    }
    const mb = BYTES / 1024 / 1024;
    report({ bench: 'model-download', metric: 'download+verify+install+swap 100 MB', value: best, unit: 'ms', baseline: bestRaw, note: `baseline: raw Node http GET into a file, same repository and bytes; best of ${ROUNDS}` });
    report({ bench: 'model-download', metric: 'throughput with checks', value: mb / (best / 1000), unit: 'MB/s', baseline: mb / (bestRaw / 1000) });
    report({ bench: 'model-download', metric: 'current.json swap', value: bestSwap, unit: 'ms', baseline: null, note: 'an unchanged switch reads model.json and current.json; a changed one writes current.json via temp + rename' });
  } finally {
    await repo.close();
    await dropSchema(db.url, schema).catch(() => {});
    fs.rmSync(tmp, { recursive: true, force: true });
    await stopEmbeddedServices();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
