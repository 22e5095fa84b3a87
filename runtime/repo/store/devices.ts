// Devices: registration, labels and parameters, liveness (offline after missed check-ins), and the
// status reports their agents send, which move their deployments on.
import { canonicalJson, type DeviceStatusReport } from '../../../contracts/fleet/protocol';
import type { RepoDeviceRegister, RepoDeviceUpdate } from '../api.schema';
import { hashToken, newToken, type Principal } from '../auth';
import { isOffline } from '../rollout';
import { ApiError, iso, type Row, type StoreContext } from './context';
import type { DesiredStates } from './desired-state';
import type { Rollouts } from './rollouts';
import { deviceHealth, type DeviceHealth } from './telemetry';

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
  /**
   * From its health samples and its agent's report: `degraded` when a node is red, node errors keep coming,
   * or the agent reports problems; `unknown` when offline or no recent sample; `healthReasons` says why.
   */
  health: DeviceHealth;
  healthReasons: string[];
  desired: { template: string; version: string; deploymentId: string | null; models: { name: string; version: string }[] } | null;
  /** The model versions its last report said it runs. */
  models: { name: string; version: string }[];
  /** While on: who turned it on, when, and after how many idle minutes the agent closes its tunnel. */
  remoteEditing: { enabled: true; idleMinutes: number; since: string; by: string } | null;
  createdAt: string;
}

export class DeviceStore {
  constructor(private readonly ctx: StoreContext, private readonly desired: DesiredStates, private readonly rollouts: Rollouts) {}

  private deviceView(r: Row): DeviceView {
    const offline = isOffline(r.last_seen, r.poll_interval_s, this.ctx.now(), this.ctx.offlineMultiple);
    const { health, healthReasons } = deviceHealth(r.telemetry_summary, { offline, degraded: r.degraded === true }, this.ctx.now());
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
      health,
      healthReasons,
      desired: r.desired_template ? { template: r.desired_template, version: r.desired_version, deploymentId: r.desired_deployment, models: r.desired_models ?? [] } : null,
      models: r.running_models ?? [],
      remoteEditing: r.remote_editing?.enabled ? { enabled: true, idleMinutes: Number(r.remote_editing.idleMinutes), since: new Date(Number(r.remote_editing.since)).toISOString(), by: String(r.remote_editing.by) } : null,
      createdAt: iso(r.created_at)!,
    };
  }

  /** Registers a device; its token is in the answer once and stored only as a hash. */
  async registerDevice(body: RepoDeviceRegister, actor: Principal): Promise<{ device: DeviceView; token: string }> {
    const token = newToken('device');
    await this.ctx.db.tx(async (q) => {
      const exists = await q(`select 1 from ${this.ctx.s}.devices where id = $1`, [body.id]);
      if (exists.rowCount) throw new ApiError(409, `device ${body.id} is already registered`, [{ field: 'id', reason: `"${body.id}" is taken` }]);
      await q(
        `insert into ${this.ctx.s}.devices (id, tier, labels, parameters, token_hash, poll_interval_s, created_at) values ($1, $2, $3, $4, $5, $6, $7)`,
        [body.id, body.tier, JSON.stringify(body.labels ?? {}), JSON.stringify(body.parameters ?? {}), hashToken(token), body.pollIntervalSeconds ?? 30, this.ctx.nowDate()],
      );
      await this.ctx.audit(q, actor, 'device.register', body.id, { tier: body.tier, labels: body.labels ?? {} });
    });
    return { device: (await this.getDevice(body.id))!, token };
  }

  async updateDevice(id: string, body: RepoDeviceUpdate, actor: Principal): Promise<DeviceView> {
    await this.ctx.db.tx(async (q) => {
      const r = await q(
        `update ${this.ctx.s}.devices set labels = coalesce($2, labels), parameters = coalesce($3, parameters), poll_interval_s = coalesce($4, poll_interval_s) where id = $1`,
        [id, body.labels ? JSON.stringify(body.labels) : null, body.parameters ? JSON.stringify(body.parameters) : null, body.pollIntervalSeconds ?? null],
      );
      if (!r.rowCount) throw new ApiError(404, `no device ${id}`);
      if (body.parameters) await this.desired.bumpGeneration(q, id);
      await this.ctx.audit(q, actor, 'device.update', id, body as Record<string, unknown>);
    });
    // Parameters travel in the desired state.
    if (body.parameters) this.ctx.notify([id]);
    return (await this.getDevice(id))!;
  }

  /** Replaces a device's token (the old one stops working at once). */
  async rotateDeviceToken(id: string, actor: Principal): Promise<string> {
    const token = newToken('device');
    await this.ctx.db.tx(async (q) => {
      const r = await q(`update ${this.ctx.s}.devices set token_hash = $2 where id = $1`, [id, hashToken(token)]);
      if (!r.rowCount) throw new ApiError(404, `no device ${id}`);
      await this.ctx.audit(q, actor, 'device.token.rotate', id);
    });
    return token;
  }

  /** Devices with the summary of their latest health sample. */
  private get selectDevices(): string {
    return `select d.*, t.summary as telemetry_summary from ${this.ctx.s}.devices d left join ${this.ctx.s}.device_telemetry t on t.device_id = d.id`;
  }

  /** Writes the check-ins polls noted and not yet written, so a read of last_seen sees this replica's own polls. */
  flushCheckIns = () => this.desired.checkIns.flush();

  async getDevice(id: string): Promise<DeviceView | undefined> {
    await this.flushCheckIns();
    const r = await this.ctx.db.query(`${this.selectDevices} where d.id = $1`, [id]);
    return r.rows[0] ? this.deviceView(r.rows[0]) : undefined;
  }

  async listDevices(): Promise<DeviceView[]> {
    await this.flushCheckIns();
    const r = await this.ctx.db.query(`${this.selectDevices} order by d.id`);
    return r.rows.map((x) => this.deviceView(x));
  }

  /**
   * A check-in without a report (polling desired state) still proves the device is alive. Written at most
   * every min(5 s, half a poll interval) per device: a poll is then a read, not a commit, and "last seen"
   * stays far inside the offline threshold (several whole intervals).
   */
  async touchDevice(id: string): Promise<void> {
    await this.ctx.db.query(
      `update ${this.ctx.s}.devices set last_seen = $2 where id = $1 and (last_seen is null or last_seen < $2::timestamptz - least(5000, poll_interval_s * 500) * interval '1 millisecond')`,
      [id, this.ctx.nowDate()],
    );
  }

  /** Records a device's report and moves its deployment on. */
  async recordStatus(id: string, report: DeviceStatusReport, actor: Principal): Promise<void> {
    const { dep, moved } = await this.ctx.db.tx(async (q) => {
      const dev = (await q(`select desired_deployment from ${this.ctx.s}.devices where id = $1`, [id])).rows[0];
      if (!dev) throw new ApiError(404, `no device ${id}`);
      const deploymentId: string | null = report.deploymentId ?? dev.desired_deployment ?? null;
      // The deployment is locked before the device row (lockForReport says why).
      const dep = deploymentId ? await this.rollouts.lockForReport(q, deploymentId) : undefined;
      const prev = (await q(`select reported_state, running, reasons, degraded, running_models from ${this.ctx.s}.devices where id = $1 for update`, [id])).rows[0];
      const degraded = report.degraded === true;
      await q(
        `update ${this.ctx.s}.devices set last_seen = $2, reported_state = $3, running = $4, running_sha256 = $5, reasons = $6, degraded = $7, running_models = coalesce($8, running_models) where id = $1`,
        [id, this.ctx.nowDate(), report.state, report.running, report.runningSha256 ?? null, JSON.stringify(report.reasons ?? []), degraded, report.models ? JSON.stringify(report.models) : null],
      );
      const moved = dep ? await this.rollouts.applyReport(q, dep, id, report) : undefined;
      // Heartbeats are not audited (one a poll interval per device); a report that changes something is.
      // A refused desired state (a forgery or replay the agent saw) changes the reasons: that is audited too.
      const modelsChanged = !!report.models && canonicalJson(prev.running_models ?? []) !== canonicalJson(report.models);
      if (moved || modelsChanged || prev.reported_state !== report.state || prev.running !== report.running || prev.degraded !== degraded || canonicalJson(prev.reasons ?? []) !== canonicalJson(report.reasons ?? [])) {
        await this.ctx.audit(q, actor, 'device.status', id, { state: report.state, running: report.running, ...(degraded ? { degraded } : {}), deploymentId, deploymentState: moved ?? null, reasons: report.reasons ?? [], ...(report.models ? { models: report.models } : {}) });
      }
      return { dep, moved };
    });
    const changed = dep ? await this.rollouts.moveOn(dep.id, moved, actor) : [];
    this.ctx.notify(changed);
  }
}
