import assert from 'node:assert/strict';
import type { ModelComparison, SeriesPoint, TagReading } from '../../../../../runtime/history/queries';
import { boxShare, compareByLine, exportHref, filterFromParams, filterQuery, lineState, percent, pickImage, pivotSeries, rateChange, sampleSeries } from '../../../../../runtime/repo/console/quality-view';

const NOW = Date.UTC(2026, 2, 2, 10, 30, 20);

describe('console quality view: what the Quality pages show', () => {
  it('reads the filter from the route and turns it into the history query; unknown periods are 24 h', () => {
    assert.deepEqual(filterFromParams({ period: '7d', line: ' line-1 ', modelVersion: '' }), { period: '7d', line: 'line-1', modelVersion: undefined });
    assert.equal(filterFromParams({ period: '1y' }).period, '24h');
    const q = filterQuery({ period: '1h', line: 'line-1', modelVersion: '2.0.0' }, NOW);
    assert.equal(q.get('to'), '2026-03-02T10:31:00.000Z', 'to rounded up to the minute, so the page\'s queries agree');
    assert.equal(q.get('from'), '2026-03-02T09:31:00.000Z');
    assert.equal(q.get('line'), 'line-1');
    assert.equal(q.get('modelVersion'), '2.0.0');
    assert.equal(filterQuery({ period: '24h' }, NOW).has('line'), false);
    assert.equal(exportHref('/api/v1', { period: '24h', line: 'a b' }, NOW), '/api/v1/history/export.csv?from=2026-03-01T10%3A31%3A00.000Z&to=2026-03-02T10%3A31%3A00.000Z&line=a+b');
  });

  it('pivots defect-rate points into one uPlot series per key, in percent, null where a key had no bucket; busiest first', () => {
    const p = (bucket: string, key: string | null, inspections: number, defectRate: number | null): SeriesPoint => ({ bucket, key, inspections, defective: 0, detections: 0, defectRate });
    const pivot = pivotSeries([p('2026-03-02T10:00:00Z', 'line-2', 10, 0.1), p('2026-03-02T09:00:00Z', 'line-1', 50, 0.02), p('2026-03-02T10:00:00Z', 'line-1', 40, 0.025), p('2026-03-02T11:00:00Z', null, 1, null)]);
    assert.deepEqual(pivot.times, [Date.UTC(2026, 2, 2, 9) / 1000, Date.UTC(2026, 2, 2, 10) / 1000, Date.UTC(2026, 2, 2, 11) / 1000]);
    assert.deepEqual(pivot.series.map((s) => s.label), ['line-1', 'line-2', 'all']);
    assert.deepEqual(pivot.series[0]!.values, [2, 2.5, null]);
    assert.deepEqual(pivot.series[1]!.values, [null, 10, null]);
    assert.deepEqual(pivot.series[2]!.values, [null, null, null], 'no inspections: no rate, not 0 %');
    assert.notEqual(pivot.series[0]!.colour, pivot.series[1]!.colour);
    assert.equal(pivotSeries(Array.from({ length: 12 }, (_, i) => p('2026-03-02T10:00:00Z', `l${i}`, i, 0)), 8).series.length, 8);
  });

  it('places boxes as shares of the image, clipped to it', () => {
    const table: [Parameters<typeof boxShare>[0], number, number, ReturnType<typeof boxShare>][] = [
      [{ x: 100, y: 50, width: 200, height: 100 }, 1000, 500, { x: 0.1, y: 0.1, w: 0.2, h: 0.2 }],
      [{ x: -10, y: 450, width: 30, height: 100 }, 1000, 500, { x: 0, y: 0.9, w: 0.02, h: 0.1 }],
      [{ x: 2000, y: 0, width: 10, height: 10 }, 1000, 500, { x: 1, y: 0, w: 0, h: 0.02 }],
      [null, 1000, 500, null],
      [{ x: 1, y: 1, width: 1, height: 1 }, 0, 500, null],
    ];
    for (const [box, w, h, want] of table) assert.deepEqual(boxShare(box, w, h), want, JSON.stringify(box));
  });

  it('picks the full frame to draw boxes on; else the annotated image as it is; a thumbnail gets no boxes', () => {
    const img = (kind: string, width = 100) => ({ kind, format: 'jpeg', width, height: 50, sizeBytes: 1, stored: 'database' as const, url: `/u/${kind}` });
    assert.deepEqual(pickImage({ images: [img('thumbnail', 10), img('full'), img('annotated')] }), { url: '/u/full', kind: 'full', width: 100, height: 50, drawBoxes: true });
    assert.equal(pickImage({ images: [img('thumbnail', 10), img('annotated')] })!.kind, 'annotated');
    assert.equal(pickImage({ images: [img('annotated')] })!.drawBoxes, false);
    assert.deepEqual(pickImage({ images: [img('thumbnail', 10)] }), { url: '/u/thumbnail', kind: 'thumbnail', width: 10, height: 50, drawBoxes: false });
    assert.equal(pickImage({ images: [] }), null);
  });

  it("orders the line's state at the inspection: speed, counters, state, the rest; offsets in seconds", () => {
    const at = '2026-03-02T10:00:00.000Z';
    const r = (tag: string, value: TagReading['value'], ms: number, unit: string | null = null): TagReading => ({ time: new Date(Date.parse(at) + ms).toISOString(), device: 'plc1', tag, value, quality: 'good', unit });
    const rows = lineState([r('mode', 'auto', -300), r('temperature', 21.23456, -1000), r('state', 'running', -700), r('good_count', 5019, -700), r('line_speed', 1.69, -700, 'm/s')], at);
    assert.deepEqual(rows.map((x) => [x.kind, x.tag, x.value, x.offsetSeconds]), [
      ['speed', 'line_speed', '1.69', -0.7],
      ['counter', 'good_count', '5019', -0.7],
      ['state', 'mode', 'auto', -0.3],
      ['state', 'state', 'running', -0.7],
      ['other', 'temperature', '21.235', -1],
    ]);
    assert.equal(rows[0]!.unit, 'm/s');
    assert.equal(lineState([r('running', true, 0)], at)[0]!.value, 'true');
  });

  it('charts each numeric tag around the inspection on its own; booleans as 0/1; text tags left out', () => {
    const r = (tag: string, value: TagReading['value'], s: number): TagReading => ({ time: new Date(Date.UTC(2026, 2, 2) + s * 1000).toISOString(), device: 'plc1', tag, value, quality: 'good', unit: tag === 'speed' ? 'm/s' : null });
    const series = sampleSeries([r('count', 2, 2), r('speed', 1.5, 1), r('count', 1, 1), r('state', 'running', 1), r('running', true, 1), r('speed', 1.6, 2)]);
    assert.deepEqual(series.map((s) => [s.label, s.unit, s.values]), [
      ['plc1/speed', 'm/s', [1.5, 1.6]],
      ['plc1/count', null, [1, 2]],
      ['plc1/running', null, [1]],
    ]);
    assert.deepEqual(series[1]!.times, [Date.UTC(2026, 2, 2) / 1000 + 1, Date.UTC(2026, 2, 2) / 1000 + 2]);
  });

  it('groups the model comparison per line: versions in semver order, classes by frequency, one histogram scale', () => {
    const row = (line: string, modelVersion: string | null, classes: Record<string, number>, bins: number[], defectRate: number): ModelComparison => ({ site: 's', line, modelVersion, inspections: 10, defective: 1, defectRate, detections: 1, classes, meanConfidence: 0.5, confidenceBins: bins });
    const lines = compareByLine([row('line-10', '1.0.0', {}, [0], 0.1), row('line-2', '10.0.0', { hole: 1 }, [3, 1], 0.3), row('line-2', null, {}, [0], 0), row('line-2', '2.0.0', { scratch: 5, hole: 2 }, [9, 0], 0.2)]);
    assert.deepEqual(lines.map((l) => l.line), ['line-2', 'line-10']);
    assert.deepEqual(lines[0]!.versions.map((v) => v.modelVersion), ['2.0.0', '10.0.0', null]);
    assert.deepEqual(lines[0]!.classes, ['scratch', 'hole']);
    assert.equal(lines[0]!.maxBin, 9);
    assert.equal(rateChange(0.328, 0.233), '+9.5 pp');
    assert.equal(rateChange(0.2, 0.3), '−10.0 pp');
    assert.equal(rateChange(0.2, 0.2), '±0.0 pp');
    assert.equal(rateChange(null, 0.2), '');
    assert.deepEqual([percent(0.0235), percent(0.328), percent(null), percent(NaN)], ['2.35 %', '32.8 %', '–', '–']);
  });
});
