// A rule's writes checked against the tag table of every plc-write its first output is wired to: the
// editor shows the problem as you edit (and on the node's triangle), the runtime at deploy with a red
// status, so a tag spelled differently from the PLC's table ("alarm_lamp" for AlarmLamp) is caught before
// a defect, not at run time. Pure and import-free: it runs in the browser too.

export interface TagEntry {
  name: string;
  writable?: boolean;
}

/** One plc-write wired to the actions output, with its endpoint's tag table. */
export interface WriteTarget {
  /** `plc-write "line actions" (plc-endpoint "line PLC")`, for messages. */
  label: string;
  tags: TagEntry[];
}

export interface WriteTagProblem {
  ruleId: string;
  field: string;
  reason: string;
}

const squash = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');

/** Why `tag` cannot be written through `target`, or undefined; suggests the table's spelling of a near miss. */
export function writeTagReason(tag: string, target: WriteTarget): string | undefined {
  const found = target.tags.find((t) => t.name === tag);
  if (found) return found.writable ? undefined : `"${tag}" is not writable in ${target.label}`;
  const near = target.tags.find((t) => squash(t.name) === squash(tag));
  const writable = target.tags.filter((t) => t.writable).map((t) => t.name);
  return `"${tag}" is not a tag of ${target.label}${near ? `; did you mean "${near.name}"?` : writable.length ? ` (writable: ${writable.join(', ')})` : ''}`;
}

interface RuleLike {
  id?: unknown;
  action?: { writes?: Array<{ tag?: unknown }>; resetWrites?: Array<{ tag?: unknown }> };
}

/** Every write and reset write of every rule that one of the targets cannot take. */
export function writeTagProblems(rules: unknown, targets: WriteTarget[]): WriteTagProblem[] {
  if (!Array.isArray(rules) || !targets.length) return [];
  const out: WriteTagProblem[] = [];
  rules.forEach((raw, i) => {
    const r = (raw ?? {}) as RuleLike;
    const ruleId = typeof r.id === 'string' && r.id ? r.id : `rules[${i}]`;
    for (const list of ['writes', 'resetWrites'] as const) {
      (r.action?.[list] ?? []).forEach((w, j) => {
        if (typeof w?.tag !== 'string') return;
        for (const target of targets) {
          const reason = writeTagReason(w.tag, target);
          if (reason) out.push({ ruleId, field: `action.${list}[${j}].tag`, reason });
        }
      });
    }
  });
  return out;
}

interface FlowNodeLike {
  id: string;
  type: string;
  name?: string;
  endpoint?: string;
  tags?: unknown;
}

/**
 * The plc-write nodes among `wiredTo` with their endpoint's table; `lookup` finds a node by id (the
 * editor's RED.nodes.node, or the runtime's flow configuration). A plc-write without an endpoint, or an
 * endpoint without a table, is left out: nothing to check against.
 */
export function writeTargetsOf(wiredTo: string[], lookup: (id: string) => FlowNodeLike | undefined): WriteTarget[] {
  const out: WriteTarget[] = [];
  for (const id of wiredTo) {
    const w = lookup(id);
    if (!w || w.type !== 'plc-write' || !w.endpoint) continue;
    const ep = lookup(w.endpoint);
    if (!ep || ep.type !== 'plc-endpoint' || !Array.isArray(ep.tags)) continue;
    const tags = (ep.tags as Array<{ name?: unknown; writable?: unknown }>).filter((t) => typeof t?.name === 'string').map((t) => ({ name: t.name as string, writable: t.writable === true }));
    out.push({ label: `plc-write "${w.name || w.id}" (plc-endpoint "${ep.name || ep.id}")`, tags });
  }
  return out;
}
