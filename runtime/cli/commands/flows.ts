// `linesight flows`: a client of the flow repository API for people, scripts and CI/CD. Exit code 0 on
// success; 1 when the repository refuses or a deployment fails; 2 when the repository cannot be reached or
// the command line is wrong. Errors go to stderr with every field problem on its own line.
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import fs from 'node:fs';
import type { RepoDeploymentCreate } from '../../repo/api.schema';
import { RepoApiError, RepoClient, type DeploymentView } from '../../repo/client';
import { publishTemplate, readTemplateSource, TemplateSourceError } from '../../repo/templates';
import { diffFlows, formatDiff, ignoringLayout } from '../../../contracts/fleet/flow-diff';
import { writePrivateFile } from '../../../lib/private-files';
import { redactText } from '../../../lib/redact';
import { brokerAclSections } from '../../repo/broker-acl';

/** A failure with its exit code. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

interface GlobalOpts {
  url: string;
  token?: string;
  tokenFile?: string;
  json?: boolean;
}

export function client(cmd: Command): { api: RepoClient; g: GlobalOpts } {
  const g = cmd.optsWithGlobals() as GlobalOpts;
  let token = g.token ?? process.env.LINESIGHT_REPO_TOKEN;
  const file = g.tokenFile ?? process.env.LINESIGHT_REPO_TOKEN_FILE;
  if (!token && file) {
    if (!fs.existsSync(file)) throw new CliError(`token file ${file} does not exist`, 2);
    token = fs.readFileSync(file, 'utf8').trim();
  }
  return { api: new RepoClient({ url: g.url, token }), g };
}

/** Runs an action and turns every failure into a message and an exit code (never a stack trace). */
export function run(fn: (...args: any[]) => Promise<void>, command = 'linesight flows') { // eslint-disable-line @typescript-eslint/no-explicit-any
  return async (...args: unknown[]) => {
    try {
      await fn(...args);
    } catch (err) {
      if (err instanceof RepoApiError) {
        // The repository's message ends with the problems joined by "; ": print them one a line instead.
        const joined = err.problems.map((p) => (p.field ? `${p.field} ${p.reason}` : p.reason)).join('; ');
        const head = joined && err.message.endsWith(`: ${joined}`) ? err.message.slice(0, -joined.length - 2) : err.message;
        console.error(redactText(`${command}: ${head}${err.status ? ` (HTTP ${err.status})` : ''}`));
        for (const p of err.problems) console.error(redactText(`  ${p.field || '(body)'}: ${p.reason}`));
        process.exitCode = err.status === 0 ? 2 : 1;
      } else if (err instanceof CliError || err instanceof TemplateSourceError) {
        console.error(redactText(`${command}: ${err.message}`));
        process.exitCode = err instanceof CliError ? err.exitCode : 2;
      } else {
        // fetch echoes a URL it refuses (`--repo https://user:password@…`): never print its password.
        console.error(redactText(`${command}: ${(err as Error).message}`));
        process.exitCode = 1;
      }
    }
  };
}

function parseRef(ref: string): { slug: string; version?: string } {
  const m = /^([a-z0-9][a-z0-9-]*)(?:@(.+))?$/.exec(ref);
  if (!m) throw new CliError(`"${ref}" is not a template reference (slug or slug@version)`, 2);
  return { slug: m[1]!, version: m[2] };
}

function readJson(file: string): unknown {
  if (!fs.existsSync(file)) throw new CliError(`${file} does not exist`, 2);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(`${file} is not valid JSON: ${(err as Error).message}`, 2);
  }
}

const keyValue = (what: string) => (v: string, prev: Record<string, string> = {}) => {
  const i = v.indexOf('=');
  if (i < 1) throw new InvalidArgumentError(`${what} must be KEY=VALUE`);
  return { ...prev, [v.slice(0, i)]: v.slice(i + 1) };
};
const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number');
  return n;
};
/** Parameter values: numbers and booleans as such, the rest as strings. */
const scalar = (v: string): string | number | boolean => (v === 'true' ? true : v === 'false' ? false : v !== '' && Number.isFinite(Number(v)) ? Number(v) : v);

function printDeployment(d: DeploymentView): void {
  console.log(`deployment ${d.id}: ${d.template}@${d.version}, ${d.strategy}, ${d.state}${d.reason ? ` (${d.reason})` : ''}`);
  if (d.models?.length) console.log(`  models ${d.models.map((m) => `${m.name}@${m.version}`).join(', ')}`);
  if (d.gate?.window) console.log(`  window ${d.gate.window.from}-${d.gate.window.to}${d.gate.window.timezone ? ` ${d.gate.window.timezone}` : ''}`);
  if (d.gate?.lineState) console.log(`  only while ${d.gate.lineState.tag} = ${JSON.stringify(d.gate.lineState.idleValue)}`);
  for (const x of d.devices) {
    const seen = x.deviceState === 'offline' ? ` (offline, last seen ${x.lastSeen ?? 'never'})` : '';
    console.log(`  wave ${x.wave}  ${x.deviceId.padEnd(20)} ${x.state}${seen}${x.reasons.length ? `: ${x.reasons.join('; ')}` : ''}`);
  }
}

/** The options every client of a running repository takes (read by `client`): URL, token or token file, --json. */
export function withRepoOptions(cmd: Command, tokenFileHint = ''): Command {
  return cmd
    .option('--url <url>', 'repository URL (env LINESIGHT_REPO_URL)', process.env.LINESIGHT_REPO_URL ?? 'http://127.0.0.1:1890')
    .option('--token <token>', 'a token with the role the command needs (env LINESIGHT_REPO_TOKEN; prefer --token-file)')
    .option('--token-file <file>', `file holding the token${tokenFileHint} (env LINESIGHT_REPO_TOKEN_FILE)`)
    .option('--json', 'print JSON instead of text', false);
}

export function register(program: Command): void {
  const flows = withRepoOptions(
    program.command('flows').description('client of the flow repository API: list, show, publish, diff, deploy, status, pause, resume, cancel, rollback'),
  );

  flows
    .command('list')
    .description('templates and their versions')
    .action(run(async (_o, cmd: Command) => {
      const { api, g } = client(cmd);
      const ts = await api.listTemplates();
      if (g.json) return console.log(JSON.stringify(ts, null, 2));
      if (!ts.length) return console.log('no templates');
      for (const t of ts) console.log(`${t.slug.padEnd(28)} ${t.tier.padEnd(8)} ${(t.latest ?? '-').padEnd(10)} ${t.versions.length} version(s)  ${t.title}`);
    }));

  flows
    .command('show <ref>')
    .description('a template (slug) or one version with its flow (slug@version)')
    .action(run(async (ref: string, _o, cmd: Command) => {
      const { api, g } = client(cmd);
      const { slug, version } = parseRef(ref);
      if (version) {
        const v = await api.getVersion(slug, version);
        if (g.json) return console.log(JSON.stringify(v, null, 2));
        console.log(`${v.template}@${v.version}  by ${v.author ?? '?'} at ${v.createdAt}`);
        console.log(`sha256    ${v.sha256}\nsignature ${v.signature}`);
        if (v.changelog) console.log(`changelog ${v.changelog}`);
        console.log(JSON.stringify(v.flow, null, 2));
        return;
      }
      const t = await api.getTemplate(slug);
      if (g.json) return console.log(JSON.stringify({ ...t, versionDetails: await api.listVersions(slug) }, null, 2));
      console.log(`${t.slug}: ${t.title} (${t.tier} tier)`);
      if (t.description) console.log(t.description);
      console.log(`parameters: ${JSON.stringify(t.parameters)}`);
      for (const v of await api.listVersions(slug)) console.log(`  ${v.version.padEnd(10)} ${v.createdAt}  ${v.author ?? ''}  ${v.changelog ?? ''}`);
    }));

  flows
    .command('publish <file>')
    .description('publish a version: FILE is a template folder (manifest.json + flow.json), a manifest {slug,title,tier,parameters,version,changelog,flow|flowFile}, or a flow JSON array with --template and --semver')
    .option('--template <slug>', 'template to publish to (a flow file needs it)')
    .option('--semver <version>', 'version number (overrides the manifest; --version is taken by linesight itself)')
    .option('--changelog <text>', 'what changed')
    .option('--author <name>', 'author (default: the token name)')
    .action(run(async (file: string, o: { template?: string; semver?: string; changelog?: string; author?: string }, cmd: Command) => {
      const { api, g } = client(cmd);
      const source = readTemplateSource(file);
      const slug = o.template ?? source.manifest?.slug;
      const version = o.semver ?? source.manifest?.version;
      if (!slug) throw new CliError('which template? give --template or "slug" in a manifest', 2);
      if (!version) throw new CliError('which version? give --semver or "version" in a manifest', 2);
      const onCreated = g.json ? undefined : () => console.log(`created template ${slug}`);
      const { published: v } = await publishTemplate(api, source, { slug, version, changelog: o.changelog, author: o.author, onCreated });
      if (g.json) return console.log(JSON.stringify({ template: v!.template, version: v!.version, sha256: v!.sha256, signature: v!.signature }, null, 2));
      console.log(`published ${v!.template}@${v!.version} sha256 ${v!.sha256}`);
    }));

  flows
    .command('diff <a> <b>')
    .description('node-level difference between two flows, each slug@version or a flow JSON file')
    .option('--layout', 'count moved nodes (x/y) as changes', false)
    .option('--exit-code', 'exit 1 when the flows differ (like git diff --exit-code)', false)
    .action(run(async (a: string, b: string, o: { layout: boolean; exitCode: boolean }, cmd: Command) => {
      const { api, g } = client(cmd);
      const load = async (ref: string): Promise<unknown[]> => {
        if (fs.existsSync(ref)) {
          const c = readJson(ref) as { flow?: unknown[] } | unknown[];
          return Array.isArray(c) ? c : (c.flow ?? []);
        }
        const { slug, version } = parseRef(ref);
        if (!version) throw new CliError(`"${ref}" is neither a file nor slug@version`, 2);
        return (await api.getVersion(slug, version)).flow;
      };
      const all = diffFlows(await load(a), await load(b));
      const d = o.layout ? all : ignoringLayout(all);
      console.log(g.json ? JSON.stringify(d, null, 2) : formatDiff(d, a, b));
      if (o.exitCode && !d.same) process.exitCode = 1;
    }));

  flows
    .command('deploy <ref>')
    .description('deploy slug@version to devices chosen by tier, ids or labels')
    .option('--tier <tier>', 'line | factory | cloud')
    .option('--ids <ids>', 'comma-separated device ids')
    .option('--label <k=v>', 'device label to match (repeatable)', keyValue('--label'))
    .option('--strategy <s>', 'all | canary', 'all')
    .option('--canary <n>', 'devices in the canary wave', int)
    .option('--wave-size <n>', 'devices per later wave (0 = the rest at once)', int)
    .option('--window <from-to>', 'apply only between local times, e.g. 22:00-06:00')
    .option('--timezone <tz>', 'IANA time zone of --window (default: the device clock)')
    .option('--line-state <tag=value>', 'apply only while this PLC tag has this (idle) value')
    .option('--model <name=version>', 'run this model version (pins a model the version declares, or adds one; repeatable)', keyValue('--model'))
    .option('--wait', 'wait until the deployment completes (exit 0) or halts (exit 1)', false)
    .option('--timeout <seconds>', 'give up waiting after this long (exit 1)', int, 600)
    .action(run(async (ref: string, o: Record<string, any>, cmd: Command) => { // eslint-disable-line @typescript-eslint/no-explicit-any
      const { api, g } = client(cmd);
      const { slug, version } = parseRef(ref);
      if (!version) throw new CliError('deploy needs slug@version', 2);
      const body: RepoDeploymentCreate = { template: slug, version, target: {}, strategy: o.strategy };
      if (o.tier) body.target.tier = o.tier;
      if (o.ids) body.target.ids = String(o.ids).split(',').map((s) => s.trim()).filter(Boolean);
      if (o.label) body.target.labels = o.label;
      if (o.canary !== undefined) body.canary = o.canary;
      if (o.waveSize !== undefined) body.waveSize = o.waveSize;
      if (o.model) body.models = o.model;
      if (o.window) {
        const m = /^(\d\d:\d\d)-(\d\d:\d\d)$/.exec(o.window);
        if (!m) throw new CliError('--window must look like 22:00-06:00', 2);
        body.window = { from: m[1]!, to: m[2]!, ...(o.timezone ? { timezone: o.timezone } : {}) };
      }
      if (o.lineState) {
        const [tag, value] = Object.entries(keyValue('--line-state')(o.lineState))[0]!;
        body.lineState = { tag, idleValue: scalar(value) };
      }
      let d = await api.createDeployment(body);
      if (!o.wait) {
        if (g.json) return console.log(JSON.stringify(d, null, 2));
        return printDeployment(d);
      }
      const deadline = Date.now() + o.timeout * 1000;
      while (d.state === 'rolling out' || d.state === 'paused') {
        if (Date.now() > deadline) {
          printDeployment(d);
          throw new CliError(`deployment ${d.id} did not finish within ${o.timeout} s (it is ${d.state})`);
        }
        await new Promise((r) => setTimeout(r, 1000));
        d = await api.getDeployment(d.id);
      }
      if (g.json) console.log(JSON.stringify(d, null, 2));
      else printDeployment(d);
      if (d.state !== 'completed') throw new CliError(`deployment ${d.id} ${d.state}${d.reason ? `: ${d.reason}` : ''}`);
    }));

  flows
    .command('status [deployment]')
    .description('devices and deployments, or one deployment with each device')
    .action(run(async (id: string | undefined, _o, cmd: Command) => {
      const { api, g } = client(cmd);
      if (id) {
        const d = await api.getDeployment(id);
        return g.json ? console.log(JSON.stringify(d, null, 2)) : printDeployment(d);
      }
      const [devices, deployments] = await Promise.all([api.listDevices(), api.listDeployments()]);
      if (g.json) return console.log(JSON.stringify({ devices, deployments }, null, 2));
      console.log('devices:');
      if (!devices.length) console.log('  none registered');
      for (const d of devices) {
        const desired = d.desired ? `${d.desired.template}@${d.desired.version}` : '-';
        const models = d.models?.length ? `  models ${d.models.map((m) => `${m.name}@${m.version}`).join(', ')}` : '';
        console.log(`  ${d.id.padEnd(20)} ${d.tier.padEnd(8)} ${(d.degraded ? `${d.state}/degraded` : d.state).padEnd(12)} running ${d.running ?? '-'}${models}  desired ${desired}  last seen ${d.lastSeen ?? 'never'}`);
        // Why: what a gate waits for, a refused desired state, a failure, the nodes of a degraded device.
        for (const r of d.reasons ?? []) console.log(`  ${''.padEnd(20)} ${r}`);
      }
      console.log('deployments:');
      if (!deployments.length) console.log('  none');
      for (const d of deployments) {
        const counts = Object.entries(d.counts).map(([k, n]) => `${n} ${k}`).join(', ');
        const models = d.models?.length ? ` models ${d.models.map((m) => `${m.name}@${m.version}`).join(', ')}` : '';
        console.log(`  ${d.id}  ${`${d.template}@${d.version}`.padEnd(28)} ${d.strategy.padEnd(7)} ${d.state.padEnd(12)} ${counts}${models}`);
      }
    }));

  const action = (name: 'rollback' | 'pause' | 'resume' | 'cancel', what: string) =>
    flows
      .command(`${name} <deployment>`)
      .description(what)
      .action(run(async (id: string, _o, cmd: Command) => {
        const { api, g } = client(cmd);
        const d =
          name === 'rollback' ? await api.rollbackDeployment(id) : name === 'pause' ? await api.pauseDeployment(id) : name === 'cancel' ? await api.cancelDeployment(id) : await api.resumeDeployment(id);
        if (g.json) console.log(JSON.stringify(d, null, 2));
        else printDeployment(d);
      }));
  action('rollback', "send every device the deployment reached back to its previous version");
  action('pause', 'release no further waves');
  action('resume', 'release waves again');
  action('cancel', 'stop a deployment not yet finished: devices still queued, pending or waiting go back to their previous version');

  const tokenCmd = flows.command('token').description('admin tokens, e.g. one per CI pipeline');
  tokenCmd
    .command('create <name>')
    .description('create a named admin token; prints it once')
    .option('--token-out <file>', 'write the token to this file (0600) instead of printing it')
    .action(run(async (name: string, o: { tokenOut?: string }, cmd: Command) => {
      const { api } = client(cmd);
      const t = await api.createAdminToken(name);
      if (o.tokenOut) {
        writePrivateFile(o.tokenOut, `${t.token}\n`);
        console.log(`admin token ${t.name} (${t.id}) written to ${o.tokenOut}`);
      } else {
        console.log(`admin token ${t.name} (${t.id}), shown once: ${t.token}`);
      }
    }));
  tokenCmd
    .command('list')
    .description('admin token names and ids')
    .action(run(async (_o, cmd: Command) => {
      const { api, g } = client(cmd);
      const ts = await api.listAdminTokens();
      if (g.json) return console.log(JSON.stringify(ts, null, 2));
      for (const t of ts) console.log(`${t.id}  ${t.name.padEnd(20)} ${t.createdAt}`);
    }));
  tokenCmd
    .command('revoke <id>')
    .description('revoke an admin token at once')
    .action(run(async (id: string, _o, cmd: Command) => {
      const { api } = client(cmd);
      await api.revokeAdminToken(id);
      console.log(`revoked admin token ${id}`);
    }));

  flows
    .command('register <device>')
    .description("register a device; prints its token once (give it to the device's agent)")
    .requiredOption('--tier <tier>', 'line | factory | cloud')
    .option('--label <k=v>', 'label (repeatable)', keyValue('--label'))
    .option('--param <k=v>', 'parameter value filled into the flow (repeatable)', keyValue('--param'))
    .option('--poll-interval <seconds>', 'how often its agent checks in', int)
    .option('--token-out <file>', 'write the device token to this file (0600) instead of printing it')
    .action(run(async (id: string, o: Record<string, any>, cmd: Command) => { // eslint-disable-line @typescript-eslint/no-explicit-any
      const { api, g } = client(cmd);
      const params = Object.fromEntries(Object.entries((o.param ?? {}) as Record<string, string>).map(([k, v]) => [k, scalar(v)]));
      const r = await api.registerDevice({ id, tier: o.tier, labels: o.label, parameters: params, pollIntervalSeconds: o.pollInterval });
      if (o.tokenOut) {
        writePrivateFile(o.tokenOut, `${r.token}\n`);
      }
      if (g.json) return console.log(JSON.stringify(o.tokenOut ? { device: r.device } : r, null, 2));
      console.log(`registered ${r.device.id} (${r.device.tier})`);
      console.log(o.tokenOut ? `device token written to ${o.tokenOut}` : `device token (shown once): ${r.token}`);
    }));

  flows
    .command('broker-acl')
    .description('print the per-runtime data-topic sections of the broker ACL for the registered devices (append to docker/mosquitto/acl)')
    .action(run(async (_o, cmd: Command) => {
      const { api } = client(cmd);
      const devices = await api.listDevices();
      process.stdout.write(`# Linesight data topics per runtime, from ${devices.length} registered device(s)\n\n${brokerAclSections(devices)}`);
    }));
}
