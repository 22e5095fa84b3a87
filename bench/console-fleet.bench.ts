// The fleet console with 1,000 devices in Chromium (goal: first render and a filter each under 1 s).
// Devices are registered through the API and report like agents (running, some degraded or failed).
// Measured from the test's side of the browser: reload until the first rows and the server's total show,
// a text filter and a state filter until the answer is on screen, and a jump to the last row (pages are
// fetched as they scroll into view). Baseline, same run, same browser: the raw DOM building a plain
// <table> of all 1,000 devices from the unpaged GET /devices (no framework, no virtualisation).
import fs from 'node:fs';
import { RepoClient } from '../runtime/repo/client';
import { createRepoServer } from '../runtime/repo/server';
import { launchBrowser } from '../test/e2e/support/browser';
import { tempDir } from '../test/support/runtime-process';
import { loadTemplate, publishShippedTemplate } from '../runtime/dev/demo/templates';
import { report } from './support/report';

const DEVICES = 1000;
const ROUNDS = 5;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const dir = tempDir('linesight-console-bench-');
  const repo = await createRepoServer({ dataDir: dir, port: 0, log: () => {} });
  const admin = new RepoClient({ url: repo.url, token: repo.adminToken });
  await publishShippedTemplate(admin, loadTemplate('line-inspection'), 'bench');
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < DEVICES) {
        const i = next++;
        const id = `line-${String(i).padStart(4, '0')}`;
        const { token } = await admin.registerDevice({ id, tier: i % 10 === 0 ? 'factory' : 'line', labels: { site: `site-${i % 7}`, line: String(i % 40) }, parameters: {} });
        const state = i % 50 === 0 ? 'failed' : i % 13 === 0 ? 'waiting' : 'running';
        const degraded = state === 'running' && i % 17 === 0;
        await new RepoClient({ url: repo.url, token }).reportStatus(id, { deviceId: id, state, running: 'line-inspection@1.0.0', reasons: degraded ? [`camera-intake "cam ${i}" status red ring`] : [], degraded, ts: Date.now() });
        ids.push(id);
      }
    }),
  );

  const browser = await launchBrowser('bench-console-fleet');
  const { page } = browser;
  await page.goto(`${repo.url}/`);
  await page.click('.token-login summary');
  await page.fill('#login-token', repo.adminToken!);
  await page.click('#login-token-submit');
  await page.waitForSelector('.vrow[data-device]');
  const total = `${DEVICES.toLocaleString('en')} devices`;

  const firstRender: number[] = [];
  const textFilter: number[] = [];
  const stateFilter: number[] = [];
  const lastRow: number[] = [];
  const rawTable: number[] = [];
  let rendered = 0;
  for (let r = 0; r < ROUNDS; r++) {
    await page.evaluate(() => (location.hash = '#/fleet'));
    let t0 = performance.now();
    await page.reload();
    await page.waitForFunction((want) => document.querySelector('#fleet-count')?.textContent?.trim() === want && !!document.querySelector('.vrow[data-device]'), total);
    firstRender.push(performance.now() - t0);
    rendered = await page.locator('.vrow').count();

    t0 = performance.now();
    await page.fill('#fleet-q', 'line-0999');
    await page.press('#fleet-q', 'Enter');
    await page.waitForFunction(() => document.querySelector('#fleet-count')?.textContent?.trim() === '1 device' && document.querySelectorAll('.vrow[data-device]').length === 1);
    textFilter.push(performance.now() - t0);

    await page.fill('#fleet-q', '');
    t0 = performance.now();
    await page.selectOption('#fleet-state', 'degraded');
    await page.waitForFunction(() => /^\d+ devices?$/.test(document.querySelector('#fleet-count')?.textContent?.trim() ?? '') && document.querySelector('#fleet-count')?.textContent?.trim() !== '1 device' && !!document.querySelector('.vrow[data-device]'));
    stateFilter.push(performance.now() - t0);

    await page.selectOption('#fleet-state', '');
    await page.waitForFunction((want) => document.querySelector('#fleet-count')?.textContent?.trim() === want, total);
    t0 = performance.now();
    await page.evaluate(() => {
      const body = document.querySelector('#fleet-body')!;
      body.scrollTop = body.scrollHeight;
    });
    await page.waitForSelector(`.vrow[data-device="line-${String(DEVICES - 1).padStart(4, '0')}"]`);
    lastRow.push(performance.now() - t0);

    // Baseline: the whole fleet as one plain table, built by the raw DOM in the same page.
    rawTable.push(
      await page.evaluate(async (token) => {
        const t = performance.now();
        const devices = (await (await fetch('/api/v1/devices', { headers: { authorization: `Bearer ${token}` } })).json()) as { id: string; tier: string; labels: Record<string, string>; state: string; running: string | null; reasons: string[] }[];
        const table = document.createElement('table');
        table.innerHTML = devices.map((d) => `<tr><td>${d.id}</td><td>${d.tier}</td><td>${Object.entries(d.labels).map(([k, v]) => `${k}=${v}`).join(' ')}</td><td>${d.running ?? ''}</td><td title="${d.reasons.join('\n')}">${d.state}</td></tr>`).join('');
        document.body.append(table);
        table.getBoundingClientRect();
        await new Promise(requestAnimationFrame);
        const ms = performance.now() - t;
        table.remove();
        return ms;
      }, repo.adminToken!),
    );
  }
  const note = (goal: boolean) => `${DEVICES} devices (embedded PGlite), median of ${ROUNDS} in Chromium headless; ${rendered} rows in the DOM at once${goal ? '; goal < 1000 ms' : ''}; baseline: raw DOM table of all devices from the unpaged GET /devices`;
  report({ bench: 'console-fleet', metric: 'first render (reload to first rows and total)', value: median(firstRender), unit: 'ms', baseline: median(rawTable), note: note(true) });
  report({ bench: 'console-fleet', metric: 'text filter (server) to 1 row on screen', value: median(textFilter), unit: 'ms', baseline: median(rawTable), note: note(true) });
  report({ bench: 'console-fleet', metric: 'state filter (server) to rows on screen', value: median(stateFilter), unit: 'ms', baseline: median(rawTable), note: note(true) });
  report({ bench: 'console-fleet', metric: 'jump to the last row (pages fetched on scroll)', value: median(lastRow), unit: 'ms', baseline: median(rawTable), note: note(false) });

  await browser.close();
  await repo.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
