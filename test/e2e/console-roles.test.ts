// Signing in to the fleet console and what each role sees (Chromium, the real repository with people and
// roles): a wrong password shows the server's words, repeated failures show the 429 with its wait; a
// viewer sees no change buttons anywhere and the API refuses the deploy with 403 naming the role; a
// deployer deploys from the console and watches the device reach running.
import assert from 'node:assert/strict';
import { defaultParameters } from '../../contracts/fleet/templates';
import { loadTemplate } from '../../runtime/dev/demo/templates';
import { RepoClient } from '../../runtime/repo/client';
import { goTo, openConsole } from './support/console';
import { useE2E } from './support/harness';

describe('e2e: console sign-in and roles (Chromium, repository)', function () {
  this.timeout(240_000);
  const e2e = useE2E();

  it('refuses a wrong password and a flood of them (429), hides every change from a viewer, lets a deployer deploy', async () => {
    const repo = await e2e.repo(['line-inspection']);
    const admin = repo.client;
    const parameters = defaultParameters(loadTemplate('line-inspection').manifest);
    const { token } = await admin.registerDevice({ id: 'line-7', tier: 'line', labels: { site: 'hq' }, parameters });
    const device = new RepoClient({ url: repo.server.url, token });
    const first = await admin.createDeployment({ template: 'line-inspection', version: '1.0.0', target: { ids: ['line-7'] } });
    await device.reportStatus('line-7', { deviceId: 'line-7', state: 'running', running: 'line-inspection@1.0.0', deploymentId: first.id, ts: Date.now() });
    await admin.createUser({ name: 'dora', role: 'deployer', password: 'dora-password' });

    const browser = await e2e.browser('console-roles');
    const { page } = browser;
    page.on('dialog', (d) => void d.accept());
    await page.goto(`${repo.server.url}/`);
    await page.waitForSelector('#login-form');
    await browser.shot('login');

    // The admin adds the viewer and issues a pipeline token on the Users & tokens page.
    await openConsole(page, repo.server.url, { username: 'admin', password: repo.server.adminPassword! });
    await goTo(page, '#/users', '#user-add');
    await page.fill('#user-name', 'vic');
    await page.selectOption('#user-role', 'viewer');
    await page.fill('#user-password', 'vic-password');
    await page.click('#user-add-submit');
    await page.waitForSelector('#user-list tr[data-user="vic"]');
    await page.fill('#token-name', 'ci-deploy');
    await page.selectOption('#token-role', 'deployer');
    await page.click('#token-add-submit');
    await page.waitForSelector('#token-once code');
    assert.match(await page.locator('#token-once code').innerText(), /^\S{20,}$/);
    await page.waitForSelector('#token-list tr[data-token="ci-deploy"]');
    assert.deepEqual((await admin.listUsers()).map((u) => [u.name, u.role]).sort(), [['admin', 'admin'], ['dora', 'deployer'], ['vic', 'viewer']]);
    await browser.shot('admin-users-and-tokens');
    await page.click('#sign-out');
    await page.waitForSelector('#login-form');
    await page.fill('#login-username', 'vic');
    await page.fill('#login-password', 'not-the-password');
    await page.click('#login-submit');
    await page.waitForSelector('#login-error');
    const wrong = await page.locator('#login-error').innerText();
    assert.doesNotMatch(wrong, /^\s*$/);
    await browser.shot('login-refused');

    // The viewer: sees the fleet, the device and the deployments, changes nothing.
    await page.fill('#login-password', 'vic-password');
    await page.click('#login-submit');
    await page.waitForSelector('.vrow[data-device="line-7"]');
    assert.equal((await page.locator('#who').innerText()).replace(/\s+/g, ' ').trim(), 'vic viewer');
    assert.equal(await page.locator('#nav-users').count(), 0, 'no users page for a viewer');
    await goTo(page, '#/deployments', '#deployment-list tbody tr');
    assert.equal(await page.locator('#new-deployment').count(), 0, 'no "New deployment" for a viewer');
    await goTo(page, `#/deployments/${first.id}`, '#deployment-head');
    assert.equal(await page.locator('#deployment-actions button').count(), 0, 'no pause/cancel/roll back for a viewer');
    await browser.shot('viewer-deployment');
    await goTo(page, '#/devices/line-7', '#parameter-form input[name="LINE"]');
    assert.equal(await page.locator('#parameter-save').count(), 0, 'no save for a viewer');
    assert.equal(await page.locator('#parameter-form input[name="LINE"]').isDisabled(), true);
    await goTo(page, '#/templates/line-inspection', '#version-list');
    assert.equal(await page.locator('#versions a.button').count(), 0, 'no "Deploy…" for a viewer');
    await browser.shot('viewer-device');
    // And the API refuses the viewer's session, naming the role, whatever the page shows.
    const refused = await page.evaluate(async () => {
      const s = (await (await fetch('/api/v1/session')).json()) as { csrfToken: string };
      const res = await fetch('/api/v1/deployments', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrfToken }, body: JSON.stringify({ template: 'line-inspection', version: '1.0.0', target: { ids: ['line-7'] } }) });
      return { status: res.status, body: (await res.json()) as { error: string } };
    });
    assert.equal(refused.status, 403);
    assert.match(refused.body.error, /needs role deployer; vic has viewer/);
    await page.click('#sign-out');
    await page.waitForSelector('#login-form');

    // The deployer deploys from the console and watches the device reach running.
    await openConsole(page, repo.server.url, { username: 'dora', password: 'dora-password' });
    await goTo(page, '#/deployments', '#new-deployment');
    await page.click('#new-deployment');
    await page.selectOption('#deploy-template', 'line-inspection');
    await page.waitForSelector('#deploy-version option[value="1.0.0"]', { state: 'attached' });
    await page.fill('#deploy-labels', 'site=hq');
    await page.click('#deploy-canary');
    await page.fill('#deploy-canary-size', '1');
    await browser.shot('deployer-deploy-form');
    await page.click('#deploy-submit');
    await page.waitForSelector('#deployment-head');
    const depId = decodeURIComponent((await page.evaluate(() => location.hash)).replace('#/deployments/', ''));
    const dep = await admin.getDeployment(depId);
    assert.equal(dep.createdBy, 'dora');
    assert.equal(dep.strategy, 'canary');
    assert.deepEqual(await page.locator('#deployment-actions button').allInnerTexts(), ['Pause', 'Cancel', 'Roll back']);
    await device.reportStatus('line-7', { deviceId: 'line-7', state: 'running', running: 'line-inspection@1.0.0', deploymentId: depId, ts: Date.now() });
    await page.waitForSelector('tr[data-target="line-7"] td:nth-child(2) .badge.tone-good', { timeout: 15_000 });
    assert.equal((await page.locator('tr[data-target="line-7"] td:nth-child(2)').innerText()).trim(), 'running');
    await page.waitForSelector('#deployment-state[data-tone="good"]');
    await browser.shot('deployer-running');
    await page.click('#sign-out');
    await page.waitForSelector('#login-form');

    // Ten wrong passwords for one user, then the eleventh from the page: 429, and the page says how long to wait.
    for (let i = 0; i < 10; i++) {
      await fetch(`${repo.server.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'vic', password: `wrong-${i}` }) });
    }
    await page.fill('#login-username', 'vic');
    await page.fill('#login-password', 'vic-password');
    await page.click('#login-submit');
    await page.waitForSelector('#login-error');
    assert.match(await page.locator('#login-error').innerText(), /try again in \d+ s/);
    await browser.shot('login-429');
  });
});
