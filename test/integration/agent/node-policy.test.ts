// The agent's own node-type policy against a real repository and a real agent-supervised runtime: a
// version the repository signed (its policy allows `exec` for the line tier) is still refused by an agent
// that refuses `exec` (the default), with the node named, and the device stays on its current version.
import assert from 'node:assert/strict';
import { execFlow, probeFlow } from '../../fixtures/agent/flows';
import { waitFor } from '../../support/wait';
import { startFleet, uniqueId, type Fleet } from './fleet';

const V = (v: string) => `agent-probe@${v}`;

describe('edge agent: node types the device refuses', function () {
  this.timeout(180_000);
  let fleet: Fleet;

  before(async function () {
    this.timeout(120_000);
    fleet = await startFleet({ broker: false, repo: { nodeTypePolicy: { refuse: ['exec'], tiers: { line: { allow: ['exec'] } } } } });
  });
  after(async function () {
    this.timeout(60_000);
    await fleet?.close();
  });

  it('an agent with the default deny list refuses a signed version using exec, names the node, and keeps running its version', async () => {
    const id = uniqueId('line-deny');
    const token = await fleet.register(id, { LINE_ID: 'L9' });
    const a = await fleet.startAgent(id, token, { pollIntervalMs: 500 });
    await fleet.publish('1.0.0', probeFlow('v1'));
    await fleet.deploy({ version: '1.0.0', target: { ids: [id] } });
    await a.waitFor('running', V('1.0.0'));

    await fleet.publish('1.1.0', execFlow('v1.1'));
    const dep = await fleet.deploy({ version: '1.1.0', target: { ids: [id] } });
    const s = await a.waitFor('failed', V('1.1.0'));
    assert.deepEqual(s.reasons, ['uses node types this device refuses (agent option refuseNodeTypes: exec): exec (node sh1 "shell")']);
    assert.ok(!a.states.some((x) => x.state === 'deploying' && x.target === V('1.1.0')), 'the refused version was never deployed');
    assert.equal(a.agent.running, V('1.0.0'));
    assert.deepEqual(await a.probe(), { version: 'v1', line: 'L9' });
    await waitFor('the repository to show the refusal', async () => (await fleet.device(id)).reportedState === 'failed', 20_000);
    const dev = await fleet.device(id);
    assert.equal(dev.running, V('1.0.0'));
    assert.match(dev.reasons.join('\n'), /refuses .*exec \(node sh1 "shell"\)/);
    assert.equal((await fleet.h.admin.getDeployment(dep)).state, 'halted');
  });
});
