import assert from 'node:assert/strict';
import { DEFAULT_INITIAL_HEAP_MIB, INITIAL_HEAP_ENV, RELAUNCHED_ENV, currentInitialHeapMiB, initialHeapMiB, needsRelaunch, runtimeNodeFlags } from '../../../../runtime/tier/node-flags';

describe('runtime node flags', () => {
  it('takes the heap from the command line, then the environment, then the default', () => {
    assert.equal(initialHeapMiB(undefined, {}), DEFAULT_INITIAL_HEAP_MIB);
    assert.equal(initialHeapMiB(undefined, { [INITIAL_HEAP_ENV]: '512' }), 512);
    assert.equal(initialHeapMiB('128', { [INITIAL_HEAP_ENV]: '512' }), 128);
    assert.equal(initialHeapMiB(undefined, { [INITIAL_HEAP_ENV]: '' }), DEFAULT_INITIAL_HEAP_MIB, 'an empty variable counts as unset');
    assert.equal(initialHeapMiB('0', {}), 0);
  });

  it('refuses what is not a whole number of MiB, naming where it came from', () => {
    assert.throws(() => initialHeapMiB('lots', {}), /--initial-heap-mib must be a whole number of MiB from 0 to 65536 .*"lots"/);
    assert.throws(() => initialHeapMiB('1.5', {}), /--initial-heap-mib/);
    assert.throws(() => initialHeapMiB('-1', {}), /--initial-heap-mib/);
    assert.throws(() => initialHeapMiB(undefined, { [INITIAL_HEAP_ENV]: '99999' }), new RegExp(`${INITIAL_HEAP_ENV} must be .*"99999"`));
  });

  it('builds the flag, and 0 means none', () => {
    assert.deepEqual(runtimeNodeFlags(256), ['--initial-heap-size=256']);
    assert.deepEqual(runtimeNodeFlags(0), []);
  });

  it('relaunches only when a flag is missing and this is not already the relaunched process', () => {
    const flags = runtimeNodeFlags(256);
    assert.equal(needsRelaunch(flags, [], {}), true);
    assert.equal(needsRelaunch(flags, ['--expose-gc', '--initial-heap-size=256'], {}), false);
    assert.equal(needsRelaunch(flags, ['--initial-heap-size=64'], {}), true, 'another size is not the one asked for');
    assert.equal(needsRelaunch(flags, [], { [RELAUNCHED_ENV]: '1' }), false, 'never twice');
    assert.equal(needsRelaunch([], [], {}), false);
  });

  it('reads the initial heap a process was started with', () => {
    assert.equal(currentInitialHeapMiB(['--initial-heap-size=256']), 256);
    assert.equal(currentInitialHeapMiB(['--initial_heap_size=64', '--expose-gc']), 64);
    assert.equal(currentInitialHeapMiB(['--expose-gc']), null);
  });
});
