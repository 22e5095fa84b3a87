// The console's client of the repository's public REST API (/api/v1, the same routes the CLI and the
// sidebar use). A person signs in with a session (HttpOnly cookie, and the CSRF token on every change);
// a pipeline-style bearer token works too. Errors keep the server's words: the field and the reason.
import type { AuditEntry, DeploymentView, DeviceView, ModelSummary, ModelVersionSummary, TemplateView, VersionSummary } from '../store/repo-store';
import type { VersionDocument } from '../../../contracts/fleet/protocol';
import type { DevicePage } from '../device-query';
import type { InspectionDetail, ModelComparison, SearchHit, SeriesPoint, WorstLine } from '../../history/queries';

export type { InspectionDetail, ModelComparison, SearchHit, SeriesPoint, WorstLine };

/** The API's root (contracts/fleet/protocol.ts's API_ROOT, which this bundle cannot import: it signs with node:crypto). */
export const API_ROOT = '/api/v1';

export type Role = 'viewer' | 'deployer' | 'admin';

export interface SessionUser {
  name: string;
  role: Role;
}

export type Credentials = { kind: 'session'; csrfToken: string } | { kind: 'token'; token: string };

/** A device as the console reads it; `health` and `healthReasons` arrive with the telemetry API. */
export type ConsoleDevice = DeviceView & { health?: 'ok' | 'degraded' | 'unknown'; healthReasons?: string[]; editorUrl?: string; drift?: unknown; tunnel?: { connected: boolean; since: string | null; streams: number } };
export type DeploymentSummary = Omit<DeploymentView, 'devices'>;

export interface LogLine {
  seq: number;
  ts: number | string;
  level: string;
  msg: string;
  nodeId?: string;
  nodeType?: string;
  nodeName?: string;
}

export interface HealthSample {
  ts: number | string;
  cpuPercent?: number;
  rssBytes?: number;
  heapUsedBytes?: number;
  eventLoopP99Ms?: number;
  uptimeSeconds?: number;
  restarts?: number;
  diskFreeBytes?: number;
  nodes?: { id: string; type: string; name?: string; in?: number; out?: number; errors?: number; status?: unknown }[];
}

export interface FleetHealth {
  devices: Record<string, { last?: HealthSample & { redNodes?: unknown[] }; spark?: { cpu?: number[]; rss?: number[] } }>;
}

export interface UserView {
  name: string;
  role: Role;
  disabled?: boolean;
  createdAt?: string;
  lastLoginAt?: string | null;
}

export interface TokenView {
  id: string;
  name: string;
  role?: Role;
  owner?: { user: string } | { pipeline: string } | string | null;
  createdAt?: string;
  lastUsedAt?: string | null;
}

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly problems: { field: string; reason: string }[] = [],
    /** Seconds to wait, from Retry-After (429). */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

/** The error a person reads: the server's message, then each field and reason. */
export function describeFailure(err: unknown): string {
  if (err instanceof ApiFailure) {
    if (err.status === 429) return `${err.message}${err.retryAfter && !/try again/i.test(err.message) ? ` — try again in ${err.retryAfter} s` : ''}`;
    return err.problems.length ? `${err.message}: ${err.problems.map((p) => `${p.field} ${p.reason}`).join('; ')}` : err.message;
  }
  return (err as Error)?.message ?? String(err);
}

const enc = encodeURIComponent;

/** The token's name and role from a 403 such as "this route needs role admin; the token ci has deployer". */
export function roleFromRefusal(message: string): SessionUser | undefined {
  const m = /the token (\S+) has (viewer|deployer|admin)\b/.exec(message);
  return m ? { name: m[1]!, role: m[2] as Role } : undefined;
}
export const canChange = (role: Role | undefined) => role === 'deployer' || role === 'admin';

export class ConsoleApi {
  credentials?: Credentials;
  /** Called when the repository no longer knows the session or token (401 on a signed-in request). */
  onSignedOut?: () => void;

  constructor(private readonly base = '', private readonly fetchImpl: typeof fetch = (...args) => fetch(...args)) {}

  headers(method: string, json: boolean): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json' };
    if (json) h['content-type'] = 'application/json';
    if (this.credentials?.kind === 'token') h.authorization = `Bearer ${this.credentials.token}`;
    else if (this.credentials?.kind === 'session' && method !== 'GET') h['x-csrf-token'] = this.credentials.csrfToken;
    return h;
  }

  async request<T>(method: string, route: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const res = await this.fetchImpl(`${this.base}${API_ROOT}${route}`, {
      method,
      headers: this.headers(method, body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      signal,
    });
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const e = (parsed ?? {}) as { error?: string; problems?: { field: string; reason: string }[] };
      const retry = Number(res.headers.get('retry-after'));
      if (res.status === 401 && this.credentials && route !== '/session') this.onSignedOut?.();
      throw new ApiFailure(res.status, e.error ?? `${method} ${route} answered ${res.status}`, e.problems ?? [], Number.isFinite(retry) && retry > 0 ? retry : undefined);
    }
    return parsed as T;
  }

  // --- signing in
  async login(username: string, password: string): Promise<SessionUser> {
    this.credentials = undefined;
    const s = await this.request<{ user: SessionUser; csrfToken: string }>('POST', '/session', { username, password });
    this.credentials = { kind: 'session', csrfToken: s.csrfToken };
    return s.user;
  }

  /** The session the browser's cookie holds, if any. */
  async resume(): Promise<SessionUser | undefined> {
    try {
      const s = await this.request<{ user: SessionUser; csrfToken: string }>('GET', '/session');
      this.credentials = { kind: 'session', csrfToken: s.csrfToken };
      return s.user;
    } catch (err) {
      if (err instanceof ApiFailure && (err.status === 401 || err.status === 404)) return undefined;
      throw err;
    }
  }

  /**
   * Signs in with an API token. Its role is what the repository says: GET /users answers an admin, and
   * refuses anyone else naming the role the token has ("… the token ci has deployer").
   */
  async useToken(token: string): Promise<SessionUser> {
    this.credentials = { kind: 'token', token };
    try {
      await this.request('GET', '/devices?limit=1');
    } catch (err) {
      this.credentials = undefined;
      throw err;
    }
    try {
      await this.request('GET', '/users');
      return { name: 'token', role: 'admin' };
    } catch (err) {
      // A repository without user accounts (404) knows admin tokens only.
      if (err instanceof ApiFailure && err.status === 404) return { name: 'token', role: 'admin' };
      const said = err instanceof ApiFailure && err.status === 403 ? roleFromRefusal(err.message) : undefined;
      return said ?? { name: 'token', role: 'viewer' };
    }
  }

  async logout(): Promise<void> {
    if (this.credentials?.kind === 'session') await this.request('DELETE', '/session').catch(() => {});
    this.credentials = undefined;
  }

  // --- fleet
  devicePage = (query: string, signal?: AbortSignal) => this.request<DevicePage<ConsoleDevice>>('GET', `/devices?${query}`, undefined, signal);
  device = (id: string) => this.request<ConsoleDevice>('GET', `/devices/${enc(id)}`);
  updateDevice = (id: string, patch: Record<string, unknown>) => this.request<ConsoleDevice>('PATCH', `/devices/${enc(id)}`, patch);
  fleetHealth = () => this.request<FleetHealth>('GET', '/fleet/health');
  setRemoteEditing = (id: string, enabled: boolean, idleMinutes?: number) => this.request<ConsoleDevice>('POST', `/devices/${enc(id)}/remote-editing`, idleMinutes === undefined ? { enabled } : { enabled, idleMinutes });
  remoteCommand = (id: string, command: 'restart' | 'last-good' | 'support-bundle' | 'revert') => this.request<{ command: string; result: unknown; bundleId?: string }>('POST', `/devices/${enc(id)}/remote-commands`, { command });
  saveVersion = (id: string, body: { version: string; changelog?: string; template?: string }) => this.request<VersionSummary>('POST', `/devices/${enc(id)}/save-version`, body);
  logs = (id: string, query: string) => this.request<{ lines: LogLine[]; dropped: number }>('GET', `/devices/${enc(id)}/logs?${query}`);
  health = (id: string, query: string) => this.request<{ samples: HealthSample[] }>('GET', `/devices/${enc(id)}/health?${query}`);

  // --- templates
  templates = () => this.request<TemplateView[]>('GET', '/templates');
  template = (slug: string) => this.request<TemplateView>('GET', `/templates/${enc(slug)}`);
  versions = (slug: string) => this.request<VersionSummary[]>('GET', `/templates/${enc(slug)}/versions`);
  version = (slug: string, version: string) => this.request<VersionDocument>('GET', `/templates/${enc(slug)}/versions/${enc(version)}`);

  // --- deployments
  deployments = () => this.request<DeploymentSummary[]>('GET', '/deployments');
  deployment = (id: string) => this.request<DeploymentView>('GET', `/deployments/${enc(id)}`);
  deploy = (body: Record<string, unknown>) => this.request<DeploymentView>('POST', '/deployments', body);
  deploymentAction = (id: string, action: 'pause' | 'resume' | 'cancel' | 'rollback') => this.request<DeploymentView>('POST', `/deployments/${enc(id)}/${action}`);

  // --- models (the registry: metadata only; artifacts are for devices and the CLI)
  models = () => this.request<ModelSummary[]>('GET', '/models');
  model = (name: string) => this.request<{ name: string; versions: ModelVersionSummary[] }>('GET', `/models/${enc(name)}`);

  // --- audit, users and tokens
  audit = (query: string) => this.request<AuditEntry[]>('GET', `/audit?${query}`);
  users = () => this.request<UserView[]>('GET', '/users');
  createUser = (body: { name: string; role: Role; password: string }) => this.request<UserView>('POST', '/users', body);
  updateUser = (name: string, patch: { role?: Role; disabled?: boolean; password?: string }) => this.request<UserView>('PATCH', `/users/${enc(name)}`, patch);
  tokens = () => this.request<TokenView[]>('GET', '/tokens');
  createToken = (body: { name: string; role: Role; owner?: string }) => this.request<TokenView & { token: string }>('POST', '/tokens', body);
  revokeToken = (id: string) => this.request<void>('DELETE', `/tokens/${enc(id)}`);

  // --- the quality history (mounted when the repository was started with --history-db)
  historySearch = (q: string, signal?: AbortSignal) => this.request<{ q: string; hits: SearchHit[] }>('GET', `/history/search?${new URLSearchParams({ q, limit: '50' })}`, undefined, signal);
  inspection = (id: string, windowSeconds: number) => this.request<InspectionDetail>('GET', `/history/inspections/${enc(id)}?window=${windowSeconds}`);
  product = (serial: string, windowSeconds: number) => this.request<{ serial: string; inspections: InspectionDetail[] }>('GET', `/history/products/${enc(serial)}?window=${windowSeconds}`);
  defectRate = (query: string) => this.request<{ from: string; to: string; bucket: string; by: string; points: SeriesPoint[] }>('GET', `/history/defect-rate?${query}`);
  worstLines = (query: string) => this.request<{ from: string; to: string; lines: WorstLine[] }>('GET', `/history/worst-lines?${query}`);
  modelComparison = (query: string) => this.request<{ from: string; to: string; rows: ModelComparison[] }>('GET', `/history/model-comparison?${query}`);

  /** An image of the history as a data: URL (the page's CSP allows data: images; a token cannot ride on <img src>). */
  async historyImage(url: string): Promise<string> {
    const res = await this.fetchImpl(`${this.base}${url}`, { headers: this.headers('GET', false), credentials: 'same-origin' });
    if (!res.ok) throw new ApiFailure(res.status, `the image answered ${res.status}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    let binary = '';
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return `data:${res.headers.get('content-type') ?? 'application/octet-stream'};base64,${btoa(binary)}`;
  }
}
