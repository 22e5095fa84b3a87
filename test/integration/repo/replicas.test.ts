// Two repository replicas starting at the same moment on one empty database (real PostgreSQL when
// LINESIGHT_PG_URL is set): migrations and the first admin token happen exactly once between them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { createRepoServer, type RepoServer } from '../../../runtime/repo/server';
import { RepoClient } from '../../../runtime/repo/client';
import { dropSchema, freshSchema, pgService } from '../../support/services';

describe('repo: replicas starting together on an empty database', function () {
  this.timeout(60_000);

  it('create exactly one first admin token between them, and either replica accepts it', async function () {
    const pg = await pgService();
    // Replicas are separate PostgreSQL sessions; the embedded test server has only one to share.
    if (pg.kind === 'embedded') {
      console.log('      [skip] needs LINESIGHT_PG_URL: replicas are separate PostgreSQL sessions, the embedded test server has one');
      return this.skip();
    }
    const servers: RepoServer[] = [];
    const dirs: string[] = [];
    for (let round = 0; round < 3; round++) {
      const schema = await freshSchema(pg.url, 'replicas');
      const start = () => {
        const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'linesight-replica-'));
        dirs.push(dataDir);
        return createRepoServer({ db: pg.url, schema, dataDir, poolSize: 2, log: () => {} });
      };
      try {
        const pair = await Promise.all([start(), start()]);
        servers.push(...pair);
        const made = pair.filter((s) => s.adminToken);
        assert.equal(made.length, 1, `round ${round}: one replica made the first admin token, not ${made.length}`);
        assert.equal(pair.filter((s) => s.adminPassword).length, 1, `round ${round}: one replica made the first admin user`);
        const c = new Client({ connectionString: pg.url });
        await c.connect();
        try {
          const r = await c.query(`select count(*)::int as n from "${schema}".admin_tokens`);
          assert.equal(r.rows[0].n, 1);
        } finally {
          await c.end();
        }
        for (const s of pair) assert.equal((await new RepoClient({ url: s.url, token: made[0].adminToken }).listTemplates()).length, 0, 'the token works on both replicas');
      } finally {
        for (const s of servers.splice(0)) await s.close();
        await dropSchema(pg.url, schema).catch(() => {});
      }
    }
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });
});
