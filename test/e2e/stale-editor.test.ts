// A remote deploy does not go unnoticed (#16), in Chromium against a real runtime: flows deployed to the
// runtime from elsewhere (the admin API, as the edge agent deploys) raise a notice in an open editor that
// stays until answered (Node-RED's own hides after 10 s), and a Deploy from that stale editor asks before
// it replaces the newer flows; "Reload" brings them in and nothing was deployed over them.
import assert from 'node:assert/strict';
import { closeTray, openEditor, openNode } from './support/editor';
import { useE2E } from './support/harness';

const flow = (name: string) => [
  { id: 'stale-tab', type: 'tab', label: 'Line' },
  { id: 'stale-n1', type: 'inject', z: 'stale-tab', name, props: [{ p: 'payload' }], repeat: '', once: false, topic: '', payload: '', payloadType: 'date', x: 200, y: 100, wires: [] },
];

describe('e2e: remote deploys and a stale editor (Chromium + real runtime)', function () {
  this.timeout(180_000);
  const e2e = useE2E();

  it('keeps the "flows updated" notice until answered and asks before a stale Deploy; Reload shows the newer flows', async () => {
    const rt = await e2e.runtime({ tier: 'line' });
    await rt.deploy(flow('version 1'));
    const browser = await e2e.browser('stale-editor');
    const { page } = browser;
    await openEditor(page, rt.url);
    await page.evaluate(() => (window as any).RED.workspaces.show('stale-tab'));

    // A remote deploy while the editor is open.
    await rt.deploy(flow('version 2 (remote)'));
    await page.waitForSelector('#ls-stale-notice', { timeout: 30_000 });
    assert.match(await page.innerText('#ls-stale-notice'), /deployed from elsewhere at .* This editor shows older flows/);
    // Past the 10 s after which Node-RED's own notice hides itself, ours is still there with its answers.
    await page.waitForTimeout(11_000);
    assert.ok(await page.locator('#ls-stale-notice').isVisible(), 'the notice waits for an answer');
    assert.ok(await page.locator('.red-ui-notification button:has-text("Reload")').first().isVisible());
    await browser.shot('notice-stays');
    await page.click('.red-ui-notification button:has-text("Keep my edits")');
    await page.waitForSelector('#ls-stale-notice', { state: 'detached', timeout: 10_000 }).catch(() => {});

    // An edit in the stale editor, then Deploy: asked first.
    await openNode(page, 'stale-n1');
    await page.fill('#node-input-name', 'stale edit');
    await closeTray(page);
    await page.click('#red-ui-header-button-deploy');
    await page.waitForSelector('#ls-stale-deploy', { timeout: 10_000 });
    assert.match(await page.innerText('#ls-stale-deploy'), /Newer flows were deployed to this runtime at .*Deploying now replaces them/);
    await page.locator('.red-ui-notification button:has-text("Deploy over them")').waitFor({ state: 'visible' });
    await page.waitForTimeout(500); // the notice slides in
    await browser.shot('stale-deploy-asks');

    // Reload: the newer flows are shown, and the runtime still runs them.
    await page.click('.red-ui-notification button:has-text("Reload the newer flows")');
    await page.waitForLoadState('domcontentloaded');
    await openEditor(page, rt.url).catch(() => {});
    await page.waitForFunction(() => (window as any).RED?.nodes?.node('stale-n1')?.name === 'version 2 (remote)', null, { timeout: 30_000 });
    await page.evaluate(() => (window as any).RED.workspaces.show('stale-tab'));
    await browser.shot('reloaded');
    const running = (await (await rt.request('GET', 'flows')).json()) as Array<Record<string, unknown>>;
    assert.equal(running.find((n) => n.id === 'stale-n1')?.name, 'version 2 (remote)', 'nothing was deployed over the newer flows');
  });
});
