import assert from 'node:assert/strict';
import { detectDrift } from '../../../../runtime/agent/drift';
import { changedParts, diffFlows } from '../../../../contracts/fleet/flow-diff';

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

  it('names the nodes a hand edit changed, added and removed by type and name (id when unnamed), and what changed', () => {
    const edited = [base[0], { ...base[1], repeat: '1' }, { id: 'c', z: 't', type: 'function', name: 'fix speed' }];
    const d = detectDrift({ rev: 'r1', flows: base }, { rev: 'r2', flows: edited });
    assert.deepEqual(d?.reasons, ['edited in the local editor: nodes 1 changed (inject a: repeat), 1 added (function "fix speed"), 1 removed (debug b)']);
  });

  it('a changed parameter is named, not just "env"', () => {
    const tab = (env: unknown[]) => [{ id: 't', type: 'tab', label: 'Line', env }];
    const d = detectDrift(
      { rev: 'r1', flows: tab([{ name: 'PLC_PORT', value: '502', type: 'num' }, { name: 'SITE', value: 'p1', type: 'str' }]) },
      { rev: 'r2', flows: tab([{ name: 'PLC_PORT', value: '5020', type: 'num' }, { name: 'SITE', value: 'p1', type: 'str' }, { name: 'LINE', value: 'l2', type: 'str' }]) },
    );
    assert.deepEqual(d?.reasons, ['edited in the local editor: nodes 1 changed (tab "Line": parameter LINE, parameter PLC_PORT)']);
    const diff = diffFlows(tab([]), tab([{ name: 'UPLINK_URL', value: 'mqtt://x', type: 'str' }]));
    assert.deepEqual(changedParts(diff.changed[0]), ['parameter UPLINK_URL']);
  });
});
