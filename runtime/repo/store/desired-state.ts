// A device's desired state: what it should run, its parameters and gate, signed whole by the repository
// key, with a generation that only grows; and which versions a device token may therefore read.
import crypto from 'node:crypto';
import { API_ROOT, signDesiredState, type DesiredState } from '../../../contracts/fleet/protocol';
import type { Query, StoreContext } from './context';

export class DesiredStates {
  /** Parsed once: every desired-state read (each agent poll) is signed with it. */
  private readonly signingKey: crypto.KeyObject;

  constructor(private readonly ctx: StoreContext, privateKeyPem: string) {
    this.signingKey = crypto.createPrivateKey(privateKeyPem);
  }

  /**
   * A device may read only versions a deployment assigned to it: its current desired version, a previous
   * assigned one (what a rollback returns it to), and its last known good one where a deployment released
   * that version to it. Never what it merely claims to run in a status report.
   */
  async deviceMayRead(deviceId: string, slug: string, version: string): Promise<boolean> {
    const r = await this.ctx.db.query(
      `select 1 from ${this.ctx.s}.devices where id = $1 and desired_template = $2 and desired_version = $3
       union all
       select 1 from ${this.ctx.s}.deployment_devices dd
        where dd.device_id = $1 and dd.released_at is not null and dd.previous_template = $2 and dd.previous_version = $3
       union all
       select 1 from ${this.ctx.s}.deployment_devices dd join ${this.ctx.s}.deployments d on d.id = dd.deployment_id
         join ${this.ctx.s}.devices dev on dev.id = dd.device_id
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
  async bumpGeneration(q: Query, deviceId: string): Promise<void> {
    await q(`update ${this.ctx.s}.devices set desired_generation = greatest(desired_generation + 1, $2::bigint) where id = $1`, [deviceId, Math.floor(this.ctx.now())]);
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
    const r = await this.ctx.db.query(
      `select d.id, d.parameters, d.desired_template, d.desired_version, d.desired_deployment, d.desired_generation, d.remote_editing, dep.gate, v.sha256, v.signature
         from ${this.ctx.s}.devices d
         left join ${this.ctx.s}.deployments dep on dep.id = d.desired_deployment
         left join ${this.ctx.s}.versions v on v.template = d.desired_template and v.version = d.desired_version
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
    if (d.remote_editing?.enabled) state.remoteEditing = { enabled: true, idleMinutes: Number(d.remote_editing.idleMinutes), since: Number(d.remote_editing.since) };
    return state;
  }
}
