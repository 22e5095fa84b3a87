import assert from 'node:assert/strict';
import { deploymentBody } from '../../../../editor-plugins/flow-repository/deploy-form';
import { validatorFor } from '../../../../contracts/schemas';

const form = (v: Record<string, string>) => (id: string) => v[id] ?? '';

describe('flow-repository: deploy form to a deployment request', () => {
  it('builds a canary deployment with a window and a line-state gate that the repository schema accepts', () => {
    const body = deploymentBody('line-inspection', '1.2.0', form({ tier: 'line', ids: 'line-1, line-2', labels: 'site=plant1, cell = 3', strategy: 'canary', canary: '1', wave: '2', from: '22:00', to: '06:00', tz: 'Europe/Berlin', 'gate-tag': 'lineRunning', 'gate-value': 'false' }));
    assert.deepEqual(body, {
      template: 'line-inspection', version: '1.2.0',
      target: { tier: 'line', ids: ['line-1', 'line-2'], labels: { site: 'plant1', cell: '3' } },
      strategy: 'canary', canary: 1, waveSize: 2,
      window: { from: '22:00', to: '06:00', timezone: 'Europe/Berlin' },
      lineState: { tag: 'lineRunning', idleValue: false },
    });
    const v = validatorFor('RepoDeploymentCreate');
    assert.ok(v(body), JSON.stringify(v.errors));
  });

  it('builds an all-at-once deployment to a tier with numeric idle values', () => {
    const body = deploymentBody('cloud-history', '1.0.0', form({ tier: 'cloud', strategy: 'all', 'gate-tag': 'state', 'gate-value': '0' }));
    assert.deepEqual(body, { template: 'cloud-history', version: '1.0.0', target: { tier: 'cloud' }, strategy: 'all', lineState: { tag: 'state', idleValue: 0 } });
  });

  it('refuses a label without a value, naming it', () => {
    assert.throws(() => deploymentBody('x', '1.0.0', form({ labels: 'site' })), /labels: "site" must be name=value/);
  });
});
