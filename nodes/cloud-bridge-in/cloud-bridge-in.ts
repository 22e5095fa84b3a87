// cloud-bridge-in: the downlink. Subscribes through a cloud-broker connection, hands each message to the
// Inbound core (decode, check contract, dedupe, join images) and sends what comes out.
import type { NodeAPI } from 'node-red';
import { useBroker, type InboundMessage, type LinkState } from '../cloud-broker';
import { RateMeter, linkStatus, rememberBody } from '../cloud-bridge';
import { defineNode, fmt, status } from '../kit/node-kit';
import { SharedSends, allReadOnly } from '../kit/shared-messages';
import type { CloudBridgeInConfig } from './cloud-bridge-in.schema';
import { parseFilters, topicReader } from './filters';
import { Inbound, type InboundOutput } from './inbound';
import { CompletionAcks } from './completion-acks';

interface CompleteEvent {
  msg?: { _msgid?: string };
  node: { id: string };
}
interface Hooks {
  add(name: string, fn: (e: CompleteEvent) => void): void;
  remove(name: string): void;
}

export = function register(RED: NodeAPI) {
  defineNode<CloudBridgeInConfig>(RED, { type: 'cloud-bridge-in', configSchema: 'CloudBridgeInConfig' }, ({ node, config, label }) => {
    const filters = parseFilters(config.topics, config.shareGroup);
    const link = useBroker(RED, config.broker, label);
    const readTopic = topicReader(config.topicTemplate);
    const qos = Math.min(2, Math.max(0, Number(config.qos))) as 0 | 1 | 2;
    // The broker's acknowledgement waits until the nodes wired to the output are done with the message
    // (Node-RED's onComplete hook; a host without hooks, such as an old test helper, acknowledges on receipt).
    const hooks = (RED as unknown as { hooks?: Hooks }).hooks;
    const ackWhenHandled = config.ackAfter !== 'receipt' && qos > 0 && !!hooks;
    const targets = (node as unknown as { wires?: string[][] }).wires?.[0] ?? [];
    const acks = new CompletionAcks(targets);
    const hookName = `onComplete.linesightIn${node.id.replace(/[^A-Za-z0-9]/g, '')}`;
    if (ackWhenHandled && targets.length) {
      const targetSet = new Set(targets);
      hooks!.add(hookName, (e) => {
        const id = e.msg?._msgid;
        if (id && targetSet.has(e.node.id)) acks.complete(id, e.node.id);
      });
    }
    // Wired only to nodes that never change a message (the sink, a bridge up): one object for all of them,
    // not a deep copy per extra wire; and a bridge up may send the body as it arrived.
    const shared = new SharedSends((RED as unknown as { hooks?: never }).hooks, node.id);
    const readOnlyWires = () => shared.available && allReadOnly(targets.map((id) => (RED.nodes.getNode(id) as { type?: string } | null)?.type));
    const inbound = new Inbound({ dedupeWindow: config.dedupeWindow, joinMs: config.joinImagesMs }, (out: InboundOutput) => {
      const msg: Record<string, unknown> = { topic: out.topic, kind: out.kind, messageId: out.messageId, payload: out.payload };
      const vars = readTopic(out.topic);
      // A bridge above this one needs them for contracts that carry no site/line (TagSample).
      if (vars?.site) msg.site = vars.site;
      if (vars?.line) msg.line = vars.line;
      if (out.image) msg.image = out.image;
      if (out.imageMissing) msg.imageMissing = true;
      if (out.acks) {
        msg._msgid = RED.util.generateId();
        acks.track(msg._msgid as string, out.acks);
      }
      if (readOnlyWires()) {
        shared.mark(msg);
        if (out.body && out.payload && typeof out.payload === 'object') rememberBody(out.payload, out.body);
      }
      node.send(msg);
    });
    const rate = new RateMeter();
    let loggedReason: string | undefined;

    const show = () => {
      const st = linkStatus(link.state, 0, rate.perSecond(inbound.received), 0);
      const extra = `${inbound.duplicates ? ` · ${fmt(inbound.duplicates)} duplicates dropped` : ''}${inbound.invalid ? ` · ${fmt(inbound.invalid)} invalid` : ''}`;
      node.status({ ...st, text: `${st.text}${extra}` });
    };
    const onMessage = (m: InboundMessage) => {
      try {
        inbound.receive(m);
      } catch (err) {
        // A bad message is reported against itself (Catch nodes see it) and the stream goes on; getting it
        // again would not make it better.
        m.ack?.();
        node.error(err as Error, { topic: m.topic, payload: m.payload } as never);
      }
    };
    const onState = (st: LinkState) => {
      if (st.state === 'connected') loggedReason = undefined;
      else if (st.state === 'disconnected' && st.reason && st.reason !== loggedReason) {
        loggedReason = st.reason;
        if (st.cause === 'auth' || st.cause === 'tls' || st.cause === 'protocol') node.error(`${label}: ${st.reason}`);
        else node.warn(`${label}: ${st.reason}`);
      }
      show();
    };
    // Subscribed once the whole flow has started: what a persistent session hands over right away must
    // find the nodes it is sent to (a message sent to a node not created yet is dropped by Node-RED).
    let unsubscribe: Array<() => void> = [];
    let closed = false;
    const begin = () => {
      if (closed || unsubscribe.length) return;
      unsubscribe = subscribeAll();
      link.start();
    };
    const subscribeAll = () => filters.map((f) =>
      link.subscribe(
        f,
        qos,
        onMessage,
        (err) => {
          node.status(status.failed('subscribe refused'));
          node.error(`${label}: ${err.message}`);
        },
        { ackWhenHandled },
      ),
    );
    link.on('state', onState);
    const events = (RED as unknown as { events?: { once(ev: string, fn: () => void): void; off(ev: string, fn: () => void): void } }).events;
    if (events) events.once('flows:started', begin);
    else begin();
    const ticker = setInterval(show, 1000);
    show();

    return {
      close() {
        closed = true;
        events?.off('flows:started', begin);
        clearInterval(ticker);
        link.off('state', onState);
        for (const u of unsubscribe) u();
        inbound.close();
        hooks?.remove(hookName);
        shared.close();
        acks.flush();
      },
    };
  });
};
