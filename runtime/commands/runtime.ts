import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { TIERS, startRuntime, type Tier } from '../tier-runtime';
import { hashPassword } from '../admin-auth';

export function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number 0..65535');
  return n;
}

export function parseTier(v: string): Tier {
  if (!TIERS.includes(v as Tier)) throw new InvalidArgumentError(`must be one of ${TIERS.join(', ')}`);
  return v as Tier;
}

export function register(program: Command): void {
  const cmd = program
    .command('runtime')
    .description('start a tier runtime: Node-RED 4.1 with the Linesight nodes and the editor')
    .requiredOption('--tier <tier>', 'line | factory | cloud', parseTier)
    .option('--port <port>', 'HTTP port for the editor and admin API', parsePort, 1880)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--user-dir <dir>', 'Node-RED user directory (flows, credentials, outbox)', '.linesight/runtime')
    .option('--insecure', 'serve the editor without login (demo on one machine only)', false)
    .option('--log-level <level>', 'Node-RED log level', 'info')
    .action(async (o) => {
      const rt = await startRuntime({
        tier: o.tier,
        port: o.port,
        host: o.host,
        userDir: o.userDir,
        insecure: o.insecure,
        logLevel: o.logLevel,
        say: (l) => console.log(l),
      });
      console.log(`linesight runtime ${rt.tier} ready at ${rt.url}`);
      const stop = () => {
        rt.close().then(() => process.exit(0), () => process.exit(1));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  cmd
    .command('hash-password')
    .description('print a bcrypt hash for LINESIGHT_ADMIN_PASSWORD_HASH (reads the password from stdin)')
    .action(async () => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      const pw = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
      if (!pw) throw new Error('empty password on stdin');
      console.log(hashPassword(pw));
    });
}
