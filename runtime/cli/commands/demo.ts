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
      const report = setInterval(async () => {
        try {
          const s = await demo.status();
          say(`cloud history: ${s.historyRows} inspections; alarm lamp: ${s.alarmLamp === null ? 'unknown' : s.alarmLamp ? 'ON' : 'off'}${s.alarmLampSeenOn ? ' (has lit)' : ''}; ${s.devices.map((d) => `${d.id} ${d.state}${d.running ? ` ${d.running}` : ''}`).join(', ')}`);
        } catch (err) {
          say(`status: ${(err as Error).message}`);
        }
      }, 10_000);
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
