// Drag-and-drop in a real browser: nodes from the palette onto the workspace, wired port to port,
// configured through their forms, deployed with the Deploy button; then the running runtime proves
// the flow works (HTTP into the deployed flow, node status back in the editor).
import assert from 'node:assert/strict';
import { waitFor } from '../support/wait';
import { sampleInspection } from '../fixtures/contracts';
import { closeTray, deploy, dragFromPalette, openEditor, openNode, paletteTypes, statusText, wire, invalidNodes } from './support/editor';
import { useE2E } from './support/harness';
import { freePort } from '../support/services';
import { rawClient } from '../integration/plc/peers';
import { CameraClient, toProtoInspection } from '../../runtime/dev/simulators/camera-client';

describe('e2e: editor drag-and-drop (Chromium + real line runtime)', function () {
  this.timeout(180_000);
  const e2e = useE2E();

  it('lists the Linesight nodes in their own palette category, first in the palette', async () => {
    const rt = await e2e.runtime({ tier: 'line' });
    const browser = await e2e.browser('editor-palette');
    await openEditor(browser.page, rt.url);
    const categories = await browser.page.$$eval('#red-ui-palette-container .red-ui-palette-category', (els) => els.filter((e) => (e as HTMLElement).offsetParent !== null).map((e) => e.id.replace('red-ui-palette-container-', '')));
    assert.equal(categories[0], 'Linesight', `the Linesight category comes first: ${categories.join(', ')}`);
    const types = await paletteTypes(browser.page, 'Linesight');
    for (const t of ['contract-check', 'camera-intake', 'defect-rule', 'plc-read', 'plc-write', 'image-compress', 'cloud-bridge', 'cloud-bridge-in']) {
      assert.ok(types.includes(t), `Linesight category lists ${t}: ${types}`);
    }
    await browser.shot('palette');
  });

  it('builds http in -> contract-check -> http response by mouse, deploys it, and the flow runs', async () => {
    const rt = await e2e.runtime({ tier: 'line' });
    const browser = await e2e.browser('editor-drag-drop-contract-check');
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

    const post = (body: unknown) => fetch(`${rt.url}e2e/check`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const good = await post(sampleInspection(1));
    assert.equal(good.status, 200);
    assert.equal(((await good.json()) as any).inspectionId, 'insp-1');
    await waitFor('"1 valid" under the node in the editor', async () => (await statusText(page, check)) === '1 valid', 30_000);

    const bad = { ...sampleInspection(2), detections: [{ defectClass: 'dent', confidence: 7 }] };
    assert.equal((await post(bad)).status, 200);
    await waitFor('"1 valid, 1 invalid" in the editor', async () => (await statusText(page, check)) === '1 valid, 1 invalid', 30_000);
    await browser.shot('flow-ran');
  });

  it('builds camera-intake -> defect-rule -> plc-write by mouse, configures the forms (rule, PLC endpoint, tags), deploys, and a camera defect lights the PLC coil', async () => {
    const modbusPort = await freePort();
    const grpcPort = await freePort();
    await e2e.plc({ co: { 0: 0 } }, { port: modbusPort });
    const rt = await e2e.runtime({ tier: 'line' });
    const browser = await e2e.browser('editor-drag-drop-line');
    const { page } = browser;
    await openEditor(page, rt.url);

    const intake = await dragFromPalette(page, 'camera-intake', { x: 150, y: 150 });
    const rules = await dragFromPalette(page, 'defect-rule', { x: 400, y: 150 });
    const write = await dragFromPalette(page, 'plc-write', { x: 650, y: 120 });
    await wire(page, intake, 0, rules);
    await wire(page, rules, 0, write);
    await browser.shot('wired');

    await openNode(page, intake);
    await page.fill('#node-input-name', 'cameras');
    await page.fill('#node-input-host', '127.0.0.1');
    await page.fill('#node-input-port', String(grpcPort));
    await page.fill('#node-input-site', 'plant1');
    await page.fill('#node-input-line', 'line7');
    await browser.shot('camera-intake-form');
    await closeTray(page);

    await openNode(page, rules);
    await page.fill('#node-input-name', 'rules');
    await page.click('.node-input-rule-container-row .red-ui-editableList-addButton');
    await page.waitForSelector('#dr-form', { state: 'visible' });
    await page.fill('#dr-f-id', 'hole-alarm');
    await page.fill('#dr-form [data-field="classes"]', 'hole');
    await page.fill('#dr-form [data-field="minConfidence"]', '0.5');
    await page.selectOption('#dr-window-kind', 'each');
    await page.selectOption('#dr-form [data-field="actionKind"]', 'alarm');
    await page.fill('#dr-form [data-field="writes"]', 'AlarmLamp=true');
    await page.fill('#dr-form [data-field="holdMs"]', '0');
    await page.waitForSelector('#dr-problems:has-text("rules are valid")');
    await browser.shot('defect-rule-form');
    await closeTray(page);

    await openNode(page, write);
    await page.fill('#node-input-name', 'lamp');
    // A new plc-endpoint config node, through the pencil button beside the endpoint field.
    await page.click('#node-input-btn-endpoint-add');
    await page.waitForSelector('#node-config-input-host', { state: 'visible' });
    await page.waitForTimeout(300);
    await page.fill('#node-config-input-name', 'line 7 PLC');
    await page.selectOption('#node-config-input-protocol', 'modbus-tcp');
    await page.fill('#node-config-input-host', '127.0.0.1');
    await page.fill('#node-config-input-port', String(modbusPort));
    await page.fill('#node-config-input-unitId', '1');
    await page.fill('#ls-plc-csv', 'name,address,type,order,scale,unit,writable\nAlarmLamp,c:0,bool,,,,true');
    await page.click('#ls-plc-csv-import');
    await page.waitForSelector('#ls-plc-csv-result:has-text("1")');
    await browser.shot('plc-endpoint-form');
    await page.click('#node-config-dialog-ok');
    await page.waitForSelector('#node-config-input-host', { state: 'detached' });
    await page.waitForTimeout(300);
    await browser.shot('plc-write-form');
    await closeTray(page);
    assert.deepEqual(await invalidNodes(page), [], 'every node is configured');

    await deploy(page);
    await browser.shot('deployed');
    const flows = (await (await rt.request('GET', 'flows')).json()) as Array<Record<string, any>>;
    const endpoint = flows.find((n) => n.type === 'plc-endpoint');
    assert.deepEqual(endpoint?.tags?.map((t: any) => [t.name, t.address, t.writable]), [['AlarmLamp', 'c:0', true]]);
    assert.equal(flows.find((n) => n.type === 'defect-rule')?.rules?.[0]?.id, 'hole-alarm');

    const coil = await rawClient(modbusPort);
    try {
      assert.equal((await coil.readCoils(0, 1)).data[0], false, 'the lamp is off before any defect');
      const camera = new CameraClient({ target: `127.0.0.1:${grpcPort}` });
      e2e.defer('close the camera client', () => camera.close());
      const good = { ...sampleInspection(10, 0), inspectionId: 'e2e-good', line: 'line7' };
      const bad = { ...sampleInspection(11, 0), inspectionId: 'e2e-hole', line: 'line7', detections: [{ defectClass: 'hole', confidence: 0.9, box: { x: 5, y: 5, width: 10, height: 10 } }] };
      await waitFor('camera-intake accepts the good part', async () => (await camera.submit(toProtoInspection(good)).then(() => true, () => false)), 30_000, 500);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal((await coil.readCoils(0, 1)).data[0], false, 'a good part does not light the lamp');
      await camera.submit(toProtoInspection(bad));
      await waitFor('the alarm lamp coil on the PLC', async () => (await coil.readCoils(0, 1)).data[0] === true, 30_000, 100);
      await waitFor('"1 fired" under defect-rule in the editor', async () => /1 fired/.test(await statusText(page, rules)), 30_000);
      await browser.shot('coil-lit');
    } finally {
      coil.close(() => {});
    }
  });
});
