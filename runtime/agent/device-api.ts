// The device's side of the repository REST API (runtime/fleet/protocol.ts): its desired state with ETag,
// version documents, its status, the repository's public key. The token is sent as a bearer token and
// never kept in an enumerable field.
import { API_ROOT, type DesiredState, type DeviceStatusReport, type VersionDocument } from '../fleet/protocol';

export class DeviceApiError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}

export type DesiredFetch = { changed: false } | { changed: true; desired: DesiredState; etag: string | null };

export class DeviceApi {
  private readonly token!: string;
  readonly root: string;
  constructor(
    repoUrl: string,
    readonly deviceId: string,
    token: string,
    private readonly timeoutMs = 15_000,
  ) {
    Object.defineProperty(this, 'token', { value: token, enumerable: false });
    this.root = repoUrl.replace(/\/+$/, '').replace(new RegExp(`${API_ROOT}$`), '') + API_ROOT;
  }

  async desired(etag: string | null): Promise<DesiredFetch> {
    const headers: Record<string, string> = {};
    if (etag) headers['if-none-match'] = etag;
    const res = await this.request('GET', `/devices/${encodeURIComponent(this.deviceId)}/desired`, undefined, headers);
    if (res.status === 304) return { changed: false };
    await this.ensureOk(res, 'desired state');
    return { changed: true, desired: (await res.json()) as DesiredState, etag: res.headers.get('etag') };
  }

  /** `href` is relative to the API root (a full /api/v1/... path is accepted too). */
  async version(href: string): Promise<VersionDocument> {
    const route = href.startsWith(API_ROOT + '/') ? href.slice(API_ROOT.length) : href.startsWith('/') ? href : `/${href}`;
    const res = await this.request('GET', route);
    await this.ensureOk(res, `version ${href}`);
    return (await res.json()) as VersionDocument;
  }

  async postStatus(report: DeviceStatusReport): Promise<void> {
    const res = await this.request('POST', `/devices/${encodeURIComponent(this.deviceId)}/status`, report);
    await this.ensureOk(res, 'status report');
    await res.arrayBuffer();
  }

  /** The repository's Ed25519 public key (PEM), from JSON `{publicKeyPem}` / `{publicKey}` or a PEM body. */
  async publicKey(): Promise<string> {
    const res = await this.request('GET', '/keys/public');
    await this.ensureOk(res, 'public key');
    const text = await res.text();
    let pem = text;
    try {
      const body = JSON.parse(text) as Record<string, unknown>;
      pem = String(body.publicKeyPem ?? body.publicKey ?? body.pem ?? '');
    } catch {
      // a PEM body
    }
    if (!pem.includes('BEGIN PUBLIC KEY')) throw new DeviceApiError('repository public key response holds no PEM public key');
    return pem;
  }

  private request(method: string, route: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    const h: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${this.token}`, ...headers };
    if (body !== undefined) h['content-type'] = 'application/json';
    return fetch(this.root + route, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(this.timeoutMs) });
  }

  private async ensureOk(res: Response, what: string): Promise<void> {
    if (res.ok) return;
    const text = (await res.text().catch(() => '')).slice(0, 300);
    throw new DeviceApiError(`repository refused ${what}: HTTP ${res.status}${text ? ` ${text}` : ''}`, res.status);
  }
}
