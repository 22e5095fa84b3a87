// What the defect-rule editor shows and reads back, without the DOM: the flat text form of a rule and
// its conversion to and from the rule model, and one-line rule summaries. Bundled into the editor
// (defect-rule.browser.ts) and unit-tested here.
import type { DefectRule, DefectRuleRoi, DefectRuleWindow, DefectRuleWrite } from './defect-rule.schema';

/**
 * The @default values of DefectRuleConfig as the rule model reads them. The editor no longer uses this:
 * its `defaults` are generated from the schema (nodes/kit/editor); kept while its test refers to it.
 */
export const EDITOR_DEFAULTS = {
  name: '',
  rules: [] as unknown[],
  timeMode: 'processing',
  allowedLatenessMs: 2000,
  knownClasses: '',
  stateIdleMs: 3_600_000,
  maxLinesPerRule: 1000,
};

/** Every form field as text, the way inputs hold it. Empty means "not set". */
export interface RuleForm {
  id: string;
  name: string;
  enabled: boolean;
  classes: string;
  minConfidence: string;
  minArea: string;
  maxArea: string;
  minDetections: string;
  cameras: string;
  lines: string;
  attributes: string;
  roiShape: '' | 'rect' | 'polygon';
  roiX: string;
  roiY: string;
  roiWidth: string;
  roiHeight: string;
  roiPoints: string;
  roiMode: string;
  windowKind: DefectRuleWindow['kind'];
  count: string;
  durationMs: string;
  perMinute: string;
  ratio: string;
  size: string;
  minTotal: string;
  actionKind: DefectRule['action']['kind'];
  severity: string;
  writes: string;
  holdMs: string;
  resetWrites: string;
  cooldownMs: string;
}

/** Which window fields each kind shows in the form. */
export const WINDOW_FORM_FIELDS: Record<DefectRuleWindow['kind'], Array<keyof DefectRuleWindow>> = {
  each: [],
  count: ['count', 'durationMs'],
  consecutive: ['count'],
  rate: ['perMinute', 'durationMs'],
  ratio: ['ratio', 'size', 'durationMs', 'minTotal'],
};

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const str = (n: unknown) => (n === undefined || n === null ? '' : String(n));

/** A number from a field; text that is not a number is kept so validation names the field. */
function num(s: string): number | string | undefined {
  const t = s.trim();
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}

/** `true`/`false` become booleans, numbers numbers, anything else (optionally quoted) text. */
export function parseValue(text: string): number | boolean | string {
  const t = text.trim();
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (t !== '' && Number.isFinite(Number(t))) return Number(t);
  const q = /^"(.*)"$/.exec(t) ?? /^'(.*)'$/.exec(t);
  return q ? q[1] : t;
}

function formatValue(v: number | boolean | string): string {
  if (typeof v === 'string') return v === 'true' || v === 'false' || (v.trim() !== '' && Number.isFinite(Number(v))) ? JSON.stringify(v) : v;
  return String(v);
}

/** Writes as lines or comma-separated `tag=value`. */
export function parseWrites(text: string): DefectRuleWrite[] {
  return text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const i = s.indexOf('=');
      return i < 0 ? { tag: s, value: true } : { tag: s.slice(0, i).trim(), value: parseValue(s.slice(i + 1)) };
    });
}

export function formatWrites(writes: DefectRuleWrite[] | undefined): string {
  return (writes ?? []).map((w) => `${w.tag}=${formatValue(w.value)}`).join('\n');
}

/** Polygon points as `x,y x,y x,y`. */
export function parsePoints(text: string): Array<[number, number]> {
  return text
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((p) => {
      const [x, y] = p.split(',').map(Number);
      return [x, y] as [number, number];
    });
}

export function ruleToForm(r: DefectRule): RuleForm {
  const c = r.condition ?? {};
  const w = r.window ?? { kind: 'each' };
  const a = r.action ?? { kind: 'alarm', writes: [] };
  const roi = c.roi;
  return {
    id: r.id ?? '',
    name: r.name ?? '',
    enabled: r.enabled !== false,
    classes: (c.classes ?? []).join(', '),
    minConfidence: str(c.minConfidence),
    minArea: str(c.minArea),
    maxArea: str(c.maxArea),
    minDetections: str(c.minDetections),
    cameras: (c.cameras ?? []).join(', '),
    lines: (c.lines ?? []).join(', '),
    attributes: Object.entries(c.attributes ?? {}).map(([k, v]) => `${k}=${v}`).join(', '),
    roiShape: roi?.shape ?? '',
    roiX: str(roi?.x),
    roiY: str(roi?.y),
    roiWidth: str(roi?.width),
    roiHeight: str(roi?.height),
    roiPoints: (roi?.points ?? []).map((p) => `${p[0]},${p[1]}`).join(' '),
    roiMode: roi?.mode ?? 'center',
    windowKind: w.kind,
    count: str(w.count),
    durationMs: str(w.durationMs),
    perMinute: str(w.perMinute),
    ratio: str(w.ratio),
    size: str(w.size),
    minTotal: str(w.minTotal),
    actionKind: a.kind,
    severity: a.severity ?? 'warning',
    writes: formatWrites(a.writes),
    holdMs: str(a.holdMs),
    resetWrites: a.resetWrites ? formatWrites(a.resetWrites) : '',
    cooldownMs: str(a.cooldownMs),
  };
}

/** Builds the rule from the form, leaving out what is empty; the server-side validator judges the rest. */
export function formToRule(f: RuleForm): DefectRule {
  const set = <T extends object>(o: T, k: string, v: unknown) => {
    if (v !== undefined && v !== '' && !(Array.isArray(v) && v.length === 0)) (o as Record<string, unknown>)[k] = v;
  };
  const condition = {};
  set(condition, 'classes', list(f.classes));
  set(condition, 'minConfidence', num(f.minConfidence));
  set(condition, 'minArea', num(f.minArea));
  set(condition, 'maxArea', num(f.maxArea));
  set(condition, 'minDetections', num(f.minDetections));
  if (f.roiShape) {
    const roi: Partial<DefectRuleRoi> = { shape: f.roiShape };
    if (f.roiShape === 'rect') {
      set(roi, 'x', num(f.roiX));
      set(roi, 'y', num(f.roiY));
      set(roi, 'width', num(f.roiWidth));
      set(roi, 'height', num(f.roiHeight));
    } else {
      set(roi, 'points', f.roiPoints.trim() ? parsePoints(f.roiPoints) : undefined);
    }
    if (f.roiMode && f.roiMode !== 'center') roi.mode = f.roiMode as DefectRuleRoi['mode'];
    set(condition, 'roi', roi);
  }
  set(condition, 'cameras', list(f.cameras));
  set(condition, 'lines', list(f.lines));
  const attrs = list(f.attributes);
  if (attrs.length) {
    set(condition, 'attributes', Object.fromEntries(attrs.map((kv) => {
      const i = kv.indexOf('=');
      return i < 0 ? [kv, ''] : [kv.slice(0, i).trim(), kv.slice(i + 1).trim()];
    })));
  }
  const window: Record<string, unknown> = { kind: f.windowKind };
  for (const k of WINDOW_FORM_FIELDS[f.windowKind] ?? []) set(window, k, num((f as unknown as Record<string, string>)[k] ?? ''));
  const action: Record<string, unknown> = { kind: f.actionKind, severity: f.severity || 'warning', writes: parseWrites(f.writes) };
  set(action, 'holdMs', num(f.holdMs));
  if (f.resetWrites.trim()) action.resetWrites = parseWrites(f.resetWrites);
  set(action, 'cooldownMs', num(f.cooldownMs));
  const rule: Record<string, unknown> = { id: f.id.trim() };
  set(rule, 'name', f.name.trim());
  if (!f.enabled) rule.enabled = false;
  rule.condition = condition;
  rule.window = window;
  rule.action = action;
  return rule as unknown as DefectRule;
}

/** One line for the rule table: what it looks for, when it fires, what it does. */
export function summarize(r: DefectRule): string {
  const c = r.condition ?? {};
  const what = `${c.classes && c.classes.length ? c.classes.join('/') : 'any defect'}${c.minConfidence !== undefined ? ` >= ${c.minConfidence}` : ''}${c.roi ? ` in ${c.roi.shape}` : ''}`;
  const w = r.window ?? { kind: 'each' };
  const when =
    w.kind === 'each' ? 'each time'
    : w.kind === 'count' ? `${w.count ?? '?'} within ${w.durationMs ?? '?'} ms`
    : w.kind === 'consecutive' ? `${w.count ?? '?'} in a row`
    : w.kind === 'rate' ? `>= ${w.perMinute ?? '?'}/min over ${w.durationMs ?? '?'} ms`
    : `ratio >= ${w.ratio ?? '?'} of last ${w.size ?? '?'}`;
  const a = r.action ?? { kind: 'alarm', writes: [] };
  const does = `${a.kind}${a.writes && a.writes.length ? ` (${a.writes.map((x) => `${x.tag}=${formatValue(x.value)}`).join(', ')})` : ''}`;
  return `${what}, ${when} → ${does}`;
}

/** A fresh rule for the "add" button, with an id not yet taken. */
export function newRule(taken: readonly string[]): DefectRule {
  let i = taken.length + 1;
  while (taken.includes(`rule-${i}`)) i++;
  return {
    id: `rule-${i}`,
    condition: { classes: [], minConfidence: 0.8 },
    window: { kind: 'each' },
    action: { kind: 'alarm', severity: 'warning', writes: [{ tag: 'AlarmLamp', value: true }], holdMs: 5000 },
  };
}
