// The device page's parameter form: the template's schema gives the fields (contracts/fleet/parameter-form),
// the device's current values fill them, and only a real change is sent (a PATCH whose parameters differ
// becomes a new desired state, i.e. a deployment of the same version with the new values). Pure.
import { formFields, readForm, type FormField, type ParameterSchema, type ParameterValue } from '../../../contracts/fleet/parameter-form';

export interface ParameterFormModel {
  fields: (FormField & { value: string | boolean })[];
  /** Values the device holds that the schema does not declare (kept as they are). */
  undeclared: string[];
}

/** The form's fields with the device's values (or the defaults) as the inputs show them. */
export function parameterForm(schema: ParameterSchema | undefined, current: Record<string, ParameterValue>): ParameterFormModel {
  const fields = formFields(schema).map((f) => {
    const v = current[f.name] ?? f.default;
    return { ...f, value: f.kind === 'boolean' ? v === true : v === undefined ? '' : String(v) };
  });
  const declared = new Set(fields.map((f) => f.name));
  return { fields, undeclared: Object.keys(current).filter((k) => !declared.has(k)).sort() };
}

export interface ParameterChange {
  /** The whole parameter object to PATCH (undeclared values kept), or undefined when nothing changed. */
  parameters?: Record<string, ParameterValue>;
  changed: string[];
  problems: { field: string; reason: string }[];
}

/** What to send for the inputs `raw`: typed, validated against the schema, and only when something changed. */
export function parameterChange(schema: ParameterSchema | undefined, current: Record<string, ParameterValue>, raw: Record<string, string | boolean>): ParameterChange {
  const { values, problems } = readForm(schema, raw);
  if (problems.length) return { changed: [], problems };
  const next: Record<string, ParameterValue> = { ...current, ...values };
  const changed = Object.keys(next).filter((k) => next[k] !== current[k]).sort();
  return { parameters: changed.length ? next : undefined, changed, problems: [] };
}
