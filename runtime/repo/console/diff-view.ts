// The side-by-side diff of two template versions: one row per node added, removed or changed (from the
// shared flow diff), each with the properties that differ and their values before and after. Pure.
import { diffFlows, ignoringLayout, type NodeRef } from '../../../contracts/fleet/flow-diff';

export interface PropertyChange {
  name: string;
  /** Values as text (strings as they are, anything else as JSON); absent on the side that lacks it. */
  before?: string;
  after?: string;
}

export interface DiffRow extends NodeRef {
  change: 'added' | 'removed' | 'changed';
  properties: PropertyChange[];
}

export interface DiffView {
  rows: DiffRow[];
  unchanged: number;
  same: boolean;
}

type FlowNode = Record<string, unknown> & { id: string };
const HIDDEN = new Set(['id', 'x', 'y', 'w', 'h', 'z']);

const text = (v: unknown): string | undefined => (v === undefined ? undefined : typeof v === 'string' ? v : JSON.stringify(v));

function byId(flow: unknown[]): Map<string, FlowNode> {
  return new Map(flow.filter((n): n is FlowNode => !!n && typeof n === 'object' && typeof (n as FlowNode).id === 'string').map((n) => [n.id, n]));
}

/** Rows for `from` -> `to`; moves on the canvas are left out unless `layout` is set. */
export function diffView(from: unknown[], to: unknown[], opts: { layout?: boolean } = {}): DiffView {
  const full = diffFlows(from, to);
  const d = opts.layout ? full : ignoringLayout(full);
  const a = byId(from);
  const b = byId(to);
  const all = (n: FlowNode, side: 'before' | 'after'): PropertyChange[] =>
    Object.keys(n).filter((k) => !HIDDEN.has(k)).sort().map((k) => ({ name: k, [side]: text(n[k]) }));
  const rows: DiffRow[] = [
    ...d.removed.map((n): DiffRow => ({ ...n, change: 'removed', properties: all(a.get(n.id)!, 'before') })),
    ...d.added.map((n): DiffRow => ({ ...n, change: 'added', properties: all(b.get(n.id)!, 'after') })),
    ...d.changed.map((c): DiffRow => {
      const before = a.get(c.id)!;
      const after = b.get(c.id)!;
      const names = [...c.properties, ...(c.wiresChanged ? ['wires'] : []), ...(c.moved ? ['x', 'y'].filter((k) => text(before[k]) !== text(after[k])) : [])];
      return { id: c.id, type: c.type, ...(c.name ? { name: c.name } : {}), change: 'changed', properties: names.map((k) => ({ name: k, before: text(before[k]), after: text(after[k]) })) };
    }),
  ];
  return { rows, unchanged: d.unchanged, same: d.same };
}
