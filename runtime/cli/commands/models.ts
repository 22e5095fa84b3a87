// `linesight models`: the model registry from the command line — publish an artifact (resuming an
// interrupted upload), list, show one version, and compare two versions side by side. Exit codes as
// `linesight flows`: 1 when the repository refuses, 2 when it cannot be reached or the command line is wrong.
import type { Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import type { ModelVersionDocument } from '../../repo/client';
import { client, CliError, run as runCommand, withRepoOptions } from './flows';
import type { ModelMetadata } from '../../../contracts/fleet/protocol';

// One client, one error-to-exit-code mapping and the same options for every command that talks to a running
// repository (flows.ts).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const run = (fn: (...args: any[]) => Promise<void>) => runCommand(fn, 'linesight models');

/** `name@version` */
export function parseModelRef(ref: string): { name: string; version: string } {
  const m = /^([a-z0-9][a-z0-9._-]*)@(.+)$/.exec(ref);
  if (!m) throw new CliError(`"${ref}" is not a model reference (name@version)`, 2);
  return { name: m[1]!, version: m[2]! };
}

const show = (v: unknown): string => (v === undefined || v === null ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** Rows `field | a | b` for two model versions: metadata, metrics and classes side by side, changed rows marked. */
export function diffModels(a: ModelVersionDocument, b: ModelVersionDocument): Array<{ field: string; a: string; b: string; changed: boolean }> {
  const rows: Array<{ field: string; a: string; b: string; changed: boolean }> = [];
  const add = (field: string, x: unknown, y: unknown) => rows.push({ field, a: show(x), b: show(y), changed: show(x) !== show(y) });
  for (const f of ['version', 'format', 'bytes', 'sha256', 'publisher', 'createdAt'] as const) add(f, a[f], b[f]);
  const ma = (a.metadata ?? {}) as ModelMetadata;
  const mb = (b.metadata ?? {}) as ModelMetadata;
  const inputKeys = [...new Set([...Object.keys(ma.input ?? {}), ...Object.keys(mb.input ?? {})])].sort();
  for (const k of inputKeys) add(`input.${k}`, ma.input?.[k], mb.input?.[k]);
  const metricKeys = [...new Set([...Object.keys(ma.metrics ?? {}), ...Object.keys(mb.metrics ?? {})])].sort();
  for (const k of metricKeys) add(`metrics.${k}`, ma.metrics?.[k], mb.metrics?.[k]);
  const classes = Math.max(ma.classes?.length ?? 0, mb.classes?.length ?? 0);
  for (let i = 0; i < classes; i++) add(`classes[${i}]`, ma.classes?.[i], mb.classes?.[i]);
  add('dataset', ma.dataset, mb.dataset);
  const rest = [...new Set([...Object.keys(ma), ...Object.keys(mb)])].filter((k) => !['input', 'metrics', 'classes', 'dataset', 'changelog'].includes(k)).sort();
  for (const k of rest) add(k, ma[k], mb[k]);
  add('changelog', a.changelog ?? ma.changelog, b.changelog ?? mb.changelog);
  return rows;
}

export function register(program: Command): void {
  const models = withRepoOptions(program.command('models').description('the model registry: publish, list, show, diff model versions'));

  models
    .command('publish <file>')
    .description('upload a model artifact (streamed, resumable: run it again after a cut and it goes on from where the repository is)')
    .requiredOption('--name <name>', 'model name, e.g. defect-detector')
    .requiredOption('--semver <version>', 'version number (--version is taken by linesight itself)')
    .option('--format <format>', 'artifact format (default: the file extension, else onnx)')
    .option('--metadata <file>', 'JSON metadata: input, classes, metrics, dataset, …')
    .option('--changelog <text>', 'what changed')
    .option('--chunk-mib <n>', 'MiB per request', (v) => Number(v), 64)
    .action(run(async (file: string, o: Record<string, any>, cmd: Command) => { // eslint-disable-line @typescript-eslint/no-explicit-any
      const { api, g } = client(cmd);
      if (!fs.existsSync(file)) throw new CliError(`${file} does not exist`, 2);
      let metadata: ModelMetadata | undefined;
      if (o.metadata) {
        try {
          metadata = JSON.parse(fs.readFileSync(o.metadata, 'utf8'));
        } catch (err) {
          throw new CliError(`${o.metadata} is not valid JSON: ${(err as Error).message}`, 2);
        }
      }
      const format = o.format ?? (path.extname(file).slice(1).toLowerCase() || 'onnx');
      let shown = -1;
      const v = await api.publishModel(o.name, file, {
        version: o.semver,
        format,
        ...(metadata ? { metadata } : {}),
        ...(o.changelog ? { changelog: o.changelog } : {}),
        chunkBytes: Math.max(1, o.chunkMib) * 1024 * 1024,
        onProgress: (offset, bytes) => {
          const pct = Math.floor((offset / bytes) * 100);
          if (!g.json && pct !== shown && process.stderr.isTTY) process.stderr.write(`\ruploading ${o.name}@${o.semver}: ${pct}%`);
          shown = pct;
        },
      });
      if (!g.json && process.stderr.isTTY) process.stderr.write('\n');
      if (g.json) return console.log(JSON.stringify(v, null, 2));
      console.log(`published ${v.name}@${v.version} (${v.format}, ${v.bytes} bytes, sha256 ${v.sha256})`);
    }));

  models
    .command('list')
    .description('models and their versions')
    .action(run(async (_o: unknown, cmd: Command) => {
      const { api, g } = client(cmd);
      const list = await api.listModels();
      if (g.json) return console.log(JSON.stringify(list, null, 2));
      if (!list.length) return console.log('no models');
      for (const m of list) console.log(`${m.name.padEnd(28)} latest ${String(m.latest).padEnd(12)} ${m.format.padEnd(6)} versions ${m.versions.join(', ')}`);
    }));

  models
    .command('show <ref>')
    .description('one model version (name@version): metadata, sha256, signature')
    .action(run(async (ref: string, _o: unknown, cmd: Command) => {
      const { api, g } = client(cmd);
      const { name, version } = parseModelRef(ref);
      const v = await api.getModelVersion(name, version);
      if (g.json) return console.log(JSON.stringify(v, null, 2));
      console.log(`${v.name}@${v.version}  ${v.format}, ${v.bytes} bytes, published by ${v.publisher} at ${v.createdAt}`);
      console.log(`sha256     ${v.sha256}`);
      console.log(`signature  ${v.signature}`);
      if (v.changelog) console.log(`changelog  ${v.changelog}`);
      console.log(JSON.stringify(v.metadata, null, 2));
    }));

  models
    .command('diff <a> <b>')
    .description('two model versions side by side (name@a name@b): metadata, metrics, classes')
    .option('--all', 'show unchanged rows too', false)
    .action(run(async (a: string, b: string, o: { all: boolean }, cmd: Command) => {
      const { api, g } = client(cmd);
      const [ra, rb] = [parseModelRef(a), parseModelRef(b)];
      const [va, vb] = await Promise.all([api.getModelVersion(ra.name, ra.version), api.getModelVersion(rb.name, rb.version)]);
      const rows = diffModels(va, vb);
      if (g.json) return console.log(JSON.stringify(rows, null, 2));
      const shown = o.all ? rows : rows.filter((r) => r.changed || r.field === 'version');
      const w = Math.max(...shown.map((r) => r.field.length), 5);
      const wa = Math.min(40, Math.max(...shown.map((r) => r.a.length), a.length));
      console.log(`${''.padEnd(w)}   ${a.padEnd(wa)}   ${b}`);
      for (const r of shown) console.log(`${r.changed ? '*' : ' '} ${r.field.padEnd(w)} ${r.a.padEnd(wa)}   ${r.b}`);
    }));
}
