// The defect-rule editor in a real browser against a real line runtime: add a rule in the table, fill
// its form, see validation as you type, try it on pasted inspections, export the JSON, disable a rule,
// deploy, and find exactly that rule set in the runtime.
import assert from 'node:assert/strict';
import { closeTray, deploy, dragFromPalette, openEditor, openNode, invalidNodes } from './support/editor';
import { useE2E } from './support/harness';

const field = (name: string) => `#dr-form .dr-f[data-field="${name}"]`;

describe('e2e: defect-rule editor (Chromium + real line runtime)', function () {
  this.timeout(180_000);
  const e2e = useE2E();

  it('builds a rule in the table and form, validates as you type, tries it, and deploys it', async () => {
    const rt = await e2e.runtime({ tier: 'line' });
    const browser = await e2e.browser('defect-rule-editor');
    const { page } = browser;
    await openEditor(page, rt.url);
    const id = await dragFromPalette(page, 'defect-rule', { x: 300, y: 150 });
    await openNode(page, id);
    await page.fill('#node-input-name', 'line 1 rules');
    await page.fill('#node-input-knownClasses', 'scratch, dent, crack');

    // add a rule with the table's add button: a fresh rule, selected in the form
    await page.click('#dr-rule-list + .red-ui-editableList-addButton, .red-ui-editableList-addButton >> nth=0');
    await page.waitForSelector('#dr-rule-list .dr-row');
    assert.equal(await page.inputValue(field('id')), 'rule-1');

    await page.fill(field('id'), 'scratch-burst');
    await page.fill(field('classes'), 'scrach');
    await page.waitForSelector('#dr-problems:has-text("is not a known defect class")', { timeout: 15_000 });
    await page.fill(field('classes'), 'scratch');
    await page.fill(field('minConfidence'), '0.8');
    await page.selectOption('#dr-window-kind', 'count');
    await page.waitForSelector('#dr-problems:has-text("window.count")', { timeout: 15_000 });
    assert.match(await page.innerText('#dr-problems'), /scratch-burst.*window\.count.*is required for a count window/s);
    await page.fill(field('count'), '2');
    await page.fill(field('durationMs'), '60000');
    await page.fill(field('writes'), 'AlarmLamp=true');
    await page.fill(field('holdMs'), '3000');
    await page.waitForSelector('#dr-problems:has-text("rules are valid")', { timeout: 15_000 });
    assert.match(await page.innerText('#dr-rule-list'), /scratch-burst[\s\S]*scratch >= 0\.8, 2 within 60000 ms → alarm \(AlarmLamp=true\)/);
    await browser.shot('rule-form');

    // try it: two scratches 1 s apart fire on the second; the hold then resets the lamp
    const insp = (n: number, t: number) => ({ inspectionId: `t${n}`, site: 'p', line: 'l1', cameraId: 'c', capturedAt: t, detections: [{ defectClass: 'scratch', confidence: 0.9 }] });
    await page.fill('#dr-try-input', JSON.stringify([insp(1, 1_000), insp(2, 2_000)]));
    await page.click('#dr-try-run');
    await page.waitForSelector('#dr-try-output:has-text("fires")', { timeout: 15_000 });
    const tried = await page.innerText('#dr-try-output');
    assert.match(tried, /t1: fail[\s\S]*matches scratch-burst: .*1 of 2 matching/);
    assert.match(tried, /t2: fail[\s\S]*fires scratch-burst: .*2 matching inspections within 60000 ms[\s\S]*alarm writes AlarmLamp=true/);
    assert.match(tried, /hold of scratch-burst ends: writes AlarmLamp=false/);
    await browser.shot('try-it');

    // a second rule, disabled in the table
    await page.click('.red-ui-editableList-addButton >> nth=0');
    await page.waitForFunction(() => document.querySelectorAll('#dr-rule-list .dr-row').length === 2);
    await page.fill(field('id'), 'crack-stop');
    await page.fill(field('classes'), 'crack');
    await page.selectOption(field('actionKind'), 'stop');
    await page.fill(field('writes'), 'line_stop=true');
    await page.locator('#dr-rule-list .dr-row').nth(1).locator('.dr-enabled').uncheck();

    // export shows the JSON of both
    await page.click('#dr-export');
    const exported = JSON.parse(await page.inputValue('#dr-json'));
    assert.deepEqual(exported.map((r: any) => [r.id, r.enabled]), [['scratch-burst', undefined], ['crack-stop', false]]);
    await page.waitForSelector('#dr-problems:has-text("rules are valid")', { timeout: 15_000 });
    await page.locator('#dr-rule-list').scrollIntoViewIfNeeded();
    await browser.shot('rule-table');

    await closeTray(page);
    assert.deepEqual(await invalidNodes(page), []);
    await deploy(page);
    const flows = (await (await rt.request('GET', 'flows')).json()) as Array<Record<string, any>>;
    const node = flows.find((n) => n.type === 'defect-rule')!;
    assert.equal(node.name, 'line 1 rules');
    assert.deepEqual(node.rules, [
      { id: 'scratch-burst', condition: { classes: ['scratch'], minConfidence: 0.8 }, window: { kind: 'count', count: 2, durationMs: 60000 }, action: { kind: 'alarm', severity: 'warning', writes: [{ tag: 'AlarmLamp', value: true }], holdMs: 3000 } },
      { id: 'crack-stop', enabled: false, condition: { classes: ['crack'], minConfidence: 0.8 }, window: { kind: 'each' }, action: { kind: 'stop', severity: 'warning', writes: [{ tag: 'line_stop', value: true }], holdMs: 5000 } },
    ]);

    // JSON import replaces the rules
    await openNode(page, id);
    await page.fill('#dr-json', JSON.stringify([{ id: 'imported', condition: {}, window: { kind: 'each' }, action: { kind: 'notify', writes: [] } }]));
    await page.click('#dr-import');
    await page.waitForFunction(() => document.querySelectorAll('#dr-rule-list .dr-row').length === 1);
    assert.equal(await page.inputValue(field('id')), 'imported');
    await page.waitForSelector('#dr-problems:has-text("rules are valid")', { timeout: 15_000 });
    await closeTray(page);
    await deploy(page);
    const after = (await (await rt.request('GET', 'flows')).json()) as Array<Record<string, any>>;
    assert.deepEqual(after.find((n) => n.type === 'defect-rule')!.rules.map((r: any) => r.id), ['imported']);
    await browser.shot('imported');
  });
});
