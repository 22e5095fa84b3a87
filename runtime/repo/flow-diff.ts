// A node-level diff of two Node-RED flows: which nodes were added, removed, or changed (and which of
// their properties), keyed by node id. Positions (x, y) are left out unless asked for: they change on
// every tidy-up and say nothing about behaviour.
import { canonicalJson } from '../fleet/protocol';

export interface NodeChange {
  id: string;
  type: string;
  name?: string;
  properties: string[];
}

export interface FlowDiff {
  added: { id: string; type: string; name?: string }[];
  removed: { id: string; type: string; name?: string }[];
  changed: NodeChange[];
  same: boolean;
}

type N = Record<string, unknown> & { id: string; type: string };

export function diffFlows(a: unknown[], b: unknown[], opts: { layout?: boolean } = {}): FlowDiff {
  const ignore = opts.layout ? new Set<string>() : new Set(['x', 'y', 'w', 'h']);
  const index = (f: unknown[]) => new Map((f as N[]).filter((n) => n && typeof n.id === 'string').map((n) => [n.id, n]));
  const A = index(a);
  const B = index(b);
  const label = (n: N) => ({ id: n.id, type: n.type, ...(typeof n.name === 'string' && n.name ? { name: n.name } : {}) });
  const added = [...B.values()].filter((n) => !A.has(n.id)).map(label);
  const removed = [...A.values()].filter((n) => !B.has(n.id)).map(label);
  const changed: NodeChange[] = [];
  for (const [id, na] of A) {
    const nb = B.get(id);
    if (!nb) continue;
    const keys = new Set([...Object.keys(na), ...Object.keys(nb)]);
    const props = [...keys].filter((k) => !ignore.has(k) && canonicalJson(na[k] ?? null) !== canonicalJson(nb[k] ?? null)).sort();
    if (props.length) changed.push({ ...label(nb), properties: props });
  }
  return { added, removed, changed, same: !added.length && !removed.length && !changed.length };
}

export function formatDiff(d: FlowDiff, nameA: string, nameB: string): string {
  if (d.same) return `${nameA} and ${nameB} have the same nodes and settings`;
  const who = (n: { id: string; type: string; name?: string }) => `${n.type} ${n.id}${n.name ? ` "${n.name}"` : ''}`;
  return [
    `--- ${nameA}`,
    `+++ ${nameB}`,
    ...d.removed.map((n) => `- ${who(n)}`),
    ...d.added.map((n) => `+ ${who(n)}`),
    ...d.changed.map((n) => `~ ${who(n)}: ${n.properties.join(', ')}`),
  ].join('\n');
}
