// The flow templates shipped in flows/<slug>/ (manifest.json + flow.json): loading them, the Import >
// Examples copies (examples/<slug>.json, parameters defaulted as flow environment variables), and
// publishing them to the demo's repository. Manifests, defaults and publishing themselves belong to the
// templates module (contracts/fleet/templates.ts, runtime/repo/templates.ts).
import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../paths';
import { fillParameters, type ParameterValue } from '../../../contracts/fleet/parameters';
import { defaultParameters } from '../../../contracts/fleet/templates';
import type { RepoClient } from '../../repo/client';
import { publishTemplate, readTemplateFolder, type FlowTemplate } from '../../repo/templates';

export const FLOWS_DIR = path.join(PACKAGE_ROOT, 'flows');
export const EXAMPLES_DIR = path.join(PACKAGE_ROOT, 'examples');

export function templateSlugs(dir = FLOWS_DIR): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory() && fs.existsSync(path.join(dir, e.name, 'manifest.json'))).map((e) => e.name).sort();
}

export function loadTemplate(slug: string, dir = FLOWS_DIR): FlowTemplate {
  return readTemplateFolder(path.join(dir, slug));
}

export function loadTemplates(dir = FLOWS_DIR): FlowTemplate[] {
  return templateSlugs(dir).map((s) => loadTemplate(s, dir));
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

/**
 * Where a template's Dashboard 2.0 screen is served (ui-base path + its first ui-page's path, e.g.
 * `/dashboard/line`), or undefined when it has none: the demo prints it beside the editor's URL.
 */
export function screenPath(t: FlowTemplate): string | undefined {
  const nodes = t.flow as Array<Record<string, unknown>>;
  const page = nodes.find((n) => n.type === 'ui-page');
  const base = page && nodes.find((n) => n.type === 'ui-base' && n.id === page.ui);
  if (!page || !base) return undefined;
  return `${String(base.path).replace(/\/$/, '')}/${String(page.path).replace(/^\//, '')}`;
}

/** Publishes a shipped template (creating it if new) unless its version is already there. */
export async function publishShippedTemplate(client: RepoClient, t: FlowTemplate, author = 'linesight'): Promise<{ created: boolean; published: boolean }> {
  const { created, published } = await publishTemplate(client, t, { slug: t.manifest.slug, version: t.manifest.version, author, ifPublished: 'skip' });
  return { created, published: published !== undefined };
}

// `node dist/runtime/dev/demo/templates.js` regenerates examples/ after a template changes.
if (require.main === module) {
  for (const f of writeExamples()) console.log(`wrote ${path.relative(PACKAGE_ROOT, f)}`);
}
