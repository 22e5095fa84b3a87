import assert from 'node:assert/strict';
import { diffView } from '../../../../../runtime/repo/console/diff-view';

const A = [
  { id: 't', type: 'tab', label: 'Line' },
  { id: 'r', type: 'defect-rule', z: 't', name: 'holes', threshold: 0.5, x: 10, y: 10, wires: [['w']] },
  { id: 'w', type: 'plc-write', z: 't', name: 'lamp', x: 20, y: 10, wires: [] },
  { id: 'gone', type: 'debug', z: 't', x: 30, y: 30, wires: [] },
];
const B = [
  { id: 't', type: 'tab', label: 'Line' },
  { id: 'r', type: 'defect-rule', z: 't', name: 'holes', threshold: 0.7, rules: [{ cls: 'hole' }], x: 10, y: 10, wires: [['w'], []] },
  { id: 'w', type: 'plc-write', z: 't', name: 'lamp', x: 99, y: 10, wires: [] },
  { id: 'new', type: 'catch', z: 't', scope: null, x: 40, y: 40, wires: [] },
];

describe('console diff view: two versions side by side, by node and property', () => {
  it('lists removed, added and changed nodes with the values before and after', () => {
    const d = diffView(A, B);
    assert.equal(d.same, false);
    assert.deepEqual(d.rows.map((r) => [r.change, r.id]), [['removed', 'gone'], ['added', 'new'], ['changed', 'r']]);
    const changed = d.rows.find((r) => r.id === 'r')!;
    assert.equal(changed.name, 'holes');
    assert.deepEqual(changed.properties, [
      { name: 'rules', before: undefined, after: '[{"cls":"hole"}]' },
      { name: 'threshold', before: '0.5', after: '0.7' },
      { name: 'wires', before: '[["w"]]', after: '[["w"],[]]' },
    ]);
    // Added and removed nodes show their settings (never id, position or tab) on their side only.
    assert.deepEqual(d.rows.find((r) => r.id === 'new')!.properties.map((p) => [p.name, p.before, p.after]), [['scope', undefined, 'null'], ['type', undefined, 'catch'], ['wires', undefined, '[]']]);
    assert.equal(d.unchanged, 2, 'the tab, and the write node that only moved');
  });

  it('shows moves on the canvas only when asked', () => {
    const d = diffView(A, B, { layout: true });
    assert.deepEqual(d.rows.find((r) => r.id === 'w')!.properties, [{ name: 'x', before: '20', after: '99' }]);
    assert.equal(diffView(A, A).same, true);
    assert.deepEqual(diffView(A, A).rows, []);
  });
});
