// Drag-and-drop in a real browser: nodes from the palette onto the workspace, wired port to port,
// configured through their forms, deployed with the Deploy button; then the running runtime proves
// the flow works (HTTP into the deployed flow, node status back in the editor).
import assert from 'node:assert/strict';
import { startRuntimeProcess, type RuntimeProcess } from '../support/runtime-process';
import { waitFor } from '../support/wait';
import { sampleInspection } from '../fixtures/contracts';
import { browserAvailable, launchBrowser, type Browser } from './support/browser';
import { closeTray, deploy, dragFromPalette, openEditor, openNode, paletteTypes, statusText, wire, invalidNodes } from './support/editor';

describe('e2e: editor drag-and-drop (Chromium + real line runtime)', function () {
  this.timeout(180_000);
  let rt: RuntimeProcess | undefined;
  let browser: Browser | undefined;

  before(function () {
    if (!browserAvailable()) throw new Error('Chromium is missing at /usr/bin/chromium (apt-get install chromium; .ci/run does)');
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && browser) {
      await browser.shot('failure').catch(() => {});
      console.log(browser.log().split('\n').slice(-30).join('\n'));
    }
    await browser?.close();
    browser = undefined;
    await rt?.stop();
    rt = undefined;
  });

  it('lists the Linesight nodes in their own palette category', async () => {
    rt = await startRuntimeProcess({ tier: 'line' });
    browser = await launchBrowser('editor-palette');
    await openEditor(browser.page, rt.url);
    const types = await paletteTypes(browser.page, 'Linesight');
    assert.ok(types.includes('contract-check'), `Linesight category lists contract-check: ${types}`);
    await browser.shot('palette');
  });

  it('builds http in -> contract-check -> http response by mouse, deploys it, and the flow runs', async () => {
    rt = await startRuntimeProcess({ tier: 'line' });
    browser = await launchBrowser('editor-drag-drop-contract-check');
    const { page } = browser;
    await openEditor(page, rt.url);
    await browser.shot('empty-workspace');

    const httpIn = await dragFromPalette(page, 'http in', { x: 150, y: 120 });
    const check = await dragFromPalette(page, 'contract-check', { x: 400, y: 120 });
    const httpOut = await dragFromPalette(page, 'http response', { x: 650, y: 120 });
    await browser.shot('dropped');
    await wire(page, httpIn, 0, check);
    await wire(page, check, 0, httpOut);
    await wire(page, check, 1, httpOut);
    await browser.shot('wired');

    await openNode(page, httpIn);
    await page.selectOption('#node-input-method', 'post');
    await page.fill('#node-input-url', '/e2e/check');
    await browser.shot('http-in-form');
    await closeTray(page);

    await openNode(page, check);
    await page.fill('#node-input-name', 'gate');
    await page.selectOption('#node-input-contract', 'inspection');
    await browser.shot('contract-check-form');
    await closeTray(page);
    assert.deepEqual(await invalidNodes(page), [], 'every node is configured');

    await deploy(page);
    await browser.shot('deployed');

    // The runtime has exactly what the mouse built.
    const flows = (await (await rt.request('GET', 'flows')).json()) as Array<Record<string, any>>;
    const gate = flows.find((n) => n.type === 'contract-check');
    assert.equal(gate?.name, 'gate');
    assert.equal(gate?.contract, 'inspection');
    assert.deepEqual(gate?.wires, [[httpOut], [httpOut]]);

    const post = (body: unknown) => fetch(`${rt!.url}e2e/check`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const good = await post(sampleInspection(1));
    assert.equal(good.status, 200);
    assert.equal(((await good.json()) as any).inspectionId, 'insp-1');
    await waitFor('"1 valid" under the node in the editor', async () => (await statusText(page, check)) === '1 valid', 30_000);

    const bad = { ...sampleInspection(2), detections: [{ defectClass: 'dent', confidence: 7 }] };
    assert.equal((await post(bad)).status, 200);
    await waitFor('"1 valid, 1 invalid" in the editor', async () => (await statusText(page, check)) === '1 valid, 1 invalid', 30_000);
    await browser.shot('flow-ran');
  });
});
