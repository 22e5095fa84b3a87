// "Running" means healthy, against the real repository and real agent-supervised Node-RED runtimes: a
// node whose status is red fails the health window (the deploy rolls back, naming the node), and after
// the window it makes the running device degraded until it recovers.
import assert from 'node:assert/strict';
import net from 'node:net';
import { startPlcSimulator, type PlcSimulator } from '../../../runtime/dev/simulators/plc';
import { cameraFlow, plcFlow, probeFlow } from '../../fixtures/agent/flows';
import { freePort } from '../../support/services';
import { waitFor } from '../../support/wait';
import { CuttableProxy } from '../timescale-sink/harness';
import { startFleet, uniqueId, type AgentUnderTest, type Fleet } from './fleet';

const V = (v: string) => `agent-probe@${v}`;

describe('edge agent: "running" means healthy (node statuses)', function () {
  this.timeout(180_000);
  let fleet: Fleet;
  let a: AgentUnderTest;
  const id = uniqueId('line-health');
  let blocker: net.Server | undefined;
  let plc: PlcSimulator | undefined;
  let proxy: CuttableProxy | undefined;

  before(async function () {
    this.timeout(120_000);
    fleet = await startFleet({ broker: false });
    const token = await fleet.register(id, { LINE_ID: 'L1' });
    // No broker here: a short poll interval stands in for the retained desired state.
    a = await fleet.startAgent(id, token, { pollIntervalMs: 500, statusGraceMs: 1000 });
    await fleet.publish('1.0.0', probeFlow('v1'));
    await fleet.deploy({ version: '1.0.0', target: { ids: [id] } });
    await a.waitFor('running', V('1.0.0'));
  });
  after(async function () {
    this.timeout(60_000);
    await fleet?.close();
    await proxy?.down();
    await plc?.close();
    if (blocker) await new Promise((r) => blocker!.close(r));
  });

  it('a camera-intake that cannot bind its port (taken) fails the health window and rolls back, naming the node', async () => {
    const port = await freePort();
    blocker = net.createServer();
    await new Promise<void>((resolve, reject) => blocker!.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
    await fleet.publish('1.1.0', cameraFlow('v1.1', port));
    const dep = await fleet.deploy({ version: '1.1.0', target: { ids: [id] } });
    const s = await a.waitFor('rolled-back', V('1.1.0'));
    const named = s.reasons.find((r) => r.startsWith('camera-intake "line camera" (cam1) status red ring (disconnected): cannot listen'));
    assert.ok(named, s.reasons.join('\n'));
    assert.match(named!, /EADDRINUSE|address already in use|No address added/i);
    assert.equal(a.agent.running, V('1.0.0'));
    assert.deepEqual(await a.probe(), { version: 'v1', line: 'L1' });
    await waitFor('the deployment to halt in the repository', async () => (await fleet.h.admin.getDeployment(dep)).state === 'halted', 20_000);
    const d = await fleet.h.admin.getDeployment(dep);
    assert.match(d.reason ?? '', /camera-intake "line camera" \(cam1\)/);
    const dev = await fleet.device(id);
    assert.equal(dev.reportedState, 'rolled back');
    assert.ok(dev.reasons.some((r) => /camera-intake "line camera" \(cam1\).*cannot listen/.test(r)), dev.reasons.join('\n'));
  });

  it('a node that goes red after the window makes the running device degraded, naming the node, and it recovers', async () => {
    const plcPort = await freePort();
    plc = await startPlcSimulator({ port: plcPort });
    proxy = new CuttableProxy({ host: '127.0.0.1', port: plcPort });
    await proxy.up(await freePort());
    await fleet.publish('1.2.0', plcFlow('v1.2', proxy.port));
    const dep = await fleet.deploy({ version: '1.2.0', target: { ids: [id] } });
    // The endpoint's yellow "connecting" at start does not fail the window.
    await a.waitFor('running', V('1.2.0'));
    await waitFor('the deployment to complete', async () => (await fleet.h.admin.getDeployment(dep)).state === 'completed', 20_000);
    assert.equal(a.agent.health.degraded, false);

    await proxy.down();
    const health = await waitFor('the agent to call its flow degraded', () => (a.agent.health.degraded ? a.agent.health : null), 30_000);
    assert.ok(health.reasons.some((r) => r.startsWith('plc-read "line speed" (read1) status red')), health.reasons.join('\n'));
    assert.equal(a.agent.state, 'running', 'degraded is a flag on running, not a failed deploy');
    const report = a.reports.at(-1)!;
    assert.equal(report.state, 'running');
    assert.equal(report.degraded, true);
    const dev = await waitFor('the repository to show the device degraded', async () => {
      const d = await fleet.device(id);
      return d.degraded ? d : null;
    }, 20_000);
    assert.equal(dev.state, 'running');
    assert.ok(dev.reasons.some((r) => /plc-read "line speed" \(read1\) status red/.test(r)), dev.reasons.join('\n'));
    assert.equal((await fleet.h.admin.getDeployment(dep)).state, 'completed', 'the deployment that passed its window stays completed');

    await proxy.up();
    await waitFor('the agent to call its flow healthy again', () => !a.agent.health.degraded, 30_000);
    assert.equal(a.reports.at(-1)!.degraded, undefined);
    await waitFor('the repository to show the device healthy again', async () => {
      const d = await fleet.device(id);
      return !d.degraded && d.state === 'running' && d.reasons.length === 0;
    }, 20_000);
  });
});
