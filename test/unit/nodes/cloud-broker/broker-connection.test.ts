import assert from 'node:assert/strict';
import { describeConnectError } from '../../../../nodes/cloud-broker/broker-connection';
import { filterProblem, topicMatches } from '../../../../nodes/cloud-broker/topic-filter';
import { parseFilters, topicReader } from '../../../../nodes/cloud-bridge-in/filters';

const e = (message: string, code?: string | number) => Object.assign(new Error(message), { code });

describe('cloud-broker connection helpers', () => {
  const cases: Array<[Error, RegExp, string]> = [
    [e('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED'), /refused the connection/, 'unreachable'],
    [e('getaddrinfo ENOTFOUND nohost', 'ENOTFOUND'), /host mqtt:\/\/h:1 not found/, 'unreachable'],
    [e('Connection refused: Bad username or password', 4), /bad username or password/, 'auth'],
    [e('Connection refused: Not authorized', 0x87), /not authorized/, 'auth'],
    [e('self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT'), /TLS: the certificate of mqtt:\/\/h:1 was rejected \(self-signed certificate\)/, 'tls'],
    [e('unable to verify the first certificate', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'), /TLS/, 'tls'],
    [e('Connection refused: Unacceptable protocol version', 1), /does not speak this MQTT version/, 'protocol'],
  ];
  for (const [err, re, cause] of cases) {
    it(`describes ${err.message} as ${cause}`, () => {
      const d = describeConnectError(err, 'mqtt://user:secret@h:1');
      assert.match(d.reason, re);
      assert.equal(d.cause, cause);
      assert.ok(!d.reason.includes('secret'), 'never shows the password in the URL');
    });
  }

  const matches: Array<[string, string, boolean]> = [
    ['a/+/c', 'a/b/c', true],
    ['a/#', 'a', true],
    ['a/#', 'a/b/c', true],
    ['a/+', 'a/b/c', false],
    ['+/b', '$SYS/b', false],
    ['$share/g/a/+', 'a/x', true],
    ['a/b', 'a/b/c', false],
  ];
  for (const [f, t, want] of matches) it(`${f} ${want ? 'matches' : 'does not match'} ${t}`, () => assert.equal(topicMatches(f, t), want));

  it('checks filters and applies the share group', () => {
    assert.equal(filterProblem('a/#/b'), 'uses # other than as the whole last level');
    assert.equal(filterProblem('a/b+'), 'uses + other than as a whole level');
    assert.deepEqual(parseFilters('a/+/c, d/#\n', 'workers'), ['$share/workers/a/+/c', '$share/workers/d/#']);
    assert.throws(() => parseFilters(' , '), /give at least one topic filter/);
    assert.throws(() => parseFilters('a/#/b'), /filter "a\/#\/b" uses #/);
  });

  it('reads site and line back from a topic with the sender template', () => {
    const read = topicReader('linesight/{site}/{line}/{kind}');
    assert.deepEqual(read('linesight/p1/l2/tags'), { site: 'p1', line: 'l2', kind: 'tags' });
    assert.equal(read('other/p1/l2/tags'), undefined);
    assert.equal(read('linesight/p1/tags'), undefined);
  });
});
