import assert from 'node:assert/strict';
import { diffFlows, formatDiff } from '../../../runtime/repo/flow-diff';
import { availableNodeTypes, typesRegisteredIn } from '../../../runtime/repo/node-types';

describe('repo flow diff', () => {
  const a = [{ id: 't', type: 'tab' }, { id: 'n1', type: 'inject', name: 'tick', x: 1, repeat: '5' }, { id: 'n2', type: 'debug' }];
  it('finds added, removed and changed nodes, ignoring layout', () => {
    const b = [{ id: 't', type: 'tab' }, { id: 'n1', type: 'inject', name: 'tick', x: 300, repeat: '10' }, { id: 'n3', type: 'function' }];
    const d = diffFlows(a, b);
    assert.deepEqual(d.added, [{ id: 'n3', type: 'function' }]);
    assert.deepEqual(d.removed, [{ id: 'n2', type: 'debug' }]);
    assert.deepEqual(d.changed, [{ id: 'n1', type: 'inject', name: 'tick', properties: ['repeat'] }]);
    assert.match(formatDiff(d, 'A', 'B'), /~ inject n1 "tick": repeat/);
    assert.deepEqual(diffFlows(a, b, { layout: true }).changed[0]!.properties, ['repeat', 'x']);
  });
  it('says when two flows are the same', () => {
    assert.equal(diffFlows(a, structuredClone(a)).same, true);
  });
});

describe('repo node types', () => {
  it('reads registerType calls from editor HTML', () => {
    assert.deepEqual(typesRegisteredIn(`<script>RED.nodes.registerType('mqtt in',{});RED.nodes.registerType( "tls-config", {})</script>`), ['mqtt in', 'tls-config']);
  });
  it('scans Node-RED core and the Linesight package', () => {
    const types = availableNodeTypes();
    for (const t of ['inject', 'debug', 'function', 'change', 'mqtt in', 'mqtt-broker', 'http in', 'link in', 'junction', 'tab', 'contract-check']) assert.ok(types.has(t), `missing ${t}`);
    assert.equal(types.has('node-red-contrib-nope'), false);
    assert.equal(types.has('unknown'), false, "Node-RED's placeholder for a missing type is not publishable");
  });
});
