// Model comparison over the history (GET /api/v1/history/model-comparison): per line, each model
// version's inspections, defect rate, detections per class and the distribution of its confidences, so a
// canary line on a new model can be compared with its own past and with lines still on the old one.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { describeFailure, type ModelComparison } from '../api';
import type { PageProps } from '../app';
import { Message } from '../components';
import { compareByLine, filterFromParams, filterQuery, seriesColour, type LineComparison } from '../quality-view';
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
        {lines.map((l) => (
          <LineModels key={`${l.site}/${l.line}`} line={l} period={filter.period} />
        ))}
      </div>
    </div>
  );
}

function LineModels({ line, period }: { line: LineComparison; period: string }) {
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
