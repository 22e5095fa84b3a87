// The device's side of the repository REST API (contracts/fleet/protocol.ts): its desired state with ETag,
// version documents, its status, the repository's public key. A device-bound view of the repository's
// typed client (one HTTP path for the CLI, the sidebar and the agent); failures become DeviceApiError
// with the HTTP status the agent's retry and rollback decisions read. The client (and its token) is
// never kept in an enumerable field.
import { API_ROOT, type DesiredState, type DeviceLogBatch, type DeviceStatusReport, type HealthSampleBatch, type VersionDocument } from '../../contracts/fleet/protocol';
import { RepoApiError, RepoClient } from '../repo/client';

export class DeviceApiError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}

export type DesiredFetch = { changed: false } | { changed: true; desired: DesiredState; etag: string | null };

export class DeviceApi {
  private readonly client!: RepoClient;
  readonly root: string;
  constructor(
    repoUrl: string,
    readonly deviceId: string,
    token: string,
    timeoutMs = 15_000,
  ) {
    const url = repoUrl.replace(/\/+$/, '').replace(new RegExp(`${API_ROOT}$`), '');
    Object.defineProperty(this, 'client', { value: new RepoClient({ url, token, timeoutMs }), enumerable: false });
    this.root = url + API_ROOT;
  }

  async desired(etag: string | null): Promise<DesiredFetch> {
    const r = await this.refused('desired state', () => this.client.desired(this.deviceId, etag ?? undefined));
    return r.notModified ? { changed: false } : { changed: true, desired: r.state, etag: r.etag || null };
  }

  /** `href` is relative to the API root (a full /api/v1/... path is accepted too). */
  version(href: string): Promise<VersionDocument> {
    const route = href.startsWith(API_ROOT + '/') ? href.slice(API_ROOT.length) : href.startsWith('/') ? href : `/${href}`;
    return this.refused(`version ${href}`, () => this.client.getRoute<VersionDocument>(API_ROOT + route));
  }

  postStatus(report: DeviceStatusReport): Promise<void> {
    return this.refused('status report', () => this.client.reportStatus(this.deviceId, report));
  }

  postLogs(batch: DeviceLogBatch): Promise<void> {
    return this.refused('log lines', () => this.client.postLogs(this.deviceId, batch));
  }

  postHealth(batch: HealthSampleBatch): Promise<void> {
    return this.refused('health samples', () => this.client.postHealth(this.deviceId, batch));
  }

  /** The repository's Ed25519 public key (PEM), from JSON `{publicKeyPem}` / `{publicKey}` or a PEM body. */
  async publicKey(): Promise<string> {
    const body = await this.refused('public key', () => this.client.publicKey() as Promise<unknown>);
    const pem = typeof body === 'string' ? body : String((body as Record<string, unknown>)?.publicKeyPem ?? (body as Record<string, unknown>)?.publicKey ?? (body as Record<string, unknown>)?.pem ?? '');
    if (!pem.includes('BEGIN PUBLIC KEY')) throw new DeviceApiError('repository public key response holds no PEM public key');
    return pem;
  }

  private async refused<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof RepoApiError)) throw err;
      // status 0: the repository was not reached (the client says why).
      if (err.status === 0) throw new DeviceApiError(`${what}: ${err.message}`);
      throw new DeviceApiError(`repository refused ${what}: HTTP ${err.status} ${err.message}`, err.status);
    }
  }
}
