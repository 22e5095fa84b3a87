import assert from 'node:assert/strict';
import { describeProblem, dueProblems, nextDueInMs, NodeHealthTracker, type NodeProblem } from '../../../../runtime/agent/node-health';

describe('node health: which nodes have problems', () => {
  let now = 1000;
  let sent: NodeProblem[][] = [];
  const tracker = () => {
    sent = [];
    const t = new NodeHealthTracker({ onChange: (p) => sent.push(p), now: () => now });
    t.flowsStarting({
      flows: [
        { id: 'tab1', type: 'tab', label: 'Line' },
        { id: 'cam1', z: 'tab1', type: 'camera-intake', name: 'line camera' },
        { id: 'plc1', type: 'plc-endpoint', name: '' },
        { id: 'fn1', z: 'tab1', type: 'function', name: 'calc' },
      ],
    });
    t.flowsStarted();
    return t;
  };

  it('a red status is a problem, named from the flow config; green ends it', () => {
    now = 1000;
    const t = tracker();
    t.status('cam1', { fill: 'yellow', shape: 'ring', text: 'binding 127.0.0.1:50051' });
    assert.deepEqual(t.snapshot(), [], 'a first "connecting" is not a problem');
    t.status('cam1', { fill: 'red', shape: 'ring', text: 'cannot listen: EADDRINUSE' });
    assert.deepEqual(t.snapshot(), [{ nodeId: 'cam1', nodeType: 'camera-intake', nodeName: 'line camera', kind: 'status', fill: 'red', shape: 'ring', text: 'cannot listen: EADDRINUSE', since: 1000 }]);
    assert.equal(sent.length, 1);
    t.status('cam1', { fill: 'green', shape: 'dot', text: 'listening :50051' });
    assert.deepEqual(t.snapshot(), []);
    assert.equal(sent.length, 2);
  });

  it('a node retrying (yellow) after a failure stays a problem from its first failure', () => {
    now = 1000;
    const t = tracker();
    t.status('cam1', { fill: 'red', shape: 'ring', text: 'cannot listen' });
    now = 2000;
    t.status('cam1', { fill: 'yellow', shape: 'ring', text: 'binding' });
    now = 2010;
    t.status('cam1', { fill: 'red', shape: 'ring', text: 'cannot listen' });
    assert.equal(t.snapshot()[0]!.since, 1000);
    assert.equal(sent.length, 1, 'an unchanged problem is not sent again');
  });

  it('a cleared or grey status ends a status problem; a removed node takes its problem away', () => {
    const t = tracker();
    t.status('fn1', { fill: 'red', shape: 'dot', text: 'bad' });
    t.status('fn1', {});
    assert.deepEqual(t.snapshot(), []);
    t.status('fn1', { fill: 'red', shape: 'dot', text: 'bad' });
    t.status('fn1', { fill: 'grey', shape: 'ring', text: 'idle' });
    assert.deepEqual(t.snapshot(), []);
    t.status('fn1', { fill: 'red', shape: 'dot', text: 'bad' });
    t.status('fn1', undefined);
    assert.deepEqual(t.snapshot(), []);
  });

  it('an error logged while the flows start is a node that failed to start; it lasts until the node works or the flows restart', () => {
    now = 5000;
    const t = new NodeHealthTracker({ onChange: (p) => sent.push(p), now: () => now });
    t.flowsStarting({ flows: [{ id: 'plc1', type: 'plc-endpoint', name: 'line plc' }] });
    t.log({ nodeId: 'plc1', nodeType: 'plc-endpoint', text: 'host is required' });
    t.flowsStarted();
    t.log({ nodeId: 'fn1', nodeType: 'function', text: 'a per-message error, not a start failure' });
    assert.deepEqual(t.snapshot(), [{ nodeId: 'plc1', nodeType: 'plc-endpoint', nodeName: 'line plc', kind: 'start', text: 'host is required', since: 5000 }]);
    t.status('plc1', {});
    assert.equal(t.snapshot().length, 1, 'clearing its status does not make it work');
    t.status('plc1', { fill: 'green', shape: 'dot', text: 'connected' });
    assert.deepEqual(t.snapshot(), []);
  });

  it('a full stop clears every problem and ignores what closing nodes show; a partial deploy clears only the restarted nodes', () => {
    const t = tracker();
    t.status('cam1', { fill: 'red', shape: 'ring', text: 'cannot listen' });
    t.status('fn1', { fill: 'red', shape: 'dot', text: 'bad' });
    t.flowsStopping({ type: 'nodes', diff: { changed: ['cam1'], removed: [], rewired: [], linked: [] } });
    assert.deepEqual(t.snapshot().map((p) => p.nodeId), ['fn1']);
    t.status('cam1', { fill: 'red', shape: 'ring', text: 'closed' });
    assert.deepEqual(t.snapshot().map((p) => p.nodeId), ['fn1'], 'a node being stopped is not a problem of the next flow');
    t.flowsStarting({ flows: [] });
    t.status('cam1', { fill: 'red', shape: 'ring', text: 'cannot listen' });
    assert.deepEqual(t.snapshot().map((p) => p.nodeId).sort(), ['cam1', 'fn1']);
    t.flowsStopping({ type: 'full' });
    assert.deepEqual(t.snapshot(), []);
    assert.deepEqual(sent.at(-1), []);
  });

  it('what counts: problems past the grace period, every one at the end of a window, none older than the deploy', () => {
    const p = (nodeId: string, since: number): NodeProblem => ({ nodeId, kind: 'status', fill: 'red', shape: 'ring', text: 'x', since });
    const problems = [p('old', 100), p('a', 1000), p('b', 2500)];
    assert.deepEqual(dueProblems(problems, 3000, 1000).map((x) => x.nodeId), ['old', 'a']);
    assert.deepEqual(dueProblems(problems, 3000, 1000, { notBefore: 500 }).map((x) => x.nodeId), ['a']);
    assert.deepEqual(dueProblems(problems, 3000, 1000, { final: true, notBefore: 500 }).map((x) => x.nodeId), ['a', 'b']);
    assert.equal(nextDueInMs(problems, 3000, 1000), 500);
    assert.equal(nextDueInMs([p('a', 1000)], 3000, 1000), null);
  });

  it('names the node: type, name, id and what its status says', () => {
    assert.equal(
      describeProblem({ nodeId: 'cam1', nodeType: 'camera-intake', nodeName: 'line camera', kind: 'status', fill: 'red', shape: 'ring', text: 'cannot listen: EADDRINUSE', since: 0 }),
      'camera-intake "line camera" (cam1) status red ring (disconnected): cannot listen: EADDRINUSE',
    );
    assert.equal(describeProblem({ nodeId: 'w1', nodeType: 'plc-write', kind: 'status', fill: 'red', shape: 'dot', text: 'write failed', since: 0 }), 'plc-write (w1) status red dot (failed): write failed');
    assert.equal(describeProblem({ nodeId: 'x', kind: 'start', text: 'boom', since: 0 }), 'node (x) failed to start: boom');
  });

  it('a node the flow config does not list (inside a subflow instance) is named by the live node', () => {
    const t = new NodeHealthTracker({ onChange: () => {}, now: () => 7, lookup: (id) => (id === 'inst1-cam' ? { type: 'camera-intake', name: 'in subflow' } : undefined) });
    t.flowsStarting({ flows: [] });
    t.status('inst1-cam', { fill: 'red', shape: 'dot', text: 'failed' });
    t.status('other', { fill: 'red', shape: 'dot', text: 'failed' });
    assert.deepEqual(t.snapshot().map((p) => [p.nodeId, p.nodeType, p.nodeName]), [['inst1-cam', 'camera-intake', 'in subflow'], ['other', undefined, undefined]]);
  });
});
