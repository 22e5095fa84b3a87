// What the runtime child measures for the repository: log entries become lines naming their node (cut
// to the repository's limit), message hooks and error entries become per-node counts, statuses are kept,
// and a sample reports and resets the counts of its interval.
import assert from 'node:assert/strict';
import type { DeviceLogLine } from '../../../../contracts/fleet/protocol';
import { MAX_MESSAGE_LENGTH, RuntimeTelemetry, storableText } from '../../../../runtime/agent/runtime-telemetry';
import { waitFor } from '../../../support/wait';

describe('agent: runtime telemetry (in the runtime child)', () => {
  let sent: DeviceLogLine[];
  let t: RuntimeTelemetry;
  beforeEach(() => {
    sent = [];
    t = new RuntimeTelemetry({ sendLines: (lines) => sent.push(...lines), now: () => 42 });
    t.flowsStarting({ flows: [{ id: 'f1', type: 'function', name: 'check' }, { id: 'p1', type: 'plc-read' }] });
  });
  afterEach(() => t.close());

  it('turns log entries into lines with level and node, named from the flow when the entry does not say', async () => {
    t.logEntry({ level: 30, msg: 'slow', id: 'f1', type: 'function' });
    t.logEntry({ level: 40, msg: { message: 'from another context' } });
    t.logEntry({ level: 99, msg: 'a metric, not a line' });
    t.logEntry({ level: 20, msg: 'x'.repeat(MAX_MESSAGE_LENGTH + 10), id: 'p1' });
    await waitFor('the lines', () => sent.length === 3);
    assert.deepEqual(sent[0], { ts: 42, level: 'warn', msg: 'slow', nodeId: 'f1', nodeType: 'function', nodeName: 'check' });
    assert.deepEqual(sent[1], { ts: 42, level: 'info', msg: 'from another context' });
    assert.equal(sent[2]!.msg.length, MAX_MESSAGE_LENGTH);
    assert.match(sent[2]!.msg, /… \(8202 chars\)$/);
  });

  it('makes text storable: NUL and lone surrogates replaced, a surrogate pair never cut in two', () => {
    assert.equal(storableText('a\u0000b\ud800c', 100), 'a\ufffdb\ufffdc');
    assert.equal(storableText('ab😀', 3), 'ab');
    assert.equal(storableText('abcdef', 5, '…'), 'abcd…');
  });

  it('counts messages in and out and errors per node, keeps red and yellow statuses, and resets the counts each sample', () => {
    t.received({ destination: { id: 'f1' } });
    t.received({ destination: { id: 'f1' } });
    t.sent([{ source: { id: 'f1' } }, { source: { id: 'f1' } }, { source: { id: 'p1' } }]);
    t.logEntry({ level: 20, msg: 'bad', id: 'f1' });
    t.status('p1', { fill: 'red', shape: 'ring', text: 'disconnected' });
    const s = t.sample();
    const byId = Object.fromEntries(s.nodes.map((n) => [n.id, n]));
    assert.deepEqual(byId.f1, { id: 'f1', type: 'function', name: 'check', in: 2, out: 2, errors: 1 });
    assert.deepEqual(byId.p1, { id: 'p1', type: 'plc-read', in: 0, out: 1, errors: 0, status: { fill: 'red', shape: 'ring', text: 'disconnected' } });
    assert.ok(s.rssBytes > 0 && s.heapTotalBytes >= s.heapUsedBytes && s.cpuPercent >= 0 && s.eventLoopP99Ms >= 0);
    const next = t.sample();
    assert.deepEqual(next.nodes, [{ id: 'p1', type: 'plc-read', in: 0, out: 0, errors: 0, status: { fill: 'red', shape: 'ring', text: 'disconnected' } }], 'counts reset; the status stays');
    t.status('p1', { fill: 'green', shape: 'dot', text: 'connected' });
    assert.deepEqual(t.sample().nodes, [], 'a quiet green node is not listed');
    t.received({ destination: { id: 'p1' } });
    assert.deepEqual(t.sample().nodes, [{ id: 'p1', type: 'plc-read', in: 1, out: 0, errors: 0 }], 'an active one is, without its green status');
  });
});
