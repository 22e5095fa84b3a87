// What the Models registry page shows of a model version: the headline figures (precision, recall, mAP@0.5)
// wherever model.json keeps them, two versions side by side like `linesight models diff`, and which devices
// run which version. Pure.
import type { ModelMetadata, ModelVersionDocument, RunningModel } from '../../../contracts/fleet/protocol';

export type ModelVersionView = Omit<ModelVersionDocument, 'signature'>;

export interface Headline {
  precision?: number;
  recall?: number;
  map50?: number;
}

export interface PerClass {
  precision?: number;
  recall?: number;
  ap50?: number;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const record = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

/**
 * The evaluation's overall figures: flat (`metrics.precision`, as the metadata schema suggests) or as the
 * project's training writes them (`metrics.heldOut.overall`); `map50`, `mAP50`, `mAP` and `map` all mean mAP@0.5.
 */
export function headline(metadata: ModelMetadata | undefined): Headline {
  const metrics = record(metadata?.metrics);
  const overall = record(record(metrics.heldOut).overall);
  const pick = (...keys: string[]) => {
    for (const source of [metrics, overall]) for (const k of keys) if (num(source[k]) !== undefined) return num(source[k]);
    return undefined;
  };
  const out: Headline = {};
  const precision = pick('precision');
  const recall = pick('recall');
  const map50 = pick('map50', 'mAP50', 'mAP', 'map');
  if (precision !== undefined) out.precision = precision;
  if (recall !== undefined) out.recall = recall;
  if (map50 !== undefined) out.map50 = map50;
  return out;
}

/** Per-class figures where the evaluation has them (`metrics.heldOut.perClass` or `metrics.perClass`). */
export function perClass(metadata: ModelMetadata | undefined): Record<string, PerClass> {
  const metrics = record(metadata?.metrics);
  const table = record(record(metrics.heldOut).perClass ?? metrics.perClass);
  const out: Record<string, PerClass> = {};
  for (const [cls, raw] of Object.entries(table)) {
    const r = record(raw);
    out[cls] = { precision: num(r.precision), recall: num(r.recall), ap50: num(r.ap50) };
  }
  return out;
}

/** `1024×768 NCHW`, from whichever of width/height/shape/layout the metadata gives. */
export function describeInput(metadata: ModelMetadata | undefined): string {
  const input = metadata?.input;
  if (!input) return '–';
  const shape = Array.isArray(input.shape) ? (input.shape as unknown[]) : undefined;
  const size = input.width && input.height ? `${input.width}×${input.height}` : shape ? shape.join('×') : '';
  return [size, input.layout, typeof input.color === 'string' ? input.color : undefined].filter(Boolean).join(' ') || '–';
}

export const formatFigure = (v: number | undefined): string => (v === undefined ? '–' : v.toFixed(3));

export interface CompareRow {
  field: string;
  a: string;
  b: string;
  changed: boolean;
  /** For figures: b − a (positive is better for precision, recall and mAP). */
  delta?: number;
}

const shown = (v: unknown): string => (v === undefined || v === null || v === '' ? '–' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** Two versions side by side: figures (with the change), per-class figures, classes, input, size, changelog. */
export function compareVersions(a: ModelVersionView, b: ModelVersionView): CompareRow[] {
  const rows: CompareRow[] = [];
  const add = (field: string, x: unknown, y: unknown) => rows.push({ field, a: shown(x), b: shown(y), changed: shown(x) !== shown(y) });
  const figure = (field: string, x: number | undefined, y: number | undefined) =>
    rows.push({ field, a: formatFigure(x), b: formatFigure(y), changed: formatFigure(x) !== formatFigure(y), ...(x !== undefined && y !== undefined ? { delta: y - x } : {}) });
  add('version', a.version, b.version);
  const [ha, hb] = [headline(a.metadata), headline(b.metadata)];
  figure('precision', ha.precision, hb.precision);
  figure('recall', ha.recall, hb.recall);
  figure('mAP@0.5', ha.map50, hb.map50);
  const [pa, pb] = [perClass(a.metadata), perClass(b.metadata)];
  // In the model's class order (output index), then any class only the evaluation names.
  for (const cls of [...new Set([...(b.metadata?.classes ?? []), ...(a.metadata?.classes ?? []), ...Object.keys(pa), ...Object.keys(pb)])]) {
    if (!pa[cls] && !pb[cls]) continue;
    figure(`${cls} precision`, pa[cls]?.precision, pb[cls]?.precision);
    figure(`${cls} recall`, pa[cls]?.recall, pb[cls]?.recall);
  }
  add('classes', (a.metadata?.classes ?? []).join(', '), (b.metadata?.classes ?? []).join(', '));
  add('input', describeInput(a.metadata), describeInput(b.metadata));
  add('format', a.format, b.format);
  add('bytes', a.bytes, b.bytes);
  add('sha256', a.sha256, b.sha256);
  add('publisher', a.publisher, b.publisher);
  add('published', a.createdAt, b.createdAt);
  add('changelog', a.changelog ?? a.metadata?.changelog, b.changelog ?? b.metadata?.changelog);
  return rows;
}

/** Newest first by semver (x.y.z; a pre-release sorts before its release). */
export function bySemverDesc(x: string, y: string): number {
  const parse = (v: string) => {
    const [core = '', pre] = v.split('-', 2);
    return { parts: core.split('.').map((p) => Number(p) || 0), pre };
  };
  const [a, b] = [parse(x), parse(y)];
  for (let i = 0; i < 3; i++) if ((a.parts[i] ?? 0) !== (b.parts[i] ?? 0)) return (b.parts[i] ?? 0) - (a.parts[i] ?? 0);
  if (a.pre === b.pre) return 0;
  if (a.pre === undefined) return -1;
  if (b.pre === undefined) return 1;
  return b.pre.localeCompare(a.pre);
}

/** Device ids by the version of `model` each runs (devices that run none of it are left out). */
export function devicesByVersion(devices: { id: string; models?: RunningModel[] }[], model: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const d of devices) {
    for (const m of d.models ?? []) {
      if (m.name !== model) continue;
      out.set(m.version, [...(out.get(m.version) ?? []), d.id]);
    }
  }
  for (const ids of out.values()) ids.sort();
  return out;
}
