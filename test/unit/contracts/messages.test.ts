import assert from 'node:assert/strict';
import { inspectionContract, tagSampleContract, lineActionContract, contractOf } from '../../../contracts/messages';
import { sampleInspection } from '../../fixtures/contracts';

describe('message contracts', () => {
  it('accepts a valid Inspection, TagSample and LineAction', () => {
    assert.deepEqual(inspectionContract.problems(sampleInspection()), []);
    assert.deepEqual(tagSampleContract.problems({ device: 'plc1', tag: 'speed', value: 12.5, quality: 'good', ts: 1 }), []);
    assert.deepEqual(lineActionContract.problems({ actionId: 'a1', ruleId: 'r1', kind: 'alarm', severity: 'critical', ts: 1, writes: [{ tag: 'lamp', value: true }] }), []);
  });

  const cases: Array<[string, (i: any) => void, string, string]> = [
    ['confidence above 1', (i) => (i.detections[0].confidence = 1.5), 'payload.detections[0].confidence', 'must be <= 1'],
    ['missing inspectionId', (i) => delete i.inspectionId, 'payload.inspectionId', 'is required'],
    ['capturedAt not an integer', (i) => (i.capturedAt = 1.5), 'payload.capturedAt', 'must be integer'],
    ['zero-width box', (i) => (i.detections[1].box.width = 0), 'payload.detections[1].box.width', 'must be > 0'],
    ['unknown image format', (i) => (i.image = { data: Buffer.alloc(1), format: 'gif', width: 1, height: 1 }), 'payload.image.format', 'must be one of'],
  ];
  for (const [name, mutate, field, reason] of cases) {
    it(`names the field when ${name}`, () => {
      const insp = sampleInspection();
      mutate(insp);
      const problems = inspectionContract.problems(insp);
      const hit = problems.find((p) => p.field === field);
      assert.ok(hit, `expected a problem on ${field}, got ${JSON.stringify(problems)}`);
      assert.match(hit.reason, new RegExp(reason.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      assert.throws(() => inspectionContract.assert(insp), (err: Error) => err.message.includes(field));
    });
  }

  it('accepts image data as a Buffer and as base64 text', () => {
    const insp = sampleInspection();
    insp.image = { data: Buffer.from([1, 2, 3]), format: 'jpeg', width: 10, height: 10 };
    assert.ok(inspectionContract.is(insp));
    insp.image.data = Buffer.from([1, 2, 3]).toString('base64');
    assert.ok(inspectionContract.is(insp));
  });

  it('recognises which contract a payload carries', () => {
    assert.equal(contractOf(sampleInspection()), 'inspection');
    assert.equal(contractOf([{ device: 'd', tag: 't', value: true, quality: 'good', ts: 1 }]), 'tags');
    assert.equal(contractOf({ actionId: 'a', ruleId: 'r', kind: 'stop', severity: 'critical', ts: 1, writes: [] }), 'actions');
    assert.equal(contractOf({ hello: 'world' }), undefined);
    assert.equal(contractOf([]), undefined);
  });
});
