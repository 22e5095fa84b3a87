// What a runtime started by the agent tells its parent over the Node.js IPC channel: that it is ready,
// every error its nodes log, and which nodes have problems now (red status, failed to start); the
// agent's health window and its degraded flag listen to these. For the repository it also sends its
// log lines and a health sample every interval.
import type { DeviceLogLine, HealthSample } from '../../contracts/fleet/protocol';

export interface ChildReadyMessage {
  type: 'linesight-ready';
  url: string;
  port: number;
}

export interface ChildLogMessage {
  type: 'linesight-log';
  level: 'fatal' | 'error';
  text: string;
  nodeId?: string;
  nodeType?: string;
  nodeName?: string;
  ts: number;
}

/** A node that is not healthy now, as the runtime child sees it. */
export interface NodeProblem {
  nodeId: string;
  nodeType?: string;
  nodeName?: string;
  /** `status`: its status is red (dot: failed, ring: disconnected); `start`: it failed to start. */
  kind: 'status' | 'start';
  fill?: string;
  shape?: string;
  text: string;
  /** When it became a problem (ms since the epoch); a node retrying (yellow) after a failure keeps it. */
  since: number;
}

/** Every node with a problem, sent whenever that set (or what it says) changes. */
export interface ChildNodeProblemsMessage {
  type: 'linesight-node-problems';
  problems: NodeProblem[];
  ts: number;
}

/** Log lines of the runtime at the telemetry level and above, for the repository (a few per message). */
export interface ChildLogLinesMessage {
  type: 'linesight-log-lines';
  lines: DeviceLogLine[];
}

/** A health sample as the runtime measures it; the agent adds its restarts and the disk's free space. */
export type ChildHealthSample = Omit<HealthSample, 'restarts' | 'diskFreeBytes'>;

export interface ChildHealthSampleMessage {
  type: 'linesight-health-sample';
  sample: ChildHealthSample;
}

export type ChildMessage = ChildReadyMessage | ChildLogMessage | ChildNodeProblemsMessage | ChildLogLinesMessage | ChildHealthSampleMessage;

/** Env vars the agent sets for its runtime: milliseconds between health samples, and the least severe log level sent. */
export const HEALTH_INTERVAL_ENV = 'LINESIGHT_HEALTH_INTERVAL_MS';
export const TELEMETRY_LOG_LEVEL_ENV = 'LINESIGHT_TELEMETRY_LOG_LEVEL';

/** The agent's own editor account in the child; its password is random for every launch. */
export const AGENT_ADMIN_USER = 'linesight-agent';
/** Env var carrying the bcrypt hash of the agent's per-launch password (never the password). */
export const AGENT_PASSWORD_HASH_ENV = 'LINESIGHT_AGENT_PASSWORD_HASH';

// Node-RED's numeric log levels (@node-red/util/lib/log.js).
const LEVELS: Record<number, ChildLogMessage['level']> = { 10: 'fatal', 20: 'error' };

interface NodeRedLogMessage {
  level: number;
  msg: unknown;
  type?: string;
  id?: string;
  name?: string;
}

/**
 * A Node-RED logger (settings.logging.<name>) that forwards fatal and error entries to the parent.
 * Node-RED calls `handler(settings)` once and then the returned function for every entry.
 */
export function healthLogger(send: (m: ChildLogMessage) => void, observe?: (m: ChildLogMessage) => void): Record<string, unknown> {
  return {
    level: 'error',
    metrics: false,
    audit: false,
    handler: () => (entry: NodeRedLogMessage) => {
      const level = LEVELS[entry.level];
      if (!level) return;
      const text = describe(entry.msg);
      const m: ChildLogMessage = { type: 'linesight-log', level, text, nodeId: entry.id, nodeType: entry.type, nodeName: entry.name || undefined, ts: Date.now() };
      observe?.(m);
      try {
        send(m);
      } catch {
        // The parent is gone; nothing to tell.
      }
    },
  };
}

/** Errors thrown inside a function node come from another vm context: `instanceof Error` is false for them. */
function describe(msg: unknown): string {
  if (typeof msg === 'string') return msg;
  const m = msg as { message?: unknown; name?: unknown } | null;
  if (m && typeof m.message === 'string') return m.message;
  return safeJson(msg);
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

const CHILD_MESSAGE_TYPES = new Set(['linesight-ready', 'linesight-log', 'linesight-node-problems', 'linesight-log-lines', 'linesight-health-sample']);

export function isChildMessage(m: unknown): m is ChildMessage {
  return !!m && typeof m === 'object' && CHILD_MESSAGE_TYPES.has((m as { type?: unknown }).type as string);
}
