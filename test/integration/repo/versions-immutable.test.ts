// Versions equal by semver precedence (build metadata ignored) are one version: the second publish is a
// 409 whether it comes after the first or at the same moment, on the real PostgreSQL and on embedded PGlite,
// and a database that already holds such twins migrates.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { MIGRATIONS } from '../../../runtime/repo/db';
import { RepoClient } from '../../../runtime/repo/client';
import { createRepoServer } from '../../../runtime/repo/server';
import { dropSchema, freshSchema, pgService } from '../../support/services';
import { lineFlow, lineTemplate } from '../../fixtures/repo/templates';
import { refused, startHarness, type Harness } from './harness';

describe('repo: versions equal by semver precedence are one version', function () {
  this.timeout(120_000);

  describe('on the test database', () => {
    let h: Harness;
    before(async () => {
      // Eight connections race on a real server; embedded PGlite shares one session, so it keeps one.
      h = await startHarness((await pgService()).kind === 'real' ? { poolSize: 8 } : {});
      await h.admin.createTemplate(lineTemplate);
    });
    after(async () => {
      await h?.close();
    });

    it('2.0.0 and 2.0.0+b1 … +b7 published concurrently: exactly one succeeds, the rest are 409', async () => {
      const versions = ['2.0.0', ...Array.from({ length: 7 }, (_, i) => `2.0.0+b${i + 1}`)];
      // Each publisher on its own client and connection, all released at once.
      const results = await Promise.allSettled(versions.map((v) => new RepoClient({ url: h.repo.url, token: h.repo.adminToken }).publishVersion('line-inspection', { version: v, flow: lineFlow(v) })));
      const ok = results.filter((r) => r.status === 'fulfilled');
      const statuses = results.map((r) => (r.status === 'rejected' ? (r.reason as { status: number }).status : 201));
      assert.equal(ok.length, 1, `expected one success, got ${statuses.join(', ')}`);
      assert.deepEqual(statuses.filter((s) => s !== 201), Array(7).fill(409));
      const stored = (await h.admin.listVersions('line-inspection')).map((v) => v.version);
      assert.equal(stored.length, 1, `stored ${stored.join(', ')}`);
    });

    it('sequentially: 3.0.0 then 3.0.0+build and 3.0.0 again are 409 naming version', async () => {
      await h.admin.publishVersion('line-inspection', { version: '3.0.0', flow: lineFlow('a') });
      for (const v of ['3.0.0+build.5', '3.0.0']) {
        const e = await refused(h.admin.publishVersion('line-inspection', { version: v, flow: lineFlow('b') }), 409);
        assert.deepEqual(e.problems.map((p) => p.field), ['version']);
        assert.match(e.problems[0]!.reason, /already published/);
      }
      // A pre-release is another version.
      await h.admin.publishVersion('line-inspection', { version: '3.0.0-rc.1', flow: lineFlow('c') });
    });

    it('a database holding twins from before migrates; the earliest keeps the key, a new twin is 409', async () => {
      const pg = await pgService();
      const schema = await freshSchema(pg.url, 'repomig');
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'linesight-repo-mig-'));
      const c = new Client({ connectionString: pg.url });
      await c.connect();
      try {
        // The schema as migration 1 left it, with twins published before the check existed.
        const s = `"${schema}"`;
        await c.query(`create table ${s}.schema_migrations (version integer primary key, name text not null, applied_at timestamptz not null default now())`);
        await c.query(MIGRATIONS[0]!.sql.replaceAll('{s}', s));
        await c.query(`insert into ${s}.schema_migrations (version, name) values (1, 'v1')`);
        await c.query(`insert into ${s}.templates (slug, title, tier, parameters) values ('t', 'T', 'line', $1)`, [JSON.stringify(lineTemplate.parameters)]);
        for (const [i, v] of ['4.0.0', '4.0.0+b1', '4.0.0+b2'].entries()) {
          await c.query(`insert into ${s}.versions (template, version, flow_json, sha256, signature, created_at) values ('t', $1, '[]', 'x', 'y', now() + $2 * interval '1 second')`, [v, i]);
        }
      } finally {
        await c.end();
      }
      const repo = await createRepoServer({ db: pg.url, schema, dataDir, poolSize: pg.kind === 'embedded' ? 1 : 2 });
      try {
        const admin = new RepoClient({ url: repo.url, token: repo.adminToken });
        assert.deepEqual((await admin.listVersions('t')).map((v) => v.version), ['4.0.0', '4.0.0+b1', '4.0.0+b2']);
        await refused(admin.publishVersion('t', { version: '4.0.0+b3', flow: lineFlow('x') }), 409);
      } finally {
        await repo.close();
        await dropSchema(pg.url, schema).catch(() => {});
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });

  describe('on embedded PGlite', () => {
    it('sequential twins are 409 too', async () => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'linesight-repo-emb-'));
      const repo = await createRepoServer({ dataDir });
      try {
        const admin = new RepoClient({ url: repo.url, token: repo.adminToken });
        await admin.createTemplate(lineTemplate);
        await admin.publishVersion('line-inspection', { version: '2.0.0', flow: lineFlow('a') });
        const e = await refused(admin.publishVersion('line-inspection', { version: '2.0.0+b1', flow: lineFlow('b') }), 409);
        assert.equal(e.problems[0]!.field, 'version');
        const both = await Promise.allSettled(['5.0.0+x', '5.0.0+y'].map((v) => admin.publishVersion('line-inspection', { version: v, flow: lineFlow(v) })));
        assert.equal(both.filter((r) => r.status === 'fulfilled').length, 1);
      } finally {
        await repo.close();
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
});
