// Checks a rule set before it is used: the generated DefectRule schema (types, ranges, unknown fields)
// and the meaning a schema cannot express. Every problem names the rule id, the field and the reason.
import { loadSchema, validatorFor, toProblems, ValidationError } from '../../contracts/schemas';
import type { DefectRule, DefectRuleWrite } from './defect-rule.schema';
import { polygonArea2 } from './geometry';

export interface RuleProblem {
  /** The rule's id, or `rules[i]` when the rule has no usable id. */
  ruleId: string;
  /** Dotted path inside the rule, e.g. `window.count`. */
  field: string;
  reason: string;
}

/** Largest number of timestamps a count or rate window may need to hold. */
export const MAX_WINDOW_EVENTS = 10_000;

/** A refused rule set; `problems` carry the rule id separately for the editor. */
export class RuleValidationError extends ValidationError {
  readonly ruleProblems: RuleProblem[];
  constructor(problems: RuleProblem[]) {
    super('invalid rules', problems.map((p) => ({ field: `rule "${p.ruleId}" ${p.field}`, reason: p.reason })));
    this.name = 'RuleValidationError';
    this.ruleProblems = problems;
  }
}

export interface ValidationOptions {
  /** Defect classes the models report; empty or absent accepts any. */
  knownClasses?: readonly string[];
}

/** Parses the comma-separated `knownClasses` config field. */
export function parseClassList(text: string | undefined): string[] {
  return (text ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

const WINDOW_FIELDS: Record<string, { need: string[]; allow: string[] }> = {
  each: { need: [], allow: [] },
  count: { need: ['count', 'durationMs'], allow: [] },
  consecutive: { need: ['count'], allow: [] },
  rate: { need: ['perMinute', 'durationMs'], allow: [] },
  ratio: { need: ['ratio', 'size'], allow: ['durationMs', 'minTotal'] },
};
const ALL_WINDOW_FIELDS = ['count', 'durationMs', 'perMinute', 'ratio', 'size', 'minTotal'];

/** Matching inspections a rate window must see within its duration to fire. */
export function rateThreshold(perMinute: number, durationMs: number): number {
  return Math.max(1, Math.ceil((perMinute * durationMs) / 60_000 - 1e-9));
}

/** Every problem with a rule set; empty when it can be used. */
export function ruleProblems(rules: unknown, opts: ValidationOptions = {}): RuleProblem[] {
  if (!Array.isArray(rules)) return [{ ruleId: 'rules', field: '', reason: 'must be an array of rules' }];
  const validate = validatorFor('DefectRule');
  const out: RuleProblem[] = [];
  const seen = new Map<string, number>();
  const known = opts.knownClasses && opts.knownClasses.length > 0 ? new Set(opts.knownClasses) : undefined;
  const usable: DefectRule[] = [];
  rules.forEach((raw, i) => {
    const rid = raw && typeof raw === 'object' && typeof (raw as DefectRule).id === 'string' && (raw as DefectRule).id ? (raw as DefectRule).id : `rules[${i}]`;
    const add = (field: string, reason: string) => out.push({ ruleId: rid, field, reason });
    if (!validate(raw)) {
      for (const p of toProblems(validate.errors)) add(p.field, p.reason);
      return;
    }
    const r = raw as DefectRule;
    for (const f of unknownFields(r)) add(f, 'is not a known field');
    if (seen.has(r.id)) add('id', `is used by rules[${seen.get(r.id)}] too; ids must be unique`);
    else seen.set(r.id, i);
    const before = out.length;
    checkCondition(r, known, add);
    checkWindow(r, add);
    checkAction(r, add);
    if (out.length === before) usable.push(r);
  });
  out.push(...crossRuleConflicts(usable));
  return out;
}

/** Returns the rules typed, or throws a RuleValidationError listing every problem. */
export function assertRules(rules: unknown, opts: ValidationOptions = {}): DefectRule[] {
  const problems = ruleProblems(rules, opts);
  if (problems.length) throw new RuleValidationError(problems);
  return rules as DefectRule[];
}

type Add = (field: string, reason: string) => void;
const an = (word: string) => `${/^[aeiou]/.test(word) ? 'an' : 'a'} ${word}`;

interface SchemaNode {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  items?: SchemaNode | SchemaNode[];
  definitions?: Record<string, SchemaNode>;
}
let ruleSchema: SchemaNode | undefined;

/** Fields of `value` that the DefectRule schema does not name (typos such as `clases` or `minConfidance`). */
export function unknownFields(value: unknown): string[] {
  ruleSchema ??= loadSchema('DefectRule') as SchemaNode;
  const defs = ruleSchema.definitions ?? {};
  const out: string[] = [];
  const walk = (v: unknown, node: SchemaNode, path: string) => {
    while (node.$ref) node = defs[node.$ref.replace('#/definitions/', '')] ?? {};
    if (Array.isArray(v)) {
      if (node.items && !Array.isArray(node.items)) v.forEach((x, i) => walk(x, node.items as SchemaNode, `${path}[${i}]`));
      return;
    }
    // Free-form maps (attributes) declare additionalProperties; only fixed shapes are checked.
    if (!v || typeof v !== 'object' || !node.properties || node.additionalProperties) return;
    for (const [k, x] of Object.entries(v)) {
      const p = path ? `${path}.${k}` : k;
      if (!(k in node.properties)) out.push(p);
      else walk(x, node.properties[k], p);
    }
  };
  walk(value, ruleSchema, '');
  return out;
}

function checkCondition(r: DefectRule, known: Set<string> | undefined, add: Add): void {
  const c = r.condition;
  if (known) {
    (c.classes ?? []).forEach((k, i) => {
      if (!known.has(k)) add(`condition.classes[${i}]`, `"${k}" is not a known defect class (known: ${[...known].join(', ')})`);
    });
  }
  if (c.minArea !== undefined && c.maxArea !== undefined && c.minArea > c.maxArea) add('condition.maxArea', `must not be below minArea (${c.minArea})`);
  const roi = c.roi;
  if (roi) {
    if (roi.shape === 'rect') {
      for (const f of ['x', 'y', 'width', 'height'] as const) if (roi[f] === undefined) add(`condition.roi.${f}`, 'is required for a rect region');
      if (roi.points !== undefined) add('condition.roi.points', 'belongs to a polygon region, not a rect');
    } else {
      if (!roi.points) add('condition.roi.points', 'is required for a polygon region');
      else if (polygonArea2(roi.points) === 0) add('condition.roi.points', 'enclose no area (all points on one line)');
      for (const f of ['x', 'y', 'width', 'height'] as const) if (roi[f] !== undefined) add(`condition.roi.${f}`, 'belongs to a rect region, not a polygon');
    }
  }
}

function checkWindow(r: DefectRule, add: Add): void {
  const w = r.window as unknown as Record<string, number | undefined> & { kind: string };
  const spec = WINDOW_FIELDS[w.kind];
  for (const f of spec.need) if (w[f] === undefined) add(`window.${f}`, `is required for ${an(w.kind)} window`);
  for (const f of ALL_WINDOW_FIELDS) {
    if (w[f] !== undefined && !spec.need.includes(f) && !spec.allow.includes(f)) add(`window.${f}`, `does not apply to ${an(w.kind)} window`);
  }
  if (w.kind === 'rate' && w.perMinute !== undefined && w.durationMs !== undefined) {
    const n = rateThreshold(w.perMinute, w.durationMs);
    if (n > MAX_WINDOW_EVENTS) add('window.perMinute', `over durationMs asks for ${n} inspections in the window; at most ${MAX_WINDOW_EVENTS}`);
  }
  if (w.kind === 'ratio' && w.minTotal !== undefined && w.size !== undefined && w.minTotal > w.size) {
    add('window.minTotal', `must not exceed window.size (${w.size})`);
  }
}

function checkAction(r: DefectRule, add: Add): void {
  const a = r.action;
  if (a.kind !== 'notify' && a.writes.length === 0) add('action.writes', `must name at least one tag for ${an(a.kind)} action`);
  duplicateTags(a.writes, 'action.writes', add);
  if (a.resetWrites) {
    duplicateTags(a.resetWrites, 'action.resetWrites', add);
    if (!a.holdMs) add('action.resetWrites', 'are only made after a hold: set action.holdMs above 0');
  } else if (a.holdMs && a.holdMs > 0) {
    a.writes.forEach((w, i) => {
      if (typeof w.value === 'string') add(`action.writes[${i}].value`, `is text, which has no default reset value: give action.resetWrites for tag "${w.tag}"`);
    });
  }
}

function duplicateTags(writes: DefectRuleWrite[], field: string, add: Add): void {
  const first = new Map<string, number>();
  writes.forEach((w, i) => {
    const j = first.get(w.tag);
    if (j === undefined) first.set(w.tag, i);
    else add(`${field}[${i}].tag`, `writes tag "${w.tag}" a second time (also ${field}[${j}]); conflicting writes to one tag`);
  });
}

/** Two enabled rules that can fire on the same inspection must not write different values to one tag. */
function crossRuleConflicts(rules: DefectRule[]): RuleProblem[] {
  const out: RuleProblem[] = [];
  const owner = new Map<string, { ruleId: string; value: unknown }>();
  for (const r of rules) {
    if (r.enabled === false) continue;
    r.action.writes.forEach((w, i) => {
      const prev = owner.get(w.tag);
      if (!prev) owner.set(w.tag, { ruleId: r.id, value: w.value });
      else if (prev.value !== w.value) {
        out.push({
          ruleId: r.id,
          field: `action.writes[${i}].value`,
          reason: `writes ${JSON.stringify(w.value)} to tag "${w.tag}" but rule "${prev.ruleId}" writes ${JSON.stringify(prev.value)}; conflicting writes to one tag`,
        });
      }
    });
  }
  return out;
}

/** The writes that end a hold: explicit ones, or each written tag set back to false / 0. */
export function resetWritesOf(r: DefectRule): DefectRuleWrite[] {
  if (r.action.resetWrites) return r.action.resetWrites;
  return r.action.writes.map((w) => ({ tag: w.tag, value: typeof w.value === 'boolean' ? false : 0 }));
}
