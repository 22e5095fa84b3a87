// Evaluates an exported defect-detector ONNX file with onnxruntime-node on a dataset written by
// `linesight simulate dataset`, the way the line runs it: sharp letterbox, one inference per image, YOLOv8-layout
// decoding, per-class non-maximum suppression, boxes mapped back to the image. Reports precision and recall per
// class at IoU >= 0.5 and the model's confidence threshold, AP50, and inference time per image.
// It is also the reference pre- and post-processing for the vision-detect node.
//
//   node models/training/evaluate.mjs --model models/defect-detector/1.0.0 --data models/training/work/test \
//     [--data another-set ...] --ort /tmp/ort/node_modules/onnxruntime-node [--json metrics.json] [--threads 1] [--conf 0.25] [--iou 0.45]
// Several --data sets are scored as one, with precision and recall per set beside.
//
// onnxruntime-node is not a dependency of the project: install it anywhere (see README.md) and pass --ort,
// or let it resolve normally.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(path.join(repoRoot, 'package.json'));

const MATCH_IOU = 0.5;
const MAX_DETECTIONS = 300;
/** Low score floor for the AP curve; precision/recall are read at the model's threshold from the same run. */
const CURVE_FLOOR = 0.001;

/** metadata_props of an ONNX file (ModelProto field 14: repeated {key = 1, value = 2}), read from the protobuf
 * directly because onnxruntime-node does not expose them. Other top-level fields are skipped by length. */
export function onnxMetadata(buf) {
  let pos = 0;
  const varint = (end) => {
    let v = 0, mul = 1, b;
    do {
      if (pos >= end) throw new Error('ONNX file is truncated (varint past the end)');
      b = buf[pos++];
      v += (b & 0x7f) * mul;
      mul *= 128;
    } while (b & 0x80);
    return v;
  };
  const fields = (start, end, onField) => {
    pos = start;
    while (pos < end) {
      const tag = varint(end);
      const field = Math.floor(tag / 8), wire = tag & 7;
      if (wire === 0) varint(end);
      else if (wire === 1) pos += 8;
      else if (wire === 5) pos += 4;
      else if (wire === 2) {
        const len = varint(end);
        if (pos + len > end) throw new Error(`ONNX file is truncated (field ${field} runs past the end)`);
        const at = pos;
        pos += len;
        onField(field, at, at + len);
      } else throw new Error(`ONNX file is corrupt (wire type ${wire})`);
    }
  };
  const props = {};
  fields(0, buf.length, (field, start, end) => {
    if (field !== 14) return;
    const resume = pos;
    let key = '', value = '';
    fields(start, end, (f, s, e) => {
      if (f === 1) key = buf.toString('utf8', s, e);
      else if (f === 2) value = buf.toString('utf8', s, e);
    });
    props[key] = value;
    pos = resume;
  });
  return props;
}

/** The model card a decoder needs, from the file's own metadata. */
export function modelCard(buf) {
  const meta = onnxMetadata(buf);
  const need = (k) => {
    if (!(k in meta)) throw new Error(`model metadata has no "${k}"`);
    return meta[k];
  };
  const [height, width] = JSON.parse(need('imgsz'));
  return {
    name: meta['linesight.name'],
    version: meta['linesight.version'],
    classes: JSON.parse(need('names')),
    width,
    height,
    thresholds: JSON.parse(meta['linesight.thresholds'] ?? '{"confidence":0.25,"iou":0.45}'),
    pad: JSON.parse(meta['linesight.input'] ?? '{}').letterbox?.pad ?? [114, 114, 114],
    meta,
  };
}

/** Letterbox: scale to fit width x height keeping the aspect, centre, pad; -> float32 NCHW RGB 0..1. */
export async function letterbox(sharp, image, card) {
  const info = await sharp(image).metadata();
  const scale = Math.min(card.width / info.width, card.height / info.height);
  const w = Math.round(info.width * scale), h = Math.round(info.height * scale);
  const left = Math.floor((card.width - w) / 2), top = Math.floor((card.height - h) / 2);
  // Monochrome cameras and PNGs with alpha are common: always three sRGB channels in, whatever came.
  const { data, info: out } = await sharp(image)
    .removeAlpha()
    .toColourspace('srgb')
    .resize(w, h, { fit: 'fill' })
    .extend({ top, bottom: card.height - h - top, left, right: card.width - w - left, background: { r: card.pad[0], g: card.pad[1], b: card.pad[2] } })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (out.channels !== 3 || out.width !== card.width || out.height !== card.height) {
    throw new Error(`letterbox gave ${out.width}x${out.height}x${out.channels}, the model needs ${card.width}x${card.height}x3`);
  }
  const plane = card.width * card.height;
  const tensor = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    tensor[i] = data[3 * i] / 255;
    tensor[plane + i] = data[3 * i + 1] / 255;
    tensor[2 * plane + i] = data[3 * i + 2] / 255;
  }
  return { tensor, scale, left, top, width: info.width, height: info.height };
}

function iou(a, b) {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/** YOLOv8 output [1, 4 + C, N] -> detections in image pixels: score floor, per-class NMS, mapped back, clipped. */
export function decode(output, dims, card, geometry, { conf, iou: iouThreshold, maxDetections = MAX_DETECTIONS }) {
  const [, rows, n] = dims;
  const classes = rows - 4;
  if (classes !== card.classes.length) throw new Error(`model output has ${classes} class rows but its metadata names ${card.classes.length} classes`);
  const candidates = [];
  for (let j = 0; j < n; j++) {
    let best = 0, cls = -1;
    for (let c = 0; c < classes; c++) {
      const s = output[(4 + c) * n + j];
      if (s > best) (best = s), (cls = c);
    }
    if (best < conf) continue;
    const cx = output[j], cy = output[n + j], w = output[2 * n + j], h = output[3 * n + j];
    // Back from the letterboxed input to the image, clipped to it.
    const x1 = Math.max(0, (cx - w / 2 - geometry.left) / geometry.scale), y1 = Math.max(0, (cy - h / 2 - geometry.top) / geometry.scale);
    const x2 = Math.min(geometry.width, (cx + w / 2 - geometry.left) / geometry.scale), y2 = Math.min(geometry.height, (cy + h / 2 - geometry.top) / geometry.scale);
    if (x2 <= x1 || y2 <= y1) continue;
    candidates.push({ classIndex: cls, defectClass: card.classes[cls], confidence: best, box: { x: x1, y: y1, width: x2 - x1, height: y2 - y1 } });
  }
  candidates.sort((a, b) => b.confidence - a.confidence);
  const kept = [];
  for (const d of candidates) {
    if (kept.length >= maxDetections) break;
    if (kept.some((k) => k.classIndex === d.classIndex && iou(k.box, d.box) > iouThreshold)) continue;
    kept.push(d);
  }
  return kept;
}

/** Greedy matching in score order, per class: each prediction takes the unmatched truth of its class it overlaps most. */
function match(predictions, truths) {
  const used = new Array(truths.length).fill(false);
  return predictions.map((p) => {
    let best = -1, bestIou = MATCH_IOU;
    truths.forEach((t, i) => {
      if (used[i] || t.classIndex !== p.classIndex) return;
      const v = iou(p.box, t.box);
      if (v >= bestIou) (bestIou = v), (best = i);
    });
    if (best >= 0) used[best] = true;
    return { classIndex: p.classIndex, confidence: p.confidence, tp: best >= 0, iou: best >= 0 ? bestIou : 0 };
  });
}

function averagePrecision(scored, positives) {
  if (!positives) return 0;
  const sorted = [...scored].sort((a, b) => b.confidence - a.confidence);
  let tp = 0, fp = 0;
  const points = sorted.map((s) => (s.tp ? tp++ : fp++, { recall: tp / positives, precision: tp / (tp + fp) }));
  // All-point interpolation: precision made monotone from the right, integrated over recall.
  for (let i = points.length - 2; i >= 0; i--) points[i].precision = Math.max(points[i].precision, points[i + 1].precision);
  let ap = 0, prevRecall = 0;
  for (const p of points) {
    ap += (p.recall - prevRecall) * p.precision;
    prevRecall = p.recall;
  }
  return ap;
}

function readLabels(file, width, height) {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  return text.split('\n').filter((l) => l.trim()).map((l) => {
    const [c, cx, cy, w, h] = l.trim().split(/\s+/).map(Number);
    return { classIndex: c, box: { x: (cx - w / 2) * width, y: (cy - h / 2) * height, width: w * width, height: h * height } };
  });
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
const round = (v, d = 4) => Math.round(v * 10 ** d) / 10 ** d;

async function main() {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' }, data: { type: 'string', multiple: true }, ort: { type: 'string' }, json: { type: 'string' },
      threads: { type: 'string', default: '1' }, conf: { type: 'string' }, iou: { type: 'string' }, limit: { type: 'string' },
    },
  });
  if (!values.model || !values.data?.length) throw new Error('usage: evaluate.mjs --model DIR|model.onnx --data DATASET_DIR [--ort PATH] [--json OUT] [--threads N] [--conf C] [--iou I] [--limit N]');
  const ort = require(values.ort ? path.resolve(values.ort) : 'onnxruntime-node');
  const sharp = require('sharp');
  sharp.concurrency(1);
  const modelFile = values.model.endsWith('.onnx') ? values.model : path.join(values.model, 'model.onnx');
  const bytes = fs.readFileSync(modelFile);
  const card = modelCard(bytes);
  const conf = values.conf !== undefined ? Number(values.conf) : card.thresholds.confidence;
  const iouThreshold = values.iou !== undefined ? Number(values.iou) : card.thresholds.iou;
  const threads = Number(values.threads);
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
  const sets = values.data.map((folder) => {
    const manifest = JSON.parse(fs.readFileSync(path.join(folder, 'dataset.json'), 'utf8'));
    if (JSON.stringify(manifest.classes) !== JSON.stringify(card.classes)) throw new Error(`dataset ${folder} names classes ${JSON.stringify(manifest.classes)}, the model ${JSON.stringify(card.classes)}`);
    const perClass = card.classes.map(() => ({ tp: 0, fp: 0, objects: 0 }));
    return { folder, manifest, images: values.limit ? manifest.images.slice(0, Number(values.limit)) : manifest.images, perClass };
  });

  const scored = card.classes.map(() => []);
  const positives = card.classes.map(() => 0);
  const inferMs = [], preMs = [], postMs = [];
  const ious = [];
  // One untimed run first: the first inference allocates.
  await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', new Float32Array(3 * card.width * card.height), [1, 3, card.height, card.width]) });
  for (const set of sets) for (const entry of set.images) {
    const image = fs.readFileSync(path.join(set.folder, entry.file));
    const t0 = performance.now();
    const geometry = await letterbox(sharp, image, card);
    const t1 = performance.now();
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', geometry.tensor, [1, 3, card.height, card.width]) });
    const t2 = performance.now();
    const output = out[session.outputNames[0]];
    const detections = decode(output.data, output.dims, card, geometry, { conf: CURVE_FLOOR, iou: iouThreshold });
    const t3 = performance.now();
    preMs.push(t1 - t0), inferMs.push(t2 - t1), postMs.push(t3 - t2);
    const truths = readLabels(path.join(set.folder, entry.label), entry.width, entry.height);
    for (const t of truths) positives[t.classIndex]++, set.perClass[t.classIndex].objects++;
    for (const m of match(detections, truths)) {
      scored[m.classIndex].push(m);
      if (m.confidence < conf) continue;
      if (m.tp) set.perClass[m.classIndex].tp++, ious.push(m.iou);
      else set.perClass[m.classIndex].fp++;
    }
  }

  const perClass = {};
  let tpAll = 0, fpAll = 0, posAll = 0;
  card.classes.forEach((name, c) => {
    const atConf = scored[c].filter((s) => s.confidence >= conf);
    const tp = atConf.filter((s) => s.tp).length, fp = atConf.length - tp;
    tpAll += tp, fpAll += fp, posAll += positives[c];
    perClass[name] = { precision: round(tp / Math.max(1, tp + fp)), recall: round(tp / Math.max(1, positives[c])), ap50: round(averagePrecision(scored[c], positives[c])), tp, fp, fn: positives[c] - tp, objects: positives[c] };
  });
  const sort = (a) => [...a].sort((x, y) => x - y);
  const timing = (a) => { const s = sort(a); return { mean: round(s.reduce((x, y) => x + y, 0) / s.length, 2), p50: round(quantile(s, 0.5), 2), p99: round(quantile(s, 0.99), 2) }; };
  const metrics = {
    heldOut: {
      datasets: sets.map((s) => {
        const score = ({ tp, fp, objects }) => ({ precision: round(tp / Math.max(1, tp + fp)), recall: round(tp / Math.max(1, objects)), tp, fp, fn: objects - tp });
        const sum = s.perClass.reduce((a, c) => ({ tp: a.tp + c.tp, fp: a.fp + c.fp, objects: a.objects + c.objects }), { tp: 0, fp: 0, objects: 0 });
        return {
          seed: s.manifest.seed, count: s.images.length, sizes: s.manifest.sizes, defects: s.manifest.defects, sha256: s.manifest.sha256,
          ...score(sum), perClass: Object.fromEntries(card.classes.map((name, c) => [name, score(s.perClass[c])])),
        };
      }),
      matchIou: MATCH_IOU,
      confidence: conf,
      nmsIou: iouThreshold,
      overall: {
        precision: round(tpAll / Math.max(1, tpAll + fpAll)), recall: round(tpAll / Math.max(1, posAll)),
        map50: round(Object.values(perClass).reduce((s, c) => s + c.ap50, 0) / card.classes.length),
        meanIouOfMatches: round(ious.reduce((a, b) => a + b, 0) / Math.max(1, ious.length)), tp: tpAll, fp: fpAll, fn: posAll - tpAll, objects: posAll,
      },
      perClass,
    },
    timingMs: { threads, runtime: `onnxruntime-node ${ort.env.versions?.node ?? ''}`.trim(), preprocess: timing(preMs), inference: timing(inferMs), decode: timing(postMs) },
    measuredWith: 'models/training/evaluate.mjs (onnxruntime-node, sharp letterbox)',
    model: { file: path.relative(repoRoot, path.resolve(modelFile)), sha256: crypto.createHash('sha256').update(bytes).digest('hex'), name: card.name, version: card.version },
  };
  const o = metrics.heldOut.overall;
  const count = sets.reduce((n, s) => n + s.images.length, 0);
  console.log(`${card.name} ${card.version} on ${count} held-out images (seeds ${sets.map((s) => s.manifest.seed).join(', ')}), IoU >= ${MATCH_IOU}, confidence >= ${conf}:`);
  console.log(`  overall  precision ${o.precision.toFixed(3)}  recall ${o.recall.toFixed(3)}  mAP50 ${o.map50.toFixed(3)}  (tp ${o.tp}, fp ${o.fp}, fn ${o.fn})`);
  if (sets.length > 1) {
    for (const s of metrics.heldOut.datasets) {
      console.log(`  seed ${String(s.seed).padEnd(3)}   precision ${s.precision.toFixed(3)}  recall ${s.recall.toFixed(3)}  (tp ${s.tp}, fp ${s.fp}, fn ${s.fn}; ${s.count} images ${s.sizes.join(',')})`);
      for (const [name, c] of Object.entries(s.perClass)) console.log(`    ${name.padEnd(8)} precision ${c.precision.toFixed(3)}  recall ${c.recall.toFixed(3)}  (tp ${c.tp}, fp ${c.fp}, fn ${c.fn})`);
    }
  }
  for (const [name, c] of Object.entries(perClass)) console.log(`  ${name.padEnd(8)} precision ${c.precision.toFixed(3)}  recall ${c.recall.toFixed(3)}  AP50 ${c.ap50.toFixed(3)}  (tp ${c.tp}, fp ${c.fp}, fn ${c.fn})`);
  const t = metrics.timingMs;
  console.log(`  per image (${threads} thread): inference ${t.inference.mean} ms (p99 ${t.inference.p99}), letterbox ${t.preprocess.mean} ms, decode+NMS ${t.decode.mean} ms`);
  if (values.json) fs.writeFileSync(values.json, JSON.stringify(metrics, null, 1) + '\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(`evaluate: ${err.message}`);
    process.exit(1);
  });
}
