// The sidebar refuses to publish a flow the repository would refuse for an undeclared parameter, with the
// same field and reason, before anything is sent; what the repository accepts it lets through.
import assert from 'node:assert/strict';
import { publishRefusal } from '../../../../editor-plugins/flow-repository/publish-check';
import { checkFlow } from '../../../../runtime/repo/publish-checks';
import { lineFlow, lineTemplate } from '../../../fixtures/repo/templates';

const template = { slug: lineTemplate.slug, parameters: lineTemplate.parameters! };

describe('flow-repository sidebar: the check before publishing', () => {
  it('lets a flow through whose parameters are declared, local to its tab, or Node-RED built-ins', () => {
    assert.equal(publishRefusal(lineFlow(), template), undefined);
  });

  it('names the property that reads an undeclared parameter, as the repository would', () => {
    const flow = [...lineFlow(), { id: 'plant', type: 'inject', z: 'tab1', topic: '${PLANT}', wires: [] }];
    const refusal = publishRefusal(flow, template);
    assert.match(refusal ?? '', /^Not published: flow\[4\]\.topic uses parameter "PLANT", which the template's parameter schema does not declare\. Declare it in the parameters of line-inspection/);
    const server = checkFlow(flow, { knownTypes: new Set(['tab', 'inject', 'function', 'debug']), parameterSchema: template.parameters });
    assert.deepEqual(server, [{ field: 'flow[4].topic', reason: 'uses parameter "PLANT", which the template\'s parameter schema does not declare' }], 'the repository refuses the same');
  });
});
