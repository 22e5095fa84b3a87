// Editor/admin API login for a tier runtime. Outside the demo a runtime never starts open: the password
// hash comes from the environment, or a password is generated once, printed once, and kept only hashed.
import bcrypt from 'bcryptjs';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { writePrivateFile } from '../../lib/private-files';

export interface AdminAuthSettings {
  type: 'credentials';
  users: Array<{ username: string; password: string; permissions: string }>;
}

export interface AdminAuthResult {
  settings: AdminAuthSettings;
  /** Set only the first time a password is generated; the caller prints it once. */
  generatedPassword?: string;
  storedAt?: string;
}

export function resolveAdminAuth(userDir: string, env: NodeJS.ProcessEnv = process.env): AdminAuthResult {
  const username = env.LINESIGHT_ADMIN_USER || 'admin';
  const fromEnv = env.LINESIGHT_ADMIN_PASSWORD_HASH;
  if (fromEnv) {
    if (!/^\$2[aby]\$\d{2}\$/.test(fromEnv)) throw new Error('LINESIGHT_ADMIN_PASSWORD_HASH must be a bcrypt hash (see `linesight runtime hash-password`)');
    return { settings: settingsFor(username, fromEnv) };
  }
  const file = path.join(userDir, '.linesight', 'admin.json');
  if (fs.existsSync(file)) {
    const stored = JSON.parse(fs.readFileSync(file, 'utf8')) as { username: string; passwordHash: string };
    return { settings: settingsFor(stored.username, stored.passwordHash) };
  }
  const generatedPassword = crypto.randomBytes(12).toString('base64url');
  const passwordHash = bcrypt.hashSync(generatedPassword, 10);
  writePrivateFile(file, JSON.stringify({ username, passwordHash }, null, 2));
  return { settings: settingsFor(username, passwordHash), generatedPassword, storedAt: file };
}

function settingsFor(username: string, hash: string): AdminAuthSettings {
  return { type: 'credentials', users: [{ username, password: hash, permissions: '*' }] };
}

export function hashPassword(password: string): string {
  return bcrypt.hashSync(password, 10);
}
