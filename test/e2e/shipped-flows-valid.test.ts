// Shipped templates open without a red "invalid" triangle (#16): every template in flows/ and every example
// in examples/ is pasted into Import in a real editor of its tier, and no node (config nodes included) is
// flagged invalid. Each tier's flows share one runtime and one browser.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../runtime/paths';
import { openEditor } from './support/editor';
import { useE2E } from './support/harness';
import type { Page } from 'playwright-core';

type Tier = 'line' | 'factory' | 'cloud';
interface Shipped {
  what: string;
  tier: Tier;
  flow: unknown[];
}

function shipped(): Shipped[] {
  const out: Shipped[] = [];
  for (const slug of fs.readdirSync(path.join(PACKAGE_ROOT, 'flows')).sort()) {
    const dir = path.join(PACKAGE_ROOT, 'flows', slug);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { tier: Tier };
    out.push({ what: `template flows/${slug}`, tier: manifest.tier, flow: JSON.parse(fs.readFileSync(path.join(dir, 'flow.json'), 'utf8')) });
    const example = path.join(PACKAGE_ROOT, 'examples', `${slug}.json`);
    if (fs.existsSync(example)) out.push({ what: `example examples/${slug}.json`, tier: manifest.tier, flow: JSON.parse(fs.readFileSync(example, 'utf8')) });
  }
  for (const file of fs.readdirSync(path.join(PACKAGE_ROOT, 'examples')).sort()) {
    if (!out.some((s) => s.what === `example examples/${file}`)) out.push({ what: `example examples/${file}`, tier: 'line', flow: JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'examples', file), 'utf8')) });
  }
  return out;
}

/** Pastes a flow into Import > Clipboard as a person does and presses Import. */
async function importByPaste(page: Page, flow: unknown[]): Promise<void> {
  await page.click('#red-ui-header-button-sidemenu');
  await page.click('#menu-item-import');
  await page.waitForSelector('#red-ui-clipboard-dialog-import-text', { state: 'visible' });
  await page.fill('#red-ui-clipboard-dialog-import-text', JSON.stringify(flow));
  // The dialog checks the JSON on keyup, as it would while a person pastes.
  await page.press('#red-ui-clipboard-dialog-import-text', 'End');
  await page.click('#red-ui-clipboard-dialog-ok');
  // An import of nodes that exist already asks what to do: import copies.
  const copy = page.locator('.red-ui-clipboard-import-error button:has-text("Import copy"), #red-ui-notification-import-copy, button:has-text("Import copy")');
  if (await copy.first().isVisible({ timeout: 1500 }).catch(() => false)) await copy.first().click();
  await page.keyboard.press('Escape').catch(() => {});
  await page.waitForTimeout(500);
}

/** Every node and config node the editor flags invalid, with the properties it names. */
async function invalidEverywhere(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const RED = (window as any).RED;
    const bad: string[] = [];
    const check = (n: any) => {
      if (n.valid === false) bad.push(`${n.type} "${n.name || n.id}" (${(n.validationErrors ?? []).join(', ') || 'invalid'})`);
    };
    RED.nodes.eachNode(check);
    RED.nodes.eachConfig(check);
    return bad;
  });
}

describe('e2e: shipped templates and examples open without an invalid node (Chromium)', function () {
  this.timeout(300_000);
  const e2e = useE2E();
  const all = shipped();

  for (const tier of ['line', 'factory', 'cloud'] as const) {
    const mine = all.filter((s) => s.tier === tier);
    if (!mine.length) continue;
    it(`${tier}: ${mine.map((s) => s.what).join(', ')}`, async () => {
      const rt = await e2e.runtime({ tier });
      const browser = await e2e.browser(`shipped-flows-${tier}`);
      await openEditor(browser.page, rt.url);
      const problems: string[] = [];
      for (const s of mine) {
        await importByPaste(browser.page, s.flow);
        // Validation runs when the editor draws the imported nodes.
        await browser.page.waitForTimeout(300);
        // The import shows its own tab (#16: it used to land behind the current one).
        const tabId = (s.flow.find((n) => (n as { type?: string }).type === 'tab') as { id: string }).id;
        assert.equal(await browser.page.evaluate(() => (window as any).RED.workspaces.active()), tabId, `${s.what} is shown after its import`);
        const bad = await invalidEverywhere(browser.page);
        await browser.shot(s.what.replace(/[^a-z0-9]+/gi, '-'));
        if (bad.length) problems.push(`${s.what}: ${bad.join('; ')}`);
        // Start the next one from an empty workspace so a flagged node is blamed on the right flow.
        await browser.page.evaluate(() => {
          const RED = (window as any).RED;
          const ids: string[] = [];
          RED.nodes.eachWorkspace((w: any) => ids.push(w.id));
          const first = ids[0];
          for (const id of ids.slice(1)) RED.workspaces.delete(RED.nodes.workspace(id));
          RED.nodes.filterNodes({ z: first }).forEach((n: any) => RED.nodes.remove(n.id));
          RED.nodes.eachConfig((n: any) => { if (n.id) RED.nodes.remove(n.id); });
          RED.view.redraw(true);
        });
      }
      assert.deepEqual(problems, [], 'no shipped flow opens with an invalid node');
      // The check itself sees a broken config node (a port that is not a number) when there is one.
      const tab = mine[0].flow.find((n) => (n as { type?: string }).type === 'tab') as { id: string };
      await importByPaste(browser.page, [{ ...tab, label: 'broken' }, { id: 'broken-db', type: 'timescale-db', z: tab.id, name: 'broken', url: '', port: 'not-a-port', tls: 'disable', poolSize: 10, schema: 'public', connectTimeoutMs: 10000 }]);
      assert.match((await invalidEverywhere(browser.page)).join('; '), /timescale-db "broken"/, 'a timescale-db with port "not-a-port" is flagged');
    });
  }
});
