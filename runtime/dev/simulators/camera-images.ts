// Synthetic product images for the camera simulator, tests and benchmarks: a part on a noisy conveyor
// with drawn defects (scratches, dents, holes), and the detections a vision model would report for them.
import sharp from 'sharp';
import type { Detection } from '../../../contracts/messages';

export interface ProductImage {
  data: Buffer;
  format: 'jpeg' | 'png' | 'webp' | 'raw';
  width: number;
  height: number;
  detections: Detection[];
}

export interface ProductImageOptions {
  width: number;
  height: number;
  /** How many defects to draw (0 = a good part). */
  defects?: number;
  /** Deterministic layout from a seed. */
  seed?: number;
  format?: 'jpeg' | 'png' | 'webp' | 'raw';
  quality?: number;
}

/** "1920x1200" as a size; undefined unless it is WxH with both sides at least 16 pixels. */
export function imageSize(text: string): { width: number; height: number } | undefined {
  const m = /^(\d+)x(\d+)$/i.exec(text.trim());
  return m && +m[1] >= 16 && +m[2] >= 16 ? { width: +m[1], height: +m[2] } : undefined;
}

/** Small deterministic PRNG (mulberry32) so a seed always gives the same picture. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The defect classes the renderer draws, in the order training datasets number them. */
export const DEFECT_CLASSES = ['scratch', 'dent', 'hole'] as const;
const CLASSES = DEFECT_CLASSES;

/**
 * The conveyor behind the part: grey Gaussian noise (mean 60, sigma 18, each channel on its own), drawn from
 * the image seed so that one seed always gives the same bytes — training datasets are reproducible to the byte.
 * Its own PRNG stream: a seed lays out the same defects as it did before the noise was seeded, at any size.
 */
function conveyorNoise(width: number, height: number, seed: number): Buffer {
  const rnd = prng((seed ^ 0x9e3779b9) >>> 0);
  const out = Buffer.allocUnsafe(width * height * 3);
  for (let i = 0; i < out.length; i += 2) {
    // Box-Muller: two normal samples from two uniform ones.
    const radius = 18 * Math.sqrt(-2 * Math.log(1 - rnd()));
    const angle = 2 * Math.PI * rnd();
    out[i] = Math.max(0, Math.min(255, 60 + radius * Math.cos(angle)));
    if (i + 1 < out.length) out[i + 1] = Math.max(0, Math.min(255, 60 + radius * Math.sin(angle)));
  }
  return out;
}

export async function productImage(o: ProductImageOptions): Promise<ProductImage> {
  const { width: W, height: H } = o;
  const rnd = prng(o.seed ?? 1);
  const px = { x: Math.round(W * 0.15), y: Math.round(H * 0.15), w: Math.round(W * 0.7), h: Math.round(H * 0.7) };
  const shapes: string[] = [
    `<rect x="${px.x}" y="${px.y}" width="${px.w}" height="${px.h}" rx="${Math.round(Math.min(W, H) / 20)}" fill="#b8bcc4" stroke="#6b7079" stroke-width="4"/>`,
    `<circle cx="${px.x + px.w * 0.2}" cy="${px.y + px.h * 0.25}" r="${Math.min(W, H) / 30}" fill="#8a8f99"/>`,
  ];
  const detections: Detection[] = [];
  for (let i = 0; i < (o.defects ?? 0); i++) {
    const cls = CLASSES[Math.floor(rnd() * CLASSES.length)];
    const size = Math.max(8, Math.round(Math.min(W, H) * (0.04 + rnd() * 0.08)));
    const bw = cls === 'scratch' ? size * 2 : size;
    const x = Math.round(px.x + rnd() * (px.w - bw));
    const y = Math.round(px.y + rnd() * (px.h - size));
    if (cls === 'scratch') shapes.push(`<line x1="${x}" y1="${y + size}" x2="${x + bw}" y2="${y}" stroke="#3a3d42" stroke-width="${Math.max(2, size / 10)}"/>`);
    else if (cls === 'dent') shapes.push(`<ellipse cx="${x + size / 2}" cy="${y + size / 2}" rx="${size / 2}" ry="${size / 3}" fill="#7d818a"/>`);
    else shapes.push(`<circle cx="${x + size / 2}" cy="${y + size / 2}" r="${size / 2}" fill="#101010"/>`);
    detections.push({ defectClass: cls, confidence: Math.round((0.55 + rnd() * 0.44) * 1000) / 1000, box: { x, y, width: bw, height: size } });
  }
  const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">${shapes.join('')}</svg>`);
  let p = sharp(conveyorNoise(W, H, o.seed ?? 1), { raw: { width: W, height: H, channels: 3 } }).composite([{ input: svg, left: 0, top: 0 }]);
  const format = o.format ?? 'jpeg';
  if (format === 'raw') {
    const { data, info } = await p.removeAlpha().raw().toBuffer({ resolveWithObject: true });
    return { data, format, width: info.width, height: info.height, detections };
  }
  p = format === 'jpeg' ? p.jpeg({ quality: o.quality ?? 90 }) : format === 'webp' ? p.webp({ quality: o.quality ?? 90 }) : p.png();
  return { data: await p.toBuffer(), format, width: W, height: H, detections };
}
