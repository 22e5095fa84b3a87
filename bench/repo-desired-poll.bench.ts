// How many agents one repository can serve: conditional desired-state polls (If-None-Match -> 304, the
// steady state of every agent) per second, and their p99 latency. Baseline, same run: a bare Express +
// pg app answering the same request with a single indexed token lookup and a fixed 304, i.e. the least
// any authenticated poll can cost on this database. Uses LINESIGHT_PG_URL when set, else embedded PGlite.
import express from 'express';
import fs from 'node:fs';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { hashToken } from '../contracts/fleet/protocol';
import { RepoClient } from '../runtime/repo/client';
import { createRepoServer } from '../runtime/repo/server';
import { dropSchema, freshSchema, pgService, stopEmbeddedServices } from '../test/support/services';
import { lineFlow, lineTemplate } from '../test/fixtures/repo/templates';
import { percentile, report } from './support/report';

const DEVICES = 200;
const CONCURRENCY = 16;
/** Rounds alternate between the repository and the baseline; the best round of each counts (shared machine). */
const ROUNDS = 4;
const SECONDS = 2;

async function load(url: string, tokens: { id: string; token: string; etag: string }[]): Promise<{ rps: number; p99: number; errors: number }> {
  const lat: number[] = [];
  let errors = 0;
  let n = 0;
  const end = Date.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, w) => {
      let i = w;
      while (Date.now() < end) {
        const d = tokens[i++ % tokens.length]!;
        const t0 = performance.now();
        const res = await fetch(`${url}/api/v1/devices/${d.id}/desired`, { headers: { authorization: `Bearer ${d.token}`, 'if-none-match': d.etag } });
        await res.arrayBuffer();
        lat.push(performance.now() - t0);
        if (res.status !== 304) errors++;
        n++;
      }
    }),
  );
  return { rps: n / SECONDS, p99: percentile(lat, 99), errors };
}

async function main(): Promise<void> {
  const db = await pgService();
  const schema = await freshSchema(db.url, 'repobench');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'linesight-repo-bench-'));
  const repo = await createRepoServer({ db: db.url, schema, dataDir, poolSize: db.kind === 'embedded' ? 1 : 10 });
  const admin = new RepoClient({ url: repo.url, token: repo.adminToken });
  await admin.createTemplate(lineTemplate);
  await admin.publishVersion('line-inspection', { version: '1.0.0', flow: lineFlow() });
  const devices: { id: string; token: string; etag: string }[] = [];
  for (let i = 0; i < DEVICES; i++) {
    const id = `bench-${i}`;
    const { token } = await admin.registerDevice({ id, tier: 'line', parameters: { LINE_ID: id } });
    devices.push({ id, token, etag: '' });
  }
  await admin.createDeployment({ template: 'line-inspection', version: '1.0.0', target: { tier: 'line' } });
  for (const d of devices) {
    const r = await new RepoClient({ url: repo.url, token: d.token }).desired(d.id);
    d.etag = r.etag;
  }

  // Baseline: the bare minimum an authenticated 304 needs on the same database.
  const pool = new pg.Pool({ connectionString: db.url, max: db.kind === 'embedded' ? 1 : 10 });
  const app = express();
  app.get('/api/v1/devices/:id/desired', async (req, res) => {
    const token = String(req.headers.authorization).slice(7);
    const r = await pool.query(`select id from "${schema}".devices where token_hash = $1`, [hashToken(token)]);
    if (r.rows[0]?.id !== req.params.id) return res.status(403).end();
    res.status(304).end();
  });
  const raw: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const rawUrl = `http://127.0.0.1:${(raw.address() as { port: number }).port}`;

  await load(repo.url, devices.slice(0, 20)); // warm-up
  let base = { rps: 0, p99: Infinity, errors: 0 };
  let ours = { rps: 0, p99: Infinity, errors: 0 };
  for (let i = 0; i < ROUNDS; i++) {
    const b = await load(rawUrl, devices);
    const o = await load(repo.url, devices);
    base = { rps: Math.max(base.rps, b.rps), p99: Math.min(base.p99, b.p99), errors: base.errors + b.errors };
    ours = { rps: Math.max(ours.rps, o.rps), p99: Math.min(ours.p99, o.p99), errors: ours.errors + o.errors };
  }
  const note = `${DEVICES} devices, ${CONCURRENCY} concurrent pollers, best of ${ROUNDS} alternating ${SECONDS} s rounds, ${db.kind} PostgreSQL; ${Math.round(ours.rps * 30)} agents at a 30 s poll interval; errors ${ours.errors}/${base.errors}`;
  report({ bench: 'repo-desired-poll', metric: 'conditional desired-state polls (304)', value: ours.rps, unit: 'req/s', baseline: base.rps, note });
  report({ bench: 'repo-desired-poll', metric: 'p99 poll latency', value: ours.p99, unit: 'ms', baseline: base.p99, note: 'baseline: bare Express + one pg token lookup' });

  await new Promise<void>((r) => raw.close(() => r()));
  await pool.end();
  await repo.close();
  await dropSchema(db.url, schema).catch(() => {});
  fs.rmSync(dataDir, { recursive: true, force: true });
  await stopEmbeddedServices();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
