import fs from 'node:fs';
import path from 'node:path';

/** The package root (the folder holding package.json), whether running from dist/ or from a test. */
export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');
export const DIST = path.join(PACKAGE_ROOT, 'dist');

/** The palette package (nodes + sidebar plugin) that `linesight` depends on and every tier runtime loads. */
export const PALETTE_NAME = '@linesight/node-red-linesight';

/**
 * Where the palette package is installed: in a checkout, packages/palette (npm workspaces link it into
 * node_modules); in an installed `linesight`, its node_modules. Its compiled files arrive with `npm run build`.
 */
export function paletteRoot(): string {
  // A checkout builds its palette into packages/palette; prefer it to whatever node_modules links to, so a
  // worktree sharing another checkout's node_modules runs its own nodes. An installed package has no
  // packages/ folder and resolves the dependency.
  const own = path.join(PACKAGE_ROOT, 'packages', 'palette');
  if (fs.existsSync(path.join(own, 'package.json')) && fs.existsSync(path.join(own, 'dist'))) return fs.realpathSync(own);
  return fs.realpathSync(path.dirname(require.resolve(`${PALETTE_NAME}/package.json`, { paths: [PACKAGE_ROOT] })));
}

/** The Node-RED node types the palette declares (its package.json `node-red.nodes`), in declaration order. */
export function paletteNodeFiles(root = paletteRoot()): Record<string, string> {
  return moduleNodeFiles(root);
}

/**
 * Node-RED Dashboard 2.0, which the line screen of the line-inspection template is built with. A dependency
 * of `linesight` (so every tier runtime has it), never of the palette: a palette user installs it beside.
 */
export const DASHBOARD_NAME = '@flowfuse/node-red-dashboard';

/** Where Dashboard 2.0 is installed for this package, or undefined when it is not. */
export function dashboardRoot(): string | undefined {
  try {
    return fs.realpathSync(path.dirname(require.resolve(`${DASHBOARD_NAME}/package.json`, { paths: [PACKAGE_ROOT] })));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return undefined;
    throw err;
  }
}

/** The Node-RED node files a module declares (its package.json `node-red.nodes`), in declaration order. */
export function moduleNodeFiles(root: string): Record<string, string> {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { 'node-red'?: { nodes?: Record<string, string> } };
  return pkg['node-red']?.nodes ?? {};
}
