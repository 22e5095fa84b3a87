// plc-read: reads tags from a plc-endpoint on an interval and/or when a message arrives. Modbus reads
// are merged into the fewest requests; OPC UA uses a subscription. Sends TagSample[] in msg.payload and
// {tagName: value} in msg.values; a failed read sends quality 'bad' samples with the reason.
import type { NodeAPI } from 'node-red';
import type { TagSample } from '../../contracts/messages.schema';
import { defineNode, fmt, status, type NodeMessage } from '../kit/node-kit';
import { linkEndpoint, type ConnectionState } from '../plc-endpoint';
import { StatusThrottle } from '../kit/status-throttle';
import { ExceptionFilter } from './report-by-exception';
import { Poller } from './poller';
import type { PlcReadConfig } from './plc-read.schema';

export = function register(RED: NodeAPI) {
  defineNode<PlcReadConfig>(RED, { type: 'plc-read', configSchema: 'PlcReadConfig' }, ({ node, config, label }) => {
    let polls = 0;
    let tagCount = 0;
    const okText = () => `${fmt(tagCount)} tags${polls ? `, ${fmt(polls)} reads` : ''}`;
    const { driver, detach } = linkEndpoint(RED, config.endpoint, node, label, () => okText());
    const names = (config.tags ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    let tags;
    try {
      tags = driver.table.select(names);
    } catch (err) {
      detach();
      throw err;
    }
    tagCount = tags.length;
    const rbe = config.reportByException ? new ExceptionFilter((t) => driver.table.get(t)?.deadband ?? 0) : undefined;

    const throttle = new StatusThrottle((s) => node.status(s));
    const showPoll = (samples: TagSample[]) => {
      polls++;
      throttle.update(() => {
        const bad = samples.filter((s) => s.quality === 'bad');
        return bad.length ? status.failed(`${fmt(bad.length)} bad: ${bad[0].reason ?? ''}`) : driver.state.phase === 'connected' ? status.ok(okText()) : undefined;
      });
    };
    const emit = (samples: TagSample[], base: NodeMessage = {}) => {
      const out = rbe ? rbe.filter(samples) : samples;
      showPoll(samples);
      if (out.length === 0) return false;
      const values: Record<string, TagSample['value']> = {};
      for (const s of out) values[s.tag] = s.value;
      node.send({ ...base, topic: (base.topic as string) ?? driver.device, payload: out, values } as NodeMessage);
      return true;
    };

    const readOnce = async () => emit(await driver.read(tags, { maxGap: config.maxGap }));

    let poller: Poller | undefined;
    let subscription: Promise<{ close(): Promise<void> } | undefined> | undefined;
    let onState: ((s: ConnectionState) => void) | undefined;
    if (config.intervalMs > 0 && driver.subscribe) {
      const subscribe = driver.subscribe.bind(driver);
      subscription = subscribe(tags, config.intervalMs, (samples) => emit(samples)).catch((err: Error) => {
        node.error(`subscription failed: ${err.message}`);
        return undefined;
      });
      // A subscription is silent while the link is down: say so with bad samples, once per outage.
      let down = false;
      onState = (s) => {
        if (s.phase === 'disconnected' && !down) {
          down = true;
          const ts = Date.now();
          emit(tags.map((t) => ({ device: driver.device, tag: t.name, value: null, quality: 'bad' as const, ts, reason: s.reason ?? 'disconnected' })));
        } else if (s.phase === 'connected') down = false;
      };
      driver.on('state', onState);
    } else if (config.intervalMs > 0) {
      poller = new Poller(() => readOnce().then(() => undefined), config.intervalMs);
      poller.start();
    }

    return {
      async input(msg, send, done) {
        const samples = await driver.read(tags, { maxGap: config.maxGap });
        const values: Record<string, TagSample['value']> = {};
        for (const s of samples) values[s.tag] = s.value;
        showPoll(samples);
        // A triggered read always answers with every tag, even under report-by-exception.
        const m = msg as NodeMessage & { values?: unknown };
        m.payload = samples;
        m.values = values;
        if (m.topic === undefined) m.topic = driver.device;
        send(m);
        done();
      },
      async close() {
        throttle.stop();
        await poller?.stop();
        if (onState) driver.off('state', onState);
        await (await subscription)?.close();
        detach();
      },
    };
  });
};
