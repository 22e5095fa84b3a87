// Bearer tokens: API tokens (named, with a role, owned by a user or a pipeline) and device tokens, stored
// only as hashes; the token's prefix says which table holds it. A user's token never acts above the
// user's current role and stops working when the user is disabled.
import crypto from 'node:crypto';
import type { RepoTokenCreate } from '../api.schema';
import { hashToken, lowerRole, newToken, ownerText, roleAtLeast, sameHash, type AuditActor, type Principal, type Role, type TokenOwner, type UserPrincipal } from '../auth';
import { advisoryXactLock } from '../db';
import { ApiError, iso, type Query, type Row, type StoreContext } from './context';
import { FIRST_ADMIN } from './users';

export interface TokenView {
  id: string;
  name: string;
  role: Role;
  owner: TokenOwner;
  createdAt: string;
}

/** What GET /admin-tokens has always shown, and still does (the tokens with role admin). */
export type AdminTokenView = TokenView;

const tokenOwner = (r: Row): TokenOwner => (r.owner_user ? { user: r.owner_user } : { pipeline: r.owner_pipeline });
const tokenView = (r: Row): TokenView => ({ id: r.id, name: r.name, role: r.role, owner: tokenOwner(r), createdAt: iso(r.created_at)! });
const sameOwner = (a: TokenOwner, b: TokenOwner) => ownerText(a) === ownerText(b);

/** Whom a principal's new token belongs to when the request names no owner: the principal itself. */
const ownOwner = (actor: UserPrincipal): TokenOwner => actor.owner ?? { user: actor.name };

export class TokenStore {
  constructor(private readonly ctx: StoreContext) {}

  /** Who holds this bearer token, or undefined. */
  async authenticate(token: string | undefined): Promise<Principal | undefined> {
    if (!token) return undefined;
    const h = hashToken(token);
    // The prefix says which table to look in (one query per request instead of two).
    if (token.startsWith('lsa_')) {
      const r = await this.ctx.db.query(
        `select t.id, t.name, t.token_hash, t.role, t.owner_user, t.owner_pipeline, u.role as user_role, u.disabled
           from ${this.ctx.s}.admin_tokens t left join ${this.ctx.s}.users u on u.name = t.owner_user where t.token_hash = $1`,
        [h],
      );
      const t = r.rows[0];
      if (!t || !sameHash(t.token_hash, h)) return undefined;
      if (t.owner_user && (t.disabled || !t.user_role)) return undefined;
      const owner = tokenOwner(t);
      const role: Role = t.owner_user ? lowerRole(t.role, t.user_role) : t.role;
      return { kind: 'user', name: 'user' in owner ? owner.user : owner.pipeline, role, via: 'token', tokenId: t.id, tokenName: t.name, owner };
    } else if (token.startsWith('lsd_')) {
      const dev = await this.ctx.db.query(`select id, token_hash from ${this.ctx.s}.devices where token_hash = $1`, [h]);
      if (dev.rows[0] && sameHash(dev.rows[0].token_hash, h)) return { kind: 'device', deviceId: dev.rows[0].id };
    }
    return undefined;
  }

  /** A new API token stored as its hash; the token itself is returned once. */
  private async insertToken(q: Query, name: string, role: Role, owner: TokenOwner): Promise<{ id: string; token: string; row: Row }> {
    const token = newToken('api');
    const id = crypto.randomUUID();
    const r = await q(
      `insert into ${this.ctx.s}.admin_tokens (id, name, token_hash, created_at, role, owner_user, owner_pipeline) values ($1, $2, $3, $4, $5, $6, $7) returning *`,
      [id, name, hashToken(token), this.ctx.nowDate(), role, 'user' in owner ? owner.user : null, 'pipeline' in owner ? owner.pipeline : null],
    );
    return { id, token, row: r.rows[0] };
  }

  /**
   * The first admin token, if there is none yet: checked and created under a lock, so replicas starting
   * together on an empty database make exactly one between them. It belongs to the first admin user when
   * there is one. Returns undefined when a token exists.
   */
  async createFirstAdminToken(name: string): Promise<string | undefined> {
    return this.ctx.db.tx(async (q) => {
      await advisoryXactLock(q, 'first-admin', this.ctx.db.schema);
      const r = await q(`select count(*)::int as n from ${this.ctx.s}.admin_tokens`);
      if (r.rows[0].n > 0) return undefined;
      const admin = await q(`select 1 from ${this.ctx.s}.users where name = $1`, [FIRST_ADMIN]);
      const owner: TokenOwner = admin.rowCount ? { user: FIRST_ADMIN } : { pipeline: name };
      const { token, id } = await this.insertToken(q, name, 'admin', owner);
      await this.ctx.audit(q, { kind: 'system', name: 'bootstrap' }, 'token.create', name, { id, role: 'admin', owner: ownerText(owner) });
      return token;
    });
  }

  /** Every token for an admin; the caller's own tokens for anyone else. */
  async listTokens(actor: UserPrincipal): Promise<TokenView[]> {
    const r = await this.ctx.db.query(`select * from ${this.ctx.s}.admin_tokens order by created_at, id`);
    const all = r.rows.map(tokenView);
    return actor.role === 'admin' ? all : all.filter((t) => sameOwner(t.owner, ownOwner(actor)));
  }

  async listAdminTokens(): Promise<AdminTokenView[]> {
    const r = await this.ctx.db.query(`select * from ${this.ctx.s}.admin_tokens where role = 'admin' order by created_at, id`);
    return r.rows.map(tokenView);
  }

  /**
   * Creates a token; returned once, stored as a hash. Its role is at most the creator's (403) and, for a
   * user's token, at most that user's (422). Only an admin may create a token for someone else or a pipeline.
   */
  async issueToken(body: RepoTokenCreate, actor: UserPrincipal): Promise<TokenView & { token: string }> {
    const owner = body.owner ?? ownOwner(actor);
    if (!roleAtLeast(actor.role, body.role)) throw new ApiError(403, `a token cannot carry a higher role than its creator's: you have ${actor.role}, it asks for ${body.role}`, [{ field: 'role', reason: `must be at most ${actor.role}` }]);
    if (!sameOwner(owner, ownOwner(actor)) && actor.role !== 'admin') throw new ApiError(403, `this needs role admin: only an admin may create a token for ${ownerText(owner)}`, [{ field: 'owner', reason: 'must be yourself unless you are an admin' }]);
    return this.ctx.db.tx(async (q) => {
      if ('user' in owner) {
        const u = (await q(`select role, disabled from ${this.ctx.s}.users where name = $1`, [owner.user])).rows[0];
        if (!u) throw new ApiError(422, 'request body refused', [{ field: 'owner.user', reason: `no user ${owner.user}` }]);
        if (u.disabled) throw new ApiError(422, 'request body refused', [{ field: 'owner.user', reason: `user ${owner.user} is disabled` }]);
        if (!roleAtLeast(u.role, body.role)) throw new ApiError(422, 'request body refused', [{ field: 'role', reason: `must be at most ${u.role}, the role of its owner ${owner.user}` }]);
      }
      const taken = await q(`select 1 from ${this.ctx.s}.admin_tokens where name = $1`, [body.name]);
      if (taken.rowCount) throw new ApiError(409, `a token named ${body.name} exists`, [{ field: 'name', reason: `"${body.name}" is taken` }]);
      const { id, token, row } = await this.insertToken(q, body.name, body.role, owner);
      await this.ctx.audit(q, actor, 'token.create', body.name, { id, role: body.role, owner: ownerText(owner) });
      return { ...tokenView(row), token };
    });
  }

  /** The old admin-token route: an admin token of a pipeline named like the token (e.g. for CI). */
  async issueAdminToken(name: string, actor: UserPrincipal): Promise<TokenView & { token: string }> {
    return this.issueToken({ name, role: 'admin', owner: { pipeline: name } }, actor);
  }

  /** Revokes a token at once: an admin any token, anyone else their own. */
  async revokeToken(id: string, actor: UserPrincipal): Promise<void> {
    await this.ctx.db.tx(async (q) => {
      const t = (await q(`select * from ${this.ctx.s}.admin_tokens where id = $1 for update`, [id])).rows[0];
      if (!t || (actor.role !== 'admin' && !sameOwner(tokenOwner(t), ownOwner(actor)))) throw new ApiError(404, `no token ${id}`);
      await q(`delete from ${this.ctx.s}.admin_tokens where id = $1`, [id]);
      await this.ctx.audit(q, actor, 'token.revoke', t.name, { id, owner: ownerText(tokenOwner(t)) });
    });
  }

  /** The old admin-token route: revokes an admin token, but never the last one. */
  async revokeAdminToken(id: string, actor: AuditActor): Promise<void> {
    await this.ctx.db.tx(async (q) => {
      const all = (await q(`select id, name, owner_user, owner_pipeline from ${this.ctx.s}.admin_tokens where role = 'admin' for update`)).rows;
      const t = all.find((x) => x.id === id);
      if (!t) throw new ApiError(404, `no admin token ${id}`);
      if (all.length === 1) throw new ApiError(409, 'cannot revoke the last admin token');
      await q(`delete from ${this.ctx.s}.admin_tokens where id = $1`, [id]);
      await this.ctx.audit(q, actor, 'token.revoke', t.name, { id, owner: ownerText(tokenOwner(t)) });
    });
  }
}
