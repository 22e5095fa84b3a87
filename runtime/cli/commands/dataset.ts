// `linesight dataset export`: images with their detections from the cloud history as YOLO and COCO datasets
// (runtime/history/dataset-export.ts). Run the same command again to finish an export that stopped.
import type { Command } from 'commander';

interface ExportCliOptions {
  db?: string;
  schema: string;
  out: string;
  format: string;
  from?: string;
  to?: string;
  line: string[];
  class: string[];
  verdict: string;
  modelVersion?: string;
  imageKind: string;
  imageDir?: string;
  pageSize: string;
}

const collect = (v: string, prev: string[]) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

function time(flag: string, v: string | undefined): Date | undefined {
  if (v === undefined) return undefined;
  const d = /^\d+$/.test(v) ? new Date(Number(v)) : new Date(v);
  if (Number.isNaN(d.getTime())) throw new Error(`${flag} must be an ISO time or unix ms, not ${v}`);
  return d;
}

export function register(program: Command): void {
  const dataset = program.command('dataset').description('training data from the cloud history');
  dataset
    .command('export')
    .description('write inspections with their images and detections as a YOLO and/or COCO dataset with a manifest (resumable: run it again to continue)')
    .requiredOption('--out <dir>', 'folder to write (new, empty, or an unfinished export of the same query)')
    .option('--db <url>', 'postgres:// URL of the history, a read-only role is enough (default: LINESIGHT_HISTORY_DB_URL)')
    .option('--schema <name>', 'schema of the sink tables', 'public')
    .option('--format <list>', 'yolo, coco or yolo,coco', 'yolo,coco')
    .option('--from <time>', 'inspections captured at or after (ISO time or unix ms)')
    .option('--to <time>', 'inspections captured before (ISO time or unix ms)')
    .option('--line <name>', 'only this line (repeat or comma-separate)', collect, [])
    .option('--class <name>', 'only inspections with this defect class, and only these classes in the labels (repeat or comma-separate)', collect, [])
    .option('--verdict <v>', 'pass (no defect), fail (a defect) or all', 'all')
    .option('--model-version <v>', 'only inspections made by this model version')
    .option('--image-kind <kind>', 'which stored image: full, thumbnail, annotated', 'full')
    .option('--image-dir <dir>', "the sink's image store, for images stored as files")
    .option('--page-size <n>', 'inspections read per page', '200')
    .action(async (o: ExportCliOptions) => {
      /* eslint-disable @typescript-eslint/no-require-imports */
      const { exportDataset } = require('../../history/dataset-export') as typeof import('../../history/dataset-export');
      /* eslint-enable @typescript-eslint/no-require-imports */
      const db = o.db ?? process.env.LINESIGHT_HISTORY_DB_URL;
      if (!db) throw new Error('--db is required (or set LINESIGHT_HISTORY_DB_URL)');
      const formats = o.format.split(',').map((s) => s.trim()) as Array<'yolo' | 'coco'>;
      const m = await exportDataset({
        db,
        schema: o.schema,
        out: o.out,
        formats,
        from: time('--from', o.from),
        to: time('--to', o.to),
        lines: o.line,
        classes: o.class,
        verdict: o.verdict as 'pass' | 'fail' | 'all',
        modelVersion: o.modelVersion,
        imageKind: o.imageKind,
        imageDir: o.imageDir,
        pageSize: Number(o.pageSize),
        onProgress: ({ images }) => process.stderr.write(`\r${images} images`),
      });
      process.stderr.write('\n');
      const objects = Object.entries(m.counts.objects).map(([k, v]) => `${k} ${v}`).join(', ');
      console.log(`${m.counts.images} images (${m.counts.goodImages} without defects), objects: ${objects || 'none'}${m.counts.withoutImage ? `; ${m.counts.withoutImage} inspections had no ${o.imageKind} image` : ''}${m.resumed ? `; resumed ${m.resumed} time(s)` : ''}`);
      console.log(`${o.out}/manifest.json sha256 ${m.sha256}`);
    });
}
