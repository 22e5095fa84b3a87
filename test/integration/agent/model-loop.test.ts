// The vision-AI loop on real processes: the repository, an edge agent supervising a line runtime whose flow
// is camera-intake -> vision-detect (the model installed by the agent) -> timescale-sink (PostgreSQL), and
// the camera simulator sending images only. Model 1.0.0 runs; 1.1.0 is published and canaried to the line
// while the camera sends; the inspections switch to defect-detector@1.1.0 with every accepted inspection in
// the history exactly once, and the history's model-comparison shows both versions.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { PACKAGE_ROOT } from '../../../runtime/paths';
import { startHistoryServer, type HistoryServer } from '../../../runtime/history/server';
import { probeFlow } from '../../fixtures/agent/flows';
import { dropSchema, freePort, freshSchema, pgService } from '../../support/services';
import { waitFor } from '../../support/wait';
import { startFleet, uniqueId, type AgentUnderTest, type Fleet } from './fleet';

const MODEL = 'defect-detector';
const modelDir = (version: string) => path.join(PACKAGE_ROOT, 'models', MODEL, version);
// 40 s at 8 images/s: room for publishing, deploying and installing 1.1.0 mid-stream on a loaded machine (20 s was
// not always enough in a full CI run).
const COUNT = 320;

function loopFlow(cameraPort: number, dbUrl: string, schema: string): unknown[] {
  return probeFlow('loop', [
    { id: 'cam', z: 'tab1', type: 'camera-intake', name: 'camera (images only)', host: '127.0.0.1', port: cameraPort, site: 'plant1', line: 'line1', tls: 'none', maxWaiting: 64, releaseOn: 'done', holdTimeoutS: 60, wires: [['detect']] },
    // The agent tells the runtime where models live (LINESIGHT_MODELS_DIR); the node re-reads current.json every second.
    { id: 'detect', z: 'tab1', type: 'vision-detect', name: 'defect detector', source: 'name', model: MODEL, modelsDir: '', confidence: 0, iou: 0, maxDetections: 100, threads: 1, concurrency: 2, maxQueued: 64, maxPixels: 100000000, pollSeconds: 1, wires: [['sink']] },
    { id: 'db', type: 'timescale-db', name: 'history', url: dbUrl, tls: 'disable', poolSize: 2, schema, connectTimeoutMs: 10000 },
    { id: 'sink', z: 'tab1', type: 'timescale-sink', name: 'history', db: 'db', target: 'contracts', timeColumn: 'time', createTables: true, timescale: 'auto', partitionDaysAhead: 2, compressAfterDays: 0, retainDays: 0, images: 'none', batchSize: 50, batchAgeMs: 100, maxInFlight: 2, maxMemoryRows: 100000, method: 'auto', spool: false, spoolMaxMB: 16, closeGraceMs: 5000, wires: [] },
  ]);
}

interface CameraReport {
  sent: number;
  accepted: number;
  rejected: Record<string, number>;
  done: boolean;
}

/** `linesight simulate camera --images-only` as a child process; resolves with its final report. */
function camera(port: number): { done: Promise<CameraReport>; stop(): void } {
  const child = spawn(process.execPath, [path.join(PACKAGE_ROOT, 'bin', 'linesight.js'), 'simulate', 'camera', '--json', '--images-only', '--target', `127.0.0.1:${port}`, '--rate', '8', '--count', String(COUNT), '--size', '640x400', '--defect-rate', '0.6'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const done = new Promise<CameraReport>((resolve, reject) =>
    child.on('exit', (code) => {
      const last = out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as CameraReport).find((r) => r.done);
      if (code !== 0 || !last) reject(new Error(`camera simulator exited ${code}: ${err || out}`));
      else resolve(last);
    }),
  );
  return { done, stop: () => child.kill('SIGTERM') };
}

describe('the vision-AI loop: model v1 at the line, v2 canaried, the history by model version', function () {
  this.timeout(300_000);
  let fleet: Fleet;
  let line: AgentUnderTest;
  let schema: string;
  let pgUrl: string;
  let history: HistoryServer | undefined;
  let cam: ReturnType<typeof camera> | undefined;
  const id = uniqueId('line-loop');

  before(async function () {
    this.timeout(120_000);
    pgUrl = (await pgService()).url;
    schema = await freshSchema(pgUrl, 'mloop');
    fleet = await startFleet({ broker: false });
    line = await fleet.startAgent(id, await fleet.register(id, { LINE_ID: 'line1' }), { pollIntervalMs: 300 });
  });
  after(async function () {
    this.timeout(60_000);
    cam?.stop();
    await history?.close();
    await fleet?.close();
    if (schema) await dropSchema(pgUrl, schema).catch(() => {});
  });

  const rows = async (sql: string, params: unknown[] = []) => {
    const c = new Client({ connectionString: pgUrl });
    await c.connect();
    try {
      return (await c.query(sql, params)).rows;
    } finally {
      await c.end();
    }
  };
  const byVersion = async () => Object.fromEntries((await rows(`select model_version, count(*)::int as n from "${schema}".inspections group by 1`).catch(() => [])).map((r) => [r.model_version, r.n])) as Record<string, number>;

  it('v1 runs on the camera images; v2 published and deployed mid-stream; no inspection lost or stored twice; both versions compared', async () => {
    const publish = (version: string) => {
      const metadata = JSON.parse(fs.readFileSync(path.join(modelDir(version), 'model.json'), 'utf8'));
      return fleet.h.admin.publishModel(MODEL, path.join(modelDir(version), 'model.onnx'), { version, format: 'onnx', metadata, changelog: metadata.changelog });
    };
    await publish('1.0.0');
    const cameraPort = await freePort();
    await fleet.h.admin.publishVersion('agent-probe', { version: '1.0.0', flow: loopFlow(cameraPort, pgUrl, schema), models: [{ name: MODEL, range: '^1.0.0' }], changelog: 'vision loop' });
    await fleet.deploy({ version: '1.0.0', target: { ids: [id] } });
    await line.waitFor('running', 'agent-probe@1.0.0', 120_000);
    assert.equal(line.agent.models.current(MODEL)?.version, '1.0.0');

    cam = camera(cameraPort);
    const v1 = `${MODEL}@1.0.0`;
    const v2 = `${MODEL}@1.1.0`;
    await waitFor('inspections examined by 1.0.0 in the history', async () => ((await byVersion())[v1]! >= 20 ? true : null), 90_000);

    // The first deployment is settled (its health window passed, the flow is the agent's last good one) before
    // the model-only change: only a flow the agent knows is healthy and unedited is kept without a redeploy.
    await waitFor('the flow to be the last good one', () => line.agent.running === 'agent-probe@1.0.0' && !(line.agent as unknown as { inHealthWindow: boolean }).inHealthWindow, 90_000);
    // A user publishes 1.1.0 and canaries it to the line: same flow version, the model pinned.
    await publish('1.1.0');
    await fleet.deploy({ version: '1.0.0', target: { ids: [id] }, models: { [MODEL]: '1.1.0' } });
    await waitFor('the agent to install 1.1.0', () => (line.agent.models.current(MODEL)?.version === '1.1.0' ? true : null), 90_000);
    // The agent switches the models, then decides (after reading the running flow) whether the flow must be
    // redeployed too; the first deployment made the first such decision.
    const decisions = () => line.output.filter((l) => /same flow with new models, not redeployed|new models, and the flow is redeployed/.test(l));
    const decided = await waitFor('the agent to decide about the flow', () => (decisions().length >= 2 ? decisions() : null), 60_000);
    assert.match(decided[decided.length - 1]!, /same flow with new models, not redeployed/, 'a model-only change does not restart the flow (cameras would be turned away)');
    await waitFor('inspections examined by 1.1.0 in the history', async () => ((await byVersion())[v2]! >= 10 ? true : null), 90_000);

    const report = await cam.done;
    cam = undefined;
    assert.equal(report.sent, COUNT);
    await waitFor('every accepted inspection in the history', async () => {
      const counts = await byVersion();
      return Object.values(counts).reduce((a, b) => a + b, 0) >= report.accepted ? counts : null;
    }, 60_000);
    const [totals] = await rows(`select count(*)::int as n, count(distinct inspection_id)::int as ids from "${schema}".inspections`);
    assert.equal(totals.ids, report.accepted, `every accepted inspection stored (rejected: ${JSON.stringify(report.rejected)})`);
    assert.equal(totals.n, totals.ids, 'no inspection stored twice');
    assert.equal(report.accepted, COUNT, `the camera's inspections were all accepted across the swap (rejected: ${JSON.stringify(report.rejected)})`);
    const versions = await byVersion();
    assert.deepEqual(Object.keys(versions).sort(), [v1, v2], 'every inspection carries the model version that examined it');
    // The switch holds: the last inspections captured are all 1.1.0's.
    const last = await rows(`select model_version from "${schema}".inspections order by time desc limit 5`);
    assert.deepEqual(last.map((r) => r.model_version), new Array(5).fill(v2));
    const [dets] = await rows(`select count(*)::int as n from "${schema}".detections`);
    assert.ok(dets.n > 0, 'the model found defects on the images (the camera sent none)');
    await waitFor('the repository to show the line on 1.1.0', async () => ((await fleet.device(id)).models?.find((m) => m.name === MODEL)?.version === '1.1.0' ? true : null), 30_000);

    // The history API over that database compares the two versions on the line.
    history = await startHistoryServer({ db: pgUrl, schema, allowWritableRole: true });
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const res = await fetch(`${history.url}/model-comparison?from=${from}&to=${to}&line=line1`);
    const body = (await res.json()) as { rows: Array<{ modelVersion: string | null; inspections: number; defective: number; detections: number }> };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.deepEqual(body.rows.map((r) => r.modelVersion).sort(), [v1, v2]);
    for (const r of body.rows) assert.equal(r.inspections, versions[r.modelVersion!], `${r.modelVersion}: the comparison counts what the history holds`);
  });
});
