// The console's Model registry in Chromium against a real repository: the project's two shipped
// defect-detector versions published with their model.json, two line devices reporting which version they
// run. A viewer sees the versions with classes, input, precision/recall/mAP, publisher and changelog, the two
// versions side by side, and which device runs which.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { RepoClient } from '../../runtime/repo/client';
import { goTo, openConsole } from './support/console';
import { useE2E } from './support/harness';

const metadata = (version: string) => JSON.parse(fs.readFileSync(`models/defect-detector/${version}/model.json`, 'utf8'));

describe('e2e: console Model registry (Chromium, real repository)', function () {
  this.timeout(180_000);
  const e2e = useE2E();

  it('lists defect-detector, shows each version with its figures and who runs it, and compares 1.0.0 with 1.1.0', async () => {
    const repo = await e2e.repo([]);
    for (const version of ['1.0.0', '1.1.0']) {
      const meta = metadata(version);
      await repo.client.publishModel('defect-detector', `models/defect-detector/${version}/model.onnx`, { version, format: 'onnx', metadata: meta, ...(meta.changelog ? { changelog: meta.changelog } : {}) });
    }
    for (const [id, version] of [['line-1', '1.1.0'], ['line-2', '1.0.0'], ['line-3', '1.0.0']] as const) {
      const { token } = await repo.client.registerDevice({ id, tier: 'line', parameters: {} });
      const device = new RepoClient({ url: repo.server.url, token });
      await device.reportStatus(id, { deviceId: id, state: 'running', running: 'line-inspection@1.0.0', models: [{ name: 'defect-detector', version }], ts: Date.now() });
    }
    await repo.client.createUser({ name: 'vera', role: 'viewer', password: 'vera-password' });

    const browser = await e2e.browser('console-models');
    const { page } = browser;
    await page.setViewportSize({ width: 1500, height: 1100 });
    await openConsole(page, repo.server.url, { username: 'vera', password: 'vera-password' });
    await page.click('#nav-registry');
    await page.waitForSelector('#model-list tr[data-model="defect-detector"]');
    assert.match(await page.locator('#model-list tr[data-model="defect-detector"]').innerText(), /1\.1\.0[\s\S]*onnx[\s\S]*1\.1\.0, 1\.0\.0/);
    await browser.shot('registry');

    await page.click('#model-list a:has-text("defect-detector")');
    await page.waitForSelector('#model-version-list tr[data-version="1.0.0"]');
    const versions = await page.locator('#model-version-list tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-version')));
    assert.deepEqual(versions, ['1.1.0', '1.0.0'], 'newest first');
    const v11 = page.locator('#model-version-list tr[data-version="1.1.0"]');
    assert.equal((await v11.locator('.metric-precision').innerText()).trim(), '0.959');
    assert.equal((await v11.locator('.metric-recall').innerText()).trim(), '0.980');
    assert.equal((await v11.locator('.metric-map').innerText()).trim(), '0.985');
    assert.equal((await v11.locator('.classes').innerText()).trim(), 'scratch, dent, hole');
    assert.match(await v11.innerText(), /320×320 NCHW/);
    assert.match(await v11.locator('.changelog').innerText(), /Better version/);
    assert.equal((await v11.locator('td[title]').getAttribute('title')), metadata('1.1.0').sha256);
    await page.waitForSelector('#model-version-list tr[data-version="1.0.0"] .running[data-count="2"]');
    assert.equal(await v11.locator('.running').getAttribute('data-count'), '1');

    // Side by side: the newest against the one before; precision went up.
    await page.waitForSelector('#model-compare-table tr[data-field="precision"]');
    const precision = page.locator('#model-compare-table tr[data-field="precision"]');
    assert.match(await precision.innerText(), /0\.\d{3}\s+0\.959\s+\+0\.\d{3}/);
    assert.equal(await page.locator('#model-compare-table tr[data-field="classes"]').getAttribute('class'), '');
    assert.equal(await page.locator('#model-compare-table tr[data-field="version"]').getAttribute('class'), 'changed');
    assert.deepEqual(await page.locator('#model-device-list tr[data-version="1.0.0"] a[data-device]').evaluateAll((as) => as.map((a) => a.getAttribute('data-device'))), ['line-2', 'line-3']);
    assert.deepEqual(await page.locator('#model-device-list tr[data-version="1.1.0"] a[data-device]').evaluateAll((as) => as.map((a) => a.getAttribute('data-device'))), ['line-1']);
    await browser.shot('model');

    // Swapping the sides through the pickers keeps the route (a link opens the same comparison).
    await page.selectOption('#compare-a', '1.1.0');
    await page.selectOption('#compare-b', '1.0.0');
    await page.waitForFunction(() => location.hash.includes('a=1.1.0') && location.hash.includes('b=1.0.0'));
    assert.match(await page.locator('#model-compare-table tr[data-field="precision"]').innerText(), /0\.959\s+0\.\d{3}\s+-0\.\d{3}/);
    await goTo(page, '#/registry/no-such-model', '.crumbs');
    await page.waitForSelector('[role="alert"]');
    assert.match(await page.locator('[role="alert"]').innerText(), /no model no-such-model/);
  });
});
