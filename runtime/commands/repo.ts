import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('repo')
    .description('central flow repository server (not built yet)')
    .action(() => {
      throw new Error('linesight repo is not available in this build yet');
    });
}
