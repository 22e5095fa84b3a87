// What every part of the repository store shares: the database, the clock, the audit writer, the rollout
// lock and the desired-state change notification. Every write and its audit entry commit in one transaction.
import type { FieldProblem } from '../../../contracts/schemas';
import type { AuditActor, Principal } from '../auth';
import { advisoryXactLock, type RepoDb } from '../db';
import type { ModelStorage } from '../model-storage';
import type { RepoNodeTypePolicy } from '../node-policy';
import { recordAudit } from './audit';
import type { SessionOptions } from './sessions';
import type { TelemetryOptions } from './telemetry';

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
  /** Where model artifacts are kept (the server passes the filesystem store under <dataDir>/models). */
  modelStorage: ModelStorage;
  /** Called after a commit that changed these devices' desired state. */
  onDesiredChange?: (deviceIds: string[]) => void;
  /** Session idle and absolute expiry. */
  sessions?: SessionOptions;
  /** Remote logs and health: how much is kept per device. */
  telemetry?: TelemetryOptions;
}

/** A query inside a transaction (or on the pool). */
export type Query = RepoDb['query'];
export type Row = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);

/** Who did it, as the audit log and the `createdBy` of a deployment name them. */
export const actorName = (actor: Principal): string => (actor.kind === 'user' ? actor.name : actor.deviceId);

export class StoreContext {
  readonly db: RepoDb;
  /** The quoted schema name that prefixes every table. */
  readonly s: string;
  readonly now: () => number;
  /** A device is offline after this many missed poll intervals. */
  readonly offlineMultiple: number;

  constructor(private readonly options: StoreOptions) {
    this.db = options.db;
    this.s = options.db.s;
    this.now = options.now ?? Date.now;
    this.offlineMultiple = options.offlineAfterIntervals ?? 3;
  }

  nowDate(): Date {
    return new Date(this.now());
  }

  async audit(q: Query, actor: AuditActor, action: string, subject: string, detail: Record<string, unknown> = {}): Promise<void> {
    await recordAudit(q, this.s, this.nowDate(), actor, action, subject, detail);
  }

  /**
   * Serialises every transaction that moves a rollout (per schema, across replicas). Two deployments over
   * the same devices otherwise lock device rows and each other's new rows in opposite orders (a deadlock
   * seen in the concurrency test); rollout writes are short, so one at a time costs little.
   */
  async rolloutLock(q: Query): Promise<void> {
    await advisoryXactLock(q, 'rollout', this.db.schema);
  }

  /** Tells the server (after the commit) which devices' desired state changed, so it can publish them. */
  notify(ids: string[]): void {
    if (ids.length) this.options.onDesiredChange?.([...new Set(ids)]);
  }
}
