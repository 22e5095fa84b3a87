// Log ingestion: lines per second the repository stores when 100 simulated agents post batches of their
// runtime's log lines over real HTTP (token check, body validation, seq numbering, pruning to the window,
// live-tail notification). Baseline, same run: a bare batched INSERT (unnest) of the same rows into a
// table of the same shape through a pg pool of the same size, no HTTP. Rounds alternate; best of each.
// Uses LINESIGHT_PG_URL when set, else embedded PGlite.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { DeviceLogLine } from '../contracts/fleet/protocol';
import { RepoClient } from '../runtime/repo/client';
import { createRepoServer } from '../runtime/repo/server';
import { dropSchema, freshSchema, pgService, stopEmbeddedServices } from '../test/support/services';
import { report } from './support/report';

const AGENTS = 100;
const BATCH = 500;
const ROUNDS = 3;
const SECONDS = 3;
const POOL = 10;
const LEVELS = [20, 30, 40, 40, 40] as const;
const LEVEL_NAMES = { 20: 'error', 30: 'warn', 40: 'info' } as const;

function batchOf(agent: number, n: number): DeviceLogLine[] {
  const now = Date.now();
  return Array.from({ length: n }, (_, i) => {
    const level = LEVELS[i % LEVELS.length]!;
    const line: DeviceLogLine = { ts: now + i, level: LEVEL_NAMES[level], msg: `[plc-read:line speed] read 12 registers from 10.0.${agent}.5 in 3 ms; speed=${(i % 97) * 1.5} m/min (batch ${i})` };
    if (i % 2) Object.assign(line, { nodeId: `n${i % 40}`, nodeType: 'plc-read', nodeName: 'line speed' });
    return line;
  });
}

async function main(): Promise<void> {
  const db = await pgService();
  const schema = await freshSchema(db.url, 'logbench');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'linesight-log-bench-'));
  const poolSize = db.kind === 'embedded' ? 1 : POOL;
  const repo = await createRepoServer({ db: db.url, schema, dataDir, poolSize });
  const admin = new RepoClient({ url: repo.url, token: repo.adminToken });
  // Each agent's batch is serialised once: what is measured is the repository, not the load generator.
  const agents: { id: string; token: string; batch: DeviceLogLine[]; body: string }[] = [];
  for (let i = 0; i < AGENTS; i++) {
    const id = `log-bench-${i}`;
    const { token } = await admin.registerDevice({ id, tier: 'line' });
    const batch = batchOf(i, BATCH);
    agents.push({ id, token, batch, body: JSON.stringify({ lines: batch }) });
  }

  // Baseline: the same rows, the same batches, straight into a table of the same shape.
  const pool = new pg.Pool({ connectionString: db.url, max: poolSize });
  await pool.query(`create table "${schema}".bare_log_lines (device_id text not null, seq bigint not null, ts bigint not null, level smallint not null, msg text not null, node_id text, node_type text, node_name text, primary key (device_id, seq))`);
  const seqs = new Map<string, number>();
  const bareInsert = async (id: string, lines: DeviceLogLine[]) => {
    const first = seqs.get(id) ?? 0;
    seqs.set(id, first + lines.length);
    const levels = { fatal: 10, error: 20, warn: 30, info: 40, debug: 50, trace: 60 };
    await pool.query(
      `insert into "${schema}".bare_log_lines (device_id, seq, ts, level, msg, node_id, node_type, node_name)
       select $1, $2::bigint + u.ord, u.ts, u.level, u.msg, u.node_id, u.node_type, u.node_name
         from unnest($3::bigint[], $4::smallint[], $5::text[], $6::text[], $7::text[], $8::text[]) with ordinality as u(ts, level, msg, node_id, node_type, node_name, ord)`,
      [id, first, lines.map((l) => l.ts), lines.map((l) => levels[l.level]), lines.map((l) => l.msg), lines.map((l) => l.nodeId ?? null), lines.map((l) => l.nodeType ?? null), lines.map((l) => l.nodeName ?? null)],
    );
  };

  const run = async (send: (a: (typeof agents)[number]) => Promise<void>) => {
    let lines = 0;
    let errors = 0;
    const t0 = performance.now();
    const end = Date.now() + SECONDS * 1000;
    await Promise.all(
      agents.map(async (a) => {
        while (Date.now() < end) {
          try {
            await send(a);
            lines += a.batch.length;
          } catch {
            errors++;
          }
        }
      }),
    );
    return { rate: lines / ((performance.now() - t0) / 1000), errors, lines };
  };
  const viaRepo = async (a: (typeof agents)[number]) => {
    const res = await fetch(`${repo.url}/api/v1/devices/${a.id}/logs`, { method: 'POST', headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/json' }, body: a.body });
    await res.arrayBuffer();
    if (res.status !== 204) throw new Error(`HTTP ${res.status}`);
  };
  const bare = (a: (typeof agents)[number]) => bareInsert(a.id, a.batch);

  await run(viaRepo); // warm-up (also fills some windows, so pruning runs in the measured rounds)
  let ours = { rate: 0, errors: 0, lines: 0 };
  let base = { rate: 0, errors: 0, lines: 0 };
  for (let i = 0; i < ROUNDS; i++) {
    const b = await run(bare);
    const o = await run(viaRepo);
    if (b.rate > base.rate) base = b;
    if (o.rate > ours.rate) ours = o;
  }
  // The window holds: no device keeps more than its 10,000 lines however much was posted.
  const kept = await pool.query(`select max(n)::int as most from (select count(*) as n from "${schema}".device_log_lines group by device_id) x`);
  const note = `${AGENTS} agents posting batches of ${BATCH} lines over HTTP, best of ${ROUNDS} alternating ${SECONDS} s rounds, ${db.kind} PostgreSQL, pool ${poolSize}; most lines kept by one device ${kept.rows[0].most} (window 10,000); errors ${ours.errors}`;
  report({ bench: 'repo-log-ingest', metric: 'log lines stored from 100 agents', value: ours.rate, unit: 'lines/s', baseline: base.rate, note });

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
