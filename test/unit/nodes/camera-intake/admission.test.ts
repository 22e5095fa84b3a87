import assert from 'node:assert/strict';
import { Admission } from '../../../../nodes/camera-intake/admission';

describe('camera-intake admission', () => {
  it('refuses beyond max and frees a slot when every wired node completed the message', () => {
    const a = new Admission({ max: 2, completionsNeeded: 2, holdTimeoutMs: 60_000, clock: { now: () => 0 } });
    assert.ok(a.tryAcquire('m1'));
    assert.ok(a.tryAcquire('m2'));
    assert.ok(!a.tryAcquire('m3'));
    a.complete('m1', 'n1');
    a.complete('m1', 'n1'); // the same node twice does not count twice
    assert.ok(!a.tryAcquire('m3'));
    a.complete('m1', 'n2');
    assert.equal(a.waiting, 1);
    assert.ok(a.tryAcquire('m3'));
    a.complete('unknown', 'n1');
    assert.equal(a.waiting, 2);
    assert.equal(a.peak, 2);
  });

  it('takes no slot when nothing needs to complete (release on send)', () => {
    const a = new Admission({ max: 1, completionsNeeded: 0, holdTimeoutMs: 1000 });
    for (let i = 0; i < 10; i++) assert.ok(a.tryAcquire(`m${i}`));
    assert.equal(a.waiting, 0);
  });

  it('frees slots held past the hold timeout, oldest first', () => {
    let t = 0;
    const a = new Admission({ max: 2, completionsNeeded: 1, holdTimeoutMs: 100, clock: { now: () => t } });
    a.tryAcquire('old');
    t = 50;
    a.tryAcquire('newer');
    t = 120;
    assert.ok(a.tryAcquire('m3'), 'the old one expired to make room');
    assert.equal(a.expired, 1);
    assert.ok(!a.tryAcquire('m4'));
    a.complete('newer', 'n');
    assert.ok(a.tryAcquire('m4'));
  });
});
