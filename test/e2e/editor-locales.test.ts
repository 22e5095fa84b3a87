// The editor in Simplified Chinese, the way a person at a plant sets it (Node-RED 4.1 keeps the user's
// language choice in localStorage "editor-language"; without it, the browser's language): the runtime
// answers the node's Chinese catalog on /locales/<module>/<node>, the plc-read form shows Chinese
// labels and placeholders, and the help sidebar shows the Chinese help.
import assert from 'node:assert/strict';
import type { RuntimeProcess } from '../support/runtime-process';
import { clickTab, dragFromPalette, openEditor, openNode } from './support/editor';
import { useE2E } from './support/harness';

describe('e2e: the editor in zh-CN (Chromium + real line runtime)', function () {
  this.timeout(180_000);
  const e2e = useE2E();
  let rt: RuntimeProcess | undefined;
  let setId = '';

  before(async function () {
    rt = await e2e.runtime({ tier: 'line' });
    const sets = (await (await rt.request('GET', 'nodes')).json()) as Array<{ id: string; types: string[] }>;
    setId = sets.find((s) => s.types.includes('plc-read'))?.id ?? '';
    assert.ok(setId, 'the runtime lists the node set of plc-read');
  });

  it('answers GET /locales/<module>/<node>?lng=zh-CN with the Chinese catalog, the kit\'s words included', async () => {
    const zh = (await (await rt!.request('GET', `locales/${setId}?lng=zh-CN`)).json()) as Record<string, any>;
    assert.equal(zh['plc-read'].label.intervalMs, '周期');
    assert.equal(zh.kit.label.name, '名称');
    assert.equal(zh.kit.status.connecting, '连接中');
    const en = (await (await rt!.request('GET', `locales/${setId}?lng=en-US`)).json()) as Record<string, any>;
    assert.equal(en['plc-read'].label.intervalMs, 'Every');
  });

  it('shows the plc-read form and its help in Chinese', async () => {
    const browser = await e2e.browser('editor-locales');
    const page = browser.page;
    await page.addInitScript(() => localStorage.setItem('editor-language', 'zh-CN'));
    await openEditor(page, rt!.url);
    const id = await dragFromPalette(page, 'plc-read', { x: 300, y: 200 });

    await page.locator(`[id="${id}"] .red-ui-flow-node`).first().click();
    await clickTab(page, 'help');
    const helpPanel = page.locator('.red-ui-help', { hasText: '按周期' }).first();
    await helpPanel.waitFor({ timeout: 15_000 });
    const help = await helpPanel.innerText();
    assert.match(help, /按周期、在收到消息时或两者兼有地从 PLC 读取标签/);
    assert.match(help, /输入/);
    await browser.shot('help-zh-cn');

    await openNode(page, id);
    assert.equal((await page.locator('label[for="node-input-intervalMs"]').innerText()).trim(), '周期');
    assert.equal((await page.locator('label[for="node-input-name"]').innerText()).trim(), '名称');
    assert.equal(await page.getAttribute('#node-input-tags', 'placeholder'), 'LineSpeed, GoodCount（留空：全部标签）');
    assert.match(await page.locator('.red-ui-tray').innerText(), /毫秒（0 = 仅在收到消息时读取）/);
    // The validators derived from the schema give their reasons in the editor's language too.
    const reasons = await page.evaluate(() => {
      const validate = (window as any).RED.nodes.getType('plc-read').defaults.intervalMs.validate;
      return [validate.call({}, '-5', { label: '周期' }), validate.call({}, '1.5', { label: '周期' }), validate.call({}, '1000', {})];
    });
    assert.deepEqual(reasons, ['周期: 不能小于 0', '周期: 不是整数', true]);
    await page.fill('#node-input-intervalMs', '-5');
    await page.press('#node-input-intervalMs', 'Tab');
    await page.locator('#node-input-intervalMs.input-error').waitFor({ timeout: 5_000 });
    await browser.shot('form-zh-cn');
  });
});
