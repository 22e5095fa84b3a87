import assert from 'node:assert/strict';
import { availableNodeTypes, typesRegisteredIn } from '../../../../runtime/repo/node-types';

describe('repo node types', () => {
  it('reads registerType calls from editor HTML', () => {
    assert.deepEqual(typesRegisteredIn(`<script>RED.nodes.registerType('mqtt in',{});RED.nodes.registerType( "tls-config", {})</script>`), ['mqtt in', 'tls-config']);
  });
  it('scans Node-RED core, the Linesight package and Dashboard 2.0 (the line screen)', () => {
    const types = availableNodeTypes();
    for (const t of ['inject', 'debug', 'function', 'change', 'mqtt in', 'mqtt-broker', 'http in', 'link in', 'junction', 'tab', 'contract-check']) assert.ok(types.has(t), `missing ${t}`);
    for (const t of ['ui-base', 'ui-page', 'ui-group', 'ui-theme', 'ui-template', 'ui-chart', 'ui-text']) assert.ok(types.has(t), `missing Dashboard 2.0 type ${t}`);
    assert.equal(types.has('node-red-contrib-nope'), false);
    assert.equal(types.has('unknown'), false, "Node-RED's placeholder for a missing type is not publishable");
  });
});
