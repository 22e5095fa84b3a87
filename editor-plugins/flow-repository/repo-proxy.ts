// The server half of the editor's flow-repository sidebar: which repository routes the editor may reach
// and how a call is forwarded with the repository token, which stays on this server and never reaches
// the browser. No Node-RED import: the adapter wires it to RED.httpAdmin and its permissions.

export interface RepositorySettings {
  url: string;
  token: string;
}

export type Permission = 'flows.read' | 'flows.write';

/** A route the sidebar may call; `pattern` matches the path below /api/v1 (no query string). */
interface AllowedRoute {
  method: 'GET' | 'POST';
  pattern: RegExp;
  permission: Permission;
}

const SEG = '[A-Za-z0-9._~+-]+';
// Device registration and token rotation answer with device tokens: they are not reachable from the editor.
const ALLOWED: AllowedRoute[] = [
  { method: 'GET', pattern: /^\/templates$/, permission: 'flows.read' },
  { method: 'GET', pattern: new RegExp(`^/templates/${SEG}$`), permission: 'flows.read' },
  { method: 'GET', pattern: new RegExp(`^/templates/${SEG}/versions$`), permission: 'flows.read' },
  { method: 'GET', pattern: new RegExp(`^/templates/${SEG}/versions/${SEG}$`), permission: 'flows.read' },
  { method: 'GET', pattern: /^\/devices$/, permission: 'flows.read' },
  { method: 'GET', pattern: /^\/deployments$/, permission: 'flows.read' },
  { method: 'GET', pattern: new RegExp(`^/deployments/${SEG}$`), permission: 'flows.read' },
  { method: 'POST', pattern: /^\/templates$/, permission: 'flows.write' },
  { method: 'POST', pattern: new RegExp(`^/templates/${SEG}/versions$`), permission: 'flows.write' },
  { method: 'POST', pattern: /^\/deployments$/, permission: 'flows.write' },
  { method: 'POST', pattern: new RegExp(`^/deployments/${SEG}/(pause|resume|cancel|rollback)$`), permission: 'flows.write' },
];

/** The permission a call needs, or undefined when the sidebar may not make it at all. */
export function permissionFor(method: string, path: string): Permission | undefined {
  const p = path.split('?')[0];
  if (p.split('/').some((s) => s === '..' || s === '.')) return undefined;
  return ALLOWED.find((r) => r.method === method.toUpperCase() && r.pattern.test(p))?.permission;
}

/**
 * Repository settings: the runtime's settings (`linesight.repository = {url, token}`) first, then the
 * environment (`LINESIGHT_REPOSITORY_URL`, `LINESIGHT_REPOSITORY_TOKEN`) for containers and the CLI.
 */
export function resolveRepositorySettings(settings: unknown, env: NodeJS.ProcessEnv = process.env): RepositorySettings | undefined {
  const fromSettings = (settings as { repository?: Partial<RepositorySettings> } | undefined)?.repository;
  const url = fromSettings?.url || env.LINESIGHT_REPOSITORY_URL;
  const token = fromSettings?.token || env.LINESIGHT_REPOSITORY_TOKEN;
  if (!url || !token) return undefined;
  return { url: url.replace(/\/+$/, ''), token };
}

export interface ProxyAnswer {
  status: number;
  body: unknown;
}

/** Forwards one allowed call to `${url}/api/v1${path}` with the admin token; errors become JSON answers. */
export async function forward(
  repo: RepositorySettings | undefined,
  method: string,
  path: string,
  body: unknown,
  fetchImpl: typeof fetch = fetch,
): Promise<ProxyAnswer> {
  if (!repo) {
    return { status: 503, body: { error: 'no flow repository configured: set linesight.repository = {url, token} in the runtime settings (or LINESIGHT_REPOSITORY_URL and LINESIGHT_REPOSITORY_TOKEN)' } };
  }
  if (!permissionFor(method, path)) return { status: 404, body: { error: `${method} ${path} is not available from the editor` } };
  const hasBody = method.toUpperCase() !== 'GET' && body !== undefined;
  let res: Response;
  try {
    res = await fetchImpl(`${repo.url}/api/v1${path}`, {
      method: method.toUpperCase(),
      headers: { authorization: `Bearer ${repo.token}`, accept: 'application/json', ...(hasBody ? { 'content-type': 'application/json' } : {}) },
      body: hasBody ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    return { status: 502, body: { error: `flow repository at ${repo.url} is unreachable: ${(err as Error).message}` } };
  }
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = { error: text.slice(0, 500) };
  }
  // A token the repository refuses is the runtime's configuration problem, not the editor user's login.
  if (res.status === 401) return { status: 502, body: { error: 'the flow repository refused this runtime\'s token (401): check linesight.repository.token' } };
  return { status: res.status, body: parsed };
}
