// A flow repository for editor tests: the real server (embedded PGlite) with the shipped templates
// published, and helpers for the editor's "Flow repository" sidebar tab.
import fs from 'node:fs';
import type { Page } from 'playwright-core';
import { createRepoServer, type RepoServer, type RepoServerOptions } from '../../../runtime/repo/server';
import { RepoClient } from '../../../runtime/repo/client';
import { loadTemplate, publishShippedTemplate } from '../../../runtime/dev/demo/templates';
import { tempDir } from '../../support/runtime-process';
import { clickTab } from './editor';

export interface TestRepo {
  server: RepoServer;
  client: RepoClient;
  /** Environment for a runtime whose editor sidebar talks to this repository. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/** `extra`: more repository options (a history database to mount, for instance). */
export async function startTestRepo(slugs: string[] = ['line-inspection'], extra: Partial<RepoServerOptions> = {}): Promise<TestRepo> {
  const dir = tempDir('linesight-e2e-repo-');
  const server = await createRepoServer({ dataDir: dir, port: 0, log: () => {}, ...extra });
  const client = new RepoClient({ url: server.url, token: server.adminToken });
  for (const s of slugs) await publishShippedTemplate(client, loadTemplate(s), 'e2e');
  return {
    server,
    client,
    env: { LINESIGHT_REPOSITORY_URL: server.url, LINESIGHT_REPOSITORY_TOKEN: server.adminToken! },
    async close() {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Opens the sidebar tab the way a person does: the sidebar's tab menu, then "Flow repository". */
export async function openRepositorySidebar(page: Page): Promise<void> {
  await clickTab(page, 'linesight-flow-repository');
  await page.waitForSelector('#ls-repo-status.ls-good', { timeout: 30_000 });
}

export async function selectTemplate(page: Page, slug: string): Promise<void> {
  await page.click(`#ls-repo-templates li[data-slug="${slug}"]`);
  await page.waitForSelector(`#ls-repo-versions tr[data-version]`);
}
