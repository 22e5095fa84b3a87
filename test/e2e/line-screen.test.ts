// The line screen of the line-inspection template (Dashboard 2.0) as an operator sees it, in Chromium: a
// real line runtime runs the template against the simulated PLC (`linesight simulate plc`) and the
// simulated camera (`linesight simulate camera`) sends products. A defect the camera sends shows on the
// screen, its boxes drawn and the shift's counts moved, within two seconds of the camera sending it
// (measured from the camera's capture time, which it stamps as it sends); the lamp and the line state
// follow the PLC, also when it goes away; and the page loads nothing from anywhere but the runtime on
// 127.0.0.1.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { exampleFlow, loadTemplate } from '../../runtime/dev/demo/templates';
import { startChild, type Child } from '../../runtime/dev/demo/children';
import { freePort, mqttService } from '../support/services';
import { waitFor } from '../support/wait';
import { openEditor } from './support/editor';
import { useE2E } from './support/harness';

/** What the page recorded: each defect it showed, when it appeared, and what the shift panel said then. */
interface Shown {
  inspectionId: string;
  capturedAt: number;
  shownAt: number;
  failed: number;
}

describe('e2e: the line screen (Dashboard 2.0) of line-inspection, with the simulated camera and PLC (Chromium)', function () {
  this.timeout(300_000);
  const e2e = useE2E();

  async function child(name: string, args: string[], ready: RegExp): Promise<Child> {
    const c = startChild(name, args, { logDir: e2e.dir(`linesight-e2e-${name}-`) });
    e2e.defer(`stop the ${name}`, () => c.stop(5000));
    await c.waitFor(ready, 60_000);
    return c;
  }

  it('shows a defect from the camera with its boxes within 2 s, moves the counts, follows lamp and line state (PLC gone: offline), and loads nothing from off the machine', async () => {
    const plcPort = await freePort();
    const cameraPort = await freePort();
    const plc = await child('plc-simulator', ['simulate', 'plc', '--host', '127.0.0.1', '--port', String(plcPort)], /^ready$/);
    const mqtt = await mqttService();
    const site = `e2escreen${randomBytes(3).toString('hex')}`;
    const rt = await e2e.runtime({ tier: 'line' });
    const flow = exampleFlow(loadTemplate('line-inspection'), {
      SITE: site, LINE: 'line7', CAMERA_PORT: cameraPort, PLC_HOST: '127.0.0.1', PLC_PORT: plcPort, UPLINK_URL: mqtt.url, UPLINK_MQTT: mqtt.protocolVersion,
    });
    await rt.deploy(flow);

    const browser = await e2e.browser('line-screen');
    const { page } = browser;
    const offMachine: string[] = [];
    page.on('request', (req) => {
      const url = new URL(req.url());
      // data: and blob: URLs never leave the page; everything else must go to the runtime on this machine.
      if (url.protocol === 'data:' || url.protocol === 'blob:') return;
      if (url.hostname !== '127.0.0.1') offMachine.push(req.url());
    });
    page.on('websocket', (ws) => {
      if (new URL(ws.url()).hostname !== '127.0.0.1') offMachine.push(ws.url());
    });
    // Every defect the screen shows, stamped with the browser's clock (the same machine's clock the camera
    // stamps its capture time with) the moment it appears.
    await page.addInitScript(() => {
      const shown: unknown[] = [];
      (window as any).__lsShown = shown;
      let last = '';
      new MutationObserver(() => {
        const el = document.querySelector('[data-test="last-defect"]');
        const id = el?.getAttribute('data-inspection-id') ?? '';
        if (!id || id === last || !el!.querySelector('img[data-test="defect-image"]')) return;
        last = id;
        const failed = Number(document.querySelector('[data-test="shift"]')?.getAttribute('data-failed') ?? -1);
        shown.push({ inspectionId: id, capturedAt: Number(el!.getAttribute('data-captured-at')), shownAt: Date.now(), failed });
      }).observe(document, { subtree: true, childList: true, attributes: true });
    });
    await page.goto(`${rt.url}dashboard/line`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('[data-test="line-status"]', { timeout: 60_000 });
    // The simulated line runs up to speed on its own: the PLC read reaches the screen.
    await page.waitForSelector('[data-test="line-status"].ls-state-running', { timeout: 60_000 });
    assert.match(await page.textContent('[data-test="line-speed"]') ?? '', /^\d+\.\d\s*m\/min$/);
    assert.equal(await page.getAttribute('[data-test="line-status"] .ls-lamp', 'data-lamp'), 'off');
    assert.equal(await page.getAttribute('[data-test="shift"]', 'data-failed'), '0', 'no defect before the camera starts');
    await browser.shot('before-the-camera');

    await child('camera-simulator', ['simulate', 'camera', '--target', `127.0.0.1:${cameraPort}`, '--rate', '2', '--size', '640x400', '--defect-rate', '0.5', '--camera-id', 'screen-cam'], /^camera: /);
    const shown = await waitFor('three defects from the camera on the screen', async () => {
      const list = (await page.evaluate(() => (window as any).__lsShown)) as Shown[];
      return list.length >= 3 ? list : undefined;
    }, 60_000, 100);
    for (const s of shown) assert.match(s.inspectionId, /^screen-cam-/, 'the defect is one the simulated camera sent');
    const delays = shown.map((s) => s.shownAt - s.capturedAt);
    console.log(`      line screen: defects shown ${delays.map((d) => `${d} ms`).join(', ')} after the camera sent them`);
    for (const d of delays) assert.ok(d >= 0 && d <= 2000, `a defect is on the screen within 2 s of the camera sending it (took ${d} ms)`);
    // The counts go out at once for a defect, its picture after drawing: when it shows, its count is in.
    assert.ok(shown.every((s, i) => s.failed >= i + 1 && (i === 0 || s.failed >= shown[i - 1]!.failed)), `the failed count has moved with every defect shown: ${shown.map((s) => s.failed).join(', ')}`);

    // The picture is image-compress's annotated copy: the boxes (drawn in #ff2d2d) are in its pixels.
    const boxPixels = await page.evaluate(async () => {
      const img = document.querySelector('img[data-test="defect-image"]') as HTMLImageElement;
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      const ctx = canvas.getContext('2d')!;
      ctx.drawImage(img, 0, 0);
      const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      let red = 0;
      for (let i = 0; i < px.length; i += 4) if (px[i]! > 200 && px[i + 1]! < 90 && px[i + 2]! < 90) red++;
      return red;
    });
    assert.ok(boxPixels > 100, `the shown image has its boxes drawn (${boxPixels} box-red pixels)`);
    const classes = await page.$$eval('[data-test="shift"] .ls-class-row', (rows) => rows.map((r) => [r.getAttribute('data-class'), Number(r.getAttribute('data-count'))]));
    assert.ok(classes.length > 0 && classes.every(([name, n]) => ['scratch', 'dent', 'hole'].includes(String(name)) && Number(n) > 0), `defects per class: ${JSON.stringify(classes)}`);
    assert.match(await page.textContent('[data-test="pass-rate"]') ?? '', /^\d+\.\d % pass$/);

    // A hole lights the alarm lamp (hole-alarm rule -> plc-write -> PLC coil); the screen reads the coil back.
    // Lamp and state come from the same PLC read but render as the page updates: wait for both together.
    await page
      .waitForFunction(() => document.querySelector('[data-test="line-status"] .ls-lamp')?.getAttribute('data-lamp') === 'on' && document.querySelector('[data-test="line-state"]')?.textContent === 'ALARM', undefined, { timeout: 60_000 })
      .catch(async (err: Error) => {
        const lamp = await page.getAttribute('[data-test="line-status"] .ls-lamp', 'data-lamp');
        throw new Error(`the lamp lit with the line state ALARM: lamp ${lamp}, state ${await page.textContent('[data-test="line-state"]')} (${err.message})`);
      });
    await browser.shot('line-screen');
    assert.ok(await page.locator('canvas').count() > 0, 'the speed trend chart is drawn');
    assert.deepEqual(offMachine, [], 'the line screen loads nothing from off this machine (no CDN)');

    // The PLC goes away: the screen says so, in grey, with the reason, instead of showing stale values as live.
    await plc.stop(5000);
    await page.waitForSelector('[data-test="line-status"].ls-state-offline', { timeout: 30_000 });
    assert.equal(await page.textContent('[data-test="line-state"]'), 'OFFLINE');
    assert.equal(await page.getAttribute('[data-test="line-status"] .ls-lamp', 'data-lamp'), 'unknown');
    assert.match(await page.textContent('[data-test="line-status"] .ls-reason') ?? '', /\S/, 'the reason is shown');
    await browser.shot('plc-offline');

    // The same flow in the editor: every node, the dashboard's included, is valid.
    await openEditor(page, rt.url);
    const invalid = await page.evaluate(() => {
      const RED = (window as any).RED;
      const bad: string[] = [];
      const check = (n: any) => {
        if (n.valid === false) bad.push(`${n.type} ${n.id}`);
      };
      RED.nodes.eachNode(check);
      RED.nodes.eachConfig(check);
      return bad;
    });
    await browser.shot('editor');
    assert.deepEqual(invalid, [], 'no invalid node in the editor');
  });
});
