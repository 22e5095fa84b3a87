// Remote editing on the repository's side: who may use a device's editor (a console session with role
// deployer or admin, while remote editing is on and the device's tunnel is up), the editor proxy at
// /devices/{id}/editor/, remote commands with their audit, and the WebSocket upgrades: the agents' tunnels
// (device token) and the editor's comms socket (console session, own Origin only).
import type { NextFunction, Request, Response } from 'express';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { API_ROOT } from '../../../contracts/fleet/protocol';
import { editorPath, TUNNEL_CLOSE, type RemoteCommand } from '../../../contracts/fleet/tunnel';
import { redactText } from '../../../lib/redact';
import { bearerToken, cookieValue, roleAtLeast, SESSION_COOKIE, type Principal, type UserPrincipal } from '../auth';
import { ApiError, type RepoStore } from '../store/repo-store';
import { EDITOR_HELPER, editorHelperScript, proxyHttp, relaySocket } from './editor-proxy';
import { CommandError, type DeviceTunnel, type TunnelHub } from './hub';

export interface RemoteEditingDeps {
  store: RepoStore;
  tunnels: TunnelHub;
  log: (line: string) => void;
  /** The server's own check of a request's bearer token or session cookie (with its Origin and CSRF checks). */
  authenticate: (req: Request) => Promise<Principal>;
  /** How often open tunnels are checked against the database (default 5 s; see recheckTunnels). */
  recheckMs?: number;
}

export function createRemoteEditing({ store, tunnels, log, authenticate, recheckMs = 5000 }: RemoteEditingDeps) {
  /**
   * A tunnel lives in the memory of the replica the agent dialled, while the token replacement or the
   * switch-off that should end it may reach another replica (which closes only its own tunnels). So every
   * replica checks its open tunnels against the shared database every few seconds: one whose device token
   * no longer authenticates is closed as revoked, one whose device has remote editing off as disabled.
   */
  const recheckTunnels = async () => {
    for (const tunnel of tunnels.list()) {
      const id = tunnel.deviceId;
      const principal = tunnel.credential === undefined ? undefined : await store.authenticate(tunnel.credential);
      if (tunnels.get(id) !== tunnel) continue;
      if (tunnel.credential !== undefined && (principal?.kind !== 'device' || principal.deviceId !== id)) {
        log(`editor tunnel of ${id}: its device token no longer holds (replaced elsewhere); closing it`);
        tunnels.close(id, TUNNEL_CLOSE.revoked, 'the device token was replaced');
        continue;
      }
      if ((await store.remoteEditing.isOn(id)) !== true && tunnels.get(id) === tunnel) {
        log(`editor tunnel of ${id}: remote editing is off (turned off elsewhere); closing it`);
        tunnels.close(id, TUNNEL_CLOSE.disabled, 'remote editing was turned off');
      }
    }
  };
  let rechecking = false;
  const recheckTimer = setInterval(() => {
    if (rechecking || tunnels.list().length === 0) return;
    rechecking = true;
    recheckTunnels()
      .catch((err: Error) => log(`checking the open editor tunnels failed: ${redactText(err.message)}`))
      .finally(() => {
        rechecking = false;
      });
  }, recheckMs);
  recheckTimer.unref();
  /** The device with its tunnel's state and, while remote editing is on, where its editor is. */
  const deviceDocument = async (id: string) => {
    const d = await store.getDevice(id);
    if (!d) throw new ApiError(404, `no device ${id}`);
    return { ...d, tunnel: tunnels.status(id), ...(d.remoteEditing ? { editorUrl: editorPath(id) } : {}) };
  };
  /** The device's connected tunnel, or why there is none (409: never a 5xx for a state a person can change). */
  const liveTunnel = async (id: string): Promise<DeviceTunnel> => {
    const on = await store.remoteEditing.isOn(id);
    if (on === undefined) throw new ApiError(404, `no device ${id}`);
    if (!on) throw new ApiError(409, `remote editing is off for device ${id}; turn it on first (POST ${API_ROOT}/devices/${id}/remote-editing)`);
    const tunnel = tunnels.get(id);
    if (!tunnel) throw new ApiError(409, `device ${id} has not connected its editor tunnel yet (it learns of remote editing with its next desired state); try again in a few seconds`, undefined, { retryAfterSeconds: 2 });
    return tunnel;
  };
  /** Runs a command through the tunnel, audited with its outcome. */
  const runCommand = async (tunnel: DeviceTunnel, command: RemoteCommand, actor: Principal): Promise<unknown> => {
    try {
      const result = await tunnel.command(command);
      await store.remoteEditing.record(actor, 'device.remote-command', tunnel.deviceId, { command, ok: true });
      return result;
    } catch (err) {
      if (!(err instanceof CommandError)) throw err;
      await store.remoteEditing.record(actor, 'device.remote-command', tunnel.deviceId, { command, ok: false, error: err.message.slice(0, 500) });
      throw new ApiError(409, `the agent of ${tunnel.deviceId} did not run ${command}: ${err.message}`);
    }
  };
  /** Who may use a device's editor: a console session (deployer or admin), while remote editing is on and the tunnel is up. */
  const editorUser = (principal: Principal, id: string): UserPrincipal => {
    if (principal.kind !== 'user' || principal.via !== 'session') throw new ApiError(403, "a device's editor is for people logged in to the console, not for tokens");
    if (!roleAtLeast(principal.role, 'deployer')) throw new ApiError(403, `editing device ${id} needs role deployer; ${principal.name} has ${principal.role}`);
    return principal;
  };
  const editorProxy = (req: Request, res: Response, next: NextFunction) => {
    res.locals.route = '/devices/{id}/editor';
    const id = String(req.params.id);
    const route = req.url.split('?')[0]!;
    // The editor's URLs are relative: its root needs the trailing slash.
    if (route === '/' && !req.originalUrl.split('?')[0]!.endsWith('/')) return res.redirect(308, `${editorPath(id)}${req.url.slice(1)}`);
    (async () => {
      const user = editorUser(await authenticate(req), id);
      if (route === `/${EDITOR_HELPER}`) {
        const found = await store.session(req.sessionId);
        if (!found) throw new ApiError(401, 'the session has ended; log in again');
        return res.type('application/javascript').set('Cache-Control', 'no-store').send(editorHelperScript(found.session.csrfToken));
      }
      const tunnel = await liveTunnel(id);
      if (req.method === 'GET' && route === '/') await store.remoteEditing.record(user, 'device.editor.open', id);
      const deploy = req.method === 'POST' && route === '/flows';
      proxyHttp(tunnel, req, res, req.url, {
        onReply: deploy
          ? (status) => void store.remoteEditing.record(user, 'device.editor.deploy', id, { status, deploymentType: String(req.headers['node-red-deployment-type'] ?? 'full') }).catch((err: Error) => log(`could not audit a deploy on ${id}: ${redactText(err.message)}`))
          : undefined,
      });
    })().catch(next);
  };

  // WebSockets: the agents' tunnels (device token) and the editor's comms socket (console session).
  const sockets = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
  const refuseUpgrade = (socket: Duplex, status: number, message: string) => {
    const body = JSON.stringify({ error: message });
    socket.end(`HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : status === 404 ? 'Not Found' : status === 409 ? 'Conflict' : 'Bad Gateway'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  };
  tunnels.on('open', (tunnel: DeviceTunnel) => {
    log(`editor tunnel of ${tunnel.deviceId} connected`);
    void store.remoteEditing.record({ kind: 'device', deviceId: tunnel.deviceId }, 'device.tunnel.open', tunnel.deviceId).catch(() => {});
  });
  tunnels.on('close', (tunnel: DeviceTunnel, code: number) => {
    log(`editor tunnel of ${tunnel.deviceId} closed (${code})`);
    void store.remoteEditing.record({ kind: 'device', deviceId: tunnel.deviceId }, 'device.tunnel.close', tunnel.deviceId, { code }).catch(() => {});
    // The agent closed it for idleness: remote editing ends, and the desired state says so.
    if (code === TUNNEL_CLOSE.idle) void store.remoteEditing.endIdle(tunnel.deviceId).catch((err: Error) => log(`could not end remote editing of ${tunnel.deviceId}: ${redactText(err.message)}`));
  });
  const upgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    try {
      const route = new URL(req.url ?? '/', 'http://repository').pathname;
      let m = /^\/api\/v1\/devices\/([^/]+)\/tunnel$/.exec(route);
      if (m) {
        const id = decodeURIComponent(m[1]!);
        const credential = bearerToken(req.headers.authorization);
        const principal = await store.authenticate(credential);
        if (!principal) return refuseUpgrade(socket, 401, 'a valid device token is required (Authorization: Bearer <token>)');
        if (principal.kind !== 'device' || principal.deviceId !== id) return refuseUpgrade(socket, 403, `only device ${id} itself may open its tunnel`);
        if (!(await store.remoteEditing.isOn(id))) return refuseUpgrade(socket, 409, `remote editing is off for device ${id}`);
        return sockets.handleUpgrade(req, socket, head, (ws) => tunnels.attach(id, ws, credential));
      }
      m = /^\/devices\/([^/]+)\/editor\/comms$/.exec(route);
      if (m) {
        const id = decodeURIComponent(m[1]!);
        const sessionId = cookieValue(req.headers.cookie, SESSION_COOKIE);
        const found = sessionId ? await store.session(sessionId) : undefined;
        if (!found) return refuseUpgrade(socket, 401, 'log in to the console first');
        // A browser always sends Origin with a WebSocket: another site's page may not use the session.
        const origin = req.headers.origin;
        if (origin === undefined || origin.replace(/^https?:\/\//, '') !== req.headers.host) return refuseUpgrade(socket, 403, 'the editor socket is only for pages of this repository');
        editorUser(found.principal, id);
        const tunnel = await liveTunnel(id);
        const protocols = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((x) => x.trim()).filter(Boolean);
        const stream = tunnel.open({ type: 'ws', path: '/comms', protocols });
        let answered = false;
        stream.once('reply', (reply: { status: number; error?: string }) => {
          answered = true;
          if (reply.status !== 101) {
            stream.reset('refused');
            return refuseUpgrade(socket, 502, `device ${id}: ${reply.error ?? `the runtime answered ${reply.status}`}`);
          }
          sockets.handleUpgrade(req, socket, head, (client) => relaySocket(stream, client));
        });
        stream.once('close', (reason?: string) => {
          if (!answered) refuseUpgrade(socket, 502, `device ${id}: the tunnel closed (${reason ?? 'closed'})`);
        });
        socket.once('close', () => {
          if (!answered) stream.reset('the browser went away');
        });
        return;
      }
      refuseUpgrade(socket, 404, 'no WebSocket here');
    } catch (err) {
      if (err instanceof ApiError && err.status < 500) return refuseUpgrade(socket, err.status, err.message);
      log(`WebSocket upgrade ${redactText(req.url ?? '')} failed: ${(err as Error)?.stack ?? String(err)}`);
      refuseUpgrade(socket, 502, 'the repository could not open this WebSocket');
    }
  };
  return {
    deviceDocument,
    liveTunnel,
    runCommand,
    editorProxy,
    upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void upgrade(req, socket, head),
    /** Closes every tunnel and editor socket (the HTTP server does not close upgraded sockets). */
    closeSockets: (reason: string) => {
      clearInterval(recheckTimer);
      tunnels.closeAll(reason);
      for (const client of sockets.clients) client.terminate();
    },
  };
}
