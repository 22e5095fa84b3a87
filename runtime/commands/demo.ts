import type { Command } from 'commander';
import path from 'node:path';
import { parsePort } from './runtime';
import { startRuntime } from '../tier-runtime';

export function register(program: Command): void {
  program
    .command('demo')
    .description('run the demo on this machine with embedded defaults (no login: keep it on one machine)')
    .option('--port <port>', 'editor port of the line runtime', parsePort, 1880)
    .option('--data-dir <dir>', 'where the demo keeps its state', '.linesight/demo')
    .action(async (o) => {
      const rt = await startRuntime({
        tier: 'line',
        port: o.port,
        userDir: path.join(o.dataDir, 'line'),
        insecure: true,
        logLevel: 'warn',
        say: (l) => console.log(l),
      });
      console.log(`Linesight demo: line runtime editor at ${rt.url}  (Ctrl-C stops)`);
      const stop = () => {
        rt.close().then(() => process.exit(0), () => process.exit(1));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
