// The rollout state machine applied to the database, inside the caller's transaction: releasing waves,
// moving a deployment's devices on from their reports, state transitions, and giving a device back the
// version it had before. Every caller holds the rollout lock (lock()) first.
import type { DeviceStatusReport } from '../../../contracts/fleet/protocol';
import type { AuditActor } from '../auth';
import { nextStep, targetStateFromReport, type DeploymentState, type RolloutTarget, type TargetState } from '../rollout';
import { ApiError, type Query, type StoreContext } from './context';
import type { DesiredStates } from './desired-state';

/** Device states after which the deployment may move on (see nextStep); a device on its way cannot move it. */
const ADVANCING: TargetState[] = ['running', 'failed', 'rolled back'];

/** The deployment a report is about, locked for the report's transaction. */
export interface ReportedDeployment {
  id: string;
  template: string;
  version: string;
  state: DeploymentState;
  /** The model versions it runs. */
  models: { name: string; version: string }[];
}

export class Rollouts {
  constructor(private readonly ctx: StoreContext, private readonly desired: DesiredStates) {}

  /** One rollout-moving transaction at a time (see StoreContext.rolloutLock). */
  async lock(q: Query): Promise<void> {
    await this.ctx.rolloutLock(q);
  }

  /** Applies the state machine's next step inside the caller's transaction; returns devices whose desired state changed. */
  async advance(q: Query, id: string, actor: AuditActor): Promise<string[]> {
    const d = (await q(`select * from ${this.ctx.s}.deployments where id = $1 for update`, [id])).rows[0];
    const targets = (await q(`select device_id, wave, state, reasons from ${this.ctx.s}.deployment_devices where deployment_id = $1 order by device_id`, [id])).rows.map(
      (r): RolloutTarget => ({ deviceId: r.device_id, wave: r.wave, state: r.state, reasons: r.reasons }),
    );
    const step = nextStep(d.state, targets);
    for (const deviceId of step.activate) {
      const dev = (await q(`select desired_template, desired_version, desired_deployment, running, desired_models from ${this.ctx.s}.devices where id = $1 for update`, [deviceId])).rows[0];
      // The version to return to on rollback: what it was told to run, else what it reports running if a
      // deployment really released that version to it (a report alone assigns nothing: see deviceMayRead).
      let prevT: string | null = dev.desired_template;
      let prevV: string | null = dev.desired_version;
      if (!prevT && dev.running && String(dev.running).includes('@')) {
        const [t, v] = String(dev.running).split('@') as [string, string];
        const assigned = await q(
          `select 1 from ${this.ctx.s}.deployment_devices dd join ${this.ctx.s}.deployments d on d.id = dd.deployment_id where dd.device_id = $1 and dd.released_at is not null and d.template = $2 and d.version = $3 limit 1`,
          [deviceId, t, v],
        );
        if (assigned.rowCount) [prevT, prevV] = [t, v];
      }
      await q(
        `update ${this.ctx.s}.deployment_devices set state = 'pending', previous_template = $3, previous_version = $4, previous_models = $6, released_at = $5, updated_at = $5 where deployment_id = $1 and device_id = $2`,
        [id, deviceId, prevT, prevV, this.ctx.nowDate(), dev.desired_models === null || dev.desired_models === undefined ? null : JSON.stringify(dev.desired_models)],
      );
      // A newer deployment takes the device over from an older one still in progress.
      await q(
        `update ${this.ctx.s}.deployment_devices set state = 'superseded', updated_at = $3 where device_id = $1 and deployment_id <> $2 and state in ('queued', 'pending', 'downloading', 'verifying', 'waiting')`,
        [deviceId, id, this.ctx.nowDate()],
      );
      await q(`update ${this.ctx.s}.devices set desired_template = $2, desired_version = $3, desired_deployment = $4, desired_models = $5 where id = $1`, [deviceId, d.template, d.version, id, d.models === null || d.models === undefined ? null : JSON.stringify(d.models)]);
      await this.desired.bumpGeneration(q, deviceId);
    }
    if (step.state !== d.state || step.reason || step.activate.length) {
      await q(`update ${this.ctx.s}.deployments set state = $2, reason = coalesce($3, reason), updated_at = $4 where id = $1`, [id, step.state, step.reason ?? null, this.ctx.nowDate()]);
    }
    if (step.activate.length) {
      const wave = Math.min(...targets.filter((t) => step.activate.includes(t.deviceId)).map((t) => t.wave));
      await this.ctx.audit(q, actor, 'deployment.wave', id, { wave, devices: step.activate });
    }
    if (step.state !== d.state) await this.ctx.audit(q, actor, `deployment.${step.state.replace(' ', '-')}`, id, { reason: step.reason ?? null });
    return step.activate;
  }

  /**
   * The deployment's row for a device report, shared: it keeps the deployment's state as read until the
   * report commits (a pause, cancel or rollback waits for it), while the reports of a wave's devices run
   * side by side. A report moves only its own device; the deployment moves on after the commit (moveOn).
   * Locks are always taken deployment first, then devices (as advance() does), so concurrent reports and
   * deployments cannot deadlock.
   */
  async lockForReport(q: Query, deploymentId: string): Promise<ReportedDeployment | undefined> {
    const row = (await q(`select template, version, state, models from ${this.ctx.s}.deployments where id = $1 for share`, [deploymentId])).rows[0];
    return row && { id: deploymentId, template: row.template, version: row.version, state: row.state, models: row.models ?? [] };
  }

  /** Moves the device's row of the deployment on from its report; returns its new state there, if it moved. */
  async applyReport(q: Query, dep: ReportedDeployment, deviceId: string, report: DeviceStatusReport): Promise<TargetState | undefined> {
    if (dep.state === 'rolled back' || dep.state === 'cancelled') return undefined;
    const row = (await q(`select state from ${this.ctx.s}.deployment_devices where deployment_id = $1 and device_id = $2 for update`, [dep.id, deviceId])).rows[0];
    if (!row || row.state === 'queued' || row.state === 'superseded' || row.state === 'cancelled') return undefined;
    const next = targetStateFromReport(report, `${dep.template}@${dep.version}`, dep.models);
    if (!next || next === row.state) return undefined;
    await q(`update ${this.ctx.s}.deployment_devices set state = $3, reasons = $4, updated_at = $5 where deployment_id = $1 and device_id = $2`, [
      dep.id,
      deviceId,
      next,
      JSON.stringify(report.reasons ?? []),
      this.ctx.nowDate(),
    ]);
    return next;
  }

  /**
   * After a device's report committed: when it finished (running) or failed and no other released device
   * of the deployment is still on its way, the deployment may move on (next wave, completed, halted), under
   * the rollout lock; returns the devices whose desired state changed. The last of a wave's devices to
   * commit sees every other one committed, so some report always moves the wave on; a replica that died
   * between the commit and this is covered by every replica's sweep (moveOnAll).
   */
  async moveOn(deploymentId: string, moved: TargetState | undefined, actor: AuditActor): Promise<string[]> {
    if (!moved || !ADVANCING.includes(moved) || !(await this.mayMoveOn(deploymentId))) return [];
    return this.ctx.db.tx(async (q) => {
      await this.lock(q);
      return this.advance(q, deploymentId, actor);
    });
  }

  /** Moves on every deployment rolling out that can (see moveOn); returns the devices whose desired state changed. */
  async moveOnAll(actor: AuditActor): Promise<string[]> {
    const ids = (await this.ctx.db.query(`select id from ${this.ctx.s}.deployments where state = 'rolling out' order by created_at`)).rows.map((r) => r.id as string);
    const changed: string[] = [];
    for (const id of ids) {
      if (!(await this.mayMoveOn(id))) continue;
      changed.push(...(await this.ctx.db.tx(async (q) => {
        await this.lock(q);
        return this.advance(q, id, actor);
      })));
    }
    return changed;
  }

  /** Read without locks: a failure to halt on, or no released device still on its way. advance() decides under the lock. */
  private async mayMoveOn(deploymentId: string): Promise<boolean> {
    const r = await this.ctx.db.query(
      `select count(*) filter (where state in ('pending', 'downloading', 'verifying', 'waiting'))::int as busy,
              count(*) filter (where state in ('failed', 'rolled back'))::int as failed
         from ${this.ctx.s}.deployment_devices where deployment_id = $1`,
      [deploymentId],
    );
    const { busy, failed } = r.rows[0] ?? { busy: 0, failed: 0 };
    return failed > 0 || busy === 0;
  }

  async transition(q: Query, id: string, actor: AuditActor, action: string, from: DeploymentState[], to: DeploymentState): Promise<void> {
    const d = (await q(`select state from ${this.ctx.s}.deployments where id = $1 for update`, [id])).rows[0];
    if (!d) throw new ApiError(404, `no deployment ${id}`);
    if (!from.includes(d.state)) throw new ApiError(409, `cannot ${action} deployment ${id}: it is ${d.state}`);
    await q(`update ${this.ctx.s}.deployments set state = $2, updated_at = $3 where id = $1`, [id, to, this.ctx.nowDate()]);
    await this.ctx.audit(q, actor, `deployment.${action}`, id, { from: d.state, to });
  }

  /**
   * Gives a device back the version it had before this deployment, only where the deployment still owns
   * its desired state (a newer one wins); true when its desired state changed.
   */
  async restorePrevious(q: Query, deploymentId: string, deviceId: string, previousTemplate: string | null, previousVersion: string | null): Promise<boolean> {
    // The models it ran before go back with the version.
    const u = await q(
      `update ${this.ctx.s}.devices set desired_template = $3, desired_version = $4, desired_deployment = null,
              desired_models = (select previous_models from ${this.ctx.s}.deployment_devices where deployment_id = $2 and device_id = $1)
        where id = $1 and desired_deployment = $2`,
      [deviceId, deploymentId, previousTemplate, previousVersion],
    );
    if (!u.rowCount) return false;
    await this.desired.bumpGeneration(q, deviceId);
    return true;
  }
}
