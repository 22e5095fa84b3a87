import assert from 'node:assert/strict';
import { href, parseRoute } from '../../../../../runtime/repo/console/router';

describe('console router: routes in location.hash', () => {
  it('reads pages, ids and parameters, and writes them back', () => {
    assert.deepEqual(parseRoute(''), { page: 'fleet', params: {} });
    assert.deepEqual(parseRoute('#/fleet?state=failed&q=line'), { page: 'fleet', params: { state: 'failed', q: 'line' } });
    assert.deepEqual(parseRoute('#/devices/line%2F1'), { page: 'device', id: 'line/1', params: {} });
    assert.deepEqual(parseRoute('#/templates'), { page: 'templates', params: {} });
    assert.deepEqual(parseRoute('#/templates/li?from=1.0.0'), { page: 'template', id: 'li', params: { from: '1.0.0' } });
    assert.deepEqual(parseRoute('#/nowhere'), { page: 'fleet', params: {} });
    for (const h of [href('device', 'line/1'), href('fleet', undefined, { state: 'failed', tier: '' }), href('deployment', 'dep-1'), href('audit', undefined, { subject: 'a b' })]) {
      const r = parseRoute(h);
      assert.equal(href(r.page, r.id, r.params), h);
    }
    assert.equal(href('fleet', undefined, { state: 'failed', tier: '' }), '#/fleet?state=failed');
    // The model registry: the list and one model with the two versions compared.
    assert.deepEqual(parseRoute('#/registry'), { page: 'registry', params: {} });
    assert.deepEqual(parseRoute('#/registry/defect-detector?a=1.0.0&b=1.1.0'), { page: 'model', id: 'defect-detector', params: { a: '1.0.0', b: '1.1.0' } });
    assert.equal(href('model', 'defect-detector', { a: '1.0.0', b: '1.1.0' }), '#/registry/defect-detector?a=1.0.0&b=1.1.0');
  });

  it('routes the Quality section: the overview with its filter, an inspection, a product, the models', () => {
    assert.deepEqual(parseRoute('#/quality?period=7d&line=line-1'), { page: 'quality', params: { period: '7d', line: 'line-1' } });
    assert.deepEqual(parseRoute('#/inspections/insp%2F1?window=30'), { page: 'inspection', id: 'insp/1', params: { window: '30' } });
    assert.deepEqual(parseRoute('#/products/SN-100001'), { page: 'product', id: 'SN-100001', params: {} });
    assert.deepEqual(parseRoute('#/models'), { page: 'models', params: {} });
    for (const h of [href('inspection', 'a b'), href('product', 'SN/1'), href('models', undefined, { period: '30d' })]) {
      const r = parseRoute(h);
      assert.equal(href(r.page, r.id, r.params), h);
    }
  });
});
