import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('flows')
    .description('client of the flow repository API (not built yet)')
    .action(() => {
      throw new Error('linesight flows is not available in this build yet');
    });
}
