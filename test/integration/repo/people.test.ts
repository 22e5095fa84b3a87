// People and roles against a real database: every route of the OpenAPI document walked with a viewer, a
// deployer, an admin and a device; login and logout; CSRF and Origin refusals; session idle and absolute
// expiry on an injected clock; disabled users; failed-login limits; the last enabled admin; the token role
// ceiling; and the names the audit log gives each actor.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { API_ROOT } from '../../../contracts/fleet/protocol';
import { ManualClock } from '../../../lib/clock';
import { RepoClient } from '../../../runtime/repo/client';
import { createRepoServer } from '../../../runtime/repo/server';
import { LOGIN_LIMITS } from '../../../runtime/repo/store/sessions';
import { lineFlow, lineTemplate } from '../../fixtures/repo/templates';
import { login, refused, startHarness, type BrowserSession, type Harness } from './harness';

type Op = { security?: Record<string, unknown>[]; 'x-linesight-role'?: string };
type OpenApi = { paths: Record<string, Record<string, Op>> };

const HOUR = 3600_000;

describe('repo: people, roles and sessions', function () {
  this.timeout(120_000);
  const clock = new ManualClock(Date.now());
  let h: Harness;
  let adminPassword: string;
  let deploymentId: string;
  let deviceToken: string;
  let admin: BrowserSession;

  before(async () => {
    h = await startHarness({ now: () => clock.now() });
    adminPassword = fs.readFileSync(`${h.dataDir}/admin-password`, 'utf8').trim();
    assert.equal(h.repo.adminPassword, adminPassword);
    await h.admin.createTemplate(lineTemplate);
    await h.admin.publishVersion('line-inspection', { version: '1.0.0', flow: lineFlow('v1') });
    deviceToken = (await h.admin.registerDevice({ id: 'line-a', tier: 'line', parameters: { LINE_ID: 'A' } })).token;
    await h.admin.registerDevice({ id: 'line-b', tier: 'line', parameters: { LINE_ID: 'B' } });
    deploymentId = (await h.admin.createDeployment({ template: 'line-inspection', version: '1.0.0', target: { ids: ['line-a'] } })).id;
    await h.admin.createUser({ name: 'vera', role: 'viewer', password: 'vera-password' });
    await h.admin.createUser({ name: 'dan', role: 'deployer', password: 'dan-password' });
  });
  // A fresh admin session for each test: the expiry test moves the clock by days.
  beforeEach(async () => {
    admin = await login(h.repo.url, 'admin', adminPassword);
  });
  after(async () => {
    await h?.close();
  });

  const api = (route: string) => `${API_ROOT}${route}`;
  const bearer = (method: string, route: string, token: string, body?: unknown) =>
    fetch(`${h.repo.url}${route}`, { method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, body: body === undefined ? undefined : JSON.stringify(body) });
  const errorOf = async (res: Response) => ((await res.json()) as { error: string }).error;

  describe('roles on every route of the OpenAPI document', () => {
    it('a viewer (session), a deployer (token), an admin (session and token) and a device: allowed, or 403 naming the role', async () => {
      const vera = await login(h.repo.url, 'vera', 'vera-password');
      const danToken = (await h.admin.createToken({ name: 'dan-cli', role: 'deployer', owner: { user: 'dan' } })).token;
      const doc = (await h.anon().openApi()) as OpenApi;
      type Caller = { who: string; role: 'viewer' | 'deployer' | 'admin' | 'device'; send: (method: string, route: string, body?: unknown) => Promise<Response>; session: boolean };
      const callers: Caller[] = [
        { who: 'viewer vera (session)', role: 'viewer', session: true, send: (m, r, b) => vera.request(m, r, { body: b }) },
        { who: 'deployer dan (token)', role: 'deployer', session: false, send: (m, r, b) => bearer(m, r, danToken, b) },
        { who: 'admin (session)', role: 'admin', session: true, send: (m, r, b) => admin.request(m, r, { body: b }) },
        { who: 'admin (token)', role: 'admin', session: false, send: (m, r, b) => bearer(m, r, h.repo.adminToken!, b) },
        { who: 'device line-a', role: 'device', session: false, send: (m, r, b) => bearer(m, r, deviceToken, b) },
      ];
      const rank = { viewer: 0, deployer: 1, admin: 2 } as Record<string, number>;
      const table: string[] = [];
      let walked = 0;
      for (const [path, ops] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(ops)) {
          const M = method.toUpperCase();
          if (!op.security?.length) continue; // public
          if (M === 'DELETE' && path === api('/session')) continue; // logging out: its own test below
          walked++;
          const needs = op['x-linesight-role'];
          const schemes = JSON.stringify(op.security);
          const row: string[] = [];
          for (const c of callers) {
            // A device may name only itself; people's requests use the other device, so rotating its token harms no one.
            const deviceId = c.role === 'device' ? 'line-a' : 'line-b';
            const route = path
              .replace('{slug}', 'line-inspection')
              .replace('{version}', '1.0.0')
              .replace('{tokenId}', 'no-such-token')
              .replace('{name}', 'vera')
              .replace('{id}', path.startsWith(api('/deployments')) ? deploymentId : deviceId);
            const res = await c.send(M, route, M === 'GET' ? undefined : {});
            const status = res.status;
            if (res.headers.get('content-type')?.includes('text/event-stream')) await res.body?.cancel();
            row.push(`${c.role}:${status}`);
            const where = `${M} ${path} as ${c.who}`;
            if (c.role === 'device') {
              // The message reads the body only on failure: an allowed event stream (the log tail) never ends.
              if (schemes.includes('deviceToken')) assert.ok(status !== 401 && status !== 403, status === 401 || status === 403 ? `${where}: ${status} ${await errorOf(res)}` : where);
              else {
                assert.equal(status, 403, where);
                assert.match(await errorOf(res), /needs role (viewer|deployer|admin)/, where);
              }
            } else if (!schemes.includes('bearerToken') && schemes.includes('deviceToken')) {
              // The device's own routes (its status report): no person.
              assert.equal(status, 403, where);
              assert.match(await errorOf(res), /for the device itself/, where);
            } else if (!needs) {
              // Session-only routes (GET /session): a browser yes, a token no.
              assert.equal(status, c.session ? 200 : 401, where);
            } else if (rank[c.role]! >= rank[needs]!) {
              const allowed = status < 400 || [404, 409, 422].includes(status);
              assert.ok(allowed, allowed ? where : `${where}: ${status} ${await errorOf(res)}`);
            } else {
              assert.equal(status, 403, where);
              assert.match(await errorOf(res), new RegExp(`needs role ${needs}; .* has ${c.role}`), where);
            }
          }
          table.push(`${M.padEnd(6)} ${path.padEnd(44)} ${(needs ?? (schemes.includes('bearerToken') ? '?' : schemes.includes('deviceToken') ? 'device' : 'session')).padEnd(8)} ${row.join('  ')}`);
        }
      }
      console.log(`      [roles] ${walked} operations:\n${table.map((l) => `        ${l}`).join('\n')}`);
      assert.ok(walked >= 28, `only ${walked} operations walked`);
    });

    it('a token never acts above its owner\'s current role, and stops when the owner is disabled', async () => {
      const t = await h.admin.createToken({ name: 'dan-deploy', role: 'deployer', owner: { user: 'dan' } });
      const asDan = new RepoClient({ url: h.repo.url, token: t.token });
      await asDan.pauseDeployment(deploymentId).catch((e) => assert.notEqual(e.status, 403));
      await h.admin.updateUser('dan', { role: 'viewer' });
      assert.match((await refused(asDan.pauseDeployment(deploymentId), 403)).message, /needs role deployer; the token dan-deploy has viewer/);
      assert.equal((await asDan.listDevices()).length, 2);
      await h.admin.updateUser('dan', { disabled: true });
      await refused(asDan.listDevices(), 401);
      await h.admin.updateUser('dan', { disabled: false, role: 'deployer' });
      assert.equal((await asDan.listDevices()).length, 2);
    });
  });

  describe('login and logout', () => {
    it('login sets an HttpOnly, SameSite=Strict cookie and answers the user, CSRF token and expiry; logout ends it', async () => {
      const s = await login(h.repo.url, 'vera', 'vera-password');
      assert.match(s.setCookie, /^ls_session=[A-Za-z0-9_-]{40,}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=604800$/);
      assert.doesNotMatch(s.setCookie, /Secure/, 'plain HTTP without --secure-cookies');
      assert.deepEqual(s.user, { name: 'vera', role: 'viewer' });
      assert.equal(s.expiresAt, new Date(clock.now() + 8 * HOUR).toISOString());
      const me = await s.request('GET', api('/session'));
      assert.equal(me.status, 200);
      assert.deepEqual(await me.json(), { user: s.user, csrfToken: s.csrfToken, expiresAt: s.expiresAt });
      assert.equal((await s.request('GET', api('/devices'))).status, 200);
      // The cookie is stored only as a hash.
      const stored = await h.repo.db.query(`select id_hash from ${h.repo.db.s}.sessions`);
      assert.ok(stored.rows.every((r) => !s.cookie.includes(r.id_hash)));
      assert.equal((await s.request('DELETE', api('/session'), { csrf: false })).status, 403, 'logging out needs the CSRF token too');
      assert.equal((await bearer('DELETE', api('/session'), h.repo.adminToken!)).status, 401, 'a token has no session to end');
      const out = await s.request('DELETE', api('/session'));
      assert.equal(out.status, 204);
      assert.match(out.headers.get('set-cookie') ?? '', /^ls_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0/);
      assert.equal((await s.request('GET', api('/session'))).status, 401);
      assert.equal((await s.request('GET', api('/devices'))).status, 401);
    });

    it('a wrong password and an unknown user get the same 401; GET /session with a token is 401', async () => {
      clock.advance(LOGIN_LIMITS.windowMs); // failures of other tests no longer count
      const wrong = await refusedLogin('vera', 'not-her-password');
      const unknown = await refusedLogin('nobody', 'whatever-password');
      assert.equal(wrong.status, 401);
      assert.deepEqual(wrong.body, unknown.body);
      assert.deepEqual(wrong.body, { error: 'user name or password is wrong' });
      assert.equal((await bearer('GET', api('/session'), h.repo.adminToken!)).status, 401);
    });

    it('the first admin password is in <dataDir>/admin-password (0600), never in the log', () => {
      assert.equal(fs.statSync(`${h.dataDir}/admin-password`).mode & 0o777, 0o600);
    });
  });

  async function refusedLogin(username: string, password: string, headers: Record<string, string> = {}) {
    const res = await fetch(`${h.repo.url}${api('/session')}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ username, password }) });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), setCookie: res.headers.get('set-cookie'), body: (await res.json()) as Record<string, unknown> };
  }

  describe('CSRF and Origin', () => {
    it('a cookie request that changes something needs X-CSRF-Token equal to the session\'s; a foreign Origin is refused', async () => {
      const route = api('/devices/line-b');
      const change = { labels: { csrf: 'checked' } };
      for (const [what, csrf] of [['no header', false], ['a wrong header', 'x'.repeat(43)], ['another session\'s token', (await login(h.repo.url, 'dan', 'dan-password')).csrfToken]] as const) {
        const res = await admin.request('PATCH', route, { body: change, csrf });
        assert.equal(res.status, 403, what);
        assert.match(await errorOf(res), /^CSRF token missing or wrong/, what);
      }
      assert.equal((await h.admin.getDevice('line-b')).labels.csrf, undefined, 'nothing changed');
      const foreign = await admin.request('PATCH', route, { body: change, origin: 'https://evil.example' });
      assert.equal(foreign.status, 403);
      assert.match(await errorOf(foreign), /another origin/);
      assert.equal((await admin.request('GET', route, { origin: 'https://evil.example' })).status, 403, 'also a read from a foreign page');
      assert.equal((await refusedLogin('admin', adminPassword, { origin: 'https://evil.example' })).status, 403, 'and a login from a foreign page');
      // The right token from the repository's own origin; a GET needs none; a bearer request needs none.
      assert.equal((await admin.request('PATCH', route, { body: change, origin: h.repo.url })).status, 200);
      assert.equal((await admin.request('PATCH', route, { body: change, origin: h.repo.url.replace('http:', 'https:') })).status, 200, 'behind a TLS proxy');
      assert.equal((await admin.request('PATCH', route, { body: change, origin: `${h.repo.url}.evil.example` })).status, 403);
      assert.equal((await admin.request('GET', route, { csrf: false })).status, 200);
      assert.equal((await bearer('PATCH', route, h.repo.adminToken!, { labels: { bearer: 'yes' } })).status, 200);
    });
  });

  describe('session expiry (injected clock)', () => {
    it('ends a session unused for the idle time (8 h), and any session at its absolute age (7 d)', async () => {
      const idle = await login(h.repo.url, 'vera', 'vera-password');
      clock.advance(8 * HOUR - 60_000);
      assert.equal((await idle.request('GET', api('/session'))).status, 200, 'used just before the idle time');
      clock.advance(8 * HOUR - 60_000);
      assert.equal((await idle.request('GET', api('/session'))).status, 200, 'each use starts the idle time again');
      clock.advance(8 * HOUR);
      assert.equal((await idle.request('GET', api('/templates'))).status, 401, 'idle 8 h: ended');

      const busy = await login(h.repo.url, 'vera', 'vera-password');
      const loggedInAt = clock.now();
      while (clock.now() + 7 * HOUR < loggedInAt + 7 * 24 * HOUR) {
        clock.advance(7 * HOUR);
        const res = await busy.request('GET', api('/session'));
        assert.equal(res.status, 200);
        const { expiresAt } = (await res.json()) as { expiresAt: string };
        assert.equal(expiresAt, new Date(Math.min(clock.now() + 8 * HOUR, loggedInAt + 7 * 24 * HOUR)).toISOString());
      }
      clock.advanceTo(loggedInAt + 7 * 24 * HOUR);
      assert.equal((await busy.request('GET', api('/session'))).status, 401, 'used every 7 h, still ended after 7 days');
    });
  });

  describe('disabled users', () => {
    it('cannot log in, their sessions end at once, and their tokens stop', async () => {
      await h.admin.createUser({ name: 'temp', role: 'deployer', password: 'temp-password' });
      const s = await login(h.repo.url, 'temp', 'temp-password');
      const t = await new RepoClient({ url: h.repo.url, token: (await h.admin.createToken({ name: 'temp-token', role: 'viewer', owner: { user: 'temp' } })).token });
      await admin.request('PATCH', api('/users/temp'), { body: { disabled: true } }).then((r) => assert.equal(r.status, 200));
      assert.equal((await s.request('GET', api('/session'))).status, 401);
      await refused(t.listTemplates(), 401);
      const again = await refusedLogin('temp', 'temp-password');
      assert.deepEqual([again.status, again.body], [401, { error: 'user name or password is wrong' }]);
      const temp = (await h.admin.listUsers()).find((u) => u.name === 'temp')!;
      assert.deepEqual([temp.disabled, temp.role], [true, 'deployer']);
    });

    it('a new password ends the user\'s sessions; the old password stops working', async () => {
      const s = await login(h.repo.url, 'vera', 'vera-password');
      await h.admin.updateUser('vera', { password: 'vera-password-2' });
      assert.equal((await s.request('GET', api('/session'))).status, 401);
      assert.equal((await refusedLogin('vera', 'vera-password')).status, 401);
      await login(h.repo.url, 'vera', 'vera-password-2');
      await h.admin.updateUser('vera', { password: 'vera-password' });
    });
  });

  describe('failed-login limits', () => {
    it(`${LOGIN_LIMITS.perUser} failures for one user name, or ${LOGIN_LIMITS.perAddress} from one address, in ${LOGIN_LIMITS.windowMs / 60_000} min: 429 with Retry-After`, async () => {
      clock.advance(LOGIN_LIMITS.windowMs);
      for (let i = 0; i < LOGIN_LIMITS.perUser; i++) assert.equal((await refusedLogin('dan', `guess-${i}`)).status, 401, `failure ${i + 1}`);
      clock.advance(60_000);
      const limited = await refusedLogin('dan', 'dan-password');
      assert.equal(limited.status, 429, 'even the right password');
      assert.equal(limited.setCookie, null);
      assert.equal(limited.retryAfter, String(LOGIN_LIMITS.windowMs / 1000 - 60));
      assert.match(String(limited.body.error), /too many failed logins for this user name/);
      // Another user from the same address goes on until the address's own limit.
      await login(h.repo.url, 'vera', 'vera-password');
      for (let i = LOGIN_LIMITS.perUser; i < LOGIN_LIMITS.perAddress; i++) assert.equal((await refusedLogin(`user-${i}`, 'guess-password')).status, 401);
      const byAddress = await refusedLogin('vera', 'vera-password');
      assert.equal(byAddress.status, 429);
      assert.match(String(byAddress.body.error), /from this address/);
      // The window passes: both may log in again.
      clock.advance(LOGIN_LIMITS.windowMs);
      await login(h.repo.url, 'dan', 'dan-password');
      await login(h.repo.url, 'vera', 'vera-password');
    });
  });

  describe('users', () => {
    it('an admin cannot remove the last enabled admin (409), and can once there is another', async () => {
      const last = await admin.request('PATCH', api('/users/admin'), { body: { disabled: true } });
      assert.equal(last.status, 409);
      assert.match(await errorOf(last), /last enabled admin/);
      assert.equal((await refused(h.admin.updateUser('admin', { role: 'deployer' }), 409)).problems[0]!.field, 'role');
      await h.admin.createUser({ name: 'ada', role: 'admin', password: 'ada-password' });
      await h.admin.updateUser('ada', { disabled: true });
      await refused(h.admin.updateUser('admin', { role: 'viewer' }), 409); // a disabled admin does not count
      await h.admin.updateUser('ada', { disabled: false });
      assert.equal((await h.admin.updateUser('ada', { role: 'deployer' })).role, 'deployer');
    });

    it('refuses a bad user naming the field: name taken, short or too long password, unknown role', async () => {
      assert.equal((await refused(h.admin.createUser({ name: 'vera', role: 'viewer', password: 'vera-password' }), 409)).problems[0]!.field, 'name');
      assert.equal((await refused(h.admin.createUser({ name: 'x', role: 'viewer', password: 'short' }), 422)).problems[0]!.field, 'password');
      assert.equal((await refused(h.admin.createUser({ name: 'x', role: 'viewer', password: 'é'.repeat(40) }), 422)).problems[0]!.field, 'password');
      assert.equal((await refused(h.admin.createUser({ name: 'x', role: 'root' as never, password: 'long-enough' }), 422)).problems[0]!.field, 'role');
      await refused(h.admin.updateUser('nobody', { disabled: true }), 404);
      const listed = await h.admin.listUsers();
      assert.ok(!JSON.stringify(listed).includes('$2'), 'no password hash in the list');
      assert.deepEqual(Object.keys(listed[0]!).sort(), ['createdAt', 'disabled', 'lastLoginAt', 'name', 'role', 'updatedAt']);
    });
  });

  describe('tokens', () => {
    it('a token carries at most its creator\'s role and its owner\'s; only an admin makes tokens for others and pipelines', async () => {
      const vera = await login(h.repo.url, 'vera', 'vera-password');
      const higher = await vera.request('POST', api('/tokens'), { body: { name: 'vera-deploy', role: 'deployer' } });
      assert.equal(higher.status, 403);
      assert.match(await errorOf(higher), /higher role than its creator's: you have viewer/);
      const forPipeline = await vera.request('POST', api('/tokens'), { body: { name: 'vera-ci', role: 'viewer', owner: { pipeline: 'ci' } } });
      assert.equal(forPipeline.status, 403);
      assert.match(await errorOf(forPipeline), /needs role admin/);
      const own = await vera.request('POST', api('/tokens'), { body: { name: 'vera-read', role: 'viewer' } });
      assert.equal(own.status, 201);
      const created = (await own.json()) as { id: string; token: string; name: string; role: string; owner: unknown };
      assert.match(created.token, /^lsa_/);
      assert.deepEqual([created.name, created.role, created.owner], ['vera-read', 'viewer', { user: 'vera' }]);
      // Vera sees only her own tokens; the admin sees all.
      const mine = (await (await vera.request('GET', api('/tokens'))).json()) as { name: string }[];
      assert.deepEqual(mine.map((t) => t.name), ['vera-read']);
      assert.ok((await h.admin.listTokens()).some((t) => t.name === 'initial'));
      assert.ok(!JSON.stringify(await h.admin.listTokens()).includes(created.token), 'the list never holds a token');
      // An admin may not give a user's token more than the user's role.
      assert.equal((await refused(h.admin.createToken({ name: 'vera-admin', role: 'admin', owner: { user: 'vera' } }), 422)).problems[0]!.field, 'role');
      assert.equal((await refused(h.admin.createToken({ name: 'ghost', role: 'viewer', owner: { user: 'nobody' } }), 422)).problems[0]!.field, 'owner.user');
      const ci = await h.admin.createToken({ name: 'release-ci', role: 'deployer', owner: { pipeline: 'release' } });
      assert.deepEqual(ci.owner, { pipeline: 'release' });
      const asCi = new RepoClient({ url: h.repo.url, token: ci.token });
      await asCi.createTemplate({ slug: 'from-release', title: 'From the release pipeline', tier: 'line' });
      assert.match((await refused(asCi.listUsers(), 403)).message, /needs role admin; the token release-ci has deployer/);
      // Vera revokes her own token, but not the pipeline's.
      assert.equal((await vera.request('DELETE', api(`/tokens/${ci.id}`))).status, 404);
      assert.equal((await vera.request('DELETE', api(`/tokens/${created.id}`))).status, 204);
      await refused(new RepoClient({ url: h.repo.url, token: created.token }).listTemplates(), 401);
      await h.admin.revokeToken(ci.id);
      await refused(asCi.listTemplates(), 401);
    });
  });

  describe('audit', () => {
    it('names every actor: user:<name>, token:<name>(owner), device:<id>; logins, failures, logouts, user and token changes', async () => {
      assert.equal((await admin.request('POST', api('/users'), { body: { name: 'audra', role: 'viewer', password: 'audra-password' } })).status, 201);
      await h.admin.updateUser('audra', { role: 'deployer' });
      const s = await login(h.repo.url, 'audra', 'audra-password');
      await s.request('PATCH', api('/devices/line-b'), { body: { labels: { by: 'audra' } } });
      const own = (await (await s.request('POST', api('/tokens'), { body: { name: 'audra-read', role: 'viewer' } })).json()) as { id: string };
      await s.request('DELETE', api(`/tokens/${own.id}`));
      await s.request('DELETE', api('/session'));
      await refusedLogin('audra', 'wrong-password');
      const ci = await h.admin.createToken({ name: 'audit-ci', role: 'deployer', owner: { pipeline: 'audit' } });
      await new RepoClient({ url: h.repo.url, token: ci.token }).createTemplate({ slug: 'from-audit-ci', title: 'From a pipeline', tier: 'line' });
      await h.device(deviceToken).reportStatus('line-a', { deviceId: 'line-a', state: 'running', running: 'line-inspection@1.0.0', ts: 2 });
      const entries = await h.admin.audit({ limit: 1000 });
      const has = (actor: string | RegExp, action: string, subject: string) =>
        assert.ok(entries.some((e) => (typeof actor === 'string' ? e.actor === actor : actor.test(e.actor)) && e.action === action && e.subject === subject), `no audit entry ${actor} ${action} ${subject}`);
      has('system:bootstrap', 'user.create', 'admin');
      has('system:bootstrap', 'token.create', 'initial');
      has('user:admin', 'user.create', 'audra');
      has('token:initial(user:admin)', 'user.update', 'audra');
      has('user:audra', 'session.login', 'audra');
      has('user:audra', 'device.update', 'line-b');
      has('user:audra', 'token.create', 'audra-read');
      has('user:audra', 'token.revoke', 'audra-read');
      has('user:audra', 'session.logout', 'audra');
      has(/^client:/, 'session.login-failed', 'audra');
      has('token:initial(user:admin)', 'token.create', 'audit-ci');
      has('token:audit-ci(pipeline:audit)', 'template.create', 'from-audit-ci');
      has('device:line-a', 'device.status', 'line-a');
      const update = entries.find((e) => e.action === 'user.update' && e.subject === 'audra')!;
      assert.deepEqual(update.detail, { role: { from: 'viewer', to: 'deployer' } });
      const failed = entries.find((e) => e.action === 'session.login-failed' && e.subject === 'audra')!;
      assert.deepEqual(failed.detail, { reason: 'wrong password' });
      assert.ok(!entries.some((e) => /-password/.test(JSON.stringify(e))), 'no password, tried or real, in the audit log');
    });
  });
});

describe('repo: people on embedded PGlite', function () {
  this.timeout(120_000);

  it('the first admin logs in with LINESIGHT_ADMIN_PASSWORD, creates a viewer, who can read but not deploy', async () => {
    const dataDir = fs.mkdtempSync(`${os.tmpdir()}/linesight-people-pglite-`);
    const log: string[] = [];
    const before = process.env.LINESIGHT_ADMIN_PASSWORD;
    process.env.LINESIGHT_ADMIN_PASSWORD = 'demo-admin-password';
    const repo = await createRepoServer({ dataDir, log: (l) => log.push(l) }).finally(() => {
      if (before === undefined) delete process.env.LINESIGHT_ADMIN_PASSWORD;
      else process.env.LINESIGHT_ADMIN_PASSWORD = before;
    });
    try {
      assert.ok(log.some((l) => /database: embedded PGlite/.test(l)), log.join('\n'));
      assert.ok(!fs.existsSync(`${dataDir}/admin-password`), 'a given password is not written down');
      assert.ok(!log.join('\n').includes('demo-admin-password'), 'nor logged');
      const admin = await login(repo.url, 'admin', 'demo-admin-password');
      assert.equal((await admin.request('POST', `${API_ROOT}/users`, { body: { name: 'vic', role: 'viewer', password: 'vic-password' } })).status, 201);
      const vic = await login(repo.url, 'vic', 'vic-password');
      assert.equal((await vic.request('GET', `${API_ROOT}/devices`)).status, 200);
      const deploy = await vic.request('POST', `${API_ROOT}/deployments`, { body: { template: 'x', version: '1.0.0', target: { tier: 'line' } } });
      assert.equal(deploy.status, 403);
      assert.match(((await deploy.json()) as { error: string }).error, /needs role deployer; vic has viewer/);
      assert.equal((await vic.request('DELETE', `${API_ROOT}/session`)).status, 204);
      assert.equal((await vic.request('GET', `${API_ROOT}/session`)).status, 401);
    } finally {
      await repo.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
