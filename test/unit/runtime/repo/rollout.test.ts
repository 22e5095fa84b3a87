import assert from 'node:assert/strict';
import { assignWaves, isOffline, nextStep, targetStateFromReport, type RolloutTarget, type TargetState } from '../../../../runtime/repo/rollout';

const t = (deviceId: string, wave: number, state: TargetState, reasons?: string[]): RolloutTarget => ({ deviceId, wave, state, reasons });

describe('repo rollout state machine', () => {
  it('puts every device in wave 0 for strategy all', () => {
    assert.deepEqual(assignWaves(['b', 'a', 'c'], 'all'), [{ deviceId: 'a', wave: 0 }, { deviceId: 'b', wave: 0 }, { deviceId: 'c', wave: 0 }]);
  });

  it('canary: N first, then waves of the given size, or the rest at once', () => {
    const ids = ['d1', 'd2', 'd3', 'd4', 'd5', 'd6'];
    assert.deepEqual(assignWaves(ids, 'canary', 2, 2).map((x) => x.wave), [0, 0, 1, 1, 2, 2]);
    assert.deepEqual(assignWaves(ids, 'canary', 1, 0).map((x) => x.wave), [0, 1, 1, 1, 1, 1]);
    assert.deepEqual(assignWaves(['x'], 'canary', 5, 0).map((x) => x.wave), [0]);
  });

  const table: { name: string; state: Parameters<typeof nextStep>[0]; targets: RolloutTarget[]; expect: { state: string; activate: string[]; reason?: RegExp } }[] = [
    { name: 'releases wave 0 first', state: 'rolling out', targets: [t('a', 0, 'queued'), t('b', 1, 'queued')], expect: { state: 'rolling out', activate: ['a'] } },
    { name: 'waits while the canary is on its way', state: 'rolling out', targets: [t('a', 0, 'verifying'), t('b', 1, 'queued')], expect: { state: 'rolling out', activate: [] } },
    { name: 'releases the next wave once the canary runs', state: 'rolling out', targets: [t('a', 0, 'running'), t('b', 1, 'queued'), t('c', 2, 'queued')], expect: { state: 'rolling out', activate: ['b'] } },
    { name: 'halts on a failed canary', state: 'rolling out', targets: [t('a', 0, 'failed', ['node error']), t('b', 1, 'queued')], expect: { state: 'halted', activate: [], reason: /canary device a failed: node error/ } },
    { name: 'halts on a device that rolled itself back', state: 'rolling out', targets: [t('a', 0, 'running'), t('b', 1, 'rolled back')], expect: { state: 'halted', activate: [], reason: /device b rolled back/ } },
    { name: 'releases nothing while paused', state: 'paused', targets: [t('a', 0, 'running'), t('b', 1, 'queued')], expect: { state: 'paused', activate: [] } },
    { name: 'completes when every device runs', state: 'rolling out', targets: [t('a', 0, 'running'), t('b', 1, 'running')], expect: { state: 'completed', activate: [] } },
    { name: 'a device taken over by a newer deployment does not block', state: 'rolling out', targets: [t('a', 0, 'superseded'), t('b', 1, 'queued')], expect: { state: 'rolling out', activate: ['b'] } },
    { name: 'a rolled-back deployment stays so', state: 'rolled back', targets: [t('a', 0, 'rolled back')], expect: { state: 'rolled back', activate: [] } },
  ];
  for (const c of table) {
    it(c.name, () => {
      const step = nextStep(c.state, c.targets);
      assert.equal(step.state, c.expect.state);
      assert.deepEqual(step.activate, c.expect.activate);
      if (c.expect.reason) assert.match(step.reason ?? '', c.expect.reason);
    });
  }

  it('maps device reports to the deployment version only', () => {
    assert.equal(targetStateFromReport({ state: 'running', running: 'x@1.0.0' }, 'x@1.0.0'), 'running');
    assert.equal(targetStateFromReport({ state: 'running', running: 'x@0.9.0' }, 'x@1.0.0'), undefined);
    assert.equal(targetStateFromReport({ state: 'failed', running: 'x@0.9.0', target: 'x@1.0.0' }, 'x@1.0.0'), 'failed');
    assert.equal(targetStateFromReport({ state: 'failed', running: null, target: 'y@2.0.0' }, 'x@1.0.0'), undefined);
    assert.equal(targetStateFromReport({ state: 'offline', running: null }, 'x@1.0.0'), undefined);
    assert.equal(targetStateFromReport({ state: 'waiting', running: 'x@0.9.0', target: 'x@1.0.0' }, 'x@1.0.0'), 'waiting');
  });

  it('judges liveness against the poll interval', () => {
    const now = 1_000_000;
    assert.equal(isOffline(null, 30, now, 3), true);
    assert.equal(isOffline(new Date(now - 89_000), 30, now, 3), false);
    assert.equal(isOffline(new Date(now - 91_000), 30, now, 3), true);
  });
});
