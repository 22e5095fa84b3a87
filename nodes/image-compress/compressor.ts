// The sharp work behind image-compress: resize and re-encode an inspection image, and optionally make a
// thumbnail, crops of each detection box (from the full-resolution image) and a copy with boxes drawn.
import sharp from 'sharp';
import type { Sharp, SharpOptions } from 'sharp';
import type { BoundingBox, Detection, ImageFormat, InspectionImage } from '../../contracts/messages';

export type OutputFormat = 'jpeg' | 'webp' | 'avif' | 'png';

export interface CompressOptions {
  format: OutputFormat;
  quality: number;
  /** 0 = no limit. */
  maxWidth: number;
  maxHeight: number;
  fit: 'inside' | 'outside' | 'cover' | 'contain' | 'fill';
  keepMetadata: boolean;
  /** Longest thumbnail side; 0 or undefined = no thumbnail. */
  thumbnailSize?: number;
  /** Margin fraction around each box; undefined = no crops. */
  cropMargin?: number;
  annotate?: boolean;
  maxPixels: number;
  /** Channels of a raw input image (8-bit interleaved). */
  rawChannels?: number;
}

export interface EncodedImage {
  data: Buffer;
  format: ImageFormat;
  width: number;
  height: number;
}

export interface Crop extends EncodedImage {
  /** Index of the detection in payload.detections. */
  index: number;
  defectClass: string;
  confidence: number;
  /** The cut-out region in full-resolution pixels (the box plus its margin, clipped to the image). */
  region: BoundingBox;
}

export interface CompressResult {
  image: EncodedImage;
  thumbnail?: EncodedImage;
  crops?: Crop[];
  annotated?: EncodedImage;
}

/** Why an image could not be compressed, in words a person acts on. */
export class ImageError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause !== undefined ? { cause } : undefined);
    this.name = 'ImageError';
  }
}

function describeSharpError(err: Error, img: InspectionImage, maxPixels: number): ImageError {
  const m = err.message;
  if (/pixel limit/i.test(m)) return new ImageError(`image is over the pixel limit of ${maxPixels.toLocaleString('en-US')} pixels (maxPixels): refused before decoding`, err);
  if (/unsupported image format/i.test(m)) return new ImageError(`image.data is not an image sharp can read (declared ${img.format})`, err);
  return new ImageError(`image (declared ${img.format} ${img.width}x${img.height}) is corrupt or truncated: ${m}`, err);
}

function encoder(p: Sharp, o: CompressOptions): Sharp {
  if (o.keepMetadata) p = p.keepMetadata();
  switch (o.format) {
    case 'jpeg':
      return p.jpeg({ quality: o.quality, mozjpeg: false });
    case 'webp':
      return p.webp({ quality: o.quality });
    case 'avif':
      return p.avif({ quality: o.quality });
    case 'png':
      return p.png();
  }
}

async function encode(p: Sharp, o: CompressOptions): Promise<EncodedImage> {
  const { data, info } = await encoder(p, o).toBuffer({ resolveWithObject: true });
  return { data, format: o.format, width: info.width, height: info.height };
}

/** The cut-out for a box: the box grown by `margin` of its size on each side, clipped to the image. */
export function cropRegion(box: BoundingBox, margin: number, imgW: number, imgH: number): { left: number; top: number; width: number; height: number } | undefined {
  const mx = box.width * margin;
  const my = box.height * margin;
  const left = Math.max(0, Math.floor(box.x - mx));
  const top = Math.max(0, Math.floor(box.y - my));
  const right = Math.min(imgW, Math.ceil(box.x + box.width + mx));
  const bottom = Math.min(imgH, Math.ceil(box.y + box.height + my));
  if (right - left < 1 || bottom - top < 1) return undefined;
  return { left, top, width: right - left, height: bottom - top };
}

const xml = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** An SVG the size of the output image with each detection's box and label, scaled from source pixels. */
export function overlaySvg(detections: Detection[], scaleX: number, scaleY: number, width: number, height: number): string {
  const stroke = Math.max(2, Math.round(Math.min(width, height) / 300));
  const font = Math.max(12, Math.round(Math.min(width, height) / 40));
  const parts = detections.map((d) => {
    if (!d.box) return '';
    const x = d.box.x * scaleX;
    const y = d.box.y * scaleY;
    const w = d.box.width * scaleX;
    const h = d.box.height * scaleY;
    const label = `${xml(d.defectClass)} ${Math.round(d.confidence * 100)}%`;
    const ty = y > font + 4 ? y - 4 : y + h + font;
    return `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" fill="none" stroke="#ff2d2d" stroke-width="${stroke}"/>` +
      `<text x="${x.toFixed(1)}" y="${ty.toFixed(1)}" font-family="sans-serif" font-size="${font}" fill="#ff2d2d" stroke="#000" stroke-width="0.6">${label}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`;
}

export async function compressImage(img: InspectionImage, detections: Detection[], o: CompressOptions): Promise<CompressResult> {
  if (!Buffer.isBuffer(img.data)) throw new ImageError('payload.image.data must be a Buffer');
  if (img.width * img.height > o.maxPixels) {
    throw new ImageError(`image is ${img.width}x${img.height} = ${(img.width * img.height).toLocaleString('en-US')} pixels, over the limit of ${o.maxPixels.toLocaleString('en-US')} (maxPixels)`);
  }
  const input: SharpOptions = { limitInputPixels: o.maxPixels, failOn: 'warning' };
  if (img.format === 'raw') input.raw = { width: img.width, height: img.height, channels: (o.rawChannels ?? 3) as 1 | 2 | 3 | 4 };
  const source = () => sharp(img.data as Buffer, input);
  const resize = (p: Sharp) =>
    o.maxWidth || o.maxHeight ? p.resize({ width: o.maxWidth || undefined, height: o.maxHeight || undefined, fit: o.fit, withoutEnlargement: true }) : p;
  try {
    const [image, thumbnail] = await Promise.all([
      encode(resize(source()), o),
      o.thumbnailSize ? encode(source().resize({ width: o.thumbnailSize, height: o.thumbnailSize, fit: 'inside', withoutEnlargement: true }), o) : undefined,
    ]);
    const result: CompressResult = { image };
    if (thumbnail) result.thumbnail = thumbnail;
    const boxed = detections.map((d, index) => ({ d, index })).filter((x) => x.d.box);
    if (o.cropMargin !== undefined || o.annotate) {
      // Real pixel size (not the declared one) so boxes land where they belong.
      const meta = img.format === 'raw' ? { width: img.width, height: img.height } : await source().metadata();
      const W = meta.width ?? img.width;
      const H = meta.height ?? img.height;
      if (o.cropMargin !== undefined) {
        const crops = await Promise.all(
          boxed.map(async ({ d, index }) => {
            const r = cropRegion(d.box!, o.cropMargin!, W, H);
            if (!r) return undefined;
            const enc = await encode(source().extract(r), o);
            return { ...enc, index, defectClass: d.defectClass, confidence: d.confidence, region: { x: r.left, y: r.top, width: r.width, height: r.height } };
          }),
        );
        result.crops = crops.filter((c): c is Crop => c !== undefined);
      }
      if (o.annotate) {
        const svg = overlaySvg(detections, image.width / W, image.height / H, image.width, image.height);
        const base = source().resize({ width: image.width, height: image.height, fit: 'fill' });
        // composite needs the resized pixels first: render them, then draw over them.
        const resized = await base.raw().toBuffer({ resolveWithObject: true });
        const drawn = sharp(resized.data, { raw: { width: resized.info.width, height: resized.info.height, channels: resized.info.channels } }).composite([{ input: Buffer.from(svg), left: 0, top: 0 }]);
        result.annotated = await encode(drawn, { ...o, keepMetadata: false });
      }
    }
    return result;
  } catch (err) {
    if (err instanceof ImageError) throw err;
    throw describeSharpError(err as Error, img, o.maxPixels);
  }
}
