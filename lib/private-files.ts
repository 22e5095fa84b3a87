// Local secrets stay with the account that runs Linesight: folders holding secrets are 0700, secret files
// 0600, and an older install whose files were made 0644 is put right at start (an upgrade must not leave a
// session token readable by every local user). POSIX modes only; on Windows chmod is a no-op.
import fs from 'node:fs';
import path from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

/**
 * Called for a path whose mode this account may not change (EPERM: another owner, e.g. a Kubernetes
 * volume root owned by root with an fsGroup). Start-up goes on; the caller says so.
 */
export type RefusedChmod = (file: string, err: NodeJS.ErrnoException) => void;

/** Sets `mode` when the current mode differs; a file that vanished meanwhile is fine. Returns true when it changed. */
function setMode(file: string, mode: number, onRefused?: RefusedChmod): boolean {
  try {
    const st = fs.lstatSync(file);
    if (st.isSymbolicLink()) return false;
    if ((st.mode & 0o777) === mode) return false;
    fs.chmodSync(file, mode);
    return true;
  } catch (err) {
    if (isMissing(err)) return false;
    const code = (err as NodeJS.ErrnoException).code;
    if ((code === 'EPERM' || code === 'EACCES') && onRefused) {
      onRefused(file, err as NodeJS.ErrnoException);
      return false;
    }
    throw err;
  }
}

/** Creates `dir` (and parents) if needed and makes `dir` itself 0700, also when it already existed. */
export function ensurePrivateDir(dir: string, onRefused?: RefusedChmod): void {
  fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  setMode(dir, PRIVATE_DIR_MODE, onRefused);
}

/**
 * Writes a secret file atomically (temp file, fsync, rename) with mode 0600 whatever the umask; a file that
 * was there before is replaced, never rewritten in place under its old mode. A missing folder is created
 * 0700; an existing one keeps its mode (it may be the user's working directory).
 */
export function writePrivateFile(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: PRIVATE_DIR_MODE });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w', PRIVATE_FILE_MODE);
  try {
    fs.fchmodSync(fd, PRIVATE_FILE_MODE);
    fs.writeSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/** Makes an existing secret file 0600 (a no-op when absent). Returns true when its mode was changed. */
export function makeFilePrivate(file: string): boolean {
  return setMode(file, PRIVATE_FILE_MODE);
}

/**
 * Makes a whole folder private: the folder and every folder under it 0700, every file 0600. Symbolic
 * links are not followed. Returns the paths whose mode was changed (so a start can say it fixed them).
 */
export function makeTreePrivate(dir: string, onRefused?: RefusedChmod): string[] {
  const changed: string[] = [];
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if (isMissing(err)) return changed;
    throw err;
  }
  if (setMode(dir, PRIVATE_DIR_MODE, onRefused)) changed.push(dir);
  for (const ent of entries) {
    const p = path.join(dir, ent.name);
    if (ent.isDirectory()) changed.push(...makeTreePrivate(p, onRefused));
    else if (ent.isFile() && setMode(p, PRIVATE_FILE_MODE, onRefused)) changed.push(p);
  }
  return changed;
}

/**
 * A Node-RED user directory made private: the directory and every folder in it 0700, every file 0600 —
 * Node-RED's sessions (live admin tokens), node credentials, settings (a generated `_credentialSecret`),
 * the flows (filled-in parameters such as database URLs), Linesight's `.linesight` folder (credential
 * secret, admin login, agent store), and their backups. `node_modules` (installed code, the package link)
 * is left alone.
 */
export function makeUserDirPrivate(userDir: string, onRefused?: RefusedChmod): string[] {
  const changed: string[] = [];
  if (setMode(userDir, PRIVATE_DIR_MODE, onRefused)) changed.push(userDir);
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(userDir, { withFileTypes: true });
  } catch (err) {
    if (isMissing(err)) return changed;
    throw err;
  }
  for (const ent of entries) {
    const p = path.join(userDir, ent.name);
    if (ent.name === 'node_modules') continue;
    if (ent.isDirectory()) changed.push(...makeTreePrivate(p, onRefused));
    else if (ent.isFile() && setMode(p, PRIVATE_FILE_MODE, onRefused)) changed.push(p);
  }
  return changed;
}

/**
 * From now on this process creates files 0600 and folders 0700 (umask 077). Node-RED writes its session,
 * credential and settings files through temporary files and renames, each write a new file, so fixing
 * modes afterwards would not last: the umask is what keeps every rewrite private.
 */
export function restrictProcessUmask(): void {
  process.umask(0o077);
}
