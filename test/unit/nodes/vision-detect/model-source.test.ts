import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../../../runtime/paths';
import { modelFromFile, modelFromName, ModelWatcher, type ModelRef } from '../../../../nodes/vision-detect/model-source';
import { waitFor } from '../../../support/wait';

const SHIPPED = path.join(PACKAGE_ROOT, 'models/defect-detector');
const metadata = (version: string) => JSON.parse(fs.readFileSync(path.join(SHIPPED, version, 'model.json'), 'utf8'));

/** Writes current.json the way the agent does: a temporary file renamed over the old one. */
function install(dir: string, version: string, extra: Record<string, unknown> = {}): void {
  const home = path.join(dir, 'defect-detector');
  fs.mkdirSync(home, { recursive: true });
  const tmp = path.join(home, `.current.${process.pid}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify({ name: 'defect-detector', version, file: `${version}/model.onnx`, metadata: metadata(version), ...extra }));
  fs.renameSync(tmp, path.join(home, 'current.json'));
}

describe('vision-detect model-source', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-vd-models-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a file source: model.onnx or its folder, with model.json beside it', () => {
    const a = modelFromFile(path.join(SHIPPED, '1.0.0'));
    const b = modelFromFile(path.join(SHIPPED, '1.0.0', 'model.onnx'));
    assert.equal(a.label, 'defect-detector@1.0.0');
    assert.equal(a.file, b.file);
    assert.throws(() => modelFromFile(dir), /model .*: cannot read .*model\.json: ENOENT/);
  });

  it('a name source: what current.json points at, sha256 included', () => {
    install(dir, '1.1.0', { sha256: 'AB'.repeat(32) });
    const ref = modelFromName(dir, 'defect-detector');
    assert.equal(ref.label, 'defect-detector@1.1.0');
    assert.equal(ref.file, path.join(dir, 'defect-detector', '1.1.0', 'model.onnx'));
    assert.equal(ref.sha256, 'ab'.repeat(32));
  });

  const broken: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a file outside the model folder', { file: '../../etc/model.onnx' }, /"file" \.\.\/\.\.\/etc\/model\.onnx leaves the model's folder/],
    ['a version that disagrees with the metadata', { version: '9.9.9' }, /model defect-detector@9\.9\.9: .* says version 9\.9\.9 but its metadata says 1\.0\.0/],
    ['a bad sha256', { sha256: 'xyz' }, /"sha256" is not 64 hex digits/],
    ['no file', { file: '' }, /has no "file"/],
  ];
  for (const [what, extra, message] of broken) {
    it(`refuses current.json with ${what}`, () => {
      install(dir, '1.0.0', extra);
      assert.throws(() => modelFromName(dir, 'defect-detector'), message);
    });
  }

  it('refuses a name that is a path, and names a model not installed yet', () => {
    assert.throws(() => modelFromName(dir, '../x'), /a model name is one folder name/);
    assert.throws(() => modelFromName(dir, 'defect-detector'), /model defect-detector: cannot read .*current\.json: ENOENT/);
  });

  it('the watcher reports each new version once, an unusable current.json once, and its recovery', async () => {
    install(dir, '1.0.0');
    const changes: string[] = [];
    const errors: string[] = [];
    let recovered = 0;
    const watcher = new ModelWatcher(dir, 'defect-detector', modelFromName(dir, 'defect-detector'), {
      pollMs: 60_000, // fs.watch alone must see the renames
      onChange: (ref: ModelRef) => changes.push(ref.label),
      onError: (err) => errors.push(err.message),
      onRecovered: () => recovered++,
    });
    try {
      install(dir, '1.1.0');
      await waitFor('the switch to 1.1.0', () => changes.length === 1);
      assert.deepEqual(changes, ['defect-detector@1.1.0']);
      watcher.check();
      assert.deepEqual(changes, ['defect-detector@1.1.0'], 'the same pointer is not reported twice');
      fs.writeFileSync(path.join(dir, 'defect-detector', 'current.json'), '{"name": "defect-detector", "file": ');
      await waitFor('the broken pointer', () => errors.length === 1);
      assert.match(errors[0]!, /current\.json is not JSON/);
      install(dir, '1.1.0');
      await waitFor('the recovery', () => recovered === 1);
      assert.deepEqual(changes, ['defect-detector@1.1.0'], 'recovering to the model in use loads nothing');
    } finally {
      watcher.close();
    }
  });

  it('the slow poll finds a change fs.watch could not see (the folder did not exist at start)', async () => {
    const changes: string[] = [];
    const watcher = new ModelWatcher(dir, 'defect-detector', undefined, { pollMs: 50, onChange: (ref) => changes.push(ref.label), onError: () => undefined });
    try {
      install(dir, '1.0.0');
      await waitFor('the poll', () => changes.length === 1);
      assert.deepEqual(changes, ['defect-detector@1.0.0']);
    } finally {
      watcher.close();
    }
  });
});
