// The gRPC side of camera-intake: listens, checks the bearer token, and hands every decoded inspection
// to a `submit` function that answers with a verdict. Knows nothing about Node-RED.
import * as grpc from '@grpc/grpc-js';
import crypto from 'node:crypto';
import type { Http2SecureServer, Http2Server, ServerHttp2Session } from 'node:http2';
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
   */
  receiveWindowBytes?: number;
  submit(p: ProtoInspection): Verdict;
}

export interface IntakeStats {
  calls: number;
  accepted: number;
  invalid: number;
  exhausted: number;
  unauthenticated: number;
}

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

function tokenMatches(expected: string, metadata: grpc.Metadata): boolean {
  const got = metadata.get('authorization')[0];
  if (typeof got !== 'string') return false;
  const a = crypto.createHash('sha256').update(got).digest();
  const b = crypto.createHash('sha256').update(`Bearer ${expected}`).digest();
  return crypto.timingSafeEqual(a, b);
}

/** HTTP/2's largest window (2^31 - 1). */
export const MAX_RECEIVE_WINDOW = 2 ** 31 - 1;

/**
 * Sets the HTTP/2 receive window of every connection the server accepts from now on. grpc-js has no
 * server option for it (its `grpc-node.flow_control_window` is read by clients only), so this reaches the
 * Node http2 servers grpc-js keeps after binding: SETTINGS_INITIAL_WINDOW_SIZE for each call's window,
 * and a connection-level WINDOW_UPDATE for every new session. Throws when grpc-js no longer exposes them,
 * so an upgrade that breaks this fails the intake's tests instead of silently going back to 64 KiB.
 */
export function applyReceiveWindow(server: grpc.Server, bytes: number): void {
  const window = Math.min(MAX_RECEIVE_WINDOW, Math.max(65_535, Math.round(bytes)));
  const http2Servers = (server as unknown as { http2Servers?: Map<Http2Server | Http2SecureServer, unknown> }).http2Servers;
  if (!(http2Servers instanceof Map) || http2Servers.size === 0) throw new Error('cannot set the HTTP/2 receive window: this @grpc/grpc-js keeps no http2Servers map');
  for (const h2 of http2Servers.keys()) {
    h2.updateSettings({ initialWindowSize: window });
    h2.on('session', (session: ServerHttp2Session) => {
      try {
        session.setLocalWindowSize(window);
      } catch {
        // the session closed before its first frame: nothing to widen
      }
    });
  }
}

export class IntakeServer {
  readonly stats: IntakeStats = { calls: 0, accepted: 0, invalid: 0, exhausted: 0, unauthenticated: 0 };
  private server?: grpc.Server;
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

  /** Binds and serves; rejects when the address cannot be bound (port in use, bad certificate). */
  async start(): Promise<number> {
    this.closing = false;
    const server = new grpc.Server({
      'grpc.max_receive_message_length': this.o.maxMessageBytes,
      'grpc.max_send_message_length': 1024 * 1024,
    });
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
    try {
      if (this.o.receiveWindowBytes) applyReceiveWindow(server, this.o.receiveWindowBytes);
    } catch (err) {
      server.forceShutdown();
      throw err;
    }
    this.server = server;
    this.boundPort = port;
    return port;
  }

  private authorized(metadata: grpc.Metadata): boolean {
    if (!this.o.token || tokenMatches(this.o.token, metadata)) return true;
    this.stats.unauthenticated++;
    return false;
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
    if (!this.authorized(call.metadata)) {
      cb({ code: grpc.status.UNAUTHENTICATED, details: 'missing or wrong bearer token in authorization metadata' });
      return;
    }
    const v = this.judge(call.request);
    if (v.code === 'OK') cb(null, { inspection_id: call.request.inspection_id ?? '', accepted: true, code: 'OK' });
    else cb({ code: GRPC_CODE[v.code], details: v.reason ?? v.code });
  }

  private stream(call: grpc.ServerDuplexStream<ProtoInspection, SubmitReply>): void {
    if (!this.authorized(call.metadata)) {
      call.emit('error', { code: grpc.status.UNAUTHENTICATED, details: 'missing or wrong bearer token in authorization metadata' });
      return;
    }
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
