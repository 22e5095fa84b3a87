// A tier runtime: Node-RED 4.1 embedded in an Express app, with the Linesight nodes loaded from the
// palette package (@linesight/node-red-linesight) linked into the user directory. Node-RED is a
// per-process singleton, so each runtime is its own process.
import express from 'express';
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DASHBOARD_NAME, PACKAGE_ROOT, PALETTE_NAME, dashboardRoot, paletteRoot } from '../paths';
import { resolveAdminAuth } from './admin-auth';
import { currentInitialHeapMiB } from './node-flags';
import { makeUserDirPrivate, restrictProcessUmask, writePrivateFile } from '../../lib/private-files';

export type Tier = 'line' | 'factory' | 'cloud';
export const TIERS: Tier[] = ['line', 'factory', 'cloud'];

export interface RuntimeOptions {
  tier: Tier;
  port: number;
  host?: string;
  userDir: string;
  /** Demo mode: editor open without login. Never use outside one machine. */
  insecure?: boolean;
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  /** Extra Node-RED settings merged last (tests, agent). */
  settings?: Record<string, unknown>;
  /** Print a message for people (the CLI passes console.log). */
  say?: (line: string) => void;
  /** Called with the Node-RED API after init, before the flows start (e.g. to follow RED.events). */
  beforeStart?: (RED: any) => void;
}

export interface RunningRuntime {
  url: string;
  port: number;
  tier: Tier;
  userDir: string;
  RED: any;
  close(): Promise<void>;
}

/**
 * Makes the palette package visible to Node-RED as a module installed in the user directory, the same place
 * `npm install @linesight/node-red-linesight` would put it, so a runtime loads exactly what a user's Node-RED
 * loads (a module in the user directory wins over one Node-RED finds beside its own install). A real folder
 * there (an `npm install` of the palette) is left alone. The link an older runtime made (`linesight` -> the
 * whole project) is removed: the project is no longer a Node-RED module.
 */
export function linkPaletteInto(userDir: string, palette = paletteRoot()): void {
  const legacy = path.join(userDir, 'node_modules', 'linesight');
  if (isSymlink(legacy)) fs.unlinkSync(legacy);
  linkModuleInto(userDir, PALETTE_NAME, palette);
}

/**
 * Makes Node-RED Dashboard 2.0 (the line screen's widgets) visible the same way. Node-RED would also find it
 * beside its own install, but only while npm happens to place the two in one node_modules tree; the link
 * does not depend on that. A dashboard the user installed into the user directory (a real folder) wins.
 * Returns false when this installation has no dashboard.
 */
export function linkDashboardInto(userDir: string, dashboard: string | null = dashboardRoot() ?? null): boolean {
  if (!dashboard) return false;
  linkModuleInto(userDir, DASHBOARD_NAME, dashboard);
  return true;
}

/** `<userDir>/node_modules/<name>` -> `target`, replacing a link elsewhere, leaving a real folder alone. */
function linkModuleInto(userDir: string, name: string, target: string): void {
  const link = path.join(userDir, 'node_modules', ...name.split('/'));
  fs.mkdirSync(path.dirname(link), { recursive: true });
  if (isSymlink(link)) {
    if (path.resolve(path.dirname(link), fs.readlinkSync(link)) === target) return;
    fs.unlinkSync(link);
  } else if (fs.existsSync(link)) {
    return;
  }
  fs.symlinkSync(target, link, 'dir');
}

function isSymlink(file: string): boolean {
  try {
    return fs.lstatSync(file).isSymbolicLink();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * Node-RED modules that are only here as devDependencies (benchmark comparators such as
 * node-red-contrib-modbus): Node-RED scans the node_modules its own install sits in, so without this
 * they would appear in every runtime's palette of a development checkout. One installed into the
 * runtime's own user directory is wanted there and stays.
 */
export function devOnlyNodeModules(userDir: string, root = PACKAGE_ROOT): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { devDependencies?: Record<string, string> };
  return Object.keys(pkg.devDependencies ?? {}).filter((name) => {
    if (fs.existsSync(path.join(userDir, 'node_modules', name))) return false;
    try {
      const dep = JSON.parse(fs.readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')) as { 'node-red'?: unknown };
      return dep['node-red'] !== undefined;
    } catch {
      return false;
    }
  });
}

function credentialSecret(userDir: string): string {
  if (process.env.LINESIGHT_CREDENTIAL_SECRET) return process.env.LINESIGHT_CREDENTIAL_SECRET;
  const file = path.join(userDir, '.linesight', 'credential-secret');
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  const secret = crypto.randomBytes(32).toString('hex');
  writePrivateFile(file, secret);
  return secret;
}

export async function startRuntime(opts: RuntimeOptions): Promise<RunningRuntime> {
  const say = opts.say ?? (() => {});
  const userDir = path.resolve(opts.userDir);
  // Node-RED keeps live session tokens, node credentials and settings in the user dir: nobody else may
  // read them. The umask keeps every file Node-RED writes from now on private; files an older version
  // left readable are fixed here, once per start.
  restrictProcessUmask();
  // A folder owned by another account (a Kubernetes volume root with an fsGroup) cannot be changed: say so
  // and go on; the files Node-RED writes into it are still 0600.
  const refused = (file: string, err: NodeJS.ErrnoException) => say(`warning: cannot make ${file} private (${err.code}: owned by another account); make it 0700 or use a folder inside it`);
  fs.mkdirSync(userDir, { recursive: true, mode: 0o700 });
  const fixed = makeUserDirPrivate(userDir, refused);
  if (fixed.length) say(`made ${fixed.length} file(s) in ${userDir} private to this account (0600 files, 0700 folders)`);
  linkPaletteInto(userDir);
  if (!linkDashboardInto(userDir)) say(`warning: ${DASHBOARD_NAME} is not installed: the line screen (Dashboard 2.0) will not load`);

  let adminAuth: unknown;
  if (!opts.insecure) {
    const auth = resolveAdminAuth(userDir);
    adminAuth = auth.settings;
    if (auth.generatedPassword) {
      say(`editor login for ${opts.tier}: user "${auth.settings.users[0].username}", password "${auth.generatedPassword}" (shown once; stored hashed in ${auth.storedAt})`);
    }
  }

  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const RED = require('node-red');
  const app = express();
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, tier: opts.tier, initialHeapMiB: currentInitialHeapMiB() });
  });
  const server = http.createServer(app);
  const settings: Record<string, unknown> = {
    userDir,
    flowFile: 'flows.json',
    flowFilePretty: true,
    credentialSecret: credentialSecret(userDir),
    httpAdminRoot: '/',
    httpNodeRoot: '/',
    uiHost: opts.host ?? '127.0.0.1',
    uiPort: opts.port,
    adminAuth,
    // Deploying a flow never needs a package registry: only installed node types may be used.
    externalModules: { autoInstall: false, palette: { allowInstall: false }, modules: { allowInstall: false } },
    nodesExcludes: devOnlyNodeModules(userDir),
    // The Linesight nodes are what a Linesight runtime is for: their category comes first in the palette.
    paletteCategories: ['Linesight', 'subflows', 'common', 'function', 'network', 'sequence', 'parser', 'storage'],
    editorTheme: {
      page: { title: `Linesight · ${opts.tier}` },
      header: { title: `Linesight · ${opts.tier}` },
      projects: { enabled: false },
      tours: false,
    },
    telemetry: { enabled: false },
    diagnostics: { enabled: false },
    logging: { console: { level: opts.logLevel ?? 'info', metrics: false, audit: false } },
    functionExternalModules: false,
    linesight: { tier: opts.tier },
    ...opts.settings,
  };
  RED.init(server, settings);
  opts.beforeStart?.(RED);
  app.use(settings.httpAdminRoot as string, RED.httpAdmin);
  app.use(settings.httpNodeRoot as string, RED.httpNode);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  await RED.start();
  const url = `http://${opts.host ?? '127.0.0.1'}:${port}/`;
  let closed = false;
  return {
    url,
    port,
    tier: opts.tier,
    userDir,
    RED,
    async close() {
      if (closed) return;
      closed = true;
      await RED.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections?.();
    },
  };
}
