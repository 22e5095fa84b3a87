// Notices hand edits made in the runtime's own editor: the agent keeps the revision and content Node-RED
// reported right after the agent's own deploy, and compares what the runtime runs now against it.
import { canonicalJson } from '../../contracts/fleet/protocol';
import { diffFlows, type FlowDiff } from '../../contracts/fleet/flow-diff';
import type { FlowsWithRev } from './runtime-admin';

export function describeDiff(diff: FlowDiff): string {
  const ids = (refs: Array<{ id: string }>) => refs.map((r) => r.id);
  const d = { added: ids(diff.added), removed: ids(diff.removed), changed: ids(diff.changed) };
  const list = (ids: string[]) => (ids.length > 5 ? `${ids.slice(0, 5).join(', ')} and ${ids.length - 5} more` : ids.join(', '));
  const parts: string[] = [];
  if (d.changed.length) parts.push(`${d.changed.length} changed (${list(d.changed)})`);
  if (d.added.length) parts.push(`${d.added.length} added (${list(d.added)})`);
  if (d.removed.length) parts.push(`${d.removed.length} removed (${list(d.removed)})`);
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
