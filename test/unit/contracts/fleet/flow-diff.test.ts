import assert from 'node:assert/strict';
import { diffFlows, formatDiff, ignoringLayout } from '../../../../contracts/fleet/flow-diff';

describe('flow diff (CLI, agent drift, editor sidebar)', () => {
  const base = [
    { id: 't', type: 'tab', label: 'Line' },
    { id: 'a', z: 't', type: 'camera-intake', name: 'cam', port: 50051, x: 100, y: 80, wires: [['b']] },
    { id: 'b', z: 't', type: 'defect-rule', name: 'rules', rules: [{ id: 'r1' }], x: 300, y: 80, wires: [['c']] },
    { id: 'c', z: 't', type: 'plc-write', x: 500, y: 80, wires: [] },
  ];

  it('reports nothing for the same flow, whatever the key order', () => {
    const reordered = base.map((n) => Object.fromEntries(Object.entries(n).reverse()));
    assert.deepEqual(diffFlows(base, reordered), { added: [], removed: [], changed: [], unchanged: 4, same: true });
  });

  it('names added, removed and changed nodes, separating behaviour from layout and wiring', () => {
    const next = JSON.parse(JSON.stringify(base));
    next[2].rules = [{ id: 'r1' }, { id: 'r2' }];
    next[1].x = 140;
    next[1].wires = [['b', 'd']];
    next.splice(3, 1);
    next.push({ id: 'd', z: 't', type: 'image-compress', name: 'thumbs', wires: [] });
    const d = diffFlows(base, next);
    assert.deepEqual(d.added, [{ id: 'd', type: 'image-compress', name: 'thumbs' }]);
    assert.deepEqual(d.removed, [{ id: 'c', type: 'plc-write' }]);
    assert.deepEqual(d.changed, [
      { id: 'a', type: 'camera-intake', name: 'cam', properties: [], wiresChanged: true, moved: true },
      { id: 'b', type: 'defect-rule', name: 'rules', properties: ['rules'], wiresChanged: false, moved: false },
    ]);
    assert.equal(d.unchanged, 1);
    assert.equal(d.same, false);
    assert.equal(
      formatDiff(d, 'v1', 'v2'),
      ['--- v1', '+++ v2', '- plc-write c', '+ image-compress d "thumbs"', '~ camera-intake a "cam": wires, position', '~ defect-rule b "rules": rules'].join('\n'),
    );
  });

  it('can leave out nodes that were only moved', () => {
    const moved = JSON.parse(JSON.stringify(base));
    moved[3].x = 900;
    const d = diffFlows(base, moved);
    assert.deepEqual(d.changed, [{ id: 'c', type: 'plc-write', properties: [], wiresChanged: false, moved: true }]);
    const behaviour = ignoringLayout(d);
    assert.deepEqual(behaviour.changed, []);
    assert.equal(behaviour.unchanged, 4);
    assert.equal(behaviour.same, true);
    assert.equal(formatDiff(behaviour, 'a', 'b'), 'a and b have the same nodes and settings');
  });

  it('refuses something that is not a flow', () => {
    assert.throws(() => diffFlows({ nodes: [] }, []), /must be an array/);
  });
});
