// vision-detect: inspections/s and p99 latency through the node in a real Node-RED (in this process, the
// test helper's runtime; messages handed to the node, results seen at the next node) beside raw
// onnxruntime-node running the same model in the same run, with the same in-flight count and threads
// (closed loops, raw and node runs alternating).
// JPEG decoding and the letterbox cost more than the inference itself for a 320x320 model, so the main
// baseline is raw onnxruntime-node fed by the same sharp letterbox (no NMS); the inference stage alone
// (the node's Detector.infer on pre-processed tensors, decode + NMS included, vs raw session.run on the
// same tensors) is reported beside it. Goal: >= 0.9 of raw.
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { productImage, type ProductImage } from '../runtime/dev/simulators/camera-images';
import { PACKAGE_ROOT } from '../runtime/paths';
import { Detector, letterboxImage, modelFromFile, type PreparedImage } from '../nodes/vision-detect';
import { waitFor } from '../test/support/wait';
import { percentile, report } from './support/report';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const helper = require('node-red-node-test-helper');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const visionDetect = require('../nodes/vision-detect/vision-detect');

const MODEL_DIR = path.join(PACKAGE_ROOT, 'models', 'defect-detector', process.env.LINESIGHT_VD_MODEL ?? '1.1.0');
const COUNT = Number(process.env.LINESIGHT_VD_COUNT ?? 100);
const CONCURRENCY = Number(process.env.LINESIGHT_VD_CONCURRENCY ?? os.availableParallelism());
const THREADS = 1;
const RUNS = 5;
const WIDTH = 1280;
const HEIGHT = 800;

/** Runs `count` jobs with `inFlight` at once; returns elapsed ms and each job's latency. */
async function pool(count: number, inFlight: number, job: (i: number) => Promise<unknown>): Promise<{ ms: number; latencies: number[] }> {
  let next = 0;
  const latencies: number[] = [];
  const t0 = performance.now();
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const s = performance.now();
      await job(i);
      latencies.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { ms: performance.now() - t0, latencies };
}

async function main() {
  const frames: ProductImage[] = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((seed) => productImage({ width: WIDTH, height: HEIGHT, defects: seed % 4, seed, quality: 90 })));
  const ref = modelFromFile(MODEL_DIR);
  const { card } = ref;
  const decode = { confidence: card.thresholds.confidence, iou: card.thresholds.iou, maxDetections: 100 };
  const prepareOptions = { maxPixels: 100_000_000 };

  // Raw onnxruntime-node: its own session, same options the node uses.
  const session = await ort.InferenceSession.create(ref.file, { intraOpNumThreads: THREADS, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
  const rawRun = (tensor: Float32Array) => session.run({ [card.input.name]: new ort.Tensor('float32', tensor, [1, 3, card.input.height, card.input.width]) });
  const rawWithLetterbox = async (i: number) => {
    const f = frames[i % frames.length]!;
    const prepared = await letterboxImage({ data: f.data, format: 'jpeg', width: f.width, height: f.height }, card.input, prepareOptions);
    await rawRun(prepared.tensor);
  };
  const prepared: PreparedImage[] = await Promise.all(frames.map((f) => letterboxImage({ data: f.data, format: 'jpeg', width: f.width, height: f.height }, card.input, prepareOptions)));
  const detector = await Detector.load(ref, { threads: THREADS });

  // The node in a real Node-RED.
  helper.init(require.resolve('node-red'));
  await helper.startServer();
  await helper.load([visionDetect], [
    { id: 'f1', type: 'tab' },
    { z: 'f1', id: 'vd', type: 'vision-detect', source: 'file', model: MODEL_DIR, threads: THREADS, concurrency: CONCURRENCY, maxQueued: COUNT, wires: [['out']] },
    { z: 'f1', id: 'out', type: 'helper' },
  ]);
  const vd = helper.getNode('vd');
  const out = helper.getNode('out');
  const waiting = new Map<string, () => void>();
  let failures = 0;
  out.on('input', (m: { payload: { inspectionId: string; modelVersion?: string } }) => {
    if (m.payload.modelVersion !== ref.label) failures++;
    waiting.get(m.payload.inspectionId)?.();
  });
  vd.on('call:error', () => failures++);
  let seq = 0;
  const throughNode = (i: number) =>
    new Promise<void>((resolve) => {
      const id = `b-${seq++}`;
      waiting.set(id, () => (waiting.delete(id), resolve()));
      const f = frames[i % frames.length]!;
      vd.receive({ payload: { inspectionId: id, site: 's', line: 'l', cameraId: 'c', capturedAt: 1, detections: [], image: { data: f.data, format: 'jpeg', width: f.width, height: f.height } } });
    });
  await waitFor('the model loaded', () => vd.status.lastCall?.args[0]?.fill === 'green', 30_000);

  // Warm-up every path (JIT, ORT arenas, libvips caches).
  await pool(20, CONCURRENCY, rawWithLetterbox);
  await pool(20, CONCURRENCY, (i) => rawRun(prepared[i % prepared.length]!.tensor));
  await pool(20, CONCURRENCY, (i) => detector.infer(prepared[i % prepared.length]!, decode));
  await pool(20, CONCURRENCY, throughNode);

  let bestNode = Infinity;
  let bestRaw = Infinity;
  let bestRawInfer = Infinity;
  let bestCoreInfer = Infinity;
  const nodeLat: number[] = [];
  const rawLat: number[] = [];
  // Raw and node alternate, each a closed loop with exactly CONCURRENCY in flight (no time spent queueing), so
  // both see the same machine; the best run counts for throughput, every inspection for the latency.
  for (let r = 0; r < RUNS; r++) {
    const raw = await pool(COUNT, CONCURRENCY, rawWithLetterbox);
    const node = await pool(COUNT, CONCURRENCY, throughNode);
    bestRaw = Math.min(bestRaw, raw.ms);
    bestNode = Math.min(bestNode, node.ms);
    rawLat.push(...raw.latencies);
    nodeLat.push(...node.latencies);
    bestRawInfer = Math.min(bestRawInfer, (await pool(COUNT, CONCURRENCY, (i) => rawRun(prepared[i % prepared.length]!.tensor))).ms);
    bestCoreInfer = Math.min(bestCoreInfer, (await pool(COUNT, CONCURRENCY, (i) => detector.infer(prepared[i % prepared.length]!, decode))).ms);
  }
  if (failures) throw new Error(`${failures} inspections failed or carried another modelVersion`);
  await helper.unload();
  await helper.stopServer();
  await detector.release();
  await session.release();

  const rate = (ms: number) => COUNT / (ms / 1000);
  const context = `${ref.label}, ${WIDTH}x${HEIGHT} JPEG q90 -> ${card.input.width}x${card.input.height}, ${CONCURRENCY} in flight, intraOpNumThreads ${THREADS}, ${COUNT} per run, best of ${RUNS}; load average ${os.loadavg()[0]!.toFixed(1)} on ${os.availableParallelism()} cores`;
  report({
    bench: 'vision-detect',
    metric: 'inspections/s through the node (decode + letterbox + inference + NMS)',
    value: rate(bestNode),
    unit: 'img/s',
    baseline: rate(bestRaw),
    note: `baseline: raw onnxruntime-node fed by the same sharp letterbox (no NMS, no Node-RED); ${context}; goal >= 0.9`,
  });
  report({
    bench: 'vision-detect',
    metric: 'p99 latency through the node',
    value: percentile(nodeLat, 99),
    unit: 'ms',
    baseline: percentile(rawLat, 99),
    note: `${RUNS} x ${COUNT} inspections each; p50 ${percentile(nodeLat, 50).toFixed(2)} ms vs raw ${percentile(rawLat, 50).toFixed(2)} ms; baseline: raw onnxruntime-node with the same sharp letterbox; ratio = times the raw latency`,
  });
  report({
    bench: 'vision-detect',
    metric: 'inference stage: Detector.infer (run + decode + NMS) on pre-processed tensors',
    value: rate(bestCoreInfer),
    unit: 'inferences/s',
    baseline: rate(bestRawInfer),
    note: `baseline: raw session.run on the same tensors; ${context}`,
  });
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
