// The audit log: one entry per write, committed in the write's own transaction; read newest first.
import { actorText, type AuditActor } from '../auth';
import { iso, type Query, type StoreContext } from './context';

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  subject: string;
  detail: Record<string, unknown>;
}

/** `actor` as `user:<name>`, `token:<name>(user:<u>|pipeline:<p>)`, `device:<id>`, `system:bootstrap` or `client:<address>`. */
export async function recordAudit(q: Query, s: string, at: Date, actor: AuditActor, action: string, subject: string, detail: Record<string, unknown>): Promise<void> {
  const who = actorText(actor);
  await q(`insert into ${s}.audit (at, actor, action, subject, detail) values ($1, $2, $3, $4, $5)`, [at, who, action, subject, JSON.stringify(detail)]);
}

export class AuditLog {
  constructor(private readonly ctx: StoreContext) {}

  async entries(opts: { limit?: number; subject?: string } = {}): Promise<AuditEntry[]> {
    const r = await this.ctx.db.query(
      `select id, at, actor, action, subject, detail from ${this.ctx.s}.audit where ($1::text is null or subject = $1) order by id desc limit $2`,
      [opts.subject ?? null, Math.min(Math.max(opts.limit ?? 100, 1), 1000)],
    );
    return r.rows.map((a) => ({ id: Number(a.id), at: iso(a.at)!, actor: a.actor, action: a.action, subject: a.subject, detail: a.detail }));
  }
}
