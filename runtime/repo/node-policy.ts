// The repository's node-type policy: which node types templates may use, repository-wide and per tier.
// Any admin token can publish, and a published flow runs on every device it is deployed to, so a flow
// with an `exec` node would be a remote shell on the whole fleet: `exec` is refused unless the operator
// says otherwise. Checked when a template is created, a version published and a deployment made.
import fs from 'node:fs';
import type { FieldProblem } from '../../contracts/schemas';
import { assertValid, ValidationError } from '../../contracts/schemas';
import type { RepoNodeTypePolicy } from './api.schema';

export type { RepoNodeTypePolicy };
export type PolicyTier = 'line' | 'factory' | 'cloud';
const POLICY_TIERS: readonly PolicyTier[] = ['line', 'factory', 'cloud'];

export const DEFAULT_NODE_TYPE_POLICY: RepoNodeTypePolicy = { refuse: ['exec'] };

/** Where the policy is served; named in every refusal so a publisher can look it up. */
export const POLICY_ROUTE = '/api/v1/policy/node-types';

/** The types refused for templates of `tier`, each with the rule that refuses it. */
export function refusedTypes(policy: RepoNodeTypePolicy, tier: string): Map<string, string> {
  const t = policy.tiers?.[tier as PolicyTier];
  const allowed = new Set(t?.allow ?? []);
  const out = new Map<string, string>();
  for (const type of policy.refuse) if (!allowed.has(type)) out.set(type, 'refuse (repository-wide)');
  for (const type of t?.refuse ?? []) if (!allowed.has(type)) out.set(type, `tiers.${tier}.refuse`);
  return out;
}

/**
 * The nodes of `flow` whose type the policy refuses for a template of `tier`: one problem per node, on
 * `flow[i].type`, naming the node id, its type and the rule.
 */
export function checkNodeTypePolicy(flow: unknown[], tier: string, policy: RepoNodeTypePolicy): FieldProblem[] {
  const refused = refusedTypes(policy, tier);
  if (!refused.size || !Array.isArray(flow)) return [];
  const problems: FieldProblem[] = [];
  flow.forEach((n, i) => {
    const node = n as { id?: unknown; type?: unknown; name?: unknown } | null;
    if (!node || typeof node.type !== 'string') return;
    const rule = refused.get(node.type);
    if (!rule) return;
    const name = typeof node.name === 'string' && node.name ? ` ("${node.name}")` : '';
    problems.push({ field: `flow[${i}].type`, reason: `node "${String(node.id)}"${name} uses type "${node.type}", which the node-type policy refuses for ${tier} templates (${rule}; see GET ${POLICY_ROUTE})` });
  });
  return problems;
}

/** Required node types of a template that its tier may not use. */
export function checkRequiredNodes(requiredNodes: string[], tier: string, policy: RepoNodeTypePolicy): FieldProblem[] {
  const refused = refusedTypes(policy, tier);
  const problems: FieldProblem[] = [];
  requiredNodes.forEach((t, i) => {
    const rule = refused.get(t);
    if (rule) problems.push({ field: `requiredNodes[${i}]`, reason: `"${t}" is refused by the node-type policy for ${tier} templates (${rule}; see GET ${POLICY_ROUTE})` });
  });
  return problems;
}

/** A policy from configuration, validated; the error names the source, each field and the reason. */
export function parseNodeTypePolicy(value: unknown, source: string): RepoNodeTypePolicy {
  const what = `node-type policy from ${source}`;
  try {
    assertValid<RepoNodeTypePolicy>('RepoNodeTypePolicy', value, what);
  } catch (err) {
    if (err instanceof ValidationError) throw new Error(err.message);
    throw err;
  }
  // What the generated schema cannot say without breaking its $refs: no unknown fields, no empty names.
  const problems: FieldProblem[] = [];
  const policy = value as RepoNodeTypePolicy;
  const only = (obj: object, field: string, known: string[]) => {
    for (const k of Object.keys(obj)) if (!known.includes(k)) problems.push({ field: field ? `${field}.${k}` : k, reason: `is not a known field (expected ${known.join(', ')})` });
  };
  const names = (list: string[] | undefined, field: string) =>
    (list ?? []).forEach((t, i) => {
      if (!t.trim() || t.length > 200) problems.push({ field: `${field}[${i}]`, reason: 'must be a node type name (1 to 200 characters)' });
    });
  only(policy, '', ['refuse', 'tiers']);
  names(policy.refuse, 'refuse');
  only(policy.tiers ?? {}, 'tiers', [...POLICY_TIERS]);
  for (const [tier, t] of Object.entries(policy.tiers ?? {})) {
    if (!t) continue;
    only(t, `tiers.${tier}`, ['refuse', 'allow']);
    names(t.refuse, `tiers.${tier}.refuse`);
    names(t.allow, `tiers.${tier}.allow`);
  }
  if (problems.length) throw new ValidationError(what, problems);
  return policy;
}

/** `"exec, python3"` -> ['exec', 'python3']; `""` or `none` -> [] (nothing refused). */
export function parseTypeList(list: string): string[] {
  const t = list.trim();
  if (!t || t === 'none') return [];
  return [...new Set(t.split(',').map((s) => s.trim()).filter(Boolean))];
}

/**
 * The policy the repository runs with: a JSON file (`--node-type-policy` / LINESIGHT_NODE_TYPE_POLICY),
 * then the repository-wide list (`--refuse-node-types` / LINESIGHT_REFUSE_NODE_TYPES) replacing the
 * file's `refuse`; explicit options win over the environment, and without either `exec` is refused.
 */
export function resolveNodeTypePolicy(o: { file?: string; refuse?: string }, env: NodeJS.ProcessEnv = process.env): RepoNodeTypePolicy {
  const file = o.file ?? env.LINESIGHT_NODE_TYPE_POLICY;
  let policy: RepoNodeTypePolicy = { ...DEFAULT_NODE_TYPE_POLICY };
  if (file) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`node-type policy file ${file}: ${(err as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new Error(`node-type policy file ${file} is not JSON: ${(err as Error).message}`);
    }
    policy = parseNodeTypePolicy(json, file);
  }
  const refuse = o.refuse ?? env.LINESIGHT_REFUSE_NODE_TYPES;
  if (refuse !== undefined) policy = parseNodeTypePolicy({ ...policy, refuse: parseTypeList(refuse) }, o.refuse !== undefined ? '--refuse-node-types' : 'LINESIGHT_REFUSE_NODE_TYPES');
  return policy;
}
