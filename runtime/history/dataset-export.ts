// `linesight dataset export`: training data back out of the cloud history. Inspections with their images and
// detections, filtered by time, line, class, verdict and model version, written as a YOLO dataset and/or a
// COCO dataset with a manifest (counts per class, the source query, a sha256 per file and over the whole set).
//
// Streamed and resumable: inspections are read in (time, inspection_id) order a page at a time; each page's
// files are written atomically, then its entries are appended to `index.jsonl`, then `.export-state.json`
// records the last key. An export that stops half-way (a crash, Ctrl-C, a database that went away) runs
// again with the same command and continues after the last page it recorded, giving the same files as an
// export that never stopped. The COCO file and the manifest are made from the index at the end.
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';
import { qualified } from '../../nodes/timescale-db';
import { redactUrl } from '../../lib/redact';

export type DatasetFormat = 'yolo' | 'coco';
export type Verdict = 'pass' | 'fail' | 'all';

export interface DatasetExportOptions {
  /** postgres:// URL of the history (a read-only role is enough). */
  db: string;
  schema?: string;
  /** Folder to write: new, empty, or an unfinished export of the same query. */
  out: string;
  formats?: DatasetFormat[];
  from?: Date;
  to?: Date;
  lines?: string[];
  /** Only inspections with a detection of one of these classes, and only these classes in the labels. */
  classes?: string[];
  verdict?: Verdict;
  modelVersion?: string;
  /** Which stored image to export (default `full`); boxes are scaled to its size. */
  imageKind?: string;
  /** The sink's image store, for images stored as files. */
  imageDir?: string;
  /** Inspections per page (default 200). */
  pageSize?: number;
  onProgress?(p: { images: number; pages: number }): void;
}

export interface DatasetManifest {
  format: 'linesight-dataset-export/1';
  formats: DatasetFormat[];
  query: {
    db: string;
    schema: string;
    from: string | null;
    to: string | null;
    lines: string[] | null;
    classes: string[] | null;
    verdict: Verdict;
    modelVersion: string | null;
    imageKind: string;
  };
  classes: string[];
  counts: {
    images: number;
    goodImages: number;
    objects: Record<string, number>;
    /** Detections left out of the labels: no box, or a class outside the selection. */
    skippedDetections: number;
    /** Inspections matching the query whose image of that kind is missing (e.g. dropped by image retention). */
    withoutImage: number;
  };
  /** sha256 over every image and label hash in order: one line to compare two exports by. */
  sha256: string;
  files: Array<{ file: string; sha256: string; bytes: number }>;
  resumed: number;
  exportedAt: string;
}

interface IndexEntry {
  id: string;
  time: string;
  line: string;
  modelVersion: string | null;
  image: string;
  imageSha256: string;
  imageBytes: number;
  label: string;
  labelSha256: string;
  labelBytes: number;
  width: number;
  height: number;
  objects: Array<{ cls: number; x: number; y: number; w: number; h: number; confidence: number }>;
  skipped: number;
}

interface ExportState {
  queryHash: string;
  classes: string[];
  last: { time: string; id: string } | null;
  entries: number;
  withoutImage: number;
  pages: number;
  resumed: number;
  complete: boolean;
}

const EXT: Record<string, string> = { jpeg: 'jpg', png: 'png', webp: 'webp', avif: 'avif', raw: 'bin' };
const STATE = '.export-state.json';
const INDEX = 'index.jsonl';

/** A file-name-safe form of an inspection id; a short hash keeps ids that differ only in unsafe characters apart. */
export function fileStem(id: string): string {
  const safe = id.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return safe === id ? id : `${safe.slice(0, 100)}-${crypto.createHash('sha1').update(id).digest('hex').slice(0, 8)}`;
}

/** One YOLO label line: class, centre x, centre y, width, height relative to the image, clipped to it. */
export function yoloLine(cls: number, box: { x: number; y: number; width: number; height: number }, width: number, height: number): string | undefined {
  const x0 = Math.max(0, Math.min(width, box.x));
  const y0 = Math.max(0, Math.min(height, box.y));
  const x1 = Math.max(0, Math.min(width, box.x + box.width));
  const y1 = Math.max(0, Math.min(height, box.y + box.height));
  if (x1 <= x0 || y1 <= y0) return undefined;
  const f = (v: number) => v.toFixed(6);
  return `${cls} ${f((x0 + x1) / 2 / width)} ${f((y0 + y1) / 2 / height)} ${f((x1 - x0) / width)} ${f((y1 - y0) / height)}`;
}

async function writeAtomic(file: string, data: Buffer | string): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, data);
  await fsp.rename(tmp, file);
}

const sha = (b: Buffer | string) => crypto.createHash('sha256').update(b).digest('hex');

function checkOptions(o: DatasetExportOptions): void {
  const bad = (field: string, reason: string) => new Error(`dataset export: ${field} ${reason}`);
  if (o.from && Number.isNaN(o.from.getTime())) throw bad('--from', 'is not a time');
  if (o.to && Number.isNaN(o.to.getTime())) throw bad('--to', 'is not a time');
  if (o.from && o.to && o.from >= o.to) throw bad('--from', 'must be before --to');
  if (o.verdict && !['pass', 'fail', 'all'].includes(o.verdict)) throw bad('--verdict', `must be pass, fail or all, not ${o.verdict}`);
  for (const f of o.formats ?? []) if (f !== 'yolo' && f !== 'coco') throw bad('--format', `must be yolo or coco, not ${f}`);
  if (o.pageSize !== undefined && (!Number.isInteger(o.pageSize) || o.pageSize < 1 || o.pageSize > 10_000)) throw bad('pageSize', 'must be 1..10000');
}

/** Exports (or finishes exporting) a dataset; returns its manifest, also written to `<out>/manifest.json`. */
export async function exportDataset(o: DatasetExportOptions): Promise<DatasetManifest> {
  checkOptions(o);
  const schema = o.schema ?? 'public';
  const formats: DatasetFormat[] = o.formats?.length ? [...new Set(o.formats)].sort() : ['coco', 'yolo'];
  const verdict = o.verdict ?? 'all';
  const kind = o.imageKind ?? 'full';
  const query: DatasetManifest['query'] = {
    db: redactUrl(o.db),
    schema,
    from: o.from?.toISOString() ?? null,
    to: o.to?.toISOString() ?? null,
    lines: o.lines?.length ? [...o.lines].sort() : null,
    classes: o.classes?.length ? [...o.classes].sort() : null,
    verdict,
    modelVersion: o.modelVersion ?? null,
    imageKind: kind,
  };
  const queryHash = sha(JSON.stringify({ ...query, formats }));
  const stateFile = path.join(o.out, STATE);
  let state: ExportState | undefined;
  if (fs.existsSync(stateFile)) {
    state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as ExportState;
    if (state.queryHash !== queryHash) throw new Error(`dataset export: ${o.out} holds an export of another query; choose a new folder`);
    state.resumed++;
  } else if (fs.existsSync(o.out) && fs.readdirSync(o.out).length) {
    throw new Error(`dataset export: ${o.out} is not empty and holds no unfinished export`);
  }

  const client = new Client({ connectionString: o.db });
  client.on('error', () => {}); // the pending query rejects with the cause
  await client.connect();
  try {
    // Export only reads; say so to the server too, whatever role the URL names.
    await client.query('set default_transaction_read_only = on');
    const t = (name: string) => qualified(schema, name);
    const params: unknown[] = [];
    const where: string[] = [];
    const add = (sql: (p: string) => string, v: unknown) => {
      params.push(v);
      where.push(sql(`$${params.length}`));
    };
    if (o.from) add((p) => `i.time >= ${p}`, o.from);
    if (o.to) add((p) => `i.time < ${p}`, o.to);
    if (query.lines) add((p) => `i.line = any(${p}::text[])`, query.lines);
    if (query.modelVersion) add((p) => `i.model_version = ${p}`, query.modelVersion);
    if (verdict === 'pass') where.push('i.defect_count = 0');
    if (verdict === 'fail') where.push('i.defect_count > 0');
    if (query.classes)
      add((p) => `exists (select 1 from ${t('detections')} d where d.inspection_id = i.inspection_id and d.time = i.time and d.defect_class = any(${p}::text[]))`, query.classes);

    if (!state) {
      // The class list is fixed at the start (stored in the state), so a resumed export numbers classes alike.
      let classes = query.classes;
      if (!classes) {
        const r = await client.query(
          `select distinct d.defect_class from ${t('detections')} d join ${t('inspections')} i on i.inspection_id = d.inspection_id and i.time = d.time${where.length ? ` where ${where.join(' and ')}` : ''} order by 1`,
          params,
        );
        classes = r.rows.map((x) => String(x.defect_class));
      }
      await fsp.mkdir(o.out, { recursive: true });
      state = { queryHash, classes, last: null, entries: 0, withoutImage: 0, pages: 0, resumed: 0, complete: false };
      await fsp.writeFile(path.join(o.out, INDEX), '');
      await writeAtomic(stateFile, JSON.stringify(state));
    }
    const st = state;
    // Entries appended after the last recorded page (a stop between the index and the state) are dropped.
    const indexFile = path.join(o.out, INDEX);
    const kept = fs.readFileSync(indexFile, 'utf8').split('\n').filter(Boolean).slice(0, st.entries);
    fs.writeFileSync(indexFile, kept.length ? `${kept.join('\n')}\n` : '');

    if (!st.complete) {
      const pageSize = o.pageSize ?? 200;
      const classIndex = new Map(st.classes.map((c, i) => [c, i]));
      for (;;) {
        const p = [...params];
        const w = [...where];
        if (st.last) {
          p.push(st.last.time, st.last.id);
          w.push(`(i.time, i.inspection_id) > ($${p.length - 1}::timestamptz, $${p.length})`);
        }
        p.push(kind);
        const kindParam = `$${p.length}`;
        const page = await client.query(
          `select i.time, i.inspection_id, i.line, i.model_version, i.attributes->>'sourceWidth' as source_width, i.attributes->>'sourceHeight' as source_height,
                  im.format, im.width, im.height, im.data, im.path
             from ${t('inspections')} i
             left join lateral (select format, width, height, data, path from ${t('images')} m
                                 where m.inspection_id = i.inspection_id and m.kind = ${kindParam} order by m.time desc limit 1) im on true
            ${w.length ? `where ${w.join(' and ')}` : ''}
            order by i.time, i.inspection_id
            limit ${pageSize}`,
          p,
        );
        if (!page.rows.length) break;
        const ids = page.rows.map((r) => String(r.inspection_id));
        const times = page.rows.map((r) => r.time as Date);
        const det = await client.query(
          `select inspection_id, time, defect_class, confidence, box_x, box_y, box_width, box_height from ${t('detections')}
            where inspection_id = any($1::text[]) and time between $2 and $3 order by inspection_id, idx`,
          [ids, times[0], times[times.length - 1]],
        );
        const byId = new Map<string, typeof det.rows>();
        for (const d of det.rows) {
          const key = `${d.inspection_id}\u0000${(d.time as Date).toISOString()}`;
          let list = byId.get(key);
          if (!list) byId.set(key, (list = []));
          list.push(d);
        }
        const entries: IndexEntry[] = [];
        for (const r of page.rows) {
          const id = String(r.inspection_id);
          const time = (r.time as Date).toISOString();
          let data: Buffer | undefined = r.data ?? undefined;
          if (!data && r.path) {
            if (!o.imageDir) throw new Error(`dataset export: the image of ${id} is a file in the sink's image store (${r.path}); give --image-dir`);
            data = await fsp.readFile(path.join(o.imageDir, String(r.path))).catch(() => undefined);
          }
          if (!data) {
            st.withoutImage++;
            continue;
          }
          const width = Number(r.width);
          const height = Number(r.height);
          // Boxes are in the pixels of the camera's frame; the stored image may have been resized since.
          const srcW = Number(r.source_width);
          const srcH = Number(r.source_height);
          const sx = srcW > 0 ? width / srcW : 1;
          const sy = srcH > 0 ? height / srcH : 1;
          const objects: IndexEntry['objects'] = [];
          const lines: string[] = [];
          let skipped = 0;
          for (const d of byId.get(`${id}\u0000${time}`) ?? []) {
            const cls = classIndex.get(String(d.defect_class));
            if (cls === undefined || d.box_x === null || d.box_width === null) {
              skipped++;
              continue;
            }
            const box = { x: Number(d.box_x) * sx, y: Number(d.box_y) * sy, width: Number(d.box_width) * sx, height: Number(d.box_height) * sy };
            const line = yoloLine(cls, box, width, height);
            if (!line) {
              skipped++;
              continue;
            }
            lines.push(line);
            const x0 = Math.max(0, box.x);
            const y0 = Math.max(0, box.y);
            objects.push({ cls, x: x0, y: y0, w: Math.min(width, box.x + box.width) - x0, h: Math.min(height, box.y + box.height) - y0, confidence: Number(d.confidence) });
          }
          const stem = fileStem(id);
          const image = `images/${stem}.${EXT[String(r.format)] ?? 'bin'}`;
          const label = `labels/${stem}.txt`;
          const labelText = lines.length ? `${lines.join('\n')}\n` : '';
          await writeAtomic(path.join(o.out, image), data);
          if (formats.includes('yolo')) await writeAtomic(path.join(o.out, label), labelText);
          entries.push({
            id,
            time,
            line: String(r.line),
            modelVersion: (r.model_version as string) ?? null,
            image,
            imageSha256: sha(data),
            imageBytes: data.length,
            label,
            labelSha256: sha(labelText),
            labelBytes: Buffer.byteLength(labelText),
            width,
            height,
            objects,
            skipped,
          });
        }
        if (entries.length) await fsp.appendFile(indexFile, entries.map((e) => JSON.stringify(e)).join('\n') + '\n');
        const lastRow = page.rows[page.rows.length - 1];
        st.last = { time: (lastRow.time as Date).toISOString(), id: String(lastRow.inspection_id) };
        st.entries += entries.length;
        st.pages++;
        await writeAtomic(stateFile, JSON.stringify(st));
        o.onProgress?.({ images: st.entries, pages: st.pages });
        if (page.rows.length < pageSize) break;
      }
    }

    const manifest = await finish(o.out, formats, query, st);
    st.complete = true;
    await writeAtomic(stateFile, JSON.stringify(st));
    return manifest;
  } finally {
    await client.end().catch(() => {});
  }
}

/** The COCO file, the YOLO data.yaml and the manifest, all made from the index. */
async function finish(out: string, formats: DatasetFormat[], query: DatasetManifest['query'], st: ExportState): Promise<DatasetManifest> {
  const entries = fs
    .readFileSync(path.join(out, INDEX), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as IndexEntry);
  const objects: Record<string, number> = Object.fromEntries(st.classes.map((c) => [c, 0]));
  let good = 0;
  let skipped = 0;
  const whole = crypto.createHash('sha256');
  const files: DatasetManifest['files'] = [];
  for (const e of entries) {
    if (!e.objects.length) good++;
    skipped += e.skipped;
    for (const ob of e.objects) objects[st.classes[ob.cls]]++;
    whole.update(`${e.image} ${e.imageSha256}\n`);
    files.push({ file: e.image, sha256: e.imageSha256, bytes: e.imageBytes });
    if (formats.includes('yolo')) {
      whole.update(`${e.label} ${e.labelSha256}\n`);
      files.push({ file: e.label, sha256: e.labelSha256, bytes: e.labelBytes });
    }
  }
  if (formats.includes('yolo')) {
    const yaml = [`path: .`, `train: images`, `val: images`, `nc: ${st.classes.length}`, `names: [${st.classes.map((c) => JSON.stringify(c)).join(', ')}]`, ''].join('\n');
    await writeAtomic(path.join(out, 'data.yaml'), yaml);
  }
  if (formats.includes('coco')) {
    // Written as a stream: a large export never holds the whole JSON document as one string.
    const file = path.join(out, 'annotations.json');
    const tmp = `${file}.${process.pid}.tmp`;
    const ws = fs.createWriteStream(tmp);
    const write = (s: string) => new Promise<void>((resolve, reject) => (ws.write(s) ? resolve() : ws.once('drain', resolve).once('error', reject)));
    await write(`{"info":${JSON.stringify({ description: 'Linesight dataset export', version: '1' })},\n"categories":${JSON.stringify(st.classes.map((name, i) => ({ id: i + 1, name, supercategory: 'defect' })))},\n"images":[`);
    let first = true;
    for (const [n, e] of entries.entries()) {
      await write(`${first ? '' : ','}\n${JSON.stringify({ id: n + 1, file_name: e.image, width: e.width, height: e.height, linesight: { inspectionId: e.id, time: e.time, line: e.line, modelVersion: e.modelVersion } })}`);
      first = false;
    }
    await write('],\n"annotations":[');
    first = true;
    let annId = 0;
    for (const [n, e] of entries.entries()) {
      for (const ob of e.objects) {
        const bbox = [ob.x, ob.y, ob.w, ob.h].map((v) => Math.round(v * 100) / 100);
        await write(`${first ? '' : ','}\n${JSON.stringify({ id: ++annId, image_id: n + 1, category_id: ob.cls + 1, bbox, area: Math.round(bbox[2] * bbox[3] * 100) / 100, iscrowd: 0, score: ob.confidence })}`);
        first = false;
      }
    }
    await write(']}\n');
    await new Promise<void>((resolve, reject) => ws.end((err?: Error | null) => (err ? reject(err) : resolve())));
    await fsp.rename(tmp, file);
    const buf = fs.readFileSync(file);
    files.push({ file: 'annotations.json', sha256: sha(buf), bytes: buf.length });
  }
  const manifest: DatasetManifest = {
    format: 'linesight-dataset-export/1',
    formats,
    query,
    classes: st.classes,
    counts: { images: entries.length, goodImages: good, objects, skippedDetections: skipped, withoutImage: st.withoutImage },
    sha256: whole.digest('hex'),
    files,
    resumed: st.resumed,
    exportedAt: new Date().toISOString(),
  };
  await writeAtomic(path.join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
  return manifest;
}
