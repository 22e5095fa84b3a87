// Data access and the rules around it: publishing immutable signed versions, registering devices,
// creating and driving deployments from device reports, the audit log. Every write and its audit entry
// commit in one transaction; callers are told which devices' desired state changed so they can notify.
import Ajv from 'ajv';
import crypto from 'node:crypto';
import semver from 'semver';
import type { FieldProblem } from '../../contracts/schemas';
import { API_ROOT, canonicalJson, flowSha256, signDesiredState, signFlow, type DeployGate, type DesiredState, type DeviceStatusReport } from '../../contracts/fleet/protocol';
import type { RepoDeploymentCreate, RepoDeviceRegister, RepoDeviceUpdate, RepoTemplateCreate, RepoVersionPublish } from './api.schema';
import { hashToken, newToken, sameHash, type Principal } from './auth';
import { advisoryXactLock, type RepoDb } from './db';
import { checkFlow, checkVersion, nodeTypesOf, versionKey } from './publish-checks';
import { checkNodeTypePolicy, checkRequiredNodes, DEFAULT_NODE_TYPE_POLICY, type RepoNodeTypePolicy } from './node-policy';
import { assignWaves, isOffline, nextStep, targetStateFromReport, type DeploymentState, type RolloutTarget, type TargetState } from './rollout';

/** An answer the API gives as-is: status code, message and field problems. */
export class ApiError extends Error {
  /** `detail`: more fields for the answer's body (e.g. the policy that refused it). */
  constructor(readonly status: number, message: string, readonly problems?: FieldProblem[], readonly detail?: Record<string, unknown>) {
    super(problems?.length ? `${message}: ${problems.map((p) => (p.field ? `${p.field} ${p.reason}` : p.reason)).join('; ')}` : message);
    this.name = 'ApiError';
  }
}

export interface StoreOptions {
  db: RepoDb;
  privateKeyPem: string;
  knownTypes: Set<string>;
  /** Node types templates may use (default: `exec` refused everywhere). */
  nodeTypePolicy?: RepoNodeTypePolicy;
  /** Milliseconds since the epoch; injected so liveness can be tested without waiting. */
  now?: () => number;
  /** A device is offline after this many missed poll intervals. */
  offlineAfterIntervals?: number;
  /** Called after a commit that changed these devices' desired state. */
  onDesiredChange?: (deviceIds: string[]) => void;
}

type Q = RepoDb['query'];
type Row = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface TemplateView {
  slug: string;
  title: string;
  description: string | null;
  tier: string;
  parameters: Record<string, unknown>;
  requiredNodes: string[];
  versions: string[];
  latest: string | null;
  createdAt: string;
}

export interface DeviceView {
  id: string;
  tier: string;
  labels: Record<string, string>;
  parameters: Record<string, string | number | boolean>;
  pollIntervalSeconds: number;
  /** Truthful liveness: `offline` when it missed its check-ins, else what it last reported. */
  state: string;
  reportedState: string | null;
  /** Its last report said the running flow has nodes with problems (`reasons` names them); never when offline. */
  degraded: boolean;
  lastSeen: string | null;
  running: string | null;
  runningSha256: string | null;
  reasons: string[];
  desired: { template: string; version: string; deploymentId: string | null } | null;
  createdAt: string;
}

export interface DeploymentView {
  id: string;
  template: string;
  version: string;
  target: Record<string, unknown>;
  strategy: string;
  canary: number;
  waveSize: number;
  gate: DeployGate | null;
  state: DeploymentState;
  reason: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  counts: Record<string, number>;
  devices: { deviceId: string; wave: number; state: TargetState; reasons: string[]; previous: string | null; deviceState: string; lastSeen: string | null }[];
}

const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);

/**
 * A template's parameter schema, compiled on an Ajv of its own: two schemas with the same `$id` (two
 * templates, or one template read twice) would otherwise collide in a shared instance ("schema with key or
 * id already exists"), and a shared instance keeps every schema it ever compiled.
 */
function compileParameterSchema(schema: Record<string, unknown>) {
  return new Ajv({ allErrors: true, strict: false, allowUnionTypes: true }).compile(schema);
}

export class RepoStore {
  private readonly db: RepoDb;
  private readonly s: string;
  private readonly now: () => number;
  private readonly offlineMultiple: number;
  /** Parsed once: every desired-state read (each agent poll) is signed with it. */
  private readonly signingKey: crypto.KeyObject;

  constructor(private readonly opts: StoreOptions) {
    this.db = opts.db;
    this.s = opts.db.s;
    this.now = opts.now ?? Date.now;
    this.offlineMultiple = opts.offlineAfterIntervals ?? 3;
    this.signingKey = crypto.createPrivateKey(opts.privateKeyPem);
  }

  private nowDate(): Date {
    return new Date(this.now());
  }

  get nodeTypePolicy(): RepoNodeTypePolicy {
    return this.opts.nodeTypePolicy ?? DEFAULT_NODE_TYPE_POLICY;
  }

  /** 422 naming each node the node-type policy refuses, with the policy in the body. */
  private policyRefusal(what: string, problems: FieldProblem[]): ApiError {
    return new ApiError(422, `${what} refused by the node-type policy`, problems, { policy: this.nodeTypePolicy });
  }

  private async audit(q: Q, actor: Principal, action: string, subject: string, detail: Record<string, unknown> = {}): Promise<void> {
    const who = actor.kind === 'admin' ? `admin:${actor.name}` : `device:${actor.deviceId}`;
    await q(`insert into ${this.s}.audit (at, actor, action, subject, detail) values ($1, $2, $3, $4, $5)`, [this.nowDate(), who, action, subject, JSON.stringify(detail)]);
  }

  /**
   * Serialises every transaction that moves a rollout (per schema, across replicas). Two deployments over
   * the same devices otherwise lock device rows and each other's new rows in opposite orders (a deadlock
   * seen in the concurrency test); rollout writes are short, so one at a time costs little.
   */
  private async rolloutLock(q: Q): Promise<void> {
    await advisoryXactLock(q, 'rollout', this.db.schema);
  }

  private notify(ids: string[]): void {
    if (ids.length) this.opts.onDesiredChange?.([...new Set(ids)]);
  }

  // ---- tokens ---------------------------------------------------------------------------------------

  /** Who holds this bearer token, or undefined. */
  async authenticate(token: string | undefined): Promise<Principal | undefined> {
    if (!token) return undefined;
    const h = hashToken(token);
    // The prefix says which table to look in (one query per request instead of two).
    if (token.startsWith('lsa_')) {
      const admin = await this.db.query(`select name, token_hash from ${this.s}.admin_tokens where token_hash = $1`, [h]);
      if (admin.rows[0] && sameHash(admin.rows[0].token_hash, h)) return { kind: 'admin', name: admin.rows[0].name };
    } else if (token.startsWith('lsd_')) {
      const dev = await this.db.query(`select id, token_hash from ${this.s}.devices where token_hash = $1`, [h]);
      if (dev.rows[0] && sameHash(dev.rows[0].token_hash, h)) return { kind: 'device', deviceId: dev.rows[0].id };
    }
    return undefined;
  }

  /** A new admin token stored as its hash; the token itself is returned once. */
  private async insertAdminToken(q: Q, name: string): Promise<{ id: string; token: string }> {
    const token = newToken('admin');
    const id = crypto.randomUUID();
    await q(`insert into ${this.s}.admin_tokens (id, name, token_hash, created_at) values ($1, $2, $3, $4)`, [id, name, hashToken(token), this.nowDate()]);
    return { id, token };
  }

  /**
   * The first admin token, if there is none yet: checked and created under a lock, so replicas starting
   * together on an empty database make exactly one between them. Returns undefined when one exists.
   */
  async createFirstAdminToken(name: string): Promise<string | undefined> {
    return this.db.tx(async (q) => {
      await advisoryXactLock(q, 'first-admin', this.db.schema);
      const r = await q(`select count(*)::int as n from ${this.s}.admin_tokens`);
      if (r.rows[0].n > 0) return undefined;
      const { token } = await this.insertAdminToken(q, name);
      await this.audit(q, { kind: 'admin', name: 'bootstrap' }, 'admin-token.create', name);
      return token;
    });
  }

  async listAdminTokens(): Promise<{ id: string; name: string; createdAt: string }[]> {
    const r = await this.db.query(`select id, name, created_at from ${this.s}.admin_tokens order by created_at, id`);
    return r.rows.map((t) => ({ id: t.id, name: t.name, createdAt: iso(t.created_at)! }));
  }

  /** Creates a named admin token (e.g. for CI); returned once, stored as a hash. */
  async issueAdminToken(name: string, actor: Principal): Promise<{ id: string; name: string; token: string }> {
    return this.db.tx(async (q) => {
      const taken = await q(`select 1 from ${this.s}.admin_tokens where name = $1`, [name]);
      if (taken.rowCount) throw new ApiError(409, `an admin token named ${name} exists`, [{ field: 'name', reason: `"${name}" is taken` }]);
      const { id, token } = await this.insertAdminToken(q, name);
      await this.audit(q, actor, 'admin-token.create', name, { id });
      return { id, name, token };
    });
  }

  /** Revokes an admin token at once; the last one cannot go (nobody could administer the repository). */
  async revokeAdminToken(id: string, actor: Principal): Promise<void> {
    await this.db.tx(async (q) => {
      const all = (await q(`select id, name from ${this.s}.admin_tokens for update`)).rows;
      const t = all.find((x) => x.id === id);
      if (!t) throw new ApiError(404, `no admin token ${id}`);
      if (all.length === 1) throw new ApiError(409, 'cannot revoke the last admin token');
      await q(`delete from ${this.s}.admin_tokens where id = $1`, [id]);
      await this.audit(q, actor, 'admin-token.revoke', t.name, { id });
    });
  }

  // ---- templates and versions -----------------------------------------------------------------------

  async createTemplate(body: RepoTemplateCreate, actor: Principal): Promise<TemplateView> {
    const problems: FieldProblem[] = [];
    const params = body.parameters ?? { type: 'object', properties: {} };
    if (params.type !== undefined && params.type !== 'object') problems.push({ field: 'parameters.type', reason: 'must be "object"' });
    try {
      compileParameterSchema(params);
    } catch (err) {
      problems.push({ field: 'parameters', reason: `is not a valid JSON Schema (${(err as Error).message})` });
    }
    (body.requiredNodes ?? []).forEach((t, i) => {
      if (!this.opts.knownTypes.has(t)) problems.push({ field: `requiredNodes[${i}]`, reason: `unknown node type "${t}" (not in the Linesight package or Node-RED core)` });
    });
    if (problems.length) throw new ApiError(422, 'template refused', problems);
    const refused = checkRequiredNodes(body.requiredNodes ?? [], body.tier, this.nodeTypePolicy);
    if (refused.length) throw this.policyRefusal(`template ${body.slug}`, refused);
    await this.db.tx(async (q) => {
      const exists = await q(`select 1 from ${this.s}.templates where slug = $1`, [body.slug]);
      if (exists.rowCount) throw new ApiError(409, `template ${body.slug} already exists`, [{ field: 'slug', reason: `"${body.slug}" is taken` }]);
      await q(
        `insert into ${this.s}.templates (slug, title, description, tier, parameters, required_nodes, created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $7)`,
        [body.slug, body.title, body.description ?? null, body.tier, JSON.stringify(params), JSON.stringify(body.requiredNodes ?? []), this.nowDate()],
      );
      await this.audit(q, actor, 'template.create', body.slug, { title: body.title, tier: body.tier });
    });
    return (await this.getTemplate(body.slug))!;
  }

  private templateView(r: Row, versions: string[]): TemplateView {
    return {
      slug: r.slug,
      title: r.title,
      description: r.description,
      tier: r.tier,
      parameters: r.parameters,
      requiredNodes: r.required_nodes,
      versions,
      latest: versions.length ? versions[versions.length - 1]! : null,
      createdAt: iso(r.created_at)!,
    };
  }

  async listTemplates(): Promise<TemplateView[]> {
    const t = await this.db.query(`select * from ${this.s}.templates order by slug`);
    const v = await this.db.query(`select template, version from ${this.s}.versions order by created_at, version`);
    return t.rows.map((r) => this.templateView(r, v.rows.filter((x) => x.template === r.slug).map((x) => x.version)));
  }

  async getTemplate(slug: string): Promise<TemplateView | undefined> {
    const t = await this.db.query(`select * from ${this.s}.templates where slug = $1`, [slug]);
    if (!t.rows[0]) return undefined;
    const v = await this.db.query(`select version from ${this.s}.versions where template = $1 order by created_at, version`, [slug]);
    return this.templateView(t.rows[0], v.rows.map((x) => x.version));
  }

  async publishVersion(slug: string, body: RepoVersionPublish, actor: Principal) {
    const template = await this.getTemplate(slug);
    if (!template) throw new ApiError(404, `no template ${slug}`);
    const versionProblems = checkVersion(body.version, template.versions);
    // A valid version refused is a duplicate (equal by semver precedence): a conflict, whatever the flow.
    if (versionProblems.length && semver.valid(body.version)) throw new ApiError(409, `version ${slug}@${body.version} refused`, versionProblems);
    const problems = [...versionProblems, ...checkFlow(body.flow, { knownTypes: this.opts.knownTypes, parameterSchema: template.parameters })];
    if (problems.length) throw new ApiError(422, `version ${slug}@${body.version} refused`, problems);
    const refused = checkNodeTypePolicy(body.flow, template.tier, this.nodeTypePolicy);
    if (refused.length) throw this.policyRefusal(`version ${slug}@${body.version}`, refused);
    const sha256 = flowSha256(body.flow);
    const signature = signFlow(body.flow, this.opts.privateKeyPem);
    const author = body.author ?? (actor.kind === 'admin' ? actor.name : actor.deviceId);
    await this.db.tx(async (q) => {
      // The unique (template, version_key) index settles a race between publishers of versions equal by
      // semver precedence (2.0.0 and 2.0.0+b1), on every replica.
      const r = await q(
        `insert into ${this.s}.versions (template, version, version_key, flow_json, sha256, signature, node_types, changelog, author, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) on conflict do nothing`,
        [slug, body.version, versionKey(body.version), canonicalJson(body.flow), sha256, signature, JSON.stringify(nodeTypesOf(body.flow)), body.changelog ?? null, author, this.nowDate()],
      );
      if (!r.rowCount) throw new ApiError(409, `version ${slug}@${body.version} refused`, [{ field: 'version', reason: `${body.version} is already published; published versions never change` }]);
      await q(`update ${this.s}.templates set updated_at = $2 where slug = $1`, [slug, this.nowDate()]);
      await this.audit(q, actor, 'version.publish', `${slug}@${body.version}`, { sha256, changelog: body.changelog ?? null });
    });
    return (await this.getVersion(slug, body.version))!;
  }

  async getVersion(slug: string, version: string) {
    const r = await this.db.query(`select * from ${this.s}.versions where template = $1 and version = $2`, [slug, version]);
    const v = r.rows[0];
    if (!v) return undefined;
    return {
      template: v.template as string,
      version: v.version as string,
      flow: JSON.parse(v.flow_json) as unknown[],
      sha256: v.sha256 as string,
      signature: v.signature as string,
      nodeTypes: v.node_types as string[],
      changelog: (v.changelog ?? undefined) as string | undefined,
      author: (v.author ?? undefined) as string | undefined,
      createdAt: iso(v.created_at)!,
    };
  }

  async listVersions(slug: string) {
    const r = await this.db.query(`select template, version, sha256, signature, changelog, author, created_at from ${this.s}.versions where template = $1 order by created_at, version`, [slug]);
    return r.rows.map((v) => ({ template: v.template, version: v.version, sha256: v.sha256, signature: v.signature, changelog: v.changelog ?? undefined, author: v.author ?? undefined, createdAt: iso(v.created_at) }));
  }

  /**
   * A device may read only versions a deployment assigned to it: its current desired version, a previous
   * assigned one (what a rollback returns it to), and its last known good one where a deployment released
   * that version to it. Never what it merely claims to run in a status report.
   */
  async deviceMayRead(deviceId: string, slug: string, version: string): Promise<boolean> {
    const r = await this.db.query(
      `select 1 from ${this.s}.devices where id = $1 and desired_template = $2 and desired_version = $3
       union all
       select 1 from ${this.s}.deployment_devices dd
        where dd.device_id = $1 and dd.released_at is not null and dd.previous_template = $2 and dd.previous_version = $3
       union all
       select 1 from ${this.s}.deployment_devices dd join ${this.s}.deployments d on d.id = dd.deployment_id
         join ${this.s}.devices dev on dev.id = dd.device_id
        where dd.device_id = $1 and dd.released_at is not null and d.template = $2 and d.version = $3 and dev.running = $4
       limit 1`,
      [deviceId, slug, version, `${slug}@${version}`],
    );
    return !!r.rowCount;
  }

  /**
   * Moves a device's desired-state generation on, inside the caller's transaction (the row lock orders
   * replicas). It never goes back, even after a database restore: at least the clock in milliseconds.
   */
  private async bumpGeneration(q: Q, deviceId: string): Promise<void> {
    await q(`update ${this.s}.devices set desired_generation = greatest(desired_generation + 1, $2::bigint) where id = $1`, [deviceId, Math.floor(this.now())]);
  }

  // ---- devices ----------------------------------------------------------------------------------------

  private deviceView(r: Row): DeviceView {
    const offline = isOffline(r.last_seen, r.poll_interval_s, this.now(), this.offlineMultiple);
    return {
      id: r.id,
      tier: r.tier,
      labels: r.labels,
      parameters: r.parameters,
      pollIntervalSeconds: r.poll_interval_s,
      state: offline ? 'offline' : (r.reported_state ?? 'pending'),
      reportedState: r.reported_state,
      degraded: !offline && r.degraded === true,
      lastSeen: iso(r.last_seen),
      running: r.running,
      runningSha256: r.running_sha256,
      reasons: r.reasons,
      desired: r.desired_template ? { template: r.desired_template, version: r.desired_version, deploymentId: r.desired_deployment } : null,
      createdAt: iso(r.created_at)!,
    };
  }

  /** Registers a device; its token is in the answer once and stored only as a hash. */
  async registerDevice(body: RepoDeviceRegister, actor: Principal): Promise<{ device: DeviceView; token: string }> {
    const token = newToken('device');
    await this.db.tx(async (q) => {
      const exists = await q(`select 1 from ${this.s}.devices where id = $1`, [body.id]);
      if (exists.rowCount) throw new ApiError(409, `device ${body.id} is already registered`, [{ field: 'id', reason: `"${body.id}" is taken` }]);
      await q(
        `insert into ${this.s}.devices (id, tier, labels, parameters, token_hash, poll_interval_s, created_at) values ($1, $2, $3, $4, $5, $6, $7)`,
        [body.id, body.tier, JSON.stringify(body.labels ?? {}), JSON.stringify(body.parameters ?? {}), hashToken(token), body.pollIntervalSeconds ?? 30, this.nowDate()],
      );
      await this.audit(q, actor, 'device.register', body.id, { tier: body.tier, labels: body.labels ?? {} });
    });
    return { device: (await this.getDevice(body.id))!, token };
  }

  async updateDevice(id: string, body: RepoDeviceUpdate, actor: Principal): Promise<DeviceView> {
    await this.db.tx(async (q) => {
      const r = await q(
        `update ${this.s}.devices set labels = coalesce($2, labels), parameters = coalesce($3, parameters), poll_interval_s = coalesce($4, poll_interval_s) where id = $1`,
        [id, body.labels ? JSON.stringify(body.labels) : null, body.parameters ? JSON.stringify(body.parameters) : null, body.pollIntervalSeconds ?? null],
      );
      if (!r.rowCount) throw new ApiError(404, `no device ${id}`);
      if (body.parameters) await this.bumpGeneration(q, id);
      await this.audit(q, actor, 'device.update', id, body as Record<string, unknown>);
    });
    // Parameters travel in the desired state.
    if (body.parameters) this.notify([id]);
    return (await this.getDevice(id))!;
  }

  /** Replaces a device's token (the old one stops working at once). */
  async rotateDeviceToken(id: string, actor: Principal): Promise<string> {
    const token = newToken('device');
    await this.db.tx(async (q) => {
      const r = await q(`update ${this.s}.devices set token_hash = $2 where id = $1`, [id, hashToken(token)]);
      if (!r.rowCount) throw new ApiError(404, `no device ${id}`);
      await this.audit(q, actor, 'device.token.rotate', id);
    });
    return token;
  }

  async getDevice(id: string): Promise<DeviceView | undefined> {
    const r = await this.db.query(`select * from ${this.s}.devices where id = $1`, [id]);
    return r.rows[0] ? this.deviceView(r.rows[0]) : undefined;
  }

  async listDevices(): Promise<DeviceView[]> {
    const r = await this.db.query(`select * from ${this.s}.devices order by id`);
    return r.rows.map((x) => this.deviceView(x));
  }

  /**
   * A check-in without a report (polling desired state) still proves the device is alive. Written at most
   * every min(5 s, half a poll interval) per device: a poll is then a read, not a commit, and "last seen"
   * stays far inside the offline threshold (several whole intervals).
   */
  async touchDevice(id: string): Promise<void> {
    await this.db.query(
      `update ${this.s}.devices set last_seen = $2 where id = $1 and (last_seen is null or last_seen < $2::timestamptz - least(5000, poll_interval_s * 500) * interval '1 millisecond')`,
      [id, this.nowDate()],
    );
  }

  /** The device's desired state, signed whole (what the API serves and the notifier publishes). */
  async desiredState(id: string): Promise<DesiredState | undefined> {
    const state = await this.unsignedDesiredState(id);
    return state && this.signDesired(state);
  }

  /** Signing is deterministic (Ed25519): the same generation always gives the same bytes. */
  signDesired(state: DesiredState): DesiredState {
    return signDesiredState(state, this.signingKey);
  }

  /**
   * The desired state before signing: its generation makes it unique, so it can name the ETag and a poll
   * answered 304 costs no signature.
   */
  async unsignedDesiredState(id: string): Promise<DesiredState | undefined> {
    const r = await this.db.query(
      `select d.id, d.parameters, d.desired_template, d.desired_version, d.desired_deployment, d.desired_generation, dep.gate, v.sha256, v.signature
         from ${this.s}.devices d
         left join ${this.s}.deployments dep on dep.id = d.desired_deployment
         left join ${this.s}.versions v on v.template = d.desired_template and v.version = d.desired_version
        where d.id = $1`,
      [id],
    );
    const d = r.rows[0];
    if (!d) return undefined;
    const version: DesiredState['version'] = d.desired_template
      ? {
          template: d.desired_template,
          version: d.desired_version,
          sha256: d.sha256,
          signature: d.signature,
          href: `${API_ROOT}/templates/${encodeURIComponent(d.desired_template)}/versions/${encodeURIComponent(d.desired_version)}`,
        }
      : null;
    const state: DesiredState = { deviceId: d.id, deploymentId: version ? (d.desired_deployment ?? null) : null, version, parameters: d.parameters, generation: Number(d.desired_generation) };
    if (version && d.gate && Object.keys(d.gate).length) state.gate = d.gate;
    return state;
  }

  /** Records a device's report and moves its deployment on. */
  async recordStatus(id: string, report: DeviceStatusReport, actor: Principal): Promise<void> {
    const changed: string[] = [];
    await this.db.tx(async (q) => {
      const dev = (await q(`select desired_deployment from ${this.s}.devices where id = $1`, [id])).rows[0];
      if (!dev) throw new ApiError(404, `no device ${id}`);
      const deploymentId: string | null = report.deploymentId ?? dev.desired_deployment ?? null;
      if (deploymentId) await this.rolloutLock(q);
      // Locks are always taken deployment first, then devices (as advance() does), so concurrent reports
      // and deployments cannot deadlock.
      const dep = deploymentId ? (await q(`select template, version, state from ${this.s}.deployments where id = $1 for update`, [deploymentId])).rows[0] : undefined;
      const prev = (await q(`select reported_state, running, reasons, degraded from ${this.s}.devices where id = $1 for update`, [id])).rows[0];
      const degraded = report.degraded === true;
      await q(
        `update ${this.s}.devices set last_seen = $2, reported_state = $3, running = $4, running_sha256 = $5, reasons = $6, degraded = $7 where id = $1`,
        [id, this.nowDate(), report.state, report.running, report.runningSha256 ?? null, JSON.stringify(report.reasons ?? []), degraded],
      );
      let moved: string | undefined;
      if (dep && dep.state !== 'rolled back' && dep.state !== 'cancelled') {
        const row = (await q(`select state from ${this.s}.deployment_devices where deployment_id = $1 and device_id = $2 for update`, [deploymentId, id])).rows[0];
        if (row && row.state !== 'queued' && row.state !== 'superseded' && row.state !== 'cancelled') {
          const next = targetStateFromReport(report, `${dep.template}@${dep.version}`);
          if (next && next !== row.state) {
            await q(`update ${this.s}.deployment_devices set state = $3, reasons = $4, updated_at = $5 where deployment_id = $1 and device_id = $2`, [
              deploymentId,
              id,
              next,
              JSON.stringify(report.reasons ?? []),
              this.nowDate(),
            ]);
            moved = next;
            changed.push(...(await this.advance(q, deploymentId!, actor)));
          }
        }
      }
      // Heartbeats are not audited (one a poll interval per device); a report that changes something is.
      // A refused desired state (a forgery or replay the agent saw) changes the reasons: that is audited too.
      if (moved || prev.reported_state !== report.state || prev.running !== report.running || prev.degraded !== degraded || canonicalJson(prev.reasons ?? []) !== canonicalJson(report.reasons ?? [])) {
        await this.audit(q, actor, 'device.status', id, { state: report.state, running: report.running, ...(degraded ? { degraded } : {}), deploymentId, deploymentState: moved ?? null, reasons: report.reasons ?? [] });
      }
    });
    this.notify(changed);
  }

  // ---- deployments ------------------------------------------------------------------------------------

  private async resolveTargets(body: RepoDeploymentCreate, templateTier: string, parameterSchema: Record<string, unknown>): Promise<string[]> {
    const problems: FieldProblem[] = [];
    const t = body.target;
    if (!t.tier && !t.ids?.length && !(t.labels && Object.keys(t.labels).length)) {
      throw new ApiError(422, 'deployment refused', [{ field: 'target', reason: 'must name a tier, device ids or labels' }]);
    }
    const all = await this.listDevices();
    const byId = new Map(all.map((d) => [d.id, d]));
    (t.ids ?? []).forEach((id, i) => {
      if (!byId.has(id)) problems.push({ field: `target.ids[${i}]`, reason: `no registered device "${id}"` });
    });
    const chosen = all.filter(
      (d) =>
        (!t.tier || d.tier === t.tier) &&
        (!t.ids?.length || t.ids.includes(d.id)) &&
        Object.entries(t.labels ?? {}).every(([k, v]) => d.labels[k] === v),
    );
    if (!problems.length && !chosen.length) problems.push({ field: 'target', reason: 'matches no registered device' });
    let validate: ReturnType<typeof compileParameterSchema>;
    try {
      validate = compileParameterSchema(parameterSchema);
    } catch (err) {
      throw new ApiError(422, 'deployment refused', [{ field: 'template', reason: `the parameter schema of ${body.template} does not compile (${(err as Error).message})` }]);
    }
    for (const d of chosen) {
      if (d.tier !== templateTier) problems.push({ field: 'target', reason: `device ${d.id} is a ${d.tier} device; template ${body.template} is for the ${templateTier} tier` });
      if (!validate(d.parameters)) {
        for (const e of validate.errors ?? []) {
          const where = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
          const missing = e.keyword === 'required' ? (e.params as { missingProperty: string }).missingProperty : '';
          problems.push({ field: `devices.${d.id}.parameters${where ? `.${where}` : ''}${missing ? `.${missing}` : ''}`, reason: e.keyword === 'required' ? 'is required by the template' : (e.message ?? 'is invalid') });
        }
      }
    }
    if (problems.length) throw new ApiError(422, 'deployment refused', problems);
    return chosen.map((d) => d.id);
  }

  async createDeployment(body: RepoDeploymentCreate, actor: Principal): Promise<DeploymentView> {
    const template = await this.getTemplate(body.template);
    if (!template) throw new ApiError(422, 'deployment refused', [{ field: 'template', reason: `no template "${body.template}"` }]);
    if (!template.versions.includes(body.version)) throw new ApiError(422, 'deployment refused', [{ field: 'version', reason: `${body.template} has no version "${body.version}"` }]);
    // The policy may have tightened since the version was published.
    const refused = checkNodeTypePolicy((await this.getVersion(body.template, body.version))?.flow ?? [], template.tier, this.nodeTypePolicy);
    if (refused.length) throw this.policyRefusal(`deployment of ${body.template}@${body.version}`, refused.map((p) => ({ field: `version (${p.field})`, reason: p.reason })));
    if (body.window?.timezone) {
      try {
        new Intl.DateTimeFormat('en', { timeZone: body.window.timezone });
      } catch {
        throw new ApiError(422, 'deployment refused', [{ field: 'window.timezone', reason: `"${body.window.timezone}" is not an IANA time zone` }]);
      }
    }
    if (body.window && body.window.from === body.window.to) throw new ApiError(422, 'deployment refused', [{ field: 'window', reason: 'from and to must differ' }]);
    const ids = await this.resolveTargets(body, template.tier, template.parameters);
    const strategy = body.strategy ?? 'all';
    const canary = body.canary ?? 1;
    const waveSize = body.waveSize ?? 0;
    const gate: DeployGate = {};
    if (body.window) gate.window = body.window;
    if (body.lineState) gate.lineState = body.lineState;
    const id = `dep-${crypto.randomBytes(6).toString('hex')}`;
    const changed: string[] = [];
    await this.db.tx(async (q) => {
      await this.rolloutLock(q);
      await q(
        `insert into ${this.s}.deployments (id, template, version, target, strategy, canary, wave_size, gate, state, created_by, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, 'rolling out', $9, $10, $10)`,
        [id, body.template, body.version, JSON.stringify(body.target), strategy, canary, waveSize, Object.keys(gate).length ? JSON.stringify(gate) : null, actor.kind === 'admin' ? actor.name : actor.deviceId, this.nowDate()],
      );
      for (const { deviceId, wave } of assignWaves(ids, strategy, canary, waveSize)) {
        await q(`insert into ${this.s}.deployment_devices (deployment_id, device_id, wave, state, updated_at) values ($1, $2, $3, 'queued', $4)`, [id, deviceId, wave, this.nowDate()]);
      }
      await this.audit(q, actor, 'deployment.create', id, { template: body.template, version: body.version, target: body.target, strategy, canary, waveSize, gate, devices: ids });
      changed.push(...(await this.advance(q, id, actor)));
    });
    this.notify(changed);
    return (await this.getDeployment(id))!;
  }

  /** Applies the state machine's next step inside the caller's transaction; returns devices whose desired state changed. */
  private async advance(q: Q, id: string, actor: Principal): Promise<string[]> {
    const d = (await q(`select * from ${this.s}.deployments where id = $1 for update`, [id])).rows[0];
    const targets = (await q(`select device_id, wave, state, reasons from ${this.s}.deployment_devices where deployment_id = $1 order by device_id`, [id])).rows.map(
      (r): RolloutTarget => ({ deviceId: r.device_id, wave: r.wave, state: r.state, reasons: r.reasons }),
    );
    const step = nextStep(d.state, targets);
    for (const deviceId of step.activate) {
      const dev = (await q(`select desired_template, desired_version, desired_deployment, running from ${this.s}.devices where id = $1 for update`, [deviceId])).rows[0];
      // The version to return to on rollback: what it was told to run, else what it reports running if a
      // deployment really released that version to it (a report alone assigns nothing: see deviceMayRead).
      let prevT: string | null = dev.desired_template;
      let prevV: string | null = dev.desired_version;
      if (!prevT && dev.running && String(dev.running).includes('@')) {
        const [t, v] = String(dev.running).split('@') as [string, string];
        const assigned = await q(
          `select 1 from ${this.s}.deployment_devices dd join ${this.s}.deployments d on d.id = dd.deployment_id where dd.device_id = $1 and dd.released_at is not null and d.template = $2 and d.version = $3 limit 1`,
          [deviceId, t, v],
        );
        if (assigned.rowCount) [prevT, prevV] = [t, v];
      }
      await q(
        `update ${this.s}.deployment_devices set state = 'pending', previous_template = $3, previous_version = $4, released_at = $5, updated_at = $5 where deployment_id = $1 and device_id = $2`,
        [id, deviceId, prevT, prevV, this.nowDate()],
      );
      // A newer deployment takes the device over from an older one still in progress.
      await q(
        `update ${this.s}.deployment_devices set state = 'superseded', updated_at = $3 where device_id = $1 and deployment_id <> $2 and state in ('queued', 'pending', 'downloading', 'verifying', 'waiting')`,
        [deviceId, id, this.nowDate()],
      );
      await q(`update ${this.s}.devices set desired_template = $2, desired_version = $3, desired_deployment = $4 where id = $1`, [deviceId, d.template, d.version, id]);
      await this.bumpGeneration(q, deviceId);
    }
    if (step.state !== d.state || step.reason || step.activate.length) {
      await q(`update ${this.s}.deployments set state = $2, reason = coalesce($3, reason), updated_at = $4 where id = $1`, [id, step.state, step.reason ?? null, this.nowDate()]);
    }
    if (step.activate.length) {
      const wave = Math.min(...targets.filter((t) => step.activate.includes(t.deviceId)).map((t) => t.wave));
      await this.audit(q, actor, 'deployment.wave', id, { wave, devices: step.activate });
    }
    if (step.state !== d.state) await this.audit(q, actor, `deployment.${step.state.replace(' ', '-')}`, id, { reason: step.reason ?? null });
    return step.activate;
  }

  async pauseDeployment(id: string, actor: Principal): Promise<DeploymentView> {
    await this.setDeploymentState(id, actor, 'pause', ['rolling out'], 'paused');
    return (await this.getDeployment(id))!;
  }

  async resumeDeployment(id: string, actor: Principal): Promise<DeploymentView> {
    const changed: string[] = [];
    await this.db.tx(async (q) => {
      await this.rolloutLock(q);
      await this.transition(q, id, actor, 'resume', ['paused', 'halted'], 'rolling out');
      changed.push(...(await this.advance(q, id, actor)));
    });
    this.notify(changed);
    return (await this.getDeployment(id))!;
  }

  /** Every device the deployment reached goes back to the version it had before. */
  async rollbackDeployment(id: string, actor: Principal): Promise<DeploymentView> {
    const changed: string[] = [];
    await this.db.tx(async (q) => {
      await this.rolloutLock(q);
      await this.transition(q, id, actor, 'rollback', ['rolling out', 'paused', 'halted', 'completed'], 'rolled back');
      const rows = (await q(`select device_id, previous_template, previous_version from ${this.s}.deployment_devices where deployment_id = $1 and state not in ('queued', 'superseded') order by device_id`, [id])).rows;
      for (const r of rows) {
        await q(`update ${this.s}.deployment_devices set state = 'rolled back', updated_at = $3 where deployment_id = $1 and device_id = $2`, [id, r.device_id, this.nowDate()]);
        // Only where this deployment still owns the device's desired state; a newer one wins.
        const u = await q(
          `update ${this.s}.devices set desired_template = $3, desired_version = $4, desired_deployment = null where id = $1 and desired_deployment = $2`,
          [r.device_id, id, r.previous_template, r.previous_version],
        );
        if (u.rowCount) {
          await this.bumpGeneration(q, r.device_id);
          changed.push(r.device_id);
        }
      }
      await this.audit(q, actor, 'deployment.rollback.devices', id, { devices: changed });
    });
    this.notify(changed);
    return (await this.getDeployment(id))!;
  }

  /**
   * Stops a deployment that has not finished: devices still queued, pending or waiting on its gate are
   * released from it and go back to the version they had before (where it still owns their desired state);
   * devices already running it stay as they are (roll back for those).
   */
  async cancelDeployment(id: string, actor: Principal): Promise<DeploymentView> {
    const changed: string[] = [];
    await this.db.tx(async (q) => {
      await this.rolloutLock(q);
      await this.transition(q, id, actor, 'cancel', ['rolling out', 'paused', 'halted'], 'cancelled');
      const rows = (
        await q(
          `select device_id, state, previous_template, previous_version from ${this.s}.deployment_devices
            where deployment_id = $1 and state in ('queued', 'pending', 'downloading', 'verifying', 'waiting') order by device_id`,
          [id],
        )
      ).rows;
      for (const r of rows) {
        await q(`update ${this.s}.deployment_devices set state = 'cancelled', updated_at = $3 where deployment_id = $1 and device_id = $2`, [id, r.device_id, this.nowDate()]);
        if (r.state === 'queued') continue; // never released: its desired state never changed
        const u = await q(
          `update ${this.s}.devices set desired_template = $3, desired_version = $4, desired_deployment = null where id = $1 and desired_deployment = $2`,
          [r.device_id, id, r.previous_template, r.previous_version],
        );
        if (u.rowCount) {
          await this.bumpGeneration(q, r.device_id);
          changed.push(r.device_id);
        }
      }
      await this.audit(q, actor, 'deployment.cancel.devices', id, { cancelled: rows.map((r) => r.device_id), restored: changed });
    });
    this.notify(changed);
    return (await this.getDeployment(id))!;
  }

  private async setDeploymentState(id: string, actor: Principal, action: string, from: DeploymentState[], to: DeploymentState): Promise<void> {
    await this.db.tx(async (q) => {
      await this.rolloutLock(q);
      await this.transition(q, id, actor, action, from, to);
    });
  }

  private async transition(q: Q, id: string, actor: Principal, action: string, from: DeploymentState[], to: DeploymentState): Promise<void> {
    const d = (await q(`select state from ${this.s}.deployments where id = $1 for update`, [id])).rows[0];
    if (!d) throw new ApiError(404, `no deployment ${id}`);
    if (!from.includes(d.state)) throw new ApiError(409, `cannot ${action} deployment ${id}: it is ${d.state}`);
    await q(`update ${this.s}.deployments set state = $2, updated_at = $3 where id = $1`, [id, to, this.nowDate()]);
    await this.audit(q, actor, `deployment.${action}`, id, { from: d.state, to });
  }

  async getDeployment(id: string): Promise<DeploymentView | undefined> {
    const d = (await this.db.query(`select * from ${this.s}.deployments where id = $1`, [id])).rows[0];
    if (!d) return undefined;
    const rows = (
      await this.db.query(
        `select dd.*, dev.last_seen, dev.poll_interval_s, dev.reported_state from ${this.s}.deployment_devices dd join ${this.s}.devices dev on dev.id = dd.device_id
          where dd.deployment_id = $1 order by dd.wave, dd.device_id`,
        [id],
      )
    ).rows;
    const devices = rows.map((r) => ({
      deviceId: r.device_id as string,
      wave: r.wave as number,
      state: r.state as TargetState,
      reasons: r.reasons as string[],
      previous: r.previous_template ? `${r.previous_template}@${r.previous_version}` : null,
      deviceState: isOffline(r.last_seen, r.poll_interval_s, this.now(), this.offlineMultiple) ? 'offline' : (r.reported_state ?? 'pending'),
      lastSeen: iso(r.last_seen),
    }));
    const counts: Record<string, number> = {};
    for (const x of devices) counts[x.state] = (counts[x.state] ?? 0) + 1;
    return {
      id: d.id,
      template: d.template,
      version: d.version,
      target: d.target,
      strategy: d.strategy,
      canary: d.canary,
      waveSize: d.wave_size,
      gate: d.gate,
      state: d.state,
      reason: d.reason,
      createdBy: d.created_by,
      createdAt: iso(d.created_at)!,
      updatedAt: iso(d.updated_at)!,
      counts,
      devices,
    };
  }

  async listDeployments(): Promise<Omit<DeploymentView, 'devices'>[]> {
    const ids = (await this.db.query(`select id from ${this.s}.deployments order by created_at desc, id`)).rows.map((r) => r.id as string);
    const out: Omit<DeploymentView, 'devices'>[] = [];
    for (const id of ids) {
      const { devices: _devices, ...rest } = (await this.getDeployment(id))!;
      out.push(rest);
    }
    return out;
  }

  // ---- audit and metrics --------------------------------------------------------------------------------

  async auditLog(opts: { limit?: number; subject?: string } = {}) {
    const r = await this.db.query(
      `select id, at, actor, action, subject, detail from ${this.s}.audit where ($1::text is null or subject = $1) order by id desc limit $2`,
      [opts.subject ?? null, Math.min(Math.max(opts.limit ?? 100, 1), 1000)],
    );
    return r.rows.map((a) => ({ id: Number(a.id), at: iso(a.at), actor: a.actor, action: a.action, subject: a.subject, detail: a.detail }));
  }

  async counts() {
    const [t, v, dep] = await Promise.all([
      this.db.query(`select count(*)::int as n from ${this.s}.templates`),
      this.db.query(`select count(*)::int as n from ${this.s}.versions`),
      this.db.query(`select state, count(*)::int as n from ${this.s}.deployments group by state`),
    ]);
    const devices: Record<string, number> = {};
    for (const d of await this.listDevices()) devices[d.state] = (devices[d.state] ?? 0) + 1;
    return { templates: t.rows[0].n as number, versions: v.rows[0].n as number, devices, deployments: Object.fromEntries(dep.rows.map((r) => [r.state, r.n as number])) };
  }
}
