// What changed between two versions of a flow, node by node (by id): added, removed, and changed with
// the properties that differ. Layout-only moves (x, y) and wiring are reported separately so a reviewer
// sees behaviour changes first. Used by the sidebar; pure, runs in the browser.

type FlowNode = Record<string, unknown> & { id: string; type: string; name?: string };

export interface NodeRef {
  id: string;
  type: string;
  name?: string;
}

export interface ChangedNode extends NodeRef {
  /** Properties whose values differ (excluding x, y and wires). */
  properties: string[];
  wiresChanged: boolean;
  moved: boolean;
}

export interface FlowDiff {
  added: NodeRef[];
  removed: NodeRef[];
  changed: ChangedNode[];
  unchanged: number;
}

const LAYOUT = new Set(['x', 'y', 'w', 'h']);

function stable(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'undefined';
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${stable(o[k])}`).join(',')}}`;
}

function nodesOf(flow: unknown): Map<string, FlowNode> {
  if (!Array.isArray(flow)) throw new Error('a flow must be an array of nodes');
  const m = new Map<string, FlowNode>();
  for (const n of flow) {
    if (n && typeof n === 'object' && typeof (n as FlowNode).id === 'string') m.set((n as FlowNode).id, n as FlowNode);
  }
  return m;
}

const ref = (n: FlowNode): NodeRef => (n.name ? { id: n.id, type: n.type, name: String(n.name) } : { id: n.id, type: n.type });

export function diffFlows(from: unknown, to: unknown): FlowDiff {
  const a = nodesOf(from);
  const b = nodesOf(to);
  const out: FlowDiff = { added: [], removed: [], changed: [], unchanged: 0 };
  for (const [id, n] of b) if (!a.has(id)) out.added.push(ref(n));
  for (const [id, n] of a) if (!b.has(id)) out.removed.push(ref(n));
  for (const [id, before] of a) {
    const after = b.get(id);
    if (!after) continue;
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    const properties: string[] = [];
    let moved = false;
    let wiresChanged = false;
    for (const k of keys) {
      if (stable(before[k]) === stable(after[k])) continue;
      if (LAYOUT.has(k)) moved = true;
      else if (k === 'wires') wiresChanged = true;
      else properties.push(k);
    }
    if (properties.length || moved || wiresChanged) out.changed.push({ ...ref(after), properties: properties.sort(), wiresChanged, moved });
    else out.unchanged++;
  }
  return out;
}
