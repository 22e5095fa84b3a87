// Letterbox pre-processing for a detection model: the image scaled to fit the model's input keeping its
// aspect, centred, the rest padded; then the tensor (NCHW float32 RGB 0..1) and the way back to image pixels.
import sharp from 'sharp';
import type { SharpOptions } from 'sharp';
import type { BoundingBox, InspectionImage } from '../../contracts/messages';

/** Where the scaled image sits inside the model input, and what it was scaled from. */
export interface LetterboxGeometry {
  /** Input pixels per source pixel. */
  scale: number;
  /** Offset of the scaled image inside the input. */
  left: number;
  top: number;
  /** Size of the scaled image inside the input. */
  width: number;
  height: number;
  sourceWidth: number;
  sourceHeight: number;
  inputWidth: number;
  inputHeight: number;
}

export interface LetterboxInput {
  width: number;
  height: number;
  /** RGB of the padding. */
  pad: readonly [number, number, number];
}

/** Same rule as the training export (models/training): scale the longer side to fit, round, centre (floor). */
export function letterboxGeometry(sourceWidth: number, sourceHeight: number, inputWidth: number, inputHeight: number): LetterboxGeometry {
  if (!(sourceWidth >= 1 && sourceHeight >= 1)) throw new RangeError(`image size ${sourceWidth}x${sourceHeight} is not a picture`);
  const scale = Math.min(inputWidth / sourceWidth, inputHeight / sourceHeight);
  // At least one pixel: a 4000x1 line still gives the model something.
  const width = Math.max(1, Math.min(inputWidth, Math.round(sourceWidth * scale)));
  const height = Math.max(1, Math.min(inputHeight, Math.round(sourceHeight * scale)));
  return {
    scale,
    left: Math.floor((inputWidth - width) / 2),
    top: Math.floor((inputHeight - height) / 2),
    width,
    height,
    sourceWidth,
    sourceHeight,
    inputWidth,
    inputHeight,
  };
}

/** Interleaved 8-bit RGB (HWC) -> planar float32 (CHW) in 0..1. */
export function toPlanarTensor(rgb: Uint8Array, width: number, height: number, out = new Float32Array(3 * width * height)): Float32Array {
  const plane = width * height;
  if (rgb.length !== 3 * plane) throw new RangeError(`expected ${3 * plane} RGB bytes for ${width}x${height}, got ${rgb.length}`);
  if (out.length !== 3 * plane) throw new RangeError(`tensor holds ${out.length} values, ${width}x${height}x3 needs ${3 * plane}`);
  const inv = 1 / 255;
  for (let i = 0, j = 0; i < plane; i++, j += 3) {
    out[i] = rgb[j]! * inv;
    out[plane + i] = rgb[j + 1]! * inv;
    out[2 * plane + i] = rgb[j + 2]! * inv;
  }
  return out;
}

/**
 * A box given as centre and size in letterboxed input pixels, back in source pixels and clipped to the
 * image; undefined when nothing of it lies on the image.
 */
export function toSourceBox(cx: number, cy: number, w: number, h: number, g: LetterboxGeometry): BoundingBox | undefined {
  const x1 = Math.max(0, (cx - w / 2 - g.left) / g.scale);
  const y1 = Math.max(0, (cy - h / 2 - g.top) / g.scale);
  const x2 = Math.min(g.sourceWidth, (cx + w / 2 - g.left) / g.scale);
  const y2 = Math.min(g.sourceHeight, (cy + h / 2 - g.top) / g.scale);
  if (!(x2 > x1 && y2 > y1)) return undefined;
  return { x: x1, y: y1, width: x2 - x1, height: y2 - y1 };
}

/** Why an image could not be turned into a model input, in words a person acts on. */
export class ImageInputError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause !== undefined ? { cause } : undefined);
    this.name = 'ImageInputError';
  }
}

export interface PrepareOptions {
  /** Largest accepted image in pixels; bigger ones fail before decoding. */
  maxPixels: number;
  /** Channels of a raw image (8-bit interleaved); 3 by default. */
  rawChannels?: number;
}

export interface PreparedImage {
  tensor: Float32Array;
  geometry: LetterboxGeometry;
}

/** Decodes an inspection image and letterboxes it into a model input tensor with sharp. */
export async function letterboxImage(image: InspectionImage, input: LetterboxInput, o: PrepareOptions): Promise<PreparedImage> {
  if (!Buffer.isBuffer(image.data)) throw new ImageInputError('image.data must be a Buffer');
  const options: SharpOptions = { limitInputPixels: o.maxPixels, failOn: 'warning' };
  if (image.format === 'raw') options.raw = { width: image.width, height: image.height, channels: (o.rawChannels ?? 3) as 1 | 2 | 3 | 4 };
  try {
    let width = image.width;
    let height = image.height;
    if (image.format !== 'raw') {
      // The real size, not the declared one, so boxes land where they belong.
      const meta = await sharp(image.data, options).metadata();
      width = meta.width ?? 0;
      height = meta.height ?? 0;
    }
    if (width * height > o.maxPixels) throw new ImageInputError(`image is ${width}x${height}, over the limit of ${o.maxPixels.toLocaleString('en-US')} pixels (maxPixels)`);
    const g = letterboxGeometry(width, height, input.width, input.height);
    // Monochrome cameras and PNGs with alpha are common: always three sRGB channels into the model.
    const { data, info } = await sharp(image.data, options)
      .removeAlpha()
      .toColourspace('srgb')
      .resize(g.width, g.height, { fit: 'fill' })
      .extend({
        top: g.top,
        bottom: input.height - g.height - g.top,
        left: g.left,
        right: input.width - g.width - g.left,
        background: { r: input.pad[0], g: input.pad[1], b: input.pad[2] },
      })
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== input.width || info.height !== input.height) {
      throw new ImageInputError(`letterbox gave ${info.width}x${info.height}x${info.channels}, the model needs ${input.width}x${input.height}x3`);
    }
    return { tensor: toPlanarTensor(data, input.width, input.height), geometry: g };
  } catch (err) {
    if (err instanceof ImageInputError) throw err;
    const m = (err as Error).message;
    if (/pixel limit/i.test(m)) throw new ImageInputError(`image is over the limit of ${o.maxPixels.toLocaleString('en-US')} pixels (maxPixels): refused before decoding`, err);
    if (/unsupported image format/i.test(m)) throw new ImageInputError(`image.data is not an image sharp can read (declared ${image.format})`, err);
    throw new ImageInputError(`image (declared ${image.format} ${image.width}x${image.height}) is corrupt or truncated: ${m}`, err);
  }
}
