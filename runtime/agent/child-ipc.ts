// What a runtime started by the agent tells its parent over the Node.js IPC channel: that it is ready,
// and every error its nodes log (the agent's health window listens to these).

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

export type ChildMessage = ChildReadyMessage | ChildLogMessage;

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
export function healthLogger(send: (m: ChildLogMessage) => void): Record<string, unknown> {
  return {
    level: 'error',
    metrics: false,
    audit: false,
    handler: () => (entry: NodeRedLogMessage) => {
      const level = LEVELS[entry.level];
      if (!level) return;
      const text = describe(entry.msg);
      try {
        send({ type: 'linesight-log', level, text, nodeId: entry.id, nodeType: entry.type, nodeName: entry.name || undefined, ts: Date.now() });
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

export function isChildMessage(m: unknown): m is ChildMessage {
  return !!m && typeof m === 'object' && ((m as { type?: unknown }).type === 'linesight-ready' || (m as { type?: unknown }).type === 'linesight-log');
}
