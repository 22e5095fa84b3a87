import assert from 'node:assert/strict';
import { checkWritable, writesFromPayload } from '../../../../nodes/plc-endpoint/plc-driver';
import { TagTable } from '../../../../nodes/plc-endpoint/tag-table';

describe('plc-write payload shapes', () => {
  it('accepts {tag, value}, an array of them, and a LineAction', () => {
    assert.deepEqual(writesFromPayload({ tag: 'a', value: 1 }), [{ tag: 'a', value: 1 }]);
    assert.deepEqual(writesFromPayload([{ tag: 'a', value: true }, { tag: 'b', value: 'x' }]), [{ tag: 'a', value: true }, { tag: 'b', value: 'x' }]);
    const action = { actionId: 'x', ruleId: 'r', kind: 'divert', severity: 'warning', ts: 1, writes: [{ tag: 'Diverter', value: true }] };
    assert.deepEqual(writesFromPayload(action), [{ tag: 'Diverter', value: true }]);
  });
  const BAD: [unknown, RegExp][] = [
    ['on', /payload must be \{tag, value\}/],
    [null, /payload must be/],
    [[], /payload has no writes/],
    [{ writes: [] }, /payload has no writes/],
    [[{ value: 1 }], /write 0: tag must be a non-empty string/],
    [[{ tag: 'a', value: 1 }, { tag: 'b' }], /tag "b": value is required/],
  ];
  for (const [p, re] of BAD) it(`refuses ${JSON.stringify(p)}`, () => assert.throws(() => writesFromPayload(p), re));

  it('checks tags are known and writable', () => {
    const t = new TagTable('modbus-tcp', [{ name: 'ro', address: 'hr:0', type: 'uint16' }, { name: 'rw', address: 'hr:1', type: 'uint16', writable: true }]);
    assert.equal(checkWritable(t, [{ tag: 'rw', value: 1 }]).length, 1);
    assert.throws(() => checkWritable(t, [{ tag: 'rw', value: 1 }, { tag: 'ro', value: 1 }]), /tag "ro": is not writable/);
    assert.throws(() => checkWritable(t, [{ tag: 'zz', value: 1 }]), /tag "zz": unknown tag/);
  });
});
