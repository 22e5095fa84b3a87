import assert from 'node:assert/strict';
import { deviceQuery, filterFromParams, filterToParams, pagesToLoad, parseLabels, rowWindow } from '../../../../../runtime/repo/console/fleet-view';

describe('console fleet view: filter, query and virtual rows', () => {
  it('keeps the filter in the URL parameters and back', () => {
    const f = { tier: 'line', labels: 'site=hq line=3', state: 'failed', text: ' cam ' };
    assert.deepEqual(filterToParams(f), { tier: 'line', label: 'site=hq line=3', state: 'failed', q: 'cam' });
    assert.deepEqual(filterFromParams(filterToParams(f)), { ...f, text: 'cam' });
    assert.deepEqual(filterFromParams({}), { tier: '', labels: '', state: '', text: '' });
  });

  it('turns the filter into a paged GET /devices query, one label parameter per pair', () => {
    const q = new URLSearchParams(deviceQuery({ tier: 'line', labels: 'site=hq, line=3', state: 'degraded', text: 'x' }, 200, 100));
    assert.deepEqual(q.getAll('label'), ['site=hq', 'line=3']);
    assert.deepEqual([q.get('tier'), q.get('state'), q.get('q'), q.get('offset'), q.get('limit')], ['line', 'degraded', 'x', '200', '100']);
    assert.equal(deviceQuery({ tier: '', labels: '', state: '', text: '  ' }, 0, 50), 'offset=0&limit=50');
  });

  it('names label pairs without "="', () => {
    assert.deepEqual(parseLabels('a=1 b c=x=y =z'), { labels: [['a', '1'], ['c', 'x=y']], problems: ['"b" must be key=value', '"=z" must be key=value'] });
  });

  it('renders only the rows in view plus the overscan, with padding for the rest', () => {
    const table: [number, number, number, number, { start: number; end: number; padTop: number; padBottom: number }][] = [
      [1000, 30, 0, 600, { start: 0, end: 30, padTop: 0, padBottom: 970 * 30 }],
      [1000, 30, 3000, 600, { start: 90, end: 130, padTop: 90 * 30, padBottom: 870 * 30 }],
      [1000, 30, 29_400, 600, { start: 970, end: 1000, padTop: 970 * 30, padBottom: 0 }],
      [5, 30, 0, 600, { start: 0, end: 5, padTop: 0, padBottom: 0 }],
      [0, 30, 0, 600, { start: 0, end: 0, padTop: 0, padBottom: 0 }],
    ];
    for (const [total, row, top, height, want] of table) assert.deepEqual(rowWindow(total, row, top, height), want, `${total} rows at ${top}`);
  });

  it('asks only for the pages the visible rows need and lack', () => {
    assert.deepEqual(pagesToLoad(90, 130, 200, new Set()), [0]);
    assert.deepEqual(pagesToLoad(180, 230, 200, new Set([0])), [200]);
    assert.deepEqual(pagesToLoad(180, 430, 200, new Set()), [0, 200, 400]);
    assert.deepEqual(pagesToLoad(0, 0, 200, new Set()), []);
  });
});
