// Decides whether a downloaded version may be deployed: it must be the version the desired state names,
// its hash and Ed25519 signature must hold, and it may use only node types this runtime already has
// (deploying never installs anything) and that this device does not refuse (its own node-type policy,
// which holds even for a version the repository signed).
import { flowSha256, verifyFlow, type DesiredState, type VersionDocument } from '../../contracts/fleet/protocol';

export type DesiredVersion = NonNullable<DesiredState['version']>;

/** Types Node-RED itself provides that are not listed as installed node sets. */
const STRUCTURAL_TYPES = new Set(['tab', 'subflow', 'group', 'junction', 'global-config', 'unknown']);

export function nodeTypesUsed(flow: unknown[]): Set<string> {
  const types = new Set<string>();
  const subflows = new Set<string>();
  for (const n of flow) {
    const node = n as { id?: unknown; type?: unknown };
    if (node?.type === 'subflow' && typeof node.id === 'string') subflows.add(`subflow:${node.id}`);
  }
  for (const n of flow) {
    const t = (n as { type?: unknown })?.type;
    if (typeof t !== 'string' || STRUCTURAL_TYPES.has(t) || subflows.has(t)) continue;
    types.add(t);
  }
  return types;
}

/**
 * Every reason this version must not be deployed; empty when it may be. `installedTypes` is what the
 * runtime reports in GET /nodes (null skips that check, e.g. before the runtime is up); `refusedTypes` is
 * the device's own list of node types it will not run.
 */
export function verifyVersion(want: DesiredVersion, doc: VersionDocument, publicKeyPem: string, installedTypes: Set<string> | null, refusedTypes: readonly string[] = []): string[] {
  const problems: string[] = [];
  if (!doc || typeof doc !== 'object' || !Array.isArray(doc.flow)) return ['version document has no flow array'];
  if (doc.template !== want.template || doc.version !== want.version) {
    problems.push(`version document is ${doc.template}@${doc.version}, desired is ${want.template}@${want.version}`);
  }
  const actual = flowSha256(doc.flow);
  if (actual !== want.sha256) problems.push(`flow sha256 ${actual} does not match the desired ${want.sha256}`);
  if (doc.sha256 !== want.sha256) problems.push(`version document claims sha256 ${doc.sha256}, desired is ${want.sha256}`);
  if (!verifyFlow(doc.flow, doc.signature, publicKeyPem)) problems.push('signature does not verify with the repository public key');
  if (problems.length === 0 && refusedTypes.length) {
    const refused = refusedNodes(doc.flow, refusedTypes);
    if (refused.length) {
      const list = refused.map((n) => `${n.type} (node ${n.id}${n.name ? ` "${n.name}"` : ''})`).join(', ');
      problems.push(`uses node types this device refuses (agent option refuseNodeTypes: ${refusedTypes.join(', ')}): ${list}`);
    }
  }
  if (problems.length === 0 && installedTypes) {
    const missing = [...nodeTypesUsed(doc.flow)].filter((t) => !installedTypes.has(t)).sort();
    if (missing.length) problems.push(`uses node types this runtime does not have: ${missing.join(', ')}`);
  }
  return problems;
}

/** The nodes of `flow` whose type is in `refusedTypes`, in flow order. */
export function refusedNodes(flow: unknown[], refusedTypes: readonly string[]): Array<{ id: string; type: string; name?: string }> {
  const refused = new Set(refusedTypes);
  const out: Array<{ id: string; type: string; name?: string }> = [];
  for (const n of flow) {
    const node = n as { id?: unknown; type?: unknown; name?: unknown };
    if (typeof node?.type !== 'string' || !refused.has(node.type)) continue;
    out.push({ id: String(node.id), type: node.type, name: typeof node.name === 'string' && node.name ? node.name : undefined });
  }
  return out;
}
