// The templates contract: changelog and defaults from a manifest, and the one "parameters referenced =
// declared" check the repository applies when it accepts a version.
import assert from 'node:assert/strict';
import { changelogFor, defaultParameters, undeclaredParameters, unusedParameters, type TemplateManifest } from '../../../../contracts/fleet/templates';

const manifest: TemplateManifest = {
  slug: 'cell-check',
  title: 'Cell check',
  tier: 'line',
  version: '0.2.0',
  parameters: { type: 'object', properties: { LINE: { type: 'string', default: 'l1' }, SPEED: { type: 'number', default: 2.5 }, HOST: { type: 'string' } } },
  changelog: [
    { version: '0.1.0', changes: 'first cut' },
    { version: '0.2.0', changes: 'second cut' },
  ],
};

describe('templates contract', () => {
  it('takes the changelog entry of the version, or the text as it is', () => {
    assert.equal(changelogFor(manifest, '0.2.0'), 'second cut');
    assert.equal(changelogFor(manifest, '9.9.9'), undefined);
    assert.equal(changelogFor({ changelog: 'one line' }, '0.2.0'), 'one line');
    assert.equal(changelogFor({}, '0.2.0'), undefined);
  });

  it('gives the declared defaults, and nothing for a parameter without one', () => {
    assert.deepEqual(defaultParameters(manifest), { LINE: 'l1', SPEED: 2.5 });
    assert.deepEqual(defaultParameters({}), {});
  });

  const flow = [
    { id: 't', type: 'tab', env: [{ name: 'LOCAL', type: 'str', value: 'x' }] },
    { id: 'a', type: 'inject', z: 't', topic: '${LINE}', props: [{ p: 'payload', v: 'SPEED', vt: 'env' }, { p: 'l', v: 'LOCAL', vt: 'env' }] },
    { id: 'f', type: 'function', z: 't', func: "return env.get('NR_NODE_NAME') + env.get('PLANT');" },
  ];

  it('names each parameter the flow reads but the schema does not declare (not Node-RED built-ins, not the tab env)', () => {
    assert.deepEqual(undeclaredParameters(flow, manifest.parameters), [{ field: 'flow[2].func', reason: 'uses parameter "PLANT", which the template\'s parameter schema does not declare' }]);
    assert.equal(undeclaredParameters(flow, undefined).length, 3, 'LINE, SPEED and PLANT without a schema');
  });

  it('names the declared parameters the flow never reads', () => {
    assert.deepEqual(unusedParameters(flow, manifest.parameters), ['HOST']);
  });
});
