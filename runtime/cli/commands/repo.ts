// `linesight repo`: the central flow repository server.
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { parsePort } from './runtime';
import { restrictProcessUmask } from '../../../lib/private-files';
import { registerUsers } from './repo-users';

function parsePositive(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

export function register(program: Command): void {
  const repo = program
    .command('repo')
    .description('run the central flow repository: versioned, signed flow templates, devices and deployments')
    .option('--port <port>', 'HTTP port', parsePort, 1890)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--db <url>', 'PostgreSQL URL (default: embedded PGlite in the data directory; env LINESIGHT_REPO_DB)')
    .option('--schema <name>', 'database schema for the repository tables', 'linesight_repo')
    .option('--data-dir <dir>', 'signing key, first admin token and password, embedded database', '.linesight/repo')
    .option('--broker <url>', 'MQTT broker for retained desired-state notifications (env LINESIGHT_REPO_BROKER; login in LINESIGHT_REPO_BROKER_USERNAME and LINESIGHT_REPO_BROKER_PASSWORD or the URL)')
    .option('--broker-mqtt5', 'speak MQTT 5 to the broker (default 3.1.1)', false)
    .option('--offline-after <intervals>', 'a device is offline after this many missed poll intervals', parsePositive, 3)
    .option('--node-type-policy <file>', 'JSON node-type policy: {"refuse": [...], "tiers": {"line": {"allow": [...], "refuse": [...]}}} (env LINESIGHT_NODE_TYPE_POLICY)')
    .option('--refuse-node-types <list>', 'node types no template may use, comma-separated; "none" refuses none (env LINESIGHT_REFUSE_NODE_TYPES; default exec)')
    .option('--session-idle <hours>', 'a login session unused this long ends', parsePositive, 8)
    .option('--session-max-age <hours>', 'a login session ends this long after login', parsePositive, 7 * 24)
    .option('--secure-cookies', 'mark the session cookie Secure also on plain HTTP (behind a TLS proxy); always Secure over https', false)
    .option('--keep-log-lines <n>', 'log lines kept per device (remote logs); older ones are pruned as new ones arrive', parsePositive, 10_000)
    .option('--keep-samples-hours <h>', 'hours of health samples kept per device', parsePositive, 24)
    .action(async (o) => {
      // Loaded here so `linesight flows` does not pay for express and pg.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { createRepoServer } = require('../../repo/server') as typeof import('../../repo/server');
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { resolveNodeTypePolicy, refusedTypes } = require('../../repo/node-policy') as typeof import('../../repo/node-policy');
      // The data dir holds the signing key, the first admin token and (embedded) the database: private by default.
      restrictProcessUmask();
      const say = (l: string) => console.log(`linesight repo: ${l}`);
      const nodeTypePolicy = resolveNodeTypePolicy({ file: o.nodeTypePolicy, refuse: o.refuseNodeTypes });
      const tiers = (['line', 'factory', 'cloud'] as const).map((t) => `${t}: ${[...refusedTypes(nodeTypePolicy, t).keys()].join(', ') || 'none'}`);
      say(`node-type policy: refused ${tiers.join('; ')}`);
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
        nodeTypePolicy,
        sessionIdleMs: o.sessionIdle * 3600_000,
        sessionMaxAgeMs: o.sessionMaxAge * 3600_000,
        secureCookies: o.secureCookies,
        telemetry: { maxLogLines: Math.round(o.keepLogLines), sampleRetentionMs: o.keepSamplesHours * 3_600_000 },
        log: say,
      });
      console.log(`linesight repo ready at ${repo.url}`);
      const stop = () => {
        repo.close().then(() => process.exit(0), () => process.exit(1));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  registerUsers(repo);
}
