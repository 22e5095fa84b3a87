import assert from 'node:assert/strict';
import { API_ROOT as PROTOCOL_ROOT } from '../../../../../contracts/fleet/protocol';
import { API_ROOT, ApiFailure, ConsoleApi, describeFailure, roleFromRefusal } from '../../../../../runtime/repo/console/api';
import { SseParser } from '../../../../../runtime/repo/console/sse';

describe('console API client', () => {
  it('uses the protocol\'s API root', () => assert.equal(API_ROOT, PROTOCOL_ROOT));

  it('sends the CSRF token on changes with a session, the bearer token with a token, never both', () => {
    const api = new ConsoleApi();
    api.credentials = { kind: 'session', csrfToken: 'c1' };
    assert.equal(api.headers('GET', false)['x-csrf-token'], undefined);
    assert.equal(api.headers('POST', true)['x-csrf-token'], 'c1');
    api.credentials = { kind: 'token', token: 'lsa_x' };
    assert.deepEqual(api.headers('PATCH', true), { accept: 'application/json', 'content-type': 'application/json', authorization: 'Bearer lsa_x' });
  });

  it('keeps the server\'s words: message, fields and reasons, and the wait of a 429', () => {
    assert.equal(describeFailure(new ApiFailure(422, 'request body refused', [{ field: 'SITE', reason: 'must match pattern' }])), 'request body refused: SITE must match pattern');
    assert.equal(describeFailure(new ApiFailure(429, 'too many failed logins', [], 30)), 'too many failed logins — try again in 30 s');
    assert.equal(describeFailure(new ApiFailure(429, 'too many; try again in 30 s', [], 30)), 'too many; try again in 30 s');
  });

  it('reads a token\'s role from the repository\'s refusal', () => {
    assert.deepEqual(roleFromRefusal('this route needs role admin; the token ci-deploy has deployer'), { name: 'ci-deploy', role: 'deployer' });
    assert.equal(roleFromRefusal('this route needs role admin; vic has viewer'), undefined);
  });

  it('parses server-sent events across chunk boundaries', () => {
    const p = new SseParser();
    assert.deepEqual(p.push(': hello\n\nid: 7\nevent: li'), []);
    assert.deepEqual(p.push('ne\ndata: {"seq":7}\r\n\r\nid: 8\nevent: line\ndata: a\ndata: b\n\n'), [
      { event: 'line', id: '7', data: '{"seq":7}' },
      { event: 'line', id: '8', data: 'a\nb' },
    ]);
  });
});
