// The vision-detect editor as a person uses it (Chromium, real line runtime): drag the node in, the form
// shows the model by name with the models-folder rows, switching to a model file hides them, deploy; the
// node loads the model the agent installed (LINESIGHT_MODELS_DIR) and shows `name@version` under it.
import assert from 'node:assert/strict';
import type { Browser } from './support/browser';
import type { RuntimeProcess } from '../support/runtime-process';
import { waitFor } from '../support/wait';
import { ModelsDir } from '../integration/vision-detect/models-dir';
import { closeTray, deploy, dragFromPalette, invalidNodes, openEditor, openNode, statusText } from './support/editor';
import { useE2E } from './support/harness';

describe('e2e: vision-detect editor (Chromium)', function () {
  this.timeout(180_000);
  const e2e = useE2E();
  let rt: RuntimeProcess | undefined;
  let browser: Browser | undefined;

  before(async function () {
    const models = new ModelsDir();
    e2e.defer('remove the models folder', () => models.remove());
    models.install('1.1.0');
    rt = await e2e.runtime({ tier: 'line', env: { LINESIGHT_MODELS_DIR: models.dir } });
    browser = await e2e.browser('vision-detect-editor');
    await openEditor(browser.page, rt.url);
  });

  it('the form follows the model source; deployed, the node runs the installed model and says which', async () => {
    const page = browser!.page;
    const id = await dragFromPalette(page, 'vision-detect', { x: 300, y: 200 });
    await openNode(page, id);
    assert.equal(await page.inputValue('#node-input-source'), 'name');
    assert.equal(await page.inputValue('#node-input-model'), 'defect-detector');
    assert.ok(await page.isVisible('#node-input-modelsDir'), 'models folder shown for a model by name');
    assert.ok(await page.isVisible('#node-input-pollSeconds'));
    await browser!.shot('vision-detect-form-by-name');
    await page.selectOption('#node-input-source', 'file');
    assert.equal(await page.isVisible('#node-input-modelsDir'), false, 'no models folder for a model file');
    assert.equal(await page.isVisible('#node-input-pollSeconds'), false);
    await browser!.shot('vision-detect-form-file');
    await page.selectOption('#node-input-source', 'name');
    await closeTray(page);
    assert.deepEqual(await invalidNodes(page), []);
    await deploy(page);
    const text = await waitFor('the status under the node', async () => ((await statusText(page, id)) === 'defect-detector@1.1.0' ? 'ok' : ''), 30_000);
    assert.equal(text, 'ok');
    await browser!.shot('vision-detect-deployed');
  });
});
