// The fleet control plane cannot be steered from the broker, and a deploy never strands a device. A real
// repository (in-process, real PostgreSQL), the real broker (LINESIGHT_MQTT_URL), and an agent-supervised
// Node-RED runtime. Regression: a message published (not even retained) on linesight/fleet/{id}/desired
// with an older signed version and other parameters was deployed, and HTTP polling (304) never put the
// real state back.
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { fleetTopics, type DesiredState } from '../../../contracts/fleet/protocol';
import { probeFlow } from '../../fixtures/agent/flows';
import { waitFor } from '../../support/wait';
import { startFleet, uniqueId, type AgentUnderTest, type Fleet } from './fleet';

const V = (v: string) => `agent-probe@${v}`;

describe('edge agent: forged, replayed and foreign desired states are refused; deploys never strand a device', function () {
  this.timeout(240_000);
  let fleet: Fleet;
  let x: AgentUnderTest;
  let attacker: mqtt.MqttClient;
  const id = uniqueId('line-x');
  const other = uniqueId('line-y');
  let token: string;
  /** Genuine signed states of this device, oldest first, as the repository served them. */
  const genuine: DesiredState[] = [];

  const served = async (deviceId: string): Promise<DesiredState> => {
    const r = await fleet.h.admin.desired(deviceId);
    if (r.notModified) throw new Error('expected a body');
    return r.state;
  };
  const forge = (d: unknown, retain = false) => attacker.publishAsync(fleetTopics.desired(id), JSON.stringify(d), { qos: 1, retain });
  /** Waits until the repository shows this refusal in the device's reasons, i.e. the agent refused it and reported it. */
  const refusalReported = (pattern: RegExp) =>
    waitFor(`the refusal ${pattern} in the device's reported reasons`, async () => (await fleet.device(id)).reasons.find((r) => pattern.test(r)), 30_000);
  /** The device is on its real desired state: 1.1.0 with its own parameters. */
  const stillReal = async () => {
    assert.deepEqual(await x.probe(), { version: 'v1.1', line: 'L1' }, 'the runtime still runs the real desired state');
    assert.equal(x.agent.state, 'running');
    assert.equal(x.agent.running, V('1.1.0'));
  };

  before(async function () {
    this.timeout(120_000);
    fleet = await startFleet({ broker: true });
    token = await fleet.register(id, { LINE_ID: 'L1' });
    await fleet.register(other, { LINE_ID: 'L2' });
    for (const v of ['1.0.0', '1.1.0', '1.2.0', '1.3.0', '1.4.0']) await fleet.publish(v, probeFlow(`v${v.replace(/\.0$/, '')}`));
    // Polling every second as well as MQTT: the old bug let the forged state stick because polls got 304.
    x = await fleet.startAgent(id, token, { pollIntervalMs: 1000 });
    attacker = await mqtt.connectAsync(fleet.brokerUrl!, { protocolVersion: 4, reconnectPeriod: 0, clientId: `attacker-${process.pid}` });
  });
  after(async function () {
    this.timeout(60_000);
    await attacker?.endAsync().catch(() => {});
    await fleet?.close();
  });

  let gated: string;
  it('a line-state gate whose key was never set says so, naming the key and what sets it', async () => {
    await fleet.deploy({ version: '1.0.0', target: { ids: [id] } });
    await x.waitFor('running', V('1.0.0'));
    genuine.push(await served(id));
    gated = await fleet.deploy({ version: '1.1.0', target: { ids: [id] }, lineState: { tag: 'lineState', idleValue: 0 } });
    await x.waitFor('waiting', V('1.1.0'));
    await waitFor('the repository to show the reason', async () => (await fleet.device(id)).reasons.some((r) => /line-state gate key "lineState" has never been set/.test(r)), 20_000);
    assert.deepEqual(x.agent.reasons, ['line-state gate key "lineState" has never been set (idle is 0); the running flow sets it, e.g. plc-read -> change node (set global.lineState to msg.payload)']);
  });

  it('a redeploy of the same version without the gate frees a waiting device (it was stranded on the old gate)', async () => {
    assert.equal(x.agent.state, 'waiting');
    // The same version again, without the gate: the agent drops the old gate at once.
    const free = await fleet.deploy({ version: '1.1.0', target: { ids: [id] } });
    await x.waitFor('running', V('1.1.0'));
    await stillReal();
    await waitFor('the new deployment to complete', async () => (await fleet.h.admin.getDeployment(free)).state === 'completed', 20_000);
    const old = await fleet.h.admin.getDeployment(gated);
    assert.equal(old.devices[0]!.state, 'superseded', 'the waiting deployment is replaced, not left pending');
    genuine.push(await served(id));
    assert.ok(genuine[1]!.generation > genuine[0]!.generation);
  });

  it('forged parameters on a genuine older version (published, not retained) are refused and reported', async () => {
    const mark = x.states.length;
    await forge({ ...genuine[0], parameters: { LINE_ID: 'EVIL' } });
    const outcome = await waitFor(
      'the agent to refuse or act on the forged state',
      async () => (x.states.slice(mark).some((s) => s.state === 'downloading') ? 'acted on it' : (await fleet.device(id)).reasons.some((r) => r.startsWith('refused')) ? 'refused' : null),
      30_000,
    );
    assert.equal(outcome, 'refused');
    await refusalReported(/^refused desired state from mqtt: signature does not verify with the pinned repository key$/);
    // HTTP polling keeps answering with the real state; nothing was deployed.
    await waitFor('two more polls', () => x.desired.filter((d) => d.via === 'http').length >= 2, 10_000);
    assert.ok(!x.states.slice(mark).some((s) => s.state === 'downloading'), 'never started on the forged state');
    await stillReal();
    assert.equal(x.agent.desiredState?.generation, genuine[1]!.generation);
  });

  it('a replay of a genuine older signed state (lower generation) is refused', async () => {
    await forge(genuine[0]);
    await refusalReported(new RegExp(`^refused desired state from mqtt: generation ${genuine[0]!.generation} is older than generation ${genuine[1]!.generation}, already accepted`));
    await stillReal();
  });

  it("another device's genuine signed state is refused", async () => {
    await fleet.deploy({ version: '1.0.0', target: { ids: [other] } });
    const foreign = await served(other);
    assert.ok(foreign.generation > genuine[1]!.generation, 'even with a higher generation');
    await forge(foreign);
    await refusalReported(new RegExp(`^refused desired state from mqtt: deviceId is "${other}", this device is ${id}$`));
    await stillReal();
  });

  it('an unsigned state is refused', async () => {
    const { signature: _s, ...unsigned } = { ...genuine[1]!, generation: genuine[1]!.generation + 1_000_000, parameters: { LINE_ID: 'EVIL' } };
    await forge(unsigned);
    await refusalReported(/^refused desired state from mqtt: it is not signed$/);
    await stillReal();
    const reasons = (await fleet.device(id)).reasons;
    assert.equal(reasons.filter((r) => r.startsWith('refused desired state')).length, 4, reasons.join('\n'));
  });

  it('a restarted agent cannot be replayed into a downgrade by a retained old state', async () => {
    await x.stop();
    // The attacker overwrites the retained message with the device's own genuine, older state.
    await forge(genuine[0], true);
    x = await fleet.startAgent(id, token, { pollIntervalMs: 1000, runtime: { port: x.port, userDir: x.userDir } });
    await refusalReported(new RegExp(`^refused desired state from mqtt: generation ${genuine[0]!.generation} is older`));
    await waitFor('the real state by HTTP', () => x.desired.some((d) => d.via === 'http' && d.d.generation === genuine[1]!.generation), 20_000);
    await stillReal();
  });

  it('a genuine newer state still deploys afterwards, accepted over MQTT and over HTTP; refusals are then cleared', async () => {
    const dep = await fleet.deploy({ version: '1.2.0', target: { ids: [id] } });
    await x.waitFor('running', V('1.2.0'));
    assert.deepEqual(await x.probe(), { version: 'v1.2', line: 'L1' });
    const now = await served(id);
    await waitFor('the new state over both transports', () => ['mqtt', 'http'].every((via) => x.desired.some((d) => d.via === via && d.d.generation === now.generation)), 20_000);
    await waitFor('the deployment to complete', async () => (await fleet.h.admin.getDeployment(dep)).state === 'completed', 20_000);
    await waitFor('refusals cleared from the report', async () => !(await fleet.device(id)).reasons.some((r) => r.startsWith('refused')), 20_000);
  });

  it('a new deployment of the version already running completes without redeploying it', async () => {
    const mark = x.states.length;
    const dep = await fleet.deploy({ version: '1.2.0', target: { ids: [id] } });
    await waitFor('the deployment to complete', async () => (await fleet.h.admin.getDeployment(dep)).state === 'completed', 20_000);
    assert.ok(!x.states.slice(mark).some((s) => s.state === 'deploying'), 'the runtime was not redeployed');
  });

  it('a redeploy of the same version with another gate replaces the gate the device waits on', async () => {
    const held = await fleet.deploy({ version: '1.3.0', target: { ids: [id] }, lineState: { tag: 'lineState', idleValue: 0 } });
    await x.waitFor('waiting', V('1.3.0'));
    // A window open right now (UTC), instead of the line-state key nobody sets.
    const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
    const open = await fleet.deploy({ version: '1.3.0', target: { ids: [id] }, window: { from: hhmm(Date.now() - 3_600_000), to: hhmm(Date.now() + 3_600_000), timezone: 'UTC' } });
    await x.waitFor('running', V('1.3.0'));
    assert.deepEqual(await x.probe(), { version: 'v1.3', line: 'L1' });
    await waitFor('the new deployment to complete', async () => (await fleet.h.admin.getDeployment(open)).state === 'completed', 20_000);
    assert.equal((await fleet.h.admin.getDeployment(held)).devices[0]!.state, 'superseded');
  });

  it('a deployment the device waits on can be cancelled: the device goes back to running its version', async () => {
    const dep = await fleet.deploy({ version: '1.4.0', target: { ids: [id] }, lineState: { tag: 'lineState', idleValue: 0 } });
    await x.waitFor('waiting', V('1.4.0'));
    const c = await fleet.h.admin.cancelDeployment(dep);
    assert.equal(c.state, 'cancelled');
    await x.waitFor('running', V('1.3.0'));
    assert.equal(x.agent.target, null);
    assert.deepEqual(await x.probe(), { version: 'v1.3', line: 'L1' });
    await waitFor('the repository to show running', async () => (await fleet.device(id)).reportedState === 'running', 20_000);
    assert.equal((await fleet.h.admin.getDeployment(dep)).devices[0]!.state, 'cancelled');
  });
});
