import assert from 'node:assert/strict';
import { checkFlow, checkVersion, nodeTypesOf } from '../../../../runtime/repo/publish-checks';
import { referencedParameters } from '../../../../contracts/fleet/templates';
import { lineFlow, lineTemplate } from '../../../fixtures/repo/templates';

const knownTypes = new Set(['tab', 'subflow', 'group', 'inject', 'debug', 'function', 'change']);
const parameterSchema = lineTemplate.parameters!;
const check = (flow: unknown) => checkFlow(flow, { knownTypes, parameterSchema });

describe('repo publish checks', () => {
  it('accepts a valid flow with declared, local and Node-RED built-in parameters', () => {
    assert.deepEqual(check(lineFlow()), []);
  });

  const cases: { name: string; flow: unknown; field: string; reason: RegExp }[] = [
    { name: 'not an array', flow: { id: 'x' }, field: 'flow', reason: /must be an array/ },
    { name: 'empty', flow: [], field: 'flow', reason: /at least one node/ },
    { name: 'a node that is not an object', flow: [42], field: 'flow[0]', reason: /must be an object/ },
    { name: 'missing id', flow: [{ type: 'inject' }], field: 'flow[0].id', reason: /is required/ },
    { name: 'missing type', flow: [{ id: 'a' }], field: 'flow[0].type', reason: /is required/ },
    { name: 'duplicate id', flow: [{ id: 'a', type: 'inject' }, { id: 'a', type: 'debug' }], field: 'flow[1].id', reason: /duplicates the id of flow\[0\]/ },
    { name: 'unknown type', flow: [{ id: 'a', type: 'node-red-contrib-nope' }], field: 'flow[0].type', reason: /unknown node type "node-red-contrib-nope"/ },
    { name: 'wire to a missing node', flow: [{ id: 'a', type: 'inject', wires: [['zz']] }], field: 'flow[0].wires[0][0]', reason: /wires to "zz"/ },
    { name: 'malformed wires', flow: [{ id: 'a', type: 'inject', wires: ['b'] }], field: 'flow[0].wires', reason: /array of arrays/ },
    { name: 'z to a missing tab', flow: [{ id: 'a', type: 'inject', z: 'nowhere' }], field: 'flow[0].z', reason: /not a tab or subflow/ },
    { name: 'z to a node that is not a tab', flow: [{ id: 'a', type: 'inject' }, { id: 'b', type: 'debug', z: 'a' }], field: 'flow[1].z', reason: /not a tab or subflow/ },
    { name: 'instance of a missing subflow', flow: [{ id: 'a', type: 'subflow:sf1' }], field: 'flow[0].type', reason: /subflow "sf1"/ },
    { name: 'undeclared ${NAME}', flow: [{ id: 'a', type: 'inject', topic: '${PLANT}' }], field: 'flow[0].topic', reason: /parameter "PLANT"/ },
    { name: 'undeclared old-style $(NAME)', flow: [{ id: 'a', type: 'inject', topic: '$(PLANT)' }], field: 'flow[0].topic', reason: /parameter "PLANT"/ },
    { name: 'undeclared env-typed input', flow: [{ id: 'a', type: 'inject', props: [{ p: 'payload', v: 'PLANT', vt: 'env' }] }], field: 'flow[0].props[0].v', reason: /parameter "PLANT"/ },
    { name: 'undeclared fooType env property', flow: [{ id: 'a', type: 'change', target: 'PLANT', targetType: 'env' }], field: 'flow[0].target', reason: /parameter "PLANT"/ },
    { name: 'undeclared env.get in code', flow: [{ id: 'a', type: 'function', func: "return env.get('PLANT');" }], field: 'flow[0].func', reason: /parameter "PLANT"/ },
  ];
  for (const c of cases) {
    it(`refuses ${c.name}, naming the field`, () => {
      const problems = check(c.flow);
      assert.ok(problems.some((p) => p.field === c.field && c.reason.test(p.reason)), `got ${JSON.stringify(problems)}`);
    });
  }

  it('does not take ${...} inside a longer string for a parameter (Node-RED substitutes whole values only)', () => {
    assert.deepEqual([...referencedParameters([{ id: 'a', type: 'function', func: 'return `${x}`' }]).keys()], []);
  });

  it('allows subflow instances of subflows in the flow', () => {
    assert.deepEqual(check([{ id: 'sf', type: 'subflow', env: [{ name: 'SF_ONLY' }] }, { id: 'i', type: 'inject', z: 'sf', topic: '${SF_ONLY}' }, { id: 'u', type: 'subflow:sf' }]), []);
  });

  it('refuses a version that is not semver or already published', () => {
    assert.match(checkVersion('1.0', [])[0]!.reason, /not a semantic version/);
    assert.match(checkVersion('1.0.0', ['1.0.0'])[0]!.reason, /already published/);
    assert.deepEqual(checkVersion('1.0.1', ['1.0.0']), []);
  });

  it('lists the node types a flow uses', () => {
    assert.deepEqual(nodeTypesOf(lineFlow()), ['debug', 'function', 'inject']);
  });
});
