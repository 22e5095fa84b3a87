// 1920x1200 JPEG -> 1024-wide WebP q80 plus a 256-px thumbnail: images/s through image-compress in a real
// Node-RED (in this process; messages handed to the node, completion seen through Node-RED's onComplete
// hook) against raw sharp doing the same two encodes with the same concurrency (a promise pool) in the
// same run. Goal: >= 90% of raw sharp. Also jimp 0.22 (what node-red-contrib-image-tools runs on) on
// the same images: resize to 1024 wide and 256 px, JPEG q80 (jimp 0.22 cannot write WebP).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { productImage } from '../runtime/dev/simulators/camera-images';
import { startRuntime } from '../runtime/tier/tier-runtime';
import { freePort } from '../test/support/services';
import { waitFor } from '../test/support/wait';
import { report } from './support/report';

const COUNT = Number(process.env.LINESIGHT_COMPRESS_COUNT ?? 40);
const JIMP_COUNT = Number(process.env.LINESIGHT_JIMP_COUNT ?? 4);
const CONCURRENCY = os.availableParallelism();
const RUNS = 3;

async function rawSharp(images: Buffer[]): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < COUNT) {
      const buf = images[next++ % images.length];
      await Promise.all([
        sharp(buf, { limitInputPixels: 100_000_000, failOn: 'warning' }).resize({ width: 1024, withoutEnlargement: true, fit: 'inside' }).webp({ quality: 80 }).toBuffer(),
        sharp(buf, { limitInputPixels: 100_000_000, failOn: 'warning' }).resize({ width: 256, height: 256, fit: 'inside', withoutEnlargement: true }).webp({ quality: 80 }).toBuffer(),
      ]);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return performance.now() - t0;
}

async function jimpRun(images: Buffer[]): Promise<number> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Jimp = require('jimp');
  const t0 = performance.now();
  for (let i = 0; i < JIMP_COUNT; i++) {
    const img = await Jimp.read(images[i % images.length]);
    const thumb = img.clone().scaleToFit(256, 256);
    img.resize(1024, Jimp.AUTO).quality(80);
    await img.getBufferAsync(Jimp.MIME_JPEG);
    await thumb.quality(80).getBufferAsync(Jimp.MIME_JPEG);
  }
  return performance.now() - t0;
}

async function main() {
  const frames = await Promise.all([1, 2, 3, 4].map((seed) => productImage({ width: 1920, height: 1200, defects: seed % 3, seed, quality: 90 })));
  const images = frames.map((f) => f.data);

  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-bench-compress-'));
  const flows = [
    { id: 'tab1', type: 'tab', label: 'bench' },
    { id: 'ic1', z: 'tab1', type: 'image-compress', format: 'webp', quality: 80, maxWidth: 1024, thumbnail: true, thumbnailSize: 256, concurrency: CONCURRENCY, maxQueued: COUNT, x: 300, y: 100, wires: [[]] },
  ];
  fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows));
  const rt = await startRuntime({ tier: 'line', port: await freePort(), userDir, insecure: true, logLevel: 'warn' });
  const node = await waitFor('image-compress started', () => rt.RED.nodes.getNode('ic1'), 30_000);
  let completed = 0;
  let failed = '';
  let onAll: () => void = () => {};
  rt.RED.hooks.add('onComplete.benchCompress', (e: { node: { id: string }; error?: Error }) => {
    if (e.node.id !== 'ic1') return;
    if (e.error) failed ||= e.error.message;
    if (++completed === COUNT) onAll();
  });
  const throughNode = async (): Promise<number> => {
    completed = 0;
    const all = new Promise<void>((r) => (onAll = r));
    const t0 = performance.now();
    for (let i = 0; i < COUNT; i++) {
      const f = frames[i % frames.length];
      node.receive({ payload: { inspectionId: `b-${i}`, site: 's', line: 'l', cameraId: 'c', capturedAt: 1, detections: f.detections, image: { data: f.data, format: 'jpeg', width: 1920, height: 1200 } } });
    }
    await all;
    if (failed) throw new Error(`image-compress failed: ${failed}`);
    return performance.now() - t0;
  };

  // warm-up both paths (libvips caches, JIT)
  await rawSharp(images);
  await throughNode();
  let bestRaw = Infinity;
  let bestNode = Infinity;
  for (let i = 0; i < RUNS; i++) {
    bestRaw = Math.min(bestRaw, await rawSharp(images));
    bestNode = Math.min(bestNode, await throughNode());
  }
  rt.RED.hooks.remove('onComplete.benchCompress');
  await rt.close();
  const jimpMs = await jimpRun(images);

  const rate = (n: number, ms: number) => n / (ms / 1000);
  const nodeRate = rate(COUNT, bestNode);
  const jimpRate = rate(JIMP_COUNT, jimpMs);
  report({
    bench: 'image-compress',
    metric: '1920x1200 JPEG -> 1024w WebP q80 + 256px thumbnail',
    value: nodeRate,
    unit: 'img/s',
    baseline: rate(COUNT, bestRaw),
    note: `baseline: raw sharp, same two encodes, ${CONCURRENCY} at once; ${COUNT} images, best of ${RUNS}; load average ${os.loadavg()[0].toFixed(1)} on ${CONCURRENCY} cores; goal >= 0.9`,
  });
  report({
    bench: 'image-compress',
    metric: 'same work on jimp 0.22 (node-red-contrib-image-tools engine; JPEG q80 outputs, jimp cannot write WebP)',
    value: jimpRate,
    unit: 'img/s',
    baseline: null,
    note: `${JIMP_COUNT} images, one at a time (jimp is pure JS on the main thread); node-red-contrib-image-tools measured here: 3.3 img/s`,
  });
  report({
    bench: 'image-compress',
    metric: 'image-compress vs jimp 0.22 on the same images',
    value: nodeRate,
    unit: 'img/s',
    baseline: jimpRate,
    note: `ratio = times faster than jimp; vs node-red-contrib-image-tools' measured 3.3 img/s: ${(nodeRate / 3.3).toFixed(1)}x`,
  });
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
