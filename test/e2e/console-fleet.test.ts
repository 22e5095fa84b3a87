// The fleet console in Chromium against the real repository (embedded PGlite): the fleet table with a
// device whose node is red (degraded, yellow, the node named), filtering on the server, the device page
// with its parameter form whose save becomes a new desired state, the templates' side-by-side diff, a
// deploy from the form and a rollback from the deployment page, and the audit log. Device reports are the
// devices' own (their tokens), as their agents send them; agents against real runtimes are in console-agent.
import assert from 'node:assert/strict';
import { defaultParameters } from '../../contracts/fleet/templates';
import { loadTemplate } from '../../runtime/dev/demo/templates';
import { RepoClient } from '../../runtime/repo/client';
import { waitFor } from '../support/wait';
import { goTo, openConsole } from './support/console';
import { useE2E } from './support/harness';

const RED_NODE = 'camera-intake "line camera" (cam1) status red ring (disconnected): cannot listen: EADDRINUSE';

describe('e2e: the fleet console (Chromium, repository)', function () {
  this.timeout(240_000);
  const e2e = useE2E();

  it('shows the fleet, a degraded device with its red node, filters, edits parameters, diffs versions, deploys and rolls back', async () => {
    const repo = await e2e.repo(['line-inspection']);
    const admin = repo.client;
    const manifest = loadTemplate('line-inspection').manifest;
    const parameters = defaultParameters(manifest);
    // The shipped version, and a next one published here for the diff.
    const V1 = manifest.version;
    const V2 = `${Number(V1.split('.')[0]) + 1}.0.0`;
    // A second version that changes one node's property, for the diff.
    const v1 = await admin.getVersion('line-inspection', V1);
    const flow2 = structuredClone(v1.flow) as Record<string, unknown>[];
    const tab = flow2.find((n) => n.type === 'tab')!;
    tab.label = 'Line inspection (v1.1)';
    await admin.publishVersion('line-inspection', { version: V2, flow: flow2, changelog: 'Renamed the flow tab', author: 'e2e' });

    const reports = new Map<string, RepoClient>();
    for (const [id, labels] of [['line-1', { site: 'hq', line: '1' }], ['line-2', { site: 'hq', line: '2' }], ['line-3', { site: 'east', line: '3' }]] as const) {
      const { token } = await admin.registerDevice({ id, tier: 'line', labels: { ...labels }, parameters });
      reports.set(id, new RepoClient({ url: repo.server.url, token }));
    }
    const base = await admin.createDeployment({ template: 'line-inspection', version: V1, target: { tier: 'line' } });
    for (const [id, c] of reports) await c.reportStatus(id, { deviceId: id, state: 'running', running: `line-inspection@${V1}`, deploymentId: base.id, ts: Date.now() });
    await reports.get('line-2')!.reportStatus('line-2', { deviceId: 'line-2', state: 'running', running: `line-inspection@${V1}`, deploymentId: base.id, reasons: [RED_NODE], degraded: true, ts: Date.now() });

    const browser = await e2e.browser('console-fleet');
    const { page } = browser;
    page.on('dialog', (d) => void d.accept());
    await openConsole(page, repo.server.url, { token: repo.server.adminToken! });
    await page.waitForSelector('.vrow[data-device="line-3"]');
    assert.equal((await page.locator('#fleet-count').innerText()).trim(), '3 devices');
    const degraded = page.locator('.vrow[data-device="line-2"] .c-state .badge');
    assert.equal((await degraded.innerText()).trim(), 'running · degraded');
    assert.equal(await degraded.evaluate((el) => getComputedStyle(el).color), 'rgb(187, 119, 0)', 'yellow (#b70), the colour of waiting and degraded');
    assert.match(await page.locator('.vrow[data-device="line-2"] .c-state').getAttribute('title') ?? '', /camera-intake "line camera" \(cam1\)/);
    assert.equal(await page.locator('.vrow[data-device="line-1"] .c-state .badge').evaluate((el) => getComputedStyle(el).color), 'rgb(51, 136, 51)', 'green (#383)');
    await browser.shot('fleet');

    // Filters run on the server: the URL carries them, the count is the server's total.
    await page.selectOption('#fleet-state', 'degraded');
    await page.waitForFunction(() => document.querySelector('#fleet-count')?.textContent?.trim() === '1 device');
    assert.deepEqual(await page.locator('.vrow[data-device]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-device'))), ['line-2']);
    await page.selectOption('#fleet-state', '');
    await page.fill('#fleet-labels', 'site=hq');
    await page.click('#fleet-apply');
    await page.waitForFunction(() => document.querySelector('#fleet-count')?.textContent?.trim() === '2 devices');
    assert.match(await page.evaluate(() => location.hash), /label=site%3Dhq/);
    await browser.shot('fleet-filtered');

    // The device page: state with the node named, versions, parameters from the template's schema.
    await page.click('.vrow[data-device="line-2"] .c-id a');
    await page.waitForSelector('#device-head');
    assert.equal((await page.locator('#device-state').innerText()).trim(), 'running · degraded');
    assert.match(await page.locator('#device-reasons').innerText(), /camera-intake "line camera" \(cam1\) status red ring/);
    await page.waitForSelector('#parameter-form input[name="LINE"]');
    await page.fill('#parameter-form input[name="LINE"]', 'line2b');
    await page.click('#parameter-save');
    await page.waitForSelector('#parameter-message.tone-good');
    assert.match(await page.locator('#parameter-message').innerText(), /saved LINE/);
    assert.equal((await admin.getDevice('line-2')).parameters.LINE, 'line2b');
    assert.equal((await admin.desired('line-2')).notModified, false);
    // A value the schema refuses is named before anything is sent.
    await page.fill('#parameter-form input[name="SITE"]', 'has spaces');
    await page.click('#parameter-save');
    await page.waitForSelector('#parameter-message.tone-bad');
    assert.match(await page.locator('#parameter-message').innerText(), /SITE/);
    await browser.shot('device');

    // Templates: versions with changelog and author, and the diff by node and property.
    await goTo(page, '#/templates', '#template-list tr[data-template="line-inspection"]');
    await browser.shot('templates');
    await goTo(page, '#/templates/line-inspection', '#diff-table');
    assert.match(await page.locator(`#version-list tr[data-version="${V2}"]`).innerText(), /Renamed the flow tab[\s\S]*|e2e/);
    const changed = page.locator(`#diff-table tbody[data-node="${String(tab.id)}"]`);
    assert.match(await changed.innerText(), /label[\s\S]*Line inspection[\s\S]*Line inspection \(v1\.1\)/);
    await browser.shot('template-diff');

    // Deploy V2 to line-1 from the form, then roll it back from its page.
    await goTo(page, '#/deployments', '#new-deployment');
    await browser.shot('deployments');
    await page.click('#new-deployment');
    await page.waitForSelector('#deploy-form');
    await page.selectOption('#deploy-template', 'line-inspection');
    await page.waitForSelector(`#deploy-version option[value="${V2}"]`, { state: 'attached' });
    await page.selectOption('#deploy-version', V2);
    await page.fill('#deploy-ids', 'line-1');
    await browser.shot('deploy-form');
    await page.click('#deploy-submit');
    await page.waitForSelector('#deployment-head');
    const depId = decodeURIComponent((await page.evaluate(() => location.hash)).replace('#/deployments/', ''));
    const dep = await admin.getDeployment(depId);
    assert.deepEqual([dep.version, dep.devices.map((d) => d.deviceId)], [V2, ['line-1']]);
    await reports.get('line-1')!.reportStatus('line-1', { deviceId: 'line-1', state: 'running', running: `line-inspection@${V2}`, deploymentId: depId, ts: Date.now() });
    await page.waitForSelector('#deployment-state[data-tone="good"]', { timeout: 15_000 });
    assert.equal((await page.locator('#deployment-state').innerText()).trim(), 'completed');
    await page.waitForSelector('tr[data-target="line-1"] .badge.tone-good');
    await browser.shot('deployment-completed');
    assert.deepEqual(await page.locator('#deployment-actions button').allInnerTexts(), ['Roll back']);
    await page.click('#action-rollback');
    await page.waitForSelector('#deployment-done');
    await waitFor('the rollback in the repository', async () => (await admin.getDeployment(depId)).state === 'rolled back', 10_000);
    const after = await admin.desired('line-1');
    assert.equal(!after.notModified && after.state.version?.version, V1, `line-1 is sent back to ${V1}`);
    await browser.shot('deployment-rolled-back');

    await goTo(page, `#/audit?subject=${encodeURIComponent(depId)}`, '#audit-list tbody tr');
    assert.match(await page.locator('#audit-list').innerText(), /deployment\.rollback/);
    await browser.shot('audit');
  });
});
