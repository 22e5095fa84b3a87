import assert from 'node:assert/strict';
import { validateConfig } from '../../../../nodes/kit/node-kit';
import { Backoff } from '../../../../lib/backoff';

describe('node kit', () => {
  describe('validateConfig', () => {
    it('applies schema defaults and drops Node-RED bookkeeping fields', () => {
      const c = validateConfig<{ contract: string; name?: string }>('ContractCheckConfig', { id: 'n1', type: 'contract-check', z: 'f', wires: [[]], name: 'x', contract: '' }, 'contract-check "x"');
      assert.deepEqual(c, { name: 'x', contract: 'auto' });
    });
    it('names the node, the field and the reason', () => {
      assert.throws(
        () => validateConfig('ContractCheckConfig', { id: 'n1', contract: 'bogus' }, 'contract-check "n1"'),
        /contract-check "n1" config: contract must be one of "actions", "auto", "inspection", "tags"/,
      );
    });
  });

  describe('Backoff', () => {
    it('grows exponentially up to the bound, with jitter below the base', () => {
      const b = new Backoff({ initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.5, random: () => 1 });
      assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()], [50, 100, 200, 400, 500, 500]);
      b.reset();
      assert.equal(b.next(), 50);
    });
    it('never waits longer than maxMs without jitter', () => {
      const b = new Backoff({ initialMs: 300, maxMs: 1000, jitter: 0, random: () => 0.3 });
      const seq = Array.from({ length: 8 }, () => b.next());
      assert.deepEqual(seq, [300, 600, 1000, 1000, 1000, 1000, 1000, 1000]);
      assert.equal(b.attempts, 8);
    });
  });
});
