import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import { DesiredSource } from '../../../../runtime/agent/desired-source';
import type { DesiredFetch, DeviceApi } from '../../../../runtime/agent/device-api';
import type { DesiredState } from '../../../../contracts/fleet/protocol';
import { waitFor } from '../../../support/wait';

const state = (v: string | null): DesiredState => ({
  deviceId: 'd1',
  deploymentId: v ? `dep-${v}` : null,
  version: v ? { template: 't', version: v, sha256: 'a'.repeat(64), signature: 's', href: `/templates/t/versions/${v}` } : null,
  parameters: {},
  generation: 0,
});

/** A broker connection stand-in: just enough of MqttClient for the source. */
class FakeMqtt extends EventEmitter {
  connected = true;
  subscribed: string[] = [];
  subscribe(topic: string, _o: unknown, cb: (err?: Error) => void) {
    this.subscribed.push(topic);
    cb();
  }
}

describe('agent desired-state source', () => {
  it('a poll answered from before the newest MQTT message never takes the agent back to the older state', async () => {
    const answers: Array<(r: DesiredFetch) => void> = [];
    const api = { desired: () => new Promise<DesiredFetch>((r) => answers.push(r)) } as unknown as DeviceApi;
    const mqtt = new FakeMqtt();
    const got: Array<[string | null, string]> = [];
    const src = new DesiredSource({ deviceId: 'd1', api, mqtt: mqtt as unknown as MqttClient, pollIntervalMs: 60_000 });
    src.on('desired', (d: DesiredState, via: string) => got.push([d.version?.version ?? null, via]));
    src.start();
    assert.deepEqual(mqtt.subscribed, ['linesight/fleet/d1/desired']);
    await waitFor('the first poll', () => answers.length === 1);
    // The deployment lands while that poll is in flight: MQTT says 2.0.0, then the old answer arrives.
    mqtt.emit('message', 'linesight/fleet/d1/desired', Buffer.from(JSON.stringify(state('2.0.0'))));
    answers[0]({ changed: true, desired: state(null), etag: '"old"' });
    await waitFor('a fresh poll', () => answers.length === 2, 2000);
    answers[1]({ changed: true, desired: state('2.0.0'), etag: '"new"' });
    await waitFor('the fresh answer', () => got.length === 2, 2000);
    assert.deepEqual(got, [['2.0.0', 'mqtt'], ['2.0.0', 'http']]);
    await src.stop();
  });

  it('ignores MQTT messages for other devices, cleared retained messages and malformed states', async () => {
    const api = { desired: async (): Promise<DesiredFetch> => ({ changed: false }) } as unknown as DeviceApi;
    const mqtt = new FakeMqtt();
    const logs: string[] = [];
    const src = new DesiredSource({ deviceId: 'd1', api, mqtt: mqtt as unknown as MqttClient, pollIntervalMs: 0, log: (l) => logs.push(l) });
    const got: unknown[] = [];
    src.on('desired', (d: unknown) => got.push(d));
    src.start();
    mqtt.emit('message', 'linesight/fleet/d2/desired', Buffer.from(JSON.stringify({ ...state('1.0.0'), deviceId: 'd2' })));
    mqtt.emit('message', 'linesight/fleet/d1/desired', Buffer.alloc(0));
    mqtt.emit('message', 'linesight/fleet/d1/desired', Buffer.from('{not json'));
    mqtt.emit('message', 'linesight/fleet/d1/desired', Buffer.from(JSON.stringify({ ...state('1.0.0'), deviceId: 'd9' })));
    await waitFor('both refusals', () => logs.length === 2, 2000);
    assert.deepEqual(got, []);
    assert.deepEqual(logs, ['[agent] ignored desired state on MQTT: not JSON', '[agent] ignored desired state on MQTT: deviceId is "d9", this device is d1']);
    await src.stop();
  });

  it('a candidate the agent refuses is emitted as refused, and HTTP keeps asking (no ETag taken from it)', async () => {
    const etags: Array<string | null> = [];
    let n = 0;
    const api = {
      desired: async (etag: string | null): Promise<DesiredFetch> => {
        etags.push(etag);
        n++;
        return { changed: true, desired: state(n < 3 ? 'forged' : '1.0.0'), etag: `"e${n}"` };
      },
    } as unknown as DeviceApi;
    const mqtt = new FakeMqtt();
    const refused: Array<[string, string]> = [];
    const got: Array<[string | null, string]> = [];
    const src = new DesiredSource({
      deviceId: 'd1',
      api,
      mqtt: mqtt as unknown as MqttClient,
      pollIntervalMs: 60_000,
      accept: async (d) => ((d as DesiredState).version?.version === 'forged' ? { ok: false, reason: 'signature does not verify' } : { ok: true, state: d as DesiredState }),
    });
    src.on('refused', (reason: string, via: string) => refused.push([reason, via]));
    src.on('desired', (d: DesiredState, via: string) => got.push([d.version?.version ?? null, via]));
    src.start();
    mqtt.emit('message', 'linesight/fleet/d1/desired', Buffer.from(JSON.stringify(state('forged'))));
    await waitFor('the first poll', () => n === 1, 2000);
    await src.pollNow();
    await src.pollNow();
    await waitFor('the accepted poll', () => got.length === 1, 2000);
    assert.deepEqual(refused, [['signature does not verify', 'mqtt'], ['signature does not verify', 'http'], ['signature does not verify', 'http']]);
    assert.deepEqual(etags, [null, null, null], 'a refused answer leaves the ETag alone, so the real state is asked for again');
    assert.deepEqual(got, [['1.0.0', 'http']]);
    await src.stop();
  });

  it('an MQTT state that cannot be checked yet (no key pinned, repository away) is tried again, not dropped', async () => {
    const api = { desired: async (): Promise<DesiredFetch> => ({ changed: false }) } as unknown as DeviceApi;
    const mqtt = new FakeMqtt();
    let reachable = false;
    const refused: string[] = [];
    const got: Array<string | null> = [];
    const src = new DesiredSource({
      deviceId: 'd1',
      api,
      mqtt: mqtt as unknown as MqttClient,
      pollIntervalMs: 0,
      accept: async (d) => (reachable ? { ok: true, state: d as DesiredState } : { ok: false, transient: true, reason: 'no key pinned' }),
    });
    src.on('refused', (reason: string) => refused.push(reason));
    src.on('desired', (d: DesiredState) => got.push(d.version?.version ?? null));
    src.start();
    mqtt.emit('message', 'linesight/fleet/d1/desired', Buffer.from(JSON.stringify(state('3.0.0'))));
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(got, []);
    reachable = true;
    await waitFor('the retried check', () => got.length === 1, 10_000);
    assert.deepEqual(got, ['3.0.0']);
    assert.deepEqual(refused, [], 'not a refusal');
    mqtt.emit('message', 'linesight/fleet/d1/desired', Buffer.from('{not json'));
    await waitFor('not JSON refused', () => refused.length === 1, 2000);
    assert.deepEqual(refused, ['it is not JSON']);
    await src.stop();
  });
});
