// Node-RED editor `defaults` derived from a node's generated JSON Schema: the value is the schema's
// default (or the type's neutral value), `required` comes from the schema's required list, `type` from
// the `@nodeType` keyword of a config-node reference, and `validate` from the schema's constraints.
// Pure (no DOM, no RED): the browser bundle and the unit tests run the same code.

export interface PropertySchema {
  type?: string | string[];
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  nodeType?: string;
  $ref?: string;
  items?: unknown;
  description?: string;
}

export interface ConfigSchema {
  properties: Record<string, PropertySchema>;
  required?: string[];
  definitions?: Record<string, PropertySchema>;
}

/** Says why a value is wrong, in the editor's language; `key` is a kit catalog key (`kit.validation.*`). */
export type Explain = (key: string, vars: Record<string, unknown>) => string;

/** Node-RED 4 validator: true, or (called with `opt`) a reason; without `opt` a plain false. */
export type Validator = (this: unknown, value: unknown, opt?: { label?: string }) => boolean | string;

export interface EditorDefault {
  value: unknown;
  required?: boolean;
  type?: string;
  validate?: Validator;
}

/** Follows a local `$ref` (`#/definitions/X`) so an enum declared as its own type still constrains. */
export function resolveProperty(schema: ConfigSchema, prop: PropertySchema): PropertySchema {
  if (!prop.$ref) return prop;
  const name = prop.$ref.replace(/^#\/definitions\//, '');
  const target = schema.definitions?.[name];
  return target ? { ...target, ...prop, $ref: undefined } : prop;
}

function typeOf(prop: PropertySchema): string | undefined {
  if (Array.isArray(prop.type)) return prop.type.find((t) => t !== 'null');
  if (prop.type) return prop.type;
  if (prop.enum?.length) return typeof prop.enum[0];
  return undefined;
}

/** The value a new node starts with: the schema default, else the neutral value of the type. */
export function neutralValue(prop: PropertySchema): unknown {
  if (prop.default !== undefined) return prop.default;
  switch (typeOf(prop)) {
    case 'boolean': return false;
    case 'array': return [];
    case 'object': return {};
    default: return '';
  }
}

/**
 * Node-RED's `required` means "not empty". A required boolean is never empty, and a required string the
 * schema accepts as '' (no minLength, no enum or pattern that refuses it: `knownClasses` "empty accepts
 * any class") must stay clearable; everything else in the schema's required list must be filled in.
 */
function acceptsBlank(prop: PropertySchema): boolean {
  const type = typeOf(prop);
  if (type === 'boolean' || type === 'array' || type === 'object') return true;
  if (type !== 'string') return false;
  if ((prop.minLength ?? 0) > 0) return false;
  if (prop.enum && !prop.enum.includes('')) return false;
  if (prop.pattern !== undefined && !new RegExp(prop.pattern).test('')) return false;
  return true;
}

/** Whether a value from the form is blank (Node-RED keeps an empty input as ''). */
const blank = (v: unknown) => v === '' || v === undefined || v === null;

/** Node-RED allows `${ENV}` in any property; the runtime substitutes it before validation. */
const ENV_REFERENCE = /^\$\{[^}]+\}$/;

/**
 * The checks a property's schema asks for, as one Node-RED validator, or undefined where the schema
 * constrains nothing the form can break (objects, arrays and free text are checked by the runtime's Ajv).
 */
export function validatorFor(prop: PropertySchema, required: boolean, label: string, explain: Explain): Validator | undefined {
  const type = typeOf(prop);
  const checks: Array<(v: unknown) => string | null> = [];
  if (prop.enum) {
    const allowed = prop.enum.map(String);
    checks.push((v) => (allowed.includes(String(v)) ? null : explain('kit.validation.enum', { values: allowed.join(', ') })));
  }
  if (type === 'number' || type === 'integer') {
    checks.push((v) => {
      const n = typeof v === 'number' ? v : Number(String(v).trim());
      if (String(v).trim() === '' || !Number.isFinite(n)) return explain('kit.validation.number', {});
      if (type === 'integer' && !Number.isInteger(n)) return explain('kit.validation.integer', {});
      if (prop.minimum !== undefined && n < prop.minimum) return explain('kit.validation.minimum', { min: prop.minimum });
      if (prop.maximum !== undefined && n > prop.maximum) return explain('kit.validation.maximum', { max: prop.maximum });
      return null;
    });
  }
  if (type === 'string') {
    if (prop.minLength !== undefined) checks.push((v) => (String(v).length >= prop.minLength! ? null : explain('kit.validation.minLength', { min: prop.minLength })));
    if (prop.maxLength !== undefined) checks.push((v) => (String(v).length <= prop.maxLength! ? null : explain('kit.validation.maxLength', { max: prop.maxLength })));
    if (prop.pattern !== undefined) {
      const re = new RegExp(prop.pattern);
      checks.push((v) => (re.test(String(v)) ? null : explain('kit.validation.pattern', { pattern: prop.pattern })));
    }
  }
  if (!checks.length) return undefined;
  // Two declared parameters: Node-RED 4 then shows a returned string as the reason.
  return function validate(value: unknown, opt?: { label?: string }): boolean | string {
    if (typeof value === 'string' && ENV_REFERENCE.test(value)) return true;
    if (blank(value) && !required) return true;
    for (const check of checks) {
      const reason = check(value);
      if (reason !== null) return opt ? `${opt.label ?? label}: ${reason}` : false;
    }
    return true;
  };
}

/**
 * The `defaults` object of `RED.nodes.registerType` for a config schema. `labelOf` names a property
 * in the form's language for validation messages. Credentials are not in the config schema, so they
 * can never land here.
 */
export function editorDefaults(schema: ConfigSchema, explain: Explain, labelOf: (prop: string) => string = (p) => p): Record<string, EditorDefault> {
  const required = new Set(schema.required ?? []);
  const defaults: Record<string, EditorDefault> = {};
  for (const [name, raw] of Object.entries(schema.properties)) {
    const prop = resolveProperty(schema, raw);
    const entry: EditorDefault = { value: neutralValue(prop) };
    const isRequired = required.has(name) && !acceptsBlank(prop);
    if (isRequired) entry.required = true;
    if (prop.nodeType) entry.type = prop.nodeType;
    // A config-node reference is checked by Node-RED itself (missing or wrong node).
    const validate = prop.nodeType ? undefined : validatorFor(prop, isRequired, labelOf(name), explain);
    if (validate) entry.validate = validate;
    defaults[name] = entry;
  }
  return defaults;
}
