// What the Quality pages show, computed from the history API's answers: periods and their bucket, the
// query of a filter, series pivoted for uPlot, boxes over an image, the line's state at an inspection,
// the model comparison grouped per line. Pure: no DOM, no fetch.
import type { InspectionDetail, ModelComparison, SeriesPoint, TagReading } from '../../history/queries';

export type Period = '1h' | '8h' | '24h' | '7d' | '30d';
export const PERIODS: { value: Period; label: string; ms: number; bucket: 'minute' | 'hour' | 'day' }[] = [
  { value: '1h', label: 'last hour', ms: 3_600_000, bucket: 'minute' },
  { value: '8h', label: 'last 8 hours', ms: 8 * 3_600_000, bucket: 'minute' },
  { value: '24h', label: 'last 24 hours', ms: 86_400_000, bucket: 'hour' },
  { value: '7d', label: 'last 7 days', ms: 7 * 86_400_000, bucket: 'hour' },
  { value: '30d', label: 'last 30 days', ms: 30 * 86_400_000, bucket: 'day' },
];

export interface QualityFilter {
  period: Period;
  line?: string;
  modelVersion?: string;
}

/** The filter a route's parameters name (unknown periods fall back to 24 h). */
export function filterFromParams(params: Record<string, string>): QualityFilter {
  const period = PERIODS.some((p) => p.value === params.period) ? (params.period as Period) : '24h';
  return { period, line: params.line?.trim() || undefined, modelVersion: params.modelVersion?.trim() || undefined };
}

/**
 * The history API's query for a filter at `now`: from/to (ISO), the bucket that gives a readable chart,
 * and the line and model version when given. `to` is rounded up to the minute so a page's queries agree.
 */
export function filterQuery(filter: QualityFilter, now: number): URLSearchParams {
  const period = PERIODS.find((p) => p.value === filter.period) ?? PERIODS[2]!;
  const to = Math.ceil(now / 60_000) * 60_000;
  const q = new URLSearchParams({ from: new Date(to - period.ms).toISOString(), to: new Date(to).toISOString() });
  if (filter.line) q.set('line', filter.line);
  if (filter.modelVersion) q.set('modelVersion', filter.modelVersion);
  return q;
}

export const bucketOf = (period: Period) => (PERIODS.find((p) => p.value === period) ?? PERIODS[2]!).bucket;

/** The CSV export of the current filter (a link the browser downloads with its session cookie). */
export function exportHref(root: string, filter: QualityFilter, now: number): string {
  return `${root}/history/export.csv?${filterQuery(filter, now)}`;
}

const PALETTE = ['#c0392b', '#2a6fb0', '#383', '#b70', '#7a3e9d', '#0f8a8a', '#8a5a2b', '#555', '#d35400', '#1f3a93'];
export const seriesColour = (i: number) => PALETTE[i % PALETTE.length]!;

export interface PivotedSeries {
  /** Bucket starts, seconds since the epoch (uPlot's x). */
  times: number[];
  series: { label: string; values: (number | null)[]; colour: string }[];
}

/**
 * Points of a defect-rate answer as one uPlot data set: one series per key (line, class, model version),
 * in percent, null where the key had no inspections in that bucket. Keys are ordered by their total
 * inspections (busiest first), at most `maxSeries` of them.
 */
export function pivotSeries(points: SeriesPoint[], maxSeries = 8): PivotedSeries {
  const times = [...new Set(points.map((p) => Date.parse(p.bucket)))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const weight = new Map<string, number>();
  for (const p of points) weight.set(p.key ?? 'all', (weight.get(p.key ?? 'all') ?? 0) + p.inspections);
  const keys = [...weight.keys()].sort((a, b) => weight.get(b)! - weight.get(a)! || a.localeCompare(b)).slice(0, maxSeries);
  const series = keys.map((key, i) => ({ label: key, values: new Array<number | null>(times.length).fill(null), colour: seriesColour(i) }));
  const byKey = new Map(series.map((s) => [s.label, s]));
  for (const p of points) {
    const s = byKey.get(p.key ?? 'all');
    if (!s || p.defectRate === null) continue;
    s.values[index.get(Date.parse(p.bucket))!] = Math.round(p.defectRate * 10_000) / 100;
  }
  return { times: times.map((t) => t / 1000), series };
}

/** A detection's box as a share of the image (0..1), clipped to it; null without a box or image size. */
export function boxShare(box: { x: number; y: number; width: number; height: number } | null, width: number, height: number): { x: number; y: number; w: number; h: number } | null {
  if (!box || !(width > 0) || !(height > 0)) return null;
  const x0 = Math.max(0, Math.min(box.x, width));
  const y0 = Math.max(0, Math.min(box.y, height));
  const x1 = Math.max(x0, Math.min(box.x + box.width, width));
  const y1 = Math.max(y0, Math.min(box.y + box.height, height));
  return { x: x0 / width, y: y0 / height, w: (x1 - x0) / width, h: (y1 - y0) / height };
}

/**
 * The picture to show for an inspection and the size its detections' boxes refer to: the full frame with
 * the boxes drawn over it; else the annotated image (boxes already in it); else the thumbnail (the boxes
 * are in full-frame pixels, whose size is then unknown: listed in the table, not drawn).
 */
export function pickImage(detail: Pick<InspectionDetail, 'images'>): { url: string; kind: string; width: number; height: number; drawBoxes: boolean } | null {
  const by = (kind: string) => detail.images.find((i) => i.kind === kind);
  const full = by('full');
  if (full) return { url: full.url, kind: 'full', width: full.width, height: full.height, drawBoxes: true };
  const annotated = by('annotated');
  if (annotated) return { url: annotated.url, kind: 'annotated', width: annotated.width, height: annotated.height, drawBoxes: false };
  const other = by('thumbnail') ?? detail.images[0];
  if (!other) return null;
  return { url: other.url, kind: other.kind, width: other.width, height: other.height, drawBoxes: false };
}

const STATE_TAG = /state|status|running|mode|run$/i;
const SPEED_TAG = /speed|rate|velocity/i;
const COUNT_TAG = /count|counter|total|produced|good|reject/i;

export interface LineStateRow {
  kind: 'speed' | 'counter' | 'state' | 'other';
  device: string;
  tag: string;
  value: string;
  unit: string | null;
  quality: string;
  /** The reading's time relative to the inspection, in seconds (negative: before). */
  offsetSeconds: number;
}

/** The line's readings at the inspection, speed first, then counters, state, the rest; values as text. */
export function lineState(atInspection: TagReading[], inspectionTime: string): LineStateRow[] {
  const at = Date.parse(inspectionTime);
  const kind = (tag: string): LineStateRow['kind'] => (SPEED_TAG.test(tag) ? 'speed' : COUNT_TAG.test(tag) ? 'counter' : STATE_TAG.test(tag) ? 'state' : 'other');
  const order = { speed: 0, counter: 1, state: 2, other: 3 };
  return atInspection
    .map((r) => ({ kind: kind(r.tag), device: r.device, tag: r.tag, value: formatValue(r.value), unit: r.unit, quality: r.quality, offsetSeconds: Math.round((Date.parse(r.time) - at) / 100) / 10 }))
    .sort((a, b) => order[a.kind] - order[b.kind] || a.device.localeCompare(b.device) || a.tag.localeCompare(b.tag));
}

export function formatValue(v: TagReading['value']): string {
  if (v === null) return '–';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Math.round(v * 1000) / 1000);
  return String(v);
}

export interface TagSeries {
  /** device/tag */
  label: string;
  unit: string | null;
  /** Seconds since the epoch (uPlot's x), ascending. */
  times: number[];
  values: number[];
  colour: string;
}

/**
 * The numeric (and boolean, as 0/1) tags of the samples around an inspection, one series per device and
 * tag with its own times, so each gets a chart on its own scale (speed in m/s beside a counter in
 * thousands). Speed first, then counters, then the rest; at most `max` of them.
 */
export function sampleSeries(samples: TagReading[], max = 6): TagSeries[] {
  const groups = new Map<string, TagReading[]>();
  for (const s of samples) {
    if (typeof s.value !== 'number' && typeof s.value !== 'boolean') continue;
    const key = `${s.device}/${s.tag}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  const rank = (tag: string) => (SPEED_TAG.test(tag) ? 0 : COUNT_TAG.test(tag) ? 1 : 2);
  return [...groups.entries()]
    .sort(([a, x], [b, y]) => rank(x[0]!.tag) - rank(y[0]!.tag) || a.localeCompare(b))
    .slice(0, max)
    .map(([label, readings], i) => {
      const sorted = [...readings].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
      return { label, unit: sorted.find((r) => r.unit)?.unit ?? null, times: sorted.map((r) => Date.parse(r.time) / 1000), values: sorted.map((r) => (typeof r.value === 'boolean' ? Number(r.value) : (r.value as number))), colour: seriesColour(i) };
    });
}

export interface LineComparison {
  site: string;
  line: string;
  versions: ModelComparison[];
  /** Every defect class any version of the line detected, most frequent first. */
  classes: string[];
  /** The highest confidence-bin count of the line (for one histogram scale across its versions). */
  maxBin: number;
}

/** Model-comparison rows grouped per line (site, line), versions in order, unknown versions last. */
export function compareByLine(rows: ModelComparison[]): LineComparison[] {
  const lines = new Map<string, LineComparison>();
  for (const r of rows) {
    const key = `${r.site}\u0000${r.line}`;
    let l = lines.get(key);
    if (!l) lines.set(key, (l = { site: r.site, line: r.line, versions: [], classes: [], maxBin: 0 }));
    l.versions.push(r);
  }
  const versionOrder = (a: string | null, b: string | null) => (a === null ? 1 : b === null ? -1 : a.localeCompare(b, undefined, { numeric: true }));
  for (const l of lines.values()) {
    l.versions.sort((a, b) => versionOrder(a.modelVersion, b.modelVersion));
    const totals = new Map<string, number>();
    for (const v of l.versions) for (const [c, n] of Object.entries(v.classes)) totals.set(c, (totals.get(c) ?? 0) + n);
    l.classes = [...totals.keys()].sort((a, b) => totals.get(b)! - totals.get(a)! || a.localeCompare(b));
    l.maxBin = Math.max(0, ...l.versions.flatMap((v) => v.confidenceBins));
  }
  return [...lines.values()].sort((a, b) => a.site.localeCompare(b.site) || a.line.localeCompare(b.line, undefined, { numeric: true }));
}

/** A rate as text: "2.35 %" (two decimals below 10 %), "–" when unknown. */
export function percent(rate: number | null | undefined): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return '–';
  const p = rate * 100;
  return `${p < 10 ? p.toFixed(2) : p.toFixed(1)} %`;
}

/** A defect rate against the line's baseline version, in percentage points ("+9.5 pp"); '' for the baseline or unknown rates. */
export function rateChange(rate: number | null, baseline: number | null): string {
  if (rate === null || baseline === null) return '';
  const pp = Math.round((rate - baseline) * 1000) / 10;
  return `${pp > 0 ? '+' : pp < 0 ? '−' : '±'}${Math.abs(pp).toFixed(1)} pp`;
}
