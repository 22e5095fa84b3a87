// Deployments: a version sent to the devices a target chooses (tier, ids, labels), all at once or a canary
// then waves, optionally gated; and the actions on one: pause, resume, cancel, roll back.
import crypto from 'node:crypto';
import type { FieldProblem } from '../../../contracts/schemas';
import type { DeployGate } from '../../../contracts/fleet/protocol';
import type { RepoDeploymentCreate } from '../api.schema';
import type { Principal } from '../auth';
import { checkNodeTypePolicy } from '../node-policy';
import { assignWaves, isOffline, type DeploymentState, type TargetState } from '../rollout';
import { actorName, ApiError, iso, type Query, type StoreContext } from './context';
import type { DeviceStore } from './devices';
import type { ModelStore } from './models';
import type { Rollouts } from './rollouts';
import { compileParameterSchema, type TemplateStore } from './templates';

export interface DeploymentView {
  id: string;
  template: string;
  version: string;
  target: Record<string, unknown>;
  strategy: string;
  canary: number;
  waveSize: number;
  gate: DeployGate | null;
  /** The model versions it runs (resolved at deploy from the version's ranges and the pins). */
  models: { name: string; version: string }[];
  state: DeploymentState;
  reason: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  counts: Record<string, number>;
  devices: { deviceId: string; wave: number; state: TargetState; reasons: string[]; previous: string | null; deviceState: string; lastSeen: string | null }[];
}

export class DeploymentStore {
  constructor(
    private readonly ctx: StoreContext,
    private readonly templates: TemplateStore,
    private readonly devices: DeviceStore,
    private readonly rollouts: Rollouts,
    private readonly models: ModelStore,
  ) {}

  private async resolveTargets(body: RepoDeploymentCreate, templateTier: string, parameterSchema: Record<string, unknown>): Promise<string[]> {
    const problems: FieldProblem[] = [];
    const t = body.target;
    if (!t.tier && !t.ids?.length && !(t.labels && Object.keys(t.labels).length)) {
      throw new ApiError(422, 'deployment refused', [{ field: 'target', reason: 'must name a tier, device ids or labels' }]);
    }
    const all = await this.devices.listDevices();
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
    const template = await this.templates.getTemplate(body.template);
    if (!template) throw new ApiError(422, 'deployment refused', [{ field: 'template', reason: `no template "${body.template}"` }]);
    if (!template.versions.includes(body.version)) throw new ApiError(422, 'deployment refused', [{ field: 'version', reason: `${body.template} has no version "${body.version}"` }]);
    // The policy may have tightened since the version was published.
    const stored = await this.templates.getVersion(body.template, body.version);
    const refused = checkNodeTypePolicy(stored?.flow ?? [], template.tier, this.templates.nodeTypePolicy);
    if (refused.length) throw this.templates.policyRefusal(`deployment of ${body.template}@${body.version}`, refused.map((p) => ({ field: `version (${p.field})`, reason: p.reason })));
    if (body.window?.timezone) {
      try {
        new Intl.DateTimeFormat('en', { timeZone: body.window.timezone });
      } catch {
        throw new ApiError(422, 'deployment refused', [{ field: 'window.timezone', reason: `"${body.window.timezone}" is not an IANA time zone` }]);
      }
    }
    if (body.window && body.window.from === body.window.to) throw new ApiError(422, 'deployment refused', [{ field: 'window', reason: 'from and to must differ' }]);
    const ids = await this.resolveTargets(body, template.tier, template.parameters);
    const models = await this.models.resolve(stored?.models ?? [], body.models ?? {});
    const strategy = body.strategy ?? 'all';
    const canary = body.canary ?? 1;
    const waveSize = body.waveSize ?? 0;
    const gate: DeployGate = {};
    if (body.window) gate.window = body.window;
    if (body.lineState) gate.lineState = body.lineState;
    const id = `dep-${crypto.randomBytes(6).toString('hex')}`;
    const changed: string[] = [];
    await this.ctx.db.tx(async (q) => {
      await this.rollouts.lock(q);
      await q(
        `insert into ${this.ctx.s}.deployments (id, template, version, target, strategy, canary, wave_size, gate, state, created_by, created_at, updated_at, models)
         values ($1, $2, $3, $4, $5, $6, $7, $8, 'rolling out', $9, $10, $10, $11)`,
        [id, body.template, body.version, JSON.stringify(body.target), strategy, canary, waveSize, Object.keys(gate).length ? JSON.stringify(gate) : null, actorName(actor), this.ctx.nowDate(), JSON.stringify(models)],
      );
      for (const { deviceId, wave } of assignWaves(ids, strategy, canary, waveSize)) {
        await q(`insert into ${this.ctx.s}.deployment_devices (deployment_id, device_id, wave, state, updated_at) values ($1, $2, $3, 'queued', $4)`, [id, deviceId, wave, this.ctx.nowDate()]);
      }
      await this.ctx.audit(q, actor, 'deployment.create', id, { template: body.template, version: body.version, models, target: body.target, strategy, canary, waveSize, gate, devices: ids });
      changed.push(...(await this.rollouts.advance(q, id, actor)));
    });
    this.ctx.notify(changed);
    return (await this.getDeployment(id))!;
  }

  async pauseDeployment(id: string, actor: Principal): Promise<DeploymentView> {
    return this.act(id, actor, 'pause', ['rolling out'], 'paused');
  }

  async resumeDeployment(id: string, actor: Principal): Promise<DeploymentView> {
    return this.act(id, actor, 'resume', ['paused', 'halted'], 'rolling out', (q) => this.rollouts.advance(q, id, actor));
  }

  /** Every device the deployment reached goes back to the version it had before. */
  async rollbackDeployment(id: string, actor: Principal): Promise<DeploymentView> {
    return this.act(id, actor, 'rollback', ['rolling out', 'paused', 'halted', 'completed'], 'rolled back', async (q) => {
      const changed: string[] = [];
      const rows = (await q(`select device_id, previous_template, previous_version from ${this.ctx.s}.deployment_devices where deployment_id = $1 and state not in ('queued', 'superseded') order by device_id`, [id])).rows;
      for (const r of rows) {
        await q(`update ${this.ctx.s}.deployment_devices set state = 'rolled back', updated_at = $3 where deployment_id = $1 and device_id = $2`, [id, r.device_id, this.ctx.nowDate()]);
        if (await this.rollouts.restorePrevious(q, id, r.device_id, r.previous_template, r.previous_version)) changed.push(r.device_id);
      }
      await this.ctx.audit(q, actor, 'deployment.rollback.devices', id, { devices: changed });
      return changed;
    });
  }

  /**
   * Stops a deployment that has not finished: devices still queued, pending or waiting on its gate are
   * released from it and go back to the version they had before (where it still owns their desired state);
   * devices already running it stay as they are (roll back for those).
   */
  async cancelDeployment(id: string, actor: Principal): Promise<DeploymentView> {
    return this.act(id, actor, 'cancel', ['rolling out', 'paused', 'halted'], 'cancelled', async (q) => {
      const changed: string[] = [];
      const rows = (
        await q(
          `select device_id, state, previous_template, previous_version from ${this.ctx.s}.deployment_devices
            where deployment_id = $1 and state in ('queued', 'pending', 'downloading', 'verifying', 'waiting') order by device_id`,
          [id],
        )
      ).rows;
      for (const r of rows) {
        await q(`update ${this.ctx.s}.deployment_devices set state = 'cancelled', updated_at = $3 where deployment_id = $1 and device_id = $2`, [id, r.device_id, this.ctx.nowDate()]);
        if (r.state === 'queued') continue; // never released: its desired state never changed
        if (await this.rollouts.restorePrevious(q, id, r.device_id, r.previous_template, r.previous_version)) changed.push(r.device_id);
      }
      await this.ctx.audit(q, actor, 'deployment.cancel.devices', id, { cancelled: rows.map((r) => r.device_id), restored: changed });
      return changed;
    });
  }

  /**
   * One action on a deployment, in one transaction under the rollout lock: the state transition (409 from
   * a state it is not allowed in), then what the action does to its devices (`then`, returning the devices
   * whose desired state changed, notified after the commit).
   */
  private async act(id: string, actor: Principal, action: string, from: DeploymentState[], to: DeploymentState, then?: (q: Query) => Promise<string[]>): Promise<DeploymentView> {
    const changed = await this.ctx.db.tx(async (q) => {
      await this.rollouts.lock(q);
      await this.rollouts.transition(q, id, actor, action, from, to);
      return then ? then(q) : [];
    });
    this.ctx.notify(changed);
    return (await this.getDeployment(id))!;
  }

  async getDeployment(id: string): Promise<DeploymentView | undefined> {
    const d = (await this.ctx.db.query(`select * from ${this.ctx.s}.deployments where id = $1`, [id])).rows[0];
    if (!d) return undefined;
    await this.devices.flushCheckIns();
    const rows = (
      await this.ctx.db.query(
        `select dd.*, dev.last_seen, dev.poll_interval_s, dev.reported_state from ${this.ctx.s}.deployment_devices dd join ${this.ctx.s}.devices dev on dev.id = dd.device_id
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
      deviceState: isOffline(r.last_seen, r.poll_interval_s, this.ctx.now(), this.ctx.offlineMultiple) ? 'offline' : (r.reported_state ?? 'pending'),
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
      models: d.models ?? [],
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
    const ids = (await this.ctx.db.query(`select id from ${this.ctx.s}.deployments order by created_at desc, id`)).rows.map((r) => r.id as string);
    const out: Omit<DeploymentView, 'devices'>[] = [];
    for (const id of ids) {
      const { devices: _devices, ...rest } = (await this.getDeployment(id))!;
      out.push(rest);
    }
    return out;
  }
}
