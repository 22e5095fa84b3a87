// Tokens and keys. Admin and device tokens are random bearer tokens stored only as sha256 hashes; the
// Ed25519 signing key and the first admin token live in the data directory, readable by the owner only.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { generateSigningKeys, hashToken } from '../../contracts/fleet/protocol';
import { PRIVATE_FILE_MODE, ensurePrivateDir, makeFilePrivate } from '../../lib/private-files';

export type Principal = { kind: 'admin'; name: string } | { kind: 'device'; deviceId: string };

export function newToken(kind: 'admin' | 'device'): string {
  return `${kind === 'admin' ? 'lsa' : 'lsd'}_${crypto.randomBytes(32).toString('base64url')}`;
}

/** Equal hashes, compared in constant time. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return m?.[1];
}

export { hashToken };

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

/** Writes the first admin token to `<dataDir>/admin-token` (0600) and returns the file's path. */
export function writeAdminTokenFile(dataDir: string, token: string): string {
  const file = path.join(dataDir, 'admin-token');
  if (fs.existsSync(file)) fs.rmSync(file);
  writeSecret(file, `${token}\n`);
  return file;
}
