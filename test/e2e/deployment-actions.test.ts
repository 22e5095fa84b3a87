// Pause, resume, cancel and roll back a deployment from the editor's "Flow repository" sidebar, the way a
// person does (Chromium, a real runtime's admin proxy, the real repository); the fleet table shows what a
// waiting device waits for (a line-state gate key that was never set, named with what sets it).
import assert from 'node:assert/strict';
import { defaultParameters } from '../../contracts/fleet/templates';
import { loadTemplate } from '../../runtime/dev/demo/templates';
import { RepoClient } from '../../runtime/repo/client';
import { waitFor } from '../support/wait';
import { openEditor } from './support/editor';
import { useE2E } from './support/harness';
import { openRepositorySidebar } from './support/repo';

const GATE_REASON = 'line-state gate key "lineState" has never been set (idle is 0); the running flow sets it, e.g. plc-read -> change node (set global.lineState to msg.payload)';

describe('e2e: deployment actions and device reasons in the Flow repository sidebar (Chromium)', function () {
  this.timeout(240_000);
  const e2e = useE2E();

  it('shows the gate reason, pauses, resumes and cancels a waiting deployment, and rolls back a completed one', async () => {
    const repo = await e2e.repo(['line-inspection']);
    const admin = repo.client;
    const parameters = defaultParameters(loadTemplate('line-inspection').manifest);
    const V = loadTemplate('line-inspection').manifest.version; // the shipped version the repository holds
    const { token } = await admin.registerDevice({ id: 'line-c', tier: 'line', parameters });
    const device = new RepoClient({ url: repo.server.url, token });
    // line-c runs the shipped version from a first deployment.
    const base = await admin.createDeployment({ template: 'line-inspection', version: V, target: { ids: ['line-c'] } });
    await device.reportStatus('line-c', { deviceId: 'line-c', state: 'running', running: `line-inspection@${V}`, deploymentId: base.id, ts: Date.now() });
    assert.equal((await admin.getDeployment(base.id)).state, 'completed');
    // A redeploy held by a line-state gate whose key nothing has set: the device says so.
    const held = await admin.createDeployment({ template: 'line-inspection', version: V, target: { ids: ['line-c'] }, lineState: { tag: 'lineState', idleValue: 0 }, strategy: 'canary' });
    await device.reportStatus('line-c', { deviceId: 'line-c', state: 'waiting', running: `line-inspection@${V}`, deploymentId: held.id, target: `line-inspection@${V}`, reasons: [GATE_REASON], ts: Date.now() });

    const editorRt = await e2e.runtime({ tier: 'line', env: repo.env });
    const browser = await e2e.browser('deployment-actions');
    const { page } = browser;
    page.on('dialog', (d) => void d.accept());
    await openEditor(page, editorRt.url);
    await openRepositorySidebar(page);

    const fleetRow = page.locator('#ls-repo-fleet tr[data-device="line-c"]');
    await fleetRow.locator('.ls-state-waiting').waitFor();
    assert.equal((await page.locator('#ls-repo-fleet tr[data-reasons-for="line-c"] .ls-repo-reasons').innerText()).trim(), GATE_REASON);
    const row = page.locator(`#ls-repo-deployments tr[data-deployment="${held.id}"]`);
    await row.waitFor();
    const buttons = async () => (await row.locator('.ls-repo-dep-buttons button').allInnerTexts()).map((t) => t.trim());
    assert.deepEqual(await buttons(), ['Pause', 'Cancel', 'Roll back']);
    await row.scrollIntoViewIfNeeded();
    await browser.shot('deployments');
    await fleetRow.scrollIntoViewIfNeeded();
    await browser.shot('fleet-waiting-with-reason');

    await row.locator('.ls-repo-dep-pause').click();
    await row.locator('td.ls-state-paused').waitFor();
    assert.equal((await admin.getDeployment(held.id)).state, 'paused');
    assert.deepEqual(await buttons(), ['Resume', 'Cancel', 'Roll back']);
    await row.locator('.ls-repo-dep-resume').click();
    await row.locator('td.ls-state-rolling-out').waitFor();
    assert.equal((await admin.getDeployment(held.id)).state, 'rolling out');

    await row.locator('.ls-repo-dep-cancel').click();
    await row.locator('td.ls-state-cancelled').waitFor();
    assert.deepEqual(await buttons(), [], 'nothing left to do with a cancelled deployment');
    await page.waitForSelector('#ls-repo-deployments-msg.ls-good:has-text("is cancelled")');
    await browser.shot('cancelled');
    const cancelled = await admin.getDeployment(held.id);
    assert.equal(cancelled.state, 'cancelled');
    assert.equal(cancelled.devices[0]!.state, 'cancelled');
    assert.ok((await admin.audit({ subject: held.id })).some((e) => e.action === 'deployment.cancel'));

    // The completed first deployment can be rolled back from its row.
    const baseRow = page.locator(`#ls-repo-deployments tr[data-deployment="${base.id}"]`);
    assert.deepEqual((await baseRow.locator('.ls-repo-dep-buttons button').allInnerTexts()).map((t) => t.trim()), ['Roll back']);
    await baseRow.locator('.ls-repo-dep-rollback').click();
    await baseRow.locator('td.ls-state-rolled-back').waitFor();
    await waitFor('the rollback in the repository', async () => (await admin.getDeployment(base.id)).state === 'rolled back', 10_000);
    await browser.shot('rolled-back');
  });
});
