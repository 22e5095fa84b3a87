// What every request to the repository must satisfy beyond its JSON Schema: no NUL characters (PostgreSQL
// text and jsonb cannot hold them), no lone UTF-16 surrogates (jsonb refuses them, text would store U+FFFD
// silently), nesting at most MAX_JSON_DEPTH deep (the flow and schema checks recurse), and a body size per
// route. Checked without recursion, so a value nested 10,000 deep is refused, not a stack overflow.
import type { FieldProblem } from '../../contracts/schemas';

/** Deepest nesting of arrays and objects accepted in any body (a Node-RED flow needs far less). */
export const MAX_JSON_DEPTH = 64;
/** Body limit of every route but publishing a version. */
export const SMALL_BODY_LIMIT = '512kb';
/** Body limit of POST /templates/{slug}/versions: the flow is the one big document. */
export const FLOW_BODY_LIMIT = '10mb';
/** Body limit of the routes an agent posts its logs and health samples to (batches of up to 1,000). */
export const TELEMETRY_BODY_LIMIT = '4mb';
/** Longest path or query parameter value. */
export const MAX_PARAM_LENGTH = 512;
/** Problems reported per request at most; the first ones are enough to fix the input. */
const MAX_PROBLEMS = 20;

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why `text` cannot be stored, or undefined when it can. */
export function textProblem(text: string): string | undefined {
  if (text.includes('\u0000')) return 'must not contain NUL characters (U+0000)';
  if (LONE_SURROGATE.test(text)) return 'must not contain a lone UTF-16 surrogate (e.g. \\ud800); send well-formed Unicode';
  return undefined;
}

const fieldOf = (parent: string, key: string | number) => (typeof key === 'number' ? `${parent}[${key}]` : parent ? `${parent}.${key}` : key);

/** Every string and property name in `value` must be storable, and arrays and objects nest at most `maxDepth` deep. */
export function jsonProblems(value: unknown, maxDepth = MAX_JSON_DEPTH, prefix = ''): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const stack: { value: unknown; field: string; depth: number }[] = [{ value, field: prefix, depth: 0 }];
  const tooDeep = new Set<string>();
  while (stack.length && problems.length < MAX_PROBLEMS) {
    const { value: v, field, depth } = stack.pop()!;
    if (typeof v === 'string') {
      const reason = textProblem(v);
      if (reason) problems.push({ field, reason });
      continue;
    }
    if (!v || typeof v !== 'object') continue;
    if (depth >= maxDepth) {
      // Named by its top-level field, once: the full path of a 10,000-deep value helps nobody.
      const top = field.split(/[.[]/)[0] || field;
      if (!tooDeep.has(top)) {
        tooDeep.add(top);
        problems.push({ field: top, reason: `nests arrays and objects deeper than ${maxDepth} levels` });
      }
      continue;
    }
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], field: fieldOf(field, i), depth: depth + 1 });
      continue;
    }
    const entries = Object.entries(v as Record<string, unknown>);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i]!;
      const reason = textProblem(key);
      if (reason) problems.push({ field: field || '(body)', reason: `has a property name that ${reason}` });
      stack.push({ value: child, field: fieldOf(field, key), depth: depth + 1 });
    }
  }
  return problems;
}

/** Path and query parameters: storable text of bounded length. */
export function paramProblems(params: Record<string, unknown>, where: 'path' | 'query'): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const [name, raw] of Object.entries(params)) {
    for (const value of Array.isArray(raw) ? raw : [raw]) {
      if (typeof value !== 'string') continue;
      const reason = textProblem(value) ?? (value.length > MAX_PARAM_LENGTH ? `is longer than ${MAX_PARAM_LENGTH} characters` : undefined);
      if (reason) problems.push({ field: name, reason: `(${where} parameter) ${reason}` });
    }
  }
  return problems;
}
