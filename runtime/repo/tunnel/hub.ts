// The repository's end of the editor tunnels: one WebSocket per device that turned remote editing on,
// opened by its agent with the device token. Requests for the device's editor, its comms socket and
// remote commands become streams on that tunnel (lib/tunnel-mux.ts).
import { EventEmitter } from 'node:events';
import type WebSocket from 'ws';
import { TunnelMux, type MuxStream } from '../../../lib/tunnel-mux';
import { TUNNEL_CLOSE, type RemoteCommand, type TunnelOpen, type TunnelReply } from '../../../contracts/fleet/tunnel';

export class DeviceTunnel {
  readonly mux: TunnelMux;
  readonly connectedAt = new Date();

  constructor(
    readonly deviceId: string,
    readonly ws: WebSocket,
    window?: number,
    /** The device token the tunnel was opened with, checked again while it stays open (never logged). */
    readonly credential?: string,
  ) {
    this.mux = new TunnelMux({ send: (frame, written) => ws.send(frame, { binary: true }, written) }, { role: 'server', window });
    ws.on('message', (data, isBinary) => {
      if (isBinary) this.mux.receive(data as Buffer);
    });
    this.mux.on('error', () => ws.terminate());
    this.mux.announce();
  }

  open(head: TunnelOpen): MuxStream {
    return this.mux.open(head);
  }

  /** Runs a remote command on the agent; resolves with its JSON result, rejects with the agent's refusal. */
  command(name: RemoteCommand, timeoutMs = 120_000): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const stream = this.open({ type: 'command', command: name });
      stream.end();
      let reply: TunnelReply | undefined;
      const parts: Buffer[] = [];
      const timer = setTimeout(() => stream.reset('the command took too long'), timeoutMs);
      stream.on('reply', (r: TunnelReply) => (reply = r));
      stream.on('data', (chunk: Buffer) => parts.push(chunk));
      stream.on('close', (reason?: string) => {
        clearTimeout(timer);
        if (!reply) return reject(new CommandError(502, `the agent did not answer the ${name} command${reason ? ` (${reason})` : ''}`));
        if (reply.status >= 400) return reject(new CommandError(reply.status, reply.error ?? `the agent refused ${name}`));
        try {
          resolve(JSON.parse(Buffer.concat(parts).toString('utf8') || 'null'));
        } catch {
          reject(new CommandError(502, `the agent's answer to ${name} is not JSON`));
        }
      });
    });
  }

  close(code: number, reason: string): void {
    this.mux.close(reason);
    this.ws.close(code, reason);
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }
}

export class CommandError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Events: 'open' (DeviceTunnel), 'close' (DeviceTunnel, code). */
export class TunnelHub extends EventEmitter {
  private readonly tunnels = new Map<string, DeviceTunnel>();

  constructor(private readonly window?: number) {
    super();
  }

  /** A device's new tunnel; one it had before is closed (the agent reconnected). */
  attach(deviceId: string, ws: WebSocket, credential?: string): DeviceTunnel {
    this.tunnels.get(deviceId)?.close(TUNNEL_CLOSE.replaced, 'replaced by a new tunnel');
    const tunnel = new DeviceTunnel(deviceId, ws, this.window, credential);
    this.tunnels.set(deviceId, tunnel);
    ws.on('close', (code) => {
      tunnel.mux.close(`the tunnel closed (${code})`);
      if (this.tunnels.get(deviceId) === tunnel) this.tunnels.delete(deviceId);
      this.emit('close', tunnel, code);
    });
    this.emit('open', tunnel);
    return tunnel;
  }

  /** The tunnels open on this process. */
  list(): DeviceTunnel[] {
    return [...this.tunnels.values()];
  }

  get(deviceId: string): DeviceTunnel | undefined {
    return this.tunnels.get(deviceId);
  }

  close(deviceId: string, code: number, reason: string): boolean {
    const tunnel = this.tunnels.get(deviceId);
    if (!tunnel) return false;
    this.tunnels.delete(deviceId);
    tunnel.close(code, reason);
    return true;
  }

  closeAll(reason: string): void {
    for (const id of [...this.tunnels.keys()]) this.close(id, 1001, reason);
  }

  /** What the device document shows of the tunnel. */
  status(deviceId: string): { connected: boolean; since: string | null; streams: number } {
    const t = this.tunnels.get(deviceId);
    return { connected: !!t, since: t?.connectedAt.toISOString() ?? null, streams: t?.mux.openStreams ?? 0 };
  }
}
