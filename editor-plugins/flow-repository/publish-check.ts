// What the sidebar checks before it publishes the current flow as a version: the repository's own
// "parameters referenced = declared" check (contracts/fleet/templates.ts), so a person sees which property
// reads an undeclared parameter before anything is sent. Pure.
import { undeclaredParameters } from '../../contracts/fleet/templates';

/** Why the flow cannot be published as a version of `template`, or undefined when the check passes. */
export function publishRefusal(flow: unknown[], template: { slug: string; parameters: Record<string, unknown> }): string | undefined {
  const problems = undeclaredParameters(flow, template.parameters);
  if (!problems.length) return undefined;
  return `Not published: ${problems.map((p) => `${p.field} ${p.reason}`).join('; ')}. Declare it in the parameters of ${template.slug}, or remove it from the flow.`;
}
