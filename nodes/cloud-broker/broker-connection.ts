// One MQTT connection shared by every cloud-bridge node that names the same cloud-broker config: it
// reconnects with backoff and jitter (a fresh client each time, so no stale in-flight state survives),
// re-subscribes after each reconnect, and turns library errors into sentences a person can act on.
import { EventEmitter } from 'node:events';
import mqtt, { type IClientOptions, type IClientPublishOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { Backoff, type BackoffOptions } from '../../lib/backoff';
import { redactText } from '../../lib/redact';
import { topicMatches as matches } from './topic-filter';

export interface BrokerOptions {
  url: string;
  clientId: string;
  protocolVersion: 4 | 5;
  keepalive: number;
  cleanStart: boolean;
  /** MQTT 5 session expiry interval in seconds (0 = session ends with the connection). */
  sessionExpiry: number;
  username?: string;
  password?: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  passphrase?: string;
  rejectUnauthorized: boolean;
  connectTimeoutMs: number;
  /** MQTT 5 receive maximum: QoS 1/2 messages the broker may have unacknowledged at this client at once. */
  receiveMaximum?: number;
  backoff?: BackoffOptions;
}

export type LinkStateName = 'idle' | 'connecting' | 'connected' | 'disconnected' | 'closed';
export interface LinkState {
  state: LinkStateName;
  /** Why the link is not up, in words (never contains a secret). */
  reason?: string;
  /** unreachable | auth | tls | protocol | other */
  cause?: 'unreachable' | 'auth' | 'tls' | 'protocol' | 'other';
  /** Milliseconds until the next attempt, when one is scheduled. */
  retryInMs?: number;
}

export interface InboundMessage {
  topic: string;
  payload: Buffer;
  properties?: { contentType?: string; userProperties?: Record<string, string | string[]> };
  /**
   * Present for a QoS 1 message delivered to a subscription made with `ackWhenHandled`: call it once the
   * message is safe (stored, or refused for good). The broker's PUBACK waits for it, so a process killed
   * before then gets the message again (persistent session) instead of losing it.
   */
  ack?: () => void;
}

type Listener = (m: InboundMessage) => void;
interface Subscription {
  filter: string;
  qos: 0 | 1 | 2;
  listener: Listener;
  onError?: (err: Error) => void;
  ackWhenHandled?: boolean;
}

export interface SubscribeOptions {
  /** Hold the PUBACK of each QoS 1 message until the listener calls `m.ack()`. */
  ackWhenHandled?: boolean;
}

// mqtt.js acknowledges a QoS 1 message once `handleMessage` calls back, and reads no further packet until
// it does; calling back with this marker skips its PUBACK without stalling the stream, and the connection
// sends the PUBACK itself when the listeners say the message is safe.
const ACK_LATER = new Error('acknowledged later by the listener');

/** MQTT 5 reason codes on PUBACK/PUBREC that no retry can fix. */
const PERMANENT_PUBLISH_CODES = new Set([0x87, 0x90, 0x95, 0x99]);

export class PublishError extends Error {
  readonly permanent: boolean;
  readonly reasonCode?: number;
  constructor(message: string, permanent: boolean, reasonCode?: number) {
    super(message);
    this.name = 'PublishError';
    this.permanent = permanent;
    this.reasonCode = reasonCode;
  }
}

/** Says in words what went wrong with a connection attempt, and which kind of problem it is. */
export function describeConnectError(original: Error & { code?: string | number }, url: string): { reason: string; cause: NonNullable<LinkState['cause']> } {
  // A library's message may echo the URL it was given, userinfo and all.
  const err = { code: original.code, message: redactText(original.message) };
  const code = err.code;
  const host = safeHost(url);
  if (code === 'ECONNREFUSED') return { reason: `broker ${host} refused the connection (nothing listening)`, cause: 'unreachable' };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return { reason: `broker host ${host} not found`, cause: 'unreachable' };
  if (code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || /timeout/i.test(err.message)) return { reason: `broker ${host} unreachable (${err.message})`, cause: 'unreachable' };
  if (code === 'ECONNRESET' || code === 'EPIPE') return { reason: `connection to ${host} was reset`, cause: 'unreachable' };
  // CONNACK refusals: 3.1.1 return codes 4/5, MQTT 5 reason codes 0x86/0x87/0x8C.
  if (code === 4 || code === 5 || code === 0x86 || code === 0x87 || code === 0x8c || /not authori[sz]ed|bad user ?name or password/i.test(err.message)) {
    return { reason: `broker ${host} refused the login: ${code === 4 || code === 0x86 ? 'bad username or password' : 'not authorized'} (check the user and password)`, cause: 'auth' };
  }
  if (code === 1 || code === 0x84 || /unacceptable protocol version|unsupported protocol version/i.test(err.message)) {
    return { reason: `broker ${host} does not speak this MQTT version (try 3.1.1)`, cause: 'protocol' };
  }
  if (
    typeof code === 'string' &&
    (/^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED|ERR_OSSL)/.test(code) || code === 'HOSTNAME_MISMATCH')
  ) {
    return { reason: `TLS: the certificate of ${host} was rejected (${err.message}); set the CA file or fix the certificate`, cause: 'tls' };
  }
  if (/certificate|ssl|tls/i.test(err.message)) return { reason: `TLS failed with ${host}: ${err.message}`, cause: 'tls' };
  return { reason: `connection to ${host} failed: ${err.message}`, cause: 'other' };
}

function safeHost(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(invalid url)';
  }
}

export class BrokerConnection extends EventEmitter {
  private client?: MqttClient;
  private readonly backoff: Backoff;
  private retryTimer?: NodeJS.Timeout;
  private subs = new Set<Subscription>();
  private current: LinkState = { state: 'idle' };
  private lastError?: { reason: string; cause: NonNullable<LinkState['cause']> };
  private started = false;
  private closing = false;
  // QoS 1 messages of a persistent session that came before any listener subscribed (the broker sends
  // the session's queue right after connecting): held unacknowledged and handed to the first matching
  // subscription, so nothing is acknowledged that nobody took.
  private orphans: Array<{ client: MqttClient; topic: string; payload: Buffer; packet: IPublishPacket }> = [];

  constructor(
    readonly opts: BrokerOptions,
    private readonly connectFn: (url: string, o: IClientOptions) => MqttClient = mqtt.connect,
  ) {
    super();
    this.setMaxListeners(0);
    this.backoff = new Backoff({ initialMs: 500, maxMs: 30_000, ...opts.backoff });
  }

  get state(): LinkState {
    return this.current;
  }

  get connected(): boolean {
    return this.current.state === 'connected' && !!this.client?.connected;
  }

  get protocolVersion(): 4 | 5 {
    return this.opts.protocolVersion;
  }

  /** Connects (once); further calls do nothing. */
  start(): void {
    if (this.started || this.closing) return;
    this.started = true;
    this.connect();
  }

  /** Publishes; calls back once on PUBACK/PUBCOMP or with a PublishError (`permanent` when retrying cannot help). */
  publish(topic: string, payload: Buffer, options: IClientPublishOptions, cb: (err?: PublishError) => void): void {
    const c = this.client;
    if (!c || !this.connected) {
      cb(new PublishError('not connected', false));
      return;
    }
    c.publish(topic, payload, options, (err, packet) => {
      if (err) {
        const rc = (err as Error & { code?: number }).code;
        const permanent = typeof rc === 'number' && PERMANENT_PUBLISH_CODES.has(rc);
        cb(new PublishError(`broker refused the message on ${topic}: ${err.message}${typeof rc === 'number' ? ` (reason code 0x${rc.toString(16)})` : ''}`, permanent, rc));
        return;
      }
      const rc = (packet as { reasonCode?: number } | undefined)?.reasonCode;
      if (typeof rc === 'number' && rc >= 0x80) {
        cb(new PublishError(`broker refused the message on ${topic} (reason code 0x${rc.toString(16)})`, PERMANENT_PUBLISH_CODES.has(rc), rc));
        return;
      }
      cb();
    });
  }

  /** Subscribes now if connected and again after every reconnect; returns the unsubscribe function. */
  subscribe(filter: string, qos: 0 | 1 | 2, listener: Listener, onError?: (err: Error) => void, options: SubscribeOptions = {}): () => void {
    const sub: Subscription = { filter, qos, listener, onError, ackWhenHandled: options.ackWhenHandled };
    this.subs.add(sub);
    if (this.connected) this.subscribeOne(this.client!, sub);
    if (this.orphans.length) {
      const claimed = this.orphans.filter((o) => o.client === this.client && matches(filter, o.topic));
      this.orphans = this.orphans.filter((o) => !claimed.includes(o));
      for (const o of claimed) this.dispatch(o.client, o.topic, o.payload, o.packet);
    }
    return () => {
      this.subs.delete(sub);
      const still = [...this.subs].some((s) => s.filter === filter);
      if (!still && this.connected) this.client!.unsubscribe(filter);
    };
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const c = this.client;
    this.client = undefined;
    if (c) await new Promise<void>((r) => c.end(true, {}, () => r()));
    this.setState({ state: 'closed' });
  }

  private connect(): void {
    if (this.closing) return;
    const o = this.opts;
    const options: IClientOptions = {
      clientId: o.clientId,
      protocolVersion: o.protocolVersion,
      keepalive: o.keepalive,
      clean: o.cleanStart,
      reconnectPeriod: 0,
      connectTimeout: o.connectTimeoutMs,
      username: o.username,
      password: o.password,
      ca: o.ca,
      cert: o.cert,
      key: o.key,
      passphrase: o.passphrase,
      rejectUnauthorized: o.rejectUnauthorized,
      // The outbox resends after a reconnect; the library must not keep its own copies.
      queueQoSZero: false,
      resubscribe: false,
    } as IClientOptions;
    if (o.protocolVersion === 5) {
      options.properties = { sessionExpiryInterval: o.sessionExpiry };
      if (o.receiveMaximum) options.properties.receiveMaximum = o.receiveMaximum;
    }
    this.setState({ state: 'connecting', reason: this.lastError?.reason, cause: this.lastError?.cause });
    let client: MqttClient;
    try {
      client = this.connectFn(o.url, options);
    } catch (err) {
      this.lastError = describeConnectError(err as Error, o.url);
      this.scheduleReconnect();
      return;
    }
    this.client = client;
    client.on('connect', () => {
      if (this.client !== client) return;
      this.backoff.reset();
      this.lastError = undefined;
      this.setState({ state: 'connected' });
      for (const s of this.subs) this.subscribeOne(client, s);
    });
    const ackLater = new WeakSet<object>();
    client.handleMessage = (packet, callback) => {
      if (ackLater.has(packet)) {
        ackLater.delete(packet);
        callback(ACK_LATER);
      } else callback();
    };
    client.on('message', (topic, payload, packet) => {
      if (this.client !== client) return;
      const persistent = !o.cleanStart && packet.qos === 1 && packet.messageId !== undefined;
      if (persistent && ![...this.subs].some((s) => matches(s.filter, topic))) {
        ackLater.add(packet);
        this.orphans.push({ client, topic, payload, packet });
        return;
      }
      this.dispatch(client, topic, payload, packet, ackLater);
    });
    client.on('error', (err) => {
      if (this.client !== client) return;
      this.lastError = describeConnectError(err as Error & { code?: string | number }, o.url);
    });
    client.on('close', () => {
      if (this.client !== client) return;
      this.client = undefined;
      // The broker sends them again on the next connection.
      this.orphans = [];
      client.end(true);
      this.scheduleReconnect();
    });
  }

  /**
   * Hands a message to the matching subscriptions. `ackLater` (live messages): mark the packet so mqtt.js
   * skips its PUBACK when a listener holds it. Without it (a held orphan, already skipped) the PUBACK is
   * sent here once nobody holds it.
   */
  private dispatch(client: MqttClient, topic: string, payload: Buffer, packet: IPublishPacket, ackLater?: WeakSet<object>): void {
    const props = (packet as { properties?: InboundMessage['properties'] }).properties;
    const targets = [...this.subs].filter((s) => matches(s.filter, topic));
    let holders = packet.qos === 1 && packet.messageId !== undefined ? targets.filter((s) => s.ackWhenHandled).length : 0;
    if (holders === 0) {
      const m: InboundMessage = { topic, payload, properties: props };
      for (const s of targets) s.listener(m);
      if (!ackLater && packet.messageId !== undefined) this.sendPuback(client, packet.messageId);
      return;
    }
    ackLater?.add(packet);
    const messageId = packet.messageId!;
    const ackOne = () => {
      if (--holders === 0) this.sendPuback(client, messageId);
    };
    for (const s of targets) {
      if (!s.ackWhenHandled) s.listener({ topic, payload, properties: props });
      else {
        let acked = false;
        s.listener({
          topic,
          payload,
          properties: props,
          ack: () => {
            if (acked) return;
            acked = true;
            ackOne();
          },
        });
      }
    }
  }

  // Only on the connection the message came on: after a reconnect the broker resends what was not
  // acknowledged, and an old packet id may then name another message.
  private sendPuback(client: MqttClient, messageId: number): void {
    if (this.client !== client || !client.connected) return;
    (client as unknown as { _sendPacket(p: object, cb: () => void): void })._sendPacket({ cmd: 'puback', messageId, reasonCode: 0 }, () => {});
  }

  private subscribeOne(client: MqttClient, s: Subscription): void {
    client.subscribe(s.filter, { qos: s.qos }, (err, granted) => {
      const g = granted?.[0];
      if (err) s.onError?.(new Error(`subscribe ${s.filter} failed: ${err.message}`));
      else if (g && g.qos >= 0x80) s.onError?.(new Error(`broker refused the subscription ${s.filter} (reason code 0x${g.qos.toString(16)})`));
    });
  }

  private scheduleReconnect(): void {
    if (this.closing) return;
    const wait = this.backoff.next();
    const e = this.lastError ?? { reason: 'connection lost', cause: 'unreachable' as const };
    this.setState({ state: 'disconnected', reason: e.reason, cause: e.cause, retryInMs: wait });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect();
    }, wait);
  }

  private setState(s: LinkState): void {
    this.current = s;
    this.emit('state', s);
  }
}
