// The demo as a new user starts it (`npm start` = build, then `linesight demo`): within a minute of
// the stack being up, inspections from the simulated camera are rows in the cloud history and a defect
// has lit the simulated PLC's alarm coil; the editors and the sidebar's fleet view show it; Ctrl-C
// stops everything.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Client } from 'pg';
import ModbusRTU from 'modbus-serial';
import { PACKAGE_ROOT } from '../../runtime/paths';
import { waitFor } from '../support/wait';
import { openEditor } from './support/editor';
import { useE2E } from './support/harness';
import { openRepositorySidebar } from './support/repo';

describe('e2e: the one-command demo (linesight demo, as npm start runs it)', function () {
  this.timeout(420_000);
  const e2e = useE2E();

  it('reaches cloud-history rows and a lit alarm coil within a minute, shows the fleet, and stops cleanly on Ctrl-C', async () => {
    const dataDir = e2e.dir('linesight-e2e-demo-');
    const proc = spawn(process.execPath, [path.join(PACKAGE_ROOT, 'bin', 'linesight.js'), 'demo', '--port', '0', '--data-dir', dataDir, '--camera-rate', '2'], { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    e2e.defer('kill the demo', async () => {
      if (proc.exitCode !== null || proc.signalCode) return;
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await gone;
    });
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    await waitFor('"Linesight demo is running"', () => {
      if (proc.exitCode !== null) throw new Error(`demo exited ${proc.exitCode}:\n${out}`);
      return out.includes('Ctrl-C stops everything');
    }, 300_000, 250);
    const upAt = Date.now();
    assert.doesNotMatch(out, /missing:/, `the demo runs every piece:\n${out}`);
    const url = (label: string) => new RegExp(`${label}\\s+(\\S+)`).exec(out)?.[1] ?? assert.fail(`no ${label} in:\n${out}`);
    const historyUrl = url('cloud history');
    const plcUrl = new URL(url('simulated PLC').replace('modbus-tcp:', 'http:'));

    // What a user checks: rows in the cloud history, the alarm lamp on the PLC.
    const rows = await waitFor('inspection rows in the cloud history', async () => {
      const pg = new Client({ connectionString: historyUrl });
      await pg.connect();
      try {
        return Number((await pg.query('select count(*)::int as n from cloud.inspections')).rows[0].n);
      } finally {
        await pg.end();
      }
    }, 60_000, 1000).catch((err: Error) => {
      // What the demo itself said (agents, runtimes, status lines) is the first thing to read.
      throw new Error(`${err.message}\n--- demo output (last 80 lines) ---\n${out.split('\n').slice(-80).join('\n')}`);
    });
    const modbus = new ModbusRTU();
    await modbus.connectTCP(plcUrl.hostname, { port: Number(plcUrl.port) });
    modbus.setID(1);
    modbus.setTimeout(2000);
    try {
      await waitFor('the alarm lamp coil lit by a defect', async () => (await modbus.readCoils(0, 1)).data[0] === true, Math.max(5_000, 60_000 - (Date.now() - upAt)), 100);
    } finally {
      await new Promise<void>((r) => modbus.close(() => r()));
    }
    const seconds = Math.round((Date.now() - upAt) / 1000);
    console.log(`      demo: ${rows}+ cloud-history rows and the alarm coil lit ${seconds} s after the stack was up`);
    assert.ok(Date.now() - upAt <= 60_000, `within a minute (took ${seconds} s)`);

    const browser = await e2e.browser('demo');
    await openEditor(browser.page, url('line editor'));
    await browser.shot('line-editor');
    await openRepositorySidebar(browser.page);
    for (const d of ['line-1', 'factory-1', 'cloud-1']) {
      await browser.page.waitForSelector(`#ls-repo-fleet tr[data-device="${d}"] .ls-state-running`, { timeout: 30_000 });
    }
    await browser.shot('fleet');

    // The line screen the demo prints: the simulated camera's defects and the PLC's state on it.
    await browser.page.goto(url('line screen'), { waitUntil: 'domcontentloaded' });
    await browser.page.waitForSelector('[data-test="last-defect"] img[data-test="defect-image"]', { timeout: 30_000 });
    await browser.page.waitForSelector('[data-test="line-status"]:not(.ls-state-offline)', { timeout: 30_000 });
    await browser.shot('line-screen');

    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    proc.kill('SIGINT');
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 60_000))]);
    assert.equal(code, 0, `Ctrl-C stops the demo cleanly:\n${out.split('\n').slice(-10).join('\n')}`);
    assert.match(out, /demo: stopped/);
    for (const label of ['line editor', 'factory editor', 'cloud editor']) {
      await assert.rejects(fetch(url(label), { signal: AbortSignal.timeout(5000) }), `${label} is gone after Ctrl-C`);
    }
  });
});
