// vision-detect in a real Node-RED with the project's own model: boxes against the camera simulator's ground
// truth, a Python grpcio camera (another process) sending images only through camera-intake -> vision-detect
// -> defect-rule, the hot swap 1.0.0 -> 1.1.0 under load, refused models (corrupt, wrong input shape, wrong
// sha256) while the old one keeps running, corrupt images to Catch, and the queue bound.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Inspection } from '../../../contracts/messages';
import { productImage, type ProductImage } from '../../../runtime/dev/simulators/camera-images';
import { iou } from '../../../nodes/vision-detect';
import { freePort } from '../../support/services';
import { waitFor } from '../../support/wait';
import { generateStubs, listening, pythonSubmit, type PySpec } from '../../fixtures/camera-intake/python-camera';
import { ModelsDir, NAME, SHIPPED, shippedMetadata } from './models-dir';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const helper = require('node-red-node-test-helper');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const visionDetect = require('../../../nodes/vision-detect/vision-detect');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const cameraIntake = require('../../../nodes/camera-intake/camera-intake');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const defectRule = require('../../../nodes/defect-rule/defect-rule');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const catchNode = require('@node-red/nodes/core/common/25-catch.js');

helper.init(require.resolve('node-red'));

const SIZES = [[1920, 1200], [1280, 800], [1024, 768], [800, 600], [640, 480]] as const;

function inspectionOf(id: string, frame: ProductImage): Inspection {
  return { inspectionId: id, site: 'plant1', line: 'line1', cameraId: 'cam-1', capturedAt: 1_760_000_000_000, detections: [], image: { data: frame.data, format: frame.format, width: frame.width, height: frame.height } };
}

/** A flow with vision-detect between a test input and a helper output, errors to a Catch node. */
function detectFlow(props: Record<string, unknown>) {
  return [
    { id: 'f1', type: 'tab' },
    { z: 'f1', id: 'vd', type: 'vision-detect', ...props, wires: [['out']] },
    { z: 'f1', id: 'out', type: 'helper' },
    { z: 'f1', id: 'catcher', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { z: 'f1', id: 'caught', type: 'helper' },
  ];
}

async function loadDetectFlow(props: Record<string, unknown>) {
  await helper.load([visionDetect, catchNode], detectFlow(props));
  const outs: any[] = [];
  const caught: any[] = [];
  const errors: string[] = [];
  const statuses: Array<{ fill?: string; text?: string }> = [];
  helper.getNode('out').on('input', (m: any) => outs.push(m));
  helper.getNode('caught').on('input', (m: any) => caught.push(m));
  const vd = helper.getNode('vd');
  vd.on('call:error', (call: any) => errors.push(String(call.args[0]?.message ?? call.args[0])));
  vd.on('call:status', (call: any) => statuses.push(call.args[0]));
  return { vd, outs, caught, errors, statuses };
}

describe('vision-detect (integration, real Node-RED, the project model)', function () {
  this.timeout(180_000);
  let models: ModelsDir | undefined;
  beforeEach(async () => {
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    models?.remove();
    models = undefined;
  });

  it('finds the simulator defects on 20 fixed images: IoU >= 0.5 and the right class for >= 90% of objects, boxes in image pixels', async () => {
    const { vd, outs, caught } = await loadDetectFlow({ source: 'file', model: path.join(SHIPPED, '1.1.0'), concurrency: '2', maxQueued: '32' });
    const frames: ProductImage[] = [];
    for (let i = 0; i < 20; i++) {
      const [width, height] = SIZES[i % SIZES.length]!;
      frames.push(await productImage({ width, height, defects: 1 + (i % 4), seed: 2100 + i }));
    }
    frames.forEach((f, i) => vd.receive({ payload: inspectionOf(`acc-${i}`, f) }));
    await waitFor('20 results', () => outs.length + caught.length === 20, 120_000);
    assert.deepEqual(caught.map((c) => c.error.message), []);
    let objects = 0;
    let found = 0;
    const misses: string[] = [];
    for (const out of outs) {
      const i = Number(out.payload.inspectionId.slice(4));
      const frame = frames[i]!;
      assert.equal(out.payload.modelVersion, 'defect-detector@1.1.0');
      for (const d of out.payload.detections) {
        assert.ok(d.box.x >= 0 && d.box.y >= 0 && d.box.x + d.box.width <= frame.width + 1e-6 && d.box.y + d.box.height <= frame.height + 1e-6, 'box inside the original image');
      }
      for (const truth of frame.detections) {
        objects++;
        const best = Math.max(0, ...out.payload.detections.filter((d: any) => d.defectClass === truth.defectClass).map((d: any) => iou(d.box, truth.box!)));
        if (best >= 0.5) found++;
        else misses.push(`${out.payload.inspectionId} ${truth.defectClass} (best IoU ${best.toFixed(2)})`);
      }
    }
    console.log(`      ${found} of ${objects} objects found (IoU >= 0.5, right class); missed: ${misses.join(', ') || 'none'}`);
    assert.ok(objects >= 40, `${objects} objects`);
    assert.ok(found / objects >= 0.9, `${found}/${objects} found; missed ${misses.join(', ')}`);
  });

  it('a camera that sends only images gets detections, a verdict and line actions (Python grpcio camera -> camera-intake -> vision-detect -> defect-rule)', async () => {
    const stubs = generateStubs();
    try {
      const port = await freePort();
      const flow = [
        { id: 'f1', type: 'tab' },
        { z: 'f1', id: 'ci', type: 'camera-intake', host: '127.0.0.1', port, site: 'plant1', line: 'line1', wires: [['vd']] },
        { z: 'f1', id: 'vd', type: 'vision-detect', source: 'file', model: path.join(SHIPPED, '1.1.0'), wires: [['dr']] },
        {
          z: 'f1', id: 'dr', type: 'defect-rule',
          rules: [{ id: 'any-defect', condition: { classes: ['scratch', 'dent', 'hole'], minConfidence: 0.5 }, window: { kind: 'each' }, action: { kind: 'divert', severity: 'warning', writes: [{ tag: 'divert', value: true }] } }],
          wires: [['actions'], ['verdicts']],
        },
        { z: 'f1', id: 'actions', type: 'helper' },
        { z: 'f1', id: 'verdicts', type: 'helper' },
      ];
      await helper.load([cameraIntake, visionDetect, defectRule], flow);
      await waitFor('intake listening', () => listening(port), 20_000);
      const actions: any[] = [];
      const verdicts: any[] = [];
      helper.getNode('actions').on('input', (m: any) => actions.push(m));
      helper.getNode('verdicts').on('input', (m: any) => verdicts.push(m));
      const frames = [
        await productImage({ width: 1280, height: 800, defects: 2, seed: 31 }),
        await productImage({ width: 1280, height: 800, defects: 0, seed: 32 }),
        await productImage({ width: 1024, height: 768, defects: 3, seed: 33 }),
        await productImage({ width: 800, height: 600, defects: 0, seed: 34 }),
      ];
      const specs: PySpec[] = frames.map((f, i) => ({
        inspection_id: `cam-${i}`,
        camera_id: 'cam-1',
        captured_at_ms: Date.now(),
        detections: [],
        image: { data_b64: f.data.toString('base64'), format: f.format, width: f.width, height: f.height },
      }));
      const replies = await pythonSubmit(stubs, `127.0.0.1:${port}`, specs);
      assert.deepEqual(replies.map((r) => r.code), ['OK', 'OK', 'OK', 'OK']);
      await waitFor('four verdicts', () => verdicts.length === 4, 60_000);
      const byId = new Map(verdicts.map((v) => [v.payload.inspectionId, v]));
      frames.forEach((f, i) => {
        const v = byId.get(`cam-${i}`);
        assert.ok(v, `verdict for cam-${i}`);
        assert.equal(v.payload.modelVersion, 'defect-detector@1.1.0');
        assert.equal(v.verdict.result, f.detections.length ? 'fail' : 'pass', `cam-${i}: ${f.detections.length} defects drawn, model saw ${JSON.stringify(v.payload.detections.map((d: any) => d.defectClass))}`);
        if (f.detections.length) assert.deepEqual(new Set(v.payload.detections.map((d: any) => d.defectClass)), new Set(f.detections.map((d) => d.defectClass)));
      });
      await waitFor('two actions', () => actions.length === 2, 10_000);
      assert.deepEqual(actions.map((a) => a.payload.inspectionId).sort(), ['cam-0', 'cam-2']);
      assert.deepEqual(actions[0].payload.writes, [{ tag: 'divert', value: true }]);
    } finally {
      fs.rmSync(stubs, { recursive: true, force: true });
    }
  });

  it('hot-swaps 1.0.0 -> 1.1.0 under load: every inspection out exactly once, modelVersion switches once in input order', async () => {
    models = new ModelsDir();
    models.install('1.0.0');
    const { vd, outs, caught, statuses } = await loadDetectFlow({ source: 'name', model: NAME, modelsDir: models.dir, concurrency: '2', maxQueued: '100', pollSeconds: '1' });
    const frames = await Promise.all([0, 1, 2, 3].map((i) => productImage({ width: 640, height: 480, defects: i, seed: 70 + i })));
    let sent = 0;
    let swapped = false;
    const send = () => vd.receive({ payload: inspectionOf(`hs-${sent}`, frames[sent++ % frames.length]!) });
    // Keep eight in flight; after 20 results the agent installs 1.1.0; go on until 1.1.0 did 20 more.
    for (let i = 0; i < 8; i++) send();
    await waitFor('the swap under load', () => {
      while (sent - outs.length - caught.length < 8 && sent < 2000) send();
      if (!swapped && outs.length >= 20) {
        models!.install('1.1.0');
        swapped = true;
      }
      return outs.filter((o) => o.payload.modelVersion === 'defect-detector@1.1.0').length >= 20;
    }, 120_000, 5);
    await waitFor('the rest', () => outs.length + caught.length === sent, 60_000);
    assert.deepEqual(caught.map((c) => c.error.message), []);
    const ids = outs.map((o) => o.payload.inspectionId);
    assert.equal(new Set(ids).size, ids.length, 'no inspection twice');
    assert.equal(ids.length, sent, 'none lost');
    const versions = [...outs].sort((a, b) => Number(a.payload.inspectionId.slice(3)) - Number(b.payload.inspectionId.slice(3))).map((o) => o.payload.modelVersion);
    const switches = versions.filter((v, i) => i > 0 && v !== versions[i - 1]).length;
    assert.equal(versions[0], 'defect-detector@1.0.0');
    assert.equal(versions.at(-1), 'defect-detector@1.1.0');
    assert.equal(switches, 1, 'modelVersion changes exactly once in input order');
    console.log(`      ${sent} inspections, ${versions.filter((v) => v.endsWith('1.0.0')).length} by 1.0.0 then ${versions.filter((v) => v.endsWith('1.1.0')).length} by 1.1.0`);
    await waitFor('green status with the new version', () => statuses.at(-1)?.fill === 'green' && statuses.at(-1)?.text === 'defect-detector@1.1.0');
  });

  it('refuses a corrupt model, a wrong input shape and a wrong sha256 with named errors; the old model keeps running; a good version then swaps in', async () => {
    models = new ModelsDir();
    models.install('1.0.0');
    const { vd, outs, caught, errors, statuses } = await loadDetectFlow({ source: 'name', model: NAME, modelsDir: models.dir, pollSeconds: '1' });
    const frame = await productImage({ width: 800, height: 600, defects: 2, seed: 91 });
    let n = 0;
    const examine = async () => {
      const id = `m-${n++}`;
      vd.receive({ payload: inspectionOf(id, frame) });
      const out = await waitFor(`result of ${id}`, () => outs.find((o) => o.payload.inspectionId === id), 30_000);
      return out.payload.modelVersion as string;
    };
    assert.equal(await examine(), 'defect-detector@1.0.0');
    const good = fs.readFileSync(path.join(SHIPPED, '1.1.0', 'model.onnx'));

    const refusals: Array<[string, () => void, RegExp]> = [
      [
        'corrupt file',
        () => {
          models!.add('1.2.0', good.subarray(0, Math.floor(good.length / 2)));
          models!.point('1.2.0', { ...shippedMetadata('1.1.0'), version: '1.2.0' });
        },
        /model defect-detector@1\.2\.0: .*1\.2\.0\/model\.onnx is not a model ONNX Runtime can load \(corrupt file\?\).*; still running defect-detector@1\.0\.0/,
      ],
      [
        'wrong input shape',
        () => {
          models!.add('1.3.0', good);
          const meta = shippedMetadata('1.1.0');
          models!.point('1.3.0', { ...meta, version: '1.3.0', input: { ...meta.input, shape: [1, 3, 256, 256], width: 256, height: 256 } });
        },
        /model defect-detector@1\.3\.0: wrong input shape: the model's input "images" is \[1, 3, 320, 320\], its metadata says \[1, 3, 256, 256\]; still running defect-detector@1\.0\.0/,
      ],
      [
        'sha256 mismatch (half-written file)',
        () => {
          models!.add('1.4.0', good);
          models!.point('1.4.0', { ...shippedMetadata('1.1.0'), version: '1.4.0' }, { sha256: '0'.repeat(64) });
        },
        /model defect-detector@1\.4\.0: .* has sha256 [0-9a-f]{64}, expected 0{64} \(corrupt or half-written file\); still running defect-detector@1\.0\.0/,
      ],
    ];
    for (const [what, install, message] of refusals) {
      const before = errors.length;
      install();
      const err = await waitFor(`the error for ${what}`, () => errors.slice(before).find((e) => message.test(e)), 20_000);
      assert.match(err, message);
      const st = statuses.at(-1)!;
      assert.equal(st.fill, 'red', `red status after ${what}`);
      assert.match(st.text!, /^defect-detector@1\.0\.0 · defect-detector@\S+ refused$/, 'the status names the model still running, then the one refused');
      assert.equal(await examine(), 'defect-detector@1.0.0', `1.0.0 still examines after ${what}`);
    }
    models.install('1.1.0');
    await waitFor('1.1.0 in use', () => statuses.at(-1)?.text === 'defect-detector@1.1.0', 20_000);
    assert.equal(statuses.at(-1)!.fill, 'green');
    assert.equal(await examine(), 'defect-detector@1.1.0');
    assert.deepEqual(caught, []);
  });

  it('a model file that cannot load at deploy: red status, and every inspection fails naming the model and the reason', async () => {
    models = new ModelsDir();
    const good = fs.readFileSync(path.join(SHIPPED, '1.0.0', 'model.onnx'));
    const file = models.add('1.0.0', Buffer.concat([good.subarray(0, 1000), Buffer.alloc(5000, 7)]));
    fs.copyFileSync(path.join(SHIPPED, '1.0.0', 'model.json'), path.join(path.dirname(file), 'model.json'));
    const { vd, outs, caught, statuses } = await loadDetectFlow({ source: 'file', model: file });
    await waitFor('red status', () => statuses.at(-1)?.fill === 'red', 20_000);
    assert.match(statuses.at(-1)!.text!, /defect-detector@1\.0\.0 failed to load/);
    vd.receive({ payload: inspectionOf('x-1', await productImage({ width: 320, height: 200, seed: 1 })) });
    await waitFor('the error', () => caught.length === 1, 20_000);
    assert.match(caught[0].error.message, /inspection x-1: model defect-detector@1\.0\.0: .* is not a model ONNX Runtime can load/);
    assert.equal(outs.length, 0, 'nothing half-written goes on');
  });

  it('a model name the agent has not installed yet: red status, inspections fail naming it; once installed it runs', async () => {
    models = new ModelsDir();
    const { vd, outs, caught, statuses } = await loadDetectFlow({ source: 'name', model: NAME, modelsDir: models.dir, pollSeconds: '1' });
    // Logged while the node starts, before a listener can be attached: read Node-RED's log.
    const logged = helper.log().args.map((a: any[]) => String(a[0]?.msg ?? ''));
    assert.ok(logged.some((m: string) => /model defect-detector: cannot read .*current\.json: ENOENT; waiting for the agent to install it/.test(m)), logged.join('\n'));
    await waitFor('red status', () => statuses.at(-1)?.fill === 'red', 10_000);
    assert.match(statuses.at(-1)!.text!, /defect-detector not installed/);
    const frame = await productImage({ width: 640, height: 480, defects: 1, seed: 12 });
    vd.receive({ payload: inspectionOf('early', frame) });
    await waitFor('the error', () => caught.length === 1, 10_000);
    assert.match(caught[0].error.message, /inspection early: model defect-detector: no model loaded \(defect-detector not installed\)/);
    models.install('1.0.0');
    // The count of failed inspections stays in the status: "defect-detector@1.0.0 · 1 failed".
    await waitFor('green with the model', () => statuses.at(-1)?.text === 'defect-detector@1.0.0 · 1 failed' && statuses.at(-1)?.fill === 'green', 20_000);
    vd.receive({ payload: inspectionOf('later', frame) });
    await waitFor('the result', () => outs.some((o) => o.payload.inspectionId === 'later' && o.payload.modelVersion === 'defect-detector@1.0.0'), 20_000);
  });

  it('a corrupt image goes to Catch naming the model and the reason; an inspection without an image passes through', async () => {
    const { vd, outs, caught } = await loadDetectFlow({ source: 'file', model: path.join(SHIPPED, '1.1.0') });
    const frame = await productImage({ width: 1280, height: 800, defects: 1, seed: 5 });
    vd.receive({ payload: inspectionOf('bad-1', { ...frame, data: frame.data.subarray(0, Math.floor(frame.data.length * 0.5)) }) });
    const { image: _image, ...noImage } = inspectionOf('no-image', frame);
    vd.receive({ payload: { ...noImage, detections: [{ defectClass: 'scratch', confidence: 0.7 }] } });
    vd.receive({ payload: inspectionOf('good-1', frame) });
    await waitFor('two out, one caught', () => outs.length === 2 && caught.length === 1, 30_000);
    assert.equal(caught[0].payload.inspectionId, 'bad-1');
    assert.match(caught[0].error.message, /vision-detect: inspection bad-1: model defect-detector@1\.1\.0: image \(declared jpeg 1280x800\) is corrupt or truncated/);
    const passed = outs.find((o) => o.payload.inspectionId === 'no-image');
    assert.deepEqual(passed.payload.detections, [{ defectClass: 'scratch', confidence: 0.7 }]);
    assert.equal(passed.payload.modelVersion, undefined);
    assert.equal(outs.find((o) => o.payload.inspectionId === 'good-1').payload.detections.length, 1);
  });

  it('refuses inspections beyond its queue bound with an error each, and keeps going', async () => {
    const { vd, outs, caught } = await loadDetectFlow({ source: 'file', model: path.join(SHIPPED, '1.0.0'), concurrency: '1', maxQueued: '1' });
    const frame = await productImage({ width: 1920, height: 1200, defects: 1, seed: 8 });
    for (let i = 0; i < 6; i++) vd.receive({ payload: inspectionOf(`q-${i}`, frame) });
    await waitFor('all six accounted for', () => outs.length + caught.length === 6, 60_000);
    assert.ok(caught.length >= 1, 'some refused');
    assert.ok(outs.length >= 2, 'the running and the queued one are done');
    for (const c of caught) assert.match(c.error.message, /inspection q-\d: too many images waiting \(1 queued\); this one is refused/);
    vd.receive({ payload: inspectionOf('after', frame) });
    await waitFor('the later one', () => outs.some((m) => m.payload.inspectionId === 'after'), 30_000);
  });
});
