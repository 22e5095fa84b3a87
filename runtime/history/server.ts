// The history API: a small read-only HTTP API over the sink's database for the console's Quality section
// (search, a page per product or inspection, defect-rate series, worst lines of a shift, CSV export, the
// images). A plain (req, res) handler under /api/v1/history, served by `linesight history serve` and
// mountable as it is in any Node HTTP server (the repository's Express app included). It connects with a
// read-only role and refuses to start when its role could write, unless told otherwise; every query runs in
// a READ ONLY transaction. Bad input is a 400 naming the field, never a 500.
import fs from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Pool } from 'pg';
import { LinesightError } from '../../contracts/errors';
import { HistoryQueries, checkBuckets, type Bucket, type Filters, type SeriesBy } from './queries';
import { historyOpenApi } from './openapi';

export const HISTORY_ROOT = '/api/v1/history';

/**
 * A defect-rate answer holds at most this many points unless `maxPoints` asks for more (up to MAX_POINTS):
 * enough for every chart the console draws (7 days by hour for 100 lines is 16,800), while 30 days by hour
 * for 100 lines (72,000 points, several MB of JSON no chart can show) is refused with a 400 that says what
 * to narrow instead of taking seconds to build.
 */
export const DEFAULT_MAX_POINTS = 20_000;
export const MAX_POINTS = 100_000;
const NARROWER: Record<Bucket, string> = { minute: 'bucket=hour', hour: 'bucket=day', day: 'a shorter range' };
function tooManyPoints(max: number, bucket: Bucket, by: SeriesBy): HttpError {
  const key = by === 'none' ? '' : ` per ${by === 'model_version' ? 'model version' : by}`;
  return new HttpError(400, `maxPoints: the series has more than ${max} points (${bucket} buckets${key}); choose ${NARROWER[bucket]}, filter by line, site, camera or model version, shorten the range, or raise maxPoints (at most ${MAX_POINTS})`, 'maxPoints');
}

export interface HistoryApiOptions {
  queries: HistoryQueries;
  /** External image store (the sink's imageDir) for images stored as files. */
  imageDir?: string;
  /** Clock for "this shift" (tests). */
  now?: () => number;
  /** Shift start hours (UTC), e.g. [6, 14, 22]. */
  shifts?: number[];
  /** Bearer token required on every request when set. */
  token?: string;
  /** Access-Control-Allow-Origin for a console served elsewhere. */
  corsOrigin?: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

const bad = (field: string, message: string) => new HttpError(400, `${field}: ${message}`, field);

const CONTENT_TYPE: Record<string, string> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', avif: 'image/avif', raw: 'application/octet-stream' };

// ---- input ------------------------------------------------------------------------------------------

class Params {
  private readonly used = new Set<string>();
  constructor(private readonly sp: URLSearchParams) {}

  str(name: string, opts: { required?: boolean; max?: number } = {}): string | undefined {
    this.used.add(name);
    const all = this.sp.getAll(name);
    if (all.length > 1) throw bad(name, 'given more than once');
    const v = all[0];
    if (v === undefined || v === '') {
      if (opts.required) throw bad(name, 'is required');
      return undefined;
    }
    text(name, v, opts.max ?? 200);
    return v;
  }

  int(name: string, def: number, min: number, max: number): number {
    const v = this.str(name, { max: 20 });
    if (v === undefined) return def;
    if (!/^-?\d+(\.\d+)?$/.test(v)) throw bad(name, `must be a number, not ${JSON.stringify(v)}`);
    const n = Number(v);
    if (n < min || n > max) throw bad(name, `must be between ${min} and ${max}, not ${v}`);
    return n;
  }

  time(name: string, def?: Date): Date {
    const v = this.str(name, { max: 40 });
    if (v === undefined) {
      if (!def) throw bad(name, 'is required (ISO 8601 time or unix milliseconds)');
      return def;
    }
    const d = /^\d{1,15}$/.test(v) ? new Date(Number(v)) : /^\d{4}-\d{2}-\d{2}/.test(v) ? new Date(v) : new Date(NaN);
    if (Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1970 || d.getUTCFullYear() > 9999) throw bad(name, `is not a time (ISO 8601 or unix milliseconds): ${JSON.stringify(v)}`);
    return d;
  }

  oneOf<T extends string>(name: string, values: readonly T[], def: T): T {
    const v = this.str(name, { max: 40 });
    if (v === undefined) return def;
    if (!values.includes(v as T)) throw bad(name, `must be one of ${values.join(', ')}, not ${JSON.stringify(v)}`);
    return v as T;
  }

  filters(): Filters {
    return { site: this.str('site'), line: this.str('line'), camera: this.str('camera'), modelVersion: this.str('modelVersion') };
  }

  /** Refuses parameters no one asked for (a typo should not silently widen a query). */
  done(): void {
    for (const k of this.sp.keys()) if (!this.used.has(k)) throw bad(k, 'unknown query parameter');
  }
}

function text(field: string, v: string, max: number): void {
  if (v.length > max) throw bad(field, `longer than ${max} characters`);
  if (v.includes('\u0000')) throw bad(field, 'must not contain NUL characters');
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(v)) throw bad(field, 'must be well-formed Unicode');
}

function range(p: Params, now: number, defaultHours: number, maxDays: number): { from: Date; to: Date } {
  const to = p.time('to', new Date(now));
  const from = p.time('from', new Date(to.getTime() - defaultHours * 3_600_000));
  if (from.getTime() >= to.getTime()) throw bad('from', 'must be before to');
  if (to.getTime() - from.getTime() > maxDays * 86_400_000) throw bad('from', `the range may span at most ${maxDays} days`);
  return { from, to };
}

/** The shift `now` falls in, from shift start hours (UTC). */
export function currentShift(now: number, shifts: number[]): { from: Date; to: Date } {
  const hours = [...new Set(shifts)].sort((a, b) => a - b);
  const day = Math.floor(now / 86_400_000) * 86_400_000;
  const starts = [-1, 0, 1].flatMap((d) => hours.map((h) => day + d * 86_400_000 + h * 3_600_000)).sort((a, b) => a - b);
  let i = starts.length - 1;
  while (i > 0 && starts[i] > now) i--;
  return { from: new Date(starts[i]), to: new Date(starts[i + 1]) };
}

// ---- CSV --------------------------------------------------------------------------------------------

/** One CSV field: quoted when needed; text a spreadsheet would run as a formula is prefixed with '. */
export function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = typeof v === 'string' ? v : String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

// ---- handler ----------------------------------------------------------------------------------------

export function historyHandler(o: HistoryApiOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const q = o.queries;
  const now = o.now ?? Date.now;
  const shifts = o.shifts ?? [6, 14, 22];
  const imageUrl = (id: string, kind: string) => `${HISTORY_ROOT}/inspections/${encodeURIComponent(id)}/images/${encodeURIComponent(kind)}`;
  const send = (res: ServerResponse, status: number, body: unknown) => {
    const data = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(data), 'cache-control': 'no-store' });
    res.end(data);
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (o.corsOrigin) {
      res.setHeader('access-control-allow-origin', o.corsOrigin);
      res.setHeader('access-control-allow-headers', 'authorization');
      res.setHeader('vary', 'origin');
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { allow: 'GET, HEAD, OPTIONS' }).end();
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://history');
    } catch {
      throw new HttpError(400, 'the request URL is not valid');
    }
    if (!url.pathname.startsWith(HISTORY_ROOT + '/') && url.pathname !== HISTORY_ROOT) throw new HttpError(404, `not found: everything here is under ${HISTORY_ROOT}/`);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD, OPTIONS');
      throw new HttpError(405, `the history API is read-only: ${req.method} is not allowed`);
    }
    let segs: string[];
    try {
      segs = url.pathname.slice(HISTORY_ROOT.length).split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      throw new HttpError(400, 'the path is not valid percent-encoding');
    }
    segs.forEach((s, i) => text(`path[${i}]`, s, 200));
    if (segs[0] === 'openapi.json' && segs.length === 1) return send(res, 200, historyOpenApi());
    if (o.token && req.headers.authorization !== `Bearer ${o.token}`) throw new HttpError(401, 'a bearer token is required (Authorization: Bearer <token>)');
    const p = new Params(url.searchParams);

    if (segs[0] === 'search' && segs.length === 1) {
      const term = p.str('q', { required: true, max: 200 })!;
      const limit = p.int('limit', 20, 1, 200);
      p.done();
      return send(res, 200, { q: term, hits: await q.search(term, limit) });
    }
    if (segs[0] === 'inspections' && segs.length === 2) {
      const windowSeconds = p.int('window', 5, 0, 300);
      p.done();
      const d = await q.inspection(segs[1], windowSeconds, imageUrl);
      if (!d) throw new HttpError(404, `no inspection ${segs[1]}`, 'inspectionId');
      return send(res, 200, d);
    }
    if (segs[0] === 'inspections' && segs[2] === 'images' && segs.length === 4) {
      p.done();
      const img = await q.image(segs[1], segs[3]);
      if (!img) throw new HttpError(404, `no ${segs[3]} image for inspection ${segs[1]}`, 'kind');
      let data = img.data;
      if (!data && img.path) {
        if (!o.imageDir) throw new HttpError(404, `the ${segs[3]} image is in an external image store and this server was started without --image-dir`, 'kind');
        const root = path.resolve(o.imageDir);
        const file = path.resolve(root, img.path);
        if (!file.startsWith(root + path.sep)) throw new HttpError(404, 'the stored image path leaves the image store', 'kind');
        data = await fs.readFile(file).catch(() => undefined);
        if (!data) throw new HttpError(404, `the ${segs[3]} image file is gone (retention, or moved)`, 'kind');
      }
      if (!data) throw new HttpError(404, `no image data stored for ${segs[3]}`, 'kind');
      res.writeHead(200, { 'content-type': CONTENT_TYPE[img.format] ?? 'application/octet-stream', 'content-length': data.length, 'cache-control': 'private, max-age=3600' });
      res.end(req.method === 'HEAD' ? undefined : data);
      return;
    }
    if (segs[0] === 'products' && segs.length === 2) {
      const windowSeconds = p.int('window', 5, 0, 300);
      const limit = p.int('limit', 20, 1, 100);
      p.done();
      const list = await q.product(segs[1], windowSeconds, limit, imageUrl);
      if (!list.length) throw new HttpError(404, `no inspections of product ${segs[1]}`, 'serial');
      return send(res, 200, { serial: segs[1], inspections: list });
    }
    if (segs[0] === 'defect-rate' && segs.length === 1) {
      const bucket = p.oneOf<Bucket>('bucket', ['minute', 'hour', 'day'], 'hour');
      const by = p.oneOf<SeriesBy>('by', ['line', 'camera', 'model_version', 'class', 'none'], 'line');
      const { from, to } = range(p, now(), 24, 400);
      const filters = p.filters();
      const defectClass = p.str('defectClass');
      const maxPoints = p.int('maxPoints', DEFAULT_MAX_POINTS, 1, MAX_POINTS);
      p.done();
      if (defectClass !== undefined && by !== 'class') throw bad('defectClass', 'only with by=class');
      checkBuckets(from, to, bucket);
      const points = await q.defectRate({ from, to, bucket, by, filters, defectClass, limit: maxPoints + 1 });
      if (points.length > maxPoints) throw tooManyPoints(maxPoints, bucket, by);
      return send(res, 200, { from: from.toISOString(), to: to.toISOString(), bucket, by, points });
    }
    if (segs[0] === 'model-comparison' && segs.length === 1) {
      const { from, to } = range(p, now(), 24, 400);
      // Per line and model version: the confidence rollup has no camera, so `camera` is no filter here.
      const filters: Filters = { site: p.str('site'), line: p.str('line'), modelVersion: p.str('modelVersion') };
      p.done();
      return send(res, 200, { from: from.toISOString(), to: to.toISOString(), rows: await q.modelComparison({ from, to, filters }) });
    }
    if (segs[0] === 'worst-lines' && segs.length === 1) {
      const shift = currentShift(now(), shifts);
      const explicit = url.searchParams.has('from') || url.searchParams.has('to');
      const { from, to } = explicit ? range(p, now(), 8, 31) : shift;
      const limit = p.int('limit', 10, 1, 1000);
      const minInspections = p.int('minInspections', 1, 0, 1e9);
      const filters = p.filters();
      p.done();
      return send(res, 200, { from: from.toISOString(), to: to.toISOString(), lines: await q.worstLines({ from, to, limit, minInspections, filters }) });
    }
    if (segs[0] === 'export.csv' && segs.length === 1) {
      const { from, to } = range(p, now(), 24, 400);
      const limit = p.int('limit', 100_000, 1, 1_000_000);
      const filters = p.filters();
      p.done();
      const cols = ['time', 'inspection_id', 'product_serial', 'site', 'line', 'camera_id', 'model_version', 'defect_count', 'defect_classes'];
      let started = false;
      const start = () => {
        if (started) return;
        started = true;
        res.writeHead(200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="inspections-${from.toISOString().slice(0, 10)}.csv"`, 'cache-control': 'no-store' });
        res.write(cols.join(',') + '\r\n');
      };
      await q.exportInspections({ from, to, filters, limit }, async (rows) => {
        start();
        let chunk = '';
        for (const r of rows) chunk += [r.time, r.inspectionId, r.productSerial, r.site, r.line, r.cameraId, r.modelVersion, r.defectCount, r.defectClasses].map(csvField).join(',') + '\r\n';
        if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
      });
      start();
      res.end();
      return;
    }
    throw new HttpError(404, `no such resource: ${url.pathname} (see ${HISTORY_ROOT}/openapi.json)`);
  };

  return (req, res) => {
    route(req, res).catch((err: unknown) => {
      const { status, body } = errorResponse(err);
      if (res.headersSent) {
        res.destroy(err as Error);
        return;
      }
      send(res, status, body);
    });
  };
}

/** Maps an error to a status: input problems 400 with the field, missing things 404, the database away 503. */
export function errorResponse(err: unknown): { status: number; body: { error: string; field?: string } } {
  if (err instanceof HttpError) return { status: err.status, body: { error: err.message, ...(err.field ? { field: err.field } : {}) } };
  if (err instanceof LinesightError && err.field) return { status: 400, body: { error: err.message, field: err.field } };
  const e = err as { code?: string; message?: string };
  const code = typeof e?.code === 'string' ? e.code : '';
  if (code.startsWith('22')) return { status: 400, body: { error: `the database refused a value: ${e.message}` } };
  if (code === '42P01') return { status: 503, body: { error: 'the history tables are missing: run linesight db migrate (or start a timescale-sink) first' } };
  if (code === '42501') return { status: 503, body: { error: `the history role may not read this: ${e.message}` } };
  if (/^(08|53|57)/.test(code) || /ECONNREFUSED|ECONNRESET|timeout|terminat/i.test(e?.message ?? '')) return { status: 503, body: { error: `the history database is not reachable: ${e.message}` } };
  return { status: 500, body: { error: `internal error: ${e?.message ?? String(err)}` } };
}

export interface HistoryServer {
  url: string;
  port: number;
  queries: HistoryQueries;
  pool: Pool;
  close(): Promise<void>;
}

export interface ServeOptions {
  /** postgres:// URL of the history database, ideally as the read-only role. */
  db: string;
  schema?: string;
  /** SET LOCAL ROLE for every query (when the URL's user is not the read-only role itself). */
  role?: string;
  port?: number;
  host?: string;
  imageDir?: string;
  shifts?: number[];
  token?: string;
  corsOrigin?: string;
  /** Start even when the role could write (e.g. the embedded demo's only user). */
  allowWritableRole?: boolean;
  now?: () => number;
}

/** The history database as the API reads it: a pool and the queries over it. */
export interface HistoryConnection {
  queries: HistoryQueries;
  pool: Pool;
}

/**
 * Connects to the history database and refuses (WRITABLE_ROLE, field `db`) when the role could write,
 * unless allowed. `flags` are the options the refusal names.
 */
export async function openHistory(o: Pick<ServeOptions, 'db' | 'schema' | 'role' | 'allowWritableRole'>, flags = { allow: '--allow-writable-role', role: '--role' }): Promise<HistoryConnection> {
  const pool = new Pool({ connectionString: o.db, max: 5, application_name: 'linesight history', query_timeout: 30_000 });
  pool.on('error', () => undefined); // idle connections lost with a restarting server are replaced
  const queries = new HistoryQueries(pool, { schema: o.schema, role: o.role });
  try {
    const writes = await queries.writePrivileges();
    if (writes.length && !o.allowWritableRole) {
      throw new LinesightError(
        `the history API's database role can write (${writes.slice(0, 4).join(', ')}${writes.length > 4 ? ', ...' : ''}): connect as a read-only role (linesight db migrate --readonly-role NAME) or pass ${flags.role} NAME; ${flags.allow} overrides`,
        { field: 'db', code: 'WRITABLE_ROLE' },
      );
    }
  } catch (err) {
    await pool.end();
    throw err;
  }
  return { queries, pool };
}

/** Starts the history API; refuses when the database role could write (unless allowed). */
export async function startHistoryServer(o: ServeOptions): Promise<HistoryServer> {
  const { queries, pool } = await openHistory(o);
  const server = http.createServer(historyHandler({ queries, imageDir: o.imageDir, shifts: o.shifts, token: o.token, corsOrigin: o.corsOrigin, now: o.now }));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${o.host ?? '127.0.0.1'}:${port}${HISTORY_ROOT}`,
    port,
    queries,
    pool,
    async close() {
      server.closeAllConnections?.();
      await new Promise<void>((r) => server.close(() => r()));
      await pool.end();
    },
  };
}
