import assert from 'node:assert/strict';
import { compileRoi, pointInPolygon, segmentsIntersect, boxInsidePolygon, boxOverlapsPolygon, type Point } from '../../../../nodes/defect-rule/geometry';

// An L-shaped (concave) region: the square 0..100 minus its top-right quarter 50..100 x 0..50.
const L: Point[] = [[0, 0], [50, 0], [50, 50], [100, 50], [100, 100], [0, 100]];
const box = (x: number, y: number, width: number, height: number) => ({ x, y, width, height });

describe('defect-rule geometry', () => {
  it('point in polygon, concave, either winding', () => {
    for (const poly of [L, [...L].reverse()]) {
      assert.equal(pointInPolygon(25, 25, poly), true);
      assert.equal(pointInPolygon(75, 25, poly), false, 'inside the notch');
      assert.equal(pointInPolygon(75, 75, poly), true);
      assert.equal(pointInPolygon(150, 75, poly), false);
    }
  });

  it('segments: crossing, touching at an end, collinear overlap, parallel apart', () => {
    assert.equal(segmentsIntersect([0, 0], [10, 10], [0, 10], [10, 0]), true);
    assert.equal(segmentsIntersect([0, 0], [10, 0], [10, 0], [10, 10]), true);
    assert.equal(segmentsIntersect([0, 0], [10, 0], [5, 0], [15, 0]), true);
    assert.equal(segmentsIntersect([0, 0], [10, 0], [0, 1], [10, 1]), false);
    assert.equal(segmentsIntersect([0, 0], [10, 0], [11, 0], [15, 0]), false);
  });

  const table: Array<[string, Parameters<typeof compileRoi>[0], ReturnType<typeof box>, boolean]> = [
    ['rect centre inside', { shape: 'rect', x: 10, y: 10, width: 100, height: 100 }, box(0, 0, 30, 30), true],
    ['rect centre on the left/top edge counts', { shape: 'rect', x: 10, y: 10, width: 100, height: 100 }, box(0, 0, 20, 20), true],
    ['rect centre on the right edge does not (half-open)', { shape: 'rect', x: 10, y: 10, width: 100, height: 100 }, box(100, 50, 20, 2), false],
    ['rect inside, exactly filling it', { shape: 'rect', x: 10, y: 10, width: 100, height: 100, mode: 'inside' }, box(10, 10, 100, 100), true],
    ['rect inside, one pixel out', { shape: 'rect', x: 10, y: 10, width: 100, height: 100, mode: 'inside' }, box(9, 10, 100, 100), false],
    ['rect overlap by one pixel', { shape: 'rect', x: 10, y: 10, width: 100, height: 100, mode: 'overlap' }, box(0, 0, 11, 11), true],
    ['rect touching edges share no area', { shape: 'rect', x: 10, y: 10, width: 100, height: 100, mode: 'overlap' }, box(0, 0, 10, 10), false],
    ['polygon centre in the L', { shape: 'polygon', points: L as Array<[number, number]> }, box(10, 60, 20, 20), true],
    ['polygon centre in the notch', { shape: 'polygon', points: L as Array<[number, number]> }, box(60, 10, 20, 20), false],
    ['polygon inside: box spanning the notch corner is not inside', { shape: 'polygon', points: L as Array<[number, number]>, mode: 'inside' }, box(40, 40, 20, 20), false],
    ['polygon inside: box in the bottom half', { shape: 'polygon', points: L as Array<[number, number]>, mode: 'inside' }, box(10, 60, 80, 30), true],
    ['polygon overlap: box poking into the notch from outside', { shape: 'polygon', points: L as Array<[number, number]>, mode: 'overlap' }, box(45, 10, 20, 10), true],
    ['polygon overlap: box wholly in the notch', { shape: 'polygon', points: L as Array<[number, number]>, mode: 'overlap' }, box(60, 10, 30, 30), false],
    ['polygon overlap: box containing the whole polygon', { shape: 'polygon', points: [[40, 40], [60, 40], [50, 60]], mode: 'overlap' }, box(0, 0, 100, 100), true],
    ['polygon overlap: thin box crossing without corners inside', { shape: 'polygon', points: [[40, 0], [60, 0], [60, 100], [40, 100]], mode: 'overlap' }, box(0, 45, 100, 10), true],
  ];
  for (const [name, roi, b, want] of table) {
    it(name, () => assert.equal(compileRoi(roi)(b), want));
  }

  it('inside and overlap helpers agree on a box far away', () => {
    assert.equal(boxInsidePolygon(box(500, 500, 5, 5), L), false);
    assert.equal(boxOverlapsPolygon(box(500, 500, 5, 5), L), false);
  });
});
