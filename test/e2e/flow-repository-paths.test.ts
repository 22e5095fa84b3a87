// The Flow repository sidebar from a new user's side (#16), in Chromium at the default width: its button
// is in the sidebar's tab bar from the first start (not only in the ▾ menu); an import opens a tab of its
// own named template@version and shows it (a second import gets "(2)"); the publish form defaults to the
// template the open flow came from, never simply the first alphabetically, and refuses a template of
// another tier; a flow published from a runtime keeps ${NAME} and the template's defaults, and the diff
// names each changed parameter.
import assert from 'node:assert/strict';
import { loadTemplate } from '../../runtime/dev/demo/templates';
import { openEditor } from './support/editor';
import { useE2E } from './support/harness';
import { selectTemplate } from './support/repo';
import type { Page } from 'playwright-core';

/** The shipped line-inspection version the test repository holds, and the patch after it the sidebar suggests. */
const V = loadTemplate('line-inspection').manifest.version;
const esc = (v: string) => v.replace(/\./g, '\\.');
const NEXT = V.replace(/\d+$/, (p) => String(Number(p) + 1));

const activeTabLabel = (page: Page) => page.evaluate(() => (window as any).RED.nodes.workspace((window as any).RED.workspaces.active())?.label as string);
const tabLabels = (page: Page) =>
  page.evaluate(() => {
    const out: string[] = [];
    (window as any).RED.nodes.eachWorkspace((w: any) => out.push(w.label));
    return out;
  });

describe('e2e: Flow repository sidebar, the user\'s path (Chromium, repository)', function () {
  this.timeout(240_000);
  const e2e = useE2E();

  it('button in the tab bar at first start; import opens template@version; publish picks that template, refuses another tier, keeps ${NAME}', async () => {
    const repo = await e2e.repo(['cloud-history', 'factory-aggregation', 'line-inspection']);
    const rt = await e2e.runtime({ tier: 'line', env: repo.env });
    const browser = await e2e.browser('flow-repository-paths');
    const { page } = browser;
    await openEditor(page, rt.url);

    // First start, default width: the button is in the tab bar, no ▾ menu needed.
    const button = page.locator('#red-ui-tab-linesight-flow-repository-link-button');
    await button.waitFor({ state: 'visible', timeout: 10_000 });
    await browser.shot('first-start-tab-bar');
    await button.click();
    await page.waitForSelector('#ls-repo-status.ls-good', { timeout: 30_000 });

    // An empty flow came from no template: the default is a template of this runtime's tier, not cloud-history.
    await page.waitForFunction(() => (document.querySelector('#ls-repo-publish-template') as HTMLSelectElement)?.value === 'line-inspection');
    await browser.shot('publish-default-empty-flow');

    // Import the shipped version with its parameter form: a new tab named line-inspection@the shipped version, shown.
    await selectTemplate(page, 'line-inspection');
    await page.click(`#ls-repo-versions tr[data-version="${V}"] .ls-repo-import`);
    await page.fill('#ls-repo-param-PLC_PORT', '15020');
    await page.fill('#ls-repo-param-SITE', 'demo-site');
    await page.click('#ls-repo-import-go');
    await page.waitForSelector(`#ls-repo-import-msg.ls-good:has-text("line-inspection@${V}")`);
    await page.keyboard.press('Escape').catch(() => {});
    assert.equal(await activeTabLabel(page), `line-inspection@${V}`, 'the imported tab is the one shown');
    await browser.shot('imported-tab-shown');

    // Again: a copy with its own name, shown too.
    await page.click('#ls-repo-import-go');
    await page.waitForSelector(`#ls-repo-import-msg.ls-good:has-text("line-inspection@${V} (2)")`);
    await page.keyboard.press('Escape').catch(() => {});
    assert.equal(await activeTabLabel(page), `line-inspection@${V} (2)`);
    const labels = await tabLabels(page);
    assert.equal(new Set(labels).size, labels.length, `no two tabs share a name: ${labels.join(', ')}`);
    assert.ok(await page.locator(`#red-ui-workspace-tabs li.active:has-text("line-inspection@${V} (2)")`).isVisible(), 'the tab bar shows it active');

    // The publish form says which template and why.
    assert.equal(await page.inputValue('#ls-repo-publish-template'), 'line-inspection');
    assert.match(await page.innerText('#ls-repo-publish-origin'), new RegExp(`line-inspection: imported as line-inspection@${esc(V)} \\(2\\)`));
    await page.locator('#ls-repo-publish').scrollIntoViewIfNeeded();
    await browser.shot('publish-defaults-to-origin');

    // Another tier is refused, naming both tiers; nothing is sent.
    await page.selectOption('#ls-repo-publish-template', 'cloud-history');
    assert.match(await page.innerText('#ls-repo-publish-origin'), /cloud-history is a cloud template and this is a line runtime/);
    await page.fill('#ls-repo-publish-changelog', 'should not go out');
    await page.click('#ls-repo-publish-go');
    await page.waitForSelector('#ls-repo-publish-msg.ls-bad:has-text("Not published: cloud-history is a cloud template")');
    await browser.shot('publish-refuses-other-tier');
    assert.deepEqual((await repo.client.listVersions('cloud-history')).map((v) => v.version), [loadTemplate('cloud-history').manifest.version], 'only the shipped version');

    // Publish the first import (the template's own node ids) from this runtime: its values (PLC_PORT
    // 15020, SITE demo-site) stay here; a new flow variable is named in the diff.
    await page.click('#red-ui-tab-li-tab a');
    await page.waitForFunction(() => (window as any).RED.workspaces.active() === 'li-tab');
    await page.evaluate(() => {
      const RED = (window as any).RED;
      const ws = RED.nodes.workspace(RED.workspaces.active());
      ws.env = [...(ws.env ?? []), { name: 'SHIFT', value: 'night', type: 'str' }];
      RED.nodes.dirty(true);
    });
    await page.selectOption('#ls-repo-publish-template', 'line-inspection');
    assert.equal(await page.inputValue('#ls-repo-publish-version'), `${NEXT}`);
    await page.fill('#ls-repo-publish-changelog', 'night shift flag');
    await page.click('#ls-repo-publish-go');
    await page.waitForSelector(`#ls-repo-publish-msg.ls-good:has-text("Published line-inspection@${NEXT}")`);
    const published = (await repo.client.getVersion('line-inspection', `${NEXT}`)).flow as Array<Record<string, any>>;
    const tab = published.find((n) => n.type === 'tab')!;
    assert.equal(tab.label, 'Line inspection', 'the import name is not published');
    assert.deepEqual(tab.env, [{ name: 'SHIFT', value: 'night', type: 'str' }], 'only the flow variable that is not a parameter goes out');
    assert.equal(published.find((n) => n.type === 'plc-endpoint')!.port, '${PLC_PORT}');
    assert.doesNotMatch(JSON.stringify(published), /15020|demo-site/, 'the runtime\'s parameter values are not baked in');

    // The diff names the parameter, not just "env".
    await selectTemplate(page, 'line-inspection');
    await page.check(`#ls-repo-versions tr[data-version="${V}"] .ls-repo-pick`);
    await page.check(`#ls-repo-versions tr[data-version="${NEXT}"] .ls-repo-pick`);
    await page.click('#ls-repo-diff');
    await page.waitForSelector('#ls-repo-diff-summary');
    const diff = await page.innerText('#ls-repo-diff-result');
    assert.match(diff, /tab "Line inspection".*: parameter SHIFT/);
    assert.doesNotMatch(diff, /PLC_PORT|SITE/);
    await page.locator('#ls-repo-diff-result').scrollIntoViewIfNeeded();
    await browser.shot('diff-names-parameter');
  });
});
