// The editor tunnel between the repository and an agent: what a stream asks for when it opens (an HTTP
// request, the editor's comms WebSocket, or a remote command), what the agent answers, and the close codes
// both sides read. The frames that carry them are in lib/tunnel-mux.ts.

/** Path of the agent's outbound WebSocket (device token): `${API_ROOT}/devices/{id}/tunnel`. */
export const tunnelPath = (deviceId: string) => `/api/v1/devices/${encodeURIComponent(deviceId)}/tunnel`;

/** Where the repository serves a device's editor, through the tunnel. */
export const editorPath = (deviceId: string) => `/devices/${encodeURIComponent(deviceId)}/editor/`;

/** Close codes of the tunnel WebSocket (4000-4999 are the application's). */
export const TUNNEL_CLOSE = {
  /** The agent closed it: nobody used it for the idle time. */
  idle: 4000,
  /** The repository closed it: the device token was replaced or remote editing was turned off. */
  revoked: 4001,
  /** The repository closed it: remote editing is off for this device. */
  disabled: 4002,
  /** Another tunnel of the same device replaced this one. */
  replaced: 4003,
} as const;

/** The commands an agent runs when asked through its tunnel; anything else is refused by the agent. */
export const REMOTE_COMMANDS = ['restart', 'last-good', 'support-bundle', 'revert', 'flows'] as const;
export type RemoteCommand = (typeof REMOTE_COMMANDS)[number];

/** What a stream opens with (the repository always opens; the agent answers). */
export type TunnelOpen =
  | { type: 'http'; method: string; path: string; headers: Record<string, string | string[]> }
  | { type: 'ws'; path: string; protocols?: string[] }
  | { type: 'command'; command: RemoteCommand };

/** The agent's answer head: an HTTP status and headers, `101` for an accepted WebSocket, or a command's outcome. */
export interface TunnelReply {
  status: number;
  headers?: Record<string, string | string[]>;
  /** Why the agent refused (status >= 400). */
  error?: string;
}

export type { RemoteEditingRequest } from './protocol.schema';

/** Headers the proxy never forwards in either direction (hop-by-hop, and the repository's own credentials). */
export const HOP_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'cookie',
  'set-cookie',
  'authorization',
  'x-csrf-token',
  'origin',
  'referer',
  'content-length',
]);
