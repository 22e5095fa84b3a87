// The repository behind a load balancer: every socket is the balancer's, so without trusting it every
// person shares one address (one failed-login limit for everyone, the balancer's address in the audit
// log). With `trustProxy` the client's address comes from X-Forwarded-For; without it the header is
// ignored (a client cannot choose the address it is counted under).
import assert from 'node:assert/strict';
import { LOGIN_LIMITS } from '../../../runtime/repo/store/sessions';
import { parseTrustProxy } from '../../../runtime/cli/commands/repo';
import { startHarness, type Harness } from './harness';

describe('repo: client addresses behind a proxy (X-Forwarded-For)', function () {
  this.timeout(120_000);
  const harnesses: Harness[] = [];
  after(async () => {
    for (const h of harnesses) await h.close();
  });

  const failLogin = async (h: Harness, forwardedFor: string, user = 'nobody') =>
    fetch(`${h.repo.url}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
      body: JSON.stringify({ username: user, password: 'wrong-password' }),
    });
  const failedActors = async (h: Harness) => {
    const entries = (await h.admin.audit({ limit: 1000 })) as unknown as Array<{ actor: string; action: string }>;
    return entries.filter((e) => e.action === 'session.login-failed').map((e) => e.actor);
  };

  it('ignores X-Forwarded-For unless told to trust the proxy', async () => {
    const h = await startHarness();
    harnesses.push(h);
    assert.equal((await failLogin(h, '203.0.113.7')).status, 401);
    const actors = await failedActors(h);
    assert.equal(actors.length, 1);
    assert.match(actors[0]!, /^client:(::ffff:)?127\.0\.0\.1$/);
  });

  it('with a trusted proxy: the audit names the forwarded client, and the per-address limit counts each client apart', async () => {
    const h = await startHarness({ trustProxy: 'loopback' });
    harnesses.push(h);
    for (let i = 0; i < LOGIN_LIMITS.perAddress; i++) assert.equal((await failLogin(h, '203.0.113.7', `user-${i}`)).status, 401, `failure ${i + 1}`);
    assert.equal((await failLogin(h, '203.0.113.7', 'someone-else')).status, 429, 'that client has reached its limit');
    // Another person behind the same balancer is not locked out by the first one.
    assert.equal((await failLogin(h, '198.51.100.4', 'someone-else')).status, 401);
    // A client that sends its own X-Forwarded-For is counted under what the balancer appended (the last hop).
    assert.equal((await failLogin(h, '203.0.113.7, 198.51.100.9', 'spoofer')).status, 401);
    const actors = await failedActors(h);
    assert.ok(actors.includes('client:203.0.113.7'), JSON.stringify(actors.slice(0, 3)));
    assert.ok(actors.includes('client:198.51.100.4'));
    assert.ok(actors.includes('client:198.51.100.9'));
  });

  it('--trust-proxy takes a hop count or addresses/subnets and refuses anything else', () => {
    assert.equal(parseTrustProxy('1'), 1);
    assert.equal(parseTrustProxy('loopback, 10.0.0.0/8'), 'loopback,10.0.0.0/8');
    assert.throws(() => parseTrustProxy('0'), /hop count/);
    assert.throws(() => parseTrustProxy('everything'), /not a hop count/);
  });
});
