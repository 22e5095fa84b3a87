import assert from 'node:assert/strict';
import { startEmbeddedBroker } from '../../../runtime/embedded/broker';
import { freePort, topicPrefix } from '../../support/services';
import { sleep, waitFor } from '../../support/wait';
import { brokerNode, downlinkNode, helper, bridgeNodes, receive, tagSample, uplinkNode, watch } from './flows';
import { hasMosquitto, startPrivateMosquitto } from './private-mosquitto';

/** Checks that each topic's values arrive in increasing order and returns the distinct count. */
function checkOrderPerTopic(got: Array<{ topic: string; payload: { value: number } }>): number {
  const last = new Map<string, number>();
  const ids = new Set<string>();
  for (const m of got) {
    const prev = last.get(m.topic) ?? -1;
    assert.ok(m.payload.value > prev, `on ${m.topic} ${m.payload.value} came after ${prev}`);
    last.set(m.topic, m.payload.value);
    ids.add(`${m.topic}#${m.payload.value}`);
  }
  return ids.size;
}

describe('cloud-bridge resilience (integration)', function () {
  this.timeout(240_000);
  beforeEach(async () => {
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
  });

  for (const v of [5, 4] as const) {
    it(`broker stopped for 10 s while 10,000 messages are sent: each arrives exactly once, in order per topic (Mosquitto, MQTT ${v === 5 ? '5' : '3.1.1'})`, async function () {
      if (!hasMosquitto) this.skip();
      const m = await startPrivateMosquitto({ persistence: true });
      const prefix = topicPrefix();
      try {
        await helper.load(bridgeNodes, [
          brokerNode('tx', m.url, v),
          // The receiver keeps a persistent session, so the broker queues for it while it reconnects.
          brokerNode('rx', m.url, v, { clientId: `rx-${prefix.replace('/', '-')}`, cleanStart: false, sessionExpiry: 3600 }),
          uplinkNode('up', 'tx', prefix, { site: 'plant1', topicTemplate: `${prefix}/{site}/{line}/{kind}`, window: 100 }),
          downlinkNode('down', 'rx', prefix, ['out']),
          { id: 'out', type: 'helper' },
        ]);
        const got: any[] = [];
        helper.getNode('out').on('input', (msg: any) => got.push(msg));
        const up = helper.getNode('up');
        const down = helper.getNode('down');
        const wu = watch(up);
        const wd = watch(down);
        await waitFor('both links up', () => /^connected/.test(wu.last().text ?? '') && /^connected/.test(wd.last().text ?? ''), 20_000);
        // Prove the subscription is in place before the outage.
        await receive(up, { payload: tagSample(-1, 'probe'), line: 'probe' });
        await waitFor('probe delivered', () => got.length === 1, 20_000);
        got.length = 0;

        await m.stop();
        const stoppedAt = Date.now();
        await waitFor('uplink sees the outage', () => /disconnected/.test(wu.last().text ?? ''), 20_000);
        const lines = ['line1', 'line2', 'line3', 'line4'];
        // A thousand at a time, as a flow sends them (it does not wait for one to be done before the next):
        // each is done once its group commit is written, 10 ms at most.
        for (let from = 0; from < 10_000; from += 1000) {
          const errs = await Promise.all(Array.from({ length: 1000 }, (_, k) => from + k).map((i) => receive(up, { payload: tagSample(i, `press${i % 4}`), line: lines[i % 4] })));
          const err = errs.find((e) => e);
          if (err) throw err;
          await sleep(500);
        }
        // Every message was accepted while the broker was away; the outbox holds them all.
        await waitFor('backlog of 10,000 in the status', () => /backlog 10,000/.test(wu.last().text ?? ''), 10_000);
        await sleep(Math.max(0, 10_000 - (Date.now() - stoppedAt)));
        await m.start();
        await waitFor('all 10,000 delivered', () => got.length >= 10_000, 120_000, 200);
        await sleep(1000);
        const distinct = checkOrderPerTopic(got);
        assert.equal(distinct, 10_000);
        assert.equal(got.length, 10_000, 'duplicates were dropped by cloud-bridge-in');
        await waitFor('uplink backlog drained', () => /^connected( · [\d,]+\/s)?$/.test(wu.last().text ?? ''), 20_000);
      } finally {
        await helper.unload();
        await m.stop();
      }
    });
  }

  it('outbox full, drop-oldest: keeps the newest, counts and reports the dropped ones, delivers the rest', async () => {
    const port = await freePort();
    const prefix = topicPrefix();
    await helper.load(bridgeNodes, [brokerNode('tx', `mqtt://127.0.0.1:${port}`, 4), uplinkNode('up', 'tx', prefix, { site: 's', line: 'l', maxMessages: 100, overflow: 'drop-oldest' })]);
    const up = helper.getNode('up');
    const w = watch(up);
    // Sent as a flow sends them, without waiting for each to be done (done comes with its group commit).
    const errs = await Promise.all(Array.from({ length: 150 }, (_, i) => receive(up, { payload: tagSample(i) })));
    assert.deepEqual(errs.filter((e) => e), []);
    await waitFor('dropped in the status', () => /backlog 100 · dropped 50/.test(w.last().text ?? ''), 10_000);
    // One warning per status tick that saw new drops; the last one gives the total.
    await waitFor('a warning with the count', () => w.warn.some((x) => /outbox full \(drop-oldest\): dropped \d+ oldest message\(s\), 50 in total/.test(x)), 10_000);
    const broker = await startEmbeddedBroker({ port });
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mqtt = require('mqtt');
      const c = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
      const values: number[] = [];
      c.on('message', (_t: string, p: Buffer) => values.push(JSON.parse(p.toString()).data.value));
      await c.subscribeAsync(`${prefix}/#`, { qos: 1 });
      await waitFor('the newest 100 delivered', () => new Set(values).size >= 100, 30_000);
      assert.deepEqual([...new Set(values)].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i + 50));
      await c.endAsync();
    } finally {
      await helper.unload();
      await broker.stop();
    }
  });

  it('outbox full, refuse-newest: the new message fails with an error, nothing already stored is lost', async () => {
    const port = await freePort();
    await helper.load(bridgeNodes, [brokerNode('tx', `mqtt://127.0.0.1:${port}`, 4), uplinkNode('up', 'tx', topicPrefix(), { site: 's', line: 'l', maxMessages: 10, overflow: 'refuse-newest' })]);
    const up = helper.getNode('up');
    const w = watch(up);
    for (let i = 0; i < 10; i++) assert.equal(await receive(up, { payload: tagSample(i) }), undefined);
    const err = await receive(up, { payload: tagSample(10) });
    assert.match(String(err?.message), /outbox full, message refused \(overflow: refuse-newest\): queue full: 10 messages/);
    await waitFor('backlog 10, nothing dropped', () => /backlog 10$/.test(w.last().text ?? ''), 10_000);
  });
});
