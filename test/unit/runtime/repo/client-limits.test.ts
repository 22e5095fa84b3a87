// The client keeps a status report within what the repository accepts, so a runtime with many or long
// node errors still reports (issue #14: the repository now refuses oversized reasons with 422).
import assert from 'node:assert/strict';
import { assertValid } from '../../../../contracts/schemas';
import { fitStatusReport } from '../../../../runtime/repo/client';

describe('repo client: status reports fit the repository limits', () => {
  const base = { deviceId: 'line-a', state: 'failed' as const, running: null, ts: 1 };

  it('leaves a report within the limits as it is', () => {
    const report = { ...base, reasons: ['a', 'b'] };
    assert.equal(fitStatusReport(report), report);
  });

  it('cuts 250 reasons of 10,000 characters to 100 of at most 4,000, saying how many more there were', () => {
    const fitted = fitStatusReport({ ...base, reasons: Array.from({ length: 250 }, (_, i) => `${i}:${'x'.repeat(10_000)}`) });
    assert.equal(fitted.reasons!.length, 100);
    assert.ok(fitted.reasons!.every((r) => r.length <= 4000));
    assert.equal(fitted.reasons![99], 'and 151 more reasons');
    assert.match(fitted.reasons![0]!, /^0:x+… \(10002 chars\)$/);
    assertValid('RepoStatusReport', fitted);
  });
});
