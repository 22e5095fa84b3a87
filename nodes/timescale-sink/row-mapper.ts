// Turns messages into table rows: the Linesight contracts into the design's tables, or any message into a
// custom table through a column mapping. Each row remembers which message field each value came from, so
// a row the database refuses can be reported by field. Values stay values: they reach SQL only as
// parameters or COPY data.
import { LinesightError } from '../../contracts/errors';
import { inspectionContract, lineActionContract, tagSampleContract } from '../../contracts/messages';
import type { Inspection, LineAction, TagSample } from '../../contracts/messages';
import { assertIdentifier } from '../timescale-db';

export type ColumnType = 'timestamptz' | 'text' | 'integer' | 'bigint' | 'double precision' | 'boolean' | 'jsonb' | 'bytea';

export interface ColumnSpec {
  name: string;
  type: ColumnType;
  notNull?: boolean;
  /** Message field the value comes from: relative to the row's prefix, or to msg when it starts with "msg.". */
  field: string;
}

export interface TableSpec {
  name: string;
  /** The first column is the time column (timestamptz), the partitioning / hypertable dimension. */
  columns: ColumnSpec[];
  /** Natural key; includes the time column, because partitioned tables and hypertables require it. */
  key: string[];
  /** Columns to segment compressed chunks by (TimescaleDB only). */
  segmentBy?: string[];
  /** Columns looked up by equality (traceability) that get bloom-filter sparse indexes in compressed chunks. */
  bloom?: string[];
  /** Secondary indexes (column lists) for the usual queries. */
  indexes?: string[][];
  /** Text columns searched by prefix (the history API's search box): an index on (column collate "C"). */
  prefixIndexes?: string[];
}

/** One row on its way to the database: values in the table's column order, and where it came from. */
export interface Row {
  values: unknown[];
  /** Message ticket (0 = no live message, e.g. replayed from the spool). */
  ticket: number;
  /** Field path prefix in the message, e.g. `payload.detections[3]`. */
  prefix: string;
}

export interface MappedRows {
  table: string;
  rows: Row[];
}

const T = (name: string, type: ColumnType, field: string, notNull = false): ColumnSpec => ({ name, type, field, notNull });

/** The design's tables. Column order here is the order of Row.values. */
export const CONTRACT_TABLES: Record<'inspections' | 'detections' | 'images' | 'tag_samples' | 'line_actions', TableSpec> = {
  inspections: {
    name: 'inspections',
    columns: [
      T('time', 'timestamptz', 'capturedAt', true),
      T('inspection_id', 'text', 'inspectionId', true),
      T('site', 'text', 'site', true),
      T('line', 'text', 'line', true),
      T('camera_id', 'text', 'cameraId', true),
      T('product_serial', 'text', 'productSerial'),
      T('model_version', 'text', 'modelVersion'),
      T('defect_count', 'integer', 'detections', true),
      T('attributes', 'jsonb', 'attributes'),
    ],
    key: ['inspection_id', 'time'],
    segmentBy: ['site', 'line', 'camera_id'],
    bloom: ['product_serial', 'inspection_id'],
    indexes: [['product_serial', 'time']],
    prefixIndexes: ['product_serial', 'inspection_id'],
  },
  detections: {
    name: 'detections',
    columns: [
      T('time', 'timestamptz', 'msg.payload.capturedAt', true),
      T('inspection_id', 'text', 'msg.payload.inspectionId', true),
      T('idx', 'integer', '', true),
      T('site', 'text', 'msg.payload.site', true),
      T('line', 'text', 'msg.payload.line', true),
      T('camera_id', 'text', 'msg.payload.cameraId', true),
      T('product_serial', 'text', 'msg.payload.productSerial'),
      T('defect_class', 'text', 'defectClass', true),
      T('confidence', 'double precision', 'confidence', true),
      T('box_x', 'double precision', 'box.x'),
      T('box_y', 'double precision', 'box.y'),
      T('box_width', 'double precision', 'box.width'),
      T('box_height', 'double precision', 'box.height'),
      // Added after the first release: last, so rows spooled by an older version still line up.
      T('model_version', 'text', 'msg.payload.modelVersion'),
    ],
    key: ['inspection_id', 'idx', 'time'],
    segmentBy: ['site', 'line', 'camera_id'],
    bloom: ['inspection_id'],
    indexes: [['defect_class', 'time']],
  },
  images: {
    name: 'images',
    columns: [
      T('time', 'timestamptz', 'msg.payload.capturedAt', true),
      T('inspection_id', 'text', 'msg.payload.inspectionId', true),
      T('kind', 'text', 'msg.imageKind', true),
      T('format', 'text', 'format', true),
      T('width', 'integer', 'width', true),
      T('height', 'integer', 'height', true),
      T('size_bytes', 'integer', 'data', true),
      T('data', 'bytea', 'data'),
      T('path', 'text', 'data'),
    ],
    key: ['inspection_id', 'kind', 'time'],
  },
  tag_samples: {
    name: 'tag_samples',
    columns: [
      T('time', 'timestamptz', 'ts', true),
      T('device', 'text', 'device', true),
      T('tag', 'text', 'tag', true),
      T('value_num', 'double precision', 'value'),
      T('value_bool', 'boolean', 'value'),
      T('value_text', 'text', 'value'),
      T('quality', 'text', 'quality', true),
      T('reason', 'text', 'reason'),
      T('unit', 'text', 'unit'),
    ],
    key: ['device', 'tag', 'time'],
    segmentBy: ['device', 'tag'],
    // Traceability reads every tag of a line's devices within seconds of an inspection: without this the
    // key index (device, tag, time) is scanned over all of a device's samples of the day.
    indexes: [['device', 'time']],
  },
  line_actions: {
    name: 'line_actions',
    columns: [
      T('time', 'timestamptz', 'ts', true),
      T('action_id', 'text', 'actionId', true),
      T('rule_id', 'text', 'ruleId', true),
      T('kind', 'text', 'kind', true),
      T('severity', 'text', 'severity', true),
      T('inspection_id', 'text', 'inspectionId'),
      T('site', 'text', 'site'),
      T('line', 'text', 'line'),
      T('writes', 'jsonb', 'writes', true),
      T('reset', 'boolean', 'reset'),
      T('reason', 'text', 'reason'),
    ],
    key: ['action_id', 'time'],
    segmentBy: ['line'],
    bloom: ['inspection_id'],
    indexes: [['inspection_id', 'time']],
  },
};

export type ContractTable = keyof typeof CONTRACT_TABLES;

/** The message field a column of a row came from, e.g. `payload.detections[3].confidence`. */
export function fieldOf(col: ColumnSpec, row: Pick<Row, 'prefix'>): string {
  // Custom tables map from msg; an array payload gives one row per element, reported as payload[i].
  if (col.field.startsWith('msg.')) return row.prefix.startsWith('payload[') ? rebase(col.field.slice(4), row.prefix) : col.field.slice(4);
  if (!col.field) return row.prefix;
  return row.prefix ? `${row.prefix}.${col.field}` : col.field;
}

/** Unix ms -> ISO timestamp; names the field when the number is not a representable time. */
export function isoTime(ms: unknown, field: string): string {
  if (typeof ms === 'string') return ms;
  if (ms instanceof Date) ms = ms.getTime();
  const d = typeof ms === 'number' ? new Date(ms) : undefined;
  if (!d || Number.isNaN(d.getTime())) {
    throw new LinesightError(`${field} is not a time (unix ms): ${JSON.stringify(ms)}`, { field });
  }
  return d.toISOString();
}

export interface ContractMapOptions {
  /** What happens to an inspection's image: not stored, its bytes in `images.data`, or a path in `images.path`. */
  images: 'none' | 'database' | 'path';
  /** Path under which the image was stored (images: 'path'). */
  imagePath?: string;
  /** images.kind, e.g. "full" or "thumbnail". */
  imageKind?: string;
}

export type ContractKind = 'inspection' | 'tags' | 'actions';

/** Which contract a payload claims to be (by its identifying fields), so errors can name the right fields. */
export function claimedContract(payload: unknown): ContractKind | undefined {
  if (Array.isArray(payload)) return 'tags';
  if (!payload || typeof payload !== 'object') return undefined;
  const p = payload as Record<string, unknown>;
  if ('inspectionId' in p && ('detections' in p || 'capturedAt' in p)) return 'inspection';
  if ('actionId' in p || 'ruleId' in p) return 'actions';
  if ('device' in p || 'tag' in p) return 'tags';
  if ('inspectionId' in p) return 'inspection';
  return undefined;
}

/** Validates a payload against its contract (throwing a ValidationError naming each field) and maps it to rows. */
export function mapContract(payload: unknown, ticket: number, opts: ContractMapOptions): MappedRows[] {
  switch (claimedContract(payload)) {
    case 'inspection':
      return mapInspection(inspectionContract.assert(payload), ticket, opts);
    case 'actions':
      return [{ table: 'line_actions', rows: [actionRow(lineActionContract.assert(payload), ticket)] }];
    case 'tags': {
      if (Array.isArray(payload)) {
        if (payload.length === 0) throw new LinesightError('payload is an empty TagSample array', { field: 'payload' });
        const rows = payload.map((s, i) => tagRow(tagSampleContract.assert(s, `payload[${i}]`), ticket, `payload[${i}]`));
        return [{ table: 'tag_samples', rows }];
      }
      return [{ table: 'tag_samples', rows: [tagRow(tagSampleContract.assert(payload), ticket, 'payload')] }];
    }
    default:
      throw new LinesightError('payload is not an Inspection, TagSample, TagSample[] or LineAction', { field: 'payload' });
  }
}

export function mapInspection(p: Inspection, ticket: number, opts: ContractMapOptions): MappedRows[] {
  const time = isoTime(p.capturedAt, 'payload.capturedAt');
  const out: MappedRows[] = [
    {
      table: 'inspections',
      rows: [
        {
          values: [time, p.inspectionId, p.site, p.line, p.cameraId, p.productSerial ?? null, p.modelVersion ?? null, p.detections.length, p.attributes ? JSON.stringify(p.attributes) : null],
          ticket,
          prefix: 'payload',
        },
      ],
    },
  ];
  if (p.detections.length) {
    out.push({
      table: 'detections',
      rows: p.detections.map((d, i) => ({
        values: [time, p.inspectionId, i, p.site, p.line, p.cameraId, p.productSerial ?? null, d.defectClass, d.confidence, d.box?.x ?? null, d.box?.y ?? null, d.box?.width ?? null, d.box?.height ?? null, p.modelVersion ?? null],
        ticket,
        prefix: `payload.detections[${i}]`,
      })),
    });
  }
  if (p.image && opts.images !== 'none') {
    const img = p.image;
    const bytes = typeof img.data === 'string' ? Buffer.from(img.data, 'base64') : Buffer.isBuffer(img.data) ? img.data : Buffer.from(img.data as Uint8Array);
    const inDb = opts.images === 'database';
    if (!inDb && !opts.imagePath) throw new LinesightError('no image path given for an external image store', { field: 'payload.image' });
    out.push({
      table: 'images',
      rows: [{ values: [time, p.inspectionId, opts.imageKind ?? 'full', img.format, img.width, img.height, bytes.length, inDb ? bytes : null, inDb ? null : opts.imagePath], ticket, prefix: 'payload.image' }],
    });
  }
  return out;
}

export function tagRow(s: TagSample, ticket: number, prefix: string): Row {
  const v = s.value;
  return {
    values: [
      isoTime(s.ts, `${prefix}.ts`),
      s.device,
      s.tag,
      typeof v === 'number' ? v : null,
      typeof v === 'boolean' ? v : null,
      typeof v === 'string' ? v : null,
      s.quality,
      s.reason ?? null,
      s.unit ?? null,
    ],
    ticket,
    prefix,
  };
}

export function actionRow(a: LineAction, ticket: number): Row {
  return {
    values: [isoTime(a.ts, 'payload.ts'), a.actionId, a.ruleId, a.kind, a.severity, a.inspectionId ?? null, a.site ?? null, a.line ?? null, JSON.stringify(a.writes), a.reset ?? null, a.reason ?? null],
    ticket,
    prefix: 'payload',
  };
}

// ---- custom tables -------------------------------------------------------------------------------

export interface CustomColumn {
  column: string;
  /** Message property path, e.g. `payload.temperature` or `topic`. */
  field: string;
  type: ColumnType;
}

const COLUMN_TYPES: ColumnType[] = ['timestamptz', 'text', 'integer', 'bigint', 'double precision', 'boolean', 'jsonb', 'bytea'];
const PATH_SEGMENT = /^(?:[A-Za-z_$][\w$]*)(?:\[\d+\])*$/;

/** Splits `payload.a.b[2]` into ['payload','a','b',2]; refuses anything else. */
export function parsePath(path: string, field: string): Array<string | number> {
  if (typeof path !== 'string' || !path) throw new LinesightError(`${field} is empty`, { field });
  const out: Array<string | number> = [];
  for (const part of path.split('.')) {
    if (!PATH_SEGMENT.test(part)) throw new LinesightError(`${field} ${JSON.stringify(path)} is not a message property path like payload.value or payload.items[0].x`, { field });
    const [name, ...idx] = part.split('[');
    out.push(name);
    for (const i of idx) out.push(Number(i.slice(0, -1)));
  }
  return out;
}

function getPath(obj: unknown, path: Array<string | number>): unknown {
  let cur: unknown = obj;
  for (const seg of path) {
    if (cur === null || cur === undefined) return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

/** A message value in the shape the writers expect for a column type (the database still checks it). */
export function toColumnValue(v: unknown, type: ColumnType, field: string): unknown {
  if (v === undefined || v === null) return null;
  switch (type) {
    case 'timestamptz':
      return isoTime(v, field);
    case 'jsonb':
      return JSON.stringify(v);
    case 'bytea':
      return Buffer.isBuffer(v) ? v : v instanceof Uint8Array ? Buffer.from(v) : Buffer.from(String(v));
    case 'text':
      return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
    default:
      return typeof v === 'object' ? JSON.stringify(v) : v;
  }
}

/** Maps messages into one custom table: one row per message, or one per element when msg.payload is an array. */
export class CustomMapping {
  readonly table: TableSpec;
  private readonly paths: Array<Array<string | number>>;

  constructor(cfg: { table: string; columns: CustomColumn[]; timeColumn?: string; keyColumns?: string[] }) {
    assertIdentifier(cfg.table, 'table');
    if (!Array.isArray(cfg.columns) || cfg.columns.length === 0) throw new LinesightError('columns: map at least one column', { field: 'columns' });
    const seen = new Set<string>();
    cfg.columns.forEach((c, i) => {
      assertIdentifier(c.column, `columns[${i}].column`);
      if (!COLUMN_TYPES.includes(c.type)) throw new LinesightError(`columns[${i}].type must be one of ${COLUMN_TYPES.join(', ')}`, { field: `columns[${i}].type` });
      if (seen.has(c.column)) throw new LinesightError(`columns[${i}].column "${c.column}" is mapped twice`, { field: `columns[${i}].column` });
      seen.add(c.column);
    });
    const timeColumn = cfg.timeColumn ?? 'time';
    assertIdentifier(timeColumn, 'timeColumn');
    const time = cfg.columns.find((c) => c.column === timeColumn);
    if (!time || time.type !== 'timestamptz') throw new LinesightError(`timeColumn "${timeColumn}" must be one of the mapped columns, of type timestamptz`, { field: 'timeColumn' });
    const key = (cfg.keyColumns ?? []).map((k, i) => assertIdentifier(k, `keyColumns[${i}]`));
    for (const k of key) if (!seen.has(k)) throw new LinesightError(`keyColumns: "${k}" is not a mapped column`, { field: 'keyColumns' });
    if (key.length && !key.includes(timeColumn)) key.push(timeColumn);
    // The time column goes first, like the design's tables.
    const ordered = [time, ...cfg.columns.filter((c) => c !== time)];
    this.paths = ordered.map((c, i) => parsePath(c.field, `columns[${cfg.columns.indexOf(c)}].field`));
    this.table = {
      name: cfg.table,
      columns: ordered.map((c) => ({ name: c.column, type: c.type, field: `msg.${c.field}`, notNull: c === time })),
      key,
    };
  }

  map(msg: Record<string, unknown>, ticket: number): MappedRows[] {
    const one = (m: Record<string, unknown>, prefix: string): Row => ({
      values: this.table.columns.map((c, i) => toColumnValue(getPath(m, this.paths[i]), c.type, rebase(c.field.slice(4), prefix))),
      ticket,
      prefix,
    });
    if (Array.isArray(msg.payload)) {
      if (msg.payload.length === 0) throw new LinesightError('payload is an empty array', { field: 'payload' });
      return [{ table: this.table.name, rows: msg.payload.map((p, i) => one({ ...msg, payload: p }, `payload[${i}]`)) }];
    }
    return [{ table: this.table.name, rows: [one(msg, '')] }];
  }
}

function rebase(field: string, prefix: string): string {
  return prefix && /^payload(?![\w$])/.test(field) ? prefix + field.slice('payload'.length) : field;
}
