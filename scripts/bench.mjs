// Runs each compiled benchmark (dist/bench/**/*.bench.js) in its own process, one after another, so one
// benchmark's heap and sockets cannot skew the next. Every benchmark prints JSON lines:
// {"bench","metric","value","unit","baseline","ratio"}. Usage: node scripts/bench.mjs [name-substring ...]
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const filters = process.argv.slice(2);
function walk(dir, out = []) {
  if (!fs.existsSync(dir)) return out;
  for (const ent of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(dir, ent.name);
    if (ent.isDirectory()) walk(p, out);
    else if (ent.name.endsWith('.bench.js')) out.push(p);
  }
  return out;
}
// Every benchmark runs under the node flags a tier runtime runs under (runtime/node-flags.ts), so what is
// measured is the runtime as shipped; the raw-library baselines share the process, and so the flags.
const { initialHeapMiB, runtimeNodeFlags } = createRequire(import.meta.url)(path.join(root, 'dist', 'runtime', 'tier', 'node-flags.js'));
const nodeFlags = runtimeNodeFlags(initialHeapMiB());
console.error(`# node flags: ${nodeFlags.join(' ') || '(none)'}`);
const files = walk(path.join(root, 'dist', 'bench')).filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
let failed = 0;
for (const f of files) {
  console.error(`# ${path.relative(root, f)}`);
  const r = spawnSync(process.execPath, ['--expose-gc', ...nodeFlags, f], { stdio: 'inherit', cwd: root, env: process.env });
  if (r.status !== 0) {
    failed++;
    console.error(`# ${path.relative(root, f)} failed with exit code ${r.status}`);
  }
}
process.exit(failed ? 1 : 0);
