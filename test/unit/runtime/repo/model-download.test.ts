import assert from 'node:assert/strict';
import { parseRange } from '../../../../runtime/repo/model-download';
import { parseContentRange } from '../../../../runtime/repo/store/models';
import { targetStateFromReport } from '../../../../runtime/repo/rollout';

describe('model artifacts: Range and Content-Range parsing', () => {
  const cases: Array<[string | undefined, ReturnType<typeof parseRange>]> = [
    [undefined, undefined],
    ['bytes=0-99', { start: 0, end: 99 }],
    ['bytes=900-', { start: 900, end: 999 }],
    ['bytes=900-5000', { start: 900, end: 999 }],
    ['bytes=-10', { start: 990, end: 999 }],
    ['bytes=-5000', { start: 0, end: 999 }],
    ['bytes=1000-', 'unsatisfiable'],
    ['bytes=-0', 'unsatisfiable'],
    ['bytes=50-10', 'unsatisfiable'],
    ['bytes=0-1,5-6', undefined],
    ['items=0-1', undefined],
  ];
  for (const [header, want] of cases) it(`Range ${header ?? '(none)'} of 1000 bytes`, () => assert.deepEqual(parseRange(header, 1000), want));

  it('Content-Range: first <= last < total, or refused', () => {
    assert.deepEqual(parseContentRange('bytes 0-99/1000'), { start: 0, end: 99, total: 1000 });
    for (const bad of [undefined, '', 'bytes 0-1000/1000', 'bytes 10-5/100', 'bytes */100', 'bytes 0-9/*', 'items 0-9/10']) assert.equal(parseContentRange(bad), undefined, String(bad));
  });
});

describe('rollout: a deployment with models is running once the device runs them', () => {
  const models = [{ name: 'detector', version: '2.0.0' }];
  it('the flow alone is not enough when the report names other models', () => {
    assert.equal(targetStateFromReport({ state: 'running', running: 'a@1.0.0', models: [{ name: 'detector', version: '1.0.0' }] }, 'a@1.0.0', models), undefined);
    assert.equal(targetStateFromReport({ state: 'running', running: 'a@1.0.0', models: [{ name: 'detector', version: '2.0.0' }] }, 'a@1.0.0', models), 'running');
    // An older agent does not name its models: its flow decides, as before.
    assert.equal(targetStateFromReport({ state: 'running', running: 'a@1.0.0' }, 'a@1.0.0', models), 'running');
  });
});
