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
