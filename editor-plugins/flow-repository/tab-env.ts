// Puts parameter values into a flow's tabs as flow environment variables, so `${NAME}` properties resolve
// in the runtime exactly as they do when the edge agent deploys the version with a device's parameters.
// Pure; runs in the browser (the sidebar import) and in Node (the examples and the demo).
export type ParameterValue = string | number | boolean;

interface EnvEntry { name: string; value: string; type: 'str' | 'num' | 'bool' }

function entry(name: string, value: ParameterValue): EnvEntry {
  return { name, value: String(value), type: typeof value === 'number' ? 'num' : typeof value === 'boolean' ? 'bool' : 'str' };
}

export function fillTabEnv(flow: unknown[], values: Record<string, ParameterValue>): unknown[] {
  const copy = JSON.parse(JSON.stringify(flow)) as Array<Record<string, unknown>>;
  for (const n of copy) {
    if (n.type !== 'tab') continue;
    const env = ((n.env as EnvEntry[] | undefined) ?? []).filter((e) => !(e.name in values));
    n.env = [...env, ...Object.entries(values).map(([k, v]) => entry(k, v))];
  }
  return copy;
}
