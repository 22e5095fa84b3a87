// The flow templates shipped in flows/<slug>/ (manifest.json + flow.json): loading them, their parameter
// defaults, the Import > Examples copies (examples/<slug>.json, parameters defaulted as flow environment
// variables), and publishing them to a flow repository.
import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../paths';
import { fillParameters, type ParameterValue } from '../../../contracts/fleet/parameters';
import type { RepoClient } from '../../repo/client';

export const FLOWS_DIR = path.join(PACKAGE_ROOT, 'flows');
export const EXAMPLES_DIR = path.join(PACKAGE_ROOT, 'examples');

export interface TemplateManifest {
  slug: string;
  title: string;
  description: string;
  tier: 'line' | 'factory' | 'cloud';
  version: string;
  requiredNodes: string[];
  parameters: { type: 'object'; required?: string[]; properties: Record<string, { type: string; default?: ParameterValue; [k: string]: unknown }> };
  changelog: Array<{ version: string; changes: string }>;
}

export interface FlowTemplate {
  manifest: TemplateManifest;
  flow: Array<Record<string, unknown>>;
}

export function templateSlugs(dir = FLOWS_DIR): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory() && fs.existsSync(path.join(dir, e.name, 'manifest.json'))).map((e) => e.name).sort();
}

export function loadTemplate(slug: string, dir = FLOWS_DIR): FlowTemplate {
  const read = (f: string) => JSON.parse(fs.readFileSync(path.join(dir, slug, f), 'utf8'));
  return { manifest: read('manifest.json') as TemplateManifest, flow: read('flow.json') };
}

export function loadTemplates(dir = FLOWS_DIR): FlowTemplate[] {
  return templateSlugs(dir).map((s) => loadTemplate(s, dir));
}

/** The parameter names a flow references as `${NAME}` (Node-RED substitutes whole string values only). */
export function referencedParameters(flow: unknown): string[] {
  const names = new Set<string>();
  const visit = (v: unknown) => {
    if (typeof v === 'string') {
      const m = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(v);
      if (m) names.add(m[1]);
    } else if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') Object.values(v).forEach(visit);
  };
  visit(flow);
  return [...names].sort();
}

export function defaultParameters(m: TemplateManifest): Record<string, ParameterValue> {
  const out: Record<string, ParameterValue> = {};
  for (const [k, p] of Object.entries(m.parameters.properties)) if (p.default !== undefined) out[k] = p.default;
  return out;
}

/** The template with its parameters in the tab's env: what Import > Examples brings in. */
export function exampleFlow(t: FlowTemplate, values: Record<string, ParameterValue> = {}): unknown[] {
  return fillParameters(t.flow, { ...defaultParameters(t.manifest), ...values });
}

export function exampleText(t: FlowTemplate): string {
  return `${JSON.stringify(exampleFlow(t), null, 2)}\n`;
}

/** Writes examples/<slug>.json for every template; returns the files written. */
export function writeExamples(dir = FLOWS_DIR, out = EXAMPLES_DIR): string[] {
  fs.mkdirSync(out, { recursive: true });
  return loadTemplates(dir).map((t) => {
    const file = path.join(out, `${t.manifest.slug}.json`);
    fs.writeFileSync(file, exampleText(t));
    return file;
  });
}

/** Creates the template in the repository if it is new and publishes its version unless it exists. */
export async function publishTemplate(client: RepoClient, t: FlowTemplate, author = 'linesight'): Promise<{ created: boolean; published: boolean }> {
  const m = t.manifest;
  const existing = (await client.listTemplates()).find((x) => x.slug === m.slug);
  if (!existing) {
    await client.createTemplate({ slug: m.slug, title: m.title, description: m.description, tier: m.tier, parameters: m.parameters, requiredNodes: m.requiredNodes });
  }
  if (existing?.versions.includes(m.version)) return { created: !existing, published: false };
  const changes = m.changelog.find((c) => c.version === m.version)?.changes ?? '';
  await client.publishVersion(m.slug, { version: m.version, flow: t.flow, changelog: changes, author });
  return { created: !existing, published: true };
}

// `node dist/runtime/dev/demo/templates.js` regenerates examples/ after a template changes.
if (require.main === module) {
  for (const f of writeExamples()) console.log(`wrote ${path.relative(PACKAGE_ROOT, f)}`);
}
