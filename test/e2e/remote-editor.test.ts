// Remote editing the way a person does it, in Chromium: a deployer signs in to the console, turns remote
// editing on for a line device, opens its Node-RED editor (served by the repository through the agent's
// outbound tunnel; the runtime listens only on a loopback port the browser is never told), adds an
// inject and a debug node, deploys, sees the debug message, sees the device drift in the console, saves
// the edit as a new version, and another device receives that version by deployment.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { ARTIFACTS } from './support/browser';
import { goTo, openConsole } from './support/console';
import { clickTab, deploy, dragFromPalette, openEditor, wire } from './support/editor';
import { useE2E } from './support/harness';
import { PASSWORD, startTunnelWorld } from '../integration/tunnel/support';

const SUITE = 'remote-editor';

async function shotOf(page: Page, name: string): Promise<string> {
  const file = path.join(ARTIFACTS, SUITE, `editor-${name}.png`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await page.screenshot({ path: file });
  return file;
}

describe('e2e: remote editing through the console (Chromium, repository, agent, Node-RED)', function () {
  this.timeout(300_000);
  const e2e = useE2E();

  it('opens the line editor through the tunnel, deploys a change, sees drift, saves it as a version another device runs', async () => {
    const w = await startTunnelWorld();
    e2e.defer('stop the fleet', () => w.close());
    const url = w.fleet.h.repo.url;
    const browser = await e2e.browser(SUITE);
    const { page } = browser;

    await openConsole(page, url, { username: 'dana', password: PASSWORD });
    await goTo(page, `#/devices/${w.ids.a}`, '#remote-editing');
    assert.match(await page.locator('#tunnel-state').innerText(), /off/);
    await browser.shot('remote-editing-off');
    await page.click('#remote-toggle');
    await page.waitForSelector('#tunnel-state:has-text("tunnel connected")', { timeout: 30_000 });
    await browser.shot('tunnel-connected');

    // The editor opens in a new tab, at the repository's address.
    const [editor] = await Promise.all([page.context().waitForEvent('page'), page.click('#remote-open')]);
    await editor.waitForLoadState('domcontentloaded');
    assert.equal(new URL(editor.url()).pathname, `/devices/${w.ids.a}/editor/`);
    assert.equal(new URL(editor.url()).port, String(w.fleet.h.repo.port));
    await openEditor(editor, editor.url());
    // No login dialog: the agent logs in to its own runtime.
    assert.equal(await editor.locator('#node-dialog-login').count(), 0);
    await shotOf(editor, '1-loaded');

    const inject = await dragFromPalette(editor, 'inject', { x: 300, y: 420 });
    const debug = await dragFromPalette(editor, 'debug', { x: 560, y: 420 });
    await wire(editor, inject, 0, debug);
    await deploy(editor);
    await clickTab(editor, 'debug');
    await editor.locator(`[id="${inject}"] .red-ui-flow-node-button`).click();
    await editor.waitForSelector('.red-ui-debug-msg', { timeout: 20_000 });
    await shotOf(editor, '2-deployed-debug');
    await editor.close();

    // The console shows the hand edit as drift, and offers what to do with it.
    await page.waitForSelector('#device-state:has-text("drifted")', { timeout: 30_000 });
    await page.fill('#save-version', '1.1.0');
    await page.fill('#save-changelog', 'inject and debug added on the line');
    await page.click('#save-version-button');
    await page.waitForSelector('#remote-message:has-text("published agent-probe@1.1.0")');
    await browser.shot('drifted-saved');
    const saved = await w.fleet.h.admin.getVersion('agent-probe', '1.1.0');
    assert.ok((saved.flow as Array<{ id: string }>).some((n) => n.id === debug), 'the saved version holds the debug node');

    // Another device receives the saved version by deployment.
    await w.fleet.deploy({ version: '1.1.0', target: { ids: [w.ids.b] } });
    await goTo(page, `#/devices/${w.ids.b}`, '#device-running');
    await page.waitForSelector('#device-running:has-text("agent-probe@1.1.0")', { timeout: 60_000 });
    await browser.shot('other-device-runs-saved-version');
    const audit = (await w.fleet.h.admin.audit({ subject: w.ids.a })).map((e) => e.action);
    for (const action of ['device.remote-editing.on', 'device.editor.open', 'device.editor.deploy', 'device.editor.save-version']) assert.ok(audit.includes(action), `${action} audited`);
  });
});
