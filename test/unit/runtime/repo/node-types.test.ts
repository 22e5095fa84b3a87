import assert from 'node:assert/strict';
import { availableNodeTypes, typesRegisteredIn } from '../../../../runtime/repo/node-types';

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
