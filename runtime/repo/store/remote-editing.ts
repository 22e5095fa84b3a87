// Remote editing per device: turned on and off by people (audited), carried to the agent in its signed
// desired state, turned off by the repository when the agent closed its tunnel for idleness; what went
// through the tunnel (editor opened, deploys, remote commands) is audited here; support bundles are kept.
import crypto from 'node:crypto';
import { actorText, type AuditActor, type Principal } from '../auth';
import { ApiError, iso, type StoreContext } from './context';
import type { DesiredStates } from './desired-state';

/** Idle minutes when the request names none. */
export const DEFAULT_IDLE_MINUTES = 30;

export interface SupportBundleView {
  id: string;
  deviceId: string;
  createdAt: string;
  createdBy: string;
  bundle: unknown;
}

export class RemoteEditingStore {
  constructor(private readonly ctx: StoreContext, private readonly desired: DesiredStates) {}

  /** Turns remote editing on (a new turn-on each time: a tunnel idled out opens again) or off. */
  async set(id: string, body: { enabled: boolean; idleMinutes?: number }, actor: Principal): Promise<void> {
    await this.ctx.db.tx(async (q) => {
      const value = body.enabled ? { enabled: true, idleMinutes: body.idleMinutes ?? DEFAULT_IDLE_MINUTES, since: Math.floor(this.ctx.now()), by: actorText(actor) } : null;
      const r = await q(`update ${this.ctx.s}.devices set remote_editing = $2 where id = $1`, [id, value === null ? null : JSON.stringify(value)]);
      if (!r.rowCount) throw new ApiError(404, `no device ${id}`);
      await this.desired.bumpGeneration(q, id);
      await this.ctx.audit(q, actor, body.enabled ? 'device.remote-editing.on' : 'device.remote-editing.off', id, body.enabled ? { idleMinutes: value!.idleMinutes } : {});
    });
    this.ctx.notify([id]);
  }

  /** The agent closed its tunnel after the idle time: remote editing ends until someone turns it on again. */
  async endIdle(id: string): Promise<boolean> {
    const changed = await this.ctx.db.tx(async (q) => {
      const r = await q(`update ${this.ctx.s}.devices set remote_editing = null where id = $1 and remote_editing is not null`, [id]);
      if (!r.rowCount) return false;
      await this.desired.bumpGeneration(q, id);
      await this.ctx.audit(q, { kind: 'device', deviceId: id }, 'device.remote-editing.off', id, { reason: 'the tunnel was idle' });
      return true;
    });
    if (changed) this.ctx.notify([id]);
    return changed;
  }

  /** Whether remote editing is on for the device (undefined: no such device). */
  async isOn(id: string): Promise<boolean | undefined> {
    const r = await this.ctx.db.query(`select remote_editing from ${this.ctx.s}.devices where id = $1`, [id]);
    if (!r.rowCount) return undefined;
    return r.rows[0].remote_editing?.enabled === true;
  }

  /** One audit entry for something done through the tunnel. */
  async record(actor: AuditActor, action: string, deviceId: string, detail: Record<string, unknown> = {}): Promise<void> {
    await this.ctx.audit((sql, params) => this.ctx.db.query(sql, params), actor, action, deviceId, detail);
  }

  async saveBundle(deviceId: string, bundle: unknown, actor: Principal): Promise<string> {
    const id = crypto.randomUUID();
    await this.ctx.db.tx(async (q) => {
      await q(`insert into ${this.ctx.s}.support_bundles (id, device_id, created_at, created_by, bundle) values ($1, $2, $3, $4, $5)`, [id, deviceId, this.ctx.nowDate(), actorText(actor), JSON.stringify(bundle)]);
      await this.ctx.audit(q, actor, 'device.support-bundle', deviceId, { bundleId: id });
    });
    return id;
  }

  async bundle(deviceId: string, bundleId: string): Promise<SupportBundleView | undefined> {
    const r = await this.ctx.db.query(`select id, device_id, created_at, created_by, bundle from ${this.ctx.s}.support_bundles where device_id = $1 and id = $2`, [deviceId, bundleId]);
    const row = r.rows[0];
    return row && { id: row.id, deviceId: row.device_id, createdAt: iso(row.created_at)!, createdBy: row.created_by, bundle: row.bundle };
  }
}
