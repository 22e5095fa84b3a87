// The HTTP/2 side of camera-intake that grpc-js has no options for: how many connections it keeps, and how
// much a connection may push before one of its calls has shown the token. grpc-js reads a call's message
// only once the interceptors passed its metadata, but Node's http2 layer takes in (and buffers) whatever
// the flow-control windows allow before anyone reads. So a connection starts with HTTP/2's 64 KiB window
// and gets the big receive window only once a call on it carried the token, and a refused call's stream is
// reset as soon as its answer is out, so the rest of its body is never sent.
import http2 from 'node:http2';
import type { Http2SecureServer, Http2Server, Http2Session, IncomingHttpHeaders, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';

/** HTTP/2's largest window (2^31 - 1). */
export const MAX_RECEIVE_WINDOW = 2 ** 31 - 1;
/** HTTP/2's initial window: what a connection may push before it is trusted. */
export const UNTRUSTED_WINDOW = 65_535;

export interface ConnectionGuardOptions {
  /** Most connections open at once (each listening address); beyond it new ones are closed at once. */
  maxConnections: number;
  /** Receive window (per call and per connection) of a trusted connection; undefined keeps 64 KiB. */
  trustedWindowBytes?: number;
  /**
   * Whether a call's headers carry the token. Absent: no token is configured and every connection is
   * trusted from its first byte.
   */
  authorizes?(headers: IncomingHttpHeaders): boolean;
}

export interface ConnectionStats {
  /** Connections open now. */
  open: number;
  /** Connections closed at once because `maxConnections` were open. */
  refused: number;
  /** Connections that showed the token at least once. */
  trusted: number;
  /** Streams reset after their call was refused for the token. */
  reset: number;
}

/** The grpc-js server's Node http2 servers (one per bound address); throws when grpc-js no longer keeps them. */
export function http2ServersOf(server: unknown): Array<Http2Server | Http2SecureServer> {
  const map = (server as { http2Servers?: Map<Http2Server | Http2SecureServer, unknown> }).http2Servers;
  if (!(map instanceof Map) || map.size === 0) throw new Error('cannot reach the HTTP/2 servers: this @grpc/grpc-js keeps no http2Servers map');
  return [...map.keys()];
}

function clampWindow(bytes: number): number {
  return Math.min(MAX_RECEIVE_WINDOW, Math.max(UNTRUSTED_WINDOW, Math.round(bytes)));
}

/** Widens one connection's windows: every call's (a SETTINGS frame) and the connection's own. */
function widen(session: Http2Session, window: number): void {
  if (session.destroyed || session.closed) return;
  try {
    session.settings({ initialWindowSize: window });
    session.setLocalWindowSize(window);
  } catch {
    // the session is closing: nothing to widen
  }
}

export class ConnectionGuard {
  readonly stats: ConnectionStats = { open: 0, refused: 0, trusted: 0, reset: 0 };
  private readonly trustedSessions = new WeakSet<Http2Session>();
  private readonly window?: number;

  constructor(private readonly options: ConnectionGuardOptions) {
    this.window = options.trustedWindowBytes ? clampWindow(options.trustedWindowBytes) : undefined;
  }

  /** Guards one of grpc-js's http2 servers; call right after binding, before any camera connects. */
  attach(h2: Http2Server | Http2SecureServer): void {
    // Node closes connections beyond the limit before any TLS or HTTP/2 work, and says so with 'drop'.
    if (Number.isFinite(this.options.maxConnections)) h2.maxConnections = this.options.maxConnections;
    h2.on('drop', () => this.stats.refused++);
    h2.on('connection', (socket: Socket) => {
      this.stats.open++;
      socket.once('close', () => this.stats.open--);
    });
    if (!this.options.authorizes) {
      // No token: every connection is as trusted as it will ever be, so it gets the window at once.
      if (this.window) {
        h2.updateSettings({ initialWindowSize: this.window });
        h2.on('session', (session: ServerHttp2Session) => widen(session, this.window!));
      }
      return;
    }
    // Runs before grpc-js's own stream handler, which answers a refused call synchronously (interceptor).
    h2.prependListener('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
      const session = stream.session;
      if (session && this.trustedSessions.has(session)) return;
      if (this.options.authorizes!(headers)) {
        if (session) this.trust(session);
        return;
      }
      // Refused: once the answer is out, reset the stream so the camera stops sending its body.
      stream.once('finish', () => {
        if (stream.closed || stream.destroyed) return;
        this.stats.reset++;
        stream.close(http2.constants.NGHTTP2_NO_ERROR);
      });
    });
  }

  private trust(session: Http2Session): void {
    this.trustedSessions.add(session);
    this.stats.trusted++;
    if (this.window) widen(session, this.window);
  }
}

/**
 * Sets the HTTP/2 receive window of every connection a grpc-js server accepts from now on, for every
 * connection alike. grpc-js has no server option for it (its `grpc-node.flow_control_window` is read by
 * clients only), so this reaches the Node http2 servers grpc-js keeps after binding. Throws when grpc-js no
 * longer exposes them, so an upgrade that breaks this fails loudly instead of going back to 64 KiB.
 * camera-intake itself uses `ConnectionGuard`, which gives the window only to connections with the token.
 */
export function applyReceiveWindow(server: unknown, bytes: number): void {
  const guard = new ConnectionGuard({ maxConnections: Infinity, trustedWindowBytes: bytes });
  for (const h2 of http2ServersOf(server)) guard.attach(h2);
}
