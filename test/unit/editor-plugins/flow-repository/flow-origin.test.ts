// The sidebar's publish form picks the template the open flow came from and refuses another tier; an
// import names its tab template@version without duplicates; a published flow keeps ${NAME} with the
// template's defaults, never this runtime's values (#16).
import assert from 'node:assert/strict';
import { importTabName, labelTabs, originOf, publishableFlow, tierRefusal, type TemplateInfo } from '../../../../editor-plugins/flow-repository/flow-origin';
import { fillParameters } from '../../../../contracts/fleet/parameters';

const templates: TemplateInfo[] = [
  { slug: 'cloud-history', title: 'Cloud history', tier: 'cloud', parameters: { properties: { DB_URL: {}, DB_SCHEMA: {}, BROKER_URL: {} } }, requiredNodes: ['cloud-bridge-in', 'timescale-sink'] },
  { slug: 'line-inspection', title: 'Line inspection', tier: 'line', parameters: { properties: { SITE: {}, LINE: {}, PLC_HOST: {}, PLC_PORT: {} } }, requiredNodes: ['camera-intake', 'defect-rule', 'plc-write'] },
];

describe('flow repository sidebar: where the open flow came from', () => {
  it('an imported tab named template@version (or "… (2)") names its template and version', () => {
    assert.deepEqual(originOf({ id: 't', type: 'tab', label: 'line-inspection@1.0.0 (2)' }, [], templates), { slug: 'line-inspection', version: '1.0.0', why: 'imported as line-inspection@1.0.0 (2)' });
  });

  it('else the template last published from this tab', () => {
    assert.equal(originOf({ id: 't', type: 'tab', label: 'Flow 1' }, [], templates, 'line-inspection')?.why, 'last published from this flow');
  });

  it('else a deployed flow: the template whose parameters its tab carries and whose nodes it uses (never the first alphabetically)', () => {
    const env = ['SITE', 'LINE', 'PLC_HOST', 'PLC_PORT'].map((name) => ({ name }));
    const o = originOf({ id: 'li-tab', type: 'tab', label: 'Line inspection', env }, ['camera-intake', 'defect-rule', 'plc-write', 'debug'], templates);
    assert.equal(o?.slug, 'line-inspection');
    assert.equal(originOf({ id: 'x', type: 'tab', label: 'mine' }, ['inject', 'debug'], templates), undefined);
  });

  it('refuses a template of another tier, naming both', () => {
    assert.equal(tierRefusal(templates[1], 'line'), undefined);
    assert.equal(tierRefusal(templates[0], 'line'), 'Not published: cloud-history is a cloud template and this is a line runtime. Choose a line template.');
  });

  it('names an import template@version, then template@version (2), (3)', () => {
    assert.equal(importTabName('line-inspection', '1.0.0', ['Flow 1']), 'line-inspection@1.0.0');
    assert.equal(importTabName('line-inspection', '1.0.0', ['line-inspection@1.0.0']), 'line-inspection@1.0.0 (2)');
    assert.equal(importTabName('line-inspection', '1.0.0', ['line-inspection@1.0.0', 'line-inspection@1.0.0 (2)']), 'line-inspection@1.0.0 (3)');
    assert.deepEqual(labelTabs([{ id: 't', type: 'tab', label: 'Line inspection' }, { id: 'n', type: 'debug' }], 'x@1.0.0'), [{ id: 't', type: 'tab', label: 'x@1.0.0' }, { id: 'n', type: 'debug' }]);
  });

  it('publishing from a device keeps ${NAME} and the template defaults: its parameter values and the import name are not sent', () => {
    const template = [{ id: 'li-tab', type: 'tab', label: 'Line inspection', env: [{ name: 'OWN', value: 'kept', type: 'str' }] }, { id: 'plc', z: 'li-tab', type: 'plc-endpoint', port: '${PLC_PORT}' }];
    const onDevice = labelTabs(fillParameters(template, { PLC_PORT: 15020, SITE: 'demo' }), 'line-inspection@1.0.0');
    assert.deepEqual(publishableFlow(onDevice, templates[1]), template);
    // A flow without tabs carried its values in a global-config node: dropped too.
    assert.deepEqual(publishableFlow(fillParameters([{ id: 'n', type: 'debug' }], { SITE: 'demo' }), templates[1]), [{ id: 'n', type: 'debug' }]);
  });
});
