// test/unit mirrors the source tree (test/README.md): the unit test of `nodes/plc-endpoint/tag-codec.ts`
// is in `test/unit/nodes/plc-endpoint/`. A test in a folder that is no source folder, or that tests
// nothing of its folder, fails here with its path, so the mirror stays true as files move.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../../runtime/paths';

const UNIT = 'test/unit';
/** Tests of the whole tree rather than of one folder. */
const WHOLE_TREE = 'test/unit/architecture/';
const IMPORT = /(?:from|import|require\s*\()\s*['"](\.{1,2}\/[^'"]*)['"]/g;

function unitTests(dir = UNIT, out: string[] = []): string[] {
  for (const ent of fs.readdirSync(path.join(PACKAGE_ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${ent.name}`;
    if (ent.isDirectory()) unitTests(rel, out);
    else if (ent.name.endsWith('.test.ts')) out.push(rel);
  }
  return out;
}

/** The source folder a unit test mirrors: test/unit/nodes/plc-read/x.test.ts -> nodes/plc-read. */
export function mirroredFolder(testFile: string): string {
  return path.posix.dirname(testFile.slice(UNIT.length + 1));
}

/** Source folders the test imports from (relative imports resolved against the test's own folder). */
function importedFolders(testFile: string): Set<string> {
  const text = fs.readFileSync(path.join(PACKAGE_ROOT, testFile), 'utf8');
  const out = new Set<string>();
  for (const m of text.matchAll(IMPORT)) out.add(path.posix.dirname(path.posix.normalize(path.posix.join(path.posix.dirname(testFile), m[1]!))));
  return out;
}

describe('test layout: test/unit mirrors the source tree', () => {
  const tests = unitTests().filter((f) => !f.startsWith(WHOLE_TREE));

  it('finds the unit tests', () => assert.ok(tests.length > 50, `${tests.length} unit tests`));

  it('maps a test to the source folder of the same path', () => {
    assert.equal(mirroredFolder('test/unit/nodes/plc-endpoint/tag-codec.test.ts'), 'nodes/plc-endpoint');
    assert.equal(mirroredFolder('test/unit/runtime/repo/rollout.test.ts'), 'runtime/repo');
  });

  it('puts every unit test in the folder of a source folder', () => {
    const stray = tests.filter((f) => {
      const dir = path.join(PACKAGE_ROOT, mirroredFolder(f));
      return !fs.existsSync(dir) || !fs.statSync(dir).isDirectory();
    });
    assert.deepEqual(stray, [], 'tests whose folder mirrors no source folder (move them to test/unit/<source folder>/)');
  });

  it('has every unit test import something from the folder it mirrors', () => {
    const elsewhere = tests.filter((f) => !importedFolders(f).has(mirroredFolder(f)));
    assert.deepEqual(elsewhere, [], 'tests that test nothing of the folder they sit in (move them beside what they test)');
  });
});
