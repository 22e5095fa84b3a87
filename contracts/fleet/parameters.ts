// Fills a device's (or the editor user's) parameter values into a template flow as flow environment variables, so nodes read
// them as `${NAME}` in their properties and `env.get('NAME')` in function nodes. The signed template is
// never changed: this returns a new flow array. Pure: the agent, the demo and the editor sidebar share it.

export type ParameterValue = string | number | boolean;

interface EnvEntry {
  name: string;
  value: string;
  type: 'str' | 'num' | 'bool';
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class ParameterError extends Error {
  constructor(readonly field: string, readonly reason: string) {
    super(`parameter ${field}: ${reason}`);
  }
}

function envEntry(name: string, value: ParameterValue): EnvEntry {
  if (!NAME.test(name)) throw new ParameterError(name, 'name must be letters, digits and _ (not starting with a digit)');
  switch (typeof value) {
    case 'string':
      return { name, value, type: 'str' };
    case 'number':
      if (!Number.isFinite(value)) throw new ParameterError(name, 'number must be finite');
      return { name, value: String(value), type: 'num' };
    case 'boolean':
      return { name, value: String(value), type: 'bool' };
    default:
      throw new ParameterError(name, `must be a string, number or boolean, got ${value === null ? 'null' : typeof value}`);
  }
}

/**
 * Every tab gets the device's values in its `env`, replacing a template default of the same name and
 * keeping the template's other entries. A flow without tabs gets a `global-config` node instead.
 */
export function fillParameters(flow: unknown[], parameters: Record<string, ParameterValue>): unknown[] {
  const entries = Object.keys(parameters)
    .sort()
    .map((k) => envEntry(k, parameters[k]));
  const names = new Set(entries.map((e) => e.name));
  const out = flow.map((node) => {
    const n = node as Record<string, unknown>;
    if (!n || typeof n !== 'object' || n.type !== 'tab') return node;
    const own = Array.isArray(n.env) ? (n.env as EnvEntry[]).filter((e) => !names.has(e?.name)) : [];
    return { ...n, env: [...own, ...entries] };
  });
  if (entries.length > 0 && !out.some((n) => (n as { type?: unknown })?.type === 'tab')) {
    out.push({ id: 'linesight-parameters', type: 'global-config', env: entries, modules: {} });
  }
  return out;
}

/**
 * The reverse of fillParameters, for a flow edited on a device and saved as a new template version: the
 * device's values leave every tab's `env` (the template's own default for a name comes back from `base`,
 * the version the device was given, when it had one) and the `linesight-parameters` node goes, so the
 * nodes' `${NAME}` references stay references and the next device fills in its own values.
 */
export function unfillParameters(flow: unknown[], names: Iterable<string>, base: unknown[] = []): unknown[] {
  const filled = new Set(names);
  const defaults = new Map<string, EnvEntry[]>();
  for (const node of base) {
    const n = node as Record<string, unknown>;
    if (n && typeof n === 'object' && n.type === 'tab' && typeof n.id === 'string' && Array.isArray(n.env)) {
      defaults.set(n.id, (n.env as EnvEntry[]).filter((e) => filled.has(e?.name)));
    }
  }
  const out: unknown[] = [];
  for (const node of flow) {
    const n = node as Record<string, unknown>;
    if (n && typeof n === 'object' && n.id === 'linesight-parameters' && n.type === 'global-config') continue;
    if (!n || typeof n !== 'object' || n.type !== 'tab' || !Array.isArray(n.env)) {
      out.push(node);
      continue;
    }
    const own = (n.env as EnvEntry[]).filter((e) => !filled.has(e?.name));
    const env = [...own, ...(defaults.get(n.id as string) ?? [])];
    const { env: _env, ...rest } = n;
    out.push(env.length ? { ...rest, env } : rest);
  }
  return out;
}
