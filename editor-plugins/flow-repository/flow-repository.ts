// Node-RED plugin "Flow repository": admin routes of this runtime that proxy the editor's sidebar to the
// flow repository. Guarded by Node-RED's own permissions (read for GET, write for publish, deploy, pause, resume, cancel, rollback); the
// repository URL and admin token come from the runtime's settings and never reach the browser.
import type { Request, Response, NextFunction } from 'express';
import { forward, permissionFor, resolveRepositorySettings } from './repo-proxy';

interface PluginRED {
  plugins: { registerPlugin(id: string, def: Record<string, unknown>): void };
  httpAdmin: { get(path: string, ...h: unknown[]): void; post(path: string, ...h: unknown[]): void };
  auth: { needsPermission(p: string): (req: Request, res: Response, next: NextFunction) => void };
  settings: Record<string, unknown>;
  log: { warn(m: string): void; info(m: string): void };
}

const BASE = '/linesight/repository';

export = function register(RED: PluginRED) {
  RED.plugins.registerPlugin('linesight-flow-repository', { type: 'linesight-editor-sidebar' });
  const settings = () => resolveRepositorySettings(RED.settings.linesight);

  RED.httpAdmin.get(`${BASE}/config`, RED.auth.needsPermission('flows.read'), (_req: Request, res: Response) => {
    const repo = settings();
    res.json({ configured: !!repo, url: repo?.url ?? null, tier: (RED.settings.linesight as { tier?: string } | undefined)?.tier ?? null });
  });

  // Each method's permission is checked twice: by Node-RED (read for GET, write for POST) and by the
  // allow-list (which routes exist at all, and which permission each needs).
  const handler = (method: 'GET' | 'POST') => async (req: Request, res: Response) => {
    const rest = req.path.slice(`${BASE}/api`.length) || '/';
    const query = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?')) : '';
    const need = permissionFor(method, rest);
    if (!need || (method === 'GET' && need !== 'flows.read')) {
      res.status(404).json({ error: `${method} ${rest} is not available from the editor` });
      return;
    }
    const answer = await forward(settings(), method, rest + query, method === 'POST' ? req.body : undefined);
    if (answer.status >= 500) RED.log.warn(`flow repository: ${method} ${rest}: ${(answer.body as { error?: string })?.error ?? answer.status}`);
    res.status(answer.status).json(answer.body);
  };
  RED.httpAdmin.get(`${BASE}/api/*`, RED.auth.needsPermission('flows.read'), handler('GET'));
  RED.httpAdmin.post(`${BASE}/api/*`, RED.auth.needsPermission('flows.write'), handler('POST'));
};
