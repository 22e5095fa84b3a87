import assert from 'node:assert/strict';
import { isPlainListing, pageDevices, parseDeviceQuery, type FilterableDevice } from '../../../../runtime/repo/device-query';

const dev = (id: string, extra: Partial<FilterableDevice> = {}): FilterableDevice => ({ id, tier: 'line', labels: {}, state: 'running', degraded: false, running: 'li@1.0.0', reasons: [], desired: { template: 'li', version: '1.0.0' }, ...extra });

describe('device query: filtering and paging of GET /devices', () => {
  it('keeps the plain list when no filter or page parameter is given', () => {
    assert.equal(isPlainListing({}), true);
    assert.equal(isPlainListing({ other: '1' }), true);
    assert.equal(isPlainListing({ limit: '10' }), false);
  });

  it('parses every parameter and names each refused one', () => {
    assert.deepEqual(parseDeviceQuery({ tier: 'line', label: ['site=hq', 'k=a=b'], state: 'degraded', q: ' cam ', offset: '20', limit: '10' }), {
      query: { tier: 'line', labels: { site: 'hq', k: 'a=b' }, state: 'degraded', text: 'cam', offset: 20, limit: 10 },
      problems: [],
    });
    assert.deepEqual(parseDeviceQuery({ state: 'sleeping', label: 'site', offset: '-1', limit: '5000', tier: ['a', 'b'] }).problems.map((p) => p.field), ['tier', 'state', 'label', 'offset', 'limit']);
    assert.deepEqual(parseDeviceQuery({}).query, { tier: undefined, labels: {}, state: undefined, text: undefined, offset: 0, limit: 100 });
  });

  it('filters by tier, every label, state (degraded included) and text, then pages', () => {
    const all = [
      dev('a', { labels: { site: 'hq' } }),
      dev('b', { labels: { site: 'hq', line: '2' }, degraded: true, reasons: ['camera-intake "cam" red'] }),
      dev('c', { tier: 'factory', labels: { site: 'east' }, state: 'failed' }),
      dev('d', { state: 'offline', running: null, desired: null }),
    ];
    const ids = (q: Record<string, unknown>) => pageDevices(all, parseDeviceQuery(q).query).devices.map((d) => d.id);
    assert.deepEqual(ids({ tier: 'line' }), ['a', 'b', 'd']);
    assert.deepEqual(ids({ label: 'site=hq' }), ['a', 'b']);
    assert.deepEqual(ids({ label: ['site=hq', 'line=2'] }), ['b']);
    assert.deepEqual(ids({ state: 'degraded' }), ['b']);
    assert.deepEqual(ids({ state: 'failed' }), ['c']);
    assert.deepEqual(ids({ q: 'CAMERA' }), ['b']);
    assert.deepEqual(ids({ q: 'site=east' }), ['c']);
    const page = pageDevices(all, parseDeviceQuery({ offset: '1', limit: '2' }).query);
    assert.deepEqual([page.devices.map((d) => d.id), page.total, page.offset, page.limit], [['b', 'c'], 4, 1, 2]);
  });
});
