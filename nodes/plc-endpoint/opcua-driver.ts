// The OPC UA side of an endpoint (node-opcua): one client and session, reads and writes by NodeId,
// subscriptions with monitored items. Reconnection is node-opcua's own (exponential backoff with
// randomisation, bounded by the endpoint's reconnect delays); it restores the session and its
// subscriptions, or recreates them when the server restarted. Write types come from the server.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { EventEmitter } from 'node:events';
import {
  AttributeIds,
  ClientMonitoredItemGroup,
  ClientSubscription,
  DataType,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAClient,
  SecurityPolicy,
  TimestampsToReturn,
  UserTokenType,
  VariantArrayType,
  type ClientSession,
  type DataValue,
  type UserIdentityInfo,
} from 'node-opcua';
import { Backoff } from '../../lib/backoff';
import type { TagSample } from '../../contracts/messages.schema';
import type { ConnectionState } from './connection-state';
import { checkWritable, outputValue, WriteError, type PlcDriver, type TagWriteRequest, type WriteOptions, type WriteOutcome } from './plc-driver';
import type { PlcEndpointConfig } from './plc-endpoint.schema';
import { toRaw, type CodecTag, type RawValue } from './tag-codec';
import type { OpcuaTag, PlcTag, TagTable } from './tag-table';
import { redactUrl } from '../../lib/redact';
import { systemClock, type Clock } from '../../lib/clock';

export interface OpcuaDriverOptions {
  device: string;
  config: PlcEndpointConfig;
  /** Certificate store when the config names none (the endpoint passes <user dir>/.linesight/opcua-pki). */
  defaultPkiDir: string;
  credentials: { user?: string; password?: string };
  clock?: Pick<Clock, 'now'>;
}

// OPC UA built-in types mapped onto the codec's range checks; Byte/SByte/UInt64 narrow via min/max.
const WRITE_TYPES: Partial<Record<DataType, { codec: CodecTag['type']; min?: number; max?: number }>> = {
  [DataType.Boolean]: { codec: 'bool' },
  [DataType.SByte]: { codec: 'int16', min: -128, max: 127 },
  [DataType.Byte]: { codec: 'uint16', min: 0, max: 255 },
  [DataType.Int16]: { codec: 'int16' },
  [DataType.UInt16]: { codec: 'uint16' },
  [DataType.Int32]: { codec: 'int32' },
  [DataType.UInt32]: { codec: 'uint32' },
  [DataType.Int64]: { codec: 'int64' },
  [DataType.UInt64]: { codec: 'int64', min: 0 },
  [DataType.Float]: { codec: 'float32' },
  [DataType.Double]: { codec: 'float64' },
  [DataType.String]: { codec: 'string' },
};

export class OpcuaDriver extends EventEmitter implements PlcDriver {
  private client: OPCUAClient;
  private readonly pki: OPCUACertificateManager;
  private session: ClientSession | undefined;
  private stateValue: ConnectionState = { phase: 'connecting' };
  private starting: Promise<void> | undefined;
  private closed = false;
  private readonly dataTypes = new Map<string, DataType>();
  private readonly subscriptions = new Set<ClientSubscription>();
  private inFlight = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  requests = 0;
  private readonly clock: Pick<Clock, 'now'>;

  constructor(readonly table: TagTable, private readonly o: OpcuaDriverOptions) {
    super();
    this.clock = o.clock ?? systemClock;
    const c = o.config;
    this.pki = new OPCUACertificateManager({ rootFolder: c.pkiDir || o.defaultPkiDir, automaticallyAcceptUnknownCertificate: c.trustNewServers !== false });
    this.client = OPCUAClient.create({
      applicationName: 'Linesight plc-endpoint',
      clientCertificateManager: this.pki,
      endpointMustExist: false,
      keepSessionAlive: true,
      requestedSessionTimeout: 60_000,
      securityMode: MessageSecurityMode[c.securityMode],
      securityPolicy: SecurityPolicy[c.securityPolicy],
      connectionStrategy: { initialDelay: c.reconnectMinMs, maxDelay: c.reconnectMaxMs, maxRetry: 1e9, randomisationFactor: 0.5 },
      transportTimeout: Math.max(c.timeoutMs, 1000),
      defaultTransactionTimeout: c.timeoutMs,
    });
    let attempts = 0;
    this.client.on('backoff', (count: number, delay: number) => {
      attempts = count;
      this.setState({ phase: 'disconnected', reason: `${redactUrl(c.endpointUrl)} unreachable`, retryInMs: delay, attempts: count });
    });
    this.client.on('connection_lost', () => this.setState({ phase: 'disconnected', reason: 'connection lost', attempts }));
    this.client.on('start_reconnection', () => this.setState({ phase: 'connecting', reason: 'reconnecting', attempts }));
    this.client.on('after_reconnection', (err?: Error | null) => {
      if (!err && this.session) {
        attempts = 0;
        this.setState({ phase: 'connected' });
      }
    });
    this.client.on('connection_reestablished', () => {
      attempts = 0;
      if (this.session) this.setState({ phase: 'connected' });
    });
  }

  get device(): string {
    return this.o.device;
  }
  get state(): ConnectionState {
    return this.stateValue;
  }
  get pending(): number {
    return this.inFlight;
  }

  private setState(s: ConnectionState): void {
    if (this.closed) return;
    this.stateValue = s;
    this.emit('state', s);
  }

  start(): void {
    if (!this.starting) this.starting = this.connect().catch((err: Error) => this.setState({ phase: 'disconnected', reason: err.message }));
  }

  /** Resolves once connected with a session (or rejects when the endpoint is closed first). */
  ready(): Promise<void> {
    this.start();
    return this.starting!;
  }

  private async connect(): Promise<void> {
    const c = this.o.config;
    this.setState({ phase: 'connecting' });
    // The client's own certificate is created here on first use; server certificates are checked here.
    await this.pki.initialize();
    // node-opcua retries an unreachable server itself, but gives up on a refused secure channel (an
    // untrusted certificate, BadSecurityChecksFailed): that is retried here, with backoff, and says why,
    // so an endpoint comes up by itself once an administrator trusts the certificate.
    // A refused session (credentials, server busy) is retried the same way.
    const backoff = new Backoff({ initialMs: c.reconnectMinMs, maxMs: c.reconnectMaxMs, jitter: 0.5 });
    let channel = false;
    while (!this.closed && !this.session) {
      try {
        if (!channel) {
          await this.client.connect(c.endpointUrl);
          channel = true;
        }
        this.session = await this.client.createSession(this.identity());
      } catch (err) {
        if (this.closed) return;
        const delay = backoff.next();
        const what = channel ? 'session refused' : 'connection refused';
        this.setState({ phase: 'disconnected', reason: `${what}: ${(err as Error).message.split('\n')[0]}`, retryInMs: delay, attempts: backoff.attempts });
        if (!channel) await this.client.disconnect().catch(() => {});
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          this.retryTimer = setTimeout(resolve, delay);
        });
      }
    }
    if (this.closed || !this.session) return;
    this.session.on('session_restored', () => this.setState({ phase: 'connected' }));
    this.setState({ phase: 'connected' });
  }

  private identity(): UserIdentityInfo {
    const c = this.o.config;
    if (c.auth === 'username') return { type: UserTokenType.UserName, userName: this.o.credentials.user ?? '', password: this.o.credentials.password ?? '' };
    if (c.auth === 'certificate') {
      const cert = new crypto.X509Certificate(fs.readFileSync(c.certificateFile!));
      const key = crypto.createPrivateKey(fs.readFileSync(c.privateKeyFile!));
      return { type: UserTokenType.Certificate, certificateData: cert.raw, privateKey: key } as unknown as UserIdentityInfo;
    }
    return { type: UserTokenType.Anonymous };
  }

  private requireSession(): ClientSession {
    if (!this.session || this.stateValue.phase !== 'connected') {
      throw new Error(`not connected to ${redactUrl(this.o.config.endpointUrl)}${this.stateValue.reason ? `: ${this.stateValue.reason}` : ''}`);
    }
    return this.session;
  }

  private sample(tag: OpcuaTag, dv: DataValue | undefined, ts: number): TagSample {
    const base = { device: this.o.device, tag: tag.name, ts, ...(tag.unit ? { unit: tag.unit } : {}) };
    if (!dv) return { ...base, value: null, quality: 'bad', reason: 'no value' };
    const sc = dv.statusCode;
    const value = toTagValue(dv.value?.value, tag, dv.value?.dataType);
    if (sc.isGood()) return { ...base, value, quality: 'good', ts: dv.sourceTimestamp?.getTime() ?? ts };
    return { ...base, value: sc.isBad() ? null : value, quality: sc.isBad() ? 'bad' : 'uncertain', reason: sc.toString() };
  }

  async read(tags: PlcTag[]): Promise<TagSample[]> {
    const list = tags as OpcuaTag[];
    const ts = this.clock.now();
    try {
      const session = this.requireSession();
      this.inFlight++;
      this.requests++;
      const dvs = await session.read(list.map((t) => ({ nodeId: t.nodeId, attributeId: AttributeIds.Value })));
      return list.map((t, i) => this.sample(t, dvs[i], ts));
    } catch (err) {
      return list.map((t) => ({ device: this.o.device, tag: t.name, value: null, quality: 'bad' as const, ts, reason: (err as Error).message, ...(t.unit ? { unit: t.unit } : {}) }));
    } finally {
      if (this.inFlight > 0) this.inFlight--;
    }
  }

  private async dataTypeOf(session: ClientSession, tags: OpcuaTag[]): Promise<DataType[]> {
    const missing = tags.filter((t) => !this.dataTypes.has(t.nodeId));
    if (missing.length) {
      const dvs = await session.read(missing.map((t) => ({ nodeId: t.nodeId, attributeId: AttributeIds.DataType })));
      missing.forEach((t, i) => {
        const dv = dvs[i];
        if (!dv.statusCode.isGood()) throw new WriteError(`tag "${t.name}": the server does not know node ${t.nodeId} (${dv.statusCode.name})`, t.name);
        const id = dv.value.value as { namespace: number; value: number };
        if (id.namespace !== 0 || !WRITE_TYPES[id.value as DataType]) throw new WriteError(`tag "${t.name}": node ${t.nodeId} has data type ${String(dv.value.value)}, which plc-write cannot write`, t.name);
        this.dataTypes.set(t.nodeId, id.value as DataType);
      });
    }
    return tags.map((t) => this.dataTypes.get(t.nodeId)!);
  }

  async write(writes: TagWriteRequest[], opts: WriteOptions = {}): Promise<WriteOutcome[]> {
    const tags = checkWritable(this.table, writes) as OpcuaTag[];
    // As with Modbus, a write that cannot reach the device names the (first) tag it was for.
    const failed = (err: unknown) => new WriteError(`tag "${tags[0].name}": write failed: ${(err as Error).message}`, tags[0].name);
    let session: ClientSession;
    let types: DataType[];
    try {
      session = this.requireSession();
      types = await this.dataTypeOf(session, tags);
    } catch (err) {
      throw err instanceof WriteError ? err : failed(err);
    }
    // Everything is checked before anything is written.
    const values = writes.map((w, i) => {
      const t = tags[i];
      const wt = WRITE_TYPES[types[i]]!;
      const codecTag: CodecTag = {
        name: t.name,
        type: wt.codec,
        order: 'ABCD',
        scale: t.scale,
        offset: t.offset,
        length: 65535,
        min: maxDefined(t.min, wt.min !== undefined ? wt.min * t.scale + t.offset : undefined),
        max: minDefined(t.max, wt.max !== undefined ? wt.max * t.scale + t.offset : undefined),
      };
      return toRaw(codecTag, w.value);
    });
    this.inFlight++;
    this.requests++;
    let codes;
    try {
      codes = await session.write(
        tags.map((t, i) => ({
          nodeId: t.nodeId,
          attributeId: AttributeIds.Value,
          value: { value: { dataType: types[i], arrayType: VariantArrayType.Scalar, value: toVariantValue(values[i], types[i]) } },
        })),
      );
    } catch (err) {
      throw failed(err);
    } finally {
      this.inFlight--;
    }
    const bad = codes.map((c, i) => ({ c, t: tags[i] })).filter((x) => !x.c.isGood());
    if (bad.length) throw new WriteError(bad.map((x) => `tag "${x.t.name}": the server refused the write (${x.c.name})`).join('; '), bad[0].t.name);
    const out: WriteOutcome[] = writes.map((w) => ({ tag: w.tag, value: outputValue(w.value) }));
    if (opts.verify) {
      const samples = await this.read(tags);
      samples.forEach((s, i) => {
        out[i].readBack = s.value;
        if (s.quality !== 'good') throw new WriteError(`tag "${s.tag}": read-back failed: ${s.reason}`, s.tag);
        const w = writes[i].value;
        const same = typeof w === 'number' && typeof s.value === 'number' ? Math.abs(w - s.value) <= 1e-6 * Math.max(1, Math.abs(w)) : s.value === (typeof w === 'number' && types[i] === DataType.Boolean ? w === 1 : w);
        if (!same) throw new WriteError(`tag "${s.tag}": read back ${JSON.stringify(s.value)} after writing ${JSON.stringify(w)}`, s.tag);
      });
    }
    return out;
  }

  async subscribe(tags: PlcTag[], intervalMs: number, onSamples: (s: TagSample[]) => void): Promise<{ close(): Promise<void> }> {
    await this.ready();
    const session = this.requireSession();
    const list = tags as OpcuaTag[];
    const sub = ClientSubscription.create(session, {
      requestedPublishingInterval: intervalMs,
      requestedLifetimeCount: 100,
      requestedMaxKeepAliveCount: 10,
      maxNotificationsPerPublish: 0,
      publishingEnabled: true,
      priority: 1,
    });
    this.subscriptions.add(sub);
    const group = ClientMonitoredItemGroup.create(
      sub,
      list.map((t) => ({ nodeId: t.nodeId, attributeId: AttributeIds.Value })),
      { samplingInterval: intervalMs, discardOldest: true, queueSize: 1 },
      TimestampsToReturn.Both,
    );
    // Changes arriving in one publish are delivered together.
    let batch: TagSample[] = [];
    let flushing = false;
    group.on('changed', (_item, dv: DataValue, index: number) => {
      batch.push(this.sample(list[index], dv, this.clock.now()));
      if (!flushing) {
        flushing = true;
        setImmediate(() => {
          flushing = false;
          const b = batch;
          batch = [];
          onSamples(b);
        });
      }
    });
    return {
      close: async () => {
        this.subscriptions.delete(sub);
        await sub.terminate().catch(() => {});
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.wake?.();
    for (const s of this.subscriptions) await s.terminate().catch(() => {});
    this.subscriptions.clear();
    await this.session?.close().catch(() => {});
    await this.client.disconnect().catch(() => {});
    await this.starting?.catch(() => {});
    await this.pki.dispose().catch(() => {});
    this.stateValue = { phase: 'closed' };
    this.emit('state', this.stateValue);
    this.removeAllListeners();
  }
}

const maxDefined = (a?: number, b?: number) => (a === undefined ? b : b === undefined ? a : Math.max(a, b));
const minDefined = (a?: number, b?: number) => (a === undefined ? b : b === undefined ? a : Math.min(a, b));

function toVariantValue(raw: RawValue, type: DataType): unknown {
  if (type === DataType.Int64 || type === DataType.UInt64) {
    const n = BigInt(raw as number | bigint);
    const hi = Number((n >> 32n) & 0xffffffffn);
    const lo = Number(n & 0xffffffffn);
    return [hi, lo];
  }
  return raw;
}

function toTagValue(v: unknown, tag: OpcuaTag, dataType?: DataType): TagSample['value'] {
  let out: TagSample['value'];
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') out = v;
  else if (v instanceof Date) out = v.getTime();
  else if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) {
    // node-opcua gives Int64/UInt64 as [high, low]; the high half carries the sign of an Int64.
    const high = dataType === DataType.Int64 ? v[0] | 0 : v[0] >>> 0;
    const n = (BigInt(high) << 32n) + BigInt(v[1] >>> 0);
    out = n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(n) : n.toString();
  } else out = typeof (v as object).toString === 'function' ? String(v) : JSON.stringify(v);
  if (typeof out === 'number' && (tag.scale !== 1 || tag.offset !== 0)) out = out * tag.scale + tag.offset;
  return out;
}
