// Remote deploy from the editor: in one runtime's "Flow repository" sidebar a user imports
// line-inspection, changes it, publishes it as a new version with a changelog, compares the two
// versions, and deploys the new one to another runtime (a device under its edge agent). The sidebar
// shows the rollout reach `running`, and the other runtime really runs the new version.
import assert from 'node:assert/strict';
import { freePort, mqttService } from '../support/services';
import { waitFor } from '../support/wait';
import { startChild } from '../../runtime/dev/demo/children';
import { defaultParameters } from '../../contracts/fleet/templates';
import { loadTemplate } from '../../runtime/dev/demo/templates';
import { clickTab, closeTray, openEditor, openNode } from './support/editor';
import { useE2E } from './support/harness';
import { openRepositorySidebar, selectTemplate } from './support/repo';

/** The shipped line-inspection version the test repository holds, and the patch after it the sidebar suggests. */
const V = loadTemplate('line-inspection').manifest.version;
const esc = (v: string) => v.replace(/\./g, '\\.');
const NEXT = V.replace(/\d+$/, (p) => String(Number(p) + 1));

describe('e2e: remote deploy from the Flow repository sidebar (Chromium, repository, edge agent)', function () {
  this.timeout(300_000);
  const e2e = useE2E();

  it('publishes a changed flow as the next patch version, shows the diff, deploys it to line-b and the rollout reaches running', async () => {
    const mqtt = await mqttService();
    const modbusPort = await freePort();
    await e2e.plc({ co: { 0: 0, 2: 0 } }, { port: modbusPort });
    const repo = await e2e.repo(['line-inspection']);

    // The other runtime: a line device following the repository through its edge agent.
    const parameters = {
      ...defaultParameters(loadTemplate('line-inspection').manifest),
      CAMERA_PORT: await freePort(), PLC_PORT: modbusPort, LINE: 'line-b', UPLINK_URL: mqtt.url, UPLINK_MQTT: mqtt.protocolVersion,
    };
    const { token } = await repo.client.registerDevice({ id: 'line-b', tier: 'line', labels: { cell: 'b' }, parameters, pollIntervalSeconds: 2 });
    const devicePort = await freePort();
    const deviceDir = e2e.dir('linesight-e2e-device-');
    const device = startChild('line-b', ['runtime', '--tier', 'line', '--port', String(devicePort), '--user-dir', deviceDir, '--insecure', '--log-level', 'warn',
      '--device', 'line-b', '--repo', repo.server.url, '--poll-interval', '2', '--health-window', '3'], { logDir: deviceDir, env: { LINESIGHT_DEVICE_TOKEN: token } });
    e2e.defer('stop the line-b device (agent and runtime)', () => device.stop());
    await device.waitFor(/linesight agent for device line-b/, 120_000);

    const editorRt = await e2e.runtime({ tier: 'line', env: repo.env });
    const browser = await e2e.browser('remote-deploy');
    const { page } = browser;
    await openEditor(page, editorRt.url);
    await openRepositorySidebar(page);
    await waitFor('line-b in the fleet table', async () => (await page.locator('#ls-repo-fleet tr[data-device="line-b"]').count()) > 0, 30_000, 500);
    await browser.shot('fleet');

    // Import the shipped version, change the rules node, publish the next patch.
    await selectTemplate(page, 'line-inspection');
    await page.click(`#ls-repo-versions tr[data-version="${V}"] .ls-repo-import`);
    await page.click('#ls-repo-import-go');
    await page.waitForSelector('#ls-repo-import-msg.ls-good');
    await page.keyboard.press('Escape').catch(() => {});
    await page.click('#red-ui-tab-li-tab a');

    // A flow that reads a parameter the template does not declare is refused in the sidebar, naming the
    // property, before anything is sent (the check the repository itself applies).
    await openNode(page, 'li-rules');
    await page.fill('#node-input-name', '${PLANT}');
    await closeTray(page);
    await clickTab(page, 'linesight-flow-repository');
    await page.selectOption('#ls-repo-publish-template', 'line-inspection');
    await page.fill('#ls-repo-publish-changelog', 'names the rules node after the plant');
    await page.click('#ls-repo-publish-go');
    await page.waitForSelector('#ls-repo-publish-msg.ls-bad:has-text("Not published")');
    assert.match(await page.locator('#ls-repo-publish-msg').innerText(), /flow\[\d+\]\.name uses parameter "PLANT", which the template's parameter schema does not declare/);
    await browser.shot('refused-undeclared-parameter');
    assert.deepEqual((await repo.client.listVersions('line-inspection')).map((v) => v.version), [`${V}`], 'nothing was published');

    await openNode(page, 'li-rules');
    await page.fill('#node-input-name', 'defect rules (tuned)');
    await closeTray(page);
    await browser.shot('changed');

    await clickTab(page, 'linesight-flow-repository');
    await page.selectOption('#ls-repo-publish-template', 'line-inspection');
    assert.equal(await page.inputValue('#ls-repo-publish-version'), `${NEXT}`, 'the next patch version is suggested');
    await page.fill('#ls-repo-publish-changelog', 'rules node renamed after tuning');
    await page.click('#ls-repo-publish-go');
    await page.waitForSelector(`#ls-repo-publish-msg.ls-good:has-text("Published line-inspection@${NEXT}")`);
    await page.waitForSelector(`#ls-repo-versions tr[data-version="${NEXT}"]`);
    await browser.shot('published');
    const v = await repo.client.getVersion('line-inspection', `${NEXT}`);
    assert.equal(v.changelog, 'rules node renamed after tuning');
    assert.equal((v.flow as any[]).find((n) => n.id === 'li-rules').name, 'defect rules (tuned)');

    // What changed between the two versions.
    await page.check(`#ls-repo-versions tr[data-version="${V}"] .ls-repo-pick`);
    await page.check(`#ls-repo-versions tr[data-version="${NEXT}"] .ls-repo-pick`);
    await page.click('#ls-repo-diff');
    await page.waitForSelector('#ls-repo-diff-summary');
    const diff = await page.locator('#ls-repo-diff-result').innerText();
    assert.match(diff, new RegExp(`${esc(V)} → ${esc(NEXT)}: 0 added, 0 removed`));
    assert.match(diff, /defect-rule "defect rules \(tuned\)".*: name/);
    await browser.shot('diff');

    // Deploy the next patch to line-b and watch the rollout.
    await page.click(`#ls-repo-versions tr[data-version="${NEXT}"] .ls-repo-deploy`);
    await page.fill('#ls-repo-deploy-ids', 'line-b');
    await page.selectOption('#ls-repo-deploy-strategy', 'all');
    await browser.shot('deploy-form');
    await page.click('#ls-repo-deploy-go');
    await page.waitForSelector('#ls-repo-rollout-devices tr[data-device="line-b"]', { timeout: 30_000 });
    await page.waitForSelector('#ls-repo-rollout-devices tr[data-device="line-b"] .ls-state-running', { timeout: 180_000 });
    await browser.shot('rollout-running');
    await page.click('#ls-repo-fleet-refresh');
    await page.waitForSelector(`#ls-repo-fleet tr[data-device="line-b"]:has-text("line-inspection@${NEXT}")`, { timeout: 30_000 });
    await browser.shot('fleet-after');

    // The other runtime runs the new version, with its own parameters.
    const flows = await waitFor('line-b runs the new flow', async () => {
      const res = await fetch(`http://127.0.0.1:${devicePort}/flows`, { headers: { accept: 'application/json' } });
      const f = (await res.json()) as Array<Record<string, any>>;
      return f.find((n) => n.id === 'li-rules')?.name === 'defect rules (tuned)' ? f : undefined;
    }, 60_000, 500);
    const env = Object.fromEntries(flows.find((n) => n.id === 'li-tab')!.env.map((e: any) => [e.name, e.value]));
    assert.equal(env.LINE, 'line-b');
    assert.equal(env.PLC_PORT, String(modbusPort));
  });
});
