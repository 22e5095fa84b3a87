// Model comparison over the history (GET /api/v1/history/model-comparison): per line, each model
// version's inspections, defect rate, detections per class and the distribution of its confidences, so a
// canary line on a new model can be compared with its own past and with lines still on the old one.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { describeFailure, type ConsoleApi, type ModelComparison, type SeriesPoint } from '../api';
import type { PageProps } from '../app';
import { Message, ZoomChart } from '../components';
import { bucketOf, compareByLine, filterFromParams, filterQuery, pivotSeries, rateChange, seriesColour, type LineComparison, type QualityFilter } from '../quality-view';
import { href } from '../router';
import { FilterBar, RateBar } from './quality';

export function ModelsPage({ api, route }: PageProps) {
  const filter = useMemo(() => filterFromParams(route.params), [route.params.period, route.params.line, route.params.modelVersion]); // eslint-disable-line react-hooks/exhaustive-deps
  const [rows, setRows] = useState<ModelComparison[]>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    setRows(undefined);
    api.modelComparison(filterQuery(filter, Date.now()).toString()).then(
      (r) => (setRows(r.rows), setError(undefined)),
      (err) => setError((err as { status?: number }).status === 404 ? "This repository serves no quality history: start it with --history-db <url>." : describeFailure(err)),
    );
  }, [api, filter]);
  const lines = useMemo(() => compareByLine(rows ?? []), [rows]);
  return (
    <div class="page models">
      <header class="page-head">
        <h1>Models</h1>
        <p class="lead dim">Each line's model versions side by side: a canary line on a new version against its own past and against lines still on the old one.</p>
      </header>
      <FilterBar page="models" filter={filter} />
      <Message text={error} id="models-error" />
      {rows && !lines.length ? <p class="dim">No inspections in this period.</p> : null}
      {!rows && !error ? <p class="dim">Loading…</p> : null}
      <div class="model-lines">
        {lines.map((l, i) => (
          <LineModels key={`${l.site}/${l.line}`} api={api} line={l} filter={filter} chart={i < MAX_CHARTS} />
        ))}
      </div>
    </div>
  );
}

/** Lines that get a defect-rate-by-version chart (one query each); the rest have the table only. */
const MAX_CHARTS = 12;

function LineModels({ api, line, filter, chart }: { api: ConsoleApi; line: LineComparison; filter: QualityFilter; chart: boolean }) {
  const period = filter.period;
  const [points, setPoints] = useState<SeriesPoint[]>();
  useEffect(() => {
    if (!chart) return;
    const q = filterQuery({ ...filter, line: line.line }, Date.now());
    q.set('by', 'model_version');
    q.set('bucket', bucketOf(filter.period));
    q.set('site', line.site);
    api.defectRate(q.toString()).then((r) => setPoints(r.points), () => setPoints([]));
  }, [api, line.site, line.line, filter, chart]);
  // The chart's colours follow the table's: series keyed by version in the table's order.
  const pivot = useMemo(() => {
    const p = pivotSeries(points ?? []);
    const order = line.versions.map((v) => v.modelVersion ?? 'all');
    const rank = (label: string) => (order.includes(label) ? order.indexOf(label) : order.length);
    const series = p.series.map((s) => ({ ...s, colour: seriesColour(rank(s.label)) })).sort((a, b) => rank(a.label) - rank(b.label));
    return { times: p.times, series };
  }, [points, line]);
  return (
    <section class="panel model-line" data-line={line.line} data-versions={line.versions.length}>
      <header>
        <h2>
          <a href={href('quality', undefined, { period, line: line.line })}>{line.line}</a> <span class="dim">{line.site}</span>
        </h2>
        <div class="actions dim">{line.versions.length > 1 ? `${line.versions.length} model versions in this period` : 'one model version'}</div>
      </header>
      <table class="grid-table">
        <thead>
          <tr>
            <th>model version</th>
            <th class="num">inspections</th>
            <th class="num">defect rate</th>
            <th class="num" title={`against ${line.versions[0]?.modelVersion ?? 'the first version'} on this line`}>
              vs {line.versions[0]?.modelVersion ?? 'first'}
            </th>
            {line.classes.map((c) => (
              <th key={c} class="num">
                {c}
              </th>
            ))}
            <th class="num">mean conf.</th>
            <th>confidence 0 → 1</th>
          </tr>
        </thead>
        <tbody>
          {line.versions.map((v, i) => (
            <tr key={v.modelVersion ?? 'none'} data-version={v.modelVersion ?? ''}>
              <td class="mono">
                <i class="swatch" style={{ background: seriesColour(i) }} />
                {v.modelVersion ?? <span class="dim">none recorded</span>}
              </td>
              <td class="num">{v.inspections}</td>
              <td class="num">
                <RateBar rate={v.defectRate} />
              </td>
              <td class="num rate-change">{i === 0 ? <span class="dim">baseline</span> : rateChange(v.defectRate, line.versions[0]!.defectRate)}</td>
              {line.classes.map((c) => (
                <td key={c} class="num" title={`${v.classes[c] ?? 0} ${c} detections in ${v.inspections} inspections`}>
                  {v.classes[c] ?? 0}
                </td>
              ))}
              <td class="num">{v.meanConfidence === null ? '–' : v.meanConfidence.toFixed(2)}</td>
              <td>
                <Histogram bins={v.confidenceBins} max={line.maxBin} colour={seriesColour(i)} label={`${v.modelVersion ?? 'no version'}: detections per confidence bin`} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {chart && points ? <ZoomChart id={`model-rate-${line.line}`} title={`Defect rate on ${line.line} by model version`} times={pivot.times} series={pivot.series} unit=" %" height={150} /> : null}
    </section>
  );
}

/** Detections per 0.1 confidence bin as bars, one scale per line so versions compare by eye. */
function Histogram({ bins, max, colour, label }: { bins: number[]; max: number; colour: string; label: string }) {
  const h = 34;
  const w = 12;
  return (
    <svg class="histogram" width={bins.length * w} height={h + 12} role="img" aria-label={label}>
      <title>{`${label}: ${bins.join(', ')}`}</title>
      {bins.map((n, k) => {
        const bar = max > 0 ? Math.max(n > 0 ? 1 : 0, (n / max) * h) : 0;
        return <rect key={k} x={k * w + 1} y={h - bar} width={w - 2} height={bar} fill={colour} data-count={n} />;
      })}
      <line x1={0} x2={bins.length * w} y1={h + 0.5} y2={h + 0.5} stroke="#bbb" />
      <text x={0} y={h + 11} class="axis">0</text>
      <text x={bins.length * w - 6} y={h + 11} class="axis">1</text>
    </svg>
  );
}
