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
  });
});
