// The fleet table of the editor's "Flow repository" sidebar, in Chromium, shows a running device whose
// nodes have problems as degraded (yellow, the nodes named), never plain green, and green again once its
// agent reports it healthy. The reports are the device's own (its token), as its agent sends them; the
// agent side is proven against real runtimes in test/integration/agent/health.test.ts.
import assert from 'node:assert/strict';
import { RepoClient } from '../../runtime/repo/client';
import { openEditor } from './support/editor';
import { useE2E } from './support/harness';
import { openRepositorySidebar } from './support/repo';

describe('e2e: a degraded device in the sidebar fleet table (Chromium, repository)', function () {
  this.timeout(180_000);
  const e2e = useE2E();

  it('running with a red node reads "running · degraded" in yellow with the node named, and green once it recovers', async () => {
    const repo = await e2e.repo(['line-inspection']);
    const { token } = await repo.client.registerDevice({ id: 'line-c', tier: 'line', parameters: {} });
    const asDevice = new RepoClient({ url: repo.server.url, token });
    const reason = 'camera-intake "line camera" (cam1) status red ring (disconnected): cannot listen: EADDRINUSE';
    await asDevice.reportStatus('line-c', { deviceId: 'line-c', state: 'running', running: 'line-inspection@1.0.0', reasons: [reason], degraded: true, ts: Date.now() });

    const editorRt = await e2e.runtime({ tier: 'line', env: repo.env });
    const browser = await e2e.browser('fleet-health');
    const { page } = browser;
    await openEditor(page, editorRt.url);
    await openRepositorySidebar(page);
    const cell = page.locator('#ls-repo-fleet tr[data-device="line-c"] td.ls-repo-state');
    await cell.waitFor({ timeout: 30_000 });
    await page.waitForSelector('#ls-repo-fleet tr[data-device="line-c"] td.ls-state-degraded', { timeout: 30_000 });
    assert.equal((await cell.innerText()).trim(), 'running · degraded');
    const why = page.locator('#ls-repo-fleet tr[data-reasons-for="line-c"] .ls-repo-reasons');
    assert.match(await why.innerText(), /^camera-intake "line camera" \(cam1\) status red ring/, 'the node is named under the device');
    assert.equal(await page.locator('#ls-repo-fleet tr[data-device="line-c"] .ls-state-running').count(), 0, 'never plain green');
    const colour = await cell.evaluate((el) => getComputedStyle(el).color);
    assert.equal(colour, 'rgb(187, 119, 0)', 'yellow (#b70), the colour of waiting and degraded');
    await browser.shot('fleet-degraded');
    // At the sidebar's default width no word of the headers, device ids, tiers and states breaks mid-word ("devi/ce").
    const split = await page.evaluate(() => {
      const out: string[] = [];
      const cells = document.querySelectorAll('#ls-repo-fleet th, #ls-repo-fleet td.ls-repo-state, #ls-repo-fleet tr[data-device] td:first-child b, #ls-repo-fleet tr[data-device] td:nth-child(2)');
      for (const cell of Array.from(cells)) {
        const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode() as Text | null; node; node = walker.nextNode() as Text | null) {
          for (const m of node.data.matchAll(/\S+/g)) {
            const range = document.createRange();
            range.setStart(node, m.index!);
            range.setEnd(node, m.index! + m[0].length);
            if (new Set(Array.from(range.getClientRects()).map((r) => Math.round(r.top))).size > 1) out.push(m[0]);
          }
        }
      }
      return out;
    });
    assert.deepEqual(split, [], 'words broken across lines in the fleet table');

    await asDevice.reportStatus('line-c', { deviceId: 'line-c', state: 'running', running: 'line-inspection@1.0.0', ts: Date.now() });
    await page.click('#ls-repo-fleet-refresh');
    await page.waitForSelector('#ls-repo-fleet tr[data-device="line-c"] td.ls-state-running', { timeout: 30_000 });
    assert.equal((await cell.innerText()).trim(), 'running');
    assert.equal(await cell.evaluate((el) => getComputedStyle(el).color), 'rgb(51, 136, 51)', 'green (#383)');
    await browser.shot('fleet-recovered');
  });
});
