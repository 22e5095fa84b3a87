// Pieces the scale tests and benchmarks share: the factory / cloud-worker flow (cloud-bridge-in ->
// timescale-sink, optionally -> cloud-bridge up), the inspection load generator as its own process,
// what landed in the database, and what a process holds (RSS, sockets, file handles) read from /proc.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { PACKAGE_ROOT } from '../../runtime/paths';
import type { LoadOptions, LoadResult } from '../../runtime/dev/simulators/inspection-load';
import { waitFor } from './wait';

export interface WorkerFlowOptions {
  mqttUrl: string;
  /** The load generator's topic prefix (`<prefix>/<site>/<line>/inspection`). */
  prefix: string;
  pgUrl: string;
  schema: string;
  /** A fixed client id per worker: its persistent session finds it again after a restart. */
  clientId: string;
  shareGroup?: string;
  /** Persistent session (clean start off) kept this many seconds; 0 = clean session. */
  sessionExpiry?: number;
  /** When set, a cloud-bridge also sends every inspection up under this topic prefix. */
  uplinkPrefix?: string;
  /** The broker the uplink sends to (default: the same one). */
  uplinkUrl?: string;
  sink?: Record<string, unknown>;
  /** cloud-bridge-in's acknowledgement: `done` (default) or `receipt`. */
  ackAfter?: 'done' | 'receipt';
}

/** The flow of a factory runtime or a cloud worker: downlink -> sink (-> uplink). */
export function workerFlow(o: WorkerFlowOptions): unknown[] {
  const at = (x: number) => ({ z: 'scale', x, y: 100 });
  const expiry = o.sessionExpiry ?? 0;
  const outputs = ['sink', ...(o.uplinkPrefix ? ['up'] : [])];
  const flow: unknown[] = [
    { id: 'scale', type: 'tab', label: 'scale' },
    { id: 'brk', type: 'cloud-broker', name: 'broker', url: o.mqttUrl, clientId: o.clientId, protocolVersion: 5, cleanStart: expiry === 0, sessionExpiry: expiry, receiveMaximum: 10000, maxReconnectMs: 1000 },
    { id: 'db', type: 'timescale-db', url: o.pgUrl, schema: o.schema, poolSize: 4 },
    { id: 'in', type: 'cloud-bridge-in', ...at(100), broker: 'brk', topics: `${o.prefix}/+/+/inspection`, topicTemplate: `${o.prefix}/{site}/{line}/{kind}`, shareGroup: o.shareGroup ?? '', qos: 1, ackAfter: o.ackAfter ?? 'done', wires: [outputs] },
    { id: 'sink', type: 'timescale-sink', ...at(300), db: 'db', wires: [], ...o.sink },
  ];
  if (o.uplinkUrl) flow.push({ id: 'brkUp', type: 'cloud-broker', name: 'cloud', url: o.uplinkUrl, clientId: `${o.clientId}-up`, protocolVersion: 5, maxReconnectMs: 1000 });
  if (o.uplinkPrefix) flow.push({ id: 'up', type: 'cloud-bridge', ...at(300), broker: o.uplinkUrl ? 'brkUp' : 'brk', topicTemplate: `${o.uplinkPrefix}/{site}/{line}/{kind}`, site: 'plant1', imageMode: 'inline', wires: [] });
  return flow;
}

/** Runs the inspection load generator in its own process and resolves with what it reports. */
export function runLoadProcess(o: LoadOptions, timeoutMs = 900_000): Promise<LoadResult> {
  const script = path.join(PACKAGE_ROOT, 'dist', 'runtime', 'dev', 'simulators', 'inspection-load.js');
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [script, JSON.stringify(o)], { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`load generator failed: ${err.message}\n${stderr}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!) as LoadResult);
    });
  });
}

export async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * Waits for the sink to create its tables, then gives `inspections` a `received_at` column filled by the
 * database when the row is inserted: `received_at - time` is the delay from capture to commit.
 */
export async function addReceivedAt(url: string, schema: string, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    `the sink to create ${schema}.inspections`,
    () => withClient(url, async (c) => (await c.query(`select to_regclass($1) as t`, [`"${schema}".inspections`])).rows[0].t),
    timeoutMs,
    200,
  );
  await withClient(url, (c) => c.query(`alter table "${schema}".inspections add column if not exists received_at timestamptz default clock_timestamp()`));
}

export interface Stored {
  inspections: number;
  distinctInspections: number;
  detections: number;
  images: number;
}

export async function stored(url: string, schema: string, runId: string): Promise<Stored> {
  return withClient(url, async (c) => {
    const like = `${runId}-%`;
    const i = (await c.query(`select count(*)::int as n, count(distinct inspection_id)::int as d from "${schema}".inspections where inspection_id like $1`, [like])).rows[0];
    const d = (await c.query(`select count(*)::int as n from "${schema}".detections where inspection_id like $1`, [like])).rows[0];
    const im = (await c.query(`select count(*)::int as n from "${schema}".images where inspection_id like $1`, [like])).rows[0];
    return { inspections: i.n, distinctInspections: i.d, detections: d.n, images: im.n };
  });
}

/** p50/p99 of capture -> insert (ms) and the first/last insert time (unix ms) over one run's inspections. */
export async function delays(url: string, schema: string, runId: string): Promise<{ p50: number; p99: number; firstAt: number; lastAt: number }> {
  return withClient(url, async (c) => {
    const r = (
      await c.query(
        `select percentile_cont(0.5) within group (order by d) as p50, percentile_cont(0.99) within group (order by d) as p99,
                extract(epoch from min(received_at)) * 1000 as first, extract(epoch from max(received_at)) * 1000 as last
           from (select received_at, extract(epoch from received_at - time) * 1000 as d from "${schema}".inspections where inspection_id like $1) x`,
        [`${runId}-%`],
      )
    ).rows[0];
    return { p50: Number(r.p50), p99: Number(r.p99), firstAt: Number(r.first), lastAt: Number(r.last) };
  });
}

export interface ProcessSample {
  at: number;
  rssMiB: number;
  fds: number;
  sockets: number;
  /** Of `fds`, the files open under the `filesUnder` folder given to sampleProcess (0 without one). */
  filesUnder: number;
}

/** CPU time (user + system) process `pid` has used so far, in ms, from /proc (Linux; 100 clock ticks a second). */
export function processCpuMs(pid: number): number {
  // Fields 14 and 15 of /proc/<pid>/stat (after the command name in parentheses): utime, stime in ticks.
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

/**
 * Waits until a run's `count` inspections (with 5 detections each) are stored, or until no new one has
 * arrived for 30 s (what is missing then stays missing); answers what is stored.
 */
export async function storedOrStalled(url: string, schema: string, runId: string, count: number): Promise<Stored> {
  let last = -1;
  let still = 0;
  for (;;) {
    const s = await stored(url, schema, runId);
    if (s.inspections >= count && s.detections >= count * 5) return s;
    still = s.inspections === last ? still + 1 : 0;
    if (still > 60) return s;
    last = s.inspections;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** What a process holds right now, from /proc (Linux); `filesUnder` also counts the files open in a folder. */
export function sampleProcess(pid: number, filesUnder?: string): ProcessSample {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  let fds = 0;
  let sockets = 0;
  let under = 0;
  const prefix = filesUnder === undefined ? undefined : path.resolve(filesUnder) + path.sep;
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    fds++;
    try {
      const target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (target.startsWith('socket:')) sockets++;
      else if (prefix && target.startsWith(prefix)) under++;
    } catch {
      // closed between the listing and the read
    }
  }
  return { at: Date.now(), rssMiB: rssKiB / 1024, fds, sockets, filesUnder: under };
}
