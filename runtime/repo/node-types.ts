// The node types a published flow may use: Node-RED core's (scanned from its editor HTML), the Linesight
// palette's (its package.json `node-red.nodes` and the types their HTML registers) and Node-RED Dashboard
// 2.0's, which every tier runtime loads for the line screen. Scanned, never listed by hand, because nodes are
// being added to the packages all the time.
import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT, dashboardRoot, moduleNodeFiles, paletteNodeFiles, paletteRoot } from '../paths';

const REGISTER = /RED\.nodes\.registerType\(\s*['"]([^'"]+)['"]/g;

/** Flow elements the editor defines itself (no registerType in any HTML) and that may appear in any flow. */
export const STRUCTURAL_TYPES = ['tab', 'subflow', 'group', 'junction'];
/** Node-RED's stand-in for a type it does not have: never a valid type to publish. */
const PLACEHOLDER_TYPES = ['unknown'];

export function typesRegisteredIn(html: string): string[] {
  return [...html.matchAll(REGISTER)].map((m) => m[1]!);
}

function htmlFiles(dir: string, out: string[] = []): string[] {
  if (!fs.existsSync(dir)) return out;
  for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, ent.name);
    if (ent.isDirectory()) htmlFiles(p, out);
    else if (ent.name.endsWith('.html')) out.push(p);
  }
  return out;
}

export function coreNodeTypes(root = PACKAGE_ROOT): string[] {
  const dir = path.dirname(require.resolve('@node-red/nodes/package.json', { paths: [root] }));
  return htmlFiles(path.join(dir, 'core')).flatMap((f) => typesRegisteredIn(fs.readFileSync(f, 'utf8')));
}

export function linesightNodeTypes(palette = paletteRoot()): string[] {
  const out: string[] = [];
  for (const [name, js] of Object.entries(paletteNodeFiles(palette))) {
    out.push(name);
    // The built HTML sits beside the built JS; before a build, read the source beside the .ts.
    const built = path.join(palette, js.replace(/\.js$/, '.html'));
    const source = path.join(PACKAGE_ROOT, js.replace(/^dist\//, '').replace(/\.js$/, '.html'));
    const file = fs.existsSync(built) ? built : source;
    if (fs.existsSync(file)) out.push(...typesRegisteredIn(fs.readFileSync(file, 'utf8')));
  }
  return out;
}

/** Dashboard 2.0's types (ui-base, ui-page, ui-template, ...); none when this installation lacks it. */
export function dashboardNodeTypes(dashboard = dashboardRoot()): string[] {
  if (!dashboard) return [];
  return Object.entries(moduleNodeFiles(dashboard)).flatMap(([name, js]) => {
    const html = path.join(dashboard, js.replace(/\.js$/, '.html'));
    return [name, ...(fs.existsSync(html) ? typesRegisteredIn(fs.readFileSync(html, 'utf8')) : [])];
  });
}

/** Every type a flow may use, scanned once (at server start). */
export function availableNodeTypes(root = PACKAGE_ROOT): Set<string> {
  const types = new Set([...STRUCTURAL_TYPES, ...coreNodeTypes(root), ...linesightNodeTypes(), ...dashboardNodeTypes()]);
  for (const t of PLACEHOLDER_TYPES) types.delete(t);
  return types;
}
