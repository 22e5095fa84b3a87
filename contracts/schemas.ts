// Runtime validation against the JSON Schemas generated at build time from `*.schema.ts` types.
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import fs from 'node:fs';
import path from 'node:path';

/** Where the build writes generated schemas: dist/schemas, next to dist/nodes. */
export const SCHEMA_DIR = path.resolve(__dirname, '..', 'schemas');

/** One problem with one field: `field` is a dotted path such as `detections[0].confidence`. */
export interface FieldProblem {
  field: string;
  reason: string;
}

/** A value failed its schema; the message names every field and reason. */
export class ValidationError extends Error {
  readonly problems: FieldProblem[];
  constructor(what: string, problems: FieldProblem[]) {
    super(`${what}: ${problems.map((p) => (p.field ? `${p.field} ${p.reason}` : p.reason)).join('; ')}`);
    this.name = 'ValidationError';
    this.problems = problems;
  }
}

const ajvStrict = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
// Configs from the editor arrive with numbers as strings and missing optional fields: coerce and fill defaults.
const ajvConfig = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true, coerceTypes: true, useDefaults: true });
// `nodeType` (from `@nodeType` in a config interface) names the config-node type a property refers to;
// it is for the editor and constrains nothing here, but each Ajv declares it so a strict Ajv would accept it too.
for (const ajv of [ajvStrict, ajvConfig]) ajv.addKeyword({ keyword: 'nodeType', schemaType: 'string' });
const cache = new Map<string, ValidateFunction>();

export function loadSchema(name: string): Record<string, unknown> {
  const file = path.join(SCHEMA_DIR, `${name}.json`);
  if (!fs.existsSync(file)) throw new Error(`no generated schema ${name} in ${SCHEMA_DIR}: run npm run build`);
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** A compiled validator for a generated schema; `config` mode coerces types and applies defaults in place. */
export function validatorFor(name: string, mode: 'strict' | 'config' = 'strict'): ValidateFunction {
  const key = `${mode}:${name}`;
  let v = cache.get(key);
  if (!v) {
    v = (mode === 'config' ? ajvConfig : ajvStrict).compile(loadSchema(name));
    cache.set(key, v);
  }
  return v;
}

/** Turns ajv errors into field/reason pairs with readable paths (`detections[0].box.width`). */
export function toProblems(errors: ErrorObject[] | null | undefined, prefix = ''): FieldProblem[] {
  if (!errors) return [];
  const out: FieldProblem[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    // Union types produce one error per branch; the `anyOf`/`oneOf` summary repeats them.
    if (e.keyword === 'anyOf' || e.keyword === 'oneOf' || e.keyword === 'if' || e.keyword === 'propertyNames') continue;
    let field = e.instancePath
      .split('/')
      .slice(1)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), '');
    let reason = e.message ?? 'is invalid';
    // A `propertyNames` failure: the object is the field, the name is in the reason.
    const propertyName = (e as ErrorObject & { propertyName?: string }).propertyName;
    if (propertyName !== undefined) {
      reason = `has a property name ${JSON.stringify(propertyName)} that ${reason}`;
    } else if (e.keyword === 'required') {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      field = field ? `${field}.${missing}` : missing;
      reason = 'is required';
    } else if (e.keyword === 'enum') {
      reason = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    } else if (e.keyword === 'additionalProperties') {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      field = field ? `${field}.${extra}` : extra;
      reason = 'is not a known field';
    }
    if (prefix) field = field ? `${prefix}.${field}` : prefix;
    const k = `${field}|${reason}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push({ field, reason });
    }
  }
  return out;
}

/** Validates `value` against schema `name`, throwing a ValidationError that names the fields. */
export function assertValid<T>(name: string, value: unknown, what = name, mode: 'strict' | 'config' = 'strict'): T {
  const v = validatorFor(name, mode);
  if (!v(value)) throw new ValidationError(what, toProblems(v.errors));
  return value as T;
}
