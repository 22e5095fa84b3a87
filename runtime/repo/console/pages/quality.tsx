// The Quality section over the history (/api/v1/history): a search box (serial or inspection-id prefix),
// defect-rate charts by line, class and model version with zoom over a chosen period, the worst lines of
// this shift, the CSV export of the filter; and a page per inspection or product: the image with its
// boxes, the detections, the line's tag readings at that moment and around it, actions and model version.
import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { API_ROOT, ApiFailure, describeFailure, type ConsoleApi, type InspectionDetail, type SearchHit, type SeriesPoint, type WorstLine } from '../api';
import type { PageProps } from '../app';
import { Message, Section, ZoomChart } from '../components';
import { bucketOf, boxShare, exportHref, filterFromParams, filterQuery, lineState, percent, pickImage, pivotSeries, PERIODS, sampleSeries, seriesColour, type QualityFilter } from '../quality-view';
import { href } from '../router';

const NOT_MOUNTED = 'This repository serves no quality history: start it with --history-db <url> (the cloud sink\'s database, as a read-only role).';

/** The server's words, or what to do when the repository has no history mounted (404 on every route). */
function historyFailure(err: unknown): string {
  if (err instanceof ApiFailure && err.status === 404 && /no such route/.test(err.message)) return NOT_MOUNTED;
  return describeFailure(err);
}

const when = (iso: string) => new Date(iso).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });

export function SearchBox({ api, initial = '' }: { api: ConsoleApi; initial?: string }) {
  const [q, setQ] = useState(initial);
  const [hits, setHits] = useState<SearchHit[]>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const search = async (e?: Event) => {
    e?.preventDefault();
    const term = q.trim();
    if (!term) return;
    setBusy(true);
    try {
      const r = await api.historySearch(term);
      setError(undefined);
      // One product or inspection found by its exact name: open it.
      const exact = r.hits.filter((h) => h.productSerial === term || h.inspectionId === term);
      if (r.hits.length === 1 || (exact.length === 1 && exact[0]!.inspectionId === term)) location.hash = href('inspection', (exact[0] ?? r.hits[0])!.inspectionId);
      else if (exact.length && exact.every((h) => h.productSerial === term)) location.hash = href('product', term);
      else setHits(r.hits);
    } catch (err) {
      setError(historyFailure(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="quality-search">
      <form id="quality-search" onSubmit={search}>
        <input id="quality-q" type="search" placeholder="product serial or inspection id (prefix)" value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} aria-label="search the history by product serial or inspection id" />
        <button class="primary" id="quality-search-submit" disabled={busy || !q.trim()}>
          Search
        </button>
      </form>
      <Message text={error} id="quality-search-error" />
      {hits ? (
        hits.length ? (
          <table class="grid-table" id="quality-hits">
            <thead>
              <tr>
                <th>time</th>
                <th>product serial</th>
                <th>inspection</th>
                <th>line</th>
                <th>camera</th>
                <th>model</th>
                <th class="num">defects</th>
              </tr>
            </thead>
            <tbody>
              {hits.map((h) => (
                <tr key={h.inspectionId} data-inspection={h.inspectionId}>
                  <td class="nowrap">{when(h.time)}</td>
                  <td class="mono">{h.productSerial ? <a href={href('product', h.productSerial)}>{h.productSerial}</a> : '–'}</td>
                  <td class="mono">
                    <a href={href('inspection', h.inspectionId)}>{h.inspectionId}</a>
                  </td>
                  <td>{h.line}</td>
                  <td>{h.cameraId}</td>
                  <td class="mono">{h.modelVersion ?? '–'}</td>
                  <td class={`num ${h.defectCount ? 'tone-bad' : ''}`}>{h.defectCount}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p class="dim" id="quality-no-hits">
            No inspection's serial or id starts with “{q.trim()}”.
          </p>
        )
      ) : null}
    </div>
  );
}

/** The period, line and model-version filter shared by the Quality and Models pages, kept in the URL. */
export function FilterBar({ page, filter, extra }: { page: 'quality' | 'models'; filter: QualityFilter; extra?: ComponentChildren }) {
  const [line, setLine] = useState(filter.line ?? '');
  const [modelVersion, setModelVersion] = useState(filter.modelVersion ?? '');
  const go = (next: Partial<QualityFilter>) => {
    const f = { ...filter, line: line.trim() || undefined, modelVersion: modelVersion.trim() || undefined, ...next };
    location.hash = href(page, undefined, { period: f.period, line: f.line, modelVersion: f.modelVersion });
  };
  return (
    <form
      class="filters"
      id="quality-filters"
      onSubmit={(e) => {
        e.preventDefault();
        go({});
      }}
    >
      <label class="inline">
        period
        <select id="quality-period" value={filter.period} onChange={(e) => go({ period: (e.target as HTMLSelectElement).value as QualityFilter['period'] })}>
          {PERIODS.map((p) => (
            <option key={p.value} value={p.value}>
              {p.label}
            </option>
          ))}
        </select>
      </label>
      <label class="inline">
        line
        <input id="quality-line" value={line} placeholder="all" size={10} onInput={(e) => setLine((e.target as HTMLInputElement).value)} />
      </label>
      <label class="inline">
        model version
        <input id="quality-model" value={modelVersion} placeholder="all" size={8} onInput={(e) => setModelVersion((e.target as HTMLInputElement).value)} />
      </label>
      <button type="submit">Apply</button>
      {extra}
    </form>
  );
}

type SeriesBy = 'line' | 'class' | 'model_version';
const CHARTS: { by: SeriesBy; title: string }[] = [
  { by: 'line', title: 'Defect rate by line (defective inspections)' },
  { by: 'class', title: 'Detections per inspection by defect class' },
  { by: 'model_version', title: 'Defect rate by model version' },
];

export function QualityPage({ api, route }: PageProps) {
  const filter = useMemo(() => filterFromParams(route.params), [route.params.period, route.params.line, route.params.modelVersion]); // eslint-disable-line react-hooks/exhaustive-deps
  const [now] = useState(() => Date.now());
  const query = useMemo(() => filterQuery(filter, now), [filter, now]);
  const [series, setSeries] = useState<Partial<Record<SeriesBy, SeriesPoint[]>>>({});
  const [worst, setWorst] = useState<{ from: string; to: string; lines: WorstLine[] }>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    let live = true;
    setSeries({});
    setError(undefined);
    for (const c of CHARTS) {
      const q = new URLSearchParams(query);
      q.set('by', c.by);
      q.set('bucket', bucketOf(filter.period));
      api.defectRate(q.toString()).then(
        (r) => live && setSeries((old) => ({ ...old, [c.by]: r.points })),
        (err) => live && setError(historyFailure(err)),
      );
    }
    const w = new URLSearchParams();
    if (filter.line) w.set('line', filter.line);
    if (filter.modelVersion) w.set('modelVersion', filter.modelVersion);
    api.worstLines(w.toString()).then(
      (r) => live && setWorst(r),
      (err) => live && setError(historyFailure(err)),
    );
    return () => {
      live = false;
    };
  }, [api, query]); // eslint-disable-line react-hooks/exhaustive-deps

  return (
    <div class="page quality">
      <header class="page-head">
        <h1>Quality</h1>
        <p class="lead dim">Find a product by its serial, see defect rates over time, and the lines that need attention this shift.</p>
      </header>
      <SearchBox api={api} initial={route.params.q} />
      <Message text={error} id="quality-error" />
      <FilterBar
        page="quality"
        filter={filter}
        extra={
          <a class="button" id="quality-export" href={exportHref(API_ROOT, filter, now)} download>
            Export CSV
          </a>
        }
      />
      <div class="quality-grid">
        <div class="charts">
          {CHARTS.map((c) => (
            <RateChart key={c.by} id={`rate-${c.by.replace('_', '-')}`} title={c.title} points={series[c.by]} />
          ))}
        </div>
        <Section title="Worst lines this shift" id="worst-lines">
          {worst ? (
            <>
              <p class="dim">
                {when(worst.from)} – {when(worst.to)}
              </p>
              {worst.lines.length ? (
                <table class="grid-table">
                  <thead>
                    <tr>
                      <th>line</th>
                      <th class="num">inspections</th>
                      <th class="num">defective</th>
                      <th class="num">rate</th>
                    </tr>
                  </thead>
                  <tbody>
                    {worst.lines.map((l) => (
                      <tr key={`${l.site}/${l.line}`} data-line={l.line}>
                        <td>
                          <a href={href('quality', undefined, { period: filter.period, line: l.line })}>{l.line}</a> <span class="dim">{l.site}</span>
                        </td>
                        <td class="num">{l.inspections}</td>
                        <td class="num">{l.defective}</td>
                        <td class="num">
                          <RateBar rate={l.defectRate} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              ) : (
                <p class="dim">No inspections yet this shift.</p>
              )}
            </>
          ) : (
            <p class="dim">Loading…</p>
          )}
        </Section>
      </div>
    </div>
  );
}

function RateChart({ id, title, points }: { id: string; title: string; points?: SeriesPoint[] }) {
  const pivot = useMemo(() => pivotSeries(points ?? []), [points]);
  if (!points) return <p class="dim">Loading {title.toLowerCase()}…</p>;
  return <ZoomChart id={id} title={title} times={pivot.times} series={pivot.series} unit=" %" />;
}

/** A rate as text with a small bar behind it (red from 5 %). */
export function RateBar({ rate }: { rate: number | null }) {
  const width = Math.min(100, Math.max(0, (rate ?? 0) * 100));
  return (
    <span class={`rate ${rate !== null && rate >= 0.05 ? 'high' : ''}`}>
      <span class="track">
        <i style={{ width: `${width}%` }} />
      </span>
      <b>{percent(rate)}</b>
    </span>
  );
}

// ---- one inspection, one product

const WINDOWS = [5, 10, 30, 60];

export function InspectionPage({ api, route }: PageProps) {
  const id = route.id!;
  const windowSeconds = WINDOWS.includes(Number(route.params.window)) ? Number(route.params.window) : 10;
  const [detail, setDetail] = useState<InspectionDetail>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    api.inspection(id, windowSeconds).then(
      (d) => (setDetail(d), setError(undefined)),
      (err) => setError(historyFailure(err)),
    );
  }, [api, id, windowSeconds]);
  return (
    <div class="page inspection">
      <div class="crumbs">
        <a href={href('quality')}>Quality</a>
        {detail?.inspection.productSerial ? (
          <>
            {' / '}
            <a href={href('product', detail.inspection.productSerial)}>{detail.inspection.productSerial}</a>
          </>
        ) : null}{' '}
        / <b>{id}</b>
      </div>
      <Message text={error} id="inspection-error" />
      {detail ? <InspectionView api={api} detail={detail} windowSeconds={windowSeconds} onWindow={(w) => (location.hash = href('inspection', id, { window: String(w) }))} /> : !error ? <p class="dim">Loading {id}…</p> : null}
    </div>
  );
}

export function ProductPage({ api, route }: PageProps) {
  const serial = route.id!;
  const [inspections, setInspections] = useState<InspectionDetail[]>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    api.product(serial, 10).then(
      (r) => (setInspections(r.inspections), setError(undefined)),
      (err) => setError(historyFailure(err)),
    );
  }, [api, serial]);
  return (
    <div class="page product">
      <div class="crumbs">
        <a href={href('quality')}>Quality</a> / product <b>{serial}</b>
      </div>
      <Message text={error} id="product-error" />
      {inspections ? (
        <>
          <h1 class="mono">{serial}</h1>
          <p class="dim">
            {inspections.length} inspection{inspections.length === 1 ? '' : 's'} of this product, newest first
          </p>
          {inspections.map((d) => (
            <InspectionView key={d.inspection.inspectionId} api={api} detail={d} windowSeconds={10} />
          ))}
        </>
      ) : !error ? (
        <p class="dim">Loading {serial}…</p>
      ) : null}
    </div>
  );
}

function InspectionView({ api, detail, windowSeconds, onWindow }: { api: ConsoleApi; detail: InspectionDetail; windowSeconds: number; onWindow?: (w: number) => void }) {
  const i = detail.inspection;
  const state = useMemo(() => lineState(detail.tags.atInspection, i.time), [detail, i.time]);
  const samples = useMemo(() => sampleSeries(detail.tags.samples), [detail]);
  return (
    <section class="inspection-view" data-inspection={i.inspectionId}>
      <header class="device-head" id="inspection-head">
        <h1 class="mono">{i.inspectionId}</h1>
        <span class={`badge tone-${i.defectCount ? 'bad' : 'good'}`} id="inspection-verdict">
          <i class="dot" />
          {i.defectCount ? `${i.defectCount} defect${i.defectCount === 1 ? '' : 's'}` : 'no defect'}
        </span>
        <dl>
          <dt>time</dt>
          <dd title={i.time}>{when(i.time)}</dd>
          <dt>product</dt>
          <dd class="mono">{i.productSerial ?? '–'}</dd>
          <dt>line</dt>
          <dd id="inspection-line">
            {i.site} / {i.line}
          </dd>
          <dt>camera</dt>
          <dd>{i.cameraId}</dd>
          <dt>model</dt>
          <dd class="mono" id="inspection-model">
            {detail.modelVersion ?? '–'}
          </dd>
        </dl>
      </header>
      <div class="columns">
        <Section title="Image" id="inspection-image">
          <InspectionImage api={api} detail={detail} />
        </Section>
        <div class="stack">
          <Section title="Detections" id="inspection-detections">
            {detail.detections.length ? (
              <table class="grid-table">
                <thead>
                  <tr>
                    <th>#</th>
                    <th>class</th>
                    <th class="num">confidence</th>
                    <th>box (x, y, w × h px)</th>
                  </tr>
                </thead>
                <tbody>
                  {detail.detections.map((d, k) => (
                    <tr key={d.idx} data-class={d.defectClass}>
                      <td>
                        <i class="swatch" style={{ background: seriesColour(k) }} />
                        {d.idx}
                      </td>
                      <td>{d.defectClass}</td>
                      <td class="num">{(d.confidence * 100).toFixed(1)} %</td>
                      <td class="mono">{d.box ? `${Math.round(d.box.x)}, ${Math.round(d.box.y)}, ${Math.round(d.box.width)} × ${Math.round(d.box.height)}` : '–'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : (
              <p class="dim">No detections: the product passed.</p>
            )}
          </Section>
          <Section title="Line at that moment" id="inspection-line-state">
            {state.length ? (
              <table class="grid-table">
                <thead>
                  <tr>
                    <th>device</th>
                    <th>tag</th>
                    <th class="num">value</th>
                    <th class="num">read</th>
                  </tr>
                </thead>
                <tbody>
                  {state.map((r) => (
                    <tr key={`${r.device}/${r.tag}`} data-tag={r.tag} data-kind={r.kind} class={r.quality !== 'good' ? 'tone-warn' : ''}>
                      <td>{r.device}</td>
                      <td>{r.tag}</td>
                      <td class="num mono" title={`quality ${r.quality}`}>
                        {r.value}
                        {r.unit ? ` ${r.unit}` : ''}
                      </td>
                      <td class="num dim">{r.offsetSeconds === 0 ? 'at' : `${r.offsetSeconds > 0 ? '+' : ''}${r.offsetSeconds} s`}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : (
              <p class="dim">No tag readings of this line within ± {detail.tags.windowSeconds} s.</p>
            )}
          </Section>
          <Section title="Actions taken" id="inspection-actions">
            {detail.actions.length ? (
              <table class="grid-table">
                <thead>
                  <tr>
                    <th>time</th>
                    <th>rule</th>
                    <th>action</th>
                    <th>writes</th>
                  </tr>
                </thead>
                <tbody>
                  {detail.actions.map((a) => (
                    <tr key={a.actionId} data-rule={a.ruleId}>
                      <td class="nowrap">{when(a.time)}</td>
                      <td class="mono">{a.ruleId}</td>
                      <td>
                        <span class={`tone-${a.severity === 'critical' ? 'bad' : a.severity === 'info' ? 'busy' : 'warn'}`}>{a.kind}</span> <span class="dim">{a.severity}</span>
                        {a.reason ? <div class="dim">{a.reason}</div> : null}
                      </td>
                      <td class="mono">{Array.isArray(a.writes) ? (a.writes as { tag: string; value: unknown }[]).map((w) => `${w.tag}=${JSON.stringify(w.value)}`).join(', ') : '–'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : (
              <p class="dim">No line action for this inspection.</p>
            )}
          </Section>
        </div>
      </div>
      <Section
        title={`Tag samples ± ${detail.tags.windowSeconds} s`}
        id="inspection-samples"
        actions={
          onWindow ? (
            <label class="inline">
              window
              <select id="inspection-window" value={String(windowSeconds)} onChange={(e) => onWindow(Number((e.target as HTMLSelectElement).value))}>
                {WINDOWS.map((w) => (
                  <option key={w} value={String(w)}>
                    ± {w} s
                  </option>
                ))}
              </select>
            </label>
          ) : null
        }
      >
        <p class="dim">
          {detail.tags.samples.length} samples from {detail.tags.devices === 'all' ? 'every device (no devices are mapped to this line)' : detail.tags.devices.join(', ')}; the inspection is at {when(i.time)}.
        </p>
        <div class="sample-charts" id="inspection-samples-charts">
          {samples.map((s) => (
            <ZoomChart key={s.label} title={s.label} times={s.times} series={[s]} unit={s.unit ? ` ${s.unit}` : ''} height={120} fromZero={false} markAt={Date.parse(i.time) / 1000} />
          ))}
        </div>
      </Section>
    </section>
  );
}

function InspectionImage({ api, detail }: { api: ConsoleApi; detail: InspectionDetail }) {
  const picked = useMemo(() => pickImage(detail), [detail]);
  const [src, setSrc] = useState<string>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    setSrc(undefined);
    if (picked) api.historyImage(picked.url).then(setSrc, (err) => setError(historyFailure(err)));
  }, [api, picked]);
  if (!picked) return <p class="dim">No image was stored for this inspection.</p>;
  const boxes = picked.drawBoxes ? detail.detections.map((d, k) => ({ d, k, share: boxShare(d.box, picked.width, picked.height) })).filter((b) => b.share) : [];
  return (
    <div class="inspection-image">
      <Message text={error} />
      <div class="image-frame" style={{ aspectRatio: `${picked.width} / ${picked.height}` }}>
        {src ? <img src={src} alt={`inspection ${detail.inspection.inspectionId} (${picked.kind})`} id="inspection-img" /> : <p class="dim">Loading the image…</p>}
        {boxes.length ? (
          <svg class="boxes" id="inspection-boxes" viewBox="0 0 1000 1000" preserveAspectRatio="none" aria-label={`${boxes.length} detection boxes`}>
            {boxes.map(({ d, k, share }) => (
              <g key={d.idx} data-class={d.defectClass}>
                <rect x={share!.x * 1000} y={share!.y * 1000} width={share!.w * 1000} height={share!.h * 1000} stroke={seriesColour(k)} />
              </g>
            ))}
          </svg>
        ) : null}
        {boxes.map(({ d, k, share }) => (
          <span key={d.idx} class="box-label" style={{ left: `${share!.x * 100}%`, top: `${share!.y * 100}%`, background: seriesColour(k) }}>
            {d.defectClass} {(d.confidence * 100).toFixed(0)} %
          </span>
        ))}
      </div>
      <p class="dim">
        {picked.kind} image, {picked.width} × {picked.height} px
        {picked.drawBoxes ? (boxes.length ? '; boxes drawn from the detections' : '') : picked.kind === 'annotated' ? '; boxes drawn by the line' : '; boxes are listed, not drawn (full frame not stored)'}
      </p>
    </div>
  );
}
