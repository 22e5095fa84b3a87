// What changed between two Node-RED flows, node by node (by id): added, removed, and changed with the
// properties that differ. Layout moves (x, y, w, h) and wiring are told apart from property changes so
// a reviewer sees behaviour first. One implementation for the `linesight flows diff` CLI, the agent's
// drift report and the editor sidebar (pure: it is bundled into the browser too).
import { canonicalJson } from './canonical-json';

export interface NodeRef {
  id: string;
  type: string;
  name?: string;
}

export interface ChangedNode extends NodeRef {
  /** Properties whose values differ, sorted (never x, y, w, h or wires). */
  properties: string[];
  wiresChanged: boolean;
  /** Only the position or size changed among layout fields. */
  moved: boolean;
  /** When `env` changed (a tab's parameters): the names whose value was added, removed or changed, sorted. */
  parameters?: string[];
}

export interface FlowDiff {
  added: NodeRef[];
  removed: NodeRef[];
  changed: ChangedNode[];
  unchanged: number;
  /** Nothing added, removed or changed, layout included. */
  same: boolean;
}

const LAYOUT = new Set(['x', 'y', 'w', 'h']);
type FlowNode = Record<string, unknown> & { id: string; type: string };

function nodesOf(flow: unknown): Map<string, FlowNode> {
  if (!Array.isArray(flow)) throw new Error('a flow must be an array of nodes');
  const m = new Map<string, FlowNode>();
  for (const n of flow) {
    if (n && typeof n === 'object' && typeof (n as FlowNode).id === 'string') m.set((n as FlowNode).id, n as FlowNode);
  }
  return m;
}

// A tab's name is its label.
const nameOf = (n: FlowNode) => (typeof n.name === 'string' && n.name ? n.name : n.type === 'tab' && typeof n.label === 'string' && n.label ? n.label : undefined);
const ref = (n: FlowNode): NodeRef => {
  const name = nameOf(n);
  return name ? { id: n.id, type: n.type, name } : { id: n.id, type: n.type };
};
const same = (a: unknown, b: unknown) => canonicalJson(a ?? null) === canonicalJson(b ?? null);

export function diffFlows(from: unknown, to: unknown): FlowDiff {
  const a = nodesOf(from);
  const b = nodesOf(to);
  const d: FlowDiff = { added: [], removed: [], changed: [], unchanged: 0, same: false };
  for (const [id, n] of b) if (!a.has(id)) d.added.push(ref(n));
  for (const [id, n] of a) if (!b.has(id)) d.removed.push(ref(n));
  for (const [id, before] of a) {
    const after = b.get(id);
    if (!after) continue;
    const properties: string[] = [];
    let moved = false;
    let wiresChanged = false;
    for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
      if (same(before[k], after[k])) continue;
      if (LAYOUT.has(k)) moved = true;
      else if (k === 'wires') wiresChanged = true;
      else properties.push(k);
    }
    if (properties.length || moved || wiresChanged) {
      const parameters = properties.includes('env') ? changedEnvNames(before.env, after.env) : [];
      d.changed.push({ ...ref(after), properties: properties.sort(), wiresChanged, moved, ...(parameters.length ? { parameters } : {}) });
    }
    else d.unchanged++;
  }
  d.same = !d.added.length && !d.removed.length && !d.changed.length;
  return d;
}

/** Names of `env` entries (a tab's or global-config's parameters) added, removed or with another value or type. */
function changedEnvNames(before: unknown, after: unknown): string[] {
  const entries = (env: unknown) => {
    const m = new Map<string, string>();
    if (Array.isArray(env)) for (const e of env) if (e && typeof (e as { name?: unknown }).name === 'string') m.set((e as { name: string }).name, canonicalJson(e));
    return m;
  };
  const a = entries(before);
  const b = entries(after);
  return [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k)).sort();
}

/** The same diff without nodes that were only moved: what matters for behaviour. */
export function ignoringLayout(d: FlowDiff): FlowDiff {
  const changed = d.changed.filter((c) => c.properties.length || c.wiresChanged).map((c) => ({ ...c, moved: false }));
  const unchanged = d.unchanged + (d.changed.length - changed.length);
  return { ...d, changed, unchanged, same: !d.added.length && !d.removed.length && !changed.length };
}

/**
 * What changed on one node, as words: its properties (a changed `env` as each parameter it names:
 * "parameter PLC_PORT"), then "wires" and "position".
 */
export function changedParts(c: ChangedNode): string[] {
  const props = c.parameters?.length ? c.properties.flatMap((p) => (p === 'env' ? c.parameters!.map((n) => `parameter ${n}`) : [p])) : c.properties;
  return [...props, ...(c.wiresChanged ? ['wires'] : []), ...(c.moved ? ['position'] : [])];
}

/** A unified-diff-like text for the terminal. */
export function formatDiff(d: FlowDiff, nameA: string, nameB: string): string {
  if (d.same) return `${nameA} and ${nameB} have the same nodes and settings`;
  const who = (n: NodeRef) => `${n.type} ${n.id}${n.name ? ` "${n.name}"` : ''}`;
  return [
    `--- ${nameA}`,
    `+++ ${nameB}`,
    ...d.removed.map((n) => `- ${who(n)}`),
    ...d.added.map((n) => `+ ${who(n)}`),
    ...d.changed.map((n) => `~ ${who(n)}: ${changedParts(n).join(', ')}`),
  ].join('\n');
}
