import assert from 'node:assert/strict';
import { canonicalJson, flowSha256, generateSigningKeys, signFlow, verifyFlow } from '../../../../contracts/fleet/protocol';

describe('fleet protocol', () => {
  it('canonical JSON sorts keys and ignores key order and whitespace', () => {
    assert.equal(canonicalJson({ b: 1, a: [{ d: 2, c: 'x' }] }), '{"a":[{"c":"x","d":2}],"b":1}');
    assert.equal(flowSha256([{ id: '1', type: 'tab' }]), flowSha256(JSON.parse('[ { "type": "tab", "id": "1" } ]')));
  });
  it('a signed flow verifies with the public key, and fails once changed', () => {
    const keys = generateSigningKeys();
    const flow = [{ id: 'n1', type: 'inject', z: 't', wires: [] }];
    const sig = signFlow(flow, keys.privateKeyPem);
    assert.ok(verifyFlow(flow, sig, keys.publicKeyPem));
    assert.ok(!verifyFlow([{ ...flow[0], type: 'function', func: 'process.exit()' }], sig, keys.publicKeyPem));
    assert.ok(!verifyFlow(flow, sig, generateSigningKeys().publicKeyPem));
    assert.ok(!verifyFlow(flow, 'not-a-signature', keys.publicKeyPem));
  });
});
