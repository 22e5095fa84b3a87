// The message contracts that travel in `msg.payload` between Linesight nodes and between tiers.
// JSON Schemas are generated from these types at build time (dist/schemas/<Name>.json) and the
// runtime validators in contracts.ts are compiled from those schemas, so types and checks cannot drift.

/** Pixel rectangle in image coordinates. */
export interface BoundingBox {
  /** @minimum 0 */
  x: number;
  /** @minimum 0 */
  y: number;
  /** @exclusiveMinimum 0 */
  width: number;
  /** @exclusiveMinimum 0 */
  height: number;
}

export interface Detection {
  /** @minLength 1 */
  defectClass: string;
  /**
   * @minimum 0
   * @maximum 1
   */
  confidence: number;
  box?: BoundingBox;
}

export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'avif' | 'raw';

export interface InspectionImage {
  /**
   * Image bytes: a Buffer inside a runtime, base64 text when a contract is serialised to JSON.
   * @TJS-type ["object", "string"]
   */
  data: Buffer | string;
  format: ImageFormat;
  /** @TJS-type integer @minimum 1 */
  width: number;
  /** @TJS-type integer @minimum 1 */
  height: number;
}

/** One inspected product, as reported by a vision-AI camera. */
export interface Inspection {
  /**
   * Globally unique; the idempotency key from the camera to the database.
   * @minLength 1
   * @maxLength 128
   */
  inspectionId: string;
  /** @minLength 1 */
  site: string;
  /** @minLength 1 */
  line: string;
  /** @minLength 1 */
  cameraId: string;
  productSerial?: string;
  /**
   * Unix milliseconds when the frame was captured.
   * @TJS-type integer
   * @minimum 0
   */
  capturedAt: number;
  modelVersion?: string;
  detections: Detection[];
  image?: InspectionImage;
  /**
   * Free-form text attributes. Set by Linesight: `sourceWidth`/`sourceHeight`, the camera frame's size when
   * image-compress resized the image (detection boxes stay in the frame's pixels).
   */
  attributes?: { [key: string]: string };
}

export type TagValue = number | boolean | string;
export type Quality = 'good' | 'bad' | 'uncertain';

/** One reading of one PLC tag. */
export interface TagSample {
  /** @minLength 1 */
  device: string;
  /** @minLength 1 */
  tag: string;
  value: TagValue | null;
  quality: Quality;
  /** Unix milliseconds. @TJS-type integer */
  ts: number;
  /** Why the quality is not good. */
  reason?: string;
  unit?: string;
}

export type ActionKind = 'alarm' | 'divert' | 'stop' | 'notify';
export type Severity = 'info' | 'warning' | 'critical';

export interface TagWrite {
  /** @minLength 1 */
  tag: string;
  value: TagValue;
}

/** What a rule decided the line must do; `writes` is what plc-write should write. */
export interface LineAction {
  /** @minLength 1 */
  actionId: string;
  /** @minLength 1 */
  ruleId: string;
  kind: ActionKind;
  severity: Severity;
  inspectionId?: string;
  site?: string;
  line?: string;
  /** Unix milliseconds. @TJS-type integer */
  ts: number;
  writes: TagWrite[];
  /** True for the writes that end a held action (lamp off after the hold time). */
  reset?: boolean;
  reason?: string;
}
