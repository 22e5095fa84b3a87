import assert from 'node:assert/strict';
import { mapInspection, type ProtoInspection } from '../../../../nodes/camera-intake/inspection-mapper';

const opts = { site: 's1', line: 'L0' };
const jpegBytes = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);

function proto(over: Partial<ProtoInspection> = {}): ProtoInspection {
  return {
    inspection_id: 'i-1',
    camera_id: 'c1',
    line_id: '',
    product_serial: '',
    captured_at_ms: 1_760_000_000_000,
    detections: [{ defect_class: 'scratch', confidence: 0.5, box: { x: 1, y: 2, width: 3, height: 4 } }],
    image: { data: jpegBytes, format: 'jpeg', width: 10, height: 10 },
    model_version: '',
    attributes: {},
    ...over,
  };
}

describe('camera-intake inspection-mapper', () => {
  it('maps proto fields to the Inspection contract, defaulting line and leaving empty optionals out', () => {
    const r = mapInspection(proto(), opts);
    assert.ok(r.ok);
    assert.deepEqual({ ...r.inspection, image: undefined }, {
      inspectionId: 'i-1', site: 's1', line: 'L0', cameraId: 'c1', capturedAt: 1_760_000_000_000,
      detections: [{ defectClass: 'scratch', confidence: 0.5, box: { x: 1, y: 2, width: 3, height: 4 } }], image: undefined,
    });
    assert.equal(r.inspection.image!.data, jpegBytes, 'same Buffer, not a copy');
  });

  it('keeps line, serial, model version and attributes when given; int64 as string too', () => {
    const r = mapInspection(proto({ line_id: 'L9', product_serial: 'SN', model_version: 'm2', attributes: { a: 'b' }, captured_at_ms: '1760000000001' }), opts);
    assert.ok(r.ok);
    assert.equal(r.inspection.line, 'L9');
    assert.equal(r.inspection.productSerial, 'SN');
    assert.equal(r.inspection.modelVersion, 'm2');
    assert.deepEqual(r.inspection.attributes, { a: 'b' });
    assert.equal(r.inspection.capturedAt, 1_760_000_000_001);
  });

  it('accepts a box that ends exactly on the image edge and a raw image of the right size', () => {
    const ok1 = mapInspection(proto({ detections: [{ defect_class: 'x', confidence: 1, box: { x: 6, y: 0, width: 4, height: 10 } }] }), opts);
    assert.ok(ok1.ok);
    const ok2 = mapInspection(proto({ image: { data: Buffer.alloc(10 * 10 * 1), format: 'raw', width: 10, height: 10 }, attributes: { channels: '1' } }), opts);
    assert.ok(ok2.ok);
    const ok3 = mapInspection(proto({ image: { data: Buffer.alloc(4 * 5 * 3), format: 'raw', width: 4, height: 5 }, detections: [] }), opts);
    assert.ok(ok3.ok, 'raw defaults to 3 channels');
  });

  const cases: Array<[string, Partial<ProtoInspection>, string]> = [
    ['no id', { inspection_id: '' }, 'inspection_id is required'],
    ['long id', { inspection_id: 'x'.repeat(129) }, 'inspection_id must be at most 128 characters'],
    ['no camera', { camera_id: undefined }, 'camera_id is required'],
    ['no time', { captured_at_ms: 0 }, 'captured_at_ms is required'],
    ['negative time', { captured_at_ms: -5 }, 'captured_at_ms is required'],
    ['confidence NaN', { detections: [{ defect_class: 'a', confidence: NaN }] }, 'detections[0].confidence must be between 0 and 1'],
    ['confidence > 1', { detections: [{ defect_class: 'a', confidence: 1.01 }] }, 'detections[0].confidence must be between 0 and 1'],
    ['no class', { detections: [{ confidence: 0.1 }] }, 'detections[0].defect_class is required'],
    ['box x negative', { detections: [{ defect_class: 'a', confidence: 0.1, box: { x: -1, y: 0, width: 1, height: 1 } }] }, 'detections[0].box.x must be >= 0'],
    ['box height 0', { detections: [{ defect_class: 'a', confidence: 0.1, box: { x: 0, y: 0, width: 1, height: 0 } }] }, 'detections[0].box.height must be > 0'],
    ['box past right edge', { detections: [{ defect_class: 'a', confidence: 0.1, box: { x: 8, y: 0, width: 3, height: 1 } }] }, 'detections[0].box is outside the image: x + width = 11 > image.width 10'],
    ['box past bottom edge', { detections: [{ defect_class: 'a', confidence: 0.1, box: { x: 0, y: 9, width: 1, height: 2 } }] }, 'detections[0].box is outside the image: y + height = 11'],
    ['unknown format', { image: { data: jpegBytes, format: 'gif', width: 1, height: 1 } }, 'image.format must be one of jpeg, png, webp, avif, raw, got "gif"'],
    ['empty data', { image: { data: Buffer.alloc(0), format: 'jpeg', width: 1, height: 1 } }, 'image.data is empty'],
    ['wrong signature', { image: { data: Buffer.from('GIF89a'), format: 'webp', width: 1, height: 1 } }, 'image.data does not start like a webp file'],
    ['raw too short', { image: { data: Buffer.alloc(299), format: 'raw', width: 10, height: 10 } }, 'image.data has 299 bytes but a raw 10x10 image with 3 channels needs 300'],
    ['raw channels 0', { image: { data: Buffer.alloc(100), format: 'raw', width: 10, height: 10 }, attributes: { channels: '0' } }, 'attributes.channels must be 1, 2, 3 or 4'],
    ['width fraction', { image: { data: jpegBytes, format: 'jpeg', width: 1.5, height: 1 } }, 'image.width must be a whole number >= 1'],
  ];
  for (const [what, over, expected] of cases) {
    it(`refuses ${what}, naming the field`, () => {
      const r = mapInspection(proto(over), opts);
      assert.ok(!r.ok, 'refused');
      const text = r.problems.map((p) => `${p.field} ${p.reason}`).join('; ');
      assert.ok(text.includes(expected), `${text} should include ${expected}`);
    });
  }

  it('names every bad field at once', () => {
    const r = mapInspection(proto({ inspection_id: '', camera_id: '', detections: [{ defect_class: 'a', confidence: 2 }] }), opts);
    assert.ok(!r.ok);
    assert.deepEqual(r.problems.map((p) => p.field), ['inspection_id', 'camera_id', 'detections[0].confidence']);
  });
});
