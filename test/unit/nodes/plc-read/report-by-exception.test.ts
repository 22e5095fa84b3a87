import assert from 'node:assert/strict';
import { ExceptionFilter } from '../../../../nodes/plc-read/report-by-exception';
import type { TagSample } from '../../../../contracts/messages.schema';

const s = (tag: string, value: TagSample['value'], quality: TagSample['quality'] = 'good', reason?: string): TagSample => ({ device: 'd', tag, value, quality, ts: 0, ...(reason ? { reason } : {}) });

describe('plc-read report-by-exception', () => {
  it('passes first values, then only moves of at least the deadband', () => {
    const f = new ExceptionFilter((t) => (t === 'speed' ? 0.5 : 0));
    assert.equal(f.filter([s('speed', 10), s('count', 1)]).length, 2);
    assert.deepEqual(f.filter([s('speed', 10.4), s('count', 1)]), []);
    assert.deepEqual(f.filter([s('speed', 10.6), s('count', 2)]).map((x) => x.tag), ['speed', 'count']);
    // Compared with the last value reported, not the last value seen: slow drift still gets reported.
    assert.deepEqual(f.filter([s('speed', 10.9)]), []);
    assert.deepEqual(f.filter([s('speed', 11.1)]).map((x) => x.value), [11.1]);
  });
  it('always reports a change of quality and a new failure reason; strings and booleans on any change', () => {
    const f = new ExceptionFilter(() => 100);
    f.filter([s('a', 1), s('b', true), s('c', 'x')]);
    assert.deepEqual(f.filter([s('a', null, 'bad', 'timeout')]).length, 1);
    assert.deepEqual(f.filter([s('a', null, 'bad', 'timeout')]).length, 0);
    assert.deepEqual(f.filter([s('a', null, 'bad', 'closed')]).length, 1);
    assert.deepEqual(f.filter([s('a', 1)]).length, 1);
    assert.deepEqual(f.filter([s('b', false), s('c', 'y'), s('c', 'y')]).map((x) => x.tag), ['b', 'c']);
  });
});
