// Typed client of the repository API, used by `linesight flows` and reusable by the edge agent and the
// editor sidebar's server side. No dependencies beyond Node's fetch.
import { API_ROOT, type DesiredState, type DeviceStatusReport, type LogLevel as RepoLogLevel, type VersionDocument } from '../../contracts/fleet/protocol';
import type { RepoDeploymentCreate, RepoDeviceRegister, RepoDeviceUpdate, RepoHealthBatch, RepoLogBatch, RepoNodeTypePolicy, RepoTemplateCreate, RepoTokenCreate, RepoUserCreate, RepoUserUpdate, RepoVersionPublish } from './api.schema';
import type { FieldProblem } from '../../contracts/schemas';
import type { AuditEntry, DeploymentView, DeviceView, HealthSummary, StoredLogLine, StoredSample, TemplateView, TokenView, UserView, VersionSummary } from './store/repo-store';

export type { AuditEntry, DeploymentView, DeviceView, FieldProblem, HealthSummary, StoredLogLine, StoredSample, TemplateView, TokenView, UserView, VersionSummary };

export interface LogFilter {
  since?: number;
  before?: number;
  level?: RepoLogLevel;
  node?: string;
  q?: string;
  limit?: number;
}

/** The repository answered with an error; `problems` names fields when it refused a body. */
export class RepoApiError extends Error {
  constructor(readonly status: number, message: string, readonly problems: FieldProblem[] = []) {
    super(message);
    this.name = 'RepoApiError';
  }
}

export interface RepoClientOptions {
  /** Base URL of the repository, e.g. http://repo:1890 */
  url: string;
  token?: string;
  /** Per-request timeout. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export class RepoClient {
  private readonly base: string;
  private readonly doFetch: typeof fetch;

  private readonly opts!: RepoClientOptions;

  constructor(opts: RepoClientOptions) {
    // Non-enumerable, so the token never reaches a log that prints the client.
    Object.defineProperty(this, 'opts', { value: opts, enumerable: false });
    this.base = opts.url.replace(/\/+$/, '');
    this.doFetch = opts.fetch ?? fetch;
  }

  private async call<T>(method: string, route: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T; headers: Headers }> {
    const h: Record<string, string> = { accept: 'application/json', ...headers };
    if (this.opts.token) h.authorization = `Bearer ${this.opts.token}`;
    if (body !== undefined) h['content-type'] = 'application/json';
    let res: Response | undefined;
    // A GET is retried once when a kept-alive connection was closed under it; a write is never replayed.
    for (let attempt = 0; !res; attempt++) {
      try {
        res = await this.doFetch(`${this.base}${route}`, {
          method,
          headers: h,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
        });
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        if (method === 'GET' && attempt === 0 && cause?.code === 'UND_ERR_SOCKET') continue;
        throw new RepoApiError(0, `cannot reach the repository at ${this.base}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
      }
    }
    const text = await res.text();
    const type = res.headers.get('content-type') ?? '';
    const parsed = text && type.includes('json') ? JSON.parse(text) : text;
    if (res.status >= 400) {
      const e = parsed as { error?: string; problems?: FieldProblem[] };
      throw new RepoApiError(res.status, e?.error ?? `HTTP ${res.status} from ${method} ${route}`, e?.problems ?? []);
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  /** GET any API route (a path from the server, e.g. a DesiredState's version href). */
  async getRoute<T>(route: string): Promise<T> {
    return this.get<T>(route);
  }

  private async get<T>(route: string): Promise<T> {
    return (await this.call<T>('GET', route)).body;
  }

  private async post<T>(route: string, body?: unknown): Promise<T> {
    return (await this.call<T>('POST', route, body ?? {})).body;
  }

  health = () => this.call<{ ok: boolean }>('GET', '/healthz').then((r) => r.body);
  publicKey = () => this.get<string>(`${API_ROOT}/keys/public`);
  openApi = () => this.get<Record<string, unknown>>(`${API_ROOT}/openapi.json`);
  nodeTypePolicy = () => this.get<RepoNodeTypePolicy>(`${API_ROOT}/policy/node-types`);

  listTemplates = () => this.get<TemplateView[]>(`${API_ROOT}/templates`);
  getTemplate = (slug: string) => this.get<TemplateView>(`${API_ROOT}/templates/${enc(slug)}`);
  createTemplate = (t: RepoTemplateCreate) => this.post<TemplateView>(`${API_ROOT}/templates`, t);
  listVersions = (slug: string) => this.get<VersionSummary[]>(`${API_ROOT}/templates/${enc(slug)}/versions`);
  getVersion = (slug: string, version: string) => this.get<VersionDocument>(`${API_ROOT}/templates/${enc(slug)}/versions/${enc(version)}`);
  publishVersion = (slug: string, v: RepoVersionPublish) => this.post<VersionDocument>(`${API_ROOT}/templates/${enc(slug)}/versions`, v);

  listDevices = () => this.get<DeviceView[]>(`${API_ROOT}/devices`);
  getDevice = (id: string) => this.get<DeviceView>(`${API_ROOT}/devices/${enc(id)}`);
  registerDevice = (d: RepoDeviceRegister) => this.post<{ device: DeviceView; token: string }>(`${API_ROOT}/devices`, d);
  updateDevice = (id: string, d: RepoDeviceUpdate) => this.call<DeviceView>('PATCH', `${API_ROOT}/devices/${enc(id)}`, d).then((r) => r.body);
  rotateDeviceToken = (id: string) => this.post<{ token: string }>(`${API_ROOT}/devices/${enc(id)}/token`);

  /** The desired state; with `etag` from a previous answer, `notModified` is true when nothing changed. */
  async desired(id: string, etag?: string): Promise<{ notModified: true; etag: string } | { notModified: false; etag: string; state: DesiredState }> {
    const r = await this.call<DesiredState>('GET', `${API_ROOT}/devices/${enc(id)}/desired`, undefined, etag ? { 'if-none-match': etag } : {});
    if (r.status === 304) return { notModified: true, etag: etag! };
    return { notModified: false, etag: r.headers.get('etag') ?? '', state: r.body };
  }

  reportStatus = (id: string, report: DeviceStatusReport) => this.call<void>('POST', `${API_ROOT}/devices/${enc(id)}/status`, fitStatusReport(report)).then(() => undefined);

  postLogs = (id: string, batch: RepoLogBatch) => this.call<void>('POST', `${API_ROOT}/devices/${enc(id)}/logs`, batch).then(() => undefined);
  postHealth = (id: string, batch: RepoHealthBatch) => this.call<void>('POST', `${API_ROOT}/devices/${enc(id)}/health`, batch).then(() => undefined);
  logs = (id: string, filter: LogFilter = {}) => this.get<{ lines: StoredLogLine[]; dropped: number }>(`${API_ROOT}/devices/${enc(id)}/logs${query(filter)}`);
  deviceHealth = (id: string, range: { since?: number; until?: number; step?: number } = {}) => this.get<{ samples: StoredSample[] }>(`${API_ROOT}/devices/${enc(id)}/health${query(range)}`);
  fleetHealth = () => this.get<{ devices: Record<string, { last: HealthSummary | null; spark: { cpu: number[]; rss: number[] } }> }>(`${API_ROOT}/fleet/health`);

  listDeployments = () => this.get<Omit<DeploymentView, 'devices'>[]>(`${API_ROOT}/deployments`);
  getDeployment = (id: string) => this.get<DeploymentView>(`${API_ROOT}/deployments/${enc(id)}`);
  createDeployment = (d: RepoDeploymentCreate) => this.post<DeploymentView>(`${API_ROOT}/deployments`, d);
  pauseDeployment = (id: string) => this.post<DeploymentView>(`${API_ROOT}/deployments/${enc(id)}/pause`);
  resumeDeployment = (id: string) => this.post<DeploymentView>(`${API_ROOT}/deployments/${enc(id)}/resume`);
  rollbackDeployment = (id: string) => this.post<DeploymentView>(`${API_ROOT}/deployments/${enc(id)}/rollback`);
  cancelDeployment = (id: string) => this.post<DeploymentView>(`${API_ROOT}/deployments/${enc(id)}/cancel`);

  listAdminTokens = () => this.get<TokenView[]>(`${API_ROOT}/admin-tokens`);
  createAdminToken = (name: string) => this.post<{ id: string; name: string; token: string }>(`${API_ROOT}/admin-tokens`, { name });
  revokeAdminToken = (id: string) => this.call<void>('DELETE', `${API_ROOT}/admin-tokens/${enc(id)}`).then(() => undefined);

  listTokens = () => this.get<TokenView[]>(`${API_ROOT}/tokens`);
  createToken = (t: RepoTokenCreate) => this.post<TokenView & { token: string }>(`${API_ROOT}/tokens`, t);
  revokeToken = (id: string) => this.call<void>('DELETE', `${API_ROOT}/tokens/${enc(id)}`).then(() => undefined);

  listUsers = () => this.get<UserView[]>(`${API_ROOT}/users`);
  createUser = (u: RepoUserCreate) => this.post<UserView>(`${API_ROOT}/users`, u);
  updateUser = (name: string, u: RepoUserUpdate) => this.call<UserView>('PATCH', `${API_ROOT}/users/${enc(name)}`, u).then((r) => r.body);

  audit = (opts: { limit?: number; subject?: string } = {}) => {
    const q = new URLSearchParams();
    if (opts.limit !== undefined) q.set('limit', String(opts.limit));
    if (opts.subject) q.set('subject', opts.subject);
    return this.get<AuditEntry[]>(`${API_ROOT}/audit${q.size ? `?${q}` : ''}`);
  };
}

const enc = encodeURIComponent;

function query(params: object): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  return q.size ? `?${q}` : '';
}

/** What the repository accepts in a status report's `reasons` (StatusReasons in contracts/fleet/protocol.schema.ts). */
const MAX_REASONS = 100;
const MAX_REASON_LENGTH = 4000;

/**
 * A report within the repository's limits: a runtime with many or long node errors still reports, its
 * reasons cut (and saying so) rather than the whole report refused.
 */
export function fitStatusReport(report: DeviceStatusReport): DeviceStatusReport {
  const reasons = report.reasons;
  if (!reasons || (reasons.length <= MAX_REASONS && reasons.every((r) => r.length <= MAX_REASON_LENGTH))) return report;
  const cut = (r: string) => (r.length <= MAX_REASON_LENGTH ? r : `${r.slice(0, MAX_REASON_LENGTH - 20)}… (${r.length} chars)`);
  const kept = reasons.length <= MAX_REASONS ? reasons.map(cut) : [...reasons.slice(0, MAX_REASONS - 1).map(cut), `and ${reasons.length - (MAX_REASONS - 1)} more reasons`];
  return { ...report, reasons: kept };
}
