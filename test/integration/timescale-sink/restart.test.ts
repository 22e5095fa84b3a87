// PostgreSQL restarted (pg_ctlcluster ... restart) in the middle of 100,000 rows: afterwards exactly
// 100,000 rows and no duplicates. Runs only against the machine's own server (LINESIGHT_PG_URL at
// 127.0.0.1), which it restarts; other engineers share that server, so no other test restarts it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TagSample } from '../../../contracts/messages';
import { dropSchema, freshSchema } from '../../support/services';
import { sleep, waitFor } from '../../support/wait';
import { clusterOnPort, helper, loadSink, query, unloadSink } from './harness';

const run = promisify(execFile);

describe('timescale-sink across a PostgreSQL restart', function () {
  this.timeout(300_000);
  const url = process.env.LINESIGHT_PG_URL;
  let schema: string | undefined;
  let tmp: string;

  // The cluster to restart is the one listening on the port the URL names (not always "main").
  let cluster: { version: string; name: string } | undefined;
  before(async function () {
    const host = url ? new URL(url).hostname : '';
    if (!url || !['127.0.0.1', 'localhost'].includes(host) || !fs.existsSync('/etc/postgresql')) {
      console.log(`      [skip] needs LINESIGHT_PG_URL at this machine's own PostgreSQL (127.0.0.1) to restart it; got ${url ? host : 'no LINESIGHT_PG_URL'}`);
      return this.skip();
    }
    const port = Number(new URL(url).port || 5432);
    const out = await run('pg_lsclusters', ['-h']).then((r) => r.stdout, () => '');
    cluster = clusterOnPort(out, port);
    if (!cluster) {
      console.log(`      [skip] no pg_lsclusters cluster listens on port ${port} (the one LINESIGHT_PG_URL names), so there is none this test may restart`);
      this.skip();
    }
  });
  beforeEach(async () => {
    schema = await freshSchema(url!, 'restart');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-restart-'));
    await helper.startServer();
  });
  afterEach(async () => {
    await unloadSink();
    await helper.stopServer();
    // Leave the shared server up for everyone else.
    const port = String(new URL(url!).port || 5432);
    await waitFor('PostgreSQL accepting connections again', async () => (await run('pg_isready', ['-h', '127.0.0.1', '-p', port, '-q']).then(() => true, () => false)), 60_000, 500);
    if (schema) await dropSchema(url!, schema);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('writes exactly 100,000 rows with no duplicates when the server restarts in the middle', async () => {
    const { version, name } = cluster!;
    const r = await loadSink(url!, schema!, { spool: true, spoolFile: path.join(tmp, 'spool.db'), maxMemoryRows: 20_000, batchSize: 5000, batchAgeMs: 100 });
    const MESSAGES = 1000;
    const PER = 100;
    const base = Date.UTC(2026, 0, 5);
    const message = (m: number): TagSample[] =>
      Array.from({ length: PER }, (_, k) => ({ device: `plc${m % 10}`, tag: `t${k}`, value: m * PER + k, quality: 'good' as const, ts: base + m * 1000 }));

    let restart: Promise<unknown> | undefined;
    let rowsAtRestart = -1;
    for (let m = 0; m < MESSAGES; m++) {
      r.sink.receive({ payload: message(m) });
      if (m === 300) {
        rowsAtRestart = await waitFor('the first rows written', async () => (await query(url!, `select count(*)::int n from "${schema}".tag_samples`))[0].n, 60_000, 20);
        restart = run('pg_ctlcluster', ['--skip-systemctl-redirect', version, name, 'restart']);
      }
      // A steady stream, not one burst, so the restart lands while batches are being written.
      if (m % 20 === 19) await sleep(15);
    }
    await restart;
    await waitFor('every message done', () => r.completed.length + r.caught.length === MESSAGES, 180_000, 200);
    assert.deepEqual(r.caught.map((m) => m.error?.message), []);
    const count = async () => (await query(url!, `select count(*)::int n, count(distinct (device, tag, time))::int d from "${schema}".tag_samples`))[0];
    await waitFor('100,000 rows (the spool drains after the restart)', async () => (await count().catch(() => ({ n: -1 }))).n >= MESSAGES * PER, 180_000, 500);
    await sleep(500);
    const c = await count();
    console.log(`      rows before the restart: ${rowsAtRestart}; statuses seen: ${[...new Set(r.statuses.map((s) => (s.text ?? '').replace(/[\d,]+/g, 'N')))].join(' | ')}`);
    assert.ok(rowsAtRestart > 0 && rowsAtRestart < MESSAGES * PER, 'the restart came in the middle');
    assert.deepEqual(c, { n: MESSAGES * PER, d: MESSAGES * PER });
    const sum = (await query(url!, `select sum(value_num)::bigint s from "${schema}".tag_samples`))[0].s;
    assert.equal(Number(sum), ((MESSAGES * PER - 1) * MESSAGES * PER) / 2, 'every value present once');
  });
});

