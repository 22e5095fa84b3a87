// image-compress in a real Node-RED behind camera-intake, fed by the Python grpcio camera in another
// process; failures reach a Catch node and the flow keeps running.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import sharp from 'sharp';
import { productImage } from '../../../runtime/dev/simulators/camera-images';
import { freePort } from '../../support/services';
import { waitFor } from '../../support/wait';
import { generateStubs, listening, pythonSubmit, type PySpec } from '../../fixtures/camera-intake/python-camera';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const helper = require('node-red-node-test-helper');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const cameraIntake = require('../../../nodes/camera-intake/camera-intake');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const imageCompress = require('../../../nodes/image-compress/image-compress');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const catchNode = require('@node-red/nodes/core/common/25-catch.js');

helper.init(require.resolve('node-red'));

describe('image-compress (integration, camera-intake + Python camera)', function () {
  this.timeout(120_000);
  let stubs: string;
  let port: number;
  before(() => {
    stubs = generateStubs();
  });
  after(() => fs.rmSync(stubs, { recursive: true, force: true }));
  beforeEach(async () => {
    port = await freePort();
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
  });

  const spec = (id: string, img: { data: Buffer; format: string; width: number; height: number }, detections: PySpec['detections']): PySpec => ({
    inspection_id: id,
    camera_id: 'cam-1',
    captured_at_ms: Date.now(),
    detections,
    image: { data_b64: img.data.toString('base64'), format: img.format, width: img.width, height: img.height },
  });

  it('compresses what a camera sends: webp 1024 wide, thumbnail, crops per box, annotated copy; a truncated JPEG goes to Catch', async () => {
    const flow = [
      { id: 'f1', type: 'tab' },
      { z: 'f1', id: 'ci', type: 'camera-intake', host: '127.0.0.1', port, wires: [['ic']] },
      { z: 'f1', id: 'ic', type: 'image-compress', format: 'webp', quality: '80', maxWidth: '1024', thumbnail: true, thumbnailSize: '256', crops: true, cropMargin: '0.1', annotate: true, wires: [['out']] },
      { z: 'f1', id: 'out', type: 'helper' },
      { z: 'f1', id: 'catcher', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { z: 'f1', id: 'caught', type: 'helper' },
    ];
    await helper.load([cameraIntake, imageCompress, catchNode], flow);
    await waitFor('intake listening', () => listening(port), 20_000);
    const outs: any[] = [];
    const caught: any[] = [];
    helper.getNode('out').on('input', (m: any) => outs.push(m));
    helper.getNode('caught').on('input', (m: any) => caught.push(m));

    const frame = await productImage({ width: 1920, height: 1200, defects: 3, seed: 42 });
    const dets = frame.detections.map((d) => ({ defect_class: d.defectClass, confidence: d.confidence, box: d.box! }));
    const truncated = { ...frame, data: frame.data.subarray(0, Math.floor(frame.data.length * 0.6)) };
    const res = await pythonSubmit(stubs, `127.0.0.1:${port}`, [spec('bad-1', truncated, []), spec('good-1', frame, dets)]);
    assert.deepEqual(res.map((r) => r.code), ['OK', 'OK']);
    await waitFor('one output and one caught error', () => outs.length === 1 && caught.length === 1, 30_000);

    assert.equal(caught[0].payload.inspectionId, 'bad-1');
    assert.match(caught[0].error.message, /inspection bad-1: image \(declared jpeg 1920x1200\) is corrupt or truncated/);

    const msg = outs[0];
    assert.equal(msg.payload.inspectionId, 'good-1');
    const main = await sharp(msg.payload.image.data).metadata();
    assert.deepEqual([main.format, main.width, main.height], ['webp', 1024, 640]);
    assert.deepEqual([msg.payload.image.format, msg.payload.image.width, msg.payload.image.height], ['webp', 1024, 640]);
    // Boxes stay in the camera frame's pixels; the resized inspection says what that frame was.
    assert.deepEqual([msg.payload.attributes?.sourceWidth, msg.payload.attributes?.sourceHeight], ['1920', '1200']);
    assert.deepEqual(msg.payload.detections[0].box, frame.detections[0].box);
    const thumb = await sharp(msg.thumbnail.data).metadata();
    assert.deepEqual([thumb.format, thumb.width, thumb.height], ['webp', 256, 160]);
    assert.equal(msg.crops.length, 3);
    for (const c of msg.crops) {
      const box = frame.detections[c.index].box!;
      const m = await sharp(c.data).metadata();
      assert.deepEqual([m.width, m.height], [c.width, c.height]);
      // the region holds the box with its 10% margin (clipped to the image)
      assert.ok(c.region.x <= box.x && c.region.y <= box.y, 'region starts at or before the box');
      assert.ok(c.region.x + c.region.width >= box.x + box.width && c.region.y + c.region.height >= box.y + box.height, 'region covers the box');
      assert.ok(Math.abs(c.region.width - Math.min(1920 - c.region.x, box.width * 1.2)) <= 2, `width ${c.region.width} ~ box ${box.width} + 20%`);
      assert.equal(c.defectClass, frame.detections[c.index].defectClass);
    }
    const ann = await sharp(msg.annotated.data).metadata();
    assert.deepEqual([ann.width, ann.height], [1024, 640]);
  });

  it('refuses images beyond its queue bound with an error per message, and keeps going', async () => {
    const flow = [
      { id: 'f1', type: 'tab' },
      { z: 'f1', id: 'ic', type: 'image-compress', format: 'jpeg', quality: '60', maxWidth: '0', concurrency: '1', maxQueued: '1', wires: [['out']] },
      { z: 'f1', id: 'out', type: 'helper' },
      { z: 'f1', id: 'catcher', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { z: 'f1', id: 'caught', type: 'helper' },
    ];
    await helper.load([imageCompress, catchNode], flow);
    const outs: any[] = [];
    const caught: any[] = [];
    helper.getNode('out').on('input', (m: any) => outs.push(m));
    helper.getNode('caught').on('input', (m: any) => caught.push(m));
    const frame = await productImage({ width: 1920, height: 1200, seed: 3 });
    const ic = helper.getNode('ic');
    for (let i = 0; i < 6; i++) ic.receive({ payload: { inspectionId: `q-${i}`, site: 's', line: 'l', cameraId: 'c', capturedAt: 1, detections: [], image: { ...frame } } });
    await waitFor('all six accounted for', () => outs.length + caught.length === 6, 60_000);
    assert.ok(caught.length >= 1, 'some refused');
    assert.ok(outs.length >= 2, 'the running and the queued one are done');
    for (const c of caught) assert.match(c.error.message, /too many images waiting/);
    // afterwards it takes work again
    ic.receive({ payload: { inspectionId: 'after', site: 's', line: 'l', cameraId: 'c', capturedAt: 1, detections: [], image: { ...frame } } });
    await waitFor('the later one', () => outs.some((m) => m.payload.inspectionId === 'after'), 60_000);
    const m = await sharp(outs[0].payload.image.data).metadata();
    assert.equal(m.format, 'jpeg');
    assert.equal(m.width, 1920);
  });

  it('passes an inspection without an image through and fails a non-inspection with a clear error', async () => {
    const flow = [
      { id: 'f1', type: 'tab' },
      { z: 'f1', id: 'ic', type: 'image-compress', wires: [['out']] },
      { z: 'f1', id: 'out', type: 'helper' },
    ];
    await helper.load([imageCompress], flow);
    const got = new Promise<any>((r) => helper.getNode('out').on('input', r));
    const ic = helper.getNode('ic');
    ic.receive({ payload: { inspectionId: 'x', site: 's', line: 'l', cameraId: 'c', capturedAt: 1, detections: [] } });
    assert.equal((await got).payload.inspectionId, 'x');
    const err = new Promise<any>((r) => ic.on('call:error', r));
    ic.receive({ payload: 'hello' });
    assert.match(String((await err).args[0]), /msg.payload must be an Inspection/);
  });
});
