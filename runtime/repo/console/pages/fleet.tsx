// Fleet: every device in a virtualised table (only the rows in view are rendered; pages of the filtered
// fleet are fetched from the repository as they scroll into view), with its state, versions, health and
// a CPU/memory sparkline. The filter lives in the URL.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { describeFailure, type ConsoleDevice, type FleetHealth } from '../api';
import type { PageProps } from '../app';
import { Badge, Message, Sparkline, useInterval } from '../components';
import { deviceQuery, filterFromParams, filterToParams, pagesToLoad, parseLabels, rowWindow, type FleetFilter } from '../fleet-view';
import { href } from '../router';
import { ago, deviceLook } from '../status';
import { DEVICE_STATE_FILTERS } from '../../device-query';

const ROW = 30;
const PAGE = 200;

interface Rows {
  total: number;
  pages: Map<number, ConsoleDevice[]>;
  /** Bumped on every filter change so late answers of an older filter are dropped. */
  generation: number;
}

export function FleetPage({ api, route }: PageProps) {
  const filter = filterFromParams(route.params);
  const [draft, setDraft] = useState<FleetFilter>(filter);
  const [rows, setRows] = useState<Rows>({ total: -1, pages: new Map(), generation: 0 });
  const [scroll, setScroll] = useState({ top: 0, height: 600 });
  const [health, setHealth] = useState<FleetHealth['devices']>({});
  const [error, setError] = useState<string>();
  const [now, setNow] = useState(Date.now());
  const body = useRef<HTMLDivElement>(null);
  const generation = useRef(0);
  const inFlight = useRef(new Set<string>());
  const key = JSON.stringify(filterToParams(filter));

  const load = useCallback(
    async (offsets: number[], gen: number) => {
      await Promise.all(
        offsets.map(async (offset) => {
          const flight = `${gen}:${offset}`;
          if (inFlight.current.has(flight)) return;
          inFlight.current.add(flight);
          try {
            const page = await api.devicePage(deviceQuery(filter, offset, PAGE));
            if (gen !== generation.current) return;
            setRows((r) => (r.generation !== gen ? r : { ...r, total: page.total, pages: new Map(r.pages).set(offset, page.devices) }));
            setError(undefined);
          } catch (err) {
            if (gen === generation.current) setError(describeFailure(err));
          } finally {
            inFlight.current.delete(flight);
          }
        }),
      );
    },
    [api, key],
  );

  // A new filter: start again from the top.
  useEffect(() => {
    setDraft(filter);
    const gen = ++generation.current;
    setRows({ total: -1, pages: new Map(), generation: gen });
    if (body.current) body.current.scrollTop = 0;
    void load([0], gen);
  }, [key]);

  const win = rowWindow(Math.max(rows.total, 0), ROW, scroll.top, scroll.height);
  useEffect(() => {
    if (rows.total < 0) return;
    const missing = pagesToLoad(win.start, win.end, PAGE, new Set(rows.pages.keys()));
    if (missing.length) void load(missing, rows.generation);
  }, [win.start, win.end, rows]);

  useEffect(() => {
    const el = body.current;
    if (!el) return;
    const measure = () => setScroll({ top: el.scrollTop, height: el.clientHeight });
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const refreshHealth = () => api.fleetHealth().then((h) => setHealth(h.devices ?? {}), () => {});
  useEffect(() => void refreshHealth(), []);
  // Every 10 s: the pages in view again (states move), the health, and the "last seen" words.
  useInterval(() => {
    setNow(Date.now());
    void refreshHealth();
    void load([...rows.pages.keys()].filter((o) => o < win.end && o + PAGE > win.start), rows.generation);
  }, 10_000, [rows, win.start, win.end]);

  const apply = (next: FleetFilter) => {
    location.hash = href('fleet', undefined, filterToParams(next));
  };
  const labelProblems = parseLabels(draft.labels).problems;
  const visible: { index: number; device?: ConsoleDevice }[] = [];
  for (let i = win.start; i < win.end; i++) visible.push({ index: i, device: rows.pages.get(Math.floor(i / PAGE) * PAGE)?.[i % PAGE] });

  return (
    <div class="page fleet">
      <form
        class="filters"
        id="fleet-filters"
        onSubmit={(e) => {
          e.preventDefault();
          if (!labelProblems.length) apply(draft);
        }}
      >
        <input id="fleet-q" type="search" placeholder="Search id, label, version, reason…" value={draft.text} onInput={(e) => setDraft({ ...draft, text: e.currentTarget.value })} />
        <select id="fleet-tier" value={draft.tier} onChange={(e) => apply({ ...draft, tier: e.currentTarget.value })} aria-label="tier">
          <option value="">every tier</option>
          <option value="line">line</option>
          <option value="factory">factory</option>
          <option value="cloud">cloud</option>
        </select>
        <select id="fleet-state" value={draft.state} onChange={(e) => apply({ ...draft, state: e.currentTarget.value })} aria-label="state">
          <option value="">every state</option>
          {DEVICE_STATE_FILTERS.map((s) => (
            <option value={s} key={s}>
              {s}
            </option>
          ))}
        </select>
        <input id="fleet-labels" placeholder="labels: site=hq line=3" value={draft.labels} onInput={(e) => setDraft({ ...draft, labels: e.currentTarget.value })} aria-invalid={labelProblems.length > 0} title={labelProblems.join('; ')} />
        <button id="fleet-apply">Filter</button>
        <span class="count" id="fleet-count">
          {rows.total < 0 ? 'loading…' : `${rows.total.toLocaleString('en')} device${rows.total === 1 ? '' : 's'}`}
        </span>
      </form>
      <Message text={labelProblems.length ? `labels: ${labelProblems.join('; ')}` : error} />
      <div class="vtable" role="table" aria-label="devices">
        <div class="vhead" role="row">
          <span class="c-id">Device</span>
          <span class="c-tier">Tier</span>
          <span class="c-labels">Labels</span>
          <span class="c-seen">Connection</span>
          <span class="c-ver">Desired</span>
          <span class="c-ver">Running</span>
          <span class="c-state">State</span>
          <span class="c-health">Health · CPU · RSS</span>
        </div>
        <div class="vbody" id="fleet-body" ref={body} onScroll={(e) => setScroll({ top: e.currentTarget.scrollTop, height: e.currentTarget.clientHeight })}>
          <div style={{ height: `${win.padTop}px` }} />
          {visible.map(({ index, device }) => (device ? <FleetRow key={device.id} device={device} health={health[device.id]} now={now} /> : <div class="vrow loading" key={`i${index}`} role="row" />))}
          <div style={{ height: `${win.padBottom}px` }} />
          {rows.total === 0 ? <p class="empty">No device matches this filter.</p> : null}
        </div>
      </div>
    </div>
  );
}

function FleetRow({ device: d, health, now }: { device: ConsoleDevice; health?: FleetHealth['devices'][string]; now: number }) {
  const look = deviceLook(d);
  const reasons = [...(d.reasons ?? []), ...(d.healthReasons ?? [])];
  const desired = d.desired ? `${d.desired.template}@${d.desired.version}` : '';
  const drift = !!desired && !!d.running && desired !== d.running;
  const labels = Object.entries(d.labels);
  const healthLook = d.health ? { tone: d.health === 'ok' ? 'good' : d.health === 'degraded' ? 'warn' : 'off', label: d.health } as const : undefined;
  return (
    <div class="vrow" role="row" data-device={d.id} onClick={() => (location.hash = href('device', d.id))}>
      <span class="c-id">
        <a href={href('device', d.id)}>{d.id}</a>
      </span>
      <span class="c-tier">{d.tier}</span>
      <span class="c-labels" title={labels.map(([k, v]) => `${k}=${v}`).join('\n')}>
        {labels.map(([k, v]) => (
          <span class="label" key={k}>
            {k}={v}
          </span>
        ))}
      </span>
      <span class={`c-seen ${d.state === 'offline' ? 'tone-off' : ''}`} title={d.lastSeen ?? 'never seen'}>
        <i class={`dot ${d.state === 'offline' ? 'off' : 'on'}`} />
        {d.state === 'offline' ? 'offline' : 'online'} · {ago(d.lastSeen, now)}
      </span>
      <span class="c-ver mono">{desired || '–'}</span>
      <span class={`c-ver mono ${drift ? 'tone-warn' : ''}`} title={drift ? 'runs another version than desired' : undefined}>
        {d.running ?? '–'}
      </span>
      <span class="c-state" title={reasons.join('\n') || undefined}>
        <Badge look={look} />
        {reasons.length ? <span class="reason">{reasons[0]}</span> : null}
      </span>
      <span class="c-health">
        {healthLook ? <Badge look={healthLook} title={(d.healthReasons ?? []).join('\n') || undefined} /> : <span class="dim">{d.degraded ? 'degraded' : '–'}</span>}
        {health?.spark?.cpu?.length ? <Sparkline values={health.spark.cpu} max={100} label={`CPU ${Math.round(health.spark.cpu.at(-1) ?? 0)} %`} /> : null}
        {health?.spark?.rss?.length ? <Sparkline values={health.spark.rss} tone="good" label={`RSS ${Math.round((health.spark.rss.at(-1) ?? 0) / 1048576)} MiB`} /> : null}
      </span>
    </div>
  );
}
