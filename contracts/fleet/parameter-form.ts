// A parameter form generated from a template's JSON Schema: the fields to render, and the typed,
// validated values from what the user typed (ajv does the validation, so the form, the repository and
// the agent agree on what is valid). Pure; the editor sidebar and the fleet console bundle it.
import Ajv from 'ajv';

export type ParameterValue = string | number | boolean;

export interface FormField {
  name: string;
  label: string;
  kind: 'string' | 'number' | 'integer' | 'boolean' | 'enum';
  required: boolean;
  default?: ParameterValue;
  description?: string;
  options?: ParameterValue[];
  minimum?: number;
  maximum?: number;
  pattern?: string;
}

interface PropSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: ParameterValue;
  enum?: ParameterValue[];
  minimum?: number;
  maximum?: number;
  pattern?: string;
}

export interface ParameterSchema {
  type?: 'object';
  properties?: Record<string, PropSchema>;
  required?: string[];
}

export function formFields(schema: ParameterSchema | undefined): FormField[] {
  const props = schema?.properties ?? {};
  const required = new Set(schema?.required ?? []);
  // Property order does not survive storage (PostgreSQL jsonb reorders keys): required first, then by name.
  const names = Object.keys(props).sort((a, b) => Number(required.has(b)) - Number(required.has(a)) || a.localeCompare(b));
  return names.map((name) => {
    const p = props[name];
    const t = Array.isArray(p.type) ? p.type.find((x) => x !== 'null') : p.type;
    const kind: FormField['kind'] = p.enum ? 'enum' : t === 'number' || t === 'integer' || t === 'boolean' ? t : 'string';
    const f: FormField = { name, label: p.title || name, kind, required: required.has(name) };
    if (p.default !== undefined) f.default = p.default;
    if (p.description) f.description = p.description;
    if (p.enum) f.options = p.enum;
    if (p.minimum !== undefined) f.minimum = p.minimum;
    if (p.maximum !== undefined) f.maximum = p.maximum;
    if (p.pattern) f.pattern = p.pattern;
    return f;
  });
}

export interface FormResult {
  values: Record<string, ParameterValue>;
  problems: { field: string; reason: string }[];
}

const ajv = new Ajv({ allErrors: true, strict: false });

/** Turns the raw inputs (text, or booleans from checkboxes) into typed values and validates them. */
export function readForm(schema: ParameterSchema | undefined, raw: Record<string, string | boolean | undefined>): FormResult {
  const fields = formFields(schema);
  const values: Record<string, ParameterValue> = {};
  const problems: FormResult['problems'] = [];
  for (const f of fields) {
    const r = raw[f.name];
    if (r === undefined || r === '') {
      if (f.default !== undefined) values[f.name] = f.default;
      continue;
    }
    if (f.kind === 'boolean') values[f.name] = r === true || r === 'true';
    else if (f.kind === 'number' || f.kind === 'integer' || (f.kind === 'enum' && typeof f.options?.[0] === 'number')) {
      const n = Number(r);
      if (typeof r !== 'string' || r.trim() === '' || !Number.isFinite(n)) problems.push({ field: f.name, reason: `must be a number, got "${r}"` });
      else values[f.name] = n;
    } else values[f.name] = String(r);
  }
  if (problems.length === 0 && schema) {
    const validate = ajv.compile(schema);
    if (!validate(values)) {
      for (const e of validate.errors ?? []) {
        const field = e.instancePath.replace(/^\//, '') || String((e.params as { missingProperty?: string }).missingProperty ?? '');
        problems.push({ field, reason: e.message ?? 'is invalid' });
      }
    }
  }
  return { values, problems };
}
