// The device page of the fleet console against a real agent-supervised Node-RED runtime (Chromium, the
// real repository on PostgreSQL): a function node's warning appears in the live log tail naming the node;
// a red node turns the device degraded with the node's name on the fleet and device pages; a runtime
// killed with SIGKILL shows one more restart and the lines logged before it.
import assert from 'node:assert/strict';
import { telemetryFlow } from '../fixtures/agent/flows';
import { startFleet, uniqueId, type AgentUnderTest, type Fleet } from '../integration/agent/fleet';
import { waitFor } from '../support/wait';
import { goTo, openConsole } from './support/console';
import { useE2E } from './support/harness';

describe('e2e: console device page with a real agent (Chromium, repository, agent, Node-RED)', function () {
  this.timeout(300_000);
  const e2e = useE2E();
  let fleet: Fleet;
  let a: AgentUnderTest;
  const id = uniqueId('line-console');

  const post = async (path: string, body: unknown = {}) => {
    const res = await fetch(`${a.url}${path.replace(/^\//, '')}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
    assert.equal(res.status, 200, `${path}: HTTP ${res.status}`);
  };

  before(async function () {
    this.timeout(180_000);
    fleet = await startFleet({ broker: false });
    e2e.defer('close the fleet', () => fleet.close());
    const token = await fleet.register(id, { LINE_ID: 'L1' });
    a = await fleet.startAgent(id, token, { pollIntervalMs: 500, statusGraceMs: 1000, telemetry: { intervalMs: 1000, logLevel: 'info', maxLines: 500, batchDelayMs: 200 } });
    e2e.defer('stop the agent', () => a.stop());
    await fleet.publish('1.0.0', telemetryFlow('v1'));
    await fleet.deploy({ version: '1.0.0', target: { ids: [id] } });
    await a.waitFor('running', 'agent-probe@1.0.0');
  });

  it('tails a function node\'s log line live, shows a red node by name, and counts a SIGKILL restart', async () => {
    const browser = await e2e.browser('console-agent');
    const { page } = browser;
    await openConsole(page, fleet.h.repo.url, { token: fleet.h.repo.adminToken! });
    await goTo(page, `#/devices/${encodeURIComponent(id)}`, '#log-live.tone-good');

    // A line from the function node "talker" reaches the open tail.
    const t0 = Date.now();
    await post('/say', { text: 'hello from the line' });
    const line = page.locator('#log-lines .line', { hasText: 'hello from the line' });
    await line.waitFor({ timeout: 15_000 });
    const tailMs = Date.now() - t0;
    console.log(`      [console] a function node's line reached the live tail in ${tailMs} ms`);
    assert.match(await line.innerText(), /warn\s*\[talker\]\s*hello from the line/);
    // The level and node filters reopen the tail with the server filtering.
    await page.fill('#log-node', 'talker');
    await page.press('#log-node', 'Tab');
    await page.waitForSelector('#log-live.tone-good');
    await post('/say', { text: 'filtered line' });
    await page.locator('#log-lines .line', { hasText: 'filtered line' }).waitFor({ timeout: 15_000 });
    await browser.shot('device-live-log');

    // A red node: degraded, with the node's name, on the device page and in the fleet.
    await post('/red');
    await page.waitForFunction(() => /degraded/.test(document.querySelector('#device-state')?.textContent ?? ''), undefined, { timeout: 30_000 });
    assert.match(await page.locator('#device-reasons').innerText(), /function "alarm" \(fn-alarm\) is red: jam at station 3/);
    await page.waitForSelector('#health-figures');
    await browser.shot('device-degraded');
    await goTo(page, '#/fleet', `.vrow[data-device="${id}"]`);
    const state = page.locator(`.vrow[data-device="${id}"] .c-state`);
    await page.waitForFunction((sel) => /degraded/.test(document.querySelector(sel)?.textContent ?? ''), `.vrow[data-device="${id}"] .c-state`, { timeout: 30_000 });
    assert.match((await state.getAttribute('title')) ?? '', /function "alarm" \(fn-alarm\) is red/);
    await page.waitForSelector(`.vrow[data-device="${id}"] canvas.spark`, { timeout: 30_000 });
    await browser.shot('fleet-degraded-with-sparklines');
    await post('/green');

    // SIGKILL: one more restart on the device page, and the line logged just before it is still there.
    await goTo(page, `#/devices/${encodeURIComponent(id)}`, '#health-restarts');
    const before = Number(await page.locator('#health-restarts').innerText());
    const received = new Promise<void>((resolve) => {
      const onLines = (lines: { msg: string }[]) => {
        if (!lines.some((l) => l.msg === 'last words before the kill')) return;
        a.agent.supervisor.off('log-lines', onLines);
        resolve();
      };
      a.agent.supervisor.on('log-lines', onLines);
    });
    await post('/say', { text: 'last words before the kill' });
    await received;
    const pid = a.agent.supervisor.pid!;
    process.kill(pid, 'SIGKILL');
    await waitFor('the runtime to come back', () => a.agent.supervisor.state === 'up' && a.agent.supervisor.pid !== pid, 60_000);
    await page.waitForFunction((n) => Number(document.querySelector('#health-restarts')?.textContent) === n, before + 1, { timeout: 60_000 });
    await page.locator('#log-lines .line', { hasText: 'last words before the kill' }).waitFor({ timeout: 15_000 });
    await page.click('#health-hour');
    await browser.shot('device-after-sigkill');
  });
});
