// The gRPC side of camera-intake: listens, refuses calls without the bearer token before reading them,
// and hands every decoded inspection to a `submit` function that answers with a verdict. Knows nothing
// about Node-RED.
import * as grpc from '@grpc/grpc-js';
import crypto from 'node:crypto';
import { ConnectionGuard, http2ServersOf, type ConnectionStats } from './connection-guard';
import { intakeService, type SubmitReply } from './intake-proto';
import type { ProtoInspection } from './inspection-mapper';

export type VerdictCode = 'OK' | 'INVALID_ARGUMENT' | 'RESOURCE_EXHAUSTED' | 'UNAVAILABLE';
export interface Verdict {
  code: VerdictCode;
  reason?: string;
}

export interface TlsMaterial {
  mode: 'none' | 'tls' | 'mtls';
  cert?: string | Buffer;
  key?: string | Buffer;
  /** CA that signs camera certificates; required for mtls. */
  ca?: string | Buffer;
}

export interface IntakeServerOptions {
  host: string;
  port: number;
  tls?: TlsMaterial;
  /** Bearer token expected in `authorization` metadata; empty/undefined disables the check. */
  token?: string;
  maxMessageBytes: number;
  /**
   * HTTP/2 receive window (per call and per connection) in bytes; undefined keeps Node's 64 KiB. A camera
   * may only send this much before the server acknowledges it, so with the 64 KiB default a 2 MP image
   * crosses in many acknowledgement round trips, and on a busy machine each one waits for the event loop.
   * With a token, a connection gets it only once one of its calls carried the token (64 KiB before).
   */
  receiveWindowBytes?: number;
  /** Most connections open at once (per listening address); beyond it new ones are closed at once. */
  maxConnections?: number;
  /** Most calls in progress at once on one connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS). */
  maxCallsPerConnection?: number;
  /** A connection with no call in progress for this long is closed (the camera reconnects when it next sends). */
  idleTimeoutMs?: number;
  submit(p: ProtoInspection): Verdict;
}

export interface IntakeStats {
  calls: number;
  accepted: number;
  invalid: number;
  exhausted: number;
  unauthenticated: number;
}

const NO_CONNECTIONS: ConnectionStats = { open: 0, refused: 0, trusted: 0, reset: 0 };

const GRPC_CODE: Record<Exclude<VerdictCode, 'OK'>, grpc.status> = {
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  RESOURCE_EXHAUSTED: grpc.status.RESOURCE_EXHAUSTED,
  UNAVAILABLE: grpc.status.UNAVAILABLE,
};

/** Server credentials for the configured security; throws naming what is missing. */
export function serverCredentials(tls: TlsMaterial | undefined): grpc.ServerCredentials {
  if (!tls || tls.mode === 'none') return grpc.ServerCredentials.createInsecure();
  if (!tls.cert || !tls.key) throw new Error(`tls "${tls.mode}" needs a server certificate and key`);
  if (tls.mode === 'mtls' && !tls.ca) throw new Error('tls "mtls" needs the CA that signs camera certificates');
  const ca = tls.mode === 'mtls' ? Buffer.from(tls.ca!) : null;
  return grpc.ServerCredentials.createSsl(ca, [{ cert_chain: Buffer.from(tls.cert), private_key: Buffer.from(tls.key) }], tls.mode === 'mtls');
}

/** Whether exactly one `authorization` value was sent and it is `Bearer <expected>` (constant time). */
export function bearerMatches(expected: string, values: unknown): boolean {
  const list = Array.isArray(values) ? values : values === undefined ? [] : [values];
  if (list.length !== 1 || typeof list[0] !== 'string') return false;
  const a = crypto.createHash('sha256').update(list[0]).digest();
  const b = crypto.createHash('sha256').update(`Bearer ${expected}`).digest();
  return crypto.timingSafeEqual(a, b);
}

export const UNAUTHENTICATED_DETAILS = 'missing or wrong bearer token in authorization metadata';

/**
 * Answers UNAUTHENTICATED from the call's metadata alone. grpc-js starts reading a call's message only
 * once every interceptor passed the metadata on, so a refused call's body is never read or decoded.
 */
export function tokenInterceptor(token: string, onRefused: () => void): grpc.ServerInterceptor {
  return (_method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, pass) => {
            if (bearerMatches(token, metadata.get('authorization'))) return pass(metadata);
            onRefused();
            call.sendStatus({ code: grpc.status.UNAUTHENTICATED, details: UNAUTHENTICATED_DETAILS });
          },
        }),
    });
}

export class IntakeServer {
  readonly stats: IntakeStats = { calls: 0, accepted: 0, invalid: 0, exhausted: 0, unauthenticated: 0 };
  private server?: grpc.Server;
  private guard?: ConnectionGuard;
  private closing = false;
  private boundPort?: number;

  private readonly creds: grpc.ServerCredentials;

  /** Throws at once for unusable TLS material, so a bad config is reported before anything listens. */
  constructor(private readonly o: IntakeServerOptions) {
    this.creds = serverCredentials(o.tls);
  }

  get port(): number | undefined {
    return this.boundPort;
  }

  /** Connections of the running server: open, refused at the limit, trusted, refused calls reset. */
  get connections(): ConnectionStats {
    return this.guard?.stats ?? NO_CONNECTIONS;
  }

  /** Binds and serves; rejects when the address cannot be bound (port in use, bad certificate). */
  async start(): Promise<number> {
    this.closing = false;
    const token = this.o.token;
    const options: grpc.ServerOptions = {
      'grpc.max_receive_message_length': this.o.maxMessageBytes,
      'grpc.max_send_message_length': 1024 * 1024,
      interceptors: token ? [tokenInterceptor(token, () => this.stats.unauthenticated++)] : [],
    };
    if (this.o.maxCallsPerConnection) options['grpc.max_concurrent_streams'] = this.o.maxCallsPerConnection;
    if (this.o.idleTimeoutMs) options['grpc.max_connection_idle_ms'] = this.o.idleTimeoutMs;
    const server = new grpc.Server(options);
    server.addService(intakeService().service, {
      Submit: (call: grpc.ServerUnaryCall<ProtoInspection, SubmitReply>, cb: grpc.sendUnaryData<SubmitReply>) => this.unary(call, cb),
      SubmitStream: (call: grpc.ServerDuplexStream<ProtoInspection, SubmitReply>) => this.stream(call),
    });
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${this.o.host.includes(':') ? `[${this.o.host}]` : this.o.host}:${this.o.port}`, this.creds, (err, p) => (err ? reject(err) : resolve(p)));
    }).catch((err) => {
      server.forceShutdown();
      throw err;
    });
    const guard = new ConnectionGuard({
      maxConnections: this.o.maxConnections ?? Infinity,
      trustedWindowBytes: this.o.receiveWindowBytes,
      authorizes: token ? (headers) => bearerMatches(token, headers.authorization) : undefined,
    });
    try {
      for (const h2 of http2ServersOf(server)) guard.attach(h2);
    } catch (err) {
      server.forceShutdown();
      throw err;
    }
    this.server = server;
    this.guard = guard;
    this.boundPort = port;
    return port;
  }

  private judge(p: ProtoInspection): Verdict {
    this.stats.calls++;
    let v: Verdict;
    try {
      // Once closing, nothing more is accepted: the flow behind may already be stopping.
      v = this.closing ? { code: 'UNAVAILABLE', reason: 'camera-intake is shutting down (redeploy); retry' } : this.o.submit(p);
    } catch (err) {
      v = { code: 'RESOURCE_EXHAUSTED', reason: `intake failed: ${(err as Error).message}` };
    }
    if (v.code === 'OK') this.stats.accepted++;
    else if (v.code === 'INVALID_ARGUMENT') this.stats.invalid++;
    else if (v.code === 'RESOURCE_EXHAUSTED') this.stats.exhausted++;
    return v;
  }

  private unary(call: grpc.ServerUnaryCall<ProtoInspection, SubmitReply>, cb: grpc.sendUnaryData<SubmitReply>): void {
    const v = this.judge(call.request);
    if (v.code === 'OK') cb(null, { inspection_id: call.request.inspection_id ?? '', accepted: true, code: 'OK' });
    else cb({ code: GRPC_CODE[v.code], details: v.reason ?? v.code });
  }

  private stream(call: grpc.ServerDuplexStream<ProtoInspection, SubmitReply>): void {
    // Verdicts are synchronous, so replies leave in the order the inspections arrived.
    call.on('data', (p: ProtoInspection) => {
      const v = this.judge(p);
      call.write({ inspection_id: p.inspection_id ?? '', accepted: v.code === 'OK', code: v.code, reason: v.reason ?? '' });
    });
    call.on('end', () => call.end());
    call.on('error', () => {});
  }

  /** Stops accepting calls; open calls get `graceMs` to finish, then are cut. */
  async close(graceMs = 1000): Promise<void> {
    this.closing = true;
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, graceMs);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
