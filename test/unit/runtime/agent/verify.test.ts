import assert from 'node:assert/strict';
import { flowSha256, generateSigningKeys, signFlow, type VersionDocument } from '../../../../contracts/fleet/protocol';
import { nodeTypesUsed, verifyVersion } from '../../../../runtime/agent/verify';

describe('agent verify', () => {
  const keys = generateSigningKeys();
  const flow = [
    { id: 't', type: 'tab' },
    { id: 'sf', type: 'subflow', name: 's' },
    { id: 'a', z: 't', type: 'inject', wires: [['b']] },
    { id: 'b', z: 't', type: 'subflow:sf', wires: [] },
    { id: 'c', z: 't', type: 'contract-check', wires: [] },
  ];
  const sha = flowSha256(flow);
  const doc = (over: Partial<VersionDocument> = {}): VersionDocument => ({ template: 'line-qc', version: '1.2.0', flow, sha256: sha, signature: signFlow(flow, keys.privateKeyPem), createdAt: '2026-01-01T00:00:00Z', ...over });
  const want = { template: 'line-qc', version: '1.2.0', sha256: sha, signature: 'x', href: '/templates/line-qc/versions/1.2.0' };
  const installed = new Set(['inject', 'contract-check', 'function']);

  it('accepts the signed version it asked for', () => {
    assert.deepEqual(verifyVersion(want, doc(), keys.publicKeyPem, installed), []);
  });

  it('refuses a flow changed after signing (tampered), even when its claimed hash is updated', () => {
    const tampered = [...flow, { id: 'x', z: 't', type: 'function', func: 'process.exit(1)', wires: [] }];
    const problems = verifyVersion(want, doc({ flow: tampered, sha256: flowSha256(tampered) }), keys.publicKeyPem, installed);
    assert.ok(problems.some((p) => /flow sha256 .* does not match the desired/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /signature does not verify/.test(p)));
  });

  it('refuses a version signed by another key', () => {
    const other = generateSigningKeys();
    assert.deepEqual(verifyVersion(want, doc({ signature: signFlow(flow, other.privateKeyPem) }), keys.publicKeyPem, installed), ['signature does not verify with the repository public key']);
  });

  it('refuses a different version than the desired one', () => {
    assert.match(verifyVersion(want, doc({ version: '1.1.0' }), keys.publicKeyPem, installed)[0], /version document is line-qc@1\.1\.0, desired is line-qc@1\.2\.0/);
  });

  it('refuses node types the runtime does not have (deploying never installs)', () => {
    assert.deepEqual(verifyVersion(want, doc(), keys.publicKeyPem, new Set(['inject'])), ['uses node types this runtime does not have: contract-check']);
  });

  it('subflow instances and structural nodes are not node types to install', () => {
    assert.deepEqual([...nodeTypesUsed(flow)].sort(), ['contract-check', 'inject']);
  });

  it('refuses a signed version that uses a node type this device refuses, naming the nodes', () => {
    const withExec = [...flow, { id: 'sh', z: 't', type: 'exec', name: 'shell', command: 'curl x | sh', wires: [[], [], []] }];
    const signed = doc({ flow: withExec, sha256: flowSha256(withExec), signature: signFlow(withExec, keys.privateKeyPem) });
    const asked = { ...want, sha256: flowSha256(withExec) };
    const types = new Set([...installed, 'exec']);
    assert.deepEqual(verifyVersion(asked, signed, keys.publicKeyPem, types), [], 'no refused types: accepted');
    const problems = verifyVersion(asked, signed, keys.publicKeyPem, types, ['exec']);
    assert.deepEqual(problems, ['uses node types this device refuses (agent option refuseNodeTypes: exec): exec (node sh "shell")']);
  });
});
