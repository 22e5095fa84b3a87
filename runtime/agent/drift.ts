// Notices hand edits made in the runtime's own editor: the agent keeps the revision and content Node-RED
// reported right after the agent's own deploy, and compares what the runtime runs now against it.
import { canonicalJson } from '../../contracts/fleet/protocol';
import { changedParts, diffFlows, type FlowDiff, type NodeRef } from '../../contracts/fleet/flow-diff';
import type { FlowsWithRev } from './runtime-admin';

/**
 * A drift in words a person can act on: each node by type and name (its id when it has no name), and for
 * a changed node what changed: "nodes 1 changed (defect-rule "defect rules": rules), 1 added (debug 3f2a…)".
 */
export function describeDiff(diff: FlowDiff): string {
  const node = (r: NodeRef) => `${r.type} ${r.name ? JSON.stringify(r.name) : r.id}`;
  const list = (items: string[]) => (items.length > 5 ? `${items.slice(0, 5).join(', ')} and ${items.length - 5} more` : items.join(', '));
  const changed = diff.changed.map((c) => `${node(c)}: ${changedParts(c).join(', ')}`);
  const parts: string[] = [];
  if (changed.length) parts.push(`${changed.length} changed (${list(changed)})`);
  if (diff.added.length) parts.push(`${diff.added.length} added (${list(diff.added.map(node))})`);
  if (diff.removed.length) parts.push(`${diff.removed.length} removed (${list(diff.removed.map(node))})`);
  return parts.length ? `nodes ${parts.join(', ')}` : 'flow order or revision changed';
}

export interface Baseline {
  rev: string;
  flows: unknown[];
}

/** null when the runtime still runs what the agent deployed; otherwise why it is drifted. */
export function detectDrift(baseline: Baseline, now: FlowsWithRev): { reasons: string[] } | null {
  if (now.rev === baseline.rev) return null;
  // Same content under a new revision (e.g. deployed again unchanged) is not a drift.
  if (canonicalJson(now.flows) === canonicalJson(baseline.flows)) return null;
  return { reasons: [`edited in the local editor: ${describeDiff(diffFlows(baseline.flows, now.flows))}`] };
}
