import assert from 'node:assert/strict';
import { deploymentRequest, EMPTY_DEPLOY_FORM } from '../../../../../runtime/repo/console/deploy-form';

describe('console deploy form: a POST /deployments body, each problem named by its field', () => {
  it('builds all-at-once and canary bodies with a window and a line-state gate', () => {
    assert.deepEqual(deploymentRequest({ ...EMPTY_DEPLOY_FORM, template: 'li', version: '1.0.0', tier: 'line' }).body, { template: 'li', version: '1.0.0', target: { tier: 'line' }, strategy: 'all' });
    const canary = deploymentRequest({ ...EMPTY_DEPLOY_FORM, template: 'li', version: '1.1.0', ids: 'a, b c', labels: 'site=hq', strategy: 'canary', canary: '2', waveSize: '5', windowFrom: '22:00', windowTo: '05:00', timezone: 'Europe/Berlin', gateTag: 'lineState', gateIdleValue: 'false' });
    assert.deepEqual(canary, {
      body: { template: 'li', version: '1.1.0', target: { ids: ['a', 'b', 'c'], labels: { site: 'hq' } }, strategy: 'canary', canary: 2, waveSize: 5, window: { from: '22:00', to: '05:00', timezone: 'Europe/Berlin' }, lineState: { tag: 'lineState', idleValue: false } },
      problems: [],
    });
  });

  it('names what is missing or malformed', () => {
    const r = deploymentRequest({ ...EMPTY_DEPLOY_FORM, labels: 'site', strategy: 'canary', canary: '0', waveSize: '-1', windowFrom: '25:00', windowTo: '5' });
    assert.equal(r.body, undefined);
    assert.deepEqual(r.problems.map((p) => p.field), ['template', 'version', 'labels', 'target', 'canary', 'waveSize', 'windowFrom', 'windowTo']);
  });
});
