import assert from 'node:assert/strict';
import { letterboxGeometry } from '../../../../nodes/vision-detect/letterbox';
import { candidatesOf, decodeDetections, iou, nonMaxSuppression, type Candidate } from '../../../../nodes/vision-detect/yolo-decode';

/** An output [1, 4 + classes, anchors] with the given columns (cx, cy, w, h, scores...). */
function output(columns: number[][], classes: number): { data: Float32Array; dims: number[] } {
  const rows = 4 + classes;
  const n = columns.length;
  const data = new Float32Array(rows * n);
  columns.forEach((col, j) => col.forEach((v, r) => (data[r * n + j] = v)));
  return { data, dims: [1, rows, n] };
}

const box = (x: number, y: number, width: number, height: number) => ({ x, y, width, height });

describe('vision-detect yolo-decode', () => {
  it('iou: identical 1, disjoint 0, half overlap 1/3', () => {
    assert.equal(iou(box(0, 0, 10, 10), box(0, 0, 10, 10)), 1);
    assert.equal(iou(box(0, 0, 10, 10), box(10, 0, 10, 10)), 0);
    assert.equal(iou(box(0, 0, 10, 10), box(5, 0, 10, 10)), 50 / 150);
  });

  it('NMS keeps the best of overlapping boxes per class, never across classes, best first, at most N', () => {
    const c = (classIndex: number, confidence: number, x: number): Candidate => ({ classIndex, confidence, box: box(x, 0, 10, 10) });
    const kept = nonMaxSuppression([c(0, 0.6, 1), c(0, 0.9, 0), c(1, 0.8, 0), c(0, 0.7, 50), c(0, 0.5, 5)], 0.45, 10);
    // 0.6@1 overlaps 0.9@0 (IoU 0.82) -> dropped; 0.5@5 overlaps 0.9@0 by 1/3 -> kept; the dent at 0 is another class
    assert.deepEqual(kept.map((k) => [k.classIndex, k.confidence]), [[0, 0.9], [1, 0.8], [0, 0.7], [0, 0.5]]);
    assert.equal(nonMaxSuppression([c(0, 0.9, 0), c(0, 0.8, 100), c(0, 0.7, 200)], 0.45, 2).length, 2);
  });

  it('candidates: best class per anchor, confidence floor, boxes back in image pixels', () => {
    const g = letterboxGeometry(1920, 1200, 320, 320); // scale 1/6, top 60
    const { data, dims } = output(
      [
        [160, 160, 32, 20, 0.1, 0.9, 0.2], // dent
        [100, 100, 10, 10, 0.2, 0.1, 0.24], // below 0.25
        [160, 20, 20, 20, 0.99, 0, 0], // entirely in the padding: no box
      ],
      3,
    );
    const cands = candidatesOf(data, dims, 3, g, 0.25);
    assert.equal(cands.length, 1);
    assert.equal(cands[0]!.classIndex, 1);
    assert.ok(Math.abs(cands[0]!.confidence - 0.9) < 1e-6);
    assert.deepEqual(cands[0]!.box, { x: 864, y: 540, width: 192, height: 120 });
  });

  it('decodeDetections names the classes and suppresses duplicates', () => {
    const g = letterboxGeometry(320, 320, 320, 320);
    const { data, dims } = output(
      [
        [50, 50, 20, 20, 0.8, 0, 0],
        [51, 50, 20, 20, 0.7, 0, 0],
        [200, 200, 30, 30, 0, 0, 0.6],
      ],
      3,
    );
    const dets = decodeDetections(data, dims, ['scratch', 'dent', 'hole'], g, { confidence: 0.25, iou: 0.45, maxDetections: 100 });
    assert.deepEqual(dets.map((d) => d.defectClass), ['scratch', 'hole']);
    assert.deepEqual(dets[1]!.box, { x: 185, y: 185, width: 30, height: 30 });
  });

  it('refuses an output whose shape does not fit the class list', () => {
    const g = letterboxGeometry(320, 320, 320, 320);
    const { data, dims } = output([[1, 1, 1, 1, 1, 1]], 2);
    assert.throws(() => candidatesOf(data, dims, 3, g, 0.25), /2 class rows but the model's metadata names 3 classes/);
    assert.throws(() => candidatesOf(data, [6, 1], 2, g, 0.25), /is not \[1, 4 \+ classes, anchors\]/);
  });
});
