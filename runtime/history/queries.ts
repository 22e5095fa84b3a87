// The questions the console's Quality section asks of the history, as SQL over the sink's tables and
// rollups (the same names on plain PostgreSQL, embedded PGlite and TimescaleDB). Every request runs in one
// READ ONLY transaction, optionally as a read-only role (SET LOCAL ROLE), so nothing here can write even
// if the connection's user could. Values are always parameters; names are validated identifiers.
import { LinesightError } from '../../contracts/errors';
import { assertIdentifier, qualified, quoteIdent } from '../../nodes/timescale-db';

export interface Queryable {
  query(sql: string, params?: unknown[]): Promise<{ rows: Array<Record<string, unknown>>; rowCount?: number | null }>;
}

export interface ClientSource {
  connect(): Promise<Queryable & { release(err?: Error | boolean): void }>;
}

export type Bucket = 'minute' | 'hour' | 'day';
export type SeriesBy = 'line' | 'camera' | 'model_version' | 'class' | 'none';

export const BUCKET_ROLLUP: Record<Bucket, string> = { minute: '1m', hour: '1h', day: '1d' };
const BUCKET_MS: Record<Bucket, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const BY_COLUMN: Record<Exclude<SeriesBy, 'class' | 'none'>, string> = { line: 'line', camera: 'camera_id', model_version: 'model_version' };

/** Filters shared by the series, worst-lines and export queries. */
export interface Filters {
  site?: string;
  line?: string;
  camera?: string;
  modelVersion?: string;
}

export interface SearchHit {
  time: string;
  inspectionId: string;
  productSerial: string | null;
  site: string;
  line: string;
  cameraId: string;
  modelVersion: string | null;
  defectCount: number;
}

export interface TagReading {
  time: string;
  device: string;
  tag: string;
  value: number | boolean | string | null;
  quality: string;
  unit: string | null;
}

export interface InspectionDetail {
  inspection: SearchHit & { attributes: unknown };
  modelVersion: string | null;
  detections: Array<{ idx: number; defectClass: string; confidence: number; box: { x: number; y: number; width: number; height: number } | null }>;
  images: Array<{ kind: string; format: string; width: number; height: number; sizeBytes: number; stored: 'database' | 'file'; url: string }>;
  tags: {
    windowSeconds: number;
    from: string;
    to: string;
    /** The line's devices (line_devices), or every device when the line has none mapped. */
    devices: string[] | 'all';
    samples: TagReading[];
    /**
     * Per device and tag: the last reading at or before the inspection, also from before the window (a tag
     * read by exception is stored only when it changes); else the first after.
     */
    atInspection: TagReading[];
  };
  actions: Array<{ time: string; actionId: string; ruleId: string; kind: string; severity: string; writes: unknown; reset: boolean | null; reason: string | null }>;
}

export interface SeriesPoint {
  bucket: string;
  key: string | null;
  inspections: number;
  defective: number;
  detections: number;
  /** line/camera/model_version/none: defective inspections / inspections; class: detections of the class per inspection. */
  defectRate: number | null;
}

/** One line's figures for one model version over a period: how a canary's new model compares with the old. */
export interface ModelComparison {
  site: string;
  line: string;
  modelVersion: string | null;
  inspections: number;
  defective: number;
  defectRate: number | null;
  detections: number;
  /** Detections per class. */
  classes: Record<string, number>;
  /** Mean confidence of the detections, and their count per 0.1 bin of confidence (the last bin takes 1.0). */
  meanConfidence: number | null;
  confidenceBins: number[];
}

export interface WorstLine {
  site: string;
  line: string;
  inspections: number;
  defective: number;
  detections: number;
  defectRate: number | null;
}

const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());
const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));

function hit(r: Record<string, unknown>): SearchHit {
  return {
    time: iso(r.time),
    inspectionId: String(r.inspection_id),
    productSerial: (r.product_serial as string) ?? null,
    site: String(r.site),
    line: String(r.line),
    cameraId: String(r.camera_id),
    modelVersion: (r.model_version as string) ?? null,
    defectCount: num(r.defect_count),
  };
}

function reading(r: Record<string, unknown>): TagReading {
  const value = r.value_num !== null && r.value_num !== undefined ? Number(r.value_num) : r.value_bool !== null && r.value_bool !== undefined ? Boolean(r.value_bool) : ((r.value_text as string) ?? null);
  return { time: iso(r.time), device: String(r.device), tag: String(r.tag), value, quality: String(r.quality), unit: (r.unit as string) ?? null };
}

/** At most this many tags of a line get a reading held from before an inspection's window. */
export const HELD_TAGS = 200;

/** The smallest string (in collation "C", i.e. code point order) above every string starting with `prefix`. */
export function prefixUpperBound(prefix: string): string {
  return prefix + '\u{10FFFF}';
}

export class HistoryQueries {
  readonly schema: string;
  constructor(
    private readonly db: ClientSource,
    opts: { schema?: string; role?: string } = {},
  ) {
    this.schema = assertIdentifier(opts.schema ?? 'public', 'schema');
    this.role = opts.role === undefined ? undefined : assertIdentifier(opts.role, 'role');
  }
  private readonly role?: string;

  private t(name: string): string {
    return qualified(this.schema, name);
  }

  private async exists(q: Queryable, table: string): Promise<boolean> {
    const r = await q.query(`select to_regclass($1) is not null as ok`, [this.t(table)]);
    return r.rows[0]?.ok === true;
  }

  /** Runs `fn` in a READ ONLY transaction (as the read-only role when one is set). */
  async read<T>(fn: (q: Queryable) => Promise<T>, isolation: 'read committed' | 'repeatable read' = 'read committed'): Promise<T> {
    const c = await this.db.connect();
    let broken: Error | undefined;
    try {
      await c.query(`begin transaction isolation level ${isolation} read only`);
      try {
        if (this.role) await c.query(`set local role ${quoteIdent(this.role)}`);
        const out = await fn(c);
        await c.query('commit');
        return out;
      } catch (err) {
        await c.query('rollback').catch((e: Error) => (broken = e));
        throw err;
      }
    } finally {
      c.release(broken ?? false);
    }
  }

  /** Privileges that would let this API write (for the start-up check): empty when it can only read. */
  async writePrivileges(): Promise<string[]> {
    return this.read(async (q) => {
      const r = await q.query(
        `select c.relname::text as t, p.priv from pg_class c join pg_namespace n on n.oid = c.relnamespace
           cross join unnest(array['INSERT','UPDATE','DELETE','TRUNCATE']) as p(priv)
          where n.nspname = $1 and c.relkind in ('r','p') and has_table_privilege(current_user, c.oid, p.priv)
          order by 1, 2`,
        [this.schema],
      );
      // A superuser, or a role that may create tables in the schema, can write too, even before the sink
      // has made its tables (an empty or mistyped schema must not pass as read-only).
      const role = await q.query(
        `select (select rolsuper from pg_roles where rolname = current_user) as su,
                (select has_schema_privilege(current_user, n.oid, 'CREATE') from pg_namespace n where n.nspname = $1) as cr`,
        [this.schema],
      );
      const more = [...(role.rows[0]?.su ? ['superuser'] : []), ...(role.rows[0]?.cr ? [`CREATE on schema ${this.schema}`] : [])];
      return [...r.rows.map((x) => `${x.priv} on ${x.t}`), ...more];
    });
  }

  /**
   * Inspections whose product serial or inspection id starts with `prefix`: exact matches first, then
   * newest. Each column is read in its prefix index order (collate "C"), so a short prefix over millions of
   * rows still stops after `limit` rows per column.
   */
  search(prefix: string, limit: number): Promise<SearchHit[]> {
    return this.read(async (q) => {
      const cols = 'time, inspection_id, product_serial, site, line, camera_id, model_version, defect_count';
      const part = (c: string) =>
        `(select ${cols} from ${this.t('inspections')} where ${c} collate "C" >= $1 and ${c} collate "C" < $2 order by ${c} collate "C", time desc limit $3)`;
      const r = await q.query(`${part('product_serial')} union all ${part('inspection_id')}`, [prefix, prefixUpperBound(prefix), limit]);
      const seen = new Set<string>();
      const hits: SearchHit[] = [];
      for (const row of r.rows) {
        const h = hit(row);
        const k = `${h.inspectionId}\u0000${h.time}`;
        if (seen.has(k)) continue;
        seen.add(k);
        hits.push(h);
      }
      const exact = (h: SearchHit) => (h.productSerial === prefix || h.inspectionId === prefix ? 1 : 0);
      hits.sort((a, b) => exact(b) - exact(a) || b.time.localeCompare(a.time));
      return hits.slice(0, limit);
    });
  }

  /** Everything about one inspection; undefined when there is none with this id. */
  inspection(id: string, windowSeconds: number, imageUrl: (id: string, kind: string) => string): Promise<InspectionDetail | undefined> {
    return this.read(async (q) => {
      const r = await q.query(`select * from ${this.t('inspections')} where inspection_id = $1 order by time desc limit 1`, [id]);
      if (!r.rows.length) return undefined;
      return this.detail(q, r.rows[0], windowSeconds, imageUrl);
    });
  }

  /** The inspections of one product serial (newest first, at most `limit`), each in full. */
  product(serial: string, windowSeconds: number, limit: number, imageUrl: (id: string, kind: string) => string): Promise<InspectionDetail[]> {
    return this.read(async (q) => {
      const r = await q.query(`select * from ${this.t('inspections')} where product_serial = $1 order by time desc limit $2`, [serial, limit]);
      const out: InspectionDetail[] = [];
      for (const row of r.rows) out.push(await this.detail(q, row, windowSeconds, imageUrl));
      return out;
    });
  }

  /**
   * Per device and tag (of `devices`, or every device), the last reading before `before`, for at most
   * HELD_TAGS tags: the pairs are found by skipping through the key index (device, tag, time) one pair at a
   * time, and each pair's last reading by one backward probe of the same index, however old it is.
   */
  private async heldReadings(q: Queryable, devices: string[], before: string): Promise<TagReading[]> {
    const params: unknown[] = [before];
    const scope = devices.length ? ` and device = any($${params.push(devices)})` : '';
    const t = this.t('tag_samples');
    const r = await q.query(
      `with recursive pairs(device, tag, n) as (
         (select device, tag, 1 from ${t} where time < $1${scope} order by device, tag limit 1)
         union all
         select nxt.device, nxt.tag, p.n + 1 from pairs p cross join lateral (
           select device, tag from ${t} where (device, tag) > (p.device, p.tag) and time < $1${scope} order by device, tag limit 1
         ) nxt where p.n < ${HELD_TAGS}
       )
       select last.* from pairs p cross join lateral (
         select time, device, tag, value_num, value_bool, value_text, quality, unit from ${t}
          where device = p.device and tag = p.tag and time < $1 order by time desc limit 1
       ) last`,
      params,
    );
    return r.rows.map(reading);
  }

  private async detail(q: Queryable, row: Record<string, unknown>, windowSeconds: number, imageUrl: (id: string, kind: string) => string): Promise<InspectionDetail> {
    const inspection = { ...hit(row), attributes: row.attributes ?? null };
    const id = inspection.inspectionId;
    const at = row.time;
    const det = await q.query(
      `select idx, defect_class, confidence, box_x, box_y, box_width, box_height from ${this.t('detections')} where inspection_id = $1 and time = $2 order by idx`,
      [id, at],
    );
    // A sink with images: none has no images table; a schema made before line_devices has no mapping. Checked
    // first: inside the read-only transaction a failed query would abort everything after it.
    const img = (await this.exists(q, 'images'))
      ? await q.query(`select kind, format, width, height, size_bytes, path is not null as external from ${this.t('images')} where inspection_id = $1 and time = $2 order by kind`, [id, at])
      : { rows: [] as Array<Record<string, unknown>> };
    const devs = (await this.exists(q, 'line_devices'))
      ? await q.query(`select device from ${this.t('line_devices')} where line = $1 order by device`, [inspection.line])
      : { rows: [] as Array<Record<string, unknown>> };
    const devices = devs.rows.map((d) => String(d.device));
    const t0 = new Date(inspection.time).getTime();
    const from = new Date(t0 - windowSeconds * 1000).toISOString();
    const to = new Date(t0 + windowSeconds * 1000).toISOString();
    const tags = await q.query(
      `select time, device, tag, value_num, value_bool, value_text, quality, unit from ${this.t('tag_samples')}
        where time >= $1 and time <= $2 ${devices.length ? 'and device = any($3)' : ''} order by device, tag, time`,
      devices.length ? [from, to, devices] : [from, to],
    );
    const samples = tags.rows.map(reading);
    const atInspection = new Map<string, TagReading>();
    for (const s of samples) {
      const k = `${s.device}\u0000${s.tag}`;
      const cur = atInspection.get(k);
      const ts = new Date(s.time).getTime();
      if (!cur) atInspection.set(k, s);
      else if (ts <= t0) atInspection.set(k, s); // ordered by time: the last one at or before wins
    }
    // A tag read by exception is stored only when it changes: a steady line speed may have been read long
    // before the window. Its value at the inspection is then its last reading before the window.
    for (const held of await this.heldReadings(q, devices, from)) {
      const k = `${held.device}\u0000${held.tag}`;
      const cur = atInspection.get(k);
      if (!cur || new Date(cur.time).getTime() > t0) atInspection.set(k, held);
    }
    const acts = await q.query(`select time, action_id, rule_id, kind, severity, writes, reset, reason from ${this.t('line_actions')} where inspection_id = $1 order by time, action_id`, [id]);
    return {
      inspection,
      modelVersion: inspection.modelVersion,
      detections: det.rows.map((d) => ({
        idx: num(d.idx),
        defectClass: String(d.defect_class),
        confidence: Number(d.confidence),
        box: d.box_x === null ? null : { x: Number(d.box_x), y: Number(d.box_y), width: Number(d.box_width), height: Number(d.box_height) },
      })),
      images: img.rows.map((i) => ({
        kind: String(i.kind),
        format: String(i.format),
        width: num(i.width),
        height: num(i.height),
        sizeBytes: num(i.size_bytes),
        stored: i.external ? ('file' as const) : ('database' as const),
        url: imageUrl(id, String(i.kind)),
      })),
      tags: { windowSeconds, from, to, devices: devices.length ? devices : 'all', samples, atInspection: [...atInspection.values()] },
      actions: acts.rows.map((a) => ({
        time: iso(a.time),
        actionId: String(a.action_id),
        ruleId: String(a.rule_id),
        kind: String(a.kind),
        severity: String(a.severity),
        writes: a.writes,
        reset: (a.reset as boolean) ?? null,
        reason: (a.reason as string) ?? null,
      })),
    };
  }

  /** One image of an inspection (newest of that kind): bytes from the table, or a path in the image store. */
  image(id: string, kind: string): Promise<{ format: string; data?: Buffer; path?: string } | undefined> {
    return this.read(async (q) => {
      const r = await q.query(`select format, data, path from ${this.t('images')} where inspection_id = $1 and kind = $2 order by time desc limit 1`, [id, kind]);
      if (!r.rows.length) return undefined;
      const x = r.rows[0];
      return { format: String(x.format), data: (x.data as Buffer) ?? undefined, path: (x.path as string) ?? undefined };
    });
  }

  private filterSQL(f: Filters, params: unknown[], alias = ''): string {
    const parts: string[] = [];
    const add = (col: string, v: string | undefined) => {
      if (v === undefined) return;
      params.push(v);
      parts.push(`${alias}${quoteIdent(col)} = $${params.length}`);
    };
    add('site', f.site);
    add('line', f.line);
    add('camera_id', f.camera);
    add('model_version', f.modelVersion);
    return parts.map((p) => ` and ${p}`).join('');
  }

  /** Defect-rate series from the rollups: one point per bucket and key. */
  defectRate(o: { from: Date; to: Date; bucket: Bucket; by: SeriesBy; filters: Filters; defectClass?: string; limit?: number }): Promise<SeriesPoint[]> {
    const suffix = BUCKET_ROLLUP[o.bucket];
    // `limit` caps the rows read back (the caller asks for one more than it serves, to tell "too many").
    const limit = o.limit === undefined ? '' : ` limit ${Math.max(1, Math.floor(o.limit))}`;
    return this.read(async (q) => {
      const params: unknown[] = [o.from.toISOString(), o.to.toISOString()];
      if (o.by === 'class') {
        const fi = this.filterSQL(o.filters, params);
        let cls = '';
        if (o.defectClass !== undefined) {
          params.push(o.defectClass);
          cls = ` and defect_class = $${params.length}`;
        }
        const r = await q.query(
          `with i as (select bucket, sum(inspections)::bigint as inspections, sum(defective)::bigint as defective from ${this.t(`inspection_rollup_${suffix}`)}
                       where bucket >= $1 and bucket < $2${fi} group by bucket),
                d as (select bucket, defect_class, sum(detections)::bigint as detections from ${this.t(`defect_rollup_${suffix}`)}
                       where bucket >= $1 and bucket < $2${fi}${cls} group by bucket, defect_class)
           select d.bucket, d.defect_class as key, coalesce(i.inspections, 0) as inspections, coalesce(i.defective, 0) as defective, d.detections
             from d left join i using (bucket) order by d.bucket, d.defect_class${limit}`,
          params,
        );
        return r.rows.map((x) => ({ bucket: iso(x.bucket), key: String(x.key), inspections: num(x.inspections), defective: num(x.defective), detections: num(x.detections), defectRate: num(x.inspections) ? num(x.detections) / num(x.inspections) : null }));
      }
      const fi = this.filterSQL(o.filters, params);
      const key = o.by === 'none' ? 'null::text' : quoteIdent(BY_COLUMN[o.by]);
      const r = await q.query(
        `select bucket, ${key} as key, sum(inspections)::bigint as inspections, sum(defective)::bigint as defective, sum(detections)::bigint as detections
           from ${this.t(`inspection_rollup_${suffix}`)} where bucket >= $1 and bucket < $2${fi} group by 1, 2 order by 1, 2${limit}`,
        params,
      );
      return r.rows.map((x) => ({ bucket: iso(x.bucket), key: (x.key as string) ?? null, inspections: num(x.inspections), defective: num(x.defective), detections: num(x.detections), defectRate: num(x.inspections) ? num(x.defective) / num(x.inspections) : null }));
    });
  }

  /**
   * Per line and model version over a period (hourly rollups): defect rate, detections per class, the
   * confidence distribution. Lines running two versions (a canary) show both.
   */
  modelComparison(o: { from: Date; to: Date; filters: Filters }): Promise<ModelComparison[]> {
    return this.read(async (q) => {
      const params: unknown[] = [o.from.toISOString(), o.to.toISOString()];
      const fi = this.filterSQL(o.filters, params);
      const bins = Array.from({ length: 10 }, (_, k) => `sum(conf_${k})::bigint as c${k}`).join(', ');
      const [ins, conf] = await Promise.all([
        q.query(
          `select site, line, model_version, sum(inspections)::bigint as inspections, sum(defective)::bigint as defective, sum(detections)::bigint as detections
             from ${this.t('inspection_rollup_1h')} where bucket >= $1 and bucket < $2${fi} group by 1, 2, 3`,
          params,
        ),
        q.query(
          `select site, line, model_version, defect_class, sum(detections)::bigint as detections, sum(confidence_sum) as confidence_sum, ${bins}
             from ${this.t('confidence_rollup_1h')} where bucket >= $1 and bucket < $2${fi} group by 1, 2, 3, 4`,
          params,
        ),
      ]);
      const key = (r: Record<string, unknown>) => `${r.site}\u0000${r.line}\u0000${r.model_version ?? ''}\u0000${r.model_version === null ? 0 : 1}`;
      const out = new Map<string, ModelComparison & { sum: number; n: number }>();
      const entry = (r: Record<string, unknown>) => {
        let e = out.get(key(r));
        if (!e) {
          e = { site: String(r.site), line: String(r.line), modelVersion: (r.model_version as string) ?? null, inspections: 0, defective: 0, defectRate: null, detections: 0, classes: {}, meanConfidence: null, confidenceBins: new Array(10).fill(0), sum: 0, n: 0 };
          out.set(key(r), e);
        }
        return e;
      };
      for (const r of ins.rows) {
        const e = entry(r);
        e.inspections = num(r.inspections);
        e.defective = num(r.defective);
        e.detections = num(r.detections);
        e.defectRate = e.inspections ? e.defective / e.inspections : null;
      }
      for (const r of conf.rows) {
        const e = entry(r);
        e.classes[String(r.defect_class)] = num(r.detections);
        e.sum += Number(r.confidence_sum ?? 0);
        e.n += num(r.detections);
        for (let k = 0; k < 10; k++) e.confidenceBins[k] += num(r[`c${k}`]);
      }
      return [...out.values()]
        .map(({ sum, n, ...e }) => ({ ...e, meanConfidence: n ? Math.round((sum / n) * 1e6) / 1e6 : null }))
        .sort((a, b) => a.site.localeCompare(b.site) || a.line.localeCompare(b.line) || String(a.modelVersion).localeCompare(String(b.modelVersion)));
    });
  }

  /** Lines by defect rate over a period (e.g. this shift), worst first. */
  worstLines(o: { from: Date; to: Date; limit: number; minInspections: number; filters: Filters }): Promise<WorstLine[]> {
    return this.read(async (q) => {
      const params: unknown[] = [o.from.toISOString(), o.to.toISOString()];
      const fi = this.filterSQL(o.filters, params);
      params.push(o.minInspections, o.limit);
      const n = params.length;
      const r = await q.query(
        `select site, line, sum(inspections)::bigint as inspections, sum(defective)::bigint as defective, sum(detections)::bigint as detections,
                sum(defective)::float8 / nullif(sum(inspections), 0) as rate
           from ${this.t('inspection_rollup_1m')} where bucket >= $1 and bucket < $2${fi}
          group by site, line having sum(inspections) >= $${n - 1} order by rate desc nulls last, defective desc, line limit $${n}`,
        params,
      );
      return r.rows.map((x) => ({ site: String(x.site), line: String(x.line), inspections: num(x.inspections), defective: num(x.defective), detections: num(x.detections), defectRate: x.rate === null ? null : Number(x.rate) }));
    });
  }

  /**
   * Inspections of a period with their defect classes, oldest first, in pages (keyset on time and id) inside
   * one snapshot; `onPage` receives each page (e.g. to stream CSV).
   */
  exportInspections(o: { from: Date; to: Date; filters: Filters; limit: number }, onPage: (rows: Array<SearchHit & { defectClasses: string }>) => Promise<void> | void): Promise<number> {
    return this.read(async (q) => {
      let after: [string, string] | undefined;
      let total = 0;
      const PAGE = 5000;
      while (total < o.limit) {
        const params: unknown[] = [o.from.toISOString(), o.to.toISOString()];
        const fi = this.filterSQL(o.filters, params, 'i.');
        let keyset = '';
        if (after) {
          params.push(after[0], after[1]);
          keyset = ` and (i.time, i.inspection_id) > ($${params.length - 1}::timestamptz, $${params.length})`;
        }
        params.push(Math.min(PAGE, o.limit - total));
        const r = await q.query(
          `select i.time, i.inspection_id, i.product_serial, i.site, i.line, i.camera_id, i.model_version, i.defect_count,
                  coalesce((select string_agg(distinct d.defect_class, ';' order by d.defect_class) from ${this.t('detections')} d
                             where d.inspection_id = i.inspection_id and d.time = i.time), '') as classes
             from ${this.t('inspections')} i where i.time >= $1 and i.time < $2${fi}${keyset}
            order by i.time, i.inspection_id limit $${params.length}`,
          params,
        );
        if (!r.rows.length) break;
        total += r.rows.length;
        const last = r.rows[r.rows.length - 1];
        after = [iso(last.time), String(last.inspection_id)];
        await onPage(r.rows.map((x) => ({ ...hit(x), defectClasses: String(x.classes) })));
        if (r.rows.length < PAGE) break;
      }
      return total;
    }, 'repeatable read');
  }
}

/** The number of buckets a series would have; refused above `max` (naming the field). */
export function checkBuckets(from: Date, to: Date, bucket: Bucket, max = 10_000): void {
  const n = Math.ceil((to.getTime() - from.getTime()) / BUCKET_MS[bucket]);
  if (n > max) throw new LinesightError(`bucket: ${n} ${bucket} buckets from ${from.toISOString()} to ${to.toISOString()} (at most ${max}); choose a larger bucket or a shorter range`, { field: 'bucket' });
}
