// Either way of learning the desired state is enough on its own: HTTP polling with the broker down, and
// the retained MQTT message with polling set an hour apart.
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { fleetTopics, type DeviceStatusReport } from '../../../contracts/fleet/protocol';
import { probeFlow } from '../../fixtures/agent/flows';
import { freePort } from '../../support/services';
import { waitFor } from '../../support/wait';
import { startFleet, uniqueId, type Fleet } from './fleet';

describe('edge agent: desired state by polling alone and by MQTT alone', function () {
  this.timeout(180_000);
  let fleet: Fleet;
  after(async function () {
    this.timeout(60_000);
    await fleet?.close();
  });

  it('both converge: one with the broker down (polling), one polling hourly (MQTT)', async () => {
    fleet = await startFleet({ broker: true });
    const idPoll = uniqueId('line-poll');
    const idMqtt = uniqueId('line-mqtt');
    const dead = await freePort();
    const [tp, tm] = [await fleet.register(idPoll), await fleet.register(idMqtt)];
    const [poller, listener] = await Promise.all([
      fleet.startAgent(idPoll, tp, { brokerUrl: `mqtt://127.0.0.1:${dead}`, pollIntervalMs: 1000 }),
      fleet.startAgent(idMqtt, tm, { pollIntervalMs: 3_600_000 }),
    ]);
    // The hourly poller made its one start-up poll; everything after this comes by MQTT.
    await waitFor('the start-up poll', () => listener.desired.some((x) => x.via === 'http'), 20_000);

    await fleet.publish('2.0.0', probeFlow('v2'));
    await fleet.deploy({ version: '2.0.0', target: { tier: 'line' } });
    await Promise.all([poller.waitFor('running', 'agent-probe@2.0.0'), listener.waitFor('running', 'agent-probe@2.0.0')]);
    assert.deepEqual(await poller.probe(), { version: 'v2', line: idPoll });
    assert.deepEqual(await listener.probe(), { version: 'v2', line: idMqtt });

    const assigned = (x: { d: { version: unknown } }) => x.d.version !== null;
    assert.deepEqual([...new Set(poller.desired.filter(assigned).map((x) => x.via))], ['http'], 'the poller never heard from the (dead) broker');
    assert.deepEqual([...new Set(listener.desired.filter(assigned).map((x) => x.via))], ['mqtt'], 'the listener learned of the deployment by MQTT');
    assert.ok(poller.output.some((l) => /fleet broker: .*ECONNREFUSED/.test(l)), 'the broker really was down for the poller');

    // The listener's state is also on the fleet topic, retained, for anyone who subscribes later.
    const sub = await mqtt.connectAsync(fleet.brokerUrl!, { protocolVersion: 4, reconnectPeriod: 0 });
    try {
      const seen: DeviceStatusReport[] = [];
      sub.on('message', (_t, p) => p.length && seen.push(JSON.parse(p.toString())));
      await sub.subscribeAsync(fleetTopics.state(idMqtt), { qos: 1 });
      const r = await waitFor('the retained state', () => seen.find((x) => x.state === 'running'), 10_000);
      assert.equal(r.running, 'agent-probe@2.0.0');
      assert.equal(r.deviceId, idMqtt);
      assert.equal(r.runningSha256, (await fleet.h.admin.getVersion('agent-probe', '2.0.0')).sha256);
    } finally {
      await sub.endAsync();
    }
  });
});
