// Remote logs and health samples: what each device's agent posts, kept in a bounded window per device
// (the newest N lines, the samples of the last 24 h) and pruned on insert by primary-key range, so no
// request ever scans the whole table. A per-device summary row (last sample, sequence numbers, a CPU/RSS
// sparkline by minute) answers the fleet view and the device list without reading the samples.
import { EventEmitter } from 'node:events';
import type { HealthSample as RepoHealthSample, LogLevel as RepoLogLevel, NodeHealth as RepoHealthNode } from '../../../contracts/fleet/protocol';
import type { RepoHealthBatch, RepoLogBatch } from '../api.schema';
import { ApiError, type Row, type StoreContext } from './context';

/** Node-RED's numeric levels: a smaller number is more severe. */
export const LOG_LEVELS: Record<RepoLogLevel, number> = { fatal: 10, error: 20, warn: 30, info: 40, debug: 50, trace: 60 };
const LEVEL_NAMES = Object.fromEntries(Object.entries(LOG_LEVELS).map(([name, n]) => [n, name])) as Record<number, RepoLogLevel>;

export interface TelemetryOptions {
  /** Log lines kept per device (default 10,000); older ones are pruned as new ones arrive. */
  maxLogLines?: number;
  /** How long health samples are kept, by their own time (default 24 h). */
  sampleRetentionMs?: number;
  /** Samples kept per device whatever their time (default 20,000: 24 h at one per 5 s). */
  maxSamples?: number;
}

export interface StoredLogLine {
  seq: number;
  ts: number;
  level: RepoLogLevel;
  msg: string;
  nodeId?: string;
  nodeType?: string;
  nodeName?: string;
}

export interface LogQuery {
  /** Lines after this seq (oldest first from there). */
  since?: number;
  /** Lines before this seq (the newest of them). */
  before?: number;
  /** The least severe level wanted (`warn`: fatal, error and warn). */
  level?: RepoLogLevel;
  /** A node id or name. */
  node?: string;
  /** Text the message contains (case-insensitive). */
  q?: string;
  limit?: number;
}

export type StoredSample = RepoHealthSample & { seq: number };

export interface RedNode {
  id: string;
  type: string;
  name?: string;
  text: string;
}

/** The last sample of a device, as the fleet view and the device list read it. */
export interface HealthSummary {
  ts: number;
  cpuPercent: number;
  rssBytes: number;
  eventLoopP99Ms: number;
  restarts: number;
  redNodes: RedNode[];
  errorsPerMin: number;
}

/** What the summary row holds beyond the public summary. */
interface SummaryState extends HealthSummary {
  /** Repository time the newest sample arrived (liveness is judged on the repository's clock). */
  receivedAt: number;
  /** Time between the last two samples (ms). */
  intervalMs: number;
  /** Samples in a row that reported node errors. */
  errorStreak: number;
  /** Errors of the last sample by node, the worst first (names what climbs). */
  erring: { id: string; type: string; name?: string; errors: number }[];
  /** Per-minute averages of the last hour: [minute (ms/60000), cpu %, rss bytes, samples]. */
  spark: [number, number, number, number][];
}

export type DeviceHealth = 'ok' | 'degraded' | 'unknown';

/** Samples in a row with node errors before a device counts as degraded ("errors climb"). */
export const ERROR_SAMPLES_DEGRADED = 2;
/** Most points a health query answers; longer ranges are averaged into steps. */
export const MAX_HEALTH_POINTS = 2000;
const DEFAULT_INTERVAL_MS = 10_000;
const HOUR = 3_600_000;

const nodeWho = (n: { id: string; type: string; name?: string }) => `${n.type || 'node'}${n.name ? ` "${n.name}"` : ''} (${n.id})`;

/**
 * A device's health from its latest sample and its agent's own report: degraded when the agent says so,
 * a node is red, or nodes logged errors in ERROR_SAMPLES_DEGRADED samples in a row; unknown when offline
 * or no sample arrived within three sample intervals (at least a minute).
 */
export function deviceHealth(summary: SummaryState | null | undefined, agent: { offline: boolean; degraded: boolean }, now: number): { health: DeviceHealth; healthReasons: string[] } {
  if (agent.offline) return { health: 'unknown', healthReasons: ['offline: no check-in for several poll intervals'] };
  const reasons: string[] = [];
  if (agent.degraded) reasons.push('the agent reports nodes with problems (see reasons)');
  const fresh = summary && now - summary.receivedAt <= Math.max(60_000, 3 * summary.intervalMs);
  if (fresh) {
    for (const n of summary.redNodes.slice(0, 10)) reasons.push(`${nodeWho(n)} is red${n.text ? `: ${n.text}` : ''}`);
    if (summary.redNodes.length > 10) reasons.push(`and ${summary.redNodes.length - 10} more red nodes`);
    if (summary.errorStreak >= ERROR_SAMPLES_DEGRADED) {
      const worst = summary.erring.slice(0, 3).map((n) => `${nodeWho(n)} ${n.errors}`);
      reasons.push(`errors climb: ${Math.round(summary.errorsPerMin * 10) / 10} errors/min for ${summary.errorStreak} samples in a row${worst.length ? ` (${worst.join(', ')})` : ''}`);
    }
  }
  if (reasons.length) return { health: 'degraded', healthReasons: reasons };
  if (!summary) return { health: 'unknown', healthReasons: ['no health sample received yet'] };
  if (!fresh) return { health: 'unknown', healthReasons: [`no health sample for ${Math.round((now - summary.receivedAt) / 1000)} s`] };
  return { health: 'ok', healthReasons: [] };
}

/** The public part of a summary row. */
export function publicSummary(s: SummaryState): HealthSummary {
  return { ts: s.ts, cpuPercent: s.cpuPercent, rssBytes: s.rssBytes, eventLoopP99Ms: s.eventLoopP99Ms, restarts: s.restarts, redNodes: s.redNodes, errorsPerMin: s.errorsPerMin };
}

/** Folds one sample (newer than the summary) into it. */
export function foldSample(prev: SummaryState | null, sample: RepoHealthSample, receivedAt: number): SummaryState {
  const errors = sample.nodes.reduce((sum, n) => sum + n.errors, 0);
  const gap = prev ? sample.ts - prev.ts : 0;
  const intervalMs = gap > 0 && gap <= 10 * 60_000 ? gap : (prev?.intervalMs ?? DEFAULT_INTERVAL_MS);
  const minute = Math.floor(sample.ts / 60_000);
  const spark = (prev?.spark ?? []).filter(([m]) => m > minute - 60).map((b) => [...b] as [number, number, number, number]);
  const last = spark.at(-1);
  if (last && last[0] === minute) {
    last[1] = (last[1] * last[3] + sample.cpuPercent) / (last[3] + 1);
    last[2] = (last[2] * last[3] + sample.rssBytes) / (last[3] + 1);
    last[3] += 1;
  } else if (!last || last[0] < minute) {
    spark.push([minute, sample.cpuPercent, sample.rssBytes, 1]);
  }
  return {
    ts: sample.ts,
    cpuPercent: sample.cpuPercent,
    rssBytes: sample.rssBytes,
    eventLoopP99Ms: sample.eventLoopP99Ms,
    restarts: sample.restarts,
    redNodes: sample.nodes.filter((n) => n.status?.fill === 'red').map((n) => ({ id: n.id, type: n.type, ...(n.name ? { name: n.name } : {}), text: n.status?.text ?? '' })),
    errorsPerMin: (errors * 60_000) / intervalMs,
    receivedAt,
    intervalMs,
    errorStreak: errors > 0 ? (prev?.errorStreak ?? 0) + 1 : 0,
    erring: sample.nodes
      .filter((n) => n.errors > 0)
      .sort((a, b) => b.errors - a.errors)
      .slice(0, 5)
      .map((n) => ({ id: n.id, type: n.type, ...(n.name ? { name: n.name } : {}), errors: n.errors })),
    spark,
  };
}

/** Averages samples into buckets of `stepMs`: CPU averaged, memory and event-loop delay at their worst, node counts summed. */
export function downsample(samples: StoredSample[], stepMs: number): StoredSample[] {
  const out: StoredSample[] = [];
  let bucket: StoredSample[] = [];
  const flush = () => {
    if (!bucket.length) return;
    const lastOne = bucket.at(-1)!;
    const nodes = new Map<string, RepoHealthNode>();
    for (const s of bucket) {
      for (const n of s.nodes) {
        const had = nodes.get(n.id);
        nodes.set(n.id, had ? { ...n, in: had.in + n.in, out: had.out + n.out, errors: had.errors + n.errors } : { ...n });
      }
    }
    const max = (pick: (s: StoredSample) => number) => Math.max(...bucket.map(pick));
    out.push({
      ...lastOne,
      cpuPercent: bucket.reduce((sum, s) => sum + s.cpuPercent, 0) / bucket.length,
      rssBytes: max((s) => s.rssBytes),
      heapUsedBytes: max((s) => s.heapUsedBytes),
      heapTotalBytes: max((s) => s.heapTotalBytes),
      eventLoopP99Ms: max((s) => s.eventLoopP99Ms),
      nodes: [...nodes.values()],
    });
    bucket = [];
  };
  let current: number | undefined;
  for (const s of samples) {
    const b = Math.floor(s.ts / stepMs);
    if (b !== current) flush();
    current = b;
    bucket.push(s);
  }
  flush();
  return out;
}

/** Events: 'lines' (deviceId) after new lines of that device committed. */
export class TelemetryStore extends EventEmitter {
  private readonly maxLogLines: number;
  private readonly sampleRetentionMs: number;
  private readonly maxSamples: number;

  constructor(private readonly ctx: StoreContext, options: TelemetryOptions = {}) {
    super();
    this.setMaxListeners(0);
    this.maxLogLines = options.maxLogLines ?? 10_000;
    this.sampleRetentionMs = options.sampleRetentionMs ?? 24 * HOUR;
    this.maxSamples = options.maxSamples ?? 20_000;
  }

  private get s(): string {
    return this.ctx.s;
  }

  /** Stores a batch of lines under the next sequence numbers of the device and prunes beyond the window. */
  async appendLogs(deviceId: string, batch: RepoLogBatch): Promise<{ firstSeq: number; lastSeq: number }> {
    const n = batch.lines.length;
    const lines = batch.lines;
    // One statement, one round trip: the upsert takes the next seqs and locks the device's summary row
    // until the statement commits, so batches of one device get increasing seqs and become visible in
    // that order; the prune sees the statement's snapshot, so it removes only lines older than the batch.
    const r = await this.ctx.db.query(
      `with counter as (
         insert into ${this.s}.device_telemetry as t (device_id, log_seq, logs_dropped) values ($1, $2, $3)
         on conflict (device_id) do update set log_seq = t.log_seq + excluded.log_seq, logs_dropped = t.logs_dropped + excluded.logs_dropped, updated_at = now()
         returning log_seq
       ), stored as (
         insert into ${this.s}.device_log_lines (device_id, seq, ts, level, msg, node_id, node_type, node_name)
         select $1, (select log_seq from counter) - $2 + u.ord, u.ts, u.level, u.msg, u.node_id, u.node_type, u.node_name
           from unnest($4::bigint[], $5::smallint[], $6::text[], $7::text[], $8::text[], $9::text[]) with ordinality as u(ts, level, msg, node_id, node_type, node_name, ord)
       ), pruned as (
         delete from ${this.s}.device_log_lines where device_id = $1 and seq <= (select log_seq from counter) - $10
       )
       select log_seq from counter`,
      [deviceId, n, batch.dropped ?? 0, lines.map((l) => l.ts), lines.map((l) => LOG_LEVELS[l.level]), lines.map((l) => l.msg), lines.map((l) => l.nodeId ?? null), lines.map((l) => l.nodeType ?? null), lines.map((l) => l.nodeName ?? null), this.maxLogLines],
    );
    const lastSeq = Number(r.rows[0].log_seq);
    this.emit('lines', deviceId);
    return { firstSeq: lastSeq - n + 1, lastSeq };
  }

  /** Lines of a device, newest last, with the total of lines its agent reported dropping. */
  async readLogs(deviceId: string, query: LogQuery): Promise<{ lines: StoredLogLine[]; dropped: number }> {
    const where = ['device_id = $1'];
    const params: unknown[] = [deviceId];
    const add = (sql: string, v: unknown) => {
      params.push(v);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (query.since !== undefined) add('seq > ?', query.since);
    if (query.before !== undefined) add('seq < ?', query.before);
    if (query.level) add('level <= ?', LOG_LEVELS[query.level]);
    if (query.node) add('? in (node_id, node_name)', query.node);
    if (query.q) add(`msg ilike ? escape '\\'`, `%${query.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    const limit = Math.min(1000, Math.max(1, query.limit ?? 200));
    // After `since`: the oldest first (following a tail); otherwise the newest `limit` lines.
    const forward = query.since !== undefined && query.before === undefined;
    const [rows, total] = await Promise.all([
      this.ctx.db.query(`select seq, ts, level, msg, node_id, node_type, node_name from ${this.s}.device_log_lines where ${where.join(' and ')} order by seq ${forward ? 'asc' : 'desc'} limit ${limit}`, params),
      this.ctx.db.query(`select logs_dropped from ${this.s}.device_telemetry where device_id = $1`, [deviceId]),
    ]);
    const lines = rows.rows.map(lineView);
    if (!forward) lines.reverse();
    return { lines, dropped: Number(total.rows[0]?.logs_dropped ?? 0) };
  }

  /** Stores samples (any order; seq follows the order given) and folds the newer ones into the summary. */
  async appendSamples(deviceId: string, batch: RepoHealthBatch): Promise<void> {
    const receivedAt = this.ctx.now();
    await this.ctx.db.tx(async (q) => {
      const n = batch.samples.length;
      await q(`insert into ${this.s}.device_telemetry (device_id) values ($1) on conflict (device_id) do nothing`, [deviceId]);
      const r = await q(`update ${this.s}.device_telemetry set health_seq = health_seq + $2, updated_at = now() where device_id = $1 returning health_seq, summary`, [deviceId, n]);
      const lastSeq = Number(r.rows[0].health_seq);
      let summary = (r.rows[0].summary ?? null) as SummaryState | null;
      await q(
        `insert into ${this.s}.device_health_samples (device_id, seq, ts, cpu_percent, rss_bytes, sample)
         select $1, $2::bigint + x.ord, (x.e->>'ts')::bigint, (x.e->>'cpuPercent')::float8, round((x.e->>'rssBytes')::float8)::bigint, x.e
           from jsonb_array_elements($3::jsonb) with ordinality as x(e, ord)`,
        [deviceId, lastSeq - n, JSON.stringify(batch.samples)],
      );
      const newest = Math.max(...batch.samples.map((x) => x.ts));
      await q(`delete from ${this.s}.device_health_samples where device_id = $1 and (ts < $2 or seq <= $3)`, [deviceId, newest - this.sampleRetentionMs, lastSeq - this.maxSamples]);
      const newer = batch.samples.filter((x) => !summary || x.ts > summary.ts).sort((a, b) => a.ts - b.ts);
      if (!newer.length) return;
      for (const sample of newer) summary = foldSample(summary, sample, receivedAt);
      await q(`update ${this.s}.device_telemetry set summary = $2 where device_id = $1`, [deviceId, JSON.stringify(summary)]);
    });
  }

  /** Samples between `since` and `until` (ms), at most MAX_HEALTH_POINTS: averaged into `stepSeconds` steps when asked or needed. */
  async readSamples(deviceId: string, range: { since?: number; until?: number; stepSeconds?: number }): Promise<StoredSample[]> {
    const r = await this.ctx.db.query(
      `select seq, sample from ${this.s}.device_health_samples where device_id = $1 and ts >= $2 and ts <= $3 order by ts, seq`,
      [deviceId, range.since ?? 0, range.until ?? Number.MAX_SAFE_INTEGER],
    );
    const samples: StoredSample[] = r.rows.map((x) => ({ ...(x.sample as RepoHealthSample), seq: Number(x.seq) }));
    let stepMs = (range.stepSeconds ?? 0) * 1000;
    if (samples.length > MAX_HEALTH_POINTS) {
      const span = samples.at(-1)!.ts - samples[0]!.ts + 1;
      stepMs = Math.max(stepMs, Math.ceil(span / MAX_HEALTH_POINTS / 1000) * 1000);
    }
    return stepMs > 0 ? downsample(samples, stepMs) : samples;
  }

  /** The summary rows of every device that sent telemetry. */
  async summaries(): Promise<Map<string, SummaryState>> {
    const r = await this.ctx.db.query(`select device_id, summary from ${this.s}.device_telemetry where summary is not null`);
    return new Map(r.rows.map((x) => [x.device_id as string, x.summary as SummaryState]));
  }

  /** The fleet view: each device's last sample and a CPU/RSS sparkline of the last hour (per minute). */
  async fleetHealth(deviceIds: string[]): Promise<Record<string, { last: HealthSummary | null; spark: { cpu: number[]; rss: number[] } }>> {
    const all = await this.summaries();
    const since = Math.floor((this.ctx.now() - HOUR) / 60_000);
    const out: Record<string, { last: HealthSummary | null; spark: { cpu: number[]; rss: number[] } }> = {};
    for (const id of deviceIds) {
      const s = all.get(id);
      const spark = (s?.spark ?? []).filter(([m]) => m > since);
      out[id] = { last: s ? publicSummary(s) : null, spark: { cpu: spark.map((b) => round(b[1], 2)), rss: spark.map((b) => Math.round(b[2])) } };
    }
    return out;
  }

  /** 404 unless the device is registered. */
  async requireDevice(deviceId: string): Promise<void> {
    const r = await this.ctx.db.query(`select 1 from ${this.s}.devices where id = $1`, [deviceId]);
    if (!r.rowCount) throw new ApiError(404, `no device ${deviceId}`);
  }
}

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

function lineView(r: Row): StoredLogLine {
  return {
    seq: Number(r.seq),
    ts: Number(r.ts),
    level: LEVEL_NAMES[r.level as number] ?? 'info',
    msg: r.msg,
    ...(r.node_id ? { nodeId: r.node_id } : {}),
    ...(r.node_type ? { nodeType: r.node_type } : {}),
    ...(r.node_name ? { nodeName: r.node_name } : {}),
  };
}

export type { SummaryState };
