// image-compress config: the one source of truth for the editor defaults and runtime validation.
export interface ImageCompressConfig {
  name?: string;
  /**
   * Output encoding of the image (and of the thumbnail, crops and annotated copy).
   * @default "webp"
   */
  format: 'jpeg' | 'webp' | 'avif' | 'png';
  /**
   * Encoder quality for JPEG, WebP and AVIF (PNG is lossless and ignores it).
   * @TJS-type integer
   * @minimum 1
   * @maximum 100
   * @default 80
   */
  quality: number;
  /**
   * Largest output width in pixels; 0 = no limit. Never enlarges.
   * @TJS-type integer
   * @minimum 0
   * @maximum 16384
   * @default 1024
   */
  maxWidth: number;
  /**
   * Largest output height in pixels; 0 = no limit. Never enlarges.
   * @TJS-type integer
   * @minimum 0
   * @maximum 16384
   * @default 0
   */
  maxHeight: number;
  /**
   * How the image fits the box given by maxWidth x maxHeight (sharp's fit).
   * @default "inside"
   */
  fit: 'inside' | 'outside' | 'cover' | 'contain' | 'fill';
  /**
   * `strip` drops EXIF/ICC/XMP metadata; `keep` carries it over.
   * @default "strip"
   */
  metadata: 'strip' | 'keep';
  /** Also make a thumbnail in msg.thumbnail. @default false */
  thumbnail: boolean;
  /**
   * Longest side of the thumbnail in pixels.
   * @TJS-type integer
   * @minimum 16
   * @maximum 2048
   * @default 256
   */
  thumbnailSize: number;
  /** Also cut each detection box out of the full-resolution image into msg.crops (training data). @default false */
  crops: boolean;
  /**
   * Margin added around each box before cutting, as a fraction of the box size (0.1 = 10% each side).
   * @minimum 0
   * @maximum 2
   * @default 0.1
   */
  cropMargin: number;
  /** Also draw boxes and labels on a copy of the output image in msg.annotated, for people. @default false */
  annotate: boolean;
  /**
   * Largest input in pixels (width x height); bigger images fail before they are decoded (decompression bombs).
   * @TJS-type integer
   * @minimum 1
   * @default 100000000
   */
  maxPixels: number;
  /**
   * Images compressed at once; 0 = the number of CPU cores.
   * @TJS-type integer
   * @minimum 0
   * @maximum 64
   * @default 0
   */
  concurrency: number;
  /**
   * Images that may wait for a free slot; beyond it a message fails at once (the flow keeps running).
   * @TJS-type integer
   * @minimum 0
   * @maximum 100000
   * @default 100
   */
  maxQueued: number;
}
