// Templates in a real browser: line-inspection imported through Import > Examples (parameters set in the
// flow's properties) and through the "Flow repository" sidebar with its parameter form; both deploy,
// and the imported flow really runs: a camera defect lights the alarm coil of the PLC the parameters name.
import assert from 'node:assert/strict';
import { freePort } from '../support/services';
import { waitFor } from '../support/wait';
import { sampleInspection } from '../fixtures/contracts';
import { rawClient } from '../integration/plc/peers';
import { CameraClient, toProtoInspection } from '../../runtime/dev/simulators/camera-client';
import { clickTab, deploy, openEditor } from './support/editor';
import { useE2E } from './support/harness';
import { openRepositorySidebar, selectTemplate } from './support/repo';
import { loadTemplate } from '../../runtime/dev/demo/templates';

/** The shipped line-inspection version the test repository holds, and the patch after it the sidebar suggests. */
const V = loadTemplate('line-inspection').manifest.version;
const NEXT = V.replace(/\d+$/, (p) => String(Number(p) + 1));

const hole = (id: string, line: string) => ({ ...sampleInspection(1, 0), inspectionId: id, line, detections: [{ defectClass: 'hole', confidence: 0.95, box: { x: 5, y: 5, width: 10, height: 10 } }] });

describe('e2e: flow templates (Chromium + real line runtime)', function () {
  this.timeout(240_000);
  const e2e = useE2E();

  async function lampLightsFor(grpcPort: number, modbusPort: number, line: string): Promise<void> {
    const coil = await rawClient(modbusPort);
    try {
      assert.equal((await coil.readCoils(0, 1)).data[0], false, 'lamp off before the defect');
      const camera = new CameraClient({ target: `127.0.0.1:${grpcPort}` });
      e2e.defer('close the camera client', () => camera.close());
      await waitFor('camera-intake of the imported flow accepts an inspection', async () => camera.submit(toProtoInspection(hole(`e2e-${Date.now()}`, line))).then(() => true, () => false), 60_000, 500);
      await waitFor('the alarm lamp coil, lit by the imported hole-alarm rule', async () => (await coil.readCoils(0, 1)).data[0] === true, 30_000, 100);
    } finally {
      coil.close(() => {});
    }
  }

  it('imports line-inspection through Import > Examples, sets its parameters in the flow properties, deploys, and it runs', async () => {
    const modbusPort = await freePort();
    const grpcPort = await freePort();
    await e2e.plc({ co: { 0: 0, 2: 0 } }, { port: modbusPort });
    const rt = await e2e.runtime({ tier: 'line' });
    const browser = await e2e.browser('templates-import-examples');
    const { page } = browser;
    await openEditor(page, rt.url);

    await page.click('#red-ui-header-button-sidemenu');
    await page.click('#menu-item-import');
    await page.waitForSelector('#red-ui-clipboard-dialog-import-tabs', { state: 'visible' });
    await page.click('#red-ui-clipboard-dialog-import-tabs a:has-text("Examples")');
    const tree = page.locator('#red-ui-clipboard-dialog-import-tab-examples');
    await tree.locator('.red-ui-treeList-label:has-text("linesight")').first().click();
    await tree.locator('.red-ui-treeList-label:has-text("line-inspection")').first().click();
    await browser.shot('examples-dialog');
    await page.click('#red-ui-clipboard-dialog-ok');
    await page.waitForFunction(() => (window as any).RED.nodes.workspace('li-tab') !== undefined, null, { timeout: 30_000 });
    // Importing a flow with its own tab opens it; drop anything still attached to the mouse.
    await page.keyboard.press('Escape').catch(() => {});
    await page.evaluate(() => (window as any).RED.workspaces.show('li-tab'));
    await browser.shot('imported');

    // The parameters are the flow's environment variables: set them where a person would, in the flow's properties.
    await page.dblclick('#red-ui-tab-li-tab');
    await page.waitForSelector('.red-ui-tray #node-dialog-ok', { state: 'visible' });
    await clickTab(page, 'editor-tab-envProperties');
    await page.waitForSelector('.red-ui-tray input.node-input-env-name', { state: 'visible' });
    const setEnv = async (name: string, value: string) => {
      const row = page.locator('.red-ui-tray li').filter({ has: page.locator(`input.node-input-env-name`) }).filter({ hasText: '' });
      const n = await row.count();
      for (let i = 0; i < n; i++) {
        const r = row.nth(i);
        if ((await r.locator('input.node-input-env-name').inputValue()) === name) {
          // typedInput hides the original input behind its own visible one.
          await r.locator('.red-ui-typedInput-container input:visible').first().fill(value);
          return;
        }
      }
      throw new Error(`no env row ${name}`);
    };
    await setEnv('CAMERA_PORT', String(grpcPort));
    await setEnv('PLC_PORT', String(modbusPort));
    await setEnv('LINE', 'line5');
    await browser.shot('flow-properties');
    await page.click('.red-ui-tray #node-dialog-ok');
    await page.waitForTimeout(500);

    await deploy(page);
    await browser.shot('deployed');
    const flows = (await (await rt.request('GET', 'flows')).json()) as Array<Record<string, any>>;
    const tab = flows.find((n) => n.id === 'li-tab');
    assert.ok(tab, 'the line-inspection tab is deployed');
    assert.equal(tab.env.find((e: any) => e.name === 'PLC_PORT')?.value, String(modbusPort));
    assert.ok(flows.some((n) => n.type === 'camera-intake' && n.port === '${CAMERA_PORT}'), 'nodes keep their ${PARAM} placeholders');
    await lampLightsFor(grpcPort, modbusPort, 'line5');
    await browser.shot('lamp-lit');
  });

  it('imports line-inspection through the Flow repository sidebar with its parameter form, deploys, and it runs', async () => {
    const modbusPort = await freePort();
    const grpcPort = await freePort();
    await e2e.plc({ co: { 0: 0, 2: 0 } }, { port: modbusPort });
    const repo = await e2e.repo(['line-inspection']);
    const rt = await e2e.runtime({ tier: 'line', env: repo.env });
    const browser = await e2e.browser('templates-import-sidebar');
    const { page } = browser;
    await openEditor(page, rt.url);
    // The token stays on the server: nothing the editor loads carries it.
    assert.doesNotMatch(await page.content(), new RegExp(repo.env.LINESIGHT_REPOSITORY_TOKEN));

    await openRepositorySidebar(page);
    await selectTemplate(page, 'line-inspection');
    await browser.shot('sidebar-versions');
    await page.click(`#ls-repo-versions tr[data-version="${V}"] .ls-repo-import`);
    await page.waitForSelector('#ls-repo-param-PLC_PORT');
    // A wrong value is refused by the form, naming the field.
    await page.fill('#ls-repo-param-PLC_PORT', 'five-oh-two');
    await page.click('#ls-repo-import-go');
    await page.waitForSelector('#ls-repo-import-msg.ls-bad:has-text("PLC_PORT must be a number")');
    await browser.shot('parameter-form-refuses');
    await page.fill('#ls-repo-param-PLC_PORT', String(modbusPort));
    await page.fill('#ls-repo-param-CAMERA_PORT', String(grpcPort));
    await page.fill('#ls-repo-param-SITE', 'plant9');
    await page.fill('#ls-repo-param-LINE', 'line3');
    await page.selectOption('#ls-repo-param-UPLINK_MQTT', '4');
    await browser.shot('parameter-form');
    await page.click('#ls-repo-import-go');
    await page.waitForSelector('#ls-repo-import-msg.ls-good');
    await page.waitForFunction(() => (window as any).RED.nodes.workspace('li-tab') !== undefined);
    await page.keyboard.press('Escape').catch(() => {});
    await browser.shot('imported');

    await deploy(page);
    await browser.shot('deployed');
    const flows = (await (await rt.request('GET', 'flows')).json()) as Array<Record<string, any>>;
    const env = Object.fromEntries(flows.find((n) => n.id === 'li-tab')!.env.map((e: any) => [e.name, e.value]));
    assert.equal(env.SITE, 'plant9');
    assert.equal(env.PLC_PORT, String(modbusPort));
    assert.equal(env.UPLINK_MQTT, '4');
    assert.equal(env.SPEED_REGISTER, 'hr:0', 'untouched parameters keep their defaults');
    await lampLightsFor(grpcPort, modbusPort, 'line3');
    await browser.shot('lamp-lit');
  });
});
