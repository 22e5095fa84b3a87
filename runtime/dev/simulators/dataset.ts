// `linesight simulate dataset`: a training or validation set of the camera simulator's synthetic product images,
// drawn by the same renderer the camera sends, with YOLO-format labels, the class names and a manifest.
// One dataset seed always gives the same files, byte for byte (see models/training/README.md).
import type { Command } from 'commander';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DEFECT_CLASSES, imageSize, productImage, prng } from './camera-images';

export interface DatasetOptions {
  /** Folder to write; it must not exist yet or be empty. */
  out: string;
  /** Number of images. */
  count: number;
  /** Dataset seed: each image's seed is drawn from it. */
  seed: number;
  /** Image sizes; each image takes one of them at random. */
  sizes: { width: number; height: number }[];
  /** Defects per image, drawn uniformly from min..max (0 = a good part). */
  defects?: { min: number; max: number };
  /** JPEG quality, as the camera simulator sends (90). */
  quality?: number;
  /** Images rendered at once. */
  concurrency?: number;
  onProgress?(done: number, total: number): void;
}

export interface DatasetImage {
  file: string;
  label: string;
  seed: number;
  width: number;
  height: number;
  defects: number;
  sha256: string;
}

export interface DatasetManifest {
  format: 'linesight-synthetic-defects/1';
  generator: string;
  seed: number;
  count: number;
  sizes: string[];
  defects: { min: number; max: number };
  quality: number;
  classes: string[];
  /** Objects per class over the whole set, and images with no defect. */
  counts: { objects: Record<string, number>; goodImages: number };
  /** sha256 over the image and label hashes in order: one line to compare two datasets by. */
  sha256: string;
  images: DatasetImage[];
}

/**
 * Image seeds are drawn at or above this, so a dataset never holds the pictures that tests and the camera
 * simulator draw from small seeds (1..3, 100..108): those stay held out from every training set.
 */
export const FIRST_DATASET_IMAGE_SEED = 1_000_000;

/** YOLO label line: class index, then centre x, centre y, width, height, all relative to the image size. */
export function yoloLabel(classIndex: number, box: { x: number; y: number; width: number; height: number }, width: number, height: number): string {
  const f = (v: number) => v.toFixed(6);
  return `${classIndex} ${f((box.x + box.width / 2) / width)} ${f((box.y + box.height / 2) / height)} ${f(box.width / width)} ${f(box.height / height)}`;
}

export async function writeDataset(options: DatasetOptions): Promise<DatasetManifest> {
  const { out, count, seed, sizes } = options;
  const defects = options.defects ?? { min: 0, max: 4 };
  const quality = options.quality ?? 90;
  if (!Number.isInteger(count) || count < 1) throw new Error(`count must be a whole number >= 1, got ${count}`);
  if (!sizes.length) throw new Error('sizes must name at least one image size');
  for (const s of sizes) if (!(Number.isInteger(s.width) && Number.isInteger(s.height) && s.width >= 16 && s.height >= 16)) throw new Error(`sizes: ${s.width}x${s.height} must be whole numbers >= 16`);
  if (!(Number.isInteger(defects.min) && Number.isInteger(defects.max) && defects.min >= 0 && defects.max >= defects.min && defects.max <= 50)) {
    throw new Error(`defects must be min-max with 0 <= min <= max <= 50, got ${defects.min}-${defects.max}`);
  }
  if (fs.existsSync(out) && fs.readdirSync(out).length) throw new Error(`out: ${out} is not empty; give a new or empty folder`);
  fs.mkdirSync(path.join(out, 'images'), { recursive: true });
  fs.mkdirSync(path.join(out, 'labels'), { recursive: true });

  // Everything random is drawn up front, in order, so the dataset does not depend on the concurrency.
  const rnd = prng(seed);
  const plan = Array.from({ length: count }, (_, i) => {
    const imageSeed = FIRST_DATASET_IMAGE_SEED + Math.floor(rnd() * (0xffffffff - FIRST_DATASET_IMAGE_SEED));
    const size = sizes[Math.floor(rnd() * sizes.length)];
    const n = defects.min + Math.floor(rnd() * (defects.max - defects.min + 1));
    const name = String(i).padStart(6, '0');
    return { i, name, imageSeed, size, n };
  });

  const images: DatasetImage[] = new Array(count);
  const objects: Record<string, number> = Object.fromEntries(DEFECT_CLASSES.map((c) => [c, 0]));
  let goodImages = 0;
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < plan.length) {
      const item = plan[next++];
      const img = await productImage({ width: item.size.width, height: item.size.height, defects: item.n, seed: item.imageSeed, format: 'jpeg', quality });
      const lines = img.detections.map((d) => yoloLabel(DEFECT_CLASSES.indexOf(d.defectClass as (typeof DEFECT_CLASSES)[number]), d.box!, img.width, img.height));
      const label = lines.length ? lines.join('\n') + '\n' : '';
      const file = `images/${item.name}.jpg`;
      const labelFile = `labels/${item.name}.txt`;
      fs.writeFileSync(path.join(out, file), img.data);
      fs.writeFileSync(path.join(out, labelFile), label);
      for (const d of img.detections) objects[d.defectClass]++;
      if (!img.detections.length) goodImages++;
      const sha256 = crypto.createHash('sha256').update(img.data).update('\0').update(label).digest('hex');
      images[item.i] = { file, label: labelFile, seed: item.imageSeed, width: img.width, height: img.height, defects: img.detections.length, sha256 };
      options.onProgress?.(++done, count);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 2, count)) }, worker));

  const all = crypto.createHash('sha256');
  for (const im of images) all.update(im.sha256);
  const manifest: DatasetManifest = {
    format: 'linesight-synthetic-defects/1',
    generator: 'linesight simulate dataset (runtime/simulators/camera-images.ts productImage)',
    seed,
    count,
    sizes: sizes.map((s) => `${s.width}x${s.height}`),
    defects,
    quality,
    classes: [...DEFECT_CLASSES],
    counts: { objects, goodImages },
    sha256: all.digest('hex'),
    images,
  };
  fs.writeFileSync(path.join(out, 'classes.txt'), DEFECT_CLASSES.join('\n') + '\n');
  // data.yaml in the layout YOLO trainers read (Ultralytics and the like): images/ beside labels/.
  const yaml = ['# written by linesight simulate dataset', `path: ${JSON.stringify(path.resolve(out))}`, 'train: images', 'val: images', 'names:', ...DEFECT_CLASSES.map((c, i) => `  ${i}: ${c}`), ''];
  fs.writeFileSync(path.join(out, 'data.yaml'), yaml.join('\n'));
  fs.writeFileSync(path.join(out, 'dataset.json'), JSON.stringify(manifest, null, 1) + '\n');
  return manifest;
}

export function parseSizes(s: string): { width: number; height: number }[] {
  return s.split(',').map((part) => {
    const size = imageSize(part);
    if (!size) throw new Error(`--size must be WxH[,WxH...] with each side >= 16, e.g. 1920x1200,640x480; got "${part}"`);
    return size;
  });
}

export function parseDefectRange(s: string): { min: number; max: number } {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s.trim());
  const min = m ? +m[1] : NaN;
  const max = m ? +(m[2] ?? m[1]) : NaN;
  if (!m || max < min || max > 50) throw new Error(`--defects must be N or MIN-MAX within 0..50, e.g. 0-4; got "${s}"`);
  return { min, max };
}

export function register(sim: Command): void {
  sim
    .command('dataset')
    .description("write a YOLO-format dataset of the camera simulator's synthetic product images (training data for the defect model)")
    .requiredOption('--out <dir>', 'folder to write (new or empty): images/, labels/, classes.txt, data.yaml, dataset.json')
    .option('--count <n>', 'number of images', '1000')
    .option('--seed <n>', 'dataset seed (same seed, same files)', '1')
    .option('--size <WxH[,WxH...]>', 'image sizes; each image takes one at random', '1920x1200')
    .option('--defects <min-max>', 'defects per image, drawn uniformly', '0-4')
    .option('--quality <q>', 'JPEG quality', '90')
    .option('--concurrency <n>', 'images rendered at once', '2')
    .action(async (opts) => {
      const count = Number(opts.count);
      const seed = Number(opts.seed);
      const quality = Number(opts.quality);
      const concurrency = Number(opts.concurrency);
      if (!(Number.isInteger(count) && count >= 1)) throw new Error(`--count must be a whole number >= 1, got "${opts.count}"`);
      if (!(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff)) throw new Error(`--seed must be a whole number within 0..4294967295, got "${opts.seed}"`);
      if (!(Number.isInteger(quality) && quality >= 1 && quality <= 100)) throw new Error(`--quality must be within 1..100, got "${opts.quality}"`);
      if (!(Number.isInteger(concurrency) && concurrency >= 1)) throw new Error(`--concurrency must be a whole number >= 1, got "${opts.concurrency}"`);
      const started = Date.now();
      let shown = 0;
      const manifest = await writeDataset({
        out: opts.out, count, seed, sizes: parseSizes(opts.size), defects: parseDefectRange(opts.defects), quality, concurrency,
        onProgress: (done, total) => {
          if (done === total || Date.now() - shown > 2000) {
            shown = Date.now();
            process.stderr.write(`dataset: ${done}/${total} images\n`);
          }
        },
      });
      const objects = Object.entries(manifest.counts.objects).map(([c, n]) => `${c} ${n}`).join(', ');
      console.log(`dataset: ${manifest.count} images in ${opts.out} (${objects}; ${manifest.counts.goodImages} good parts), sha256 ${manifest.sha256}, ${((Date.now() - started) / 1000).toFixed(1)} s`);
    });
}
