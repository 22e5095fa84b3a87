import assert from 'node:assert/strict';
import { canTransition, RESTING, reportedState, TRANSITIONS, type AgentStateName } from '../../../../runtime/agent/states';

describe('agent states', () => {
  const all = Object.keys(TRANSITIONS) as AgentStateName[];

  it('the happy path is a chain of allowed transitions', () => {
    const path: AgentStateName[] = ['starting', 'idle', 'downloading', 'verifying', 'waiting', 'deploying', 'health-check', 'running'];
    for (let i = 1; i < path.length; i++) assert.ok(canTransition(path[i - 1], path[i]), `${path[i - 1]} -> ${path[i]}`);
  });

  it('an unhealthy deploy can only end rolled back or failed', () => {
    assert.deepEqual([...TRANSITIONS['rolling-back']].sort(), ['failed', 'rolled-back', 'stopped']);
    assert.ok(canTransition('health-check', 'rolling-back'));
    assert.ok(!canTransition('health-check', 'failed'), 'a failed health check always tries to restore the last good flow first');
  });

  it('nothing interrupts a deploy or its health window except stop', () => {
    for (const s of ['deploying', 'health-check'] as const) {
      assert.ok(!canTransition(s, 'downloading'), `${s} cannot be superseded`);
      assert.ok(canTransition(s, 'stopped'));
    }
  });

  it('a running runtime never jumps straight to deploying', () => {
    for (const s of RESTING) assert.ok(!canTransition(s, 'deploying'), `${s} -> deploying must go through download and verification`);
  });

  it('every state can stop, and stopped is final', () => {
    for (const s of all.filter((x) => x !== 'stopped')) assert.ok(canTransition(s, 'stopped'), s);
    assert.deepEqual(TRANSITIONS.stopped, []);
  });

  it('maps to the fleet protocol states', () => {
    assert.equal(reportedState('rolled-back'), 'rolled back');
    assert.equal(reportedState('health-check'), 'verifying');
    assert.equal(reportedState('idle'), 'pending');
    assert.equal(reportedState('stopped'), 'offline');
    assert.equal(reportedState('rolling-back'), null);
    for (const s of all) assert.notEqual(reportedState(s), undefined, s);
  });
});
