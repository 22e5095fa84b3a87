// YOLOv8-style detection output -> detections in image pixels: best class per candidate, score floor,
// per-class non-maximum suppression, boxes mapped back through the letterbox.
import type { BoundingBox, Detection } from '../../contracts/messages';
import { toSourceBox, type LetterboxGeometry } from './letterbox';

export interface DecodeOptions {
  /** Lowest class score kept. */
  confidence: number;
  /** Boxes of one class overlapping a better one by more than this IoU are dropped. */
  iou: number;
  /** Most detections returned per image (best first). */
  maxDetections: number;
}

export interface Candidate {
  classIndex: number;
  confidence: number;
  box: BoundingBox;
}

/** Intersection over union of two boxes (0 when they do not overlap). */
export function iou(a: BoundingBox, b: BoundingBox): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/**
 * Greedy NMS per class: candidates in score order, each kept unless a kept box of its class overlaps it by
 * more than `iouThreshold`. Boxes of different classes never suppress each other.
 */
export function nonMaxSuppression(candidates: readonly Candidate[], iouThreshold: number, maxDetections: number): Candidate[] {
  const sorted = [...candidates].sort((a, b) => b.confidence - a.confidence);
  const keptByClass = new Map<number, Candidate[]>();
  const kept: Candidate[] = [];
  for (const c of sorted) {
    if (kept.length >= maxDetections) break;
    const same = keptByClass.get(c.classIndex) ?? [];
    if (same.some((k) => iou(k.box, c.box) > iouThreshold)) continue;
    same.push(c);
    keptByClass.set(c.classIndex, same);
    kept.push(c);
  }
  return kept;
}

/**
 * Candidates from an output of shape [1, 4 + classes, anchors] (rows cx, cy, w, h in letterboxed input pixels,
 * then one score per class), best class per anchor, at or above the confidence floor, in source pixels.
 */
export function candidatesOf(output: Float32Array, dims: readonly number[], classCount: number, g: LetterboxGeometry, confidence: number): Candidate[] {
  if (dims.length !== 3 || dims[0] !== 1) throw new RangeError(`output shape [${dims.join(',')}] is not [1, 4 + classes, anchors]`);
  const rows = dims[1]!;
  const n = dims[2]!;
  if (rows !== 4 + classCount) throw new RangeError(`output has ${rows - 4} class rows but the model's metadata names ${classCount} classes`);
  if (output.length !== rows * n) throw new RangeError(`output holds ${output.length} values, shape [${dims.join(',')}] needs ${rows * n}`);
  const out: Candidate[] = [];
  for (let j = 0; j < n; j++) {
    let best = -Infinity;
    let cls = -1;
    for (let c = 0; c < classCount; c++) {
      const s = output[(4 + c) * n + j]!;
      if (s > best) (best = s), (cls = c);
    }
    if (!(best >= confidence)) continue;
    const box = toSourceBox(output[j]!, output[n + j]!, output[2 * n + j]!, output[3 * n + j]!, g);
    if (box) out.push({ classIndex: cls, confidence: Math.min(1, Math.max(0, best)), box });
  }
  return out;
}

/** The whole decode: candidates, NMS, class names. */
export function decodeDetections(output: Float32Array, dims: readonly number[], classes: readonly string[], g: LetterboxGeometry, o: DecodeOptions): Detection[] {
  const kept = nonMaxSuppression(candidatesOf(output, dims, classes.length, g, o.confidence), o.iou, o.maxDetections);
  return kept.map((c) => ({ defectClass: classes[c.classIndex]!, confidence: c.confidence, box: c.box }));
}
