import assert from 'node:assert/strict';
import { CrashLoopDetector } from '../../../../runtime/agent/supervisor';
import { decodeContextValue } from '../../../../runtime/agent/runtime-admin';
import { desiredProblems } from '../../../../runtime/agent/desired-source';
import { healthLogger, type ChildLogMessage } from '../../../../runtime/agent/child-ipc';

describe('agent supervisor pieces', () => {
  it('a crash loop is N exits within T, counted in a sliding window', () => {
    let now = 0;
    const d = new CrashLoopDetector(3, 10_000, () => now);
    assert.equal(d.recordExit(), false);
    now = 4000;
    assert.equal(d.recordExit(), false);
    now = 11_000; // the first exit has left the window
    assert.equal(d.recordExit(), false);
    assert.equal(d.recent, 2);
    now = 12_000;
    assert.equal(d.recordExit(), true);
    d.reset();
    assert.equal(d.recent, 0);
  });

  it('decodes the admin API context encoding', () => {
    assert.equal(decodeContextValue({ msg: '3', format: 'number' }), 3);
    assert.equal(decodeContextValue({ msg: 'false', format: 'boolean' }), false);
    assert.equal(decodeContextValue({ msg: 'RUN', format: 'string[3]' }), 'RUN');
    assert.equal(decodeContextValue({ msg: '(undefined)', format: 'undefined' }), undefined);
    assert.deepEqual(decodeContextValue({ msg: '{"a":1}', format: 'Object' }), { a: 1 });
  });

  it('checks a desired state before using it', () => {
    assert.deepEqual(desiredProblems({ deviceId: 'd1', deploymentId: null, version: null, parameters: {}, generation: 0 }, 'd1'), []);
    assert.match(desiredProblems({ deviceId: 'd2', version: null, parameters: {} }, 'd1')[0], /deviceId is "d2", this device is d1/);
    const p = desiredProblems({ deviceId: 'd1', version: { template: 't', version: '1', sha256: 'zz', signature: 's' }, parameters: {} }, 'd1');
    assert.ok(p.includes('version.href must be a non-empty string'));
    assert.ok(p.includes('version.sha256 must be 64 hex digits'));
  });

  it('the health logger forwards node errors with the node named, and nothing below error', () => {
    const sent: ChildLogMessage[] = [];
    const handler = (healthLogger((m) => sent.push(m)).handler as () => (e: unknown) => void)();
    handler({ level: 20, msg: new Error('boom'), type: 'function', id: 'n1', name: 'calc' });
    handler({ level: 30, msg: 'just a warning', type: 'inject', id: 'n2' });
    handler({ level: 10, msg: 'fatal thing' });
    assert.equal(sent.length, 2);
    assert.deepEqual({ ...sent[0], ts: 0 }, { type: 'linesight-log', level: 'error', text: 'boom', nodeId: 'n1', nodeType: 'function', nodeName: 'calc', ts: 0 });
    assert.equal(sent[1].level, 'fatal');
  });
});
