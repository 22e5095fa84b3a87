// Turns a decoded linesight.v1.Inspection (proto field names) into the `Inspection` contract, or into
// the list of fields that are wrong. Problems name the proto field, since that is what the camera sent.
import { inspectionContract } from '../../contracts/messages';
import type { Detection, ImageFormat, Inspection } from '../../contracts/messages';
import type { FieldProblem } from '../../contracts/schemas';

/** The decoded proto message (proto-loader with keepCase, longs as Number, bytes as Buffer). */
export interface ProtoInspection {
  inspection_id?: string;
  camera_id?: string;
  line_id?: string;
  product_serial?: string;
  captured_at_ms?: number | string;
  detections?: ProtoDetection[];
  image?: ProtoImage | null;
  model_version?: string;
  attributes?: Record<string, string>;
}
export interface ProtoDetection {
  defect_class?: string;
  confidence?: number;
  box?: { x?: number; y?: number; width?: number; height?: number } | null;
}
export interface ProtoImage {
  data?: Buffer | Uint8Array;
  format?: string;
  width?: number;
  height?: number;
}

export interface MapOptions {
  site: string;
  /** Used when the camera leaves line_id empty. */
  line: string;
}

export type MapResult = { ok: true; inspection: Inspection } | { ok: false; problems: FieldProblem[] };

export const IMAGE_FORMATS: readonly ImageFormat[] = ['jpeg', 'png', 'webp', 'avif', 'raw'];
/** Attribute that gives the channel count of a raw image (8-bit interleaved); 3 when absent. */
export const RAW_CHANNELS_ATTRIBUTE = 'channels';
export const DEFAULT_RAW_CHANNELS = 3;
const MAX_ID = 128;
// float32 boxes: 0.1 px of slack so a box that ends exactly on the edge is never refused for rounding.
const EDGE_SLACK = 0.1;

/** The leading bytes every encoded image of a format starts with (offset, bytes). */
const SIGNATURES: Record<Exclude<ImageFormat, 'raw'>, Array<[number, number[]]>> = {
  jpeg: [[0, [0xff, 0xd8, 0xff]]],
  png: [[0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]]],
  webp: [[0, [0x52, 0x49, 0x46, 0x46]], [8, [0x57, 0x45, 0x42, 0x50]]],
  avif: [[4, [0x66, 0x74, 0x79, 0x70]]],
};

function hasSignature(data: Uint8Array, format: Exclude<ImageFormat, 'raw'>): boolean {
  return SIGNATURES[format].every(([off, bytes]) => data.length >= off + bytes.length && bytes.every((b, i) => data[off + i] === b));
}

/** Channel count of a raw image from its attributes, or a problem. */
export function rawChannels(attributes: Record<string, string> | undefined): number | FieldProblem {
  const v = attributes?.[RAW_CHANNELS_ATTRIBUTE];
  if (v === undefined || v === '') return DEFAULT_RAW_CHANNELS;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 4) return { field: `attributes.${RAW_CHANNELS_ATTRIBUTE}`, reason: `must be 1, 2, 3 or 4 for a raw image, got ${JSON.stringify(v)}` };
  return n;
}

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export function mapInspection(p: ProtoInspection, opts: MapOptions): MapResult {
  const problems: FieldProblem[] = [];
  const bad = (field: string, reason: string) => problems.push({ field, reason });

  const id = p.inspection_id ?? '';
  if (!id) bad('inspection_id', 'is required');
  else if (id.length > MAX_ID) bad('inspection_id', `must be at most ${MAX_ID} characters`);
  if (!p.camera_id) bad('camera_id', 'is required');
  const capturedAt = Number(p.captured_at_ms ?? 0);
  if (!Number.isSafeInteger(capturedAt) || capturedAt <= 0) bad('captured_at_ms', 'is required: unix milliseconds > 0');

  let image: Inspection['image'];
  const img = p.image;
  if (img) {
    const format = img.format ?? '';
    const width = img.width ?? 0;
    const height = img.height ?? 0;
    const data = img.data;
    let ok = true;
    if (!(IMAGE_FORMATS as readonly string[]).includes(format)) {
      bad('image.format', `must be one of ${IMAGE_FORMATS.join(', ')}, got ${JSON.stringify(format)}`);
      ok = false;
    }
    if (!Number.isInteger(width) || width < 1) (bad('image.width', 'must be a whole number >= 1'), (ok = false));
    if (!Number.isInteger(height) || height < 1) (bad('image.height', 'must be a whole number >= 1'), (ok = false));
    if (!data || data.length === 0) (bad('image.data', 'is empty'), (ok = false));
    if (ok && data) {
      if (format === 'raw') {
        const ch = rawChannels(p.attributes);
        if (typeof ch !== 'number') problems.push(ch);
        else if (data.length !== width * height * ch) {
          bad('image.data', `has ${data.length} bytes but a raw ${width}x${height} image with ${ch} channels needs ${width * height * ch}`);
        }
      } else if (!hasSignature(data, format as Exclude<ImageFormat, 'raw'>)) {
        bad('image.data', `does not start like a ${format} file`);
      }
    }
    // No copy: protobufjs decodes bytes as a view on the received message.
    const buf = data ? (Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)) : Buffer.alloc(0);
    image = { data: buf, format: format as ImageFormat, width, height };
  }

  const detections: Detection[] = [];
  (p.detections ?? []).forEach((d, i) => {
    const f = `detections[${i}]`;
    if (!d.defect_class) bad(`${f}.defect_class`, 'is required');
    const c = d.confidence ?? 0;
    if (!isFiniteNumber(c) || c < 0 || c > 1) bad(`${f}.confidence`, `must be between 0 and 1, got ${c}`);
    const det: Detection = { defectClass: d.defect_class ?? '', confidence: c };
    if (d.box) {
      const { x = 0, y = 0, width = 0, height = 0 } = d.box;
      const before = problems.length;
      if (!isFiniteNumber(x) || x < 0) bad(`${f}.box.x`, `must be >= 0, got ${x}`);
      if (!isFiniteNumber(y) || y < 0) bad(`${f}.box.y`, `must be >= 0, got ${y}`);
      if (!isFiniteNumber(width) || width <= 0) bad(`${f}.box.width`, `must be > 0, got ${width}`);
      if (!isFiniteNumber(height) || height <= 0) bad(`${f}.box.height`, `must be > 0, got ${height}`);
      if (problems.length === before && image && image.width > 0 && image.height > 0) {
        if (x + width > image.width + EDGE_SLACK) bad(`${f}.box`, `is outside the image: x + width = ${x + width} > image.width ${image.width}`);
        if (y + height > image.height + EDGE_SLACK) bad(`${f}.box`, `is outside the image: y + height = ${y + height} > image.height ${image.height}`);
      }
      det.box = { x, y, width, height };
    }
    detections.push(det);
  });
  if (problems.length) return { ok: false, problems };

  const inspection: Inspection = {
    inspectionId: id,
    site: opts.site,
    line: p.line_id || opts.line,
    cameraId: p.camera_id!,
    capturedAt,
    detections,
  };
  if (p.product_serial) inspection.productSerial = p.product_serial;
  if (p.model_version) inspection.modelVersion = p.model_version;
  if (image) inspection.image = image;
  if (p.attributes && Object.keys(p.attributes).length) inspection.attributes = { ...p.attributes };
  // The shared contract is the final word (same checks every other node applies).
  const rest = inspectionContract.problems(inspection);
  return rest.length ? { ok: false, problems: rest } : { ok: true, inspection };
}

/** One line for a gRPC status detail: `detections[0].confidence must be between 0 and 1, got 1.5; ...`. */
export function describeProblems(problems: FieldProblem[]): string {
  return problems.map((p) => (p.field ? `${p.field} ${p.reason}` : p.reason)).join('; ');
}
