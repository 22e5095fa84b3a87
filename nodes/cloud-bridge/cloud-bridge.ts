// cloud-bridge: the uplink. Each message is checked, written to the disk outbox and reported done to the
// flow once it is in the outbox file (the line never waits on the network); the Uplink drains the outbox
// to the broker.
import os from 'node:os';
import path from 'node:path';
import type { NodeAPI } from 'node-red';
import { useBroker, type LinkState } from '../cloud-broker';
import { DurableQueue, QueueFullError } from '../../lib/durable-queue';
import { defineNode, fmt, LinesightError, status } from '../kit/node-kit';
import type { CloudBridgeConfig } from './cloud-bridge.schema';
import { checkTopicTemplate, prepareOutbound } from './outbound';
import { Uplink } from './uplink';
import { toWire } from './wire-format';
import { RateMeter, linkStatus } from './status';

export = function register(RED: NodeAPI) {
  defineNode<CloudBridgeConfig>(RED, { type: 'cloud-bridge', configSchema: 'CloudBridgeConfig' }, ({ node, config, label }) => {
    checkTopicTemplate(config.topicTemplate);
    const link = useBroker(RED, config.broker, label);
    const userDir = (RED.settings as unknown as { userDir?: string }).userDir ?? path.join(os.tmpdir(), 'linesight');
    const file = config.outboxFile || path.join(userDir, 'linesight', 'outbox', `${node.id}.db`);
    const queue = new DurableQueue({ file, maxMessages: config.maxMessages, maxBytes: config.maxMegabytes * 1024 * 1024, overflow: config.overflow, syncEveryMs: config.syncEveryMs });
    const qos = Number(config.qos) === 2 ? 2 : 1;
    const uplink = new Uplink({
      queue,
      qos,
      window: config.window,
      transport: {
        get connected() {
          return link.connected;
        },
        publish(topic, body, meta, q, cb) {
          const w = toWire(topic, body, meta, link.protocolVersion);
          link.publish(w.topic, w.payload, { qos: q, properties: w.properties }, cb);
        },
      },
    });
    const outbound = { topicTemplate: config.topicTemplate, site: config.site, line: config.line, imageMode: config.imageMode };
    const rate = new RateMeter();
    let reportedDropped = queue.dropped;
    let loggedReason: string | undefined;

    uplink.on('rejected', (item: { meta?: { id?: string } }, err: Error) => node.error(`${label}: ${err.message}; message ${item.meta?.id} removed from the outbox`));

    const show = () => {
      const s = uplink.stats;
      node.status(linkStatus(link.state, s.backlog, rate.perSecond(s.sent), s.dropped));
      if (s.dropped > reportedDropped) {
        node.warn(`${label}: outbox full (${config.overflow}): dropped ${fmt(s.dropped - reportedDropped)} oldest message(s), ${fmt(s.dropped)} in total`);
        reportedDropped = s.dropped;
      }
    };
    const onState = (st: LinkState) => {
      if (st.state === 'connected') {
        loggedReason = undefined;
        uplink.linkUp();
      } else if (st.state === 'disconnected') {
        uplink.linkDown();
        if (st.reason && st.reason !== loggedReason) {
          loggedReason = st.reason;
          // A wrong password or certificate needs a person; an absent broker is expected now and then.
          if (st.cause === 'auth' || st.cause === 'tls' || st.cause === 'protocol') node.error(`${label}: ${st.reason}`);
          else node.warn(`${label}: ${st.reason}; messages wait in the outbox`);
        }
      }
      show();
    };
    link.on('state', onState);
    link.start();
    if (link.connected) uplink.linkUp();
    const ticker = setInterval(show, 1000);
    show();

    return {
      input(msg, _send, done) {
        const entries = prepareOutbound(msg as never, outbound);
        try {
          // Done (and so acknowledged upstream, e.g. by cloud-bridge-in) once the outbox holds it on disk.
          uplink.enqueue(entries, () => done());
        } catch (err) {
          if (err instanceof QueueFullError) throw new LinesightError(`${label}: outbox full, message refused (overflow: refuse-newest): ${err.message}`, { code: 'OUTBOX_FULL' });
          throw err;
        }
      },
      close() {
        clearInterval(ticker);
        link.off('state', onState);
        uplink.stop();
        queue.close();
      },
    };
  });
};
