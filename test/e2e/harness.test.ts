// The e2e harness itself (no browser): teardown runs last-started first, every step even after one
// fails, and what a test starts is gone before the next test while what `before` starts lasts the suite.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Teardown, useE2E } from './support/harness';

describe('e2e harness: teardown', () => {
  it('runs the steps in reverse order of registration', async () => {
    const ran: string[] = [];
    const t = new Teardown();
    for (const what of ['repository', 'runtime', 'browser']) t.add(what, async () => void ran.push(what));
    await t.run();
    assert.deepEqual(ran, ['browser', 'runtime', 'repository']);
    assert.equal(t.size, 0);
  });

  it('runs every step when one fails, and then fails naming the step and its error', async () => {
    const ran: string[] = [];
    const t = new Teardown();
    t.add('remove the folder', () => ran.push('folder'));
    t.add('stop the runtime', () => {
      throw new Error('EPERM');
    });
    t.add('close the browser', async () => void ran.push('browser'));
    await assert.rejects(t.run(), /teardown failed: stop the runtime: EPERM/);
    assert.deepEqual(ran, ['browser', 'folder']);
  });

  it('tears down what a set-up that failed half-way had started', async () => {
    const ran: string[] = [];
    const t = new Teardown();
    const setUp = async () => {
      t.add('stop pymodbus', () => ran.push('pymodbus'));
      t.add('close the repository', () => ran.push('repository'));
      throw new Error('runtime did not start within 30000 ms');
    };
    await assert.rejects(setUp(), /did not start/);
    await t.run();
    assert.deepEqual(ran, ['repository', 'pymodbus']);
  });
});

const lifecycle: string[] = [];
let suiteDir = '';
let testDir = '';

describe('e2e harness: per-test and per-suite teardown', () => {
  const e2e = useE2E({ browser: false });

  before(() => {
    suiteDir = e2e.dir('linesight-harness-suite-');
    e2e.defer('suite step 1', () => lifecycle.push('suite 1'));
    e2e.defer('suite step 2', () => lifecycle.push('suite 2'));
  });

  it('registers what the test starts', () => {
    testDir = e2e.dir('linesight-harness-test-');
    e2e.defer('test step 1', () => lifecycle.push('test 1'));
    e2e.defer('test step 2', () => lifecycle.push('test 2'));
    assert.ok(fs.existsSync(testDir));
  });

  it('has torn down the previous test in reverse order, and not yet the suite', () => {
    assert.deepEqual(lifecycle, ['test 2', 'test 1']);
    assert.equal(fs.existsSync(testDir), false, 'the test folder is removed after its test');
    assert.ok(fs.existsSync(suiteDir), 'the suite folder lives until the suite ends');
  });
});

describe('e2e harness: after the suite', () => {
  it('has torn down what the suite\'s before hook started, in reverse order', () => {
    assert.deepEqual(lifecycle, ['test 2', 'test 1', 'suite 2', 'suite 1']);
    assert.equal(fs.existsSync(suiteDir), false);
  });
});
