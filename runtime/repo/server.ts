// The flow repository's HTTP service: REST under /api/v1, /healthz, /metrics. `createRepoServer` runs it
// in-process (tests, the demo); `linesight repo` wraps it for the command line.
import express, { type NextFunction, type Request, type Response } from 'express';
import crypto from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../paths';
import { assertValid, ValidationError } from '../../contracts/schemas';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../embedded/postgres';
import { API_ROOT, flowSha256, type DesiredState, type DeviceStatusReport } from '../../contracts/fleet/protocol';
import type { RepoAdminTokenCreate, RepoDeploymentCreate, RepoDeviceRegister, RepoDeviceUpdate, RepoHealthBatch, RepoLogBatch, RepoModelUploadCreate, RepoRemoteCommand, RepoRemoteEditing, RepoSaveVersion, RepoSessionCreate, RepoTemplateCreate, RepoTokenCreate, RepoUserCreate, RepoUserUpdate, RepoVersionPublish } from './api.schema';
import { TUNNEL_CLOSE } from '../../contracts/fleet/tunnel';
import { unfillParameters } from '../../contracts/fleet/parameters';
import { TunnelHub } from './tunnel/hub';
import { createRemoteEditing } from './tunnel/remote-editing';
import { isPlainListing, pageDevices, parseDeviceQuery } from './device-query';
import { bearerToken, cookieValue, hashToken, loadOrCreateSigningKeys, newPassword, roleAtLeast, sameSecret, SESSION_COOKIE, sessionCookie, writeAdminPasswordFile, writeAdminTokenFile, type Principal, type Role, type UserPrincipal } from './auth';
import { openDatabase, type RepoDb } from './db';
import { FLOW_BODY_LIMIT, jsonProblems, paramProblems, SMALL_BODY_LIMIT, TELEMETRY_BODY_LIMIT } from './input-limits';
import { renderMetrics, type HttpCounter } from './metrics';
import { availableNodeTypes } from './node-types';
import type { RepoNodeTypePolicy } from './node-policy';
import { createMqttNotifier, type DesiredNotifier } from './notifier';
import { openApiDocument } from './openapi';
import { FileModelStorage, type ModelStorage } from './model-storage';
import { serveArtifact } from './model-download';
import { ensurePrivateDir } from '../../lib/private-files';
import { redactText, redactUrl } from '../../lib/redact';
import { ApiError, RepoStore, type DesiredAnswer } from './store/repo-store';
import type { TelemetryOptions } from './store/telemetry';
import { healthQuery, logQuery, streamLogs } from './telemetry-routes';
import { HISTORY_MOUNT, mountHistory, type MountedHistory, type RepoHistoryOptions } from './history-mount';

/** Where the built console lives (scripts/build.mjs bundles runtime/repo/console there) and its URL. */
const CONSOLE_BUNDLE = path.join(__dirname, 'console', 'bundle');
const CONSOLE_ASSETS = '/console';
// The console's own scripts and styles only. uPlot sizes its canvas with inline styles; the parameter form
// validates with ajv, which compiles each template's schema to a function ('unsafe-eval'; no inline script).
const CONSOLE_CSP = "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'";
let consoleHtml: string | undefined;

/** index.html with its asset URLs carrying the package version, so a new release is never served stale. */
function consolePage(): string | undefined {
  if (consoleHtml) return consoleHtml;
  const file = path.join(__dirname, 'console', 'index.html');
  if (!fs.existsSync(file) || !fs.existsSync(path.join(CONSOLE_BUNDLE, 'console.js'))) return undefined;
  const version = (JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  consoleHtml = fs.readFileSync(file, 'utf8').replaceAll('{{assets}}', CONSOLE_ASSETS).replaceAll('{{version}}', version);
  return consoleHtml;
}

/** How many devices' desired states are read and published at once after a change. */
const PUBLISH_CONCURRENCY = 8;
/** A replica's claim to publish a desired state lapses after this long (it died before the broker acknowledged). */
const PUBLISH_LEASE_MS = 30_000;
/** How often each replica looks for desired states nobody published. */
const PUBLISH_SWEEP_MS = 10_000;
/** How often each replica looks for rollouts that can move on but were not moved on (their replica died). */
const ROLLOUT_SWEEP_MS = 5_000;

export interface RepoServerOptions {
  /** PostgreSQL URL; without one, embedded PGlite persisted in `<dataDir>/pgdata`. */
  db?: string;
  /** Schema holding the repository's tables. */
  schema?: string;
  /**
   * Database connections; 1 is forced for embedded PGlite, which shares one session between connections
   * (and 1 keeps device check-ins on that one connection too). More: check-ins get half as many of their own.
   */
  poolSize?: number;
  /** Holds the signing key, the first admin token and (embedded) the database. */
  dataDir: string;
  /** MQTT broker for retained desired-state notifications; none = HTTP polling only. */
  broker?: string;
  brokerProtocolVersion?: 4 | 5;
  /** Broker login when not in the URL's userinfo (never logged; the URL is logged without its password). */
  brokerUsername?: string;
  brokerPassword?: string;
  port?: number;
  host?: string;
  now?: () => number;
  offlineAfterIntervals?: number;
  /** Where start-up messages go (never secrets). */
  log?: (line: string) => void;
  /** Node types allowed in flows; scanned from the package and Node-RED core when absent. */
  knownTypes?: Set<string>;
  /** Node types templates may use (default: `exec` refused); served at GET /api/v1/policy/node-types. */
  nodeTypePolicy?: RepoNodeTypePolicy;
  /** A login session unused this long ends (default 8 h). */
  sessionIdleMs?: number;
  /** A login session ends this long after login (default 7 days). */
  sessionMaxAgeMs?: number;
  /** Mark the session cookie Secure even on plain HTTP (behind a TLS-terminating proxy). Always Secure over https. */
  secureCookies?: boolean;
  /** The first admin user's password (default: LINESIGHT_ADMIN_PASSWORD, else random, written to `<dataDir>/admin-password`). */
  adminPassword?: string;
  /** Where model artifacts are kept; default the filesystem under `<dataDir>/models` (0700). */
  modelStorage?: ModelStorage;
  /** Remote logs and health kept per device (default: the last 10,000 lines, 24 h of samples). */
  telemetry?: TelemetryOptions;
  /** How often to look for desired states no replica published (default 10 s). */
  publishSweepMs?: number;
  /** How often to look for rollouts that can move on (default 5 s). */
  rolloutSweepMs?: number;
  /** The quality history (the cloud sink's database), served read-only to viewers at /api/v1/history. */
  history?: RepoHistoryOptions;
  /** Flow-control window per editor-tunnel stream in bytes (default 256 KiB; tests make it small). */
  tunnelWindow?: number;
  /** How often this replica checks its open editor tunnels against the database (default 5 s). */
  tunnelRecheckMs?: number;
  /**
   * Proxies in front whose X-Forwarded-For is believed (Express's `trust proxy`: a hop count, or addresses /
   * subnets such as 'loopback' or '10.0.0.0/8'). Unset: none, and a client's address is its socket's.
   */
  trustProxy?: number | string;
}

export interface RepoServer {
  url: string;
  port: number;
  store: RepoStore;
  db: RepoDb;
  /** Set on the start that created it; it is also in `adminTokenFile`. */
  adminToken?: string;
  adminTokenFile?: string;
  /** Set on the start that created the first admin user with a random password; it is also in `adminPasswordFile`. */
  adminPassword?: string;
  adminPasswordFile?: string;
  publicKeyPem: string;
  /** The devices' editor tunnels. */
  tunnels: TunnelHub;
  close(): Promise<void>;
}

/**
 * Who may call a route: a role or higher (a user's session or an API token); `device-or-viewer` also a
 * device token (for its own device only where the path names one); `device-self` only the device's own
 * token; `session` only a logged-in browser; `none` anyone.
 */
type AuthRule = Role | 'device-or-viewer' | 'device-self' | 'session' | 'none';

/** What the app hands the HTTP server for WebSocket upgrades and for closing upgraded sockets at shutdown. */
interface AppLocals {
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  closeSockets(reason: string): void;
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
    /** The cookie value, when the request came with a live session. */
    sessionId?: string;
  }
}

export async function createRepoServer(opts: RepoServerOptions): Promise<RepoServer> {
  const log = opts.log ?? (() => {});
  ensurePrivateDir(opts.dataDir, (dir, err) => log(`warning: cannot make ${dir} private (${err.code}: owned by another account)`));
  const keys = loadOrCreateSigningKeys(opts.dataDir);
  if (keys.created) log(`created the repository signing key: ${keys.privateKeyFile} (mode 0600)`);
  let embedded: EmbeddedPostgres | undefined;
  let dbUrl = opts.db;
  if (!dbUrl) {
    embedded = await startEmbeddedPostgres({ dataDir: path.join(opts.dataDir, 'pgdata') });
    dbUrl = embedded.url;
    log(`database: embedded PGlite in ${path.join(opts.dataDir, 'pgdata')}`);
  }
  const db = await openDatabase({ url: dbUrl, schema: opts.schema, poolSize: embedded ? 1 : (opts.poolSize ?? 10), checkInPoolSize: embedded || (opts.poolSize ?? 10) <= 1 ? 0 : Math.max(2, Math.ceil((opts.poolSize ?? 10) / 2)), onError: (err) => log(`database connection error: ${redactText(err.message)}`) }).catch(async (err) => {
    await embedded?.stop().catch(() => {});
    throw err;
  });

  let notifier: DesiredNotifier | undefined;
  const store = new RepoStore({
    db,
    privateKeyPem: keys.privateKeyPem,
    knownTypes: opts.knownTypes ?? availableNodeTypes(),
    nodeTypePolicy: opts.nodeTypePolicy,
    modelStorage: opts.modelStorage ?? new FileModelStorage(path.join(opts.dataDir, 'models')),
    now: opts.now,
    offlineAfterIntervals: opts.offlineAfterIntervals,
    sessions: { idleMs: opts.sessionIdleMs, maxAgeMs: opts.sessionMaxAgeMs },
    telemetry: opts.telemetry,
    // One publish at a time, in order, so the retained message always ends on the latest state.
    onDesiredChange: (ids) => {
      publishing = publishing.then(() => publishDesired(ids));
    },
  });
  let publishing: Promise<void> = Promise.resolve();
  // Devices are published a few at a time: one after another, the 20th device of a deployment heard of
  // it ~1 s after the first. Batches still run one at a time (the `publishing` chain), so each device's
  // retained message ends on its latest state. Each generation is claimed in the database first, so with
  // several replicas exactly one publishes it (see DesiredStates.claimPublish).
  async function publishDesired(ids: string[]): Promise<void> {
    const n = notifier;
    if (!n) return;
    let states: DesiredState[];
    try {
      states = await store.claimDesiredPublish([...new Set(ids)], PUBLISH_LEASE_MS);
    } catch (err) {
      // The sweep tries again.
      log(`could not read the desired states to publish: ${redactText((err as Error).message)}`);
      return;
    }
    let next = 0;
    const worker = async () => {
      while (next < states.length) {
        const state = states[next++]!;
        try {
          await n.publish(state);
          await store.markDesiredPublished(state.deviceId, state.generation);
        } catch (err) {
          log(`could not publish the desired state of ${state.deviceId}: ${redactText((err as Error).message)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PUBLISH_CONCURRENCY, states.length) }, worker));
  }
  // Publishes what no replica published: changes made while the broker was away, and those of a replica
  // that died between its commit and its publish (once their claim's lease is over).
  const sweep = () => {
    publishing = publishing.then(async () => {
      try {
        await publishDesired(await store.unpublishedDesired(PUBLISH_LEASE_MS));
      } catch (err) {
        log(`could not look for unpublished desired states: ${redactText((err as Error).message)}`);
      }
    });
  };
  let sweepTimer: NodeJS.Timeout | undefined;
  if (opts.broker) {
    notifier = createMqttNotifier({
      url: opts.broker,
      protocolVersion: opts.brokerProtocolVersion,
      username: opts.brokerUsername,
      password: opts.brokerPassword,
      onEvent: (e, detail) => (e === 'connect' ? log(`notifications: connected to ${redactUrl(opts.broker)}`) : e === 'error' ? log(`notifications: ${redactText(detail ?? '')}`) : undefined),
      onConnect: sweep,
    });
    sweepTimer = setInterval(sweep, opts.publishSweepMs ?? PUBLISH_SWEEP_MS);
    sweepTimer.unref();
  }

  // The first admin user, then the first admin token (which belongs to that user), as on every first start.
  const givenPassword = opts.adminPassword ?? (process.env.LINESIGHT_ADMIN_PASSWORD || undefined);
  const firstPassword = givenPassword ?? newPassword();
  let adminPassword: string | undefined;
  let adminPasswordFile: string | undefined;
  if (await store.createFirstAdmin(firstPassword)) {
    if (givenPassword) {
      log('created the first admin user "admin" with the password given in LINESIGHT_ADMIN_PASSWORD');
    } else {
      adminPassword = firstPassword;
      adminPasswordFile = writeAdminPasswordFile(opts.dataDir, firstPassword);
      log(`created the first admin user "admin"; its password is in ${adminPasswordFile} (mode 0600) and will not be shown again`);
    }
  }
  // Rollouts move on from device reports; a replica that died between a report's commit and moving the
  // deployment on leaves that to every other replica, which looks now and then.
  const rolloutTimer = setInterval(() => {
    store.moveOnRollouts().catch((err) => log(`could not move rollouts on: ${redactText((err as Error).message)}`));
  }, opts.rolloutSweepMs ?? ROLLOUT_SWEEP_MS);
  rolloutTimer.unref();

  let adminToken: string | undefined;
  let adminTokenFile: string | undefined;
  adminToken = await store.createFirstAdminToken('initial');
  if (adminToken) {
    adminTokenFile = writeAdminTokenFile(opts.dataDir, adminToken);
    log(`created the first admin token; it is in ${adminTokenFile} (mode 0600) and will not be shown again`);
  }

  let history: MountedHistory | undefined;
  if (opts.history) {
    history = await mountHistory(opts.history, opts.now).catch(async (err) => {
      await db.close().catch(() => {});
      await embedded?.stop().catch(() => {});
      throw err;
    });
    log(`quality history: ${redactUrl(opts.history.db)}${opts.history.schema ? ` schema ${opts.history.schema}` : ''} at ${HISTORY_MOUNT}`);
  }

  const http: HttpCounter = { requests: new Map() };
  const startedAt = Date.now();
  const tunnels = new TunnelHub(opts.tunnelWindow);
  const app = buildApp(store, keys.publicKeyPem, http, startedAt, opts.now, log, { secureCookies: opts.secureCookies, history: history?.handler, tunnels, tunnelRecheckMs: opts.tunnelRecheckMs, trustProxy: opts.trustProxy });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  }).catch(async (err) => {
    clearInterval(rolloutTimer);
    clearInterval(sweepTimer);
    await notifier?.close().catch(() => {});
    await history?.close().catch(() => {});
    await db.close().catch(() => {});
    await embedded?.stop().catch(() => {});
    throw err;
  }) as Server;
  // Keep idle connections longer than clients (undici, the agents) expect, so a client never sends on a
  // socket the server is closing at that moment (seen as UND_ERR_SOCKET under load).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const upgrade = (app.locals as AppLocals).upgrade;
  server.on('upgrade', (req, socket, head) => upgrade(req, socket, head));
  const port = (server.address() as { port: number }).port;
  const url = `http://${opts.host && opts.host !== '0.0.0.0' ? opts.host : '127.0.0.1'}:${port}`;
  return {
    url,
    port,
    store,
    db,
    adminToken,
    adminTokenFile,
    adminPassword,
    adminPasswordFile,
    publicKeyPem: keys.publicKeyPem,
    tunnels,
    async close() {
      // Upgraded sockets (tunnels, editor comms) are no longer the HTTP server's to close.
      (app.locals as AppLocals).closeSockets('the repository is stopping');
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      clearInterval(sweepTimer);
      clearInterval(rolloutTimer);
      await publishing;
      await store.close();
      await notifier?.close().catch(() => {});
      await history?.close().catch(() => {});
      await db.close().catch(() => {});
      await embedded?.stop().catch(() => {});
    },
  };
}

/** The Express app; exported so tests can compare its routes with the OpenAPI document. */
export function buildApp(
  store: RepoStore,
  publicKeyPem: string,
  http: HttpCounter,
  startedAt: number,
  now: () => number = Date.now,
  /** Where a request that failed inside the repository is logged, with its request id. */
  log: (line: string) => void = () => {},
  extra: { secureCookies?: boolean; history?: MountedHistory['handler']; tunnels?: TunnelHub; tunnelRecheckMs?: number; trustProxy?: number | string } = {},
): express.Express {
  const app = express();
  const tunnels = extra.tunnels ?? new TunnelHub();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Behind a load balancer every socket is the balancer's: with trusted proxies, `req.ip` is the client's
  // address from X-Forwarded-For (failed-login limits per address and the audit log use it).
  if (extra.trustProxy !== undefined) app.set('trust proxy', extra.trustProxy);
  // Bodies are read only after the token is checked (see `guard`): an unauthenticated client cannot make
  // the repository read, let alone parse, megabytes. Only publishing a version may send a big body.
  const jsonParsers = new Map<string, express.RequestHandler>();
  const jsonParser = (limit: string) => {
    let parser = jsonParsers.get(limit);
    if (!parser) jsonParsers.set(limit, (parser = express.json({ limit })));
    return parser;
  };
  // Every answer names its request, so a person reporting an error can point at the server's log line.
  app.use((_req, res, next) => {
    const requestId = crypto.randomUUID();
    res.locals.requestId = requestId;
    res.set('X-Request-Id', requestId);
    next();
  });
  app.use((req, res, next) => {
    res.on('finish', () => {
      const route = (res.locals.route as string | undefined) ?? 'unmatched';
      const key = `${req.method} ${route} ${res.statusCode}`;
      http.requests.set(key, (http.requests.get(key) ?? 0) + 1);
    });
    next();
  });

  const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
  /**
   * Whether an Origin header names the repository itself: the host the browser asked for (Host header), over
   * http or https (a TLS-terminating proxy in front changes the scheme, not the host).
   */
  const isOwnOrigin = (origin: string, req: Request) => {
    try {
      const url = new URL(origin);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.host === req.headers.host && url.pathname === '/' && origin === url.origin;
    } catch {
      return false;
    }
  };
  /** A browser request from another site's page is refused, whatever it carries. */
  const checkOrigin = (req: Request) => {
    const origin = req.headers.origin;
    if (origin !== undefined && !isOwnOrigin(origin, req)) throw new ApiError(403, `requests from another origin (${origin.slice(0, 200)}) are refused; use the repository's own pages or a bearer token`);
  };

  /** Who is asking: a bearer token (API or device), else the session cookie (with its Origin and CSRF checks). */
  const authenticate = async (req: Request): Promise<Principal> => {
    const bearer = bearerToken(req.headers.authorization);
    if (bearer || req.headers.authorization !== undefined) {
      const principal = await store.authenticate(bearer);
      if (!principal) throw new ApiError(401, 'a valid bearer token is required (Authorization: Bearer <token>)');
      return principal;
    }
    const sessionId = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (!sessionId) throw new ApiError(401, 'a valid bearer token is required (Authorization: Bearer <token>), or a session (log in with POST /api/v1/session)');
    checkOrigin(req);
    const found = await store.session(sessionId);
    if (!found) throw new ApiError(401, 'the session has ended or is unknown; log in again');
    if (!SAFE_METHODS.has(req.method)) {
      const sent = req.headers['x-csrf-token'];
      if (typeof sent !== 'string' || !sameSecret(sent, found.session.csrfToken)) throw new ApiError(403, 'CSRF token missing or wrong (send the X-CSRF-Token header from GET /api/v1/session)');
    }
    req.sessionId = sessionId;
    return found.principal;
  };

  /** Refuses (403, naming the role needed) a principal the rule does not admit. */
  const authorise = (rule: Exclude<AuthRule, 'none'>, principal: Principal, req: Request) => {
    if (principal.kind === 'device') {
      if (rule !== 'device-or-viewer' && rule !== 'device-self') throw new ApiError(403, `this route needs role ${rule === 'session' ? 'viewer (a logged-in user)' : rule}; a device token was given`);
      if (req.params.id !== undefined && req.params.id !== principal.deviceId) throw new ApiError(403, `a device token may act only for its own device (${principal.deviceId}), not ${req.params.id}`);
      return;
    }
    if (rule === 'device-self') throw new ApiError(403, 'this route is for the device itself; use the device token');
    if (rule === 'session') {
      if (principal.via !== 'session') throw new ApiError(401, 'no session: this route is for a logged-in browser (POST /api/v1/session)');
      return;
    }
    const need: Role = rule === 'device-or-viewer' ? 'viewer' : rule;
    if (!roleAtLeast(principal.role, need)) throw new ApiError(403, `this route needs role ${need}; ${principal.via === 'token' ? `the token ${principal.tokenName} has` : `${principal.name} has`} ${principal.role}`);
  };

  /** Reads and checks the JSON body (at most `limit`), then goes on. */
  const readBody = (limit: string, req: Request, res: Response, next: NextFunction) =>
    jsonParser(limit)(req, res, (err?: unknown) => {
      if (err) return next(err);
      const bodyRefused = jsonProblems(req.body);
      next(bodyRefused.length ? new ApiError(422, 'request body refused', bodyRefused) : undefined);
    });

  /**
   * Authenticates and authorises, then checks path and query parameters, then reads and checks the JSON body
   * (at most `bodyLimit`, default SMALL_BODY_LIMIT). A `none` route reads no body: it must parse its own.
   */
  const guard = (rule: AuthRule, opts: { bodyLimit?: string; raw?: boolean } = {}) => async (req: Request, res: Response, next: NextFunction) => {
    // Remember the route pattern now: once the router is left, req.route and req.baseUrl are gone.
    res.locals.route = `${req.baseUrl}${req.route?.path ?? ''}`;
    try {
      if (rule === 'none') return next();
      const principal = await authenticate(req);
      authorise(rule, principal, req);
      req.principal = principal;
      const paramsRefused = [...paramProblems(req.params, 'path'), ...paramProblems(req.query as Record<string, unknown>, 'query')];
      if (paramsRefused.length) throw new ApiError(422, 'request refused', paramsRefused);
      // A raw route (a model chunk) reads its own body as a stream, after this check and within its own limit.
      if (opts.raw) return next();
      readBody(opts.bodyLimit ?? SMALL_BODY_LIMIT, req, res, next);
    } catch (err) {
      next(err);
    }
  };
  /** The user behind a request that passed a role rule. */
  const user = (req: Request): UserPrincipal => req.principal as UserPrincipal;
  /** Secure when the request came over https, or always with --secure-cookies. */
  const secure = (req: Request) => req.secure || extra.secureCookies === true;
  const body = <T>(schema: string, req: Request): T => {
    try {
      return assertValid<T>(schema, req.body ?? {}, 'request body');
    } catch (err) {
      if (err instanceof ValidationError) throw new ApiError(422, 'request body refused', err.problems);
      throw err;
    }
  };
  type Handler = (req: Request, res: Response) => Promise<unknown>;
  const h = (fn: Handler) => (req: Request, res: Response, next: NextFunction) => fn(req, res).catch(next);
  const p = (req: Request, name: string) => String(req.params[name]);

  // Remote editing: the device document with its tunnel, the editor proxy, the WebSocket upgrades.
  const remote = createRemoteEditing({ store, tunnels, log, authenticate, recheckMs: extra.tunnelRecheckMs });
  const { deviceDocument, liveTunnel, runCommand } = remote;
  const locals: AppLocals = { upgrade: remote.upgrade, closeSockets: remote.closeSockets };
  Object.assign(app.locals, locals);

  app.get('/healthz', guard('none'), h(async (_req, res) => {
    await store.counts();
    res.json({ ok: true });
  }));
  app.get('/metrics', guard('none'), h(async (_req, res) => {
    const [counts, fleet] = await Promise.all([store.counts(), store.fleetGauges()]);
    res.type('text/plain; version=0.0.4').send(renderMetrics(counts, http, startedAt, now(), fleet));
  }));

  // The fleet console: one page and its bundle (scripts, styles), all from the package, no CDN.
  app.get('/', guard('none'), (_req, res) => {
    const page = consolePage();
    if (!page) return res.status(503).type('text/plain').send('the console is not built: run npm run build');
    res.type('html').set({ 'Cache-Control': 'no-cache', 'Content-Security-Policy': CONSOLE_CSP, 'X-Frame-Options': 'DENY', 'Referrer-Policy': 'same-origin' }).send(page);
  });
  app.use(CONSOLE_ASSETS, express.static(CONSOLE_BUNDLE, { index: false, fallthrough: true, maxAge: '1d', setHeaders: (res) => res.set('X-Content-Type-Options', 'nosniff') }));

  const api = express.Router();
  api.get('/openapi.json', guard('none'), (_req, res) => res.json(openApiDocument({ history: !!extra.history })));
  api.get('/keys/public', guard('none'), (_req, res) => res.type('application/x-pem-file').send(publicKeyPem));
  api.get('/policy/node-types', guard('device-or-viewer'), (_req, res) => res.json(store.nodeTypePolicy));

  api.get('/templates', guard('viewer'), h(async (_req, res) => res.json(await store.listTemplates())));
  api.post('/templates', guard('deployer'), h(async (req, res) => res.status(201).json(await store.createTemplate(body<RepoTemplateCreate>('RepoTemplateCreate', req), req.principal!))));
  api.get('/templates/:slug', guard('viewer'), h(async (req, res) => {
    const t = await store.getTemplate(p(req, 'slug'));
    if (!t) throw new ApiError(404, `no template ${p(req, 'slug')}`);
    res.json(t);
  }));
  api.get('/templates/:slug/versions', guard('viewer'), h(async (req, res) => {
    if (!(await store.getTemplate(p(req, 'slug')))) throw new ApiError(404, `no template ${p(req, 'slug')}`);
    res.json(await store.listVersions(p(req, 'slug')));
  }));
  api.post('/templates/:slug/versions', guard('deployer', { bodyLimit: FLOW_BODY_LIMIT }), h(async (req, res) => {
    const v = await store.publishVersion(p(req, 'slug'), body<RepoVersionPublish>('RepoVersionPublish', req), req.principal!);
    res.status(201).json(v);
  }));
  api.get('/templates/:slug/versions/:version', guard('device-or-viewer'), h(async (req, res) => {
    const slug = p(req, 'slug');
    const version = p(req, 'version');
    const who = req.principal!;
    if (who.kind === 'device' && !(await store.deviceMayRead(who.deviceId, slug, version))) {
      throw new ApiError(403, `version ${slug}@${version} is not assigned to device ${who.deviceId}`);
    }
    const v = await store.getVersion(slug, version);
    if (!v) throw new ApiError(404, `no version ${slug}@${version}`);
    const { nodeTypes: _nodeTypes, ...doc } = v;
    res.json(doc);
  }));
  // Published versions never change: say so rather than answer a bare 404.
  api.all('/templates/:slug/versions/:version', guard('none'), (_req, res) => {
    res.status(405).set('Allow', 'GET').json({ error: 'published versions are immutable; publish a new version instead' });
  });

  api.get('/devices', guard('viewer'), h(async (req, res) => {
    const query = req.query as Record<string, unknown>;
    // Without a filter or page the answer stays the whole list, as the CLI and the sidebar read it.
    if (isPlainListing(query)) return res.json(await store.listDevices());
    const parsed = parseDeviceQuery(query);
    if (parsed.problems.length) throw new ApiError(422, 'query refused', parsed.problems);
    res.json(pageDevices(await store.listDevices(), parsed.query));
  }));
  api.post('/devices', guard('deployer'), h(async (req, res) => res.status(201).json(await store.registerDevice(body<RepoDeviceRegister>('RepoDeviceRegister', req), req.principal!))));
  api.get('/devices/:id', guard('viewer'), h(async (req, res) => res.json(await deviceDocument(p(req, 'id')))));
  api.patch('/devices/:id', guard('deployer'), h(async (req, res) => res.json(await store.updateDevice(p(req, 'id'), body<RepoDeviceUpdate>('RepoDeviceUpdate', req), req.principal!))));
  api.post('/devices/:id/token', guard('admin'), h(async (req, res) => {
    const token = await store.rotateDeviceToken(p(req, 'id'), req.principal!);
    // The old token is void: so is the tunnel it opened.
    tunnels.close(p(req, 'id'), TUNNEL_CLOSE.revoked, 'the device token was replaced');
    res.json({ token });
  }));
  // A desired state is answered from the answer made once per device and generation (DesiredStates.answerFor):
  // a 304 costs no serialisation, hash or signature, a 200 sends text already signed and serialised.
  const answerDesired = (req: Request, res: Response, answer: DesiredAnswer) => {
    res.set('ETag', answer.etag).set('Cache-Control', 'no-cache');
    const inm = req.headers['if-none-match'];
    if (inm && (inm === answer.etag || inm.split(',').map((s) => s.trim().replace(/^W\//, '')).includes(answer.etag))) return res.status(304).end();
    res.type('application/json').send(answer.body);
  };
  // A fleet's hot path: a device polling its own desired state is authenticated by one indexed read of its
  // generation (a thousand devices every 5 s); its check-in is written with others' in one batch. Anything
  // else (an admin token, another device's token, a bad id) goes on to the guarded route, which answers it
  // with the precise 401, 403 or 422.
  const devicePoll = (req: Request, res: Response, next: NextFunction) => {
    const token = bearerToken(req.headers.authorization);
    if (!token?.startsWith('lsd_') || paramProblems(req.params, 'path').length || paramProblems(req.query as Record<string, unknown>, 'query').length) return next();
    store.pollDesiredState(p(req, 'id'), hashToken(token)).then((answer) => {
      if (!answer) return next();
      res.locals.route = `${req.baseUrl}${req.route?.path ?? ''}`;
      answerDesired(req, res, answer);
    }, next);
  };
  api.get('/devices/:id/desired', devicePoll, guard('device-or-viewer'), h(async (req, res) => {
    const id = p(req, 'id');
    const answer = req.principal!.kind === 'device' ? await store.checkInDesiredState(id) : await store.desiredAnswer(id);
    if (!answer) throw new ApiError(404, `no device ${id}`);
    answerDesired(req, res, answer);
  }));
  api.post('/devices/:id/status', guard('device-self'), h(async (req, res) => {
    const report = body<DeviceStatusReport>('RepoStatusReport', req);
    if (report.deviceId !== p(req, 'id')) throw new ApiError(422, 'request body refused', [{ field: 'deviceId', reason: `must be ${p(req, 'id')}, the device in the path` }]);
    await store.recordStatus(p(req, 'id'), report, req.principal!);
    res.status(204).end();
  }));

  // Telemetry proves the device alive as a poll does; a device posting lines every second is touched (a
  // query) at most every few seconds from here.
  const touchedAt = new Map<string, number>();
  const touchOften = async (id: string) => {
    const t = now();
    if (t - (touchedAt.get(id) ?? -Infinity) < 2000) return;
    touchedAt.set(id, t);
    await store.touchDevice(id);
  };
  // Remote logs and health: the device posts its own; reading is for people (viewer routes).
  api.post('/devices/:id/logs', guard('device-self', { bodyLimit: TELEMETRY_BODY_LIMIT }), h(async (req, res) => {
    await store.appendLogs(p(req, 'id'), body<RepoLogBatch>('RepoLogBatch', req));
    await touchOften(p(req, 'id'));
    res.status(204).end();
  }));
  api.post('/devices/:id/health', guard('device-self', { bodyLimit: TELEMETRY_BODY_LIMIT }), h(async (req, res) => {
    await store.appendSamples(p(req, 'id'), body<RepoHealthBatch>('RepoHealthBatch', req));
    await touchOften(p(req, 'id'));
    res.status(204).end();
  }));
  api.get('/devices/:id/logs', guard('viewer'), h(async (req, res) => {
    const query = logQuery(req.query, true);
    await store.telemetry.requireDevice(p(req, 'id'));
    res.json(await store.readLogs(p(req, 'id'), query));
  }));
  api.get('/devices/:id/logs/stream', guard('viewer'), h(async (req, res) => {
    const query = logQuery(req.query, false);
    await store.telemetry.requireDevice(p(req, 'id'));
    await streamLogs(store.telemetry, p(req, 'id'), query, req, res, log);
  }));
  api.get('/devices/:id/health', guard('viewer'), h(async (req, res) => {
    const range = healthQuery(req.query);
    await store.telemetry.requireDevice(p(req, 'id'));
    res.json({ samples: await store.readSamples(p(req, 'id'), range) });
  }));
  api.get('/fleet/health', guard('viewer'), h(async (_req, res) => res.json({ devices: await store.fleetHealth() })));

  // Remote editing: people turn it on, the agent opens its tunnel, the editor and a few commands go through it.
  api.post('/devices/:id/remote-editing', guard('deployer'), h(async (req, res) => {
    const id = p(req, 'id');
    const change = body<RepoRemoteEditing>('RepoRemoteEditing', req);
    await store.remoteEditing.set(id, change, req.principal!);
    if (!change.enabled) tunnels.close(id, TUNNEL_CLOSE.disabled, 'remote editing was turned off');
    res.json(await deviceDocument(id));
  }));
  api.get('/devices/:id/tunnel', guard('device-self'), h(async (_req, res) => {
    res.status(426).set('Upgrade', 'websocket').json({ error: 'this is the editor tunnel: open it as a WebSocket with the device token' });
  }));
  api.post('/devices/:id/remote-commands', guard('deployer'), h(async (req, res) => {
    const id = p(req, 'id');
    const { command } = body<RepoRemoteCommand>('RepoRemoteCommand', req);
    const tunnel = await liveTunnel(id);
    const result = await runCommand(tunnel, command, req.principal!);
    if (command === 'support-bundle') return res.json({ command, bundleId: await store.remoteEditing.saveBundle(id, result, req.principal!), result });
    res.json({ command, result });
  }));
  api.get('/devices/:id/support-bundles/:bundleId', guard('deployer'), h(async (req, res) => {
    const found = await store.remoteEditing.bundle(p(req, 'id'), p(req, 'bundleId'));
    if (!found) throw new ApiError(404, `no support bundle ${p(req, 'bundleId')} of device ${p(req, 'id')}`);
    res.json(found);
  }));
  api.post('/devices/:id/save-version', guard('deployer'), h(async (req, res) => {
    const id = p(req, 'id');
    const wanted = body<RepoSaveVersion>('RepoSaveVersion', req);
    const device = await store.getDevice(id);
    if (!device) throw new ApiError(404, `no device ${id}`);
    const slug = wanted.template ?? device.desired?.template ?? device.running?.split('@')[0];
    if (!slug) throw new ApiError(422, 'request body refused', [{ field: 'template', reason: `device ${id} has no assigned template: name the template to save into` }]);
    const template = await store.getTemplate(slug);
    if (!template) throw new ApiError(404, `no template ${slug}`);
    const tunnel = await liveTunnel(id);
    const now = (await runCommand(tunnel, 'flows', req.principal!)) as { flows: unknown[] };
    // The device's values go back to ${NAME} references: the template's parameters and the device's own.
    const names = new Set([...Object.keys((template.parameters as { properties?: object }).properties ?? {}), ...Object.keys(device.parameters ?? {})]);
    const assigned = device.desired?.template === slug ? await store.getVersion(slug, device.desired.version) : undefined;
    const flow = unfillParameters(now.flows, names, assigned?.flow ?? []);
    const changelog = wanted.changelog ?? `edited on device ${id}`;
    const version = await store.publishVersion(slug, { version: wanted.version, flow, changelog }, req.principal!);
    await store.remoteEditing.record(req.principal!, 'device.editor.save-version', id, { template: slug, version: wanted.version });
    res.status(201).json(version);
  }));

  api.get('/deployments', guard('viewer'), h(async (_req, res) => res.json(await store.listDeployments())));
  api.post('/deployments', guard('deployer'), h(async (req, res) => res.status(201).json(await store.createDeployment(body<RepoDeploymentCreate>('RepoDeploymentCreate', req), req.principal!))));
  api.get('/deployments/:id', guard('viewer'), h(async (req, res) => {
    const d = await store.getDeployment(p(req, 'id'));
    if (!d) throw new ApiError(404, `no deployment ${p(req, 'id')}`);
    res.json(d);
  }));
  api.post('/deployments/:id/pause', guard('deployer'), h(async (req, res) => res.json(await store.pauseDeployment(p(req, 'id'), req.principal!))));
  api.post('/deployments/:id/resume', guard('deployer'), h(async (req, res) => res.json(await store.resumeDeployment(p(req, 'id'), req.principal!))));
  api.post('/deployments/:id/rollback', guard('deployer'), h(async (req, res) => res.json(await store.rollbackDeployment(p(req, 'id'), req.principal!))));
  api.post('/deployments/:id/cancel', guard('deployer'), h(async (req, res) => res.json(await store.cancelDeployment(p(req, 'id'), req.principal!))));

  // ---- models: resumable uploads, signed immutable versions, artifacts a device may download when assigned ----
  api.get('/models', guard('viewer'), h(async (_req, res) => res.json(await store.models.listModels())));
  api.get('/models/:name', guard('viewer'), h(async (req, res) => {
    const versions = await store.models.listVersions(p(req, 'name'));
    if (!versions.length) throw new ApiError(404, `no model ${p(req, 'name')}`);
    res.json({ name: p(req, 'name'), versions });
  }));
  api.post('/models/:name/uploads', guard('deployer'), h(async (req, res) => {
    const up = await store.models.createUpload(p(req, 'name'), body<RepoModelUploadCreate>('RepoModelUploadCreate', req), req.principal!);
    res.status(201).set('Location', `${API_ROOT}/models/uploads/${up.uploadId}`).set('Upload-Offset', String(up.offset)).json(up);
  }));
  api.head('/models/uploads/:uploadId', guard('deployer'), h(async (req, res) => {
    const up = await store.models.getUpload(p(req, 'uploadId'));
    if (!up) throw new ApiError(404, `no upload ${p(req, 'uploadId')}`);
    res.set('Upload-Offset', String(up.offset)).set('Upload-Length', String(up.bytes)).set('Cache-Control', 'no-store').status(200).end();
  }));
  api.put('/models/uploads/:uploadId', guard('deployer', { raw: true }), h(async (req, res) => {
    const { upload, version } = await store.models.appendUpload(p(req, 'uploadId'), req.headers['content-range'], req, req.principal!);
    res.set('Upload-Offset', String(upload.offset));
    if (version) return res.status(201).json({ ...upload, complete: true, version });
    res.json({ ...upload, complete: false });
  }));
  api.get('/models/:name/versions/:version', guard('device-or-viewer'), h(async (req, res) => {
    const [name, version] = [p(req, 'name'), p(req, 'version')];
    const who = req.principal!;
    if (who.kind === 'device' && !(await store.models.deviceMayRead(who.deviceId, name, version))) throw new ApiError(403, `model ${name}@${version} is not assigned to device ${who.deviceId}`);
    const doc = await store.models.getVersion(name, version);
    if (!doc) throw new ApiError(404, `no model version ${name}@${version}`);
    res.json(doc);
  }));
  api.get('/models/:name/versions/:version/artifact', guard('device-or-viewer'), h(async (req, res) => {
    const [name, version] = [p(req, 'name'), p(req, 'version')];
    const who = req.principal!;
    if (who.kind === 'device' && !(await store.models.deviceMayRead(who.deviceId, name, version))) throw new ApiError(403, `model ${name}@${version} is not assigned to device ${who.deviceId}`);
    const doc = await store.models.getVersion(name, version);
    if (!doc) throw new ApiError(404, `no model version ${name}@${version}`);
    await serveArtifact(req, res, store.models.storage, doc.sha256);
  }));
  api.all('/models/:name/versions/:version', guard('none'), (_req, res) => {
    res.status(405).set('Allow', 'GET').json({ error: 'published model versions are immutable; publish a new version instead' });
  });

  api.get('/admin-tokens', guard('admin'), h(async (_req, res) => res.json(await store.listAdminTokens())));
  api.post('/admin-tokens', guard('admin'), h(async (req, res) => res.status(201).json(await store.issueAdminToken(body<RepoAdminTokenCreate>('RepoAdminTokenCreate', req).name, user(req)))));
  api.delete('/admin-tokens/:tokenId', guard('admin'), h(async (req, res) => {
    await store.revokeAdminToken(p(req, 'tokenId'), req.principal!);
    res.status(204).end();
  }));
  // Anyone may hold tokens of their own (at most their role); an admin manages everyone's and pipelines'.
  api.get('/tokens', guard('viewer'), h(async (req, res) => res.json(await store.listTokens(user(req)))));
  api.post('/tokens', guard('viewer'), h(async (req, res) => res.status(201).json(await store.issueToken(body<RepoTokenCreate>('RepoTokenCreate', req), user(req)))));
  api.delete('/tokens/:tokenId', guard('viewer'), h(async (req, res) => {
    await store.revokeToken(p(req, 'tokenId'), user(req));
    res.status(204).end();
  }));

  api.get('/users', guard('admin'), h(async (_req, res) => res.json(await store.listUsers())));
  api.post('/users', guard('admin'), h(async (req, res) => res.status(201).json(await store.createUser(body<RepoUserCreate>('RepoUserCreate', req), req.principal!))));
  api.patch('/users/:name', guard('admin'), h(async (req, res) => res.json(await store.updateUser(p(req, 'name'), body<RepoUserUpdate>('RepoUserUpdate', req), req.principal!))));

  // Login reads its own body: the route is open to anyone, so its limit is the small one.
  api.post('/session', guard('none'), (req, res, next) => {
    try {
      checkOrigin(req);
      readBody(SMALL_BODY_LIMIT, req, res, next);
    } catch (err) {
      next(err);
    }
  }, h(async (req, res) => {
    const { username, password } = body<RepoSessionCreate>('RepoSessionCreate', req);
    const { sessionId, ...session } = await store.login(username, password, req.ip ?? req.socket.remoteAddress ?? 'unknown');
    res.set('Set-Cookie', sessionCookie(sessionId, store.sessions.maxAgeMs / 1000, secure(req))).set('Cache-Control', 'no-store');
    res.json(session);
  }));
  api.get('/session', guard('session'), h(async (req, res) => {
    const found = await store.session(req.sessionId);
    if (!found) throw new ApiError(401, 'the session has ended; log in again');
    res.set('Cache-Control', 'no-store').json(found.session);
  }));
  api.delete('/session', guard('session'), h(async (req, res) => {
    await store.logout(req.sessionId!, user(req));
    res.set('Set-Cookie', sessionCookie('', 0, secure(req))).status(204).end();
  }));

  api.get('/audit', guard('viewer'), h(async (req, res) => {
    const limit = req.query.limit !== undefined ? Number(req.query.limit) : undefined;
    if (limit !== undefined && !Number.isInteger(limit)) throw new ApiError(422, 'query refused', [{ field: 'limit', reason: 'must be an integer' }]);
    res.json(await store.auditLog({ limit, subject: typeof req.query.subject === 'string' ? req.query.subject : undefined }));
  }));

  // The quality history: its own read-only handler behind the repository's authentication (viewer); its
  // answers (400 naming the field, 404, 503) are its own. Its OpenAPI document is public, as the repository's.
  const serveHistory = extra.history;
  if (serveHistory) {
    api.use('/history', async function historyMount(req: Request, res: Response, next: NextFunction) {
      res.locals.route = HISTORY_MOUNT;
      try {
        if (req.path !== '/openapi.json') {
          const principal = await authenticate(req);
          authorise('viewer', principal, req);
          req.principal = principal;
        }
        req.url = req.originalUrl;
        serveHistory(req, res);
      } catch (err) {
        next(err);
      }
    });
  }

  app.use(API_ROOT, api);
  app.use('/devices/:id/editor', remote.editorProxy);
  app.use((_req, res) => res.status(404).json({ error: 'no such route' }));
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    // A body refused before it was read (no token, too big) is not read now either: close the connection.
    if (!req.complete && (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined)) res.set('Connection', 'close');
    if (err instanceof ApiError && typeof err.detail?.retryAfterSeconds === 'number') res.set('Retry-After', String(err.detail.retryAfterSeconds));
    if (err instanceof ApiError) return res.status(err.status).json({ error: err.message, ...(err.problems ? { problems: err.problems } : {}), ...err.detail });
    const e = err as { type?: string; status?: number; message?: string; limit?: number };
    if (e?.type === 'entity.parse.failed') return res.status(400).json({ error: `request body is not valid JSON: ${e.message}` });
    if (e?.type === 'entity.too.large') return res.status(413).json({ error: `request body is larger than ${e.limit} bytes, the limit of this route` });
    if (e?.status && e.status < 500) return res.status(e.status).json({ error: e.message ?? 'bad request' });
    // The cause (a database message, a stack) stays in the server's log; the client gets the request id.
    const requestId = String(res.locals.requestId);
    log(`request ${requestId} ${req.method} ${(res.locals.route as string | undefined) ?? req.path} failed: ${(e as Error)?.stack ?? e?.message ?? String(err)}`);
    res.status(500).json({ error: `internal error; the repository logged it as request ${requestId}`, requestId });
  });
  return app;
}
