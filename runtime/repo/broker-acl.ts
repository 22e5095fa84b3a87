// The per-runtime part of the broker ACL (docker/mosquitto/acl), made from the devices registered in the
// repository: which `linesight/{site}/{line}/…` data topics each runtime's account may use. The fleet
// rules (own desired / own state) are patterns in the shipped file and need no per-device line.

export interface AclDevice {
  id: string;
  tier: string;
  labels?: Record<string, string>;
  parameters?: Record<string, string | number | boolean>;
}

/** A topic level taken from a device's settings: no wildcard, separator or NUL may widen a rule. */
const TOPIC_LEVEL = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * The data kinds of `linesight/{site}/{line}/{kind}` (DESIGN.md). Grants name them one by one rather than
 * `#`, so no data grant can ever match a fleet topic (`linesight/fleet/{deviceId}/desired|state`).
 */
export const DATA_KINDS = ['inspection', 'image', 'tags', 'actions', 'status'] as const;

/** Sites that would put data topics on top of the fleet's. */
const RESERVED_SITES = new Set(['fleet']);

function grants(access: 'read' | 'write' | 'readwrite', site: string, line: string): string[] {
  return DATA_KINDS.map((kind) => `topic ${access} linesight/${site}/${line}/${kind}`);
}

function setting(d: AclDevice, param: string, label: string): string | undefined {
  const p = d.parameters?.[param];
  if (p !== undefined && p !== '') return String(p);
  const l = d.labels?.[label];
  return l === undefined || l === '' ? undefined : l;
}

/**
 * Mosquitto ACL sections, one per device: a line runtime reads and writes its own line's topics, a factory
 * runtime its site's lines (read from the factory broker, written up to the cloud), a cloud worker reads
 * every site's data (through `$share/…` subscriptions too: the broker checks each delivered topic). A device whose site or line is missing or not a plain topic level gets a comment saying so
 * and no grant.
 */
export function brokerAclSections(devices: AclDevice[]): string {
  const out: string[] = [];
  for (const d of [...devices].sort((a, b) => a.id.localeCompare(b.id))) {
    const site = setting(d, 'SITE', 'site');
    const line = setting(d, 'LINE', 'line');
    const bad = (what: string, v: string | undefined) =>
      v === undefined
        ? `${what} is not set (parameter ${what.toUpperCase()} or label ${what})`
        : !TOPIC_LEVEL.test(v)
          ? `${what} ${JSON.stringify(v)} is not a plain topic level`
          : what === 'site' && RESERVED_SITES.has(v)
            ? `site "${v}" is reserved for fleet control`
            : null;
    let lines: string[];
    let problem: string | null = null;
    if (d.tier === 'cloud') lines = grants('read', '+', '+');
    else if (d.tier === 'factory') {
      problem = bad('site', site);
      lines = grants('readwrite', site!, '+');
    } else {
      problem = bad('site', site) ?? bad('line', line);
      lines = grants('readwrite', site!, line!);
    }
    if (problem) {
      out.push(`# ${d.id} (${d.tier}): no data topics, ${problem}`, '');
      continue;
    }
    out.push(`user ${d.id}`, ...lines, '');
  }
  return out.join('\n');
}
