// A device's Node-RED editor served by the repository at /devices/{id}/editor/, through its tunnel: HTTP
// requests and the comms WebSocket each become one stream. Back-pressure both ways: a browser that reads
// slowly pauses its stream (and so, through the window, only its own bytes on the agent), and a stream
// the browser cannot take yet pauses the browser's upload.
import type { IncomingMessage, ServerResponse } from 'node:http';
import WebSocket from 'ws';
import { onStreamMessages, sendPaced, type MuxStream } from '../../../lib/tunnel-mux';
import { HOP_HEADERS, type TunnelReply } from '../../../contracts/fleet/tunnel';
import type { DeviceTunnel } from './hub';

/** Where the editor page loads the repository's small helper script (relative to the editor root). */
export const EDITOR_HELPER = '__linesight/editor.js';

/** Bytes queued towards a browser's WebSocket above which its stream is paused. */
const CLIENT_HIGH_WATER = 1024 * 1024;

export interface ProxyHooks {
  /** The agent answered (status) — for the audit of deploys. */
  onReply?: (status: number) => void;
}

/** Forwards one HTTP request through the tunnel; `path` is the runtime-relative path with its query. */
export function proxyHttp(tunnel: DeviceTunnel, req: IncomingMessage, res: ServerResponse, path: string, hooks: ProxyHooks = {}): void {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_HEADERS.has(k)) headers[k] = v;
  // The editor page is rewritten (the helper script goes in): ask for it uncompressed.
  const isPage = path === '/' || path.startsWith('/?');
  if (isPage) delete headers['accept-encoding'];
  const stream = tunnel.open({ type: 'http', method: req.method ?? 'GET', path, headers });
  let finished = false;
  // The browser's body, paced by the stream's window.
  req.on('data', (chunk: Buffer) => {
    if (!stream.write(chunk)) {
      req.pause();
      stream.once('drain', () => req.resume());
    }
  });
  req.on('end', () => stream.end());
  res.on('close', () => {
    if (!finished) stream.reset('the browser went away');
  });
  let page: Buffer[] | null = null;
  stream.on('reply', (reply: TunnelReply) => {
    hooks.onReply?.(reply.status);
    if (reply.status >= 400 && reply.error) {
      res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `device: ${reply.error}` }));
      finished = true;
      stream.reset('answered');
      return;
    }
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(reply.headers ?? {})) if (!HOP_HEADERS.has(k.toLowerCase())) out[k] = v;
    if (isPage && String(out['content-type'] ?? '').includes('text/html')) {
      page = [];
      res.statusCode = reply.status;
      for (const [k, v] of Object.entries(out)) res.setHeader(k, v);
      return;
    }
    res.writeHead(reply.status, out);
  });
  stream.on('data', (chunk: Buffer) => {
    if (page) return void page.push(chunk);
    if (!res.write(chunk)) {
      stream.pause();
      res.once('drain', () => stream.resume());
    }
  });
  stream.on('end', () => {
    finished = true;
    if (page) {
      const html = Buffer.concat(page).toString('utf8');
      // First in <head>: the helper must be in place before the editor's first request.
      const withHelper = html.replace(/<head([^>]*)>/i, (m) => `${m}<script src="${EDITOR_HELPER}"></script>`);
      res.setHeader('cache-control', 'no-store');
      res.end(withHelper);
      return;
    }
    res.end();
  });
  stream.on('close', (reason?: string) => {
    if (finished) return;
    finished = true;
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `the device's tunnel broke off the request (${reason ?? 'closed'})` }));
    else res.destroy();
  });
}

/** Joins a browser's WebSocket and an accepted comms stream, message for message, with back-pressure both ways. */
export function relaySocket(stream: MuxStream, client: WebSocket): void {
  client.on('message', (data, isBinary) => {
    const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (!stream.writeMessage(buf, !isBinary)) {
      client.pause();
      stream.once('drain', () => client.resume());
    }
  });
  onStreamMessages(stream, (data, text) => sendPaced(stream, client, data, text, CLIENT_HIGH_WATER));
  stream.on('end', () => client.close(1000));
  stream.on('close', (reason?: string) => {
    if (client.readyState === WebSocket.OPEN) client.close(1011, (reason ?? 'tunnel closed').slice(0, 120));
  });
  client.on('close', () => stream.end());
  client.on('error', () => stream.reset('the browser socket failed'));
}

/**
 * The helper the editor page loads from the repository: it adds the console session's CSRF token to the
 * editor's own requests (jQuery and fetch), so a deploy made in the editor passes the repository's check.
 */
export function editorHelperScript(csrfToken: string): string {
  return `(function () {
  var token = ${JSON.stringify(csrfToken)};
  var open = XMLHttpRequest.prototype.open;
  var send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function (method) {
    this.__linesightMethod = String(method || 'GET').toUpperCase();
    return open.apply(this, arguments);
  };
  XMLHttpRequest.prototype.send = function () {
    if (this.__linesightMethod !== 'GET' && this.__linesightMethod !== 'HEAD') this.setRequestHeader('X-CSRF-Token', token);
    return send.apply(this, arguments);
  };
  if (window.fetch) {
    var fetch0 = window.fetch;
    window.fetch = function (input, init) {
      init = init || {};
      var method = String(init.method || 'GET').toUpperCase();
      if (method !== 'GET' && method !== 'HEAD') {
        var headers = new Headers(init.headers || {});
        headers.set('X-CSRF-Token', token);
        init.headers = headers;
      }
      return fetch0.call(this, input, init);
    };
  }
})();
`;
}
