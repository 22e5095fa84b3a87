// Runs every compiled test (dist/test/{unit,integration,e2e}/**/*.test.js) with mocha and ends with
// one plain summary line, `tests: N passed, N failed, N skipped`, that CI reads.
// Usage: node scripts/test.mjs [folder-or-file-substring ...] [--grep PATTERN]
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { Mocha } = require('mocha');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
let grep;
const filters = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--grep') grep = args[++i];
  else filters.push(args[i]);
}

function walk(dir, out = []) {
  if (!fs.existsSync(dir)) return out;
  for (const ent of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(dir, ent.name);
    if (ent.isDirectory()) walk(p, out);
    else if (ent.name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const files = ['unit', 'integration', 'e2e']
  .flatMap((d) => walk(path.join(root, 'dist', 'test', d)))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));

const mocha = new Mocha({ reporter: 'spec', timeout: 60_000, slow: 2_000, grep });
mocha.addFile(path.join(root, 'dist', 'test', 'support', 'hooks.js'));
for (const f of files) mocha.addFile(f);

let passed = 0, failed = 0, skipped = 0;
await mocha.loadFilesAsync();
const runner = mocha.run();
runner.on('pass', () => passed++);
runner.on('fail', () => failed++);
runner.on('pending', () => skipped++);
runner.on('end', () => {
  // Give the reporter its last lines, then print the summary CI reads, alone on the last line.
  setImmediate(() => {
    console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
    process.exit(failed > 0 || passed === 0 ? 1 : 0);
  });
});
