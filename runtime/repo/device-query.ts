// Filtering and paging of GET /api/v1/devices: the fleet console asks for one window of a filtered fleet
// (tier, labels, state, free text) so a thousand devices never travel to the browser at once. Pure: the
// query is parsed and checked here (bad input names the field), the server applies it to the device views.
import type { FieldProblem } from '../../contracts/schemas';

/** Values `state` may take: what devices report, `offline`, and `degraded` (running with nodes in trouble). */
export const DEVICE_STATE_FILTERS = ['pending', 'downloading', 'verifying', 'running', 'waiting', 'failed', 'rolled back', 'drifted', 'offline', 'degraded'] as const;
export const DEFAULT_DEVICE_PAGE = 100;
export const MAX_DEVICE_PAGE = 1000;
const QUERY_KEYS = ['tier', 'label', 'state', 'q', 'offset', 'limit'];

export interface DeviceQuery {
  tier?: string;
  /** Every label must match (`label=site=hq&label=line=3`). */
  labels: Record<string, string>;
  state?: string;
  /** Case-insensitive text in the id, label values, running or desired version, or reasons. */
  text?: string;
  offset: number;
  limit: number;
}

/** The part of a device view the filter reads. */
export interface FilterableDevice {
  id: string;
  tier: string;
  labels: Record<string, string>;
  state: string;
  degraded: boolean;
  running: string | null;
  reasons: string[];
  desired: { template: string; version: string } | null;
}

export interface DevicePage<D> {
  devices: D[];
  /** Devices matching the filter (all pages). */
  total: number;
  offset: number;
  limit: number;
}

/** True when the request uses none of the paging/filter parameters: the answer stays the plain array. */
export function isPlainListing(query: Record<string, unknown>): boolean {
  return !QUERY_KEYS.some((k) => query[k] !== undefined);
}

const one = (query: Record<string, unknown>, key: string, problems: FieldProblem[]): string | undefined => {
  const raw = query[key];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') {
    problems.push({ field: key, reason: 'must be given once, as text' });
    return undefined;
  }
  return raw;
};

const integer = (raw: string | undefined, key: string, min: number, max: number, fallback: number, problems: FieldProblem[]): number => {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    problems.push({ field: key, reason: `must be an integer from ${min} to ${max}` });
    return fallback;
  }
  return n;
};

/** Parses Express's query object; `problems` names each refused parameter and why. */
export function parseDeviceQuery(query: Record<string, unknown>): { query: DeviceQuery; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const tier = one(query, 'tier', problems);
  const state = one(query, 'state', problems);
  if (state !== undefined && !(DEVICE_STATE_FILTERS as readonly string[]).includes(state)) {
    problems.push({ field: 'state', reason: `must be one of ${DEVICE_STATE_FILTERS.join(', ')}` });
  }
  const labels: Record<string, string> = {};
  const rawLabels = query.label === undefined ? [] : Array.isArray(query.label) ? query.label : [query.label];
  for (const raw of rawLabels) {
    const eq = typeof raw === 'string' ? raw.indexOf('=') : -1;
    if (typeof raw !== 'string' || eq < 1) {
      problems.push({ field: 'label', reason: 'must be key=value, e.g. label=site=hq' });
      continue;
    }
    labels[raw.slice(0, eq)] = raw.slice(eq + 1);
  }
  const text = one(query, 'q', problems)?.trim();
  const offset = integer(one(query, 'offset', problems), 'offset', 0, 1_000_000, 0, problems);
  const limit = integer(one(query, 'limit', problems), 'limit', 1, MAX_DEVICE_PAGE, DEFAULT_DEVICE_PAGE, problems);
  return { query: { tier: tier || undefined, labels, state: state || undefined, text: text || undefined, offset, limit }, problems };
}

export function deviceMatches(d: FilterableDevice, q: DeviceQuery): boolean {
  if (q.tier && d.tier !== q.tier) return false;
  for (const [k, v] of Object.entries(q.labels)) if (d.labels[k] !== v) return false;
  if (q.state === 'degraded' ? !d.degraded : q.state && d.state !== q.state) return false;
  if (q.text) {
    const needle = q.text.toLowerCase();
    const haystack = [d.id, ...Object.entries(d.labels).map(([k, v]) => `${k}=${v}`), d.running ?? '', d.desired ? `${d.desired.template}@${d.desired.version}` : '', ...d.reasons];
    if (!haystack.some((s) => s.toLowerCase().includes(needle))) return false;
  }
  return true;
}

/** The page of devices (in the order given) that match. */
export function pageDevices<D extends FilterableDevice>(devices: D[], q: DeviceQuery): DevicePage<D> {
  const matching = devices.filter((d) => deviceMatches(d, q));
  return { devices: matching.slice(q.offset, q.offset + q.limit), total: matching.length, offset: q.offset, limit: q.limit };
}
