import assert from 'node:assert/strict';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../runtime/embedded/broker';
import { sampleInspection } from '../../fixtures/contracts';
import { mqttService, topicPrefix, freePort } from '../../support/services';
import { waitFor } from '../../support/wait';
import { brokerNode, downlinkNode, helper, bridgeNodes, receive, tagSample, uplinkNode, watch } from './flows';
import { hasMosquitto, startPrivateMosquitto, type PrivateMosquitto } from './private-mosquitto';

interface Target {
  name: string;
  url: () => string;
  v: 4 | 5;
  qos?: 1 | 2;
}

describe('cloud-bridge uplink and cloud-bridge-in downlink (integration)', function () {
  this.timeout(120_000);
  let aedes: EmbeddedBroker;
  let mosq: PrivateMosquitto | undefined;
  let shared: { url: string; protocolVersion: 4 | 5; kind: string };

  before(async () => {
    shared = await mqttService();
    aedes = await startEmbeddedBroker();
    if (hasMosquitto) mosq = await startPrivateMosquitto();
  });
  after(async () => {
    await aedes?.stop();
    await mosq?.stop();
  });
  beforeEach(async () => {
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
  });

  const targets: Target[] = [
    { name: 'the shared test broker (LINESIGHT_MQTT_URL or embedded)', url: () => shared.url, v: 5 },
    { name: 'embedded aedes, MQTT 3.1.1', url: () => aedes.url, v: 4 },
    { name: 'Mosquitto, MQTT 5, QoS 2', url: () => mosq!.url, v: 5, qos: 2 },
    { name: 'Mosquitto, MQTT 3.1.1', url: () => mosq!.url, v: 4 },
  ];

  for (const t of targets) {
    it(`carries every contract up and back into the contracts, image joined, over ${t.name}`, async function () {
      if (t.url === targets[0].url && shared.protocolVersion === 4) t.v = 4;
      if (t.name.startsWith('Mosquitto') && !mosq) this.skip();
      const prefix = topicPrefix();
      await helper.load(bridgeNodes, [
        brokerNode('tx', t.url(), t.v),
        brokerNode('rx', t.url(), t.v),
        uplinkNode('up', 'tx', prefix, { site: 'plant1', line: 'line1', qos: t.qos ?? 1 }),
        downlinkNode('down', 'rx', prefix, ['out'], { qos: t.qos ?? 1 }),
        { id: 'out', type: 'helper' },
      ]);
      const got: any[] = [];
      helper.getNode('out').on('input', (m: any) => got.push(m));
      const up = helper.getNode('up');
      await waitFor('both links up', () => /connected/.test(helper.getNode('down').status.lastCall?.args?.[0]?.text ?? '') && up.status.lastCall?.args?.[0]?.text?.startsWith('connected'), 20_000);
      // The downlink subscribes on connect; give the SUBACK a moment by round-tripping a status message first.
      await waitFor('the downlink to receive a probe', async () => {
        await receive(up, { kind: 'status', payload: { probe: true, site: 'plant1', line: 'line1', n: Math.random() } });
        await new Promise((r) => setTimeout(r, 200));
        return got.length > 0;
      }, 20_000, 10);
      got.length = 0;

      const image = Buffer.alloc(50_000, 0xab);
      const insp = { ...sampleInspection(7), image: { data: image, format: 'jpeg' as const, width: 640, height: 480 } };
      const action = { actionId: 'act-1', ruleId: 'r1', kind: 'alarm', severity: 'critical', ts: 1, writes: [{ tag: 'lamp', value: true }], inspectionId: insp.inspectionId };
      assert.equal(await receive(up, { payload: insp }), undefined);
      assert.equal(await receive(up, { payload: [tagSample(1), tagSample(2)] }), undefined);
      assert.equal(await receive(up, { payload: action }), undefined);
      assert.equal(await receive(up, { payload: { state: 'running' }, kind: 'status' }), undefined);
      await waitFor('four messages down', () => got.length >= 4, 20_000);
      const byKind = Object.fromEntries(got.map((m) => [m.kind, m]));
      assert.deepEqual(Object.keys(byKind).sort(), ['actions', 'inspection', 'status', 'tags']);
      const back = byKind.inspection.payload;
      assert.ok(Buffer.isBuffer(back.image.data), 'image data is a Buffer again');
      assert.ok(back.image.data.equals(image));
      assert.deepEqual({ ...back, image: { ...back.image, data: null } }, { ...insp, image: { ...insp.image, data: null } });
      assert.equal(byKind.inspection.topic, `${prefix}/plant1/line1/inspection`);
      assert.equal(byKind.inspection.messageId, insp.inspectionId);
      assert.deepEqual(byKind.tags.payload, [tagSample(1), tagSample(2)]);
      assert.deepEqual(byKind.actions.payload, action);
      assert.deepEqual(byKind.status.payload, { state: 'running' });
    });
  }

  it('a shared subscription splits one stream between two cloud-bridge-in workers, nothing lost or doubled (Mosquitto, MQTT 5)', async function () {
    if (!mosq) this.skip();
    const prefix = topicPrefix();
    const group = `g${prefix.slice(-8)}`;
    await helper.load(bridgeNodes, [
      brokerNode('tx', mosq.url, 5),
      brokerNode('rx1', mosq.url, 5),
      brokerNode('rx2', mosq.url, 5),
      uplinkNode('up', 'tx', prefix, { site: 'plant1', line: 'line1' }),
      downlinkNode('w1', 'rx1', prefix, ['o1'], { shareGroup: group }),
      downlinkNode('w2', 'rx2', prefix, ['o2'], { shareGroup: group }),
      { id: 'o1', type: 'helper' },
      { id: 'o2', type: 'helper' },
    ]);
    const got1: number[] = [];
    const got2: number[] = [];
    helper.getNode('o1').on('input', (m: any) => got1.push(m.payload.value));
    helper.getNode('o2').on('input', (m: any) => got2.push(m.payload.value));
    const ws = ['up', 'w1', 'w2'].map((id) => watch(helper.getNode(id)));
    await waitFor('all connected', () => ws.every((w) => /^connected/.test(w.last().text ?? '')), 20_000);
    const up = helper.getNode('up');
    await waitFor('both workers subscribed', async () => {
      await receive(up, { payload: tagSample(-1), messageId: `probe-${Math.random()}` });
      await new Promise((r) => setTimeout(r, 100));
      return got1.length > 0 && got2.length > 0;
    }, 20_000, 10);
    got1.length = 0;
    got2.length = 0;
    for (let i = 0; i < 200; i++) assert.equal(await receive(up, { payload: tagSample(i) }), undefined);
    await waitFor('200 split between the workers', () => got1.length + got2.length >= 200, 20_000);
    assert.ok(got1.length > 0 && got2.length > 0, `both workers got some (${got1.length} / ${got2.length})`);
    assert.deepEqual([...got1, ...got2].sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => i));
  });

  it('line -> factory -> cloud: the factory passes everything up with the same ids, image joined at the top', async () => {
    const cloud = await startEmbeddedBroker();
    try {
      const p1 = topicPrefix();
      const p2 = topicPrefix();
      await helper.load(bridgeNodes, [
        brokerNode('line-up', aedes.url, 4),
        brokerNode('factory-in', aedes.url, 4),
        brokerNode('factory-up', cloud.url, 4),
        brokerNode('cloud-in', cloud.url, 4),
        uplinkNode('line', 'line-up', p1, { site: 'plant1', line: 'line1' }),
        downlinkNode('fin', 'factory-in', p1, ['fup', 'fseen']),
        uplinkNode('fup', 'factory-up', p2, { site: 'plant1' }),
        downlinkNode('cin', 'cloud-in', p2, ['out']),
        { id: 'fseen', type: 'helper' },
        { id: 'out', type: 'helper' },
      ]);
      const got: any[] = [];
      const factoryErrors = watch(helper.getNode('fup'));
      helper.getNode('out').on('input', (m: any) => got.push(m));
      const ws = ['line', 'fin', 'fup', 'cin'].map((id) => watch(helper.getNode(id)));
      await waitFor('all links up', () => ws.every((w) => /^connected/.test(w.last().text ?? '')), 20_000);
      const line = helper.getNode('line');
      await waitFor('the chain to carry a probe', async () => {
        await receive(line, { payload: tagSample(-1), messageId: `probe-${Math.random()}` });
        await new Promise((r) => setTimeout(r, 200));
        return got.length > 0;
      }, 20_000, 10);
      got.length = 0;
      const image = Buffer.alloc(3000, 7);
      const insp = { ...sampleInspection(42), image: { data: image, format: 'webp' as const, width: 30, height: 20 } };
      assert.equal(await receive(line, { payload: insp }), undefined);
      assert.equal(await receive(line, { payload: tagSample(5) }), undefined);
      await waitFor('both at the top', () => got.length >= 2, 20_000);
      const top = got.find((m) => m.kind === 'inspection');
      assert.equal(top.messageId, 'insp-42');
      assert.ok(top.payload.image.data.equals(image));
      assert.equal(got.find((m) => m.kind === 'tags').messageId, 'press1:count:1760000000005');
      assert.deepEqual(factoryErrors.error, []);
    } finally {
      await helper.unload();
      await cloud.stop();
    }
  });

  it('refuses a payload that is not a known contract with an error naming the field, and keeps going', async () => {
    const prefix = topicPrefix();
    await helper.load(bridgeNodes, [brokerNode('tx', aedes.url, 4), uplinkNode('up', 'tx', prefix, { site: 's', line: 'l' })]);
    const up = helper.getNode('up');
    const e1 = await receive(up, { payload: { hello: 'world' } });
    assert.match(String(e1?.message), /msg\.payload is not a known Linesight contract/);
    const bad = sampleInspection(1);
    (bad.detections[0] as any).confidence = 3;
    const e2 = await receive(up, { payload: bad });
    assert.match(String(e2?.message), /not a valid Inspection: payload\.detections\[0\]\.confidence must be <= 1/);
    const e3 = await receive(up, { payload: tagSample(1), kind: 'bogus' });
    assert.match(String(e3?.message), /msg\.kind "bogus" is not one of/);
    const e4 = await receive(up, { payload: tagSample(1), line: 'a/b' });
    assert.match(String(e4?.message), /\{line\} "a\/b" may not contain \//);
    const e5 = await receive(up, { payload: Buffer.from('jpeg') });
    assert.match(String(e5?.message), /needs msg\.inspectionId/);
    assert.equal(await receive(up, { payload: tagSample(2) }), undefined, 'the next good message is accepted');
  });

  it('reports a downlink message that is not a contract against that message and goes on', async () => {
    const prefix = topicPrefix();
    await helper.load(bridgeNodes, [brokerNode('rx', aedes.url, 4), downlinkNode('down', 'rx', prefix, ['out']), { id: 'out', type: 'helper' }]);
    const down = helper.getNode('down');
    const w = watch(down);
    const got: any[] = [];
    helper.getNode('out').on('input', (m: any) => got.push(m));
    await waitFor('downlink connected', () => /connected/.test(w.last().text ?? ''), 20_000);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mqtt = require('mqtt');
    const c = await mqtt.connectAsync(aedes.url, { protocolVersion: 4 });
    try {
      await waitFor('the downlink to pass a valid message', async () => {
        await c.publishAsync(`${prefix}/s/l/tags`, JSON.stringify(tagSample(1)), { qos: 1 });
        return got.length > 0;
      }, 10_000, 300);
      await c.publishAsync(`${prefix}/s/l/tags`, 'not json at all', { qos: 1 });
      await c.publishAsync(`${prefix}/s/l/tags`, JSON.stringify({ device: 'd', tag: 't', value: 1, quality: 'perfect', ts: 1 }), { qos: 1 });
      await c.publishAsync(`${prefix}/s/l/tags`, JSON.stringify(tagSample(99)), { qos: 1 });
      await waitFor('the good message after the bad ones', () => got.some((m) => m.payload.value === 99), 10_000);
      await waitFor('two errors', () => w.error.length >= 2, 5_000);
      assert.match(w.error[0], new RegExp(`message on ${prefix}/s/l/tags: payload is neither JSON`));
      assert.match(w.error[1], /is not a known Linesight contract: payload\.quality must be one of "bad", "good", "uncertain"/);
    } finally {
      await c.endAsync();
    }
  });

  it('says the broker is unreachable, keeps accepting into the outbox, and delivers when it appears', async function () {
    const port = await freePort();
    const late = await startEmbeddedBroker({ port }).then(async (b) => {
      await b.stop();
      return port;
    });
    const prefix = topicPrefix();
    const url = `mqtt://127.0.0.1:${late}`;
    await helper.load(bridgeNodes, [brokerNode('tx', url, 4), uplinkNode('up', 'tx', prefix, { site: 's', line: 'l' })]);
    const up = helper.getNode('up');
    const w = watch(up);
    await waitFor('an unreachable warning', () => w.warn.some((x) => /refused the connection/.test(x)), 20_000);
    for (let i = 0; i < 20; i++) assert.equal(await receive(up, { payload: tagSample(i) }), undefined);
    await waitFor('status with the backlog', () => /disconnected · backlog 20/.test(w.last().text ?? ''), 5_000);
    assert.equal(w.last().fill, 'red');
    assert.equal(w.error.length, 0, 'an absent broker is a warning, not an error');
    const broker = await startEmbeddedBroker({ port });
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mqtt = require('mqtt');
      const c = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
      const seen = new Set<number>();
      c.on('message', (_t: string, p: Buffer) => seen.add(JSON.parse(p.toString()).data.value));
      await c.subscribeAsync(`${prefix}/#`, { qos: 1 });
      await waitFor('all 20 delivered', () => seen.size === 20, 30_000);
      await waitFor('status connected with no backlog', () => w.last().text === 'connected' || /^connected( · \d+\/s)?$/.test(w.last().text ?? ''), 10_000);
      await c.endAsync();
    } finally {
      await helper.unload();
      await broker.stop();
    }
  });

  it('names a wrong password as a login refusal (error, red dot) and keeps the flow running', async function () {
    if (!hasMosquitto) this.skip();
    const m = await startPrivateMosquitto({ users: { line1: 'right-secret' } });
    try {
      await helper.load(bridgeNodes, [brokerNode('tx', m.url, 5), uplinkNode('up', 'tx', topicPrefix(), { site: 's', line: 'l' })], { tx: { user: 'line1', password: 'wrong-secret' } });
      const up = helper.getNode('up');
      const w = watch(up);
      await waitFor('a login error', () => w.error.some((x) => /refused the login/.test(x)), 20_000);
      assert.ok(!w.error.join().includes('wrong-secret'), 'the password is never logged');
      await waitFor('status login refused', () => /login refused/.test(w.last().text ?? ''), 5_000);
      assert.equal(w.last().shape, 'dot');
      assert.equal(await receive(up, { payload: tagSample(1) }), undefined, 'input still accepted into the outbox');
      await helper.unload();
      // The right password connects.
      await helper.load(bridgeNodes, [brokerNode('tx', m.url, 5), uplinkNode('up', 'tx', topicPrefix(), { site: 's', line: 'l' })], { tx: { user: 'line1', password: 'right-secret' } });
      const w2 = watch(helper.getNode('up'));
      await waitFor('connected with the right password', () => /^connected/.test(w2.last().text ?? ''), 20_000);
    } finally {
      await helper.unload();
      await m.stop();
    }
  });

  it('names a certificate it cannot verify as a TLS error, and connects with the CA file', async function () {
    if (!hasMosquitto) this.skip();
    const m = await startPrivateMosquitto({ tls: true });
    try {
      await helper.load(bridgeNodes, [brokerNode('tx', m.url, 5), uplinkNode('up', 'tx', topicPrefix(), { site: 's', line: 'l' })]);
      const w = watch(helper.getNode('up'));
      await waitFor('a TLS error', () => w.error.some((x) => /TLS: the certificate of mqtts:\/\/127\.0\.0\.1:\d+ was rejected \(.*(self-signed|self signed|unable to (get|verify))/i.test(x)), 20_000);
      await waitFor('status TLS', () => /TLS certificate rejected/.test(w.last().text ?? ''), 5_000);
      await helper.unload();
      await helper.load(bridgeNodes, [brokerNode('tx', m.url, 5, { caFile: m.caFile }), uplinkNode('up', 'tx', topicPrefix(), { site: 's', line: 'l' })]);
      const w2 = watch(helper.getNode('up'));
      await waitFor('connected over TLS with the CA', () => /^connected/.test(w2.last().text ?? ''), 20_000);
    } finally {
      await helper.unload();
      await m.stop();
    }
  });

  it('a missing CA file is a config error naming the field', async () => {
    await helper.load(bridgeNodes, [brokerNode('tx', 'mqtts://127.0.0.1:1', 5, { caFile: '/nonexistent/ca.pem' }), uplinkNode('up', 'tx', topicPrefix(), { site: 's', line: 'l' })]);
    const up = helper.getNode('up');
    const err = await receive(up, { payload: tagSample(1) });
    assert.match(String(err?.message), /cloud-broker config is invalid: caFile "\/nonexistent\/ca.pem" cannot be read/);
  });
});
