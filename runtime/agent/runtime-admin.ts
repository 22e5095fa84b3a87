// The agent's client for its child runtime's Node-RED admin API: login, read and deploy flows (full
// deployment, API v2 so every deploy returns the flows' revision), installed node types, global context.

export interface FlowsWithRev {
  rev: string;
  flows: unknown[];
}

export class RuntimeAdminError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}

export class RuntimeAdmin {
  private token: string | undefined;
  constructor(
    readonly baseUrl: string,
    private readonly credentials: { username: string; password: string } | null,
    private readonly timeoutMs = 15_000,
  ) {
    // The password must never show up in a log or a JSON dump of this object.
    Object.defineProperty(this, 'credentials', { enumerable: false });
  }

  async login(): Promise<void> {
    if (!this.credentials) return;
    const res = await this.fetch('auth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: 'node-red-admin', grant_type: 'password', scope: '*', ...this.credentials }),
    });
    if (!res.ok) throw new RuntimeAdminError(`runtime refused the agent's login: HTTP ${res.status}`, res.status);
    this.token = ((await res.json()) as { access_token: string }).access_token;
  }

  /**
   * The bearer token of the agent's own admin login (logging in when there is none yet), for requests the
   * editor tunnel forwards: the editor's users never see the runtime's credentials. Undefined when the
   * runtime runs without login (demo).
   */
  async accessToken(): Promise<string | undefined> {
    if (!this.credentials) return undefined;
    if (!this.token) await this.login();
    return this.token;
  }

  /** Forgets the token (the runtime answered 401: it restarted). */
  dropToken(): void {
    this.token = undefined;
  }

  async getFlows(): Promise<FlowsWithRev> {
    const res = await this.call('GET', 'flows');
    return (await res.json()) as FlowsWithRev;
  }

  /** Full deployment; resolves with the new revision once Node-RED has started the flows. */
  async deploy(flows: unknown[]): Promise<string> {
    const res = await this.call('POST', 'flows', { flows }, { 'Node-RED-Deployment-Type': 'full' });
    return ((await res.json()) as { rev: string }).rev;
  }

  /** Installed node types; asked once per launch of the runtime (nothing is installed while it runs). */
  async nodeTypes(): Promise<Set<string>> {
    this.types ??= this.fetchNodeTypes().catch((err) => {
      this.types = undefined;
      throw err;
    });
    return this.types;
  }

  private types: Promise<Set<string>> | undefined;

  private async fetchNodeTypes(): Promise<Set<string>> {
    const res = await this.call('GET', 'nodes');
    const sets = (await res.json()) as Array<{ types?: string[]; enabled?: boolean; err?: string }>;
    const types = new Set<string>();
    for (const s of sets) if (s.enabled !== false && !s.err) for (const t of s.types ?? []) types.add(t);
    return types;
  }

  /** The value of a global context key (default store), decoded from the admin API's display encoding. */
  async globalContext(key: string): Promise<unknown> {
    const res = await this.call('GET', `context/global/${encodeURIComponent(key)}`);
    const body = (await res.json()) as { msg?: unknown; format?: string };
    return decodeContextValue(body);
  }

  private async call(method: string, route: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    const send = () => {
      const h: Record<string, string> = { accept: 'application/json', 'Node-RED-API-Version': 'v2', ...headers };
      if (this.token) h.authorization = `Bearer ${this.token}`;
      if (body !== undefined) h['content-type'] = 'application/json';
      return this.fetch(route, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
    };
    let res = await send();
    if (res.status === 401 && this.credentials) {
      // Tokens live in the child's memory; a restarted child needs a new login.
      await this.login();
      res = await send();
    }
    if (!res.ok) throw new RuntimeAdminError(`runtime ${method} /${route}: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`, res.status);
    return res;
  }

  private fetch(route: string, init: RequestInit): Promise<Response> {
    return fetch(this.baseUrl + route, { ...init, signal: AbortSignal.timeout(this.timeoutMs) });
  }
}

/** Node-RED's context API encodes values for display (util.encodeObject); turn simple ones back into values. */
export function decodeContextValue(body: { msg?: unknown; format?: string }): unknown {
  const { msg, format } = body ?? {};
  if (format === undefined || format === 'undefined' || format === 'null') return undefined;
  if (format === 'number') return Number(msg);
  if (format === 'boolean') return msg === 'true';
  if (format.startsWith('string')) return msg;
  if (typeof msg === 'string') {
    try {
      return JSON.parse(msg);
    } catch {
      return msg;
    }
  }
  return msg;
}
