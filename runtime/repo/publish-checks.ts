// What a flow must satisfy before it can be published as a version: a well-formed Node-RED flow whose node
// types all exist and whose parameter references are all declared in the template's parameter schema
// (that check belongs to the templates contract, contracts/fleet/templates.ts).
import type { FieldProblem } from '../../contracts/schemas';
import { undeclaredParameters } from '../../contracts/fleet/templates';
import semver from 'semver';

type NodeObj = Record<string, unknown> & { id: string; type: string };

export interface FlowCheckOptions {
  knownTypes: Set<string>;
  /** The template's parameters JSON Schema; its `properties` are the declared names. */
  parameterSchema: Record<string, unknown>;
}

/** Problems with a flow; empty when it may be published. */
export function checkFlow(flow: unknown, opts: FlowCheckOptions): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (!Array.isArray(flow)) return [{ field: 'flow', reason: 'must be an array of Node-RED node objects' }];
  if (flow.length === 0) return [{ field: 'flow', reason: 'must hold at least one node' }];
  const ids = new Map<string, number>();
  const containers = new Set<string>(); // tabs and subflows: what `z` may point at
  flow.forEach((n, i) => {
    const field = `flow[${i}]`;
    if (!n || typeof n !== 'object' || Array.isArray(n)) {
      problems.push({ field, reason: 'must be an object' });
      return;
    }
    const node = n as Record<string, unknown>;
    if (typeof node.id !== 'string' || !node.id) problems.push({ field: `${field}.id`, reason: 'is required (a non-empty string)' });
    else if (ids.has(node.id)) problems.push({ field: `${field}.id`, reason: `duplicates the id of flow[${ids.get(node.id)}] ("${node.id}")` });
    else ids.set(node.id, i);
    if (typeof node.type !== 'string' || !node.type) problems.push({ field: `${field}.type`, reason: 'is required (a non-empty string)' });
    if ((node.type === 'tab' || node.type === 'subflow') && typeof node.id === 'string') containers.add(node.id);
  });
  if (problems.length) return problems;
  const nodes = flow as NodeObj[];
  nodes.forEach((node, i) => {
    const field = `flow[${i}]`;
    const isSubflowInstance = node.type.startsWith('subflow:');
    if (isSubflowInstance) {
      const sf = node.type.slice('subflow:'.length);
      if (!nodes.some((n) => n.type === 'subflow' && n.id === sf)) problems.push({ field: `${field}.type`, reason: `uses subflow "${sf}" which is not in the flow` });
    } else if (!opts.knownTypes.has(node.type)) {
      problems.push({ field: `${field}.type`, reason: `unknown node type "${node.type}" (not in Node-RED core, the Linesight palette or Dashboard 2.0)` });
    }
    if (node.z !== undefined && node.z !== '' && (typeof node.z !== 'string' || !containers.has(node.z))) {
      problems.push({ field: `${field}.z`, reason: `refers to "${String(node.z)}", which is not a tab or subflow in the flow` });
    }
    if (node.wires !== undefined) {
      if (!Array.isArray(node.wires) || !node.wires.every((port) => Array.isArray(port))) {
        problems.push({ field: `${field}.wires`, reason: 'must be an array of arrays of node ids' });
      } else {
        (node.wires as unknown[][]).forEach((port, p) =>
          port.forEach((target, t) => {
            if (typeof target !== 'string' || !ids.has(target)) problems.push({ field: `${field}.wires[${p}][${t}]`, reason: `wires to "${String(target)}", which is not a node in the flow` });
          }),
        );
      }
    }
  });
  problems.push(...undeclaredParameters(nodes, opts.parameterSchema));
  return problems;
}

/** The version string must be valid semver and not yet published for the template. */
export function checkVersion(version: string, existing: string[]): FieldProblem[] {
  if (!semver.valid(version)) return [{ field: 'version', reason: `"${version}" is not a semantic version (e.g. 1.2.0)` }];
  const same = existing.find((v) => semver.valid(v) && semver.eq(v, version));
  if (same !== undefined) return [{ field: 'version', reason: `${version} is already published${same !== version ? ` (as ${same}; build metadata after "+" does not make another version)` : ''}; published versions never change, publish a new version` }];
  return [];
}

/**
 * The key two versions share when they are equal by semver precedence: the version without its build
 * metadata (`2.0.0+b1` -> `2.0.0`). A unique index on it makes "one version" hold under concurrent publishes.
 */
export function versionKey(version: string): string {
  return semver.parse(version)?.version ?? version;
}

/** Node types a flow uses (sorted), stored with the version so devices can check they have them. */
export function nodeTypesOf(flow: unknown[]): string[] {
  return [...new Set((flow as NodeObj[]).map((n) => n.type).filter((t) => t && !['tab', 'subflow', 'group', 'junction'].includes(t) && !t.startsWith('subflow:')))].sort();
}
