// Starts an in-process repository on the test database (its own schema) with a controllable clock.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRepoServer, type RepoServer, type RepoServerOptions } from '../../../runtime/repo/server';
import { RepoClient } from '../../../runtime/repo/client';
import { dropSchema, freshSchema, pgService } from '../../support/services';

export interface Harness {
  repo: RepoServer;
  admin: RepoClient;
  dataDir: string;
  schema: string;
  /** The repository's clock; move it with `advance`. */
  clock: { now: number; advance(ms: number): void };
  device(token: string): RepoClient;
  anon(): RepoClient;
  close(): Promise<void>;
}

/** bcrypt at its lowest cost in tests (LINESIGHT_TEST_BCRYPT_COST, see runtime/repo/auth.ts): logins by the hundred. */
process.env.LINESIGHT_TEST_BCRYPT_COST ??= '4';

export async function startHarness(extra: Partial<RepoServerOptions> = {}): Promise<Harness> {
  const pg = await pgService();
  const schema = await freshSchema(pg.url, 'repo');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'linesight-repo-'));
  const clock = {
    now: Date.now(),
    advance(ms: number) {
      this.now += ms;
    },
  };
  const repo = await createRepoServer({
    db: pg.url,
    schema,
    dataDir,
    // The embedded test server shares one PGlite session between connections: keep transactions apart.
    poolSize: pg.kind === 'embedded' ? 1 : 4,
    now: () => clock.now,
    ...extra,
  });
  const mk = (token?: string) => new RepoClient({ url: repo.url, token });
  return {
    repo,
    admin: mk(repo.adminToken),
    dataDir,
    schema,
    clock,
    device: (token) => mk(token),
    anon: () => mk(),
    async close() {
      await repo.close();
      await dropSchema(pg.url, schema).catch(() => {});
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Expects `p` to reject with a RepoApiError of `status`; returns it for further checks. */
export async function refused(p: Promise<unknown>, status: number): Promise<{ status: number; message: string; problems: { field: string; reason: string }[] }> {
  try {
    await p;
  } catch (err) {
    const e = err as { status?: number; message: string; problems?: { field: string; reason: string }[] };
    if (e.status !== status) throw new Error(`expected HTTP ${status}, got ${e.status}: ${e.message}`);
    return { status: e.status, message: e.message, problems: e.problems ?? [] };
  }
  throw new Error(`expected HTTP ${status}, but the request succeeded`);
}

/** A logged-in browser: the session cookie and its CSRF token, sent the way the console sends them. */
export interface BrowserSession {
  cookie: string;
  csrfToken: string;
  /** The Set-Cookie header of the login answer. */
  setCookie: string;
  user: { name: string; role: string };
  expiresAt: string;
  /** A request with the cookie (and the CSRF token unless `csrf: false` or another value is given). */
  request(method: string, route: string, opts?: { body?: unknown; csrf?: string | false; origin?: string }): Promise<Response>;
}

/** Logs in with POST /api/v1/session; throws with the status on failure. */
export async function login(url: string, username: string, password: string): Promise<BrowserSession> {
  const res = await fetch(`${url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  if (res.status !== 200) throw Object.assign(new Error(`login as ${username}: HTTP ${res.status} ${await res.text()}`), { status: res.status });
  const body = (await res.json()) as { user: { name: string; role: string }; csrfToken: string; expiresAt: string };
  const setCookie = res.headers.get('set-cookie') ?? '';
  const cookie = setCookie.split(';')[0]!;
  return {
    cookie,
    setCookie,
    csrfToken: body.csrfToken,
    user: body.user,
    expiresAt: body.expiresAt,
    request: (method, route, opts = {}) => {
      const headers: Record<string, string> = { cookie };
      const csrf = opts.csrf === undefined ? body.csrfToken : opts.csrf;
      if (csrf !== false) headers['x-csrf-token'] = csrf;
      if (opts.origin) headers.origin = opts.origin;
      if (opts.body !== undefined) headers['content-type'] = 'application/json';
      return fetch(`${url}${route}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
    },
  };
}
