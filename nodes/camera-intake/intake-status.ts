// What camera-intake's status dot and warnings say, from two snapshots of its counters a moment apart.
// Pure, so the wording and colours are tested without a server.
import type { NodeStatus } from 'node-red';
import { fmt, status } from '../kit/node-kit';

export interface IntakeSnapshot {
  port: number;
  calls: number;
  /** Calls refused for any reason: invalid, flow behind, no token. */
  rejected: number;
  /** Calls refused for a missing or wrong token. */
  unauthenticated: number;
  waiting: number;
  maxWaiting: number;
  /** Connections open now, and the most allowed. */
  connections: number;
  maxConnections: number;
  /** Connections closed at once because the limit was reached (since start). */
  refusedConnections: number;
}

/** A limit that holds cameras back: yellow, the colour of "running but degraded", with the reason first. */
const limited = (text: string): NodeStatus => ({ fill: 'yellow', shape: 'ring', text });

/** The status for `now`, given the snapshot of one tick before (calls/s and fresh refusals come from the difference). */
export function intakeStatus(before: IntakeSnapshot | undefined, now: IntakeSnapshot): NodeStatus {
  const rate = now.calls - (before?.calls ?? now.calls);
  const text = `${fmt(rate)}/s · waiting ${fmt(now.waiting)}/${fmt(now.maxWaiting)} · rejected ${fmt(now.rejected)}`;
  const refusedNow = now.refusedConnections - (before?.refusedConnections ?? 0);
  if (refusedNow > 0 || now.connections >= now.maxConnections) {
    return limited(`connections ${fmt(now.connections)}/${fmt(now.maxConnections)}, ${fmt(now.refusedConnections)} refused · ${text}`);
  }
  return now.waiting > 0 || rate > 0 ? status.busy(text) : status.ok(`listening :${now.port} · ${text}`);
}

/**
 * One warning line for what was refused since the last warning (`since`; undefined: since start), or
 * undefined when nothing was. Meant to be logged at most once a minute: a flood must not flood the log too.
 */
export function refusalWarning(since: IntakeSnapshot | undefined, now: IntakeSnapshot): string | undefined {
  const parts: string[] = [];
  const connections = now.refusedConnections - (since?.refusedConnections ?? 0);
  const unauthenticated = now.unauthenticated - (since?.unauthenticated ?? 0);
  if (connections > 0) parts.push(`${fmt(connections)} connection(s) refused at the limit of ${fmt(now.maxConnections)} open (Max connections)`);
  if (unauthenticated > 0) parts.push(`${fmt(unauthenticated)} call(s) refused UNAUTHENTICATED: missing or wrong token`);
  return parts.length ? parts.join('; ') : undefined;
}
