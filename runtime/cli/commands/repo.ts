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

/** `--trust-proxy`: a hop count, or addresses and subnets (what Express's `trust proxy` takes). */
export function parseTrustProxy(v: string): number | string {
  const t = v.trim();
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    if (n < 1 || n > 10) throw new InvalidArgumentError('a hop count from 1 to 10, or addresses/subnets');
    return n;
  }
  const parts = t.split(',').map((x) => x.trim());
  const ok = (x: string) => /^(loopback|linklocal|uniquelocal)$/.test(x) || /^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(x);
  if (!parts.length || !parts.every(ok)) throw new InvalidArgumentError(`not a hop count or a list of addresses/subnets: ${v}`);
  return parts.join(',');
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
    .option('--pool-size <n>', 'database connections of this process (each replica has its own pool)', parsePositive, 10)
    .option('--offline-after <intervals>', 'a device is offline after this many missed poll intervals', parsePositive, 3)
    .option('--node-type-policy <file>', 'JSON node-type policy: {"refuse": [...], "tiers": {"line": {"allow": [...], "refuse": [...]}}} (env LINESIGHT_NODE_TYPE_POLICY)')
    .option('--refuse-node-types <list>', 'node types no template may use, comma-separated; "none" refuses none (env LINESIGHT_REFUSE_NODE_TYPES; default exec)')
    .option('--session-idle <hours>', 'a login session unused this long ends', parsePositive, 8)
    .option('--session-max-age <hours>', 'a login session ends this long after login', parsePositive, 7 * 24)
    .option('--trust-proxy <proxies>', "load balancers whose X-Forwarded-For names the client: a hop count (1 = the one in front) or addresses/subnets, comma-separated (e.g. loopback, 10.0.0.0/8); default none", parseTrustProxy)
    .option('--secure-cookies', 'mark the session cookie Secure also on plain HTTP (behind a TLS proxy); always Secure over https', false)
    .option('--keep-log-lines <n>', 'log lines kept per device (remote logs); older ones are pruned as new ones arrive', parsePositive, 10_000)
    .option('--keep-samples-hours <h>', 'hours of health samples kept per device', parsePositive, 24)
    .option('--history-db <url>', "serve the quality history read-only at /api/v1/history to viewers: the cloud sink's PostgreSQL URL, as a read-only role (linesight db migrate --readonly-role; env LINESIGHT_HISTORY_DB)")
    .option('--history-schema <name>', "the sink's schema in the history database")
    .option('--history-role <name>', 'SET ROLE to this read-only role for every history query (when the URL logs in as another user)')
    .option('--history-image-dir <dir>', "the sink's image store, for images stored as files")
    .option('--history-shifts <hours>', 'shift start hours in UTC, for "worst lines this shift"', '6,14,22')
    .option('--allow-writable-history-role', 'serve the history even when its database role could write (not for production)', false)
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
      const historyDb: string | undefined = o.historyDb ?? (process.env.LINESIGHT_HISTORY_DB || undefined);
      const shifts = String(o.historyShifts).split(',').map((h) => Number(h.trim()));
      if (!shifts.length || shifts.some((h) => !Number.isInteger(h) || h < 0 || h > 23)) throw new InvalidArgumentError(`--history-shifts must be hours 0..23, comma-separated, not ${o.historyShifts}`);
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
        poolSize: o.poolSize,
        nodeTypePolicy,
        sessionIdleMs: o.sessionIdle * 3600_000,
        sessionMaxAgeMs: o.sessionMaxAge * 3600_000,
        secureCookies: o.secureCookies,
        trustProxy: o.trustProxy,
        history: historyDb ? { db: historyDb, schema: o.historySchema, role: o.historyRole, imageDir: o.historyImageDir, shifts, allowWritableRole: o.allowWritableHistoryRole } : undefined,
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
