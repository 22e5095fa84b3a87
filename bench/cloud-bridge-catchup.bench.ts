// Catch-up: cloud-bridge holds a 100,000-message backlog (200-byte messages, QoS 1) while the broker is
// away; the broker returns; how long until the outbox is empty (every message acknowledged by the broker)?
// Baseline: raw mqtt.js publishing the same 100,000 bodies at QoS 1 to the same broker, until all are
// acknowledged. Also: how fast the bridge accepts messages while the link is down (line speed).
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { benchBroker, feed, lastStatus, outboxFile, runtimeWith, sample200, waitFor } from './cloud-bridge-support';
import { report } from './support/report';

const N = Number(process.env.LINESIGHT_BRIDGE_BACKLOG ?? 100_000);
const RAW_WINDOW = 10_000;
const WINDOW = Number(process.env.LINESIGHT_BRIDGE_WINDOW ?? 1000);

async function main() {
  const broker = await benchBroker();
  const v = broker.protocolVersion;
  const prefix = `bench/${process.pid}`;

  // Raw baseline first, while the broker is up.
  const c = await mqtt.connectAsync(broker.url, { protocolVersion: v });
  const body = Buffer.from(JSON.stringify(sample200(0)));
  let acked = 0;
  const r0 = performance.now();
  // MQTT packet ids are 16-bit: no client can have 100k QoS 1 messages in flight, so raw keeps 10,000.
  for (let i = 0; i < N; i++) {
    c.publish(`${prefix}/raw/tags`, body, { qos: 1 }, () => acked++);
    if (i - acked >= RAW_WINDOW) await waitFor('raw window', () => i - acked < RAW_WINDOW, 60_000, 1);
    else if (i % 500 === 499) await new Promise((r) => setImmediate(r));
  }
  await waitFor('raw: all acknowledged', () => acked === N, 300_000, 5);
  const rawMs = performance.now() - r0;
  await c.endAsync();

  await broker.stop();
  const file = outboxFile();
  const rt = await runtimeWith([
    { id: 'tab1', type: 'tab', label: 'bench' },
    { id: 'b', type: 'cloud-broker', url: broker.url, protocolVersion: v, maxReconnectMs: 500 },
    { id: 'up', z: 'tab1', type: 'cloud-bridge', broker: 'b', topicTemplate: `${prefix}/{site}/{line}/{kind}`, site: 'plant1', line: 'line1', outboxFile: file, syncEveryMs: 10, window: WINDOW, wires: [] },
  ]);
  await waitFor('flows started', () => rt.RED.nodes.getNode('up'), 30_000);
  const up = rt.RED.nodes.getNode('up');
  const status = lastStatus(up);
  const a0 = performance.now();
  await feed(up, N, (i) => ({ payload: sample200(i) }));
  const acceptMs = performance.now() - a0;
  const reader = new Database(file, { readonly: true });
  const onDisk = () => (reader.prepare('select count(*) as n from items').get() as { n: number }).n;
  await waitFor('backlog on disk', () => onDisk() === N, 60_000, 20);

  const b0 = performance.now();
  await broker.start();
  await waitFor('bridge reconnected', () => status().startsWith('connected'), 60_000, 5);
  const connectedAt = performance.now();
  // An O(1) probe: a count(*) over a large table every few ms would itself slow the drain it measures.
  const anyLeft = reader.prepare('select 1 from items limit 1');
  await waitFor('outbox empty', () => anyLeft.get() === undefined, 600_000, 10);
  const doneAt = performance.now();
  reader.close();
  await rt.close();
  await broker.stop();

  const where = `${broker.kind}, MQTT ${v === 5 ? '5' : '3.1.1'}, ${N} msgs of 200 bytes, QoS 1, window ${WINDOW}, outbox syncEveryMs=10`;
  report({ bench: 'cloud-bridge-catchup', metric: 'drain 100k backlog after the broker returns (incl. reconnect)', value: doneAt - b0, unit: 'ms', baseline: rawMs, note: `baseline: raw mqtt.js publishing the same messages (10,000 in flight) until all PUBACKed; ${where}` });
  report({ bench: 'cloud-bridge-catchup', metric: 'drain rate once reconnected', value: (N * 1000) / (doneAt - connectedAt), unit: 'msgs/s', baseline: (N * 1000) / rawMs, note: `reconnect took ${Math.round(connectedAt - b0)} ms; ${where}` });
  report({ bench: 'cloud-bridge-catchup', metric: 'accepted into the outbox while the link is down', value: (N * 1000) / acceptMs, unit: 'msgs/s', baseline: null, note: where });
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
