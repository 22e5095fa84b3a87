import assert from 'node:assert/strict';
import { loadTemplate, screenPath } from '../../../../../runtime/dev/demo/templates';

describe('demo templates: where a template\'s screen is served', () => {
  it('line-inspection: its Dashboard 2.0 base path and page path (what the demo prints as the line screen)', () => {
    assert.equal(screenPath(loadTemplate('line-inspection')), '/dashboard/line');
  });

  it('a template without a dashboard page has no screen', () => {
    assert.equal(screenPath(loadTemplate('cloud-history')), undefined);
  });

  it('joins the paths with one slash whatever their ends', () => {
    const t = loadTemplate('line-inspection');
    const flow = (t.flow as Array<Record<string, unknown>>).map((n) => (n.type === 'ui-base' ? { ...n, path: '/screens/' } : n.type === 'ui-page' ? { ...n, path: 'line' } : n));
    assert.equal(screenPath({ ...t, flow }), '/screens/line');
  });
});
