// Retention: how long rows and images are kept, applied by one job (at migration, and hourly by every
// sink). Rows: retention policies with the Timescale licence, the sink's own drop_chunks with the Apache
// licence, dropped daily partitions on plain PostgreSQL. Images are most of the bytes and have their own
// periods: full frames can go sooner than the thumbnail and annotated variants, so the images table
// loses rows by kind (and their files in an external image store) and its chunks only after the longest.
import fs from 'node:fs/promises';
import path from 'node:path';
import { qualified } from '../timescale-db';
import { systemClock, type Clock } from '../../lib/clock';
import type { PartitionKeeper, Queryable, TableKind } from './db-schema';

export interface RetentionOptions {
  /** Drop rows older than this many days (0 = keep forever). */
  retainDays?: number;
  /** Full-frame images: keep this many days (default: retainDays; 0 = forever). */
  imageRetainDays?: number;
  /** Thumbnail, annotated and other image variants: keep this many days (default: imageRetainDays; 0 = forever). */
  imageVariantRetainDays?: number;
  /** External image store (images: path): files of deleted image rows are removed from here. */
  imageDir?: string;
}

const DAY_MS = 86_400_000;

export function fullFrameDays(o: RetentionOptions): number {
  return o.imageRetainDays ?? o.retainDays ?? 0;
}

export function variantDays(o: RetentionOptions): number {
  return o.imageVariantRetainDays ?? fullFrameDays(o);
}

/** Whole chunks/partitions of the images table may go only after the longest image period. */
export function imageTableDays(o: RetentionOptions): number {
  const a = fullFrameDays(o);
  const b = variantDays(o);
  return a === 0 || b === 0 ? 0 : Math.max(a, b);
}

/**
 * Drops what is past its period and returns what it did, one note per action. `kinds` are the tables and
 * how they are stored; `fullLicence` means retention policies do the rows (TimescaleDB does them itself).
 */
export async function applyRetention(
  q: Queryable,
  schema: string,
  kinds: Map<string, TableKind>,
  fullLicence: boolean,
  o: RetentionOptions,
  clock: Pick<Clock, 'now'> = systemClock,
  keeper?: PartitionKeeper,
): Promise<string[]> {
  const notes: string[] = [];
  const now = clock.now();
  for (const [table, kind] of kinds) {
    const days = table === 'images' ? imageTableDays(o) : (o.retainDays ?? 0);
    if (!days) continue;
    if (kind === 'partitioned' && keeper) {
      for (const p of await keeper.dropOlderThan(table, days)) notes.push(`dropped partition ${p}`);
    } else if (kind === 'hypertable' && !fullLicence) {
      const r = await q.query(`select count(*)::int as n from drop_chunks($1::regclass, older_than => $2::timestamptz)`, [qualified(schema, table), new Date(now - days * DAY_MS).toISOString()]);
      const n = Number(r.rows[0]?.n ?? 0);
      if (n) notes.push(`${table}: dropped ${n} chunks older than ${days} days`);
    }
  }
  if (kinds.has('images')) {
    const img = qualified(schema, 'images');
    for (const [label, days, where] of [
      ['full frames', fullFrameDays(o), `kind = 'full'`],
      ['image variants', variantDays(o), `kind <> 'full'`],
    ] as const) {
      if (!days) continue;
      const r = await q.query(`delete from ${img} where ${where} and "time" < $1::timestamptz returning path`, [new Date(now - days * DAY_MS).toISOString()]);
      if (!r.rows.length) continue;
      notes.push(`images: deleted ${r.rows.length} ${label} older than ${days} days`);
      if (o.imageDir) {
        const root = path.resolve(o.imageDir);
        for (const row of r.rows) {
          if (typeof row.path !== 'string' || !row.path) continue;
          const file = path.resolve(root, row.path);
          // Paths come from the table: only files inside the image store are ever removed.
          if (!file.startsWith(root + path.sep)) continue;
          await fs.rm(file, { force: true });
        }
      }
    }
  }
  return notes;
}
