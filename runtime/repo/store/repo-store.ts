// The repository store: one part per seam (tokens, templates and versions, devices, desired state,
// deployments and rollouts, audit) over one database and clock, and RepoStore, the face the HTTP server
// uses. Callers are told which devices' desired state changed (onDesiredChange) so they can notify them.
import type { DesiredState, DeviceStatusReport } from '../../../contracts/fleet/protocol';
import type { RepoDeploymentCreate, RepoDeviceRegister, RepoDeviceUpdate, RepoHealthBatch, RepoLogBatch, RepoTemplateCreate, RepoTokenCreate, RepoUserCreate, RepoUserUpdate, RepoVersionPublish } from '../api.schema';
import type { AuditActor, Principal, UserPrincipal } from '../auth';
import type { RepoNodeTypePolicy } from '../node-policy';
import { AuditLog } from './audit';
import { StoreContext, type StoreOptions } from './context';
import type { LogQuery } from './telemetry';
import { DeploymentStore } from './deployments';
import { DesiredStates } from './desired-state';
import { DeviceStore } from './devices';
import { ModelStore } from './models';
import { RemoteEditingStore } from './remote-editing';
import { Rollouts } from './rollouts';
import { TemplateStore } from './templates';
import { SessionStore } from './sessions';
import { TelemetryStore } from './telemetry';
import { TokenStore } from './tokens';
import { UserStore } from './users';

export { ApiError, type StoreOptions } from './context';
export type { AuditEntry } from './audit';
export type { DeploymentView } from './deployments';
export type { DeviceView } from './devices';
export type { DesiredAnswer } from './desired-state';
export type { AdminTokenView, TokenView } from './tokens';
export type { UserView } from './users';
export type { SessionView } from './sessions';
export type { ModelRef, ModelSummary, ModelUploadView, ModelVersionSummary } from './models';
export type { HealthSummary, LogQuery, StoredLogLine, StoredSample } from './telemetry';
export type { StoredVersion, TemplateView, VersionSummary } from './templates';

export class RepoStore {
  readonly tokens: TokenStore;
  readonly users: UserStore;
  readonly sessions: SessionStore;
  readonly templates: TemplateStore;
  readonly desired: DesiredStates;
  readonly devices: DeviceStore;
  readonly deployments: DeploymentStore;
  readonly audit: AuditLog;
  readonly models: ModelStore;
  readonly telemetry: TelemetryStore;
  readonly remoteEditing: RemoteEditingStore;
  private readonly ctx: StoreContext;
  private readonly rollouts: Rollouts;

  constructor(options: StoreOptions) {
    const ctx = (this.ctx = new StoreContext(options));
    this.tokens = new TokenStore(ctx);
    this.users = new UserStore(ctx);
    this.sessions = new SessionStore(ctx, this.users, options.sessions);
    this.templates = new TemplateStore(ctx, options);
    this.models = new ModelStore(ctx, options.modelStorage, options.privateKeyPem);
    this.desired = new DesiredStates(ctx, options.privateKeyPem, this.models);
    const rollouts = (this.rollouts = new Rollouts(ctx, this.desired));
    this.devices = new DeviceStore(ctx, this.desired, rollouts);
    this.deployments = new DeploymentStore(ctx, this.templates, this.devices, rollouts, this.models);
    this.audit = new AuditLog(ctx);
    this.telemetry = new TelemetryStore(ctx, options.telemetry);
    this.remoteEditing = new RemoteEditingStore(ctx, this.desired);
  }

  get nodeTypePolicy(): RepoNodeTypePolicy {
    return this.templates.nodeTypePolicy;
  }

  authenticate = (token: string | undefined) => this.tokens.authenticate(token);
  createFirstAdminToken = (name: string) => this.tokens.createFirstAdminToken(name);
  listAdminTokens = () => this.tokens.listAdminTokens();
  issueAdminToken = (name: string, actor: UserPrincipal) => this.tokens.issueAdminToken(name, actor);
  revokeAdminToken = (id: string, actor: AuditActor) => this.tokens.revokeAdminToken(id, actor);
  listTokens = (actor: UserPrincipal) => this.tokens.listTokens(actor);
  issueToken = (body: RepoTokenCreate, actor: UserPrincipal) => this.tokens.issueToken(body, actor);
  revokeToken = (id: string, actor: UserPrincipal) => this.tokens.revokeToken(id, actor);

  createFirstAdmin = (password: string) => this.users.createFirstAdmin(password);
  listUsers = () => this.users.listUsers();
  createUser = (body: RepoUserCreate, actor: AuditActor) => this.users.createUser(body, actor);
  updateUser = (name: string, body: RepoUserUpdate, actor: AuditActor) => this.users.updateUser(name, body, actor);

  login = (username: string, password: string, address: string) => this.sessions.login(username, password, address);
  session = (sessionId: string | undefined) => this.sessions.lookup(sessionId);
  logout = (sessionId: string, actor: UserPrincipal) => this.sessions.logout(sessionId, actor);

  createTemplate = (body: RepoTemplateCreate, actor: Principal) => this.templates.createTemplate(body, actor);
  listTemplates = () => this.templates.listTemplates();
  getTemplate = (slug: string) => this.templates.getTemplate(slug);
  publishVersion = (slug: string, body: RepoVersionPublish, actor: Principal) => this.templates.publishVersion(slug, body, actor);
  getVersion = (slug: string, version: string) => this.templates.getVersion(slug, version);
  listVersions = (slug: string) => this.templates.listVersions(slug);

  registerDevice = (body: RepoDeviceRegister, actor: Principal) => this.devices.registerDevice(body, actor);
  updateDevice = (id: string, body: RepoDeviceUpdate, actor: Principal) => this.devices.updateDevice(id, body, actor);
  rotateDeviceToken = (id: string, actor: Principal) => this.devices.rotateDeviceToken(id, actor);
  getDevice = (id: string) => this.devices.getDevice(id);
  listDevices = () => this.devices.listDevices();
  touchDevice = (id: string) => this.devices.touchDevice(id);
  recordStatus = (id: string, report: DeviceStatusReport, actor: Principal) => this.devices.recordStatus(id, report, actor);

  deviceMayRead = (deviceId: string, slug: string, version: string) => this.desired.deviceMayRead(deviceId, slug, version);
  desiredState = (id: string) => this.desired.desiredState(id);
  unsignedDesiredState = (id: string) => this.desired.unsignedDesiredState(id);
  checkInDesiredState = (id: string) => this.desired.checkInDesiredState(id);
  /** The answer to a desired-state read that is no device's check-in (a viewer's). */
  desiredAnswer = (id: string) => this.desired.answerFor(id);
  pollDesiredState = (id: string, tokenHash: string) => this.desired.pollDesiredState(id, tokenHash);
  signDesired = (state: DesiredState) => this.desired.signDesired(state);
  claimDesiredPublish = (ids: string[], leaseMs: number) => this.desired.claimPublish(ids, leaseMs);
  markDesiredPublished = (id: string, generation: number) => this.desired.markPublished(id, generation);
  unpublishedDesired = (leaseMs: number, limit?: number) => this.desired.unpublished(leaseMs, limit);

  createDeployment = (body: RepoDeploymentCreate, actor: Principal) => this.deployments.createDeployment(body, actor);
  getDeployment = (id: string) => this.deployments.getDeployment(id);
  listDeployments = () => this.deployments.listDeployments();
  pauseDeployment = (id: string, actor: Principal) => this.deployments.pauseDeployment(id, actor);
  resumeDeployment = (id: string, actor: Principal) => this.deployments.resumeDeployment(id, actor);
  cancelDeployment = (id: string, actor: Principal) => this.deployments.cancelDeployment(id, actor);
  rollbackDeployment = (id: string, actor: Principal) => this.deployments.rollbackDeployment(id, actor);

  appendLogs = (id: string, batch: RepoLogBatch) => this.telemetry.appendLogs(id, batch);
  readLogs = (id: string, query: LogQuery) => this.telemetry.readLogs(id, query);
  appendSamples = (id: string, batch: RepoHealthBatch) => this.telemetry.appendSamples(id, batch);
  readSamples = (id: string, range: { since?: number; until?: number; stepSeconds?: number }) => this.telemetry.readSamples(id, range);
  fleetHealth = async () => this.telemetry.fleetHealth((await this.listDevices()).map((d) => d.id));

  /** Per-device figures for /metrics: the last sample of each device that sent one, and its health. */
  async fleetGauges() {
    const [devices, summaries] = await Promise.all([this.listDevices(), this.telemetry.summaries()]);
    return devices.map((d) => ({ id: d.id, health: d.health, last: summaries.get(d.id) ?? null }));
  }

  /**
   * Moves on every deployment whose released devices all reported (a wave whose last report's replica died
   * before it could release the next one); the changed devices are notified. Run by every replica now and then.
   */
  async moveOnRollouts(): Promise<void> {
    this.ctx.notify(await this.rollouts.moveOnAll({ kind: 'system', name: 'repository' }));
  }

  /** Writes the pending check-ins and takes no more; before the database closes. */
  close = () => this.desired.checkIns.close();

  auditLog = (opts: { limit?: number; subject?: string } = {}) => this.audit.entries(opts);

  /** What /metrics counts (and /healthz reads to prove the database answers). */
  async counts() {
    const [t, v, dep] = await Promise.all([
      this.ctx.db.query(`select count(*)::int as n from ${this.ctx.s}.templates`),
      this.ctx.db.query(`select count(*)::int as n from ${this.ctx.s}.versions`),
      this.ctx.db.query(`select state, count(*)::int as n from ${this.ctx.s}.deployments group by state`),
    ]);
    const devices: Record<string, number> = {};
    for (const d of await this.listDevices()) devices[d.state] = (devices[d.state] ?? 0) + 1;
    return { templates: t.rows[0].n as number, versions: v.rows[0].n as number, devices, deployments: Object.fromEntries(dep.rows.map((r) => [r.state, r.n as number])) };
  }
}
