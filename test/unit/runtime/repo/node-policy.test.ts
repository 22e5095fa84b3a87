import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../../../runtime/paths';
import { checkNodeTypePolicy, checkRequiredNodes, DEFAULT_NODE_TYPE_POLICY, parseNodeTypePolicy, parseTypeList, refusedTypes, resolveNodeTypePolicy } from '../../../../runtime/repo/node-policy';

describe('repo node-type policy', () => {
  const flow = [
    { id: 'tab1', type: 'tab', label: 'Line' },
    { id: 'fn1', z: 'tab1', type: 'function', name: 'calc', func: 'return msg;', wires: [[]] },
    { id: 'sh1', z: 'tab1', type: 'exec', name: 'shell', command: 'curl x | sh', wires: [[], [], []] },
    { id: 'sh2', z: 'tab1', type: 'exec', command: 'reboot', wires: [[], [], []] },
  ];

  it('by default refuses exec on every tier and allows function, naming each node, its type and the rule', () => {
    for (const tier of ['line', 'factory', 'cloud']) {
      const problems = checkNodeTypePolicy(flow, tier, DEFAULT_NODE_TYPE_POLICY);
      assert.deepEqual(problems.map((p) => p.field), ['flow[2].type', 'flow[3].type']);
      assert.equal(
        problems[0]!.reason,
        `node "sh1" ("shell") uses type "exec", which the node-type policy refuses for ${tier} templates (refuse (repository-wide); see GET /api/v1/policy/node-types)`,
      );
      assert.match(problems[1]!.reason, /^node "sh2" uses type "exec"/);
    }
    assert.deepEqual(checkNodeTypePolicy(flow.slice(0, 2), 'line', DEFAULT_NODE_TYPE_POLICY), []);
  });

  it('by default accepts the line screen of line-inspection: every Dashboard 2.0 node and the functions that feed it', () => {
    const lineInspection = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'flows', 'line-inspection', 'flow.json'), 'utf8')) as Array<{ type: string }>;
    assert.ok(lineInspection.some((n) => n.type === 'ui-template'), 'the template has its line screen');
    assert.deepEqual(checkNodeTypePolicy(lineInspection, 'line', DEFAULT_NODE_TYPE_POLICY), []);
    assert.deepEqual(checkRequiredNodes(['ui-base', 'ui-page', 'ui-group', 'ui-theme', 'ui-template', 'ui-chart', 'function'], 'line', DEFAULT_NODE_TYPE_POLICY), []);
  });

  it('per tier: allow lifts a repository-wide refusal, refuse adds one', () => {
    const policy = { refuse: ['exec'], tiers: { line: { allow: ['exec'] }, cloud: { refuse: ['function'] } } };
    assert.deepEqual(checkNodeTypePolicy(flow, 'line', policy), []);
    assert.deepEqual(checkNodeTypePolicy(flow, 'factory', policy).map((p) => p.field), ['flow[2].type', 'flow[3].type']);
    const cloud = checkNodeTypePolicy(flow, 'cloud', policy);
    assert.deepEqual(cloud.map((p) => p.field), ['flow[1].type', 'flow[2].type', 'flow[3].type']);
    assert.match(cloud[0]!.reason, /type "function", which the node-type policy refuses for cloud templates \(tiers\.cloud\.refuse;/);
    assert.deepEqual([...refusedTypes(policy, 'cloud').keys()].sort(), ['exec', 'function']);
    assert.deepEqual(checkRequiredNodes(['inject', 'exec'], 'factory', policy), [{ field: 'requiredNodes[1]', reason: '"exec" is refused by the node-type policy for factory templates (refuse (repository-wide); see GET /api/v1/policy/node-types)' }]);
    assert.deepEqual(checkRequiredNodes(['inject', 'exec'], 'line', policy), []);
    assert.deepEqual(checkNodeTypePolicy(flow, 'line', { refuse: [] }), [], 'an empty policy refuses nothing');
  });

  it('a policy from configuration is validated: unknown fields and tiers, wrong shapes and empty names are refused by name', () => {
    assert.deepEqual(parseNodeTypePolicy({ refuse: ['exec'], tiers: { line: { allow: ['exec'] } } }, 'test'), { refuse: ['exec'], tiers: { line: { allow: ['exec'] } } });
    assert.throws(() => parseNodeTypePolicy({ refuse: 'exec' }, 'p.json'), /node-type policy from p\.json: refuse must be array/);
    assert.throws(() => parseNodeTypePolicy({}, 'p.json'), /refuse is required/);
    assert.throws(() => parseNodeTypePolicy({ refuse: [], tier: {} }, 'p.json'), /tier is not a known field/);
    assert.throws(() => parseNodeTypePolicy({ refuse: [], tiers: { lines: { allow: ['exec'] } } }, 'p.json'), /tiers\.lines is not a known field \(expected line, factory, cloud\)/);
    assert.throws(() => parseNodeTypePolicy({ refuse: [], tiers: { line: { alow: ['exec'] } } }, 'p.json'), /tiers\.line\.alow is not a known field/);
    assert.throws(() => parseNodeTypePolicy({ refuse: [' '] }, 'p.json'), /refuse\[0\] must be a node type name/);
  });

  it('configuration: a file, then the repository-wide list (option over environment), else exec refused', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linesight-policy-'));
    try {
      const file = path.join(dir, 'policy.json');
      fs.writeFileSync(file, JSON.stringify({ refuse: ['exec', 'python3'], tiers: { line: { allow: ['exec'] } } }));
      assert.deepEqual(resolveNodeTypePolicy({}, {}), { refuse: ['exec'] });
      assert.deepEqual(resolveNodeTypePolicy({ file }, {}), { refuse: ['exec', 'python3'], tiers: { line: { allow: ['exec'] } } });
      assert.deepEqual(resolveNodeTypePolicy({}, { LINESIGHT_NODE_TYPE_POLICY: file, LINESIGHT_REFUSE_NODE_TYPES: 'exec, function' }), { refuse: ['exec', 'function'], tiers: { line: { allow: ['exec'] } } });
      assert.deepEqual(resolveNodeTypePolicy({ refuse: 'none' }, { LINESIGHT_REFUSE_NODE_TYPES: 'exec' }), { refuse: [] });
      fs.writeFileSync(file, '{ refuse: ');
      assert.throws(() => resolveNodeTypePolicy({ file }, {}), /node-type policy file .*policy\.json is not JSON/);
      assert.throws(() => resolveNodeTypePolicy({ file: path.join(dir, 'missing.json') }, {}), /node-type policy file .*missing\.json: ENOENT/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual(parseTypeList(' exec ,exec, function '), ['exec', 'function']);
    assert.deepEqual(parseTypeList(''), []);
  });
});
