// Region-of-interest tests for detection boxes: rectangle and polygon, by centre, containment or overlap.
import type { DefectRuleRoi } from './defect-rule.schema';

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export type Point = readonly [number, number];

/** A compiled region: answers whether a box relates to it as the rule asks. */
export type RoiTest = (box: Box) => boolean;

/** Even-odd ray casting; points on the boundary may land either side, so regions are half-open. */
export function pointInPolygon(px: number, py: number, poly: readonly Point[]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const xi = poly[i][0], yi = poly[i][1], xj = poly[j][0], yj = poly[j][1];
    if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function orient(ax: number, ay: number, bx: number, by: number, cx: number, cy: number): number {
  const v = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
  return v > 0 ? 1 : v < 0 ? -1 : 0;
}

function onSegment(ax: number, ay: number, bx: number, by: number, cx: number, cy: number): boolean {
  return Math.min(ax, bx) <= cx && cx <= Math.max(ax, bx) && Math.min(ay, by) <= cy && cy <= Math.max(ay, by);
}

/** Whether segments p1-p2 and p3-p4 touch or cross. */
export function segmentsIntersect(p1: Point, p2: Point, p3: Point, p4: Point): boolean {
  const d1 = orient(p3[0], p3[1], p4[0], p4[1], p1[0], p1[1]);
  const d2 = orient(p3[0], p3[1], p4[0], p4[1], p2[0], p2[1]);
  const d3 = orient(p1[0], p1[1], p2[0], p2[1], p3[0], p3[1]);
  const d4 = orient(p1[0], p1[1], p2[0], p2[1], p4[0], p4[1]);
  if (d1 !== d2 && d3 !== d4) return true;
  if (d1 === 0 && onSegment(p3[0], p3[1], p4[0], p4[1], p1[0], p1[1])) return true;
  if (d2 === 0 && onSegment(p3[0], p3[1], p4[0], p4[1], p2[0], p2[1])) return true;
  if (d3 === 0 && onSegment(p1[0], p1[1], p2[0], p2[1], p3[0], p3[1])) return true;
  if (d4 === 0 && onSegment(p1[0], p1[1], p2[0], p2[1], p4[0], p4[1])) return true;
  return false;
}

function corners(b: Box): Point[] {
  return [[b.x, b.y], [b.x + b.width, b.y], [b.x + b.width, b.y + b.height], [b.x, b.y + b.height]];
}

/** Whether any edge of polygon `a` touches or crosses any edge of polygon `b`. */
function edgesCross(a: readonly Point[], b: readonly Point[]): boolean {
  for (let i = 0, j = a.length - 1; i < a.length; j = i++) {
    for (let k = 0, l = b.length - 1; k < b.length; l = k++) {
      if (segmentsIntersect(a[j], a[i], b[l], b[k])) return true;
    }
  }
  return false;
}

/** Box wholly inside polygon: every corner inside and no polygon edge cutting through the box (concave polygons). */
export function boxInsidePolygon(b: Box, poly: readonly Point[]): boolean {
  const c = corners(b);
  if (!c.every((p) => pointInPolygon(p[0], p[1], poly))) return false;
  // A concave notch can poke into the box while all four corners stay inside.
  for (const v of poly) {
    if (v[0] > b.x && v[0] < b.x + b.width && v[1] > b.y && v[1] < b.y + b.height) return false;
  }
  return true;
}

/** Box and polygon share any area or boundary. */
export function boxOverlapsPolygon(b: Box, poly: readonly Point[]): boolean {
  const c = corners(b);
  if (c.some((p) => pointInPolygon(p[0], p[1], poly))) return true;
  if (poly.some((v) => v[0] >= b.x && v[0] <= b.x + b.width && v[1] >= b.y && v[1] <= b.y + b.height)) return true;
  return edgesCross(c, poly);
}

/** Compiles a rule's region into a fast test. Rectangles compare coordinates; polygons go through the helpers above. */
export function compileRoi(roi: DefectRuleRoi): RoiTest {
  const mode = roi.mode ?? 'center';
  if (roi.shape === 'rect') {
    const x0 = roi.x ?? 0, y0 = roi.y ?? 0, x1 = x0 + (roi.width ?? 0), y1 = y0 + (roi.height ?? 0);
    switch (mode) {
      case 'center':
        return (b) => {
          const cx = b.x + b.width / 2, cy = b.y + b.height / 2;
          return cx >= x0 && cx < x1 && cy >= y0 && cy < y1;
        };
      case 'inside':
        return (b) => b.x >= x0 && b.y >= y0 && b.x + b.width <= x1 && b.y + b.height <= y1;
      case 'overlap':
        // Strict: boxes that only touch along an edge share no area.
        return (b) => b.x < x1 && b.x + b.width > x0 && b.y < y1 && b.y + b.height > y0;
    }
  }
  const poly = (roi.points ?? []).map((p) => [p[0], p[1]] as Point);
  switch (mode) {
    case 'center':
      return (b) => pointInPolygon(b.x + b.width / 2, b.y + b.height / 2, poly);
    case 'inside':
      return (b) => boxInsidePolygon(b, poly);
    case 'overlap':
      return (b) => boxOverlapsPolygon(b, poly);
  }
  throw new Error(`unknown roi mode ${String(mode)}`);
}

/** Twice the signed area; 0 means the points are collinear (a degenerate polygon). */
export function polygonArea2(poly: readonly Point[]): number {
  let a = 0;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) a += poly[j][0] * poly[i][1] - poly[i][0] * poly[j][1];
  return a;
}
