// The sharp core: outputs are checked by decoding them again.
import assert from 'node:assert/strict';
import sharp from 'sharp';
import zlib from 'node:zlib';
import { compressImage, cropRegion, overlaySvg, type CompressOptions } from '../../../../nodes/image-compress/compressor';
import { productImage } from '../../../../runtime/dev/simulators/camera-images';

/** A 1-bit greyscale PNG of w x h: all-zero rows deflate to almost nothing. */
function pngBomb(w: number, h: number): Buffer {
  const chunk = (type: string, body: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length);
    const tb = Buffer.concat([Buffer.from(type, 'ascii'), body]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(tb));
    return Buffer.concat([len, tb, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // greyscale
  const rows = zlib.deflateSync(Buffer.alloc(200 * (1 + Math.ceil(w / 8)))); // the first 200 rows; the rest is missing
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', rows), chunk('IEND', Buffer.alloc(0))]);
}

const base: CompressOptions = { format: 'webp', quality: 80, maxWidth: 1024, maxHeight: 0, fit: 'inside', keepMetadata: false, maxPixels: 100_000_000 };

describe('image-compress compressor', function () {
  this.timeout(60_000);
  let frame: Awaited<ReturnType<typeof productImage>>;
  before(async () => {
    frame = await productImage({ width: 1920, height: 1200, defects: 3, seed: 7 });
  });

  for (const format of ['jpeg', 'webp', 'avif', 'png'] as const) {
    it(`re-encodes to ${format} within the max width, keeping the aspect ratio`, async () => {
      const r = await compressImage(frame, frame.detections, { ...base, format, maxWidth: 640 });
      const meta = await sharp(r.image.data).metadata();
      assert.equal(meta.format === 'heif' ? 'avif' : meta.format, format);
      assert.deepEqual([meta.width, meta.height, r.image.width, r.image.height, r.image.format], [640, 400, 640, 400, format]);
    });
  }

  it('fits a max width x height box with cover, never enlarges, and makes a thumbnail', async () => {
    const r = await compressImage(frame, [], { ...base, maxWidth: 300, maxHeight: 300, fit: 'cover', thumbnailSize: 256 });
    assert.deepEqual([r.image.width, r.image.height], [300, 300]);
    const t = await sharp(r.thumbnail!.data).metadata();
    assert.deepEqual([t.width, t.height, t.format], [256, 160, 'webp']);
    const small = await productImage({ width: 200, height: 100 });
    const r2 = await compressImage(small, [], { ...base, maxWidth: 1024 });
    assert.deepEqual([r2.image.width, r2.image.height], [200, 100]);
  });

  it('strips metadata by default and keeps it when asked', async () => {
    const withExif = { ...frame, data: await sharp(frame.data).withExif({ IFD0: { Make: 'LinesightCam' } }).jpeg().toBuffer() };
    const stripped = await sharp((await compressImage(withExif, [], { ...base, format: 'jpeg' })).image.data).metadata();
    const kept = await sharp((await compressImage(withExif, [], { ...base, format: 'jpeg', keepMetadata: true })).image.data).metadata();
    assert.equal(stripped.exif, undefined);
    assert.ok(kept.exif && kept.exif.includes(Buffer.from('LinesightCam')));
  });

  it('cuts one crop per box from the full-resolution image, with the margin, matching the pixels', async () => {
    const dets = [
      { defectClass: 'dent', confidence: 0.9, box: { x: 100, y: 50, width: 40, height: 20 } },
      { defectClass: 'none', confidence: 0.2 },
      { defectClass: 'edge', confidence: 0.7, box: { x: 1900, y: 1190, width: 20, height: 10 } },
    ];
    const r = await compressImage(frame, dets, { ...base, format: 'png', cropMargin: 0.5 });
    assert.equal(r.crops!.length, 2);
    const [c0, c1] = r.crops!;
    assert.deepEqual([c0.index, c0.defectClass, c0.region], [0, 'dent', { x: 80, y: 40, width: 80, height: 40 }]);
    assert.deepEqual([c1.index, c1.region], [2, { x: 1890, y: 1185, width: 30, height: 15 }], 'clipped to the image');
    // PNG is lossless: the crop is exactly those pixels of the decoded source.
    const want = await sharp(frame.data).extract({ left: 80, top: 40, width: 80, height: 40 }).raw().toBuffer();
    const got = await sharp(c0.data).raw().toBuffer();
    assert.ok(got.equals(want), 'crop pixels equal the source region');
    assert.deepEqual([c0.width, c0.height, c0.format], [80, 40, 'png']);
  });

  it('draws the boxes on an annotated copy the size of the output', async () => {
    const dets = [{ defectClass: 'hole', confidence: 0.95, box: { x: 960, y: 600, width: 200, height: 200 } }];
    const r = await compressImage(frame, dets, { ...base, format: 'png', maxWidth: 960, annotate: true });
    assert.deepEqual([r.annotated!.width, r.annotated!.height], [960, 600]);
    const plain = await sharp(r.image.data).raw().toBuffer({ resolveWithObject: true });
    const drawn = await sharp(r.annotated!.data).raw().toBuffer({ resolveWithObject: true });
    // the box's left edge at x = 480 (scaled by 0.5) is red in the annotated copy
    const at = (img: typeof plain, x: number, y: number) => Array.from(img.data.subarray((y * img.info.width + x) * img.info.channels, (y * img.info.width + x) * img.info.channels + 3));
    const [r0, g0, b0] = at(drawn, 480, 350);
    assert.ok(r0 > 200 && g0 < 90 && b0 < 90, `red box edge, got ${[r0, g0, b0]}`);
    assert.notDeepEqual(at(plain, 480, 350), [r0, g0, b0]);
  });

  it('reads raw pixels with the given channel count', async () => {
    const raw = await productImage({ width: 64, height: 32, format: 'raw' });
    const r = await compressImage(raw, [], { ...base, format: 'png', rawChannels: 3 });
    assert.deepEqual([r.image.width, r.image.height], [64, 32]);
  });

  it('fails with a clear error for a truncated JPEG', async () => {
    const truncated = { ...frame, data: frame.data.subarray(0, Math.floor(frame.data.length / 2)) };
    await assert.rejects(compressImage(truncated, [], base), /image \(declared jpeg 1920x1200\) is corrupt or truncated/);
  });

  it('fails with a clear error for bytes that are no image', async () => {
    await assert.rejects(compressImage({ ...frame, data: Buffer.from('definitely not a picture') }, [], base), /not an image sharp can read/);
  });

  it('refuses an image over the pixel limit, whatever size it declares (decompression bomb)', async () => {
    // A PNG whose header says 20000 x 20000 (400 MP decoded) in a few hundred bytes; it declares itself as 10 x 10.
    const bomb = pngBomb(20000, 20000);
    await assert.rejects(compressImage({ data: bomb, format: 'png', width: 10, height: 10 }, [], base), /over the pixel limit of 100,000,000 pixels/);
    await assert.rejects(compressImage({ data: bomb, format: 'png', width: 20000, height: 20000 }, [], base), /over the limit of 100,000,000 \(maxPixels\)/);
  });

  it('computes crop regions and escapes labels in the overlay', () => {
    assert.deepEqual(cropRegion({ x: 10, y: 10, width: 10, height: 10 }, 0, 100, 100), { left: 10, top: 10, width: 10, height: 10 });
    assert.equal(cropRegion({ x: 200, y: 10, width: 10, height: 10 }, 0, 100, 100), undefined);
    assert.match(overlaySvg([{ defectClass: '<x&y>', confidence: 0.5, box: { x: 0, y: 0, width: 1, height: 1 } }], 1, 1, 10, 10), /&#60;x&#38;y&#62; 50%/);
  });
});
