// Build: transpile every TypeScript source to dist/ with esbuild (fast, per file), copy the editor
// assets beside the compiled nodes, bundle browser-side editor code, and generate JSON Schemas from
// the `*.schema.ts` interfaces (the one source of truth for configs and message contracts).
// Type checking is a separate step (`npm run typecheck`), run by `npm test`.
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const SOURCE_DIRS = ['contracts', 'lib', 'nodes', 'runtime', 'editor-plugins', 'test', 'bench'];
const ASSET_EXT = new Set(['.html', '.proto', '.json', '.png', '.svg', '.md', '.py', '.csv', '.jpg', '.jpeg']);

function walk(dir, out = []) {
  if (!fs.existsSync(dir)) return out;
  for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, ent.name);
    if (ent.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

const files = SOURCE_DIRS.flatMap((d) => walk(path.join(root, d)));
const serverTs = files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.endsWith('.browser.ts'));
const browserTs = files.filter((f) => f.endsWith('.browser.ts'));
const assets = files.filter((f) => ASSET_EXT.has(path.extname(f)));

const t0 = Date.now();
await build({
  entryPoints: serverTs,
  outdir: dist,
  outbase: root,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
});

// Browser code for editor forms and plugins: bundled to one IIFE each, beside its source in dist/.
for (const entry of browserTs) {
  const rel = path.relative(root, entry).replace(/\.browser\.ts$/, '.browser.js');
  await build({
    entryPoints: [entry],
    outfile: path.join(dist, rel),
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    logLevel: 'warning',
  });
}

for (const a of assets) {
  const dest = path.join(dist, path.relative(root, a));
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.copyFileSync(a, dest);
}

// Editor HTML may inline a bundled browser script: `<!-- @inline ./x.browser.js -->`.
for (const a of assets.filter((f) => f.endsWith('.html'))) {
  const dest = path.join(dist, path.relative(root, a));
  let html = fs.readFileSync(dest, 'utf8');
  if (!html.includes('@inline')) continue;
  html = html.replace(/<!-- @inline (\S+) -->/g, (_m, rel) => {
    const js = fs.readFileSync(path.join(path.dirname(dest), rel), 'utf8');
    return `<script type="text/javascript">\n${js}\n</script>`;
  });
  fs.writeFileSync(dest, html);
}

// The shipped proto lives at the top level too, so camera vendors find it without digging into dist/.
for (const p of walk(path.join(root, 'proto'))) {
  const dest = path.join(dist, 'proto', path.relative(path.join(root, 'proto'), p));
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.copyFileSync(p, dest);
}

await generateSchemas();
// Last, so the palette receives what every step above produced.
const palette = packagePalette();
console.error(`build: ${serverTs.length} modules, ${browserTs.length} browser bundles, ${assets.length} assets, palette ${palette.files} files in ${Date.now() - t0} ms`);

// JSON Schemas: every exported interface/type in a `*.schema.ts` file becomes dist/schemas/<Name>.json.
// typescript-json-schema needs a full TypeScript program (seconds), so it only reruns when a schema
// source is newer than the last generation.
async function generateSchemas() {
  const schemaFiles = files.filter((f) => f.endsWith('.schema.ts'));
  const outDir = path.join(dist, 'schemas');
  const stamp = path.join(outDir, '.stamp');
  const newest = Math.max(0, ...schemaFiles.map((f) => fs.statSync(f).mtimeMs), fs.statSync(fileURLToPath(import.meta.url)).mtimeMs);
  if (fs.existsSync(stamp) && fs.statSync(stamp).mtimeMs >= newest && !process.env.LINESIGHT_FORCE_SCHEMAS) return;
  const require = createRequire(import.meta.url);
  const TJS = require('typescript-json-schema');
  const program = TJS.getProgramFromFiles(schemaFiles, { strictNullChecks: true, skipLibCheck: true, esModuleInterop: true }, root);
  const generator = TJS.buildGenerator(program, {
    required: true,
    strictNullChecks: true,
    noExtraProps: false,
    defaultProps: true,
    ignoreErrors: false,
    validationKeywords: ['examples', 'propertyNames', 'patternProperties'],
  }, schemaFiles);
  if (!generator) throw new Error('schema generation failed: the *.schema.ts files do not type-check');
  fs.mkdirSync(outDir, { recursive: true });
  const names = new Set();
  for (const sym of generator.getMainFileSymbols(program, schemaFiles)) {
    if (names.has(sym)) throw new Error(`schema name ${sym} is declared twice; schema type names must be unique`);
    names.add(sym);
    const schema = generator.getSchemaForSymbol(sym);
    schema.$id = `linesight:${sym}`;
    fs.writeFileSync(path.join(outDir, `${sym}.json`), JSON.stringify(schema, null, 2));
  }
  fs.writeFileSync(stamp, [...names].sort().join('\n'));
}

// The palette package (packages/palette, published as @linesight/node-red-linesight) holds only its
// package.json, README and licence in git; its compiled files come from the top-level sources here. It gets
// the rooms the nodes and the sidebar plugin run from (contracts, libraries, nodes, editor-plugins) with
// the generated schemas and the proto at the same relative places as in dist/, so the same compiled files
// work in both, and the Import > Examples flows. Never the runtime, tests or benchmarks.
function packagePalette() {
  const paletteDir = path.join(root, 'packages', 'palette');
  const PALETTE_ROOMS = ['contracts', 'lib', 'nodes', 'editor-plugins', 'schemas', 'proto'];
  const paletteDist = path.join(paletteDir, 'dist');
  const examples = path.join(paletteDir, 'examples');
  fs.rmSync(paletteDist, { recursive: true, force: true });
  fs.rmSync(examples, { recursive: true, force: true });
  let count = 0;
  const copy = (from, to) => {
    fs.cpSync(from, to, {
      recursive: true,
      filter: (src) => {
        if (path.basename(src).startsWith('.')) return false; // the schema stamp
        if (fs.statSync(src).isFile()) count++;
        return true;
      },
    });
  };
  for (const room of PALETTE_ROOMS) copy(path.join(dist, room), path.join(paletteDist, room));
  copy(path.join(root, 'examples'), examples);
  return { files: count };
}
