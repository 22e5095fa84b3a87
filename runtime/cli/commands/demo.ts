// `linesight demo` (`npm start`): the whole stack on this machine with embedded defaults.
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import path from 'node:path';
import { parsePort } from './runtime';
import { redactText } from '../../../lib/redact';

function parseRate(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 1000) throw new InvalidArgumentError('must be a number of inspections per second in (0, 1000]');
  return n;
}

function parseShare(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('must be between 0 and 1');
  return n;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('run the whole stack on this machine with embedded defaults: repository, line/factory/cloud runtimes with agents, simulated camera and PLC (no login: keep it on one machine)')
    .option('--port <port>', 'editor port of the line runtime; factory +1, cloud +2, repository +10 (0: free ports)', parsePort, 1880)
    .option('--data-dir <dir>', 'where the demo keeps its state (wiped at start)', '.linesight/demo')
    .option('--camera-rate <n>', 'simulated inspections per second', parseRate, 2)
    .option('--defect-rate <p>', 'share of simulated products with defects', parseShare, 0.5)
    .action(async (o: { port: number; dataDir: string; cameraRate: number; defectRate: number }) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { startDemo } = require('../../dev/demo/stack') as typeof import('../../dev/demo/stack');
      // One redacted path for everything the demo prints (history and broker URLs, errors echoing them).
      const say = (l: string) => console.log(redactText(`demo: ${l}`));
      say('starting (about a minute on a small machine)…');
      const demo = await startDemo({ dataDir: o.dataDir, port: o.port, cameraRate: o.cameraRate, defectRate: o.defectRate, say });
      const lines = [
        '',
        'Linesight demo is running:',
        `  line editor       ${demo.editors.line ?? '(not started)'}   (camera-intake -> defect-rule -> plc-write, plc-read, uplink)`,
        `  line screen       ${demo.lineScreen ?? '(not started)'}   (Dashboard 2.0: last defect with its boxes, shift counts, lamp, line state, speed)`,
        `  vision line       ${demo.visionLine?.editor ?? '(not started)'}   (${demo.visionLine ? `${demo.visionLine.device}: images only -> vision-detect on ${demo.visionLine.model} -> rules, uplink` : 'vision-inspection'})`,
        `  factory editor    ${demo.editors.factory ?? '(not started)'}   (factory history, forward to cloud)`,
        `  cloud editor      ${demo.editors.cloud ?? '(not started)'}   (cloud history)`,
        `  fleet console     ${demo.repository.url}/   log in as admin, password ${process.env.LINESIGHT_ADMIN_PASSWORD ? 'from LINESIGHT_ADMIN_PASSWORD' : `in ${path.join(path.resolve(o.dataDir), 'repo', 'admin-password')} (cat it)`}`,
        `  flow repository   ${demo.repository.url}/api/v1/openapi.json   admin token in ${demo.repository.adminTokenFile ?? '(created on an earlier start)'}`,
        `                    (or open the "Flow repository" tab in any editor's sidebar)`,
        `  cloud history     ${demo.cloudHistoryUrl}   (schema cloud: inspections, detections, tag_samples, line_actions)`,
        `  factory history   ${demo.factoryHistoryUrl}   (schema factory)`,
        `  simulated PLC     modbus-tcp://${demo.plc.host}:${demo.plc.port}   alarm lamp = coil 0`,
        `  logs              ${path.join(path.resolve(o.dataDir), 'logs')}`,
        ...demo.missing.map((m) => `  missing: ${m}`),
        'Ctrl-C stops everything.',
        '',
      ];
      console.log(redactText(lines.join('\n')));
      // Looked at every 2 s, printed only when it changed; deployments (the sidebar's too) as events.
      const { StatusReport } = require('../../dev/demo/status-report') as typeof import('../../dev/demo/status-report');
      const changes = new StatusReport();
      demo.status().then((s) => changes.deploymentEvents(s.deployments), () => []); // the start-up deployments were told already
      let lastProblem = '';
      let busy = false;
      const report = setInterval(async () => {
        if (busy) return;
        busy = true;
        try {
          const s = await demo.status();
          for (const line of changes.deploymentEvents(s.deployments)) say(line);
          const line = changes.statusLine(s);
          if (line) say(line);
          lastProblem = '';
        } catch (err) {
          if ((err as Error).message !== lastProblem) say(`status: ${(lastProblem = (err as Error).message)}`);
        } finally {
          busy = false;
        }
      }, 2_000);
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        clearInterval(report);
        say('stopping…');
        demo.stop().then(
          () => {
            say('stopped');
            process.exit(0);
          },
          (err) => {
            console.error(redactText(String((err as Error)?.stack ?? err)));
            process.exit(1);
          },
        );
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
