// The console's routes live in location.hash (`#/devices/line-1`, `#/fleet?state=failed`), so the
// repository serves one page and a link or a reload opens the same view. Pure.

export type Page = 'login' | 'fleet' | 'device' | 'templates' | 'template' | 'deployments' | 'deployment' | 'deploy' | 'audit' | 'users' | 'quality' | 'inspection' | 'product' | 'models' | 'registry' | 'model';

export interface Route {
  page: Page;
  /** Device id, template slug, deployment id, inspection id or product serial. */
  id?: string;
  params: Record<string, string>;
}

const LIST: Record<string, Page> = { fleet: 'fleet', templates: 'templates', deployments: 'deployments', deploy: 'deploy', audit: 'audit', users: 'users', login: 'login', quality: 'quality', models: 'models', registry: 'registry' };
const ONE: Record<string, Page> = { devices: 'device', templates: 'template', deployments: 'deployment', inspections: 'inspection', products: 'product', registry: 'model' };

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const params = Object.fromEntries(new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)));
  const [head = '', ...rest] = path.split('/').filter(Boolean);
  if (rest.length && ONE[head]) return { page: ONE[head]!, id: decodeURIComponent(rest.join('/')), params };
  return { page: LIST[head] ?? 'fleet', params };
}

/** The hash of a route; empty parameters are left out. */
export function href(page: Page, id?: string, params: Record<string, string | undefined> = {}): string {
  const base = id !== undefined ? `${Object.keys(ONE).find((k) => ONE[k] === page)}/${encodeURIComponent(id)}` : page;
  const query = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => !!e[1])).toString();
  return `#/${base}${query ? `?${query}` : ''}`;
}
