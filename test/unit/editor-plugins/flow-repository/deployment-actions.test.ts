import assert from 'node:assert/strict';
import { actionsFor } from '../../../../editor-plugins/flow-repository/deployment-actions';

describe('flow-repository: deployment actions offered by state', () => {
  // The same transitions the repository allows (store.ts); anything else would only earn a 409.
  const table: Array<[string, string[]]> = [
    ['rolling out', ['pause', 'cancel', 'rollback']],
    ['paused', ['resume', 'cancel', 'rollback']],
    ['halted', ['resume', 'cancel', 'rollback']],
    ['completed', ['rollback']],
    ['rolled back', []],
    ['cancelled', []],
  ];
  for (const [state, want] of table) it(`${state}: ${want.join(', ') || 'nothing'}`, () => assert.deepEqual(actionsFor(state), want));
});
