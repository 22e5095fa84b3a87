// `linesight simulate camera` as a separate process against camera-intake: in a test Node-RED (checking
// what arrives) and in a real `linesight runtime` process (backpressure through Node-RED's own hooks).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import sharp from 'sharp';
import { PACKAGE_ROOT } from '../../../runtime/paths';
import { startRuntimeProcess, type RuntimeProcess } from '../../support/runtime-process';
import { freePort } from '../../support/services';
import { sleep, waitFor } from '../../support/wait';
import { listening } from '../../fixtures/camera-intake/python-camera';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const helper = require('node-red-node-test-helper');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const cameraIntake = require('../../../nodes/camera-intake/camera-intake');

helper.init(require.resolve('node-red'));

interface Report {
  sent: number;
  accepted: number;
  rejected: Record<string, number>;
  done: boolean;
}

function simulate(args: string[]): Promise<Report> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(PACKAGE_ROOT, 'bin', 'linesight.js'), 'simulate', 'camera', '--json', ...args], { timeout: 90_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`simulator failed: ${err.message}\n${stderr}`));
      const last = stdout.trim().split('\n').map((l) => JSON.parse(l) as Report).find((r) => r.done);
      if (!last) return reject(new Error(`no final report in: ${stdout}`));
      resolve(last);
    });
  });
}

describe('linesight simulate camera', function () {
  this.timeout(120_000);

  describe('against camera-intake in a test Node-RED', () => {
    let port: number;
    beforeEach(async () => {
      port = await freePort();
      await helper.startServer();
    });
    afterEach(async () => {
      await helper.unload();
      await helper.stopServer();
    });

    for (const stream of [false, true]) {
      it(`sends images with drawn defects and matching detections (${stream ? 'stream' : 'unary'})`, async () => {
        await helper.load(cameraIntake, [{ id: 'ci', type: 'camera-intake', host: '127.0.0.1', port, wires: [['out']] }, { id: 'out', type: 'helper' }], { ci: { token: 'tok' } });
        await waitFor('listening', () => listening(port), 20_000);
        const got: any[] = [];
        helper.getNode('out').on('input', (m: any) => got.push(m));
        const report = await simulate(['--target', `127.0.0.1:${port}`, '--rate', '40', '--count', '12', '--size', '320x200', '--defect-rate', '1', '--token', 'tok', '--line-id', 'L7', ...(stream ? ['--stream'] : [])]);
        assert.deepEqual([report.sent, report.accepted, report.rejected], [12, 12, {}]);
        await waitFor('12 messages', () => got.length === 12);
        for (const m of got) {
          const p = m.payload;
          assert.equal(p.line, 'L7');
          assert.ok(p.detections.length >= 1, 'defect rate 1: every part has defects');
          const meta = await sharp(p.image.data).metadata();
          assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 320, 200]);
          for (const d of p.detections) assert.ok(d.box.x + d.box.width <= 320 && d.box.y + d.box.height <= 200);
        }
        assert.equal(new Set(got.map((m) => m.payload.inspectionId)).size, 12, 'unique ids');
      });
    }

    it('reopens its stream when camera-intake is redeployed mid-run', async () => {
      const flow = [{ id: 'ci', type: 'camera-intake', host: '127.0.0.1', port, wires: [['out']] }, { id: 'out', type: 'helper' }];
      const before: any[] = [];
      const after: any[] = [];
      await helper.load(cameraIntake, flow);
      await waitFor('listening', () => listening(port), 20_000);
      helper.getNode('out').on('input', (m: any) => before.push(m));
      const run = simulate(['--target', `127.0.0.1:${port}`, '--rate', '20', '--count', '100', '--size', '64x64', '--stream']);
      await waitFor('first inspections', () => before.length >= 5, 30_000);
      await helper.unload();
      await helper.load(cameraIntake, flow);
      helper.getNode('out').on('input', (m: any) => after.push(m));
      const report = await run;
      assert.ok(after.length > 0, `inspections arrive after the redeploy (report ${JSON.stringify(report)})`);
      // every inspection the intake said OK to reached the flow: none accepted while it was closing
      await waitFor(`every accepted one arrived (${JSON.stringify(report)})`, () => before.length + after.length === report.accepted);
      assert.equal(report.sent, 100);
    });

        it('counts UNAUTHENTICATED when the token is wrong', async () => {
      await helper.load(cameraIntake, [{ id: 'ci', type: 'camera-intake', host: '127.0.0.1', port, wires: [[]] }], { ci: { token: 'tok' } });
      await waitFor('listening', () => listening(port), 20_000);
      const report = await simulate(['--target', `127.0.0.1:${port}`, '--rate', '50', '--count', '3', '--size', '64x64', '--token', 'nope']);
      assert.deepEqual([report.accepted, report.rejected], [0, { UNAUTHENTICATED: 3 }]);
    });
  });

  describe('against camera-intake in a real linesight runtime', () => {
    let rt: RuntimeProcess | undefined;
    afterEach(async () => {
      await rt?.stop();
      rt = undefined;
    });

    it('is refused RESOURCE_EXHAUSTED beyond maxWaiting while a delay node holds the messages', async () => {
      rt = await startRuntimeProcess();
      const port = await freePort();
      await rt.deploy([
        { id: 'tab1', type: 'tab', label: 'intake' },
        { id: 'ci1', z: 'tab1', type: 'camera-intake', host: '127.0.0.1', port, maxWaiting: 3, x: 100, y: 100, wires: [['d1']] },
        // holds every message for 20 s: done() only when it lets go
        { id: 'd1', z: 'tab1', type: 'delay', pauseType: 'delay', timeout: '20', timeoutUnits: 'seconds', rate: '1', nbRateUnits: '1', rateUnits: 'second', randomFirst: '1', randomLast: '5', randomUnits: 'seconds', drop: false, x: 300, y: 100, wires: [[]] },
      ]);
      await waitFor('listening', () => listening(port), 30_000);
      const args = ['--target', `127.0.0.1:${port}`, '--rate', '30', '--count', '9', '--size', '160x100'];
      const t0 = Date.now();
      const report = await simulate(args);
      assert.ok(Date.now() - t0 < 20_000, 'the first run ended while the delay node still held its messages (machine too slow to tell)');
      assert.deepEqual([report.sent, report.accepted, report.rejected], [9, 3, { RESOURCE_EXHAUSTED: 6 }], rt.output());
      // once the delay node lets them go (calls done()), the slots are free again
      await sleep(Math.max(0, t0 + 21_000 - Date.now()));
      const again = await simulate(args);
      assert.equal(again.accepted, 3, JSON.stringify(again));
    });
  });
});
