// A drifted device names what changed (#16), in the editor's Flow repository sidebar (Chromium): the
// reasons are the agent's own drift report (runtime/agent/drift.ts, the same function the agent logs),
// computed here from a real hand edit of the shipped template and sent with the device's token, as its
// agent sends them; the agent's side runs against real runtimes in test/integration/agent/agent.test.ts.
import assert from 'node:assert/strict';
import { RepoClient } from '../../runtime/repo/client';
import { detectDrift } from '../../runtime/agent/drift';
import { loadTemplate } from '../../runtime/dev/demo/templates';
import { openEditor } from './support/editor';
import { useE2E } from './support/harness';
import { openRepositorySidebar } from './support/repo';

describe('e2e: a drifted device in the sidebar names the nodes that changed (Chromium, repository)', function () {
  this.timeout(180_000);
  const e2e = useE2E();

  it('shows "drifted" in yellow with each changed node by type and name and what changed on it', async () => {
    const repo = await e2e.repo(['line-inspection']);
    const { token } = await repo.client.registerDevice({ id: 'line-d', tier: 'line', parameters: {} });
    const asDevice = new RepoClient({ url: repo.server.url, token });
    // A hand edit in the device's editor: a rule's threshold and a new debug node.
    const deployed = loadTemplate('line-inspection').flow as Array<Record<string, any>>;
    const edited = deployed.map((n) => (n.id === 'li-rules' ? { ...n, rules: n.rules.map((r: any) => ({ ...r, condition: { ...r.condition, minConfidence: 0.3 } })) } : n));
    edited.push({ id: 'dbg-hand', type: 'debug', z: 'li-tab', name: 'peek', wires: [] });
    const drift = detectDrift({ rev: 'r1', flows: deployed }, { rev: 'r2', flows: edited })!;
    assert.deepEqual(drift.reasons, ['edited in the local editor: nodes 1 changed (defect-rule "defect rules": rules), 1 added (debug "peek")']);
    await asDevice.reportStatus('line-d', { deviceId: 'line-d', state: 'drifted', running: 'line-inspection@1.0.0', reasons: drift.reasons, ts: Date.now() });

    const rt = await e2e.runtime({ tier: 'line', env: repo.env });
    const browser = await e2e.browser('drift-names');
    const { page } = browser;
    await openEditor(page, rt.url);
    await openRepositorySidebar(page);
    await page.waitForSelector('#ls-repo-fleet tr[data-device="line-d"] td.ls-state-drifted', { timeout: 30_000 });
    const why = await page.locator('#ls-repo-fleet tr[data-reasons-for="line-d"] .ls-repo-reasons').innerText();
    assert.match(why, /defect-rule "defect rules": rules/);
    assert.match(why, /1 added \(debug "peek"\)/);
    const colour = await page.locator('#ls-repo-fleet tr[data-device="line-d"] td.ls-repo-state').evaluate((el) => getComputedStyle(el).color);
    assert.equal(colour, 'rgb(187, 119, 0)', 'yellow (#b70)');
    await page.locator('#ls-repo-fleet').scrollIntoViewIfNeeded();
    await browser.shot('fleet-drifted');
  });
});
