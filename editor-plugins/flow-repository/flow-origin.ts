// Where the open flow came from and what publishing it should send, for the sidebar's import and publish
// forms. An import names its tab `template@version`; publishing defaults to that template (else the one
// last published from this tab, else the template whose parameters and node types the flow uses), refuses
// a template of another tier, and sends parameters as `${NAME}` with the template's defaults rather than
// the values this runtime filled in. Pure, bundled into the browser.

export interface TemplateInfo {
  slug: string;
  title: string;
  tier: string;
  parameters: { properties?: Record<string, unknown> };
  requiredNodes: string[];
}

interface TabNode {
  id: string;
  type: 'tab';
  label?: string;
  env?: Array<{ name: string }>;
}

/** `slug@version`, or `slug@version (2)`, `(3)`… when a tab of that name exists already. */
export function importTabName(slug: string, version: string, existing: string[]): string {
  const base = `${slug}@${version}`;
  const taken = new Set(existing);
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base} (${i})`)) return `${base} (${i})`;
}

/** The flow with its tab(s) labelled `name`. */
export function labelTabs(flow: unknown[], name: string): unknown[] {
  return flow.map((n) => ((n as { type?: string })?.type === 'tab' ? { ...(n as object), label: name } : n));
}

const IMPORTED = /^([a-z0-9][a-z0-9-]*)@(\d+\.\d+\.\d+[^\s]*)(?: \(\d+\))?$/;

export interface Origin {
  slug: string;
  version?: string;
  /** How the sidebar knows, in words: "imported as …", "last published from this flow", "its parameters and nodes". */
  why: string;
}

/**
 * The template the open flow most likely came from: its tab name as an import gave it, the template last
 * published from this tab (remembered by the editor), or the template whose parameter names the tab's
 * environment carries (what a deploy fills in) and whose node types the flow uses.
 */
export function originOf(tab: TabNode | undefined, flowTypes: string[], templates: TemplateInfo[], lastPublished?: string): Origin | undefined {
  const bySlug = (s: string | undefined) => templates.find((t) => t.slug === s);
  const imported = tab?.label?.match(IMPORTED);
  if (imported && bySlug(imported[1])) return { slug: imported[1], version: imported[2], why: `imported as ${tab!.label}` };
  if (bySlug(lastPublished)) return { slug: lastPublished!, why: 'last published from this flow' };
  const env = new Set((tab?.env ?? []).map((e) => e.name));
  const types = new Set(flowTypes);
  let best: { slug: string; score: number } | undefined;
  for (const t of templates) {
    const params = Object.keys(t.parameters?.properties ?? {});
    const paramScore = params.length ? params.filter((p) => env.has(p)).length / params.length : 0;
    const required = t.requiredNodes ?? [];
    const nodeScore = required.length ? required.filter((r) => types.has(r)).length / required.length : 0;
    const score = 2 * paramScore + nodeScore;
    if (score > 0 && (!best || score > best.score)) best = { slug: t.slug, score };
  }
  return best && { slug: best.slug, why: 'its parameters and node types' };
}

/** Why a flow of this runtime's tier may not be published as `template`, or undefined. */
export function tierRefusal(template: Pick<TemplateInfo, 'slug' | 'tier'>, runtimeTier: string | null | undefined): string | undefined {
  if (!runtimeTier || template.tier === runtimeTier) return undefined;
  return `Not published: ${template.slug} is a ${template.tier} template and this is a ${runtimeTier} runtime. Choose a ${runtimeTier} template.`;
}

/**
 * The flow as a version of `template`: every tab's environment entries that are template parameters are
 * dropped (the version keeps `${NAME}` in its nodes and the template's defaults, not this runtime's
 * values; other entries stay), the parameters node a flow without tabs gets is dropped, and a tab named
 * by an import gets the template's title back.
 */
export function publishableFlow(flow: unknown[], template: Pick<TemplateInfo, 'title' | 'parameters'>): unknown[] {
  const params = new Set(Object.keys(template.parameters?.properties ?? {}));
  return flow
    .filter((n) => !((n as { type?: string; id?: string })?.type === 'global-config' && (n as { id?: string }).id === 'linesight-parameters'))
    .map((n) => {
      const node = n as Record<string, unknown>;
      if (node?.type !== 'tab') return n;
      const out: Record<string, unknown> = { ...node };
      if (Array.isArray(node.env)) out.env = (node.env as Array<{ name: string }>).filter((e) => !params.has(e?.name));
      if (typeof node.label === 'string' && IMPORTED.test(node.label)) out.label = template.title;
      return out;
    });
}
