// Login sessions: a random id in an HttpOnly cookie, stored hashed, ending after an idle time or at an
// absolute age, whichever comes first; failed logins rate-limited per client address and per user name.
// Everything lives in the database, so replicas behind one address share sessions and limits.
import { checkDecoyPassword, checkPassword, csrfTokenOf, hashToken, newSessionId, type Role, type UserPrincipal } from '../auth';
import { ApiError, type StoreContext } from './context';
import type { UserStore } from './users';

export interface SessionOptions {
  /** A session unused this long ends (default 8 h). */
  idleMs?: number;
  /** A session ends this long after login whatever happens (default 7 days). */
  maxAgeMs?: number;
}

/** Failed logins allowed per window before 429: per client address, and per user name (whoever tries it). */
export const LOGIN_LIMITS = { windowMs: 15 * 60_000, perAddress: 20, perUser: 10 };

/** A session's last use is written at most this often (a page polling every second must not write every second). */
const TOUCH_EVERY_MS = 60_000;

export interface SessionView {
  user: { name: string; role: Role };
  csrfToken: string;
  /** When it ends if unused (idle expiry), never later than its absolute expiry. */
  expiresAt: string;
}

export interface OpenSession extends SessionView {
  /** The cookie value (given once, at login). */
  sessionId: string;
}

/** One generic answer for every failed login: it does not say whether the user exists. */
export const LOGIN_FAILED = 'user name or password is wrong';

export class SessionStore {
  readonly idleMs: number;
  readonly maxAgeMs: number;

  constructor(private readonly ctx: StoreContext, private readonly users: UserStore, opts: SessionOptions = {}) {
    this.idleMs = opts.idleMs ?? 8 * 3600_000;
    this.maxAgeMs = opts.maxAgeMs ?? 7 * 24 * 3600_000;
  }

  private view(sessionId: string, name: string, role: Role, lastSeen: number, expiresAt: number): SessionView {
    return { user: { name, role }, csrfToken: csrfTokenOf(sessionId), expiresAt: new Date(Math.min(lastSeen + this.idleMs, expiresAt)).toISOString() };
  }

  /** Refuses (429, with the seconds to wait) when the address or the user name has failed too often lately. */
  private async checkLimits(username: string, address: string): Promise<void> {
    const since = new Date(this.ctx.now() - LOGIN_LIMITS.windowMs);
    const r = await this.ctx.db.query(
      `select scope, count(*)::int as n, min(at) as oldest from ${this.ctx.s}.login_failures
        where ((scope = 'address' and key = $1) or (scope = 'user' and key = $2)) and at > $3 group by scope`,
      [address, username, since],
    );
    for (const row of r.rows) {
      const limit = row.scope === 'address' ? LOGIN_LIMITS.perAddress : LOGIN_LIMITS.perUser;
      if (row.n >= limit) {
        const retryAfterSeconds = Math.max(1, Math.ceil((new Date(row.oldest).getTime() + LOGIN_LIMITS.windowMs - this.ctx.now()) / 1000));
        const who = row.scope === 'address' ? 'from this address' : 'for this user name';
        throw new ApiError(429, `too many failed logins ${who}; try again in ${retryAfterSeconds} s`, undefined, { retryAfterSeconds });
      }
    }
  }

  private async recordFailure(username: string, address: string, reason: string): Promise<void> {
    const now = this.ctx.nowDate();
    await this.ctx.db.tx(async (q) => {
      await q(`delete from ${this.ctx.s}.login_failures where at <= $1`, [new Date(this.ctx.now() - LOGIN_LIMITS.windowMs)]);
      await q(`insert into ${this.ctx.s}.login_failures (scope, key, at) values ('address', $1, $3), ('user', $2, $3)`, [address, username, now]);
      await this.ctx.audit(q, { kind: 'client', address }, 'session.login-failed', username, { reason });
    });
  }

  /** Checks the password and opens a session; 401 with one message for every failure, 429 when rate-limited. */
  async login(username: string, password: string, address: string): Promise<OpenSession> {
    await this.checkLimits(username, address);
    const row = await this.users.loginRow(this.ctx.db.query, username);
    // bcrypt runs whether or not the user exists, so the answer's time does not tell.
    const ok = row ? await checkPassword(password, row.password_hash) : await checkDecoyPassword(password);
    if (!row || !ok || row.disabled) {
      await this.recordFailure(username, address, !row ? 'unknown user' : !ok ? 'wrong password' : 'user disabled');
      throw new ApiError(401, LOGIN_FAILED);
    }
    const sessionId = newSessionId();
    const now = this.ctx.now();
    const expiresAt = now + this.maxAgeMs;
    const role: Role = await this.ctx.db.tx(async (q) => {
      const user = (await q(`update ${this.ctx.s}.users set last_login_at = $2 where name = $1 and not disabled returning role`, [username, new Date(now)])).rows[0];
      if (!user) throw new ApiError(401, LOGIN_FAILED);
      await q(`insert into ${this.ctx.s}.sessions (id_hash, user_name, created_at, last_seen_at, expires_at) values ($1, $2, $3, $3, $4)`, [hashToken(sessionId), username, new Date(now), new Date(expiresAt)]);
      await q(`delete from ${this.ctx.s}.login_failures where scope = 'user' and key = $1`, [username]);
      // Sessions nobody will present again (ended by age or idleness) go now, so the table stays small.
      await q(`delete from ${this.ctx.s}.sessions where expires_at <= $1 or last_seen_at <= $2`, [new Date(now), new Date(now - this.idleMs)]);
      await this.ctx.audit(q, { kind: 'user', name: username, role: user.role, via: 'session' }, 'session.login', username, { address });
      return user.role;
    });
    return { sessionId, ...this.view(sessionId, username, role, now, expiresAt) };
  }

  /** The session of this cookie value, if it is live and its user enabled; an expired one is deleted. */
  async lookup(sessionId: string | undefined): Promise<{ principal: UserPrincipal; session: SessionView } | undefined> {
    if (!sessionId || sessionId.length > 200) return undefined;
    const idHash = hashToken(sessionId);
    const r = await this.ctx.db.query(
      `select s.last_seen_at, s.expires_at, u.name, u.role, u.disabled from ${this.ctx.s}.sessions s join ${this.ctx.s}.users u on u.name = s.user_name where s.id_hash = $1`,
      [idHash],
    );
    const row = r.rows[0];
    if (!row) return undefined;
    const now = this.ctx.now();
    let lastSeen = new Date(row.last_seen_at).getTime();
    const expiresAt = new Date(row.expires_at).getTime();
    if (row.disabled || now >= expiresAt || now >= lastSeen + this.idleMs) {
      await this.ctx.db.query(`delete from ${this.ctx.s}.sessions where id_hash = $1`, [idHash]);
      return undefined;
    }
    if (now - lastSeen >= TOUCH_EVERY_MS) {
      await this.ctx.db.query(`update ${this.ctx.s}.sessions set last_seen_at = $2 where id_hash = $1`, [idHash, new Date(now)]);
      lastSeen = now;
    }
    return { principal: { kind: 'user', name: row.name, role: row.role, via: 'session' }, session: this.view(sessionId, row.name, row.role, lastSeen, expiresAt) };
  }

  /** Ends a session (logout). */
  async logout(sessionId: string, actor: UserPrincipal): Promise<void> {
    await this.ctx.db.tx(async (q) => {
      await q(`delete from ${this.ctx.s}.sessions where id_hash = $1`, [hashToken(sessionId)]);
      await this.ctx.audit(q, actor, 'session.logout', actor.name);
    });
  }
}
