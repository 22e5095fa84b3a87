import assert from 'node:assert/strict';
import { CompletionAcks } from '../../../../nodes/cloud-bridge-in/completion-acks';

describe('CompletionAcks: a downlink acknowledges a message once every node wired to it is done', () => {
  const counter = () => {
    const calls: string[] = [];
    return { calls, ack: (name: string) => () => calls.push(name) };
  };

  it('waits for every target, once each; other nodes and repeats do not count', () => {
    const c = counter();
    const acks = new CompletionAcks(['sink', 'up']);
    acks.track('m1', [c.ack('a')]);
    acks.complete('m1', 'sink');
    acks.complete('m1', 'sink');
    acks.complete('m1', 'downstream-of-sink');
    assert.deepEqual(c.calls, []);
    acks.complete('m1', 'up');
    assert.deepEqual(c.calls, ['a']);
    acks.complete('m1', 'up');
    assert.deepEqual(c.calls, ['a'], 'acknowledged once');
    assert.equal(acks.size, 0);
  });

  it('runs every acknowledgement of a joined message (inspection + image) together', () => {
    const c = counter();
    const acks = new CompletionAcks(['sink']);
    acks.track('m1', [c.ack('inspection'), c.ack('image')]);
    acks.complete('m1', 'sink');
    assert.deepEqual(c.calls, ['inspection', 'image']);
  });

  it('with nothing wired acknowledges at once; flush acknowledges what is held', () => {
    const c = counter();
    new CompletionAcks([]).track('m0', [c.ack('unwired')]);
    const acks = new CompletionAcks(['sink']);
    acks.track('m1', [c.ack('held')]);
    acks.track('m2', undefined);
    assert.equal(acks.size, 1);
    acks.flush();
    assert.deepEqual(c.calls, ['unwired', 'held']);
    assert.equal(acks.size, 0);
  });
});
