// Who is asking and what they may do. Bearer tokens (API and device) and session ids are random and stored
// only as sha256 hashes; passwords as bcrypt hashes. The Ed25519 signing key, the first admin token and the
// first admin password live in the data directory, readable by the owner only.
import bcrypt from 'bcryptjs';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { generateSigningKeys, hashToken } from '../../contracts/fleet/protocol';
import { PRIVATE_FILE_MODE, ensurePrivateDir, makeFilePrivate } from '../../lib/private-files';

/** Roles, lowest first: a viewer sees, a deployer changes the fleet, an admin manages people and tokens. */
export const ROLES = ['viewer', 'deployer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Whether `have` is at least `need`. */
export const roleAtLeast = (have: Role, need: Role): boolean => ROLES.indexOf(have) >= ROLES.indexOf(need);
/** The lower of two roles. */
export const lowerRole = (a: Role, b: Role): Role => (roleAtLeast(a, b) ? b : a);

/** Whom an API token belongs to: a person, or a pipeline (CI/CD) that is no person. */
export type TokenOwner = { user: string } | { pipeline: string };

export type UserPrincipal = {
  kind: 'user';
  /** The user's name; for a pipeline's token, the pipeline's name. */
  name: string;
  role: Role;
  via: 'session' | 'token';
  tokenId?: string;
  tokenName?: string;
  owner?: TokenOwner;
};
export type Principal = UserPrincipal | { kind: 'device'; deviceId: string };
/** Who the audit log names: a principal, the repository itself (first start) or an anonymous client. */
export type AuditActor = Principal | { kind: 'system'; name: string } | { kind: 'client'; address: string };

export const ownerText = (owner: TokenOwner): string => ('user' in owner ? `user:${owner.user}` : `pipeline:${owner.pipeline}`);

/** How the audit log names an actor: `user:<name>`, `token:<name>(user:<u>|pipeline:<p>)`, `device:<id>`. */
export function actorText(actor: AuditActor): string {
  switch (actor.kind) {
    case 'device':
      return `device:${actor.deviceId}`;
    case 'system':
      return `system:${actor.name}`;
    case 'client':
      return `client:${actor.address}`;
    case 'user':
      return actor.via === 'token' && actor.owner ? `token:${actor.tokenName}(${ownerText(actor.owner)})` : `user:${actor.name}`;
  }
}

export function newToken(kind: 'api' | 'device'): string {
  return `${kind === 'api' ? 'lsa' : 'lsd'}_${crypto.randomBytes(32).toString('base64url')}`;
}

/** Equal hashes, compared in constant time. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

/** Equal strings, compared in constant time (the CSRF token). */
export function sameSecret(a: string, b: string): boolean {
  const x = crypto.createHash('sha256').update(a).digest();
  const y = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(x, y);
}

export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return m?.[1];
}

export { hashToken };

// ---- passwords and sessions ------------------------------------------------------------------------------

/** The session cookie's name. */
export const SESSION_COOKIE = 'ls_session';

/**
 * bcrypt cost: 10. Only the test suite lowers it, through LINESIGHT_TEST_BCRYPT_COST (4..9), so that
 * hundreds of logins do not take minutes; it can never raise the cost above 10 or lower it below 4.
 */
export function bcryptCost(env: NodeJS.ProcessEnv = process.env): number {
  const t = Number(env.LINESIGHT_TEST_BCRYPT_COST);
  return Number.isInteger(t) && t >= 4 && t < 10 ? t : 10;
}

export const hashPassword = (password: string): Promise<string> => bcrypt.hash(password, bcryptCost());
export const checkPassword = (password: string, hash: string): Promise<boolean> => bcrypt.compare(password, hash);

/** A hash no password matches, compared against when the user is unknown so both take the same time. */
let decoyHash: string | undefined;
export async function checkDecoyPassword(password: string): Promise<false> {
  decoyHash ??= await bcrypt.hash(crypto.randomBytes(16).toString('hex'), bcryptCost());
  await bcrypt.compare(password, decoyHash);
  return false;
}

/** A random password for a new user (24 characters, about 140 bits). */
export const newPassword = (): string => crypto.randomBytes(18).toString('base64url');

/** A new session id (the cookie's value); the database keeps only its hash. */
export const newSessionId = (): string => crypto.randomBytes(32).toString('base64url');

/** The session's CSRF token, derived from its id: a page reads it from GET /session and sends it back. */
export const csrfTokenOf = (sessionId: string): string => crypto.createHmac('sha256', sessionId).update('linesight-csrf').digest('base64url');

/** The value of one cookie in a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Set-Cookie for the session (empty value and Max-Age 0 clears it). */
export function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}${secure ? '; Secure' : ''}`;
}

// ---- keys and first-start secrets ------------------------------------------------------------------------

export interface SigningKeys {
  publicKeyPem: string;
  privateKeyPem: string;
  /** Where the private key is, to say so at start. */
  privateKeyFile: string;
  created: boolean;
}

function writeSecret(file: string, content: string): void {
  fs.writeFileSync(file, content, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  fs.chmodSync(file, PRIVATE_FILE_MODE);
}

/** Loads the signing key pair from the data directory, creating it (0600) on first start. */
export function loadOrCreateSigningKeys(dataDir: string): SigningKeys {
  // 0700 and 0600 also for a data dir an older version (or a copy by hand) left readable.
  ensurePrivateDir(dataDir, () => {}); // createRepoServer warns when the folder is not ours to change
  const privateKeyFile = path.join(dataDir, 'signing-key.pem');
  const publicFile = path.join(dataDir, 'signing-key.pub.pem');
  makeFilePrivate(path.join(dataDir, 'admin-token'));
  makeFilePrivate(path.join(dataDir, 'admin-password'));
  if (fs.existsSync(privateKeyFile)) {
    makeFilePrivate(privateKeyFile);
    const privateKeyPem = fs.readFileSync(privateKeyFile, 'utf8');
    const publicKeyPem = crypto.createPublicKey(privateKeyPem).export({ type: 'spki', format: 'pem' }).toString();
    return { publicKeyPem, privateKeyPem, privateKeyFile, created: false };
  }
  const keys = generateSigningKeys();
  writeSecret(privateKeyFile, keys.privateKeyPem);
  fs.writeFileSync(publicFile, keys.publicKeyPem);
  return { ...keys, privateKeyFile, created: true };
}

/** Writes a first-start secret to `<dataDir>/<name>` (0600), replacing an older one, and returns the file's path. */
function writeFirstSecret(dataDir: string, name: string, secret: string): string {
  const file = path.join(dataDir, name);
  if (fs.existsSync(file)) fs.rmSync(file);
  writeSecret(file, `${secret}\n`);
  return file;
}

/** Writes the first admin token to `<dataDir>/admin-token` (0600) and returns the file's path. */
export const writeAdminTokenFile = (dataDir: string, token: string): string => writeFirstSecret(dataDir, 'admin-token', token);

/** Writes the first admin user's password to `<dataDir>/admin-password` (0600) and returns the file's path. */
export const writeAdminPasswordFile = (dataDir: string, password: string): string => writeFirstSecret(dataDir, 'admin-password', password);
