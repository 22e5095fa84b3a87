// Bearer tokens: admin tokens (named, revocable, never the last one) and device tokens, stored only as
// hashes; the token's prefix says which table holds it.
import crypto from 'node:crypto';
import { hashToken, newToken, sameHash, type Principal } from '../auth';
import { advisoryXactLock } from '../db';
import { ApiError, iso, type Query, type StoreContext } from './context';

export interface AdminTokenView {
  id: string;
  name: string;
  createdAt: string;
}

export class TokenStore {
  constructor(private readonly ctx: StoreContext) {}

  /** Who holds this bearer token, or undefined. */
  async authenticate(token: string | undefined): Promise<Principal | undefined> {
    if (!token) return undefined;
    const h = hashToken(token);
    // The prefix says which table to look in (one query per request instead of two).
    if (token.startsWith('lsa_')) {
      const admin = await this.ctx.db.query(`select name, token_hash from ${this.ctx.s}.admin_tokens where token_hash = $1`, [h]);
      if (admin.rows[0] && sameHash(admin.rows[0].token_hash, h)) return { kind: 'admin', name: admin.rows[0].name };
    } else if (token.startsWith('lsd_')) {
      const dev = await this.ctx.db.query(`select id, token_hash from ${this.ctx.s}.devices where token_hash = $1`, [h]);
      if (dev.rows[0] && sameHash(dev.rows[0].token_hash, h)) return { kind: 'device', deviceId: dev.rows[0].id };
    }
    return undefined;
  }

  /** A new admin token stored as its hash; the token itself is returned once. */
  private async insertAdminToken(q: Query, name: string): Promise<{ id: string; token: string }> {
    const token = newToken('admin');
    const id = crypto.randomUUID();
    await q(`insert into ${this.ctx.s}.admin_tokens (id, name, token_hash, created_at) values ($1, $2, $3, $4)`, [id, name, hashToken(token), this.ctx.nowDate()]);
    return { id, token };
  }

  /**
   * The first admin token, if there is none yet: checked and created under a lock, so replicas starting
   * together on an empty database make exactly one between them. Returns undefined when one exists.
   */
  async createFirstAdminToken(name: string): Promise<string | undefined> {
    return this.ctx.db.tx(async (q) => {
      await advisoryXactLock(q, 'first-admin', this.ctx.db.schema);
      const r = await q(`select count(*)::int as n from ${this.ctx.s}.admin_tokens`);
      if (r.rows[0].n > 0) return undefined;
      const { token } = await this.insertAdminToken(q, name);
      await this.ctx.audit(q, { kind: 'admin', name: 'bootstrap' }, 'admin-token.create', name);
      return token;
    });
  }

  async listAdminTokens(): Promise<AdminTokenView[]> {
    const r = await this.ctx.db.query(`select id, name, created_at from ${this.ctx.s}.admin_tokens order by created_at, id`);
    return r.rows.map((t) => ({ id: t.id, name: t.name, createdAt: iso(t.created_at)! }));
  }

  /** Creates a named admin token (e.g. for CI); returned once, stored as a hash. */
  async issueAdminToken(name: string, actor: Principal): Promise<{ id: string; name: string; token: string }> {
    return this.ctx.db.tx(async (q) => {
      const taken = await q(`select 1 from ${this.ctx.s}.admin_tokens where name = $1`, [name]);
      if (taken.rowCount) throw new ApiError(409, `an admin token named ${name} exists`, [{ field: 'name', reason: `"${name}" is taken` }]);
      const { id, token } = await this.insertAdminToken(q, name);
      await this.ctx.audit(q, actor, 'admin-token.create', name, { id });
      return { id, name, token };
    });
  }

  /** Revokes an admin token at once; the last one cannot go (nobody could administer the repository). */
  async revokeAdminToken(id: string, actor: Principal): Promise<void> {
    await this.ctx.db.tx(async (q) => {
      const all = (await q(`select id, name from ${this.ctx.s}.admin_tokens for update`)).rows;
      const t = all.find((x) => x.id === id);
      if (!t) throw new ApiError(404, `no admin token ${id}`);
      if (all.length === 1) throw new ApiError(409, 'cannot revoke the last admin token');
      await q(`delete from ${this.ctx.s}.admin_tokens where id = $1`, [id]);
      await this.ctx.audit(q, actor, 'admin-token.revoke', t.name, { id });
    });
  }
}
