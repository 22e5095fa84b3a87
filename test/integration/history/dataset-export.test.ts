// `linesight dataset export` against a history the sink wrote into real PostgreSQL (LINESIGHT_PG_URL) or
// embedded PGlite: exactly the expected files, labels and counts; filters; boxes scaled when image-compress
// resized the frame; an export stopped half-way and run again gives the same dataset; images from the
// sink's file store; the CLI.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import type { Inspection } from '../../../contracts/messages';
import { exportDataset, yoloLine, type DatasetManifest } from '../../../runtime/history/dataset-export';
import { freshSchema, pgService, type PgService } from '../../support/services';
import { dropSchemaRetrying as dropSchema } from '../timescale-sink/harness';
import { BASE, openSink, type Sink } from './support';

const run = promisify(execFile);
const BIN = path.resolve(__dirname, '..', '..', '..', '..', 'bin', 'linesight.js');
const CLASSES = ['hole', 'scratch', 'dent'];
const W = 64;
const H = 48;

let png: Buffer;
/** Inspection i: line i%3, model v1/v2, i%4 detections (class by i+k), every 7th without a box; #7 was resized from 128x96. */
function inspection(i: number): Inspection {
  const n = i % 4;
  return {
    inspectionId: `exp-${String(i).padStart(3, '0')}`,
    site: 'plant1',
    line: `line${i % 3}`,
    cameraId: 'cam1',
    capturedAt: BASE + i * 1_000,
    modelVersion: i % 2 ? 'defect-detector@1.1.0' : 'defect-detector@1.0.0',
    detections: Array.from({ length: n }, (_, k) => ({
      defectClass: CLASSES[(i + k) % 3],
      confidence: 0.9,
      ...((i + k) % 7 === 6 ? {} : { box: i === 7 ? { x: 20 * k, y: 10, width: 40, height: 20 } : { x: 10 * k, y: 5, width: 10, height: 8 } }),
    })),
    image: { data: png, format: 'png', width: W, height: H },
    ...(i === 7 ? { attributes: { sourceWidth: '128', sourceHeight: '96' } } : {}),
  };
}

function expectedObjects(ids: number[], classes = CLASSES): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries([...classes].sort().map((c) => [c, 0]));
  for (const i of ids) for (const d of inspection(i).detections) if (d.box && d.defectClass in out) out[d.defectClass]++;
  return out;
}

const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ls-export-'));
const sha = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

describe('dataset export from the history (YOLO and COCO)', function () {
  this.timeout(120_000);
  let pg: PgService;
  let schema: string;
  let sink: Sink | undefined;
  const dirs: string[] = [];
  const N = 30;

  before(async () => {
    png = await sharp({ create: { width: W, height: H, channels: 3, background: { r: 90, g: 90, b: 90 } } }).png().toBuffer();
    pg = await pgService();
    schema = await freshSchema(pg.url, 'exp');
    sink = await openSink(pg.url, schema, { images: 'database' });
    assert.deepEqual(await sink.send(Array.from({ length: N }, (_, i) => inspection(i))), []);
  });
  after(async () => {
    await sink?.close();
    await dropSchema(pg.url, schema);
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });
  const out = () => {
    const d = tmpDir();
    dirs.push(d);
    return path.join(d, 'set');
  };

  let full: DatasetManifest;
  it('writes every image, its YOLO label and one COCO file, with counts and hashes that match the disk', async () => {
    const dir = out();
    full = await exportDataset({ db: pg.url, schema, out: dir, pageSize: 7 });
    assert.deepEqual(full.classes, ['dent', 'hole', 'scratch']);
    assert.equal(full.counts.images, N);
    assert.equal(full.counts.goodImages, Array.from({ length: N }, (_, i) => i).filter((i) => !inspection(i).detections.some((d) => d.box)).length);
    assert.deepEqual(full.counts.objects, expectedObjects(Array.from({ length: N }, (_, i) => i)));
    assert.equal(full.counts.skippedDetections, Array.from({ length: N }, (_, i) => inspection(i).detections.filter((d) => !d.box).length).reduce((a, b) => a + b, 0));
    assert.equal(fs.readdirSync(path.join(dir, 'images')).length, N);
    assert.equal(fs.readdirSync(path.join(dir, 'labels')).length, N);
    for (const f of full.files) assert.equal(sha(path.join(dir, f.file)), f.sha256, f.file);
    assert.deepEqual(fs.readFileSync(path.join(dir, 'images', 'exp-005.png')), png);

    // Inspection 5: one detection, CLASSES[(5+0)%3] = 'dent', index 0 of the sorted classes.
    assert.equal(fs.readFileSync(path.join(dir, 'labels', 'exp-005.txt'), 'utf8'), `${yoloLine(0, { x: 0, y: 5, width: 10, height: 8 }, W, H)}\n`);
    // Inspection 7 was resized from 128x96 to 64x48: its boxes are halved.
    const l7 = fs.readFileSync(path.join(dir, 'labels', 'exp-007.txt'), 'utf8').trim().split('\n');
    assert.equal(l7[0], yoloLine(2, { x: 0, y: 5, width: 20, height: 10 }, W, H), "its first detection is a 'scratch' at 0,10 40x20 in the 128x96 frame");
    assert.equal(fs.readFileSync(path.join(dir, 'labels', 'exp-004.txt'), 'utf8'), '', 'an inspection with no defect has an empty label file');

    const coco = JSON.parse(fs.readFileSync(path.join(dir, 'annotations.json'), 'utf8'));
    assert.deepEqual(coco.categories.map((c: { name: string }) => c.name), ['dent', 'hole', 'scratch']);
    assert.equal(coco.images.length, N);
    assert.equal(coco.annotations.length, Object.values(full.counts.objects).reduce((a, b) => a + b, 0));
    const img7 = coco.images.find((i: { file_name: string }) => i.file_name === 'images/exp-007.png');
    assert.deepEqual(coco.annotations.filter((a: { image_id: number }) => a.image_id === img7.id).map((a: { bbox: number[] }) => a.bbox)[1], [10, 5, 20, 10]);
    assert.match(fs.readFileSync(path.join(dir, 'data.yaml'), 'utf8'), /names: \["dent", "hole", "scratch"\]/);
  });

  it('filters by line, verdict, class and model version, and labels only the chosen classes', async () => {
    const m = await exportDataset({ db: pg.url, schema, out: out(), lines: ['line1'], verdict: 'fail', classes: ['hole'], modelVersion: 'defect-detector@1.1.0', formats: ['yolo'] });
    const ids = Array.from({ length: N }, (_, i) => i).filter((i) => {
      const x = inspection(i);
      return x.line === 'line1' && x.detections.length > 0 && x.modelVersion === 'defect-detector@1.1.0' && x.detections.some((d) => d.defectClass === 'hole');
    });
    assert.ok(ids.length >= 2, 'the fixture has matches');
    assert.equal(m.counts.images, ids.length);
    assert.deepEqual(m.classes, ['hole']);
    assert.deepEqual(m.counts.objects, expectedObjects(ids, ['hole']));
    assert.ok(!m.files.some((f) => f.file === 'annotations.json'), 'no COCO file when only yolo was asked');
    const pass = await exportDataset({ db: pg.url, schema, out: out(), verdict: 'pass', from: new Date(BASE + 10_000), to: new Date(BASE + 20_000) });
    assert.deepEqual(pass.counts.images, [12, 16].length, 'inspections 12 and 16 have no detection in [10 s, 20 s)');
  });

  it('an export stopped half-way continues when run again and gives the same dataset', async () => {
    const dir = out();
    let pages = 0;
    await assert.rejects(
      exportDataset({
        db: pg.url,
        schema,
        out: dir,
        pageSize: 7,
        onProgress: () => {
          if (++pages === 2) throw new Error('stopped by the test');
        },
      }),
      /stopped by the test/,
    );
    assert.equal(fs.readdirSync(path.join(dir, 'images')).length, 14, 'two pages were written');
    // A stop between the index and the state leaves an extra index line: it must not count twice.
    fs.appendFileSync(path.join(dir, 'index.jsonl'), fs.readFileSync(path.join(dir, 'index.jsonl'), 'utf8').split('\n')[0] + '\n');
    const again = await exportDataset({ db: pg.url, schema, out: dir, pageSize: 7 });
    assert.equal(again.resumed, 1);
    assert.equal(again.sha256, full.sha256);
    assert.deepEqual(again.counts, full.counts);
    await assert.rejects(exportDataset({ db: pg.url, schema, out: dir, verdict: 'pass' }), /another query/);
    const busy = out();
    fs.mkdirSync(busy, { recursive: true });
    fs.writeFileSync(path.join(busy, 'x'), '');
    await assert.rejects(exportDataset({ db: pg.url, schema, out: busy }), /not empty/);
    await assert.rejects(exportDataset({ db: pg.url, schema, out: out(), verdict: 'maybe' as 'all' }), /--verdict must be pass, fail or all/);
  });

  it('reads images from the sink\'s file store and runs from the command line', async () => {
    const fileSchema = await freshSchema(pg.url, 'expf');
    const store = tmpDir();
    dirs.push(store);
    const s = await openSink(pg.url, fileSchema, { images: 'path', imageDir: store });
    try {
      assert.deepEqual(await s.send(Array.from({ length: 5 }, (_, i) => inspection(i))), []);
      const dir = out();
      await assert.rejects(run(process.execPath, [BIN, 'dataset', 'export', '--db', pg.url, '--schema', fileSchema, '--out', dir]), /give --image-dir/);
      fs.rmSync(dir, { recursive: true, force: true });
      const r = await run(process.execPath, [BIN, 'dataset', 'export', '--db', pg.url, '--schema', fileSchema, '--out', dir, '--image-dir', store, '--format', 'coco']);
      assert.match(r.stdout, /^5 images \(2 without defects\), objects: dent 2, hole 2, scratch 2$/m);
      assert.deepEqual(fs.readFileSync(path.join(dir, 'images', 'exp-003.png')), png);
    } finally {
      await s.close();
      await dropSchema(pg.url, fileSchema);
    }
  });
});
