import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../../../runtime/paths';
import { ModelError, parseModelCard } from '../../../../nodes/vision-detect/model-card';

const shipped = () => JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'models/defect-detector/1.0.0/model.json'), 'utf8'));

describe('vision-detect model-card', () => {
  it("reads the project's model.json", () => {
    const card = parseModelCard(shipped(), 'model.json');
    assert.deepEqual(card, {
      name: 'defect-detector',
      version: '1.0.0',
      classes: ['scratch', 'dent', 'hole'],
      input: { name: 'images', width: 320, height: 320, pad: [114, 114, 114] },
      output: { name: 'output0' },
      thresholds: { confidence: 0.25, iou: 0.45 },
    });
  });

  const broken: Array<[string, (m: any) => void, RegExp]> = [
    ['no classes', (m) => delete m.classes, /model defect-detector@1\.0\.0: "classes" must be a non-empty list/],
    ['grey input', (m) => (m.input.shape = [1, 1, 320, 320]), /model defect-detector@1\.0\.0: input\.shape \[1,1,320,320\] is not one RGB image/],
    ['NHWC layout', (m) => (m.input.layout = 'NHWC'), /input\.layout "NHWC" is not NCHW/],
    ['threshold above 1', (m) => (m.thresholds.confidence = 2), /thresholds\.confidence must be 0\.\.1, got 2/],
    ['another format', (m) => (m.format = 'tflite'), /format is "tflite", this node runs ONNX models/],
    ['no version', (m) => delete m.version, /model defect-detector: metadata has no "version"/],
  ];
  for (const [what, change, message] of broken) {
    it(`names the model and the reason: ${what}`, () => {
      const m = shipped();
      change(m);
      assert.throws(() => parseModelCard(m, 'x/model.json'), (err: Error) => err instanceof ModelError && message.test(err.message) && err.message.endsWith('(x/model.json)'));
    });
  }
});
