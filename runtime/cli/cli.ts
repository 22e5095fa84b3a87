// The `linesight` command. Each subcommand lives in runtime/cli/commands/<name>.ts and is loaded only
// when used, so `linesight flows list` does not pay for loading Node-RED.
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../paths';

const SUBCOMMANDS = ['demo', 'runtime', 'repo', 'flows', 'simulate', 'db', 'history', 'dataset'] as const;

export async function main(argv: string[]): Promise<void> {
  const version = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')).version as string;
  const program = new Command('linesight')
    .description('Vision-AI defect inspection from the production line to the cloud, on Node-RED')
    .version(version)
    .showHelpAfterError();
  for (const name of SUBCOMMANDS) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(`./commands/${name}`) as { register(program: Command): void };
    mod.register(program);
  }
  await program.parseAsync(argv);
}
