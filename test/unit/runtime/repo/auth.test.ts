// The pure parts of people and roles: role order, audit actor names, cookies, CSRF tokens and the bcrypt cost.
import assert from 'node:assert/strict';
import { actorText, bcryptCost, cookieValue, csrfTokenOf, lowerRole, roleAtLeast, sameSecret, sessionCookie, type AuditActor } from '../../../../runtime/repo/auth';

describe('repo auth helpers', () => {
  it('orders roles viewer < deployer < admin', () => {
    const table: [Parameters<typeof roleAtLeast>[0], Parameters<typeof roleAtLeast>[1], boolean][] = [
      ['viewer', 'viewer', true], ['viewer', 'deployer', false], ['viewer', 'admin', false],
      ['deployer', 'viewer', true], ['deployer', 'deployer', true], ['deployer', 'admin', false],
      ['admin', 'viewer', true], ['admin', 'deployer', true], ['admin', 'admin', true],
    ];
    for (const [have, need, ok] of table) assert.equal(roleAtLeast(have, need), ok, `${have} >= ${need}`);
    assert.equal(lowerRole('admin', 'viewer'), 'viewer');
    assert.equal(lowerRole('deployer', 'admin'), 'deployer');
  });

  it('names every kind of actor the way the audit log shows it', () => {
    const table: [AuditActor, string][] = [
      [{ kind: 'user', name: 'ana', role: 'admin', via: 'session' }, 'user:ana'],
      [{ kind: 'user', name: 'ana', role: 'viewer', via: 'token', tokenId: 't1', tokenName: 'laptop', owner: { user: 'ana' } }, 'token:laptop(user:ana)'],
      [{ kind: 'user', name: 'release', role: 'deployer', via: 'token', tokenId: 't2', tokenName: 'ci', owner: { pipeline: 'release' } }, 'token:ci(pipeline:release)'],
      [{ kind: 'device', deviceId: 'line-a' }, 'device:line-a'],
      [{ kind: 'system', name: 'bootstrap' }, 'system:bootstrap'],
      [{ kind: 'client', address: '10.0.0.7' }, 'client:10.0.0.7'],
    ];
    for (const [actor, text] of table) assert.equal(actorText(actor), text);
  });

  it('reads one cookie from a Cookie header and writes the session cookie with its attributes', () => {
    assert.equal(cookieValue('a=1; ls_session=abc; b=2', 'ls_session'), 'abc');
    assert.equal(cookieValue('xls_session=abc', 'ls_session'), undefined);
    assert.equal(cookieValue(undefined, 'ls_session'), undefined);
    assert.equal(sessionCookie('v', 3600, false), 'ls_session=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600');
    assert.equal(sessionCookie('', 0, true), 'ls_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure');
  });

  it('derives a CSRF token per session and compares secrets of any length', () => {
    assert.equal(csrfTokenOf('s1'), csrfTokenOf('s1'));
    assert.notEqual(csrfTokenOf('s1'), csrfTokenOf('s2'));
    assert.ok(sameSecret(csrfTokenOf('s1'), csrfTokenOf('s1')));
    assert.ok(!sameSecret(csrfTokenOf('s1'), csrfTokenOf('s2')));
    assert.ok(!sameSecret('', csrfTokenOf('s1')));
  });

  it('uses bcrypt cost 10 unless the test variable lowers it (4..9), never raises or breaks it', () => {
    for (const [value, cost] of [[undefined, 10], ['4', 4], ['9', 9], ['3', 10], ['12', 10], ['x', 10], ['', 10]] as const) {
      assert.equal(bcryptCost(value === undefined ? {} : { LINESIGHT_TEST_BCRYPT_COST: value }), cost, String(value));
    }
  });
});
