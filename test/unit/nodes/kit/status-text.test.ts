// Status texts are not cut mid-word and say an address once (#16): the two texts a user saw under a
// plc-read and its endpoint, and the rule every status of the kit goes through.
import assert from 'node:assert/strict';
import { dropRepeatedAddress, shortenAtWord, statusText } from '../../../../nodes/kit/status-text';
import { status } from '../../../../nodes/kit/node-kit';
import { statusFor } from '../../../../nodes/plc-endpoint/connection-state';

describe('node kit: status text', () => {
  it('says the address once: "127.0.0.1:23599: 127.0.0.1:23599: connection refused"', () => {
    assert.equal(dropRepeatedAddress('127.0.0.1:23599: 127.0.0.1:23599: connection refused'), '127.0.0.1:23599: connection refused');
    assert.equal(dropRepeatedAddress('127.0.0.1:23599: connect ECONNREFUSED 127.0.0.1:23599'), '127.0.0.1:23599: connect ECONNREFUSED');
    assert.equal(
      dropRepeatedAddress('not connected to 127.0.0.1:23599: 127.0.0.1:23599: connect ECONNREFUSED 127.0.0.1:23599'),
      'not connected to 127.0.0.1:23599: connect ECONNREFUSED',
    );
    assert.equal(dropRepeatedAddress('opc.tcp://plc.local:4840 unreachable: opc.tcp://plc.local:4840 timed out'), 'opc.tcp://plc.local:4840 unreachable: timed out');
  });

  it('leaves distinct addresses and texts without one alone', () => {
    assert.equal(dropRepeatedAddress('10.0.0.1:502 via 10.0.0.2:502'), '10.0.0.1:502 via 10.0.0.2:502');
    assert.equal(dropRepeatedAddress('3 written, 1 failed'), '3 written, 1 failed');
  });

  it('shortens at a word boundary with an ellipsis, never inside a word', () => {
    assert.equal(shortenAtWord('connect ECONNREFUSED 127.0.0.1:23599 and more words', 30), 'connect ECONNREFUSED…');
    assert.equal(shortenAtWord('short text', 30), 'short text');
    assert.equal(shortenAtWord('one two three', 8), 'one two…');
    // One word longer than the room is the only thing cut inside.
    assert.equal(shortenAtWord('/a/very/long/path/with/no/spaces/in/it', 12), '/a/very/lon…');
  });

  it('the endpoint status: "127.0.0.1:23599: connect ECONNREFUSED, retry in 8.0 s", not "connect ECONNREFUSED 12, ..."', () => {
    const s = statusFor({ phase: 'disconnected', reason: '127.0.0.1:23599: connect ECONNREFUSED 127.0.0.1:23599', retryInMs: 8000 });
    assert.equal(s.text, '127.0.0.1:23599: connect ECONNREFUSED, retry in 8.0 s');
    assert.equal(s.fill, 'red');
  });

  it('the plc-read status: a bad read names the address once and ends on a whole word', () => {
    const s = status.failed('1 bad: not connected to 127.0.0.1:23599: 127.0.0.1:23599: connect ECONNREFUSED 127.0.0.1:23599');
    assert.equal(s.text, '1 bad: not connected to 127.0.0.1:23599: connect ECONNREFUSED');
    const long = status.failed(`1 bad: not connected to 127.0.0.1:23599: ${'word '.repeat(20)}`);
    assert.ok((long.text as string).length <= 64, long.text as string);
    assert.match(long.text as string, / word…$/);
  });

  it('every word of a status text is a word of the original (table)', () => {
    const texts = [
      'database: connect ECONNREFUSED 127.0.0.1:5432 while opening the pool for the sink',
      'cannot listen: listen EADDRINUSE: address already in use 0.0.0.0:50051',
      'tag "alarmLamp": read-back failed: not connected to 192.168.0.10:502',
    ];
    for (const t of texts) {
      const shown = statusText(t, 40);
      assert.ok(shown.length <= 40, shown);
      const words = new Set(t.split(/\s+/));
      for (const w of shown.replace(/…$/, '').split(/\s+/)) assert.ok(words.has(w) || words.has(`${w}:`) || words.has(`${w},`), `"${w}" of "${shown}" is cut from "${t}"`);
    }
  });
});
