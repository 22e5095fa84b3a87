// People: users with a bcrypt password hash and a role, the first admin made on first start, and the rule
// that the repository always keeps one enabled admin. Disabling a user or changing their password ends
// their sessions at once; their tokens stop working because every lookup reads the user row.
import type { RepoUserCreate, RepoUserUpdate } from '../api.schema';
import { hashPassword, type AuditActor, type Role } from '../auth';
import { advisoryXactLock } from '../db';
import { ApiError, iso, type Query, type Row, type StoreContext } from './context';

export interface UserView {
  name: string;
  role: Role;
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
  lastLoginAt: string | null;
}

/** The first admin user's name. */
export const FIRST_ADMIN = 'admin';

/** bcrypt reads at most 72 bytes: a longer password would be cut silently, so it is refused. */
export function passwordProblems(password: string, field = 'password'): { field: string; reason: string }[] {
  return Buffer.byteLength(password, 'utf8') > 72 ? [{ field, reason: 'must be at most 72 bytes in UTF-8 (bcrypt reads no more)' }] : [];
}

export const userView = (r: Row): UserView => ({
  name: r.name,
  role: r.role,
  disabled: r.disabled,
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
  lastLoginAt: iso(r.last_login_at),
});

export class UserStore {
  constructor(private readonly ctx: StoreContext) {}

  /**
   * The first admin user, if there is no user yet: made under a lock, so replicas starting together make one.
   * Returns true when it made it.
   */
  async createFirstAdmin(password: string): Promise<boolean> {
    const hash = await hashPassword(password);
    return this.ctx.db.tx(async (q) => {
      await advisoryXactLock(q, 'first-admin-user', this.ctx.db.schema);
      const r = await q(`select count(*)::int as n from ${this.ctx.s}.users`);
      if (r.rows[0].n > 0) return false;
      const now = this.ctx.nowDate();
      await q(`insert into ${this.ctx.s}.users (name, password_hash, role, created_at, updated_at) values ($1, $2, 'admin', $3, $3)`, [FIRST_ADMIN, hash, now]);
      await this.ctx.audit(q, { kind: 'system', name: 'bootstrap' }, 'user.create', FIRST_ADMIN, { role: 'admin' });
      return true;
    });
  }

  async listUsers(): Promise<UserView[]> {
    const r = await this.ctx.db.query(`select * from ${this.ctx.s}.users order by name`);
    return r.rows.map(userView);
  }

  async getUser(name: string): Promise<UserView | undefined> {
    const r = await this.ctx.db.query(`select * from ${this.ctx.s}.users where name = $1`, [name]);
    return r.rows[0] ? userView(r.rows[0]) : undefined;
  }

  async createUser(body: RepoUserCreate, actor: AuditActor): Promise<UserView> {
    const problems = passwordProblems(body.password);
    if (problems.length) throw new ApiError(422, 'request body refused', problems);
    const hash = await hashPassword(body.password);
    return this.ctx.db.tx(async (q) => {
      const taken = await q(`select 1 from ${this.ctx.s}.users where name = $1`, [body.name]);
      if (taken.rowCount) throw new ApiError(409, `a user named ${body.name} exists`, [{ field: 'name', reason: `"${body.name}" is taken` }]);
      const now = this.ctx.nowDate();
      const r = await q(`insert into ${this.ctx.s}.users (name, password_hash, role, created_at, updated_at) values ($1, $2, $3, $4, $4) returning *`, [body.name, hash, body.role, now]);
      await this.ctx.audit(q, actor, 'user.create', body.name, { role: body.role });
      return userView(r.rows[0]);
    });
  }

  /** Changes role, disabled flag or password; never leaves the repository without an enabled admin (409). */
  async updateUser(name: string, body: RepoUserUpdate, actor: AuditActor): Promise<UserView> {
    const problems = body.password !== undefined ? passwordProblems(body.password) : [];
    if (problems.length) throw new ApiError(422, 'request body refused', problems);
    const hash = body.password !== undefined ? await hashPassword(body.password) : undefined;
    return this.ctx.db.tx(async (q) => {
      // Every admin row locked: two admins demoting each other at once cannot both succeed.
      await advisoryXactLock(q, 'users', this.ctx.db.schema);
      const r = await q(`select * from ${this.ctx.s}.users where name = $1`, [name]);
      const user = r.rows[0];
      if (!user) throw new ApiError(404, `no user ${name}`);
      const role: Role = body.role ?? user.role;
      const disabled: boolean = body.disabled ?? user.disabled;
      if (user.role === 'admin' && !user.disabled && (role !== 'admin' || disabled)) {
        const others = await q(`select count(*)::int as n from ${this.ctx.s}.users where role = 'admin' and not disabled and name <> $1`, [name]);
        if (others.rows[0].n === 0) {
          throw new ApiError(409, `${name} is the last enabled admin; make another user admin first`, [{ field: body.disabled ? 'disabled' : 'role', reason: 'would leave no enabled admin' }]);
        }
      }
      const out = await q(
        `update ${this.ctx.s}.users set role = $2, disabled = $3, password_hash = coalesce($4, password_hash), updated_at = $5 where name = $1 returning *`,
        [name, role, disabled, hash ?? null, this.ctx.nowDate()],
      );
      // A disabled user, or one whose password changed, is logged out everywhere at once.
      if (disabled || hash) await q(`delete from ${this.ctx.s}.sessions where user_name = $1`, [name]);
      const detail: Record<string, unknown> = {};
      if (body.role !== undefined && body.role !== user.role) detail.role = { from: user.role, to: body.role };
      if (body.disabled !== undefined && body.disabled !== user.disabled) detail.disabled = body.disabled;
      if (hash) detail.password = 'changed';
      await this.ctx.audit(q, actor, 'user.update', name, detail);
      return userView(out.rows[0]);
    });
  }

  /** The row a login checks (hash, role, disabled), or undefined. */
  async loginRow(q: Query, name: string): Promise<Row | undefined> {
    return (await q(`select name, password_hash, role, disabled from ${this.ctx.s}.users where name = $1`, [name])).rows[0];
  }
}
