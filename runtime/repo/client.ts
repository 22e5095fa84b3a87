// Typed client of the repository API, used by `linesight flows` and reusable by the edge agent and the
// editor sidebar's server side. No dependencies beyond Node's fetch.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { pipeline } from 'node:stream/promises';
import { API_ROOT, type DesiredState, type DeviceStatusReport, type LogLevel as RepoLogLevel, type ModelVersionDocument, type VersionDocument } from '../../contracts/fleet/protocol';
import type { RepoDeploymentCreate, RepoDeviceRegister, RepoDeviceUpdate, RepoHealthBatch, RepoLogBatch, RepoModelUploadCreate, RepoNodeTypePolicy, RepoTemplateCreate, RepoTokenCreate, RepoUserCreate, RepoUserUpdate, RepoVersionPublish } from './api.schema';
import type { FieldProblem } from '../../contracts/schemas';
import type { AuditEntry, DeploymentView, DeviceView, HealthSummary, ModelSummary, ModelUploadView, ModelVersionSummary, StoredLogLine, StoredSample, TemplateView, TokenView, UserView, VersionSummary } from './store/repo-store';

export type { AuditEntry, DeploymentView, DeviceView, FieldProblem, HealthSummary, ModelSummary, ModelUploadView, ModelVersionDocument, ModelVersionSummary, StoredLogLine, StoredSample, TemplateView, TokenView, UserView, VersionSummary };

/** sha256 (hex) and size of a file, read as a stream. */
export async function fileSha256(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = crypto.createHash('sha256');
  await pipeline(fs.createReadStream(file, { highWaterMark: 1 << 20 }), hash);
  return { sha256: hash.digest('hex'), bytes: fs.statSync(file).size };
}

export interface LogFilter {
  since?: number;
  before?: number;
  level?: RepoLogLevel;
  node?: string;
  q?: string;
  limit?: number;
}

export interface PublishModelOptions extends Omit<RepoModelUploadCreate, 'sha256' | 'bytes'> {
  /** Bytes per PUT (default 64 MiB); an interrupted chunk is resumed from the offset the repository holds. */
  chunkBytes?: number;
  onProgress?: (offset: number, bytes: number) => void;
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

  listModels = () => this.get<ModelSummary[]>(`${API_ROOT}/models`);
  getModel = (name: string) => this.get<{ name: string; versions: ModelVersionSummary[] }>(`${API_ROOT}/models/${enc(name)}`);
  getModelVersion = (name: string, version: string) => this.get<ModelVersionDocument>(`${API_ROOT}/models/${enc(name)}/versions/${enc(version)}`);
  createModelUpload = (name: string, body: RepoModelUploadCreate) => this.post<ModelUploadView>(`${API_ROOT}/models/${enc(name)}/uploads`, body);

  /** How many bytes of an upload the repository holds (HEAD). */
  async modelUploadOffset(uploadId: string): Promise<number> {
    const r = await this.call<string>('HEAD', `${API_ROOT}/models/uploads/${enc(uploadId)}`);
    return Number(r.headers.get('upload-offset'));
  }

  /**
   * Streams bytes `start`..`end` of `file` as one chunk of the upload (never read whole into memory);
   * answers the upload's offset afterwards and, on the last chunk, the published version.
   */
  putModelChunk(uploadId: string, file: string, start: number, end: number, total: number): Promise<ModelUploadView & { complete: boolean; version?: ModelVersionDocument }> {
    const url = new URL(`${this.base}${API_ROOT}/models/uploads/${enc(uploadId)}`);
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'content-length': String(end - start + 1), 'content-range': `bytes ${start}-${end}/${total}` };
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    return new Promise((resolve, reject) => {
      const req = (url.protocol === 'https:' ? https : http).request(url, { method: 'PUT', headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: Record<string, unknown> = {};
          try {
            parsed = text ? JSON.parse(text) : {};
          } catch {
            /* not JSON: the status says enough */
          }
          if ((res.statusCode ?? 500) >= 400) return reject(new RepoApiError(res.statusCode ?? 500, String(parsed.error ?? `HTTP ${res.statusCode} from PUT ${url.pathname}`), (parsed.problems as FieldProblem[]) ?? []));
          resolve(parsed as never);
        });
      });
      req.on('error', (err) => reject(new RepoApiError(0, `cannot reach the repository at ${this.base}: ${(err as NodeJS.ErrnoException).code ?? err.message}`)));
      fs.createReadStream(file, { start, end, highWaterMark: 1 << 20 }).on('error', (err) => req.destroy(err)).pipe(req);
    });
  }

  /**
   * Publishes a model artifact: announces it (the same announcement resumes an unfinished upload from the
   * repository's offset), then streams the rest in chunks, retrying a cut chunk from the new offset.
   */
  async publishModel(name: string, file: string, opts: PublishModelOptions): Promise<ModelVersionDocument> {
    const { chunkBytes = 64 * 1024 * 1024, onProgress, ...meta } = opts;
    const { sha256, bytes } = await fileSha256(file);
    const up = await this.createModelUpload(name, { ...meta, sha256, bytes });
    let offset = up.offset;
    let failures = 0;
    for (;;) {
      onProgress?.(offset, bytes);
      const end = Math.min(offset + chunkBytes, bytes) - 1;
      try {
        const r = await this.putModelChunk(up.uploadId, file, offset, end, bytes);
        if (r.complete && r.version) return r.version;
        offset = r.offset;
        failures = 0;
      } catch (err) {
        // A cut connection (0) or a chunk the repository did not expect (409): ask where it is and go on.
        const status = (err as RepoApiError).status;
        if ((status !== 0 && status !== 409) || /already published/.test((err as Error).message) || ++failures > 5) throw err;
        offset = await this.modelUploadOffset(up.uploadId);
      }
    }
  }

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
