import assert from 'node:assert/strict';
import { splitByWire } from '../../../../bench/support/wire-capture';

describe('latency benchmark: splitting writes by the wire', () => {
  it('gives each write the first exchange on the wire after it was handed to the writer', () => {
    const wire = [
      { requestAt: 5, answerAt: 6 }, // a warm-up write before the first span: not matched
      { requestAt: 10.2, answerAt: 11 },
      { requestAt: 20.1, answerAt: 23.1 },
    ];
    const parts = splitByWire([[20, 23.5], [10, 11.5]], wire);
    assert.equal(parts.length, 2);
    assert.deepEqual(parts.map((p) => [p.before, p.peer, p.after].map((x) => Math.round(x * 10) / 10)), [[0.2, 0.8, 0.5], [0.1, 3, 0.4]]);
  });

  it('leaves out a write whose exchange is not between its two times', () => {
    assert.deepEqual(splitByWire([[10, 10.5]], [{ requestAt: 10.2, answerAt: 11 }]), []);
    assert.deepEqual(splitByWire([[10, 12]], []), []);
  });
});
