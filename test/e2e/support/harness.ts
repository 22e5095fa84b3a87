// The one set-up and teardown of the e2e suites. `useE2E()` inside a `describe` gives starters for what
// an e2e test needs (tier runtimes, a flow repository, Chromium, a pymodbus PLC, temporary folders);
// each registers its own teardown the moment it has started. What a test starts is stopped after that
// test, what a `before` hook starts after the suite, always in reverse order and every step even when
// an earlier one failed, so a set-up that fails half-way leaves nothing running. A failed test leaves a
// screenshot of every open browser under test-artifacts/<suite>/ and prints the browser's and the
// runtimes' last lines.
import fs from 'node:fs';
import { startRuntimeProcess, tempDir, type RuntimeProcess, type StartOptions } from '../../support/runtime-process';
import { startPymodbus, type Layout, type Peer } from '../../integration/plc/peers';
import { browserAvailable, CHROMIUM, launchBrowser, type Browser } from './browser';
import type { RepoServerOptions } from '../../../runtime/repo/server';
import { startTestRepo, type TestRepo } from './repo';

interface Step {
  what: string;
  run: () => unknown;
}

/** Teardown steps, run last-registered first; every step runs, and the failures are reported together. */
export class Teardown {
  private steps: Step[] = [];

  add(what: string, run: () => unknown): void {
    this.steps.push({ what, run });
  }

  get size(): number {
    return this.steps.length;
  }

  async run(): Promise<void> {
    const failures: string[] = [];
    while (this.steps.length) {
      const step = this.steps.pop()!;
      try {
        await step.run();
      } catch (err) {
        failures.push(`${step.what}: ${(err as Error)?.message ?? String(err)}`);
      }
    }
    if (failures.length) throw new Error(`teardown failed: ${failures.join('; ')}`);
  }
}

export interface E2E {
  /** A tier runtime (`linesight runtime`) in a child process, stopped at teardown. */
  runtime(opts?: StartOptions): Promise<RuntimeProcess>;
  /** A flow repository server with the named templates published, closed at teardown. */
  repo(slugs?: string[], extra?: Partial<RepoServerOptions>): Promise<TestRepo>;
  /** Chromium with a fresh profile; screenshots under test-artifacts/<suite>/; closed at teardown. */
  browser(suite: string): Promise<Browser>;
  /** pymodbus serving `layout`, stopped at teardown. */
  plc(layout: Layout, where: { port: number }): Promise<Peer>;
  /** A new temporary folder, removed at teardown. */
  dir(prefix: string): string;
  /** Any other teardown step (a child process, a client, a database schema). */
  defer(what: string, step: () => unknown): void;
}

export interface E2EOptions {
  /** Fail the suite up front when Chromium is missing (default true). */
  browser?: boolean;
  /** Lines of browser and runtime output printed when a test fails (default 30). */
  logLines?: number;
}

/** Call at the top of a `describe`: registers the hooks and returns the starters. */
export function useE2E(opts: E2EOptions = {}): E2E {
  const suite = new Teardown();
  const perTest = new Teardown();
  let current = suite;
  const browsers = new Set<Browser>();
  const runtimes = new Set<RuntimeProcess>();
  const lines = opts.logLines ?? 30;

  before(function () {
    if ((opts.browser ?? true) && !browserAvailable()) throw new Error(`Chromium is missing at ${CHROMIUM} (apt-get install chromium; .ci/run does)`);
  });
  beforeEach(() => {
    current = perTest;
  });
  afterEach(async function () {
    current = suite;
    if (this.currentTest?.state === 'failed') {
      for (const b of browsers) {
        await b.shot('failure').catch(() => {});
        console.log(b.log().split('\n').slice(-lines).join('\n'));
      }
      for (const rt of runtimes) console.log(`--- runtime at ${rt.url} (last ${lines} lines) ---\n${rt.output().split('\n').slice(-lines).join('\n')}`);
    }
    await perTest.run();
  });
  after(async () => {
    await suite.run();
  });

  const defer = (what: string, step: () => unknown) => current.add(what, step);
  return {
    defer,
    async runtime(o = {}) {
      const rt = await startRuntimeProcess(o);
      runtimes.add(rt);
      defer(`stop the ${o.tier ?? 'line'} runtime at ${rt.url}`, async () => {
        runtimes.delete(rt);
        await rt.stop();
      });
      return rt;
    },
    async repo(slugs, extra) {
      const repo = await startTestRepo(slugs, extra);
      defer(`close the repository at ${repo.server.url}`, () => repo.close());
      return repo;
    },
    async browser(name) {
      const b = await launchBrowser(name);
      browsers.add(b);
      defer(`close the browser of ${name}`, async () => {
        browsers.delete(b);
        await b.close();
      });
      return b;
    },
    async plc(layout, where) {
      const peer = await startPymodbus(layout, where);
      defer(`stop pymodbus on port ${where.port}`, () => peer.stop());
      return peer;
    },
    dir(prefix) {
      const d = tempDir(prefix);
      defer(`remove ${d}`, () => fs.rmSync(d, { recursive: true, force: true }));
      return d;
    },
  };
}
