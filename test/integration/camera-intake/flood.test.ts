// Regression for issue #14: unauthenticated camera traffic must be refused before it is read. A real
// `linesight runtime` process runs camera-intake with a token; a hostile client in another process
// floods it with 15 MiB calls without the token while a real camera (`linesight simulate camera`, a third
// process) keeps sending. The runtime's memory is read from outside, from /proc/<pid>/status.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../../runtime/paths';
import type { FloodReport } from '../../fixtures/camera-intake/flood-camera';
import { listening } from '../../fixtures/camera-intake/python-camera';
import { startRuntimeProcess, type RuntimeProcess } from '../../support/runtime-process';
import { freePort } from '../../support/services';
import { sleep, waitFor } from '../../support/wait';

const FLOOD = path.join(PACKAGE_ROOT, 'dist', 'test', 'fixtures', 'camera-intake', 'flood-camera.js');
const TOKEN = 'line-4-camera-token';
/** How far above its settled size the runtime may grow while it refuses the flood. */
const RSS_MARGIN_MIB = 150;

interface SimReport {
  sent: number;
  accepted: number;
  rejected: Record<string, number>;
  done: boolean;
}

/** Resident memory of a process in MiB, read by the kernel (not by the process about itself). */
export function rssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) / 1024;
}

function runNode(args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => (err ? reject(new Error(`${args[0]} failed: ${err.message}\n${stderr}`)) : resolve(stdout)));
  });
}

function flood(target: string, calls: number, connections: number, mib: number, seconds: number, token?: string): Promise<FloodReport> {
  return runNode([FLOOD, target, String(calls), String(connections), String(mib), String(seconds), ...(token ? [token] : [])], 300_000).then((out) => JSON.parse(out) as FloodReport);
}

function simulate(args: string[]): Promise<SimReport> {
  return runNode([path.join(PACKAGE_ROOT, 'bin', 'linesight.js'), 'simulate', 'camera', '--json', ...args], 180_000).then((out) => {
    const last = out.trim().split('\n').map((l) => JSON.parse(l) as SimReport).find((r) => r.done);
    if (!last) throw new Error(`no final report in: ${out}`);
    return last;
  });
}

/** Samples the RSS of `pid` every 100 ms until stopped; returns the highest seen. */
function watchRss(pid: number): { stop(): number } {
  let peak = rssMiB(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssMiB(pid));
    } catch {
      // the process is gone: the test fails elsewhere
    }
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

describe('camera-intake under an unauthenticated flood (real runtime, hostile client in another process)', function () {
  this.timeout(600_000);
  let rt: RuntimeProcess | undefined;
  let port: number;
  let seenFile: string;

  before(async () => {
    rt = await startRuntimeProcess({ timeoutMs: 60_000 });
    port = await freePort();
    seenFile = path.join(rt.userDir, 'seen.txt');
    await rt.deploy([
      { id: 'tab1', type: 'tab', label: 'intake' },
      { id: 'ci1', z: 'tab1', type: 'camera-intake', host: '127.0.0.1', port, credentials: { token: TOKEN }, x: 100, y: 100, wires: [['ch1']] },
      { id: 'ch1', z: 'tab1', type: 'change', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: 'payload.inspectionId', tot: 'msg' }], x: 300, y: 100, wires: [['f1']] },
      { id: 'f1', z: 'tab1', type: 'file', filename: seenFile, filenameType: 'str', appendNewline: true, createDir: true, overwriteFile: 'false', encoding: 'none', x: 500, y: 100, wires: [[]] },
    ]);
    await waitFor('camera-intake listening', () => listening(port), 30_000);
  });
  after(async () => {
    await rt?.stop();
    if (rt) fs.rmSync(rt.userDir, { recursive: true, force: true });
  });

  const target = () => `127.0.0.1:${port}`;
  const seen = () => (fs.existsSync(seenFile) ? fs.readFileSync(seenFile, 'utf8').split('\n').filter(Boolean).length : 0);

  for (const [connections, label] of [
    [100, 'one connection per call'],
    [4, '25 calls per connection'],
  ] as const) {
    it(`refuses 100 concurrent 15 MiB calls without the token (${label}) within ${RSS_MARGIN_MIB} MiB, and the line keeps serving`, async () => {
      const pid = rt!.proc.pid!;
      // Settle: one authenticated camera warms the intake, then the runtime's size is taken.
      const warm = await simulate(['--target', target(), '--rate', '20', '--count', '10', '--size', '640x480', '--token', TOKEN]);
      assert.equal(warm.accepted, 10, JSON.stringify(warm));
      await sleep(1000);
      const before = rssMiB(pid);
      const seenBefore = seen();
      const watch = watchRss(pid);
      // The real camera sends before, through and after the flood: 120 inspections at 10/s.
      const camera = simulate(['--target', target(), '--rate', '10', '--count', '120', '--size', '640x480', '--token', TOKEN]);
      await waitFor('the camera is connected and served', () => seen() - seenBefore >= 10, 30_000);
      // Rounds of 100 concurrent calls, for 6 s.
      const report = await flood(target(), 100, connections, 15, 6);
      const inspectionsDuringFlood = seen() - seenBefore;
      const cameraReport = await camera;
      await sleep(2000);
      const peak = watch.stop();
      const afterwards = rssMiB(pid);
      console.log(`      ${report.rounds} rounds; rss: settled ${before.toFixed(0)} MiB, peak ${peak.toFixed(0)} MiB, after ${afterwards.toFixed(0)} MiB; flood ${JSON.stringify(report)}`);

      // Every call is answered UNAUTHENTICATED, or its connection was closed at once for being beyond the
      // 64 connections the intake keeps by default (the camera holds one; the runtime's log says so).
      const { UNAUTHENTICATED = 0, CONNECTION_CLOSED = 0, ...other } = report.outcomes;
      assert.deepEqual([UNAUTHENTICATED + CONNECTION_CLOSED, other], [100 * report.rounds, {}], JSON.stringify(report));
      assert.ok(UNAUTHENTICATED >= 63 * report.rounds, JSON.stringify(report));
      assert.match(report.reasons.UNAUTHENTICATED, /bearer token/);
      if (connections > 64) {
        assert.ok(CONNECTION_CLOSED >= (connections - 64) * report.rounds, `the connections beyond the limit were closed: ${JSON.stringify(report)}`);
        assert.match(report.reasons.CONNECTION_CLOSED, /ECONNRESET|closed/);
      } else assert.equal(CONNECTION_CLOSED, 0, JSON.stringify(report));
      if (connections > 64) await waitFor('the refusal in the log', () => /connection\(s\) refused at the limit of 64 open/.test(rt!.output()), 10_000);
      await waitFor('the refused calls in the log', () => /call\(s\) refused UNAUTHENTICATED: missing or wrong token/.test(rt!.output()), 10_000).catch((err) => {
        throw new Error(`${(err as Error).message}\n${rt!.output().slice(-3000)}`);
      });
      assert.ok(peak - before < RSS_MARGIN_MIB, `runtime grew ${(peak - before).toFixed(0)} MiB (from ${before.toFixed(0)} to ${peak.toFixed(0)}) while refusing the flood`);
      assert.ok(afterwards - before < RSS_MARGIN_MIB, `runtime is still ${(afterwards - before).toFixed(0)} MiB larger after the flood`);
      assert.deepEqual([cameraReport.sent, cameraReport.accepted, cameraReport.rejected], [120, 120, {}], 'the authenticated camera was served throughout');
      assert.ok(inspectionsDuringFlood >= 10 + 30, `the camera kept being served during the flood: ${inspectionsDuringFlood} inspections by its end`);
      await waitFor('every accepted inspection reached the flow', () => seen() - seenBefore === 120, 30_000);
      // and after the flood, too
      const later = await simulate(['--target', target(), '--rate', '20', '--count', '10', '--size', '640x480', '--token', TOKEN]);
      assert.equal(later.accepted, 10, JSON.stringify(later));
    });
  }
});
