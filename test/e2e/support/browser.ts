// A real browser for editor tests: Debian's Chromium driven by playwright-core (never a downloaded
// browser), a fresh profile per launch, screenshots of each step under test-artifacts/.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { PACKAGE_ROOT } from '../../../runtime/paths';

export const CHROMIUM = process.env.LINESIGHT_CHROMIUM || '/usr/bin/chromium';
export const ARTIFACTS = path.join(PACKAGE_ROOT, 'test-artifacts');

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Saves a full-page screenshot as test-artifacts/<suite>/<nn>-<step>.png and returns its path. */
  shot(step: string): Promise<string>;
  /** Everything the page wrote to its console plus page errors, for failure messages. */
  log(): string;
  close(): Promise<void>;
}

export function browserAvailable(): boolean {
  return fs.existsSync(CHROMIUM);
}

export async function launchBrowser(suite: string): Promise<Browser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'linesight-chromium-'));
  // A persistent context is how playwright takes a --user-data-dir; the folder is new every launch.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1600, height: 1000 },
    timeout: 60_000,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
  const lines: string[] = [];
  page.on('console', (m) => lines.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => lines.push(`[pageerror] ${e.message}`));
  const dir = path.join(ARTIFACTS, suite.replace(/[^a-z0-9-]+/gi, '-').toLowerCase());
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  let n = 0;
  return {
    context,
    page,
    async shot(step) {
      const file = path.join(dir, `${String(++n).padStart(2, '0')}-${step.replace(/[^a-z0-9-]+/gi, '-').toLowerCase()}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    log: () => lines.join('\n'),
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
