// Build: generate JSON Schemas from the `*.schema.ts` interfaces (the one source of truth for configs
// and message contracts), transpile every TypeScript source to dist/ with esbuild (fast, per file), copy
// the assets (node `locales/` included, where Node-RED looks for catalogs and help) beside the compiled
// nodes, bundle browser-side code, and generate each node's editor HTML from its `<node>.editor.ts`
// (form rows + behaviour) with `defaults` computed from its config schema.
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
// Schemas first: the editor bundles inline them.
await generateSchemas();
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

// The fleet console the repository serves at / (runtime/repo/console): preact + uPlot, TSX, one script and
// one stylesheet (its CSS imports, uPlot's included), bundled from the package so it works air-gapped.
const consoleEntry = path.join(root, 'runtime', 'repo', 'console', 'main.tsx');
if (fs.existsSync(consoleEntry)) {
  await build({
    entryPoints: { console: consoleEntry },
    outdir: path.join(dist, 'runtime', 'repo', 'console', 'bundle'),
    bundle: true,
    minify: true,
    sourcemap: 'linked',
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    jsx: 'automatic',
    jsxImportSource: 'preact',
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

const editors = await generateEditors();
mergeKitCatalogs();
// Last, so the palette receives what every step above produced.
const palette = packagePalette();
console.error(`build: ${serverTs.length} modules, ${browserTs.length + (fs.existsSync(consoleEntry) ? 1 : 0)} browser bundles, ${editors} generated editors, ${assets.length} assets, palette ${palette.files} files in ${Date.now() - t0} ms`);

// `import schema from 'linesight-schema:PlcReadConfig'` in editor code: the generated JSON Schema.
function schemaModules() { return {
  name: 'linesight-schema',
  setup(b) {
    b.onResolve({ filter: /^linesight-schema:/ }, (args) => ({ path: path.join(dist, 'schemas', `${args.path.slice('linesight-schema:'.length)}.json`) }));
  },
}; }

// Editors: a node with `<node>.editor.ts` gets its editor HTML generated. The form is rendered from the
// module's rows (texts from the English catalog, controls from the schema), and the browser script
// registers the node with `defaults` computed from the config schema named in the adapter's
// `defineNode` call. A hand-written `<node>.html` beside it (extra scripts) is kept in front.
async function generateEditors() {
  const require = createRequire(import.meta.url);
  const { renderTemplate } = require(path.join(dist, 'nodes', 'kit', 'editor', 'form.js'));
  const kitCatalog = readJson(path.join(root, 'nodes', 'kit', 'editor', 'locales', 'en-US', 'kit.json'));
  let count = 0;
  for (const specFile of files.filter((f) => f.endsWith('.editor.ts'))) {
    const dir = path.dirname(specFile);
    const type = path.basename(specFile, '.editor.ts');
    const adapter = fs.readFileSync(path.join(dir, `${type}.ts`), 'utf8');
    const schemaName = /configSchema:\s*'(\w+)'/.exec(adapter)?.[1];
    if (!schemaName) throw new Error(`${type}: no configSchema in the defineNode call of ${type}.ts`);
    const schema = readJson(path.join(dist, 'schemas', `${schemaName}.json`));
    const { editor } = require(path.join(dist, path.relative(root, dir), `${type}.editor.js`));
    const catalog = { ...readJson(path.join(dir, 'locales', 'en-US', `${type}.json`)), kit: kitCatalog.kit };
    const template = renderTemplate({ type, config: editor.category === 'config', schema, credentials: editor.credentials, rows: editor.rows, catalog, readInclude: (file) => fs.readFileSync(path.join(dir, file), 'utf8') });
    const bundle = await build({
      stdin: {
        contents: `import { editor } from './${type}.editor';\nimport schema from 'linesight-schema:${schemaName}';\nimport { registerEditor } from '${path.relative(dir, path.join(root, 'nodes', 'kit', 'editor', 'node-editor')).replaceAll(path.sep, '/')}';\nregisterEditor(editor, schema);\n`,
        resolveDir: dir,
        loader: 'ts',
      },
      bundle: true,
      write: false,
      format: 'iife',
      platform: 'browser',
      target: 'es2020',
      plugins: [schemaModules()],
      logLevel: 'warning',
    });
    const dest = path.join(dist, path.relative(root, dir), `${type}.html`);
    const handWritten = fs.existsSync(path.join(dir, `${type}.html`)) ? fs.readFileSync(dest, 'utf8') : '';
    fs.writeFileSync(dest, `${handWritten}<script type="text/javascript">\n${bundle.outputFiles[0].text}</script>\n\n${template}`);
    count++;
  }
  return count;
}

// Shared form texts live once, in the kit's catalog; each node's catalog in dist carries them under `kit`.
function mergeKitCatalogs() {
  const kitDir = path.join(root, 'nodes', 'kit', 'editor', 'locales');
  for (const lang of fs.existsSync(kitDir) ? fs.readdirSync(kitDir) : []) {
    const kit = readJson(path.join(kitDir, lang, 'kit.json')).kit;
    for (const catalogFile of walk(path.join(dist, 'nodes')).filter((f) => f.includes(`${path.sep}locales${path.sep}${lang}${path.sep}`) && f.endsWith('.json') && !f.includes(`${path.sep}kit${path.sep}`))) {
      const catalog = readJson(catalogFile);
      fs.writeFileSync(catalogFile, JSON.stringify({ ...catalog, kit }, null, 2));
    }
  }
}

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

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
    // nodeType: the config-node type a property refers to (`@nodeType plc-endpoint`), for the editor.
    validationKeywords: ['examples', 'propertyNames', 'patternProperties', 'nodeType'],
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
