// A device's desired state: what it should run, its parameters and gate, signed whole by the repository
// key, with a generation that only grows; and which versions a device token may therefore read.
import crypto from 'node:crypto';
import { API_ROOT, flowSha256, signDesiredState, type DesiredState } from '../../../contracts/fleet/protocol';
import { CheckIns } from './check-ins';
import type { Query, Row, StoreContext } from './context';
import type { ModelStore } from './models';

/** What a poll is answered with: the ETag (of the unsigned state) and the signed state as JSON text. */
export interface DesiredAnswer {
  generation: number;
  etag: string;
  body: string;
}

/** Answers kept per replica: one per device (a few hundred bytes to a few KiB each); beyond this the oldest go. */
const MAX_KEPT_ANSWERS = 100_000;

export class DesiredStates {
  /** Parsed once: every desired-state read (each agent poll) is signed with it. */
  private readonly signingKey: crypto.KeyObject;
  /** Device polls' check-ins, written in batches. */
  readonly checkIns: CheckIns;
  /** Per device, the answer made for its newest generation seen here (answerFor). */
  private readonly answers = new Map<string, DesiredAnswer>();

  constructor(private readonly ctx: StoreContext, privateKeyPem: string, private readonly models: ModelStore) {
    this.signingKey = crypto.createPrivateKey(privateKeyPem);
    this.checkIns = new CheckIns(ctx);
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
    const r = await this.ctx.db.query(`select ${DESIRED_COLUMNS} from ${this.ctx.s}.devices d ${this.desiredJoins('d')} where d.id = $1`, [id]);
    return r.rows[0] ? this.fromRow(r.rows[0]) : undefined;
  }

  /**
   * A device's poll of its own desired state: authenticated (its token's hash must be the device's) by one
   * indexed read of its generation, its check-in noted (written in a batch, see CheckIns), and answered
   * from the answer made for that generation (answerFor). Undefined when the token is not this device's
   * (the caller then takes the ordinary path, which says why).
   */
  async pollDesiredState(id: string, tokenHash: string): Promise<DesiredAnswer | undefined> {
    const r = await this.ctx.db.checkInQuery(`select desired_generation from ${this.ctx.s}.devices where id = $1 and token_hash = $2`, [id, tokenHash]);
    if (!r.rows[0]) return undefined;
    this.checkIns.note(id);
    return this.answerFor(id, Number(r.rows[0].desired_generation));
  }

  /** A device's own poll on the ordinary path (a device token that is not `lsd_…`-shaped): checked in and answered. */
  async checkInDesiredState(id: string): Promise<DesiredAnswer | undefined> {
    const answer = await this.answerFor(id);
    if (answer) this.checkIns.note(id);
    return answer;
  }

  /**
   * The answer to a poll: the ETag of the unsigned state and the signed state as JSON text. Made once per
   * device and generation and kept in memory: every change to what a desired state holds moves its
   * generation on in the database (bumpGeneration, in the change's transaction), and what it refers to
   * (a version's hash and signature, a deployment's gate, a model version) never changes, so an answer
   * kept for the generation the database holds now is the answer a fresh read would make. With replicas,
   * each keeps its own; the database's generation decides for all. `generation` is what the caller just
   * read; without it (or when no answer is kept for it) the state is read whole.
   */
  async answerFor(id: string, generation?: number): Promise<DesiredAnswer | undefined> {
    const kept = this.answers.get(id);
    if (kept && generation !== undefined && kept.generation === generation) return kept;
    const state = await this.unsignedDesiredState(id);
    return state && this.keep(state);
  }

  /**
   * The answer for a state read from the database: the one kept for its generation, else made (signed) and
   * kept, unless one for a newer generation is kept (an older read finishing after a newer one).
   */
  private keep(state: DesiredState): DesiredAnswer {
    const current = this.answers.get(state.deviceId);
    if (current && current.generation === state.generation) return current;
    const answer: DesiredAnswer = { generation: state.generation, etag: `"${flowSha256(state)}"`, body: JSON.stringify(this.signDesired(state)) };
    if (!current || current.generation < state.generation) {
      if (!current && this.answers.size >= MAX_KEPT_ANSWERS) this.answers.delete(this.answers.keys().next().value!);
      this.answers.set(state.deviceId, answer);
    }
    return answer;
  }

  /** desiredFromRow with the device's models (name, version, sha256, size, signature), absent when none. */
  private async fromRow(d: Row): Promise<DesiredState> {
    const state = desiredFromRow(d);
    // Absent when none, so a desired state without models reads (and is signed) as before models existed.
    const models = state.version ? await this.models.desiredModels(d.desired_models) : [];
    if (models.length) state.models = models;
    return state;
  }

  private desiredJoins(alias: string): string {
    return `left join ${this.ctx.s}.deployments dep on dep.id = ${alias}.desired_deployment
         left join ${this.ctx.s}.versions v on v.template = ${alias}.desired_template and v.version = ${alias}.desired_version`;
  }

  /**
   * Claims the right to publish the current desired state of these devices and returns the claimed states,
   * signed. A generation is claimed by one replica only (the row lock orders two claims; the second sees
   * the first's claim); a claim older than `leaseMs` (its replica died before the broker's PUBACK) may be
   * taken over. Devices whose current generation is published or claimed are left out.
   */
  async claimPublish(ids: string[], leaseMs: number): Promise<DesiredState[]> {
    if (!ids.length) return [];
    const r = await this.ctx.db.query(
      `with claimed as (
         update ${this.ctx.s}.devices d set publish_claim_generation = d.desired_generation, publish_claimed_at = $2
          where d.id = any($1::text[]) and d.desired_generation > d.published_generation
            and (d.publish_claim_generation is null or d.publish_claim_generation < d.desired_generation
                 or d.publish_claimed_at < $2::timestamptz - $3 * interval '1 millisecond')
          returning d.id, d.parameters, d.desired_template, d.desired_version, d.desired_deployment, d.desired_generation, d.desired_models, d.remote_editing)
       select ${DESIRED_COLUMNS} from claimed d ${this.desiredJoins('d')} order by d.id`,
      [ids, this.ctx.nowDate(), leaseMs],
    );
    // Signed once: the poll that follows the notification is answered with the same bytes.
    return Promise.all(r.rows.map(async (row) => JSON.parse(this.keep(await this.fromRow(row)).body) as DesiredState));
  }

  /** Records that the broker acknowledged this generation of the device's desired state. */
  async markPublished(id: string, generation: number): Promise<void> {
    await this.ctx.db.query(
      `update ${this.ctx.s}.devices set published_generation = greatest(published_generation, $2::bigint),
              publish_claim_generation = case when publish_claim_generation <= $2::bigint then null else publish_claim_generation end,
              publish_claimed_at = case when publish_claim_generation <= $2::bigint then null else publish_claimed_at end
        where id = $1`,
      [id, generation],
    );
  }

  /** Up to `limit` devices whose current desired state no replica has published or is publishing now. */
  async unpublished(leaseMs: number, limit = 1000): Promise<string[]> {
    const r = await this.ctx.db.query(
      `select id from ${this.ctx.s}.devices
        where desired_generation > published_generation
          and (publish_claim_generation is null or publish_claim_generation < desired_generation
               or publish_claimed_at < $1::timestamptz - $2 * interval '1 millisecond')
        order by id limit $3`,
      [this.ctx.nowDate(), leaseMs, limit],
    );
    return r.rows.map((row) => row.id as string);
  }
}

/** What a desired state is made of: the devices row `d`, its deployment's gate, its version's hash and signature. */
const DESIRED_COLUMNS = 'd.id, d.parameters, d.desired_template, d.desired_version, d.desired_deployment, d.desired_generation, d.desired_models, d.remote_editing, dep.gate, v.sha256, v.signature';

/** A desired state from a devices row joined with its deployment's gate and its version's hash and signature. */
function desiredFromRow(d: Row): DesiredState {
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
