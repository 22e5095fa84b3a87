// The agent's end of the editor tunnel: an outbound WebSocket to the repository (device token), kept up
// with reconnect and backoff while remote editing is on, closed after the idle time. Each stream the
// repository opens is an editor HTTP request or the editor's comms WebSocket, forwarded to the local
// runtime on loopback with the agent's own admin login (the repository and the browser never see it), or
// one of the few remote commands the agent allows.
import http from 'node:http';
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { Backoff, type BackoffOptions } from '../../lib/backoff';
import { onStreamMessages, sendPaced, TunnelMux, type MuxStream } from '../../lib/tunnel-mux';
import { HOP_HEADERS, REMOTE_COMMANDS, TUNNEL_CLOSE, tunnelPath, type RemoteCommand, type TunnelOpen } from '../../contracts/fleet/tunnel';
import type { RuntimeAdmin } from './runtime-admin';

export interface TunnelClientOptions {
  repoUrl: string;
  deviceId: string;
  token: string;
  /** No editor request for this long closes the tunnel ('idle'). */
  idleMs: number;
  /** The runtime's admin client while it is up. */
  runtime: () => RuntimeAdmin | null;
  /** Runs an allowed remote command; its result goes back as JSON. */
  command: (name: RemoteCommand) => Promise<unknown>;
  log: (line: string) => void;
  reconnect?: BackoffOptions;
  /** Flow-control window per stream (tests make it small). */
  window?: number;
}

/** Bytes queued towards the runtime's comms socket above which the browser's side is paused. */
const UPSTREAM_HIGH_WATER = 1024 * 1024;

/** Events: 'open', 'close' (code, reason), 'idle' (the tunnel closed itself and stays closed). */
export class TunnelClient extends EventEmitter {
  private ws: WebSocket | null = null;
  private mux: TunnelMux | null = null;
  private readonly backoff: Backoff;
  private retryTimer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private lastActivity = Date.now();
  private stopped = false;
  private readonly token!: string;

  constructor(private readonly options: TunnelClientOptions) {
    super();
    Object.defineProperty(this, 'token', { value: options.token, enumerable: false });
    Object.defineProperty(this, 'options', { enumerable: false });
    this.backoff = new Backoff({ initialMs: 500, maxMs: 15_000, ...options.reconnect });
  }

  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  start(): void {
    this.stopped = false;
    this.lastActivity = Date.now();
    this.connect();
    this.armIdle();
  }

  /** Closes the tunnel and stops reconnecting. */
  stop(code = 1000, reason = 'remote editing is off'): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.retryTimer = this.idleTimer = null;
    const ws = this.ws;
    this.ws = null;
    this.mux?.close(reason);
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      ws.close(code, reason);
      // A repository that does not answer the close still lets the agent go.
      setTimeout(() => ws.terminate(), 2000).unref();
    }
  }

  set idleMs(ms: number) {
    this.options.idleMs = ms;
    this.armIdle();
  }

  private connect(): void {
    if (this.stopped) return;
    const url = this.options.repoUrl.replace(/\/+$/, '').replace(/\/api\/v1$/, '').replace(/^http/, 'ws') + tunnelPath(this.options.deviceId);
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${this.token}` }, perMessageDeflate: false, handshakeTimeout: 15_000 });
    this.ws = ws;
    const mux = new TunnelMux({ send: (frame, written) => ws.send(frame, { binary: true }, written) }, { role: 'client', window: this.options.window });
    this.mux = mux;
    mux.on('stream', (stream: MuxStream, head: TunnelOpen) => this.onStream(stream, head));
    mux.on('error', (err: Error) => {
      this.options.log(`[tunnel] ${err.message}; reconnecting`);
      ws.terminate();
    });
    ws.on('open', () => {
      mux.announce();
      this.backoff.reset();
      this.options.log('[tunnel] connected to the repository');
      this.emit('open');
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) mux.receive(data as Buffer);
    });
    ws.on('unexpected-response', (_req, res) => {
      this.options.log(`[tunnel] the repository refused the tunnel: HTTP ${res.statusCode}`);
      res.resume();
      ws.terminate();
    });
    ws.on('error', (err) => this.options.log(`[tunnel] ${err.message}`));
    ws.on('close', (code, reason) => {
      mux.close(`tunnel closed (${code})`);
      if (this.ws !== ws) return;
      this.ws = null;
      this.emit('close', code, reason.toString());
      if (this.stopped) return;
      const delay = this.backoff.next();
      this.options.log(`[tunnel] closed (${code}${reason.length ? ` ${reason.toString()}` : ''}); reconnecting in ${delay} ms`);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.connect();
      }, delay);
    });
  }

  // ---- idle ----

  private touch(): void {
    this.lastActivity = Date.now();
  }

  private armIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.stopped) return;
    const left = this.lastActivity + this.options.idleMs - Date.now();
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.stopped) return;
      if (Date.now() - this.lastActivity >= this.options.idleMs) {
        this.options.log(`[tunnel] no editor request for ${Math.round(this.options.idleMs / 1000)} s: closing the tunnel`);
        this.stop(TUNNEL_CLOSE.idle, 'idle');
        this.emit('idle');
      } else {
        this.armIdle();
      }
    }, Math.max(50, left));
    this.idleTimer.unref?.();
  }

  // ---- streams ----

  private onStream(stream: MuxStream, head: TunnelOpen): void {
    this.touch();
    // Nothing is delivered until the forwarder below has its listeners (it starts after an async login).
    stream.pause();
    stream.on('data', () => this.touch());
    const refuse = (status: number, error: string) => {
      stream.reply({ status, error });
      stream.end();
    };
    if (!head || typeof head !== 'object') return refuse(400, 'no stream head');
    if (head.type === 'command') {
      if (!REMOTE_COMMANDS.includes(head.command)) return refuse(403, `the agent does not allow the command "${String(head.command).slice(0, 50)}"`);
      this.options.command(head.command).then(
        (result) => {
          stream.reply({ status: 200, headers: { 'content-type': 'application/json' } });
          stream.write(JSON.stringify(result ?? null));
          stream.end();
        },
        (err: Error) => refuse(409, err.message),
      );
      return;
    }
    const admin = this.options.runtime();
    if (!admin) return refuse(503, 'the runtime is not up (restarting or crash-looping)');
    if (typeof head.path !== 'string' || !head.path.startsWith('/') || head.path.startsWith('//')) return refuse(400, 'the path must start with a single /');
    admin.accessToken().then(
      (token) => (head.type === 'ws' ? this.forwardSocket(stream, head, admin, token) : head.type === 'http' ? this.forwardHttp(stream, head, admin, token) : refuse(400, 'unknown stream type')),
      (err: Error) => refuse(502, `the runtime refused the agent's login: ${err.message}`),
    );
  }

  private forwardHttp(stream: MuxStream, head: Extract<TunnelOpen, { type: 'http' }>, admin: RuntimeAdmin, token: string | undefined): void {
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(head.headers ?? {})) if (!HOP_HEADERS.has(k.toLowerCase())) headers[k] = v;
    if (token) headers.authorization = `Bearer ${token}`;
    const req = http.request(admin.baseUrl + head.path.slice(1), { method: head.method, headers });
    let answered = false;
    stream.on('data', (chunk: Buffer) => {
      if (!req.write(chunk)) {
        stream.pause();
        req.once('drain', () => stream.resume());
      }
    });
    stream.on('end', () => req.end());
    stream.on('close', (reason?: string) => {
      if (reason) req.destroy();
    });
    stream.resume();
    req.on('response', (res) => {
      answered = true;
      // A restarted runtime forgot the agent's login: the next request logs in again.
      if (res.statusCode === 401) admin.dropToken();
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined && !HOP_HEADERS.has(k)) out[k] = v;
      stream.reply({ status: res.statusCode ?? 502, headers: out });
      res.on('data', (chunk: Buffer) => {
        if (!stream.write(chunk)) {
          res.pause();
          stream.once('drain', () => res.resume());
        }
      });
      res.on('end', () => stream.end());
      res.on('error', () => stream.reset('the runtime broke off its answer'));
    });
    req.on('error', (err) => {
      if (answered) return stream.reset(`runtime: ${err.message}`);
      stream.reply({ status: 502, error: `the runtime did not answer: ${err.message}` });
      stream.end();
    });
  }

  private forwardSocket(stream: MuxStream, head: Extract<TunnelOpen, { type: 'ws' }>, admin: RuntimeAdmin, token: string | undefined): void {
    const url = admin.baseUrl.replace(/^http/, 'ws') + head.path.slice(1);
    const up = new WebSocket(url, head.protocols ?? [], { perMessageDeflate: false });
    let accepted = false;
    const pending: Array<{ data: Buffer; text: boolean }> = [];
    const accept = () => {
      accepted = true;
      stream.reply({ status: 101 });
      for (const m of pending.splice(0)) up.send(m.data, { binary: !m.text });
    };
    up.on('open', () => {
      // The editor's comms socket authenticates with its first message: the agent's token, never the browser's.
      if (token) up.send(JSON.stringify({ auth: token }));
      else accept();
    });
    up.on('message', (data, isBinary) => {
      const buf = Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]);
      if (!accepted) {
        let auth: unknown;
        try {
          auth = (JSON.parse(buf.toString('utf8')) as { auth?: unknown }).auth;
        } catch {
          /* not the answer to the login */
        }
        if (auth === 'ok') return accept();
        stream.reply({ status: 502, error: 'the runtime refused the agent login on its comms socket' });
        stream.end();
        up.terminate();
        return;
      }
      if (!stream.writeMessage(buf, !isBinary)) {
        up.pause();
        stream.once('drain', () => up.resume());
      }
    });
    onStreamMessages(stream, (data, text) => (accepted ? sendPaced(stream, up, data, text, UPSTREAM_HIGH_WATER) : void pending.push({ data, text })));
    stream.on('end', () => up.close());
    stream.resume();
    stream.on('close', () => {
      if (up.readyState === WebSocket.OPEN || up.readyState === WebSocket.CONNECTING) up.terminate();
    });
    up.on('close', () => {
      if (!accepted) {
        stream.reply({ status: 502, error: 'the runtime closed its comms socket' });
      }
      stream.end();
    });
    up.on('error', (err) => {
      if (!accepted && !stream.closed) {
        stream.reply({ status: 502, error: `the runtime's comms socket: ${err.message}` });
        stream.end();
      }
    });
  }
}
