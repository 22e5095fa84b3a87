import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { DEFECT_CLASSES, productImage } from '../../../../../runtime/dev/simulators/camera-images';
import { FIRST_DATASET_IMAGE_SEED, parseDefectRange, parseSizes, writeDataset, yoloLabel } from '../../../../../runtime/dev/simulators/dataset';

describe('synthetic defect dataset (simulate dataset)', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-dataset-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('one seed draws the same picture to the byte, conveyor noise included', async () => {
    const a = await productImage({ width: 320, height: 200, defects: 3, seed: 42 });
    const b = await productImage({ width: 320, height: 200, defects: 3, seed: 42 });
    const c = await productImage({ width: 320, height: 200, defects: 3, seed: 43 });
    assert.ok(a.data.equals(b.data), 'same seed, same bytes');
    assert.ok(!a.data.equals(c.data), 'another seed, another picture');
    // The conveyor still looks as it did: grey noise around 60 with a spread of about 18 in every channel.
    const { data } = await sharp(a.data).extract({ left: 0, top: 0, width: 320, height: 20 }).raw().toBuffer({ resolveWithObject: true });
    for (let ch = 0; ch < 3; ch++) {
      let sum = 0, sq = 0, n = 0;
      for (let i = ch; i < data.length; i += 3) (sum += data[i]), (sq += data[i] * data[i]), n++;
      const mean = sum / n, sd = Math.sqrt(sq / n - mean * mean);
      assert.ok(Math.abs(mean - 60) < 3, `channel ${ch} mean ${mean}`);
      assert.ok(sd > 12 && sd < 20, `channel ${ch} spread ${sd}`);
    }
  });

  it('writes images, YOLO labels matching the renderer, classes and a manifest; the same seed gives the same files', async () => {
    const sizes = [{ width: 160, height: 100 }, { width: 64, height: 64 }];
    const m = await writeDataset({ out: path.join(dir, 'a'), count: 12, seed: 5, sizes, defects: { min: 0, max: 3 } });
    assert.equal(m.images.length, 12);
    assert.deepEqual(m.classes, [...DEFECT_CLASSES]);
    assert.equal(fs.readFileSync(path.join(dir, 'a', 'classes.txt'), 'utf8'), 'scratch\ndent\nhole\n');
    assert.match(fs.readFileSync(path.join(dir, 'a', 'data.yaml'), 'utf8'), /names:\n {2}0: scratch\n {2}1: dent\n {2}2: hole\n/);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'a', 'dataset.json'), 'utf8')), m);

    const perClass: Record<string, number> = { scratch: 0, dent: 0, hole: 0 };
    for (const im of m.images) {
      assert.ok(im.seed >= FIRST_DATASET_IMAGE_SEED, 'image seeds stay clear of the small seeds tests and the camera use');
      assert.ok(sizes.some((s) => s.width === im.width && s.height === im.height));
      const meta = await sharp(path.join(dir, 'a', im.file)).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', im.width, im.height]);
      // The label is what the renderer drew for that seed, in YOLO form.
      const truth = await productImage({ width: im.width, height: im.height, defects: im.defects, seed: im.seed });
      const lines = fs.readFileSync(path.join(dir, 'a', im.label), 'utf8').split('\n').filter(Boolean);
      assert.equal(lines.length, truth.detections.length);
      truth.detections.forEach((d, i) => {
        const [cls, cx, cy, w, h] = lines[i].split(' ').map(Number);
        assert.equal(DEFECT_CLASSES[cls], d.defectClass);
        assert.ok(Math.abs(cx * im.width - (d.box!.x + d.box!.width / 2)) < 0.01 && Math.abs(cy * im.height - (d.box!.y + d.box!.height / 2)) < 0.01);
        assert.ok(Math.abs(w * im.width - d.box!.width) < 0.01 && Math.abs(h * im.height - d.box!.height) < 0.01);
        assert.ok(cx - w / 2 >= 0 && cx + w / 2 <= 1 && cy - h / 2 >= 0 && cy + h / 2 <= 1, 'inside the image');
        perClass[d.defectClass]++;
      });
      assert.ok(fs.readFileSync(path.join(dir, 'a', im.file)).equals(truth.data), 'the image is the renderer\'s, byte for byte');
    }
    assert.deepEqual(m.counts.objects, perClass);
    assert.equal(m.counts.goodImages, m.images.filter((i) => i.defects === 0).length);

    const again = await writeDataset({ out: path.join(dir, 'b'), count: 12, seed: 5, sizes, defects: { min: 0, max: 3 }, concurrency: 5 });
    assert.equal(again.sha256, m.sha256, 'same seed, same dataset, whatever the concurrency');
    const other = await writeDataset({ out: path.join(dir, 'c'), count: 12, seed: 6, sizes, defects: { min: 0, max: 3 } });
    assert.notEqual(other.sha256, m.sha256);
    assert.equal(new Set([...m.images, ...other.images].map((i) => i.seed)).size, 24, 'two dataset seeds share no image');
  });

  it('refuses a folder in use and bad options, naming the option', async () => {
    fs.writeFileSync(path.join(dir, 'keep.txt'), 'x');
    await assert.rejects(writeDataset({ out: dir, count: 1, seed: 1, sizes: [{ width: 64, height: 64 }] }), /out: .* is not empty/);
    await assert.rejects(writeDataset({ out: path.join(dir, 'n'), count: 0, seed: 1, sizes: [{ width: 64, height: 64 }] }), /count must be a whole number >= 1/);
    await assert.rejects(writeDataset({ out: path.join(dir, 'n'), count: 1, seed: 1, sizes: [{ width: 8, height: 64 }] }), /sizes: 8x64/);
    await assert.rejects(writeDataset({ out: path.join(dir, 'n'), count: 1, seed: 1, sizes: [{ width: 64, height: 64 }], defects: { min: 3, max: 1 } }), /defects must be min-max/);
    assert.deepEqual(parseSizes('1920x1200, 64x48'), [{ width: 1920, height: 1200 }, { width: 64, height: 48 }]);
    assert.throws(() => parseSizes('1920'), /--size must be WxH/);
    assert.deepEqual(parseDefectRange('0-4'), { min: 0, max: 4 });
    assert.deepEqual(parseDefectRange('2'), { min: 2, max: 2 });
    assert.throws(() => parseDefectRange('4-1'), /--defects must be N or MIN-MAX/);
  });

  it('labels a box as YOLO does: class, centre and size relative to the image', () => {
    assert.equal(yoloLabel(2, { x: 10, y: 20, width: 30, height: 40 }, 100, 200), '2 0.250000 0.200000 0.300000 0.200000');
  });
});
