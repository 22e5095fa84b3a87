// Inside the runtime an agent supervises: turns Node-RED's log into lines for the repository and measures
// a health sample every interval (CPU over the interval, memory, event-loop delay p99, uptime, each
// active node's messages in/out and errors, and every red or yellow status). The runtime command feeds it Node-RED's logger, message
// hooks and events; no node-red import, so it is tested alone.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { DeviceLogLine, LogLevel, NodeHealth, NodeStatusSnapshot } from '../../contracts/fleet/protocol';
import type { ChildHealthSample } from './child-ipc';

/** Node-RED's numeric log levels (@node-red/util/lib/log.js); audit (98) and metric (99) are not lines. */
const LEVELS: Record<number, LogLevel> = { 10: 'fatal', 20: 'error', 30: 'warn', 40: 'info', 50: 'debug', 60: 'trace' };
/** Longest message sent; the repository refuses longer ones. */
export const MAX_MESSAGE_LENGTH = 8192;
const MAX_NAME_LENGTH = 256;
/** Nodes listed in one sample at most (the repository's bound). */
const MAX_SAMPLE_NODES = 5000;
const FILLS = new Set<NodeStatusSnapshot['fill']>(['red', 'yellow', 'green', 'blue', 'grey']);

interface NodeRedLogEntry {
  level: number;
  msg: unknown;
  type?: string;
  id?: string;
  name?: string;
}

interface Counts {
  in: number;
  out: number;
  errors: number;
}

export interface RuntimeTelemetryOptions {
  /** A few lines at a time, sent on the next turn of the event loop. */
  sendLines: (lines: DeviceLogLine[]) => void;
  now?: () => number;
  /** Type and name of a node the flow config does not list (inside a subflow instance). */
  lookup?: (id: string) => { type?: string; name?: string } | undefined;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Text the repository can store: no NUL, no lone surrogate (either would make it refuse the whole batch),
 * at most `max` UTF-16 units, never cutting a surrogate pair in two.
 */
export function storableText(text: string, max: number, note = ''): string {
  const clean = text.replace(/\u0000/g, '\ufffd').replace(LONE_SURROGATE, '\ufffd');
  if (clean.length <= max) return clean;
  let end = max - note.length;
  const last = clean.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return clean.slice(0, end) + note;
}

/** Cuts a message to what the repository stores, saying how long it was. */
export function fitMessage(text: string): string {
  return storableText(text, MAX_MESSAGE_LENGTH, `… (${text.length} chars)`);
}

const fitName = (v: unknown) => (typeof v === 'string' && v ? storableText(v, MAX_NAME_LENGTH) : undefined);

export class RuntimeTelemetry {
  private readonly counts = new Map<string, Counts>();
  private readonly statuses = new Map<string, NodeStatusSnapshot>();
  private readonly known = new Map<string, { type?: string; name?: string }>();
  private pending: DeviceLogLine[] = [];
  private flushScheduled = false;
  private readonly histogram: IntervalHistogram;
  private lastCpu = process.cpuUsage();
  private lastAt: number;
  private readonly now: () => number;

  constructor(private readonly o: RuntimeTelemetryOptions) {
    this.now = o.now ?? Date.now;
    this.lastAt = this.now();
    this.histogram = monitorEventLoopDelay({ resolution: 10 });
    this.histogram.enable();
  }

  /** A Node-RED logger (settings.logging.<name>) at `level` that turns entries into lines. */
  logger(level: LogLevel): Record<string, unknown> {
    return { level, metrics: false, audit: false, handler: () => (entry: NodeRedLogEntry) => this.logEntry(entry) };
  }

  logEntry(entry: NodeRedLogEntry): void {
    const level = LEVELS[entry.level];
    if (!level) return;
    if (entry.id && (level === 'error' || level === 'fatal')) this.count(entry.id).errors++;
    const line: DeviceLogLine = { ts: this.now(), level, msg: fitMessage(describe(entry.msg)) };
    if (entry.id) {
      line.nodeId = storableText(entry.id, MAX_NAME_LENGTH);
      const known = this.describeNode(entry.id);
      const type = fitName(entry.type) ?? known.type;
      const name = fitName(entry.name) ?? known.name;
      if (type) line.nodeType = type;
      if (name) line.nodeName = name;
    }
    this.pending.push(line);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flushLines());
    }
  }

  flushLines(): void {
    this.flushScheduled = false;
    if (!this.pending.length) return;
    const lines = this.pending;
    this.pending = [];
    try {
      this.o.sendLines(lines);
    } catch {
      // The parent is gone; nobody to tell.
    }
  }

  /** Node-RED's `onSend` hook: one event per message a node sends. */
  sent(events: { source?: { id?: string } }[] | { source?: { id?: string } }): void {
    for (const e of Array.isArray(events) ? events : [events]) if (e?.source?.id) this.count(e.source.id).out++;
  }

  /** Node-RED's `onReceive` hook: a node is about to receive a message. */
  received(event: { destination?: { id?: string } }): void {
    if (event?.destination?.id) this.count(event.destination.id).in++;
  }

  /** A 'node-status' event; a node removed (no status) is forgotten. */
  status(id: string, s: { fill?: string; shape?: string; text?: unknown } | undefined): void {
    if (!s || !s.fill || !FILLS.has(s.fill as NodeStatusSnapshot['fill'])) {
      this.statuses.delete(id);
      return;
    }
    const text = s.text === undefined || s.text === null ? undefined : storableText(String(s.text), 1024);
    this.statuses.set(id, { fill: s.fill as NodeStatusSnapshot['fill'], ...(s.shape ? { shape: storableText(String(s.shape), 32) } : {}), ...(text ? { text } : {}) });
  }

  /** 'flows:starting': learn every node's type and name; nodes of the old flows lose their status. */
  flowsStarting(config?: { flows?: unknown[] } | null): void {
    this.known.clear();
    for (const n of config?.flows ?? []) {
      const node = n as { id?: unknown; type?: unknown; name?: unknown };
      if (typeof node?.id === 'string') this.known.set(node.id, { type: fitName(node.type), name: fitName(node.name) });
    }
    for (const id of this.statuses.keys()) if (!this.known.has(id)) this.statuses.delete(id);
  }

  /** Measures the interval since the previous sample and starts the next one. */
  sample(): ChildHealthSample {
    const at = this.now();
    const cpu = process.cpuUsage(this.lastCpu);
    const wallMs = Math.max(1, at - this.lastAt);
    this.lastCpu = process.cpuUsage();
    this.lastAt = at;
    const memory = process.memoryUsage();
    const p99 = this.histogram.count ? this.histogram.percentile(99) / 1e6 : 0;
    this.histogram.reset();
    // A node is listed when it did something or shows a red or yellow status: a flow of 1,000 quiet green
    // nodes does not fill the repository with 1,000 rows every interval.
    const flagged = [...this.statuses].filter(([, st]) => st.fill === 'red' || st.fill === 'yellow').map(([nodeId]) => nodeId);
    const ids = new Set([...this.counts.keys(), ...flagged]);
    const nodes: NodeHealth[] = [];
    for (const id of ids) {
      if (nodes.length >= MAX_SAMPLE_NODES) break;
      const c = this.counts.get(id) ?? { in: 0, out: 0, errors: 0 };
      const known = this.describeNode(id);
      const status = this.statuses.get(id);
      const shown = status && (status.fill === 'red' || status.fill === 'yellow') ? status : undefined;
      nodes.push({ id: storableText(id, MAX_NAME_LENGTH), type: known.type ?? '', ...(known.name ? { name: known.name } : {}), in: c.in, out: c.out, errors: c.errors, ...(shown ? { status: shown } : {}) });
    }
    this.counts.clear();
    return {
      ts: at,
      cpuPercent: Math.round(((cpu.user + cpu.system) / 1000 / wallMs) * 100 * 100) / 100,
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      heapTotalBytes: memory.heapTotal,
      eventLoopP99Ms: Math.round(p99 * 1000) / 1000,
      uptimeSeconds: Math.round(process.uptime()),
      nodes,
    };
  }

  close(): void {
    this.histogram.disable();
    this.flushLines();
  }

  private count(id: string): Counts {
    let c = this.counts.get(id);
    if (!c) this.counts.set(id, (c = { in: 0, out: 0, errors: 0 }));
    return c;
  }

  private describeNode(id: string): { type?: string; name?: string } {
    const k = this.known.get(id);
    if (k) return k;
    try {
      const n = this.o.lookup?.(id);
      if (n) return { type: fitName(n.type), name: fitName(n.name) };
    } catch {
      // Naming is best effort; the id is always there.
    }
    return {};
  }
}

/** Errors thrown inside a function node come from another vm context: `instanceof Error` is false for them. */
function describe(msg: unknown): string {
  if (typeof msg === 'string') return msg;
  const m = msg as { message?: unknown } | null;
  if (m && typeof m.message === 'string') return m.message;
  try {
    return JSON.stringify(msg) ?? String(msg);
  } catch {
    return String(msg);
  }
}
