import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensurePrivateDir, makeTreePrivate, makeUserDirPrivate, writePrivateFile } from '../../../lib/private-files';

const mode = (p: string) => (fs.lstatSync(p).mode & 0o777).toString(8);

describe('private files', () => {
  let root: string;
  let umask: number;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-private-'));
    // The most permissive umask: modes must come from the code, not from the environment.
    umask = process.umask(0);
  });
  afterEach(() => {
    process.umask(umask);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('ensurePrivateDir creates 0700 and fixes an existing 0755 folder', () => {
    const fresh = path.join(root, 'a', 'b');
    ensurePrivateDir(fresh);
    assert.equal(mode(fresh), '700');
    const old = path.join(root, 'old');
    fs.mkdirSync(old, { mode: 0o755 });
    ensurePrivateDir(old);
    assert.equal(mode(old), '700');
  });

  it('writePrivateFile writes 0600, replaces a 0644 file with a new 0600 one, and leaves an existing folder alone', () => {
    const dir = path.join(root, 'cwd');
    fs.mkdirSync(dir, { mode: 0o755 });
    const file = path.join(dir, 'token');
    fs.writeFileSync(file, 'old', { mode: 0o644 });
    writePrivateFile(file, 'new');
    assert.equal(fs.readFileSync(file, 'utf8'), 'new');
    assert.equal(mode(file), '600');
    assert.equal(mode(dir), '755', 'a folder it did not create (the working directory) keeps its mode');
    assert.deepEqual(fs.readdirSync(dir), ['token'], 'no temporary file left behind');
    const nested = path.join(root, 'new-dir', 'secret');
    writePrivateFile(nested, 'x');
    assert.equal(mode(path.dirname(nested)), '700');
  });

  it('makeTreePrivate fixes folders and files below, reports what it changed, and does not follow symlinks', () => {
    const tree = path.join(root, 'tree');
    fs.mkdirSync(path.join(tree, 'sub'), { recursive: true, mode: 0o755 });
    fs.writeFileSync(path.join(tree, 'a.json'), '{}', { mode: 0o644 });
    fs.writeFileSync(path.join(tree, 'sub', 'b.pem'), 'k', { mode: 0o640 });
    fs.writeFileSync(path.join(tree, 'ok'), '', { mode: 0o600 });
    const outside = path.join(root, 'outside');
    fs.writeFileSync(outside, '', { mode: 0o644 });
    fs.symlinkSync(outside, path.join(tree, 'link'));
    const changed = makeTreePrivate(tree).map((p) => path.relative(root, p)).sort();
    assert.deepEqual(changed, ['tree', 'tree/a.json', 'tree/sub', 'tree/sub/b.pem']);
    assert.equal(mode(outside), '644', 'the target of a symlink is not touched');
    assert.deepEqual(makeTreePrivate(tree), [], 'a second pass changes nothing');
  });

  it('makeUserDirPrivate leaves node_modules alone', () => {
    const userDir = path.join(root, 'user');
    fs.mkdirSync(path.join(userDir, 'node_modules', 'pkg'), { recursive: true, mode: 0o755 });
    fs.writeFileSync(path.join(userDir, 'node_modules', 'pkg', 'index.js'), '', { mode: 0o644 });
    fs.writeFileSync(path.join(userDir, '.sessions.json'), '{}', { mode: 0o644 });
    fs.mkdirSync(path.join(userDir, '.linesight'), { mode: 0o755 });
    fs.writeFileSync(path.join(userDir, '.linesight', 'credential-secret'), 'x', { mode: 0o644 });
    makeUserDirPrivate(userDir);
    assert.equal(mode(userDir), '700');
    assert.equal(mode(path.join(userDir, '.sessions.json')), '600');
    assert.equal(mode(path.join(userDir, '.linesight')), '700');
    assert.equal(mode(path.join(userDir, '.linesight', 'credential-secret')), '600');
    assert.equal(mode(path.join(userDir, 'node_modules', 'pkg', 'index.js')), '644');
  });

  it('a folder owned by another account (EPERM) is reported and skipped, never a crash at start', () => {
    const userDir = path.join(root, 'volume');
    fs.mkdirSync(userDir, { mode: 0o775 });
    fs.writeFileSync(path.join(userDir, 'flows.json'), '[]', { mode: 0o644 });
    const chmod = fs.chmodSync;
    (fs as { chmodSync: typeof fs.chmodSync }).chmodSync = (p, m) => {
      if (p === userDir) throw Object.assign(new Error(`EPERM: operation not permitted, chmod '${p}'`), { code: 'EPERM' });
      return chmod(p, m);
    };
    try {
      const refused: string[] = [];
      const changed = makeUserDirPrivate(userDir, (file, err) => refused.push(`${file} ${err.code}`));
      assert.deepEqual(refused, [`${userDir} EPERM`]);
      assert.deepEqual(changed, [path.join(userDir, 'flows.json')], 'the files it owns are still fixed');
      assert.throws(() => makeUserDirPrivate(userDir), /EPERM/, 'without a handler the refusal is an error');
    } finally {
      (fs as { chmodSync: typeof fs.chmodSync }).chmodSync = chmod;
    }
  });
});
