// The connection states every connector reports and every node using an endpoint shows.
import type { NodeStatus } from 'node-red';
import { status } from '../kit/node-kit';
import { statusText } from '../kit/status-text';

export type ConnectionPhase = 'connecting' | 'connected' | 'disconnected' | 'closed';

export interface ConnectionState {
  phase: ConnectionPhase;
  /** Why the connection is down (last error). */
  reason?: string;
  /** Delay before the next attempt, when one is scheduled. */
  retryInMs?: number;
  /** Reconnect attempts since the last good connection. */
  attempts?: number;
}

/** The node status for a connection state, in the shared status vocabulary. */
export function statusFor(s: ConnectionState, okText = 'connected'): NodeStatus {
  switch (s.phase) {
    case 'connected':
      return status.ok(okText);
    case 'connecting':
      return status.connecting(s.attempts ? `connecting (attempt ${s.attempts + 1})` : 'connecting');
    case 'disconnected':
      return status.disconnected(`${s.reason ? statusText(s.reason, 40) : 'disconnected'}${s.retryInMs !== undefined ? `, retry in ${(s.retryInMs / 1000).toFixed(1)} s` : ''}`);
    case 'closed':
      return status.clear();
  }
}
