// The fleet page's model: its filter (kept in the URL), the GET /api/v1/devices query it becomes, and which
// rows a virtualised table renders for a scroll position. Pure.

export interface FleetFilter {
  tier: string;
  /** `key=value` pairs separated by commas or spaces. */
  labels: string;
  state: string;
  text: string;
}

export const EMPTY_FILTER: FleetFilter = { tier: '', labels: '', state: '', text: '' };

export function filterFromParams(params: Record<string, string>): FleetFilter {
  return { tier: params.tier ?? '', labels: params.label ?? '', state: params.state ?? '', text: params.q ?? '' };
}

export function filterToParams(f: FleetFilter): Record<string, string> {
  return { tier: f.tier, label: f.labels.trim(), state: f.state, q: f.text.trim() };
}

/** Label pairs of the filter box; a pair without `=` is a problem the page names. */
export function parseLabels(text: string): { labels: [string, string][]; problems: string[] } {
  const labels: [string, string][] = [];
  const problems: string[] = [];
  for (const part of text.split(/[,\s]+/).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq < 1) problems.push(`"${part}" must be key=value`);
    else labels.push([part.slice(0, eq), part.slice(eq + 1)]);
  }
  return { labels, problems };
}

/** The query string of one page of the filtered fleet (always paged, so the answer is `{devices, total}`). */
export function deviceQuery(f: FleetFilter, offset: number, limit: number): string {
  const q = new URLSearchParams();
  if (f.tier) q.set('tier', f.tier);
  for (const [k, v] of parseLabels(f.labels).labels) q.append('label', `${k}=${v}`);
  if (f.state) q.set('state', f.state);
  if (f.text.trim()) q.set('q', f.text.trim());
  q.set('offset', String(offset));
  q.set('limit', String(limit));
  return q.toString();
}

export interface RowWindow {
  /** First and one-past-last row index to render. */
  start: number;
  end: number;
  /** Space above and below the rendered rows, in pixels, so the scrollbar covers every row. */
  padTop: number;
  padBottom: number;
}

/** Rows visible in a viewport of `height` px scrolled to `scrollTop`, with `overscan` rows either side. */
export function rowWindow(total: number, rowHeight: number, scrollTop: number, height: number, overscan = 10): RowWindow {
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const start = Math.max(0, Math.min(total, first - overscan));
  const end = Math.min(total, first + Math.ceil(height / rowHeight) + overscan);
  return { start, end, padTop: start * rowHeight, padBottom: (total - end) * rowHeight };
}

/** Page offsets (multiples of `pageSize`) that rows start..end need and `loaded` lacks. */
export function pagesToLoad(start: number, end: number, pageSize: number, loaded: ReadonlySet<number>): number[] {
  const out: number[] = [];
  for (let p = Math.floor(start / pageSize) * pageSize; p < end; p += pageSize) if (!loaded.has(p)) out.push(p);
  return out;
}
