import assert from 'node:assert/strict';
import { READ_ONLY_RECEIVERS, SharedSends, allReadOnly } from '../../../../nodes/kit/shared-messages';

// The hooks registry as Node-RED's onSend sees it: one call per node.send with its send events.
function fakeHooks() {
  const fns = new Map<string, (events: Array<{ msg: object; cloneMessage?: boolean }>) => void>();
  return {
    add: (name: string, fn: (events: Array<{ msg: object; cloneMessage?: boolean }>) => void) => void fns.set(name, fn),
    remove: (name: string) => void fns.delete(name),
    send(events: Array<{ msg: object; cloneMessage?: boolean }>) {
      for (const fn of fns.values()) fn(events);
      return events;
    },
    get size() {
      return fns.size;
    },
  };
}

describe('kit shared-messages', () => {
  it('shares only when every receiver is known to only read', () => {
    assert.ok(READ_ONLY_RECEIVERS.has('timescale-sink') && READ_ONLY_RECEIVERS.has('cloud-bridge'));
    assert.equal(allReadOnly(['timescale-sink', 'cloud-bridge']), true);
    assert.equal(allReadOnly(['timescale-sink', 'function']), false);
    assert.equal(allReadOnly(['timescale-sink', undefined]), false, 'a receiver not found is not known to only read');
    assert.equal(allReadOnly([]), false);
  });

  it('clears the clone flag of a marked message only, once', () => {
    const hooks = fakeHooks();
    const shared = new SharedSends(hooks, 'in-1');
    const marked = { payload: 1 };
    shared.mark(marked);
    const events = hooks.send([{ msg: marked, cloneMessage: false }, { msg: marked, cloneMessage: true }]);
    assert.deepEqual(events.map((e) => e.cloneMessage), [false, false]);
    const again = hooks.send([{ msg: marked, cloneMessage: false }, { msg: marked, cloneMessage: true }]);
    assert.deepEqual(again.map((e) => e.cloneMessage), [false, true], 'a mark holds for one send');
    const other = { payload: 2 };
    assert.deepEqual(hooks.send([{ msg: other, cloneMessage: false }, { msg: other, cloneMessage: true }]).map((e) => e.cloneMessage), [false, true]);
    shared.close();
    assert.equal(hooks.size, 0);
  });

  it('without hooks (the test helper) nothing is shared', () => {
    const shared = new SharedSends(undefined, 'in-2');
    assert.equal(shared.available, false);
    shared.mark({});
    shared.close();
  });
});
