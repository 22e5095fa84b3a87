// Uplink throughput, 200-byte messages at QoS 1, measured end to end (a subscriber counts arrivals), in a
// real Node-RED runtime in this process: cloud-bridge with its outbox group-committed every 10 ms, vs raw
// mqtt.js QoS 1 publishing the same bodies to the same broker, vs Node-RED's core `mqtt out` node in the same
// runtime. Goal: bridge >= 50% of raw. Best of 2 alternating runs each. Also one figure for syncEveryMs = 0
// (fsync per message) on fewer messages.
import mqtt from 'mqtt';
import { benchBroker, counter, feed, lastStatus, outboxFile, runtimeWith, sample200, waitFor } from './cloud-bridge-support';
import { report } from './support/report';

const N = Number(process.env.LINESIGHT_BRIDGE_COUNT ?? 30_000);
const N_FSYNC = Number(process.env.LINESIGHT_BRIDGE_FSYNC_COUNT ?? 2_000);
const RUNS = 3;

async function main() {
  const broker = await benchBroker();
  const v = broker.protocolVersion;
  const prefix = `bench/${process.pid}`;
  const u = new URL(broker.url);
  const rt = await runtimeWith([
    { id: 'tab1', type: 'tab', label: 'bench' },
    { id: 'b', type: 'cloud-broker', url: broker.url, protocolVersion: v },
    { id: 'up', z: 'tab1', type: 'cloud-bridge', broker: 'b', topicTemplate: `${prefix}/{site}/{line}/{kind}`, site: 'plant1', outboxFile: outboxFile(), syncEveryMs: 10, wires: [] },
    { id: 'b4', type: 'cloud-broker', url: broker.url, protocolVersion: 4 },
    { id: 'up4', z: 'tab1', type: 'cloud-bridge', broker: 'b4', topicTemplate: `${prefix}/{site}/{line}/{kind}`, site: 'plant1', outboxFile: outboxFile(), syncEveryMs: 10, wires: [] },
    { id: 'up0', z: 'tab1', type: 'cloud-bridge', broker: 'b', topicTemplate: `${prefix}/{site}/{line}/{kind}`, site: 'plant1', outboxFile: outboxFile(), syncEveryMs: 0, wires: [] },
    { id: 'mb', type: 'mqtt-broker', broker: u.hostname, port: u.port, protocolVersion: String(v), autoConnect: true, clientid: '' },
    { id: 'out', z: 'tab1', type: 'mqtt out', broker: 'mb', topic: '', qos: '1', retain: 'false', wires: [] },
  ]);
  const node = (id: string) => rt.RED.nodes.getNode(id);
  await waitFor('flows started', () => node('up') && node('out'), 30_000);
  const upStatus = lastStatus(node('up'));
  const up4Status = lastStatus(node('up4'));
  await waitFor('bridges and mqtt out connected', () => upStatus().startsWith('connected') && up4Status().startsWith('connected') && node('mb').connected, 30_000);
  let run = 0;

  // withProps: the same MQTT 5 content type and user properties cloud-bridge sends (linesight, id, kind).
  async function raw(pv: 4 | 5, withProps: boolean): Promise<number> {
    const line = `raw${++run}`;
    const sub = await counter(broker.url, `${prefix}/plant1/${line}`, v);
    const c = await mqtt.connectAsync(broker.url, { protocolVersion: pv });
    const body = Buffer.from(JSON.stringify(sample200(0)));
    let acked = 0;
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      const opts = withProps ? { qos: 1 as const, properties: { contentType: 'application/json', userProperties: { linesight: '1', id: `press1:count:${i}`, kind: 'tags' } } } : { qos: 1 as const };
      c.publish(`${prefix}/plant1/${line}/tags`, body, opts, () => acked++);
      if (i % 500 === 499) await new Promise((r) => setImmediate(r));
    }
    await waitFor('raw: all acknowledged and received', () => acked === N && sub.count() >= N, 120_000, 5);
    const ms = performance.now() - t0;
    await c.endAsync();
    await sub.end();
    return (N * 1000) / ms;
  }

  async function bridge(id: string, n: number): Promise<number> {
    const line = `bridge${++run}`;
    const sub = await counter(broker.url, `${prefix}/plant1/${line}`, v);
    const t0 = performance.now();
    await feed(node(id), n, (i) => ({ payload: sample200(i), line }));
    await waitFor('bridge: all received', () => sub.count() >= n, 300_000, 5);
    const ms = performance.now() - t0;
    await sub.end();
    return (n * 1000) / ms;
  }

  async function core(): Promise<number> {
    const line = `core${++run}`;
    const sub = await counter(broker.url, `${prefix}/plant1/${line}`, v);
    const t0 = performance.now();
    await feed(node('out'), N, (i) => ({ payload: JSON.stringify(sample200(i)), topic: `${prefix}/plant1/${line}/tags` }));
    await waitFor('mqtt out: all received', () => sub.count() >= N, 120_000, 5);
    const ms = performance.now() - t0;
    await sub.end();
    return (N * 1000) / ms;
  }

  const best = { raw: 0, rawProps: 0, raw4: 0, bridge: 0, bridge4: 0, core: 0 };
  for (let r = 0; r < RUNS; r++) {
    best.raw = Math.max(best.raw, await raw(v, false));
    best.bridge = Math.max(best.bridge, await bridge('up', N));
    best.rawProps = Math.max(best.rawProps, v === 5 ? await raw(5, true) : 0);
    best.core = Math.max(best.core, await core());
    best.raw4 = Math.max(best.raw4, await raw(4, false));
    best.bridge4 = Math.max(best.bridge4, await bridge('up4', N));
  }
  const bestRaw = best.raw;
  const fsync = await bridge('up0', N_FSYNC);
  const where = `${broker.kind}, MQTT ${v === 5 ? '5' : '3.1.1'}, ${N} msgs, best of ${RUNS}, end to end to a QoS 0 subscriber, Node-RED runtime in-process`;
  report({ bench: 'cloud-bridge-throughput', metric: 'raw mqtt.js QoS 1', value: bestRaw, unit: 'msgs/s', baseline: null, note: where });
  report({ bench: 'cloud-bridge-throughput', metric: 'cloud-bridge QoS 1, outbox syncEveryMs=10', value: best.bridge, unit: 'msgs/s', baseline: bestRaw, note: `goal >= 0.5 of raw; ${where}` });
  if (v === 5) {
    report({ bench: 'cloud-bridge-throughput', metric: 'raw mqtt.js QoS 1 with the same MQTT 5 properties (content type, id, kind)', value: best.rawProps, unit: 'msgs/s', baseline: bestRaw, note: 'what the message id as a user property costs the library itself' });
    report({ bench: 'cloud-bridge-throughput', metric: 'cloud-bridge vs raw mqtt.js with the same properties', value: best.bridge, unit: 'msgs/s', baseline: best.rawProps, note: where });
  }
  report({ bench: 'cloud-bridge-throughput', metric: 'cloud-bridge QoS 1 over MQTT 3.1.1 (envelope), syncEveryMs=10', value: best.bridge4, unit: 'msgs/s', baseline: best.raw4, note: `baseline: raw mqtt.js MQTT 3.1.1 QoS 1; ${broker.kind}, ${N} msgs, best of ${RUNS}` });
  report({ bench: 'cloud-bridge-throughput', metric: 'Node-RED core mqtt out QoS 1 (no outbox)', value: best.core, unit: 'msgs/s', baseline: bestRaw, note: `${where}; cloud-bridge/core = ${(best.bridge / best.core).toFixed(2)}` });
  report({ bench: 'cloud-bridge-throughput', metric: 'cloud-bridge QoS 1, outbox syncEveryMs=0 (fsync per message)', value: fsync, unit: 'msgs/s', baseline: bestRaw, note: `${N_FSYNC} msgs, one run` });
  await rt.close();
  await broker.stop();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
