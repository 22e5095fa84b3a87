import assert from 'node:assert/strict';
import { ModelSlot, type SlotModel } from '../../../../nodes/vision-detect/model-slot';

class FakeModel implements SlotModel {
  released = false;
  constructor(readonly label: string) {}
  async release(): Promise<void> {
    this.released = true;
  }
}

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

interface Ref {
  label: string;
}

function slotWith(load: (ref: Ref) => Promise<FakeModel>) {
  const events: string[] = [];
  const slot = new ModelSlot<Ref, FakeModel>(load, {
    onSwap: (now, previous) => events.push(`swap ${previous ?? '-'} -> ${now}`),
    onLoadError: (err, label, keeping) => events.push(`error ${label} (${err.message}) keeping ${keeping ?? '-'}`),
  });
  return { slot, events };
}

describe('vision-detect model-slot', () => {
  it('an inspection waits for the first model, keeps its model through a swap, and the old one is released after it', async () => {
    const models = new Map<string, FakeModel>();
    const gates = new Map<string, ReturnType<typeof deferred<void>>>();
    const { slot, events } = slotWith(async (ref) => {
      await gates.get(ref.label)?.promise;
      const m = new FakeModel(ref.label);
      models.set(ref.label, m);
      return m;
    });
    gates.set('m@1', deferred());
    void slot.swap({ label: 'm@1' });
    const waiting = slot.acquire();
    gates.get('m@1')!.resolve();
    const first = await waiting;
    assert.equal(first.model.label, 'm@1');

    gates.set('m@2', deferred());
    const swapped = slot.swap({ label: 'm@2' });
    // While m@2 loads, new inspections still get m@1.
    const during = await slot.acquire();
    assert.equal(during.model.label, 'm@1');
    gates.get('m@2')!.resolve();
    assert.equal(await swapped, true);
    const after = await slot.acquire();
    assert.equal(after.model.label, 'm@2');
    assert.equal(models.get('m@1')!.released, false, 'two inspections still hold m@1');
    first.release();
    first.release(); // twice is once
    assert.equal(models.get('m@1')!.released, false);
    during.release();
    await Promise.resolve();
    assert.equal(models.get('m@1')!.released, true);
    after.release();
    assert.equal(models.get('m@2')!.released, false, 'the model in use stays');
    assert.deepEqual(events, ['swap - -> m@1', 'swap m@1 -> m@2']);
    await slot.close();
    assert.equal(models.get('m@2')!.released, true);
  });

  it('a model that fails to load leaves the old one in use and says so', async () => {
    const { slot, events } = slotWith(async (ref) => {
      if (ref.label === 'bad@2') throw new Error('corrupt');
      return new FakeModel(ref.label);
    });
    assert.equal(await slot.swap({ label: 'm@1' }), true);
    assert.equal(await slot.swap({ label: 'bad@2' }), false);
    assert.equal(slot.label, 'm@1');
    assert.equal(slot.lastError?.message, 'corrupt');
    const lease = await slot.acquire();
    assert.equal(lease.model.label, 'm@1');
    lease.release();
    assert.deepEqual(events, ['swap - -> m@1', 'error bad@2 (corrupt) keeping m@1']);
  });

  it('without any model an inspection fails with the load error', async () => {
    const { slot } = slotWith(async () => {
      throw new Error('model x@1: wrong input shape');
    });
    const swapping = slot.swap({ label: 'x@1' });
    const waiting = slot.acquire();
    await swapping;
    await assert.rejects(waiting, /wrong input shape/);
    await assert.rejects(slot.acquire(), /wrong input shape/);
  });

  it('a version superseded before its turn is never loaded', async () => {
    const loaded: string[] = [];
    const gate = deferred<void>();
    const { slot } = slotWith(async (ref) => {
      loaded.push(ref.label);
      if (ref.label === 'm@1') await gate.promise;
      return new FakeModel(ref.label);
    });
    const one = slot.swap({ label: 'm@1' });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(loaded, ['m@1'], 'm@1 is loading');
    const two = slot.swap({ label: 'm@2' });
    const three = slot.swap({ label: 'm@3' });
    gate.resolve();
    assert.deepEqual(await Promise.all([one, two, three]), [true, false, true]);
    assert.deepEqual(loaded, ['m@1', 'm@3']);
    assert.equal(slot.label, 'm@3');
  });
});
