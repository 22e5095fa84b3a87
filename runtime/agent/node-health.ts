// "Running" means healthy: which nodes of a runtime have problems now. The runtime child feeds Node-RED's
// 'node-status' events and its flow start/stop events into a NodeHealthTracker and sends the snapshot
// to the agent; the agent decides with `dueProblems` what counts against the health window and what
// makes a running device degraded. No node-red import: both halves are tested without a runtime.
import type { ChildLogMessage, NodeProblem } from './child-ipc';

export type { NodeProblem };

/** A node status as Node-RED emits it (`node.status({...})`); undefined when the node was removed. */
export interface StatusLike {
  fill?: string;
  shape?: string;
  text?: unknown;
}

/** What Node-RED emits as 'flows:stopping': a full stop, or the ids a partial deploy restarts. */
export interface FlowsStopping {
  type?: string;
  diff?: { changed?: string[]; removed?: string[]; rewired?: string[]; linked?: string[] } | null;
}

export interface NodeHealthTrackerOptions {
  /** Called with the whole snapshot whenever it changes. */
  onChange: (problems: NodeProblem[]) => void;
  now?: () => number;
  /** Type and name of a node the flow config does not list (inside a subflow instance): the live node's. */
  lookup?: (id: string) => { type?: string; name?: string } | undefined;
}

const WORKING_FILLS = new Set(['green', 'blue']);

/**
 * Tracks the nodes of one runtime that have problems. A red status (dot = failed, ring = disconnected)
 * makes one; a yellow "connecting" ring does not, but neither does it end one: a node that fails,
 * retries and fails again stays a problem from its first failure. Green or blue ends it, and so does a
 * cleared or grey status for a status problem. An error logged while the flows start names a node that
 * failed to start; that lasts until the node reports working or the flows restart.
 */
export class NodeHealthTracker {
  private readonly problems = new Map<string, NodeProblem>();
  private readonly known = new Map<string, { type?: string; name?: string }>();
  private starting = false;
  /** Between 'flows:stopping' and the next 'flows:starting': the nodes being stopped. */
  private restarting: 'all' | Set<string> | null = null;
  private lastSig = '[]';
  private readonly now: () => number;

  constructor(private readonly o: NodeHealthTrackerOptions) {
    this.now = o.now ?? Date.now;
  }

  /**
   * Node-RED is about to start flows (`flows:starting`): the nodes it restarts begin with a clean slate,
   * and every node's type and name is learnt from the config (a node that failed to start has no object
   * to ask).
   */
  flowsStarting(config?: { flows?: unknown[] } | null): void {
    this.clearRestarting();
    this.restarting = null;
    this.starting = true;
    this.known.clear();
    for (const n of config?.flows ?? []) {
      const node = n as { id?: unknown; type?: unknown; name?: unknown };
      if (typeof node?.id !== 'string') continue;
      this.known.set(node.id, { type: typeof node.type === 'string' ? node.type : undefined, name: typeof node.name === 'string' && node.name ? node.name : undefined });
    }
    this.changed();
  }

  flowsStarted(): void {
    this.starting = false;
  }

  /**
   * Nodes being stopped take their problems with them (a full stop: every node). What they show while
   * closing ("closed", "disconnected") is not a problem of the flow that comes next, so it is ignored.
   */
  flowsStopping(e?: FlowsStopping | null): void {
    this.restarting = !e || e.type === 'full' || !e.diff ? 'all' : new Set([...(e.diff.changed ?? []), ...(e.diff.removed ?? []), ...(e.diff.rewired ?? []), ...(e.diff.linked ?? [])]);
    this.clearRestarting();
    this.changed();
  }

  private clearRestarting(): void {
    const r = this.restarting;
    if (r === 'all') this.problems.clear();
    else if (r) for (const id of r) this.problems.delete(id);
  }

  private isRestarting(id: string): boolean {
    return this.restarting === 'all' || (!!this.restarting && this.restarting.has(id));
  }

  /** A 'node-status' event: `{ id, status }` (no status: the node was removed). */
  status(id: string, s: StatusLike | undefined): void {
    if (this.isRestarting(id) && s) return;
    const existing = this.problems.get(id);
    if (!s) {
      this.problems.delete(id);
    } else if (s.fill === 'red') {
      this.problems.set(id, { ...this.describe(id), kind: 'status', fill: s.fill, shape: s.shape, text: textOf(s.text), since: existing?.since ?? this.now() });
    } else if (s.fill === 'yellow') {
      // Reconnecting after a failure is still not working; a first "connecting" is not a problem.
    } else if (existing && (existing.kind === 'status' || WORKING_FILLS.has(s.fill ?? ''))) {
      this.problems.delete(id);
    }
    this.changed();
  }

  /** An error entry of the runtime log: while the flows start, it names a node that failed to start. */
  log(m: Pick<ChildLogMessage, 'nodeId' | 'nodeType' | 'nodeName' | 'text'>): void {
    if (!this.starting || !m.nodeId || this.problems.has(m.nodeId)) return;
    const known = this.describe(m.nodeId);
    this.problems.set(m.nodeId, { nodeId: m.nodeId, nodeType: m.nodeType ?? known.nodeType, nodeName: m.nodeName ?? known.nodeName, kind: 'start', text: m.text, since: this.now() });
    this.changed();
  }

  snapshot(): NodeProblem[] {
    return [...this.problems.values()].sort((a, b) => a.since - b.since || a.nodeId.localeCompare(b.nodeId));
  }

  private describe(id: string): Pick<NodeProblem, 'nodeId' | 'nodeType' | 'nodeName'> {
    let k = this.known.get(id);
    if (!k && this.o.lookup) {
      try {
        const n = this.o.lookup(id);
        if (n) k = { type: n.type, name: n.name || undefined };
      } catch {
        // Naming is best effort; the id is always there.
      }
    }
    return { nodeId: id, nodeType: k?.type, nodeName: k?.name };
  }

  private changed(): void {
    const snap = this.snapshot();
    const sig = JSON.stringify(snap);
    if (sig === this.lastSig) return;
    this.lastSig = sig;
    this.o.onChange(snap);
  }
}

function textOf(t: unknown): string {
  if (t === undefined || t === null) return '';
  return typeof t === 'string' ? t : String(t);
}

/**
 * The problems that count at `now`: those that have lasted `graceMs` (a red status that clears itself
 * within the grace does not count), or every one when `final` (the end of a health window).
 * `notBefore` drops problems older than a deploy (the previous flow's, not yet cleared).
 */
export function dueProblems(problems: NodeProblem[], now: number, graceMs: number, opts: { final?: boolean; notBefore?: number } = {}): NodeProblem[] {
  return problems.filter((p) => (opts.notBefore === undefined || p.since >= opts.notBefore) && (opts.final || now - p.since >= graceMs));
}

/** When the next problem not yet due becomes due (ms from now), or null when none is waiting. */
export function nextDueInMs(problems: NodeProblem[], now: number, graceMs: number, notBefore?: number): number | null {
  const waiting = problems.filter((p) => (notBefore === undefined || p.since >= notBefore) && now - p.since < graceMs);
  if (!waiting.length) return null;
  return Math.max(0, Math.min(...waiting.map((p) => p.since + graceMs - now)));
}

/** `camera-intake "line camera" (cam1): failed to start: ...` / `... status red ring: cannot listen ...` */
export function describeProblem(p: NodeProblem): string {
  const who = `${p.nodeType ?? 'node'}${p.nodeName ? ` "${p.nodeName}"` : ''} (${p.nodeId})`;
  if (p.kind === 'start') return `${who} failed to start: ${p.text}`;
  const what = p.shape === 'ring' ? 'red ring (disconnected)' : 'red dot (failed)';
  return `${who} status ${what}${p.text ? `: ${p.text}` : ''}`;
}
