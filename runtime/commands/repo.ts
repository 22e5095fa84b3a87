// `linesight repo`: the central flow repository server.
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { parsePort } from './runtime';
import { restrictProcessUmask } from '../private-files';

function parsePositive(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

export function register(program: Command): void {
  program
    .command('repo')
    .description('run the central flow repository: versioned, signed flow templates, devices and deployments')
    .option('--port <port>', 'HTTP port', parsePort, 1890)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--db <url>', 'PostgreSQL URL (default: embedded PGlite in the data directory; env LINESIGHT_REPO_DB)')
    .option('--schema <name>', 'database schema for the repository tables', 'linesight_repo')
    .option('--data-dir <dir>', 'signing key, first admin token and embedded database', '.linesight/repo')
    .option('--broker <url>', 'MQTT broker for retained desired-state notifications (env LINESIGHT_REPO_BROKER; login in LINESIGHT_REPO_BROKER_USERNAME and LINESIGHT_REPO_BROKER_PASSWORD or the URL)')
    .option('--broker-mqtt5', 'speak MQTT 5 to the broker (default 3.1.1)', false)
    .option('--offline-after <intervals>', 'a device is offline after this many missed poll intervals', parsePositive, 3)
    .action(async (o) => {
      // Loaded here so `linesight flows` does not pay for express and pg.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { createRepoServer } = require('../repo/server') as typeof import('../repo/server');
      // The data dir holds the signing key, the first admin token and (embedded) the database: private by default.
      restrictProcessUmask();
      const say = (l: string) => console.log(`linesight repo: ${l}`);
      const repo = await createRepoServer({
        port: o.port,
        host: o.host,
        db: o.db ?? process.env.LINESIGHT_REPO_DB,
        schema: o.schema,
        dataDir: o.dataDir,
        broker: o.broker ?? process.env.LINESIGHT_REPO_BROKER,
        brokerProtocolVersion: o.brokerMqtt5 ? 5 : 4,
        brokerUsername: process.env.LINESIGHT_REPO_BROKER_USERNAME || undefined,
        brokerPassword: process.env.LINESIGHT_REPO_BROKER_PASSWORD || undefined,
        offlineAfterIntervals: o.offlineAfter,
        log: say,
      });
      console.log(`linesight repo ready at ${repo.url}`);
      const stop = () => {
        repo.close().then(() => process.exit(0), () => process.exit(1));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
