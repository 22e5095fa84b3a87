import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('db')
    .description('database schema for the timescale sink (not built yet)')
    .action(() => {
      throw new Error('linesight db is not available in this build yet');
    });
}
