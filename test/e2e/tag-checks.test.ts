// Tag names are checked where a person types them (#16), in Chromium against a real line runtime with the
// shipped line-inspection example: a defect-rule write copied with another spelling ("alarm_lamp") is
// named in red in the rule form with the table's spelling, marks the node invalid, and after a deploy
// anyway the node's status is red and names it; plc-read's form adds tags from its endpoint's table and
// flags an unknown one; plc-write's form names the tags it can write.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../runtime/paths';
import { freePort } from '../support/services';
import { waitFor } from '../support/wait';
import { closeTray, invalidNodes, openEditor, openNode, statusText } from './support/editor';
import { useE2E } from './support/harness';

const field = (name: string) => `#dr-form .dr-f[data-field="${name}"]`;

describe('e2e: tag names checked in the editor and at deploy (Chromium + real line runtime)', function () {
  this.timeout(240_000);
  const e2e = useE2E();

  it('a defect-rule write the wired plc-write cannot take is red in the form, on the node, and in its status after deploy', async () => {
    const rt = await e2e.runtime({ tier: 'line' });
    const browser = await e2e.browser('tag-checks');
    const { page } = browser;
    await openEditor(page, rt.url);
    // The shipped example, on ports of this test's own (no PLC listens on PLC_PORT, no broker on the uplink).
    const flow = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'examples', 'line-inspection.json'), 'utf8')) as Array<Record<string, any>>;
    const tab = flow.find((n) => n.type === 'tab')!;
    const own: Record<string, string> = { CAMERA_PORT: String(await freePort()), PLC_PORT: String(await freePort()), UPLINK_URL: `mqtt://127.0.0.1:${await freePort()}` };
    tab.env = (tab.env as Array<{ name: string; value: string }>).map((e) => (own[e.name] ? { ...e, value: own[e.name] } : e));
    await page.evaluate((f) => {
      const RED = (window as any).RED;
      RED.view.importNodes(f, { generateIds: false, addFlow: false });
      RED.workspaces.show(f.find((n: any) => n.type === 'tab')!.id);
    }, flow);
    await page.keyboard.press('Escape').catch(() => {});
    assert.deepEqual(await invalidNodes(page), [], 'the example opens valid');

    // The README once said alarm_lamp: type it into the hole-alarm rule's writes.
    await openNode(page, 'li-rules');
    await page.click('#dr-rule-list .dr-row >> nth=0');
    await page.fill(field('writes'), 'alarm_lamp=true');
    await page.waitForSelector('#dr-problems:has-text("alarm_lamp")', { timeout: 15_000 });
    const problems = await page.innerText('#dr-problems');
    assert.match(problems, /hole-alarm\s+action\.writes\[0\]\.tag\s+"alarm_lamp" is not a tag of plc-write "line actions" \(plc-endpoint "line PLC"\); did you mean "AlarmLamp"\?/);
    await browser.shot('rule-form-unknown-tag');
    await closeTray(page);
    assert.deepEqual(await invalidNodes(page), ['defect-rule li-rules'], 'the node carries the warning triangle');
    const why = await page.evaluate(() => (window as any).RED.nodes.node('li-rules').validationErrors as string[]);
    assert.match(why.join(' '), /alarm_lamp/);
    await browser.shot('node-invalid');

    // Deployed anyway (the editor asks first): the runtime checks too, red status naming the tag.
    await page.click('#red-ui-header-button-deploy');
    await page.waitForSelector('.red-ui-notification:has-text("not properly configured")', { timeout: 30_000 });
    assert.match(await page.innerText('.red-ui-notification:has-text("not properly configured")'), /defect rules \(defect-rule\)/);
    await page.click('.red-ui-notification button:has-text("Confirm deploy")');
    await page.waitForSelector('.red-ui-notification:has-text("Successfully deployed")', { timeout: 60_000 });
    await waitFor('the defect-rule status names the tag', async () => /alarm_lamp/.test(await statusText(page, 'li-rules')), 30_000, 250);
    const dot = await page.locator('[id="li-rules"] .red-ui-flow-node-status').getAttribute('class');
    assert.match(dot ?? '', /red-ui-flow-node-status-dot-red/, 'a red dot');
    assert.match(await statusText(page, 'li-rules'), /^rule hole-alarm: "alarm_lamp" is not a tag of plc-write/);
    assert.match(rt.output(), /defect-rule "defect rules": rule "hole-alarm" action\.writes\[0\]\.tag: "alarm_lamp" is not a tag/);
    await browser.shot('deployed-red-status');

    // Fixed with the table's spelling: valid again.
    await openNode(page, 'li-rules');
    await page.click('#dr-rule-list .dr-row >> nth=0');
    await page.fill(field('writes'), 'AlarmLamp=true');
    await page.waitForSelector('#dr-problems:has-text("rules are valid")', { timeout: 15_000 });
    await closeTray(page);
    assert.deepEqual(await invalidNodes(page), []);
  });

  it('plc-read adds tags from its endpoint\'s table and flags an unknown one; plc-write names the writable tags', async () => {
    const rt = await e2e.runtime({ tier: 'line' });
    const browser = await e2e.browser('tag-pickers');
    const { page } = browser;
    await openEditor(page, rt.url);
    const flow = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'examples', 'line-inspection.json'), 'utf8'));
    await page.evaluate((f) => {
      const RED = (window as any).RED;
      RED.view.importNodes(f, { generateIds: false, addFlow: false });
      RED.workspaces.show('li-tab');
    }, flow);
    await page.keyboard.press('Escape').catch(() => {});

    await openNode(page, 'li-read');
    const options = await page.locator('.ls-tag-picker option').allInnerTexts();
    assert.deepEqual(options, ['+ tag', 'AlarmLamp', 'Diverter', 'LineSpeed', 'GoodCount']);
    await page.fill('#node-input-tags', 'LineSpeed, line_speed');
    await page.locator('#node-input-tags').dispatchEvent('change');
    await page.waitForSelector('#node-input-tags.input-error', { timeout: 10_000 });
    await browser.shot('plc-read-unknown-tag');
    await page.fill('#node-input-tags', 'LineSpeed');
    await page.selectOption('.ls-tag-picker', 'GoodCount');
    assert.equal(await page.inputValue('#node-input-tags'), 'LineSpeed, GoodCount');
    await page.waitForSelector('#node-input-tags:not(.input-error)');
    await browser.shot('plc-read-tag-picker');
    await closeTray(page);

    await openNode(page, 'li-write');
    assert.equal(await page.innerText('.ls-writable-tags'), 'Writable tags: AlarmLamp, Diverter');
    await browser.shot('plc-write-writable-tags');
    await closeTray(page);
    assert.deepEqual(await invalidNodes(page), []);
  });
});
