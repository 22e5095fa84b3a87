// Shared by the history tests: a sink pipeline without Node-RED, a deterministic mix of inspections, tag
// samples and actions across lines, cameras, model versions and days, and the check that every rollup
// equals the same aggregate computed directly over the raw rows.
import assert from 'node:assert/strict';
import type { Inspection, LineAction, TagSample } from '../../../contracts/messages';
import { Database } from '../../../nodes/timescale-db/connection';
import { WritePipeline } from '../../../nodes/timescale-sink/write-pipeline';
import { ROLLUPS, bucketSQL } from '../../../nodes/timescale-sink/rollups';
import type { TimescaleSinkConfig } from '../../../nodes/timescale-sink/timescale-sink.schema';
import { query } from '../timescale-sink/harness';

export const BASE = Date.UTC(2026, 2, 2, 6, 0, 0);
const CLASSES = ['hole', 'scratch', 'dent'];

export function sinkConfig(over: Partial<TimescaleSinkConfig> = {}): TimescaleSinkConfig {
  return {
    db: 'db',
    target: 'contracts',
    timeColumn: 'time',
    createTables: true,
    timescale: 'auto',
    partitionDaysAhead: 2,
    compressAfterDays: 0,
    retainDays: 0,
    images: 'database',
    batchSize: 500,
    batchAgeMs: 20,
    maxInFlight: 2,
    maxMemoryRows: 1_000_000,
    method: 'auto',
    spool: false,
    spoolMaxMB: 16,
    closeGraceMs: 5000,
    ...over,
  };
}

export interface Sink {
  db: Database;
  pipeline: WritePipeline;
  send(payloads: unknown[], imageKind?: string): Promise<Error[]>;
  close(): Promise<void>;
  logs: string[];
}

export async function openSink(url: string, schema: string, over: Partial<TimescaleSinkConfig> = {}): Promise<Sink> {
  const db = new Database({ url, schema, tls: 'disable', poolSize: 4, connectTimeoutMs: 5000 });
  const logs: string[] = [];
  const pipeline = new WritePipeline(db, sinkConfig(over), { log: (t) => logs.push(t) });
  await pipeline.ready();
  return {
    db,
    pipeline,
    logs,
    async send(payloads, imageKind) {
      const errors: Error[] = [];
      await Promise.all(
        payloads.map(
          (p) =>
            new Promise<void>((resolve) => {
              void pipeline.accept({ payload: p, ...(imageKind ? { imageKind } : {}) }, (err) => {
                if (err) errors.push(err);
                resolve();
              });
            }),
        ),
      );
      return errors;
    },
    async close() {
      await pipeline.close(5000);
      await db.close(100);
    },
  };
}

/** Inspection i: one of 3 lines, 2 cameras, 2 model versions, 0..3 detections of 3 classes, spread over 3 days. */
export function inspection(i: number, at = BASE + (i % 3) * 86_400_000 + i * 7_919): Inspection {
  const n = i % 4;
  return {
    inspectionId: `insp-${i}`,
    site: 'plant1',
    line: `line${i % 3}`,
    cameraId: `cam${i % 2}`,
    productSerial: `SN-${100000 + i}`,
    capturedAt: at,
    ...(i % 5 === 0 ? {} : { modelVersion: i % 2 ? 'v2' : 'v1' }),
    detections: Array.from({ length: n }, (_, k) => ({ defectClass: CLASSES[(i + k) % 3], confidence: 0.5 + k / 10, box: { x: k, y: 2, width: 3, height: 4 } })),
  };
}

export function tagBatch(i: number, at = BASE + (i % 3) * 86_400_000 + i * 1_000): TagSample[] {
  return [
    { device: `plc${i % 3}`, tag: 'speed', value: 1 + (i % 7) / 2, quality: 'good', ts: at, unit: 'm/s' },
    { device: `plc${i % 3}`, tag: 'running', value: i % 2 === 0, quality: 'good', ts: at },
    { device: `plc${i % 3}`, tag: 'count', value: i, quality: i % 9 === 0 ? 'bad' : 'good', ts: at },
  ];
}

export function action(i: number, insp: Inspection): LineAction {
  return { actionId: `act-${i}`, ruleId: 'hole-stop', kind: 'stop', severity: 'critical', inspectionId: insp.inspectionId, site: insp.site, line: insp.line, ts: insp.capturedAt + 150, writes: [{ tag: 'stop', value: true }], reason: 'hole' };
}

const norm = (rows: Array<Record<string, unknown>>) => rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : typeof v === 'number' ? Math.round(v * 1e9) / 1e9 : v])));

/**
 * Every rollup of the schema equals the aggregate computed directly from the raw rows (and is not empty).
 * Continuous aggregates are refreshed first: real-time aggregation covers only data newer than what is
 * materialised, so late rows into a materialised range appear at the next refresh (the policy's schedule).
 */
export async function assertRollupsMatch(url: string, schema: string): Promise<void> {
  for (const def of ROLLUPS) {
    const kind = await query(url, `select c.relkind::text k from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = $2`, [schema, def.name]);
    if (kind[0]?.k === 'v') await refreshCagg(url, schema, def.name);
    const keys = ['bucket', ...def.groupBy].map((k) => `"${k}"`).join(', ');
    const measures = [...def.measures.map((m) => `"${m.name}"`), ...(def.derived ?? []).map((d) => `"${d.name}"`)];
    const stored = await query(url, `select ${keys}, ${measures.join(', ')} from "${schema}"."${def.name}" order by ${keys}`);
    const direct = await query(
      url,
      `select ${bucketSQL(def)} as bucket, ${def.groupBy.map((g) => `"${g}"`).join(', ')}, ${[...def.measures.map((m) => `${m.agg} as "${m.name}"`), ...(def.derived ?? []).map((d) => `${d.agg} as "${d.name}"`)].join(', ')}
         from "${schema}"."${def.source}" group by ${def.groupBy.map((_, i) => i + 2).concat(1).join(', ')} order by ${keys}`,
    );
    assert.ok(direct.length > 0, `${def.name}: the raw table has rows`);
    assert.deepEqual(norm(stored), norm(direct), `${def.name} equals the direct aggregate over ${def.source}`);
  }
}

/** refresh_continuous_aggregate over everything, retried while the policy's own refresh job holds it. */
export async function refreshCagg(url: string, schema: string, name: string): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      await query(url, `call refresh_continuous_aggregate('"${schema}"."${name}"', null, null)`);
      return;
    } catch (err) {
      if (i >= 20 || !/concurrent refresh/.test((err as Error).message)) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
