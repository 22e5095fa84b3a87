import assert from 'node:assert/strict';
import { detectDrift } from '../../../../runtime/agent/drift';

describe('agent drift', () => {
  const base = [
    { id: 't', type: 'tab' },
    { id: 'a', z: 't', type: 'inject', repeat: '5' },
    { id: 'b', z: 't', type: 'debug' },
  ];

  it('no drift while the revision is unchanged, or the content is the same under a new revision', () => {
    assert.equal(detectDrift({ rev: 'r1', flows: base }, { rev: 'r1', flows: base }), null);
    assert.equal(detectDrift({ rev: 'r1', flows: base }, { rev: 'r2', flows: JSON.parse(JSON.stringify(base)) }), null);
  });

  it('names the nodes a hand edit changed, added and removed', () => {
    const edited = [base[0], { ...base[1], repeat: '1' }, { id: 'c', z: 't', type: 'function' }];
    const d = detectDrift({ rev: 'r1', flows: base }, { rev: 'r2', flows: edited });
    assert.deepEqual(d?.reasons, ['edited in the local editor: nodes 1 changed (a), 1 added (c), 1 removed (b)']);
  });
});
