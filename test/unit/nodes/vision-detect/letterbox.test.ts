import assert from 'node:assert/strict';
import sharp from 'sharp';
import { ImageInputError, letterboxGeometry, letterboxImage, toPlanarTensor, toSourceBox } from '../../../../nodes/vision-detect/letterbox';

describe('vision-detect letterbox', () => {
  describe('letterboxGeometry', () => {
    const cases: Array<[string, number, number, { scale: number; left: number; top: number; width: number; height: number }]> = [
      ['wide 1920x1200', 1920, 1200, { scale: 1 / 6, left: 0, top: 60, width: 320, height: 200 }],
      ['tall 600x800', 600, 800, { scale: 0.4, left: 40, top: 0, width: 240, height: 320 }],
      ['square 512x512', 512, 512, { scale: 0.625, left: 0, top: 0, width: 320, height: 320 }],
      ['smaller than the input 160x100 is scaled up', 160, 100, { scale: 2, left: 0, top: 60, width: 320, height: 200 }],
      ['odd padding goes to the bottom: 1000x997', 1000, 997, { scale: 0.32, left: 0, top: 0, width: 320, height: 319 }],
      ['a 4000x1 line keeps one row', 4000, 1, { scale: 0.08, left: 0, top: 159, width: 320, height: 1 }],
    ];
    for (const [what, w, h, want] of cases) {
      it(what, () => {
        const g = letterboxGeometry(w, h, 320, 320);
        assert.deepEqual({ scale: g.scale, left: g.left, top: g.top, width: g.width, height: g.height }, want);
        assert.ok(g.left + g.width <= 320 && g.top + g.height <= 320, 'fits the input');
      });
    }
    it('refuses an empty image', () => assert.throws(() => letterboxGeometry(0, 10, 320, 320), /not a picture/));
  });

  it('toPlanarTensor turns interleaved RGB into three planes of 0..1', () => {
    const rgb = Uint8Array.from([255, 0, 51, 0, 255, 102]); // two pixels
    assert.deepEqual([...toPlanarTensor(rgb, 2, 1)].map((v) => Math.round(v * 255)), [255, 0, 0, 255, 51, 102]);
    assert.throws(() => toPlanarTensor(rgb, 3, 1), /expected 9 RGB bytes/);
  });

  it('toSourceBox maps input pixels back to the image and clips to it', () => {
    const g = letterboxGeometry(1920, 1200, 320, 320); // scale 1/6, top 60
    assert.deepEqual(toSourceBox(160, 160, 32, 20, g), { x: 864, y: 540, width: 192, height: 120 });
    // half off the left edge: clipped at 0
    assert.deepEqual(toSourceBox(0, 160, 20, 20, g), { x: 0, y: 540, width: 60, height: 120 });
    // entirely in the padding above the image: nothing
    assert.equal(toSourceBox(160, 20, 20, 20, g), undefined);
  });

  it('letterboxImage places the picture where the geometry says and pads with the model colour', async () => {
    // 200x100 red picture -> 320x160 at top 80, grey 114 above and below
    const data = await sharp({ create: { width: 200, height: 100, channels: 3, background: { r: 255, g: 0, b: 0 } } }).png().toBuffer();
    const { tensor, geometry } = await letterboxImage({ data, format: 'png', width: 200, height: 100 }, { width: 320, height: 320, pad: [114, 114, 114] }, { maxPixels: 1e6 });
    assert.deepEqual([geometry.top, geometry.height, geometry.left, geometry.width], [80, 160, 0, 320]);
    const plane = 320 * 320;
    const at = (x: number, y: number) => [0, 1, 2].map((c) => Math.round(tensor[c * plane + y * 320 + x]! * 255));
    assert.deepEqual(at(10, 10), [114, 114, 114]);
    assert.deepEqual(at(160, 160), [255, 0, 0]);
    assert.deepEqual(at(300, 319), [114, 114, 114]);
  });

  it('letterboxImage takes raw pixels with the given channels, and grey images become RGB', async () => {
    const grey = Buffer.alloc(40 * 40, 200);
    const { tensor } = await letterboxImage({ data: grey, format: 'raw', width: 40, height: 40 }, { width: 32, height: 32, pad: [0, 0, 0] }, { maxPixels: 1e6, rawChannels: 1 });
    assert.equal(tensor.length, 3 * 32 * 32);
    assert.deepEqual([0, 1, 2].map((c) => Math.round(tensor[c * 1024 + 500]! * 255)), [200, 200, 200]);
  });

  it('letterboxImage names a corrupt image, a non-image and a too-large image', async () => {
    const jpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#888' } }).jpeg().toBuffer();
    const input = { width: 32, height: 32, pad: [114, 114, 114] as [number, number, number] };
    await assert.rejects(letterboxImage({ data: jpeg.subarray(0, 200), format: 'jpeg', width: 64, height: 64 }, input, { maxPixels: 1e6 }), (err: Error) => err instanceof ImageInputError && /corrupt or truncated/.test(err.message));
    await assert.rejects(letterboxImage({ data: Buffer.from('not an image'), format: 'png', width: 64, height: 64 }, input, { maxPixels: 1e6 }), /not an image sharp can read \(declared png\)/);
    await assert.rejects(letterboxImage({ data: jpeg, format: 'jpeg', width: 64, height: 64 }, input, { maxPixels: 1000 }), /over the limit of 1,000 pixels \(maxPixels\)/);
    await assert.rejects(letterboxImage({ data: 'text' as unknown as Buffer, format: 'jpeg', width: 64, height: 64 }, input, { maxPixels: 1e6 }), /must be a Buffer/);
  });
});
