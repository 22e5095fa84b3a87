// Flow templates: what a template manifest holds (flows/<slug>/manifest.json beside flow.json), its
// parameter defaults and changelog, and the one "parameters referenced = declared" check. Pure: the
// repository (when it accepts a version), the publisher the CLI and the demo use, and the editor sidebar
// share it.
import type { FieldProblem } from '../schemas';
import type { ParameterValue } from './parameters';

export type TemplateTier = 'line' | 'factory' | 'cloud';

/** One parameter a template declares: a JSON Schema property, usually with a default. */
export interface TemplateParameter {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: ParameterValue;
  [keyword: string]: unknown;
}

/** The parameters JSON Schema of a template: an object whose properties are the names its flow reads. */
export interface TemplateParameters {
  type: 'object';
  required?: string[];
  properties: Record<string, TemplateParameter>;
  [keyword: string]: unknown;
}

export interface ChangelogEntry {
  version: string;
  changes: string;
}

/**
 * A template and the version it publishes: `manifest.json` of a template folder (flows/<slug>/). The flow
 * is `flow` itself, the file `flowFile` names, or `flow.json` beside the manifest.
 */
export interface TemplateManifest {
  /** URL-safe name, e.g. `line-inspection`. */
  slug: string;
  title: string;
  description?: string;
  tier: TemplateTier;
  /** The semantic version this manifest publishes. */
  version: string;
  parameters?: TemplateParameters;
  /** Node types the flow uses, each in the Linesight package or Node-RED core. */
  requiredNodes?: string[];
  /** What changed: text for this version, or one entry per version. */
  changelog?: string | ChangelogEntry[];
  /** Models the flow needs, each a semver range resolved at deploy, e.g. `[{"name": "defect-detector", "range": "^1.0.0"}]`. */
  models?: Array<{ name: string; range: string }>;
  flowFile?: string;
  flow?: unknown[];
}

/** A template shipped with Linesight (flows/<slug>/): every field given, its changelog one entry per version. */
export interface ShippedTemplateManifest extends TemplateManifest {
  description: string;
  parameters: TemplateParameters;
  requiredNodes: string[];
  changelog: ChangelogEntry[];
}

/** What a manifest says changed in `version`: its text, or the entry for that version. */
export function changelogFor(manifest: Pick<TemplateManifest, 'changelog'>, version: string): string | undefined {
  const log = manifest.changelog;
  return Array.isArray(log) ? log.find((c) => c.version === version)?.changes : log;
}

/** The parameter values a template's defaults give (what the demo and Import > Examples fill in). */
export function defaultParameters(manifest: Pick<TemplateManifest, 'parameters'>): Record<string, ParameterValue> {
  const out: Record<string, ParameterValue> = {};
  for (const [name, p] of Object.entries(manifest.parameters?.properties ?? {})) if (p.default !== undefined) out[name] = p.default;
  return out;
}

/** Environment variables Node-RED sets itself; a flow may use them without declaring them. */
const BUILTIN_ENV = /^NR_[A-Z_]+$/;
// Node-RED substitutes a property whose whole value is `${NAME}` (or the old `$(NAME)`), as its flow util does.
const ENV_PROPERTY = /^\$(?:\{(\S+)\}|\((\S+)\))$/;
// Function nodes read parameters in code.
const ENV_GET = /\benv\.get\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The parameter names a parameters schema declares (its `properties`). */
export function declaredParameters(schema: Record<string, unknown> | undefined): Set<string> {
  const props = schema?.properties;
  return new Set(props && typeof props === 'object' ? Object.keys(props) : []);
}

/** Every parameter name the flow reads: `${NAME}` properties, env-typed inputs, `env.get('NAME')` in code; each with the first field that reads it. */
export function referencedParameters(flow: unknown[]): Map<string, string> {
  const refs = new Map<string, string>();
  const visit = (value: unknown, field: string): void => {
    if (typeof value === 'string') {
      const whole = ENV_PROPERTY.exec(value);
      const name = whole ? (whole[1] ?? whole[2]) : undefined;
      if (name && !refs.has(name)) refs.set(name, field);
      for (const m of value.matchAll(ENV_GET)) if (!refs.has(m[1]!)) refs.set(m[1]!, field);
      return;
    }
    if (Array.isArray(value)) {
      value.forEach((v, i) => visit(v, `${field}[${i}]`));
      return;
    }
    if (value && typeof value === 'object') {
      const obj = value as Record<string, unknown>;
      for (const [k, v] of Object.entries(obj)) {
        // Typed inputs store their type beside the value: `fooType: "env"` (node props), `vt`/`tot`/`pt`
        // (inject/change/switch rows). The value then names an environment variable.
        if (v === 'env') {
          const base = k.endsWith('Type') ? k.slice(0, -4) : k.endsWith('t') ? k.slice(0, -1) : undefined;
          const name = base !== undefined ? obj[base] : undefined;
          if (typeof name === 'string' && name && !refs.has(name)) refs.set(name, field ? `${field}.${base}` : base!);
        }
        visit(v, field ? `${field}.${k}` : k);
      }
    }
  };
  flow.forEach((n, i) => visit(n, `flow[${i}]`));
  return refs;
}

/** Names a flow declares itself: the `env` entries of its tabs and subflows. */
function flowLocalParameters(flow: unknown[]): Set<string> {
  const names = new Set<string>();
  for (const node of flow as Array<{ type?: unknown; env?: unknown }>) {
    if (!node || (node.type !== 'tab' && node.type !== 'subflow') || !Array.isArray(node.env)) continue;
    for (const e of node.env as Array<{ name?: unknown }>) if (typeof e?.name === 'string') names.add(e.name);
  }
  return names;
}

/**
 * The parameters a flow reads that the template's parameter schema does not declare (Node-RED's own `NR_*`
 * variables and the flow's own tab or subflow env entries need no declaration), one problem each.
 */
export function undeclaredParameters(flow: unknown[], parameterSchema: Record<string, unknown> | undefined): FieldProblem[] {
  const declared = declaredParameters(parameterSchema);
  const local = flowLocalParameters(flow);
  const problems: FieldProblem[] = [];
  for (const [name, field] of referencedParameters(flow)) {
    if (BUILTIN_ENV.test(name) || local.has(name) || declared.has(name)) continue;
    problems.push({ field, reason: `uses parameter "${name}", which the template's parameter schema does not declare` });
  }
  return problems;
}

/** Declared parameters the flow never reads (a shipped template declares exactly what it reads). */
export function unusedParameters(flow: unknown[], parameterSchema: Record<string, unknown> | undefined): string[] {
  const referenced = referencedParameters(flow);
  return [...declaredParameters(parameterSchema)].filter((name) => !referenced.has(name)).sort();
}
