// No Docker engine runs here, so docker/ is kept honest by reading it and running what the images run:
// every linesight command and flag in a compose file or manifest exists in `linesight ... --help`, every
// environment variable given to a linesight container is read by the code or a flow template, health
// checks hit /healthz on the service's own port, bind-mounted files exist, and the image's default
// command really starts and answers /healthz.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { PACKAGE_ROOT } from '../../../runtime/paths';
import { freePort, freshSchema, dropSchema, mqttService, pgService } from '../../support/services';
import { startChild, type Child } from '../../../runtime/dev/demo/children';
import { RepoClient } from '../../../runtime/repo/client';
import { tempDir } from '../../support/runtime-process';
import { waitFor } from '../../support/wait';

const DOCKER = path.join(PACKAGE_ROOT, 'docker');
const BIN = path.join(PACKAGE_ROOT, 'bin', 'linesight.js');
const COMPOSE_FILES = ['compose.line.yaml', 'compose.factory.yaml', 'compose.cloud.yaml', 'compose.scale.yaml'];

type Service = { image?: string; build?: unknown; command?: string[] | string; environment?: Record<string, string> | string[]; healthcheck?: { test: string[] | string }; volumes?: string[]; ports?: string[] };

/** Resolves YAML merge keys (`<<: *anchor`), which compose supports and js-yaml 5 leaves as a key. */
function resolveMerges(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(resolveMerges);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const base = o['<<'] ? (resolveMerges(o['<<']) as Record<string, unknown>) : {};
    const out: Record<string, unknown> = { ...base };
    for (const [k, val] of Object.entries(o)) if (k !== '<<') out[k] = resolveMerges(val);
    return out;
  }
  return v;
}

function loadCompose(file: string): Record<string, Service> {
  const doc = resolveMerges(yaml.load(fs.readFileSync(path.join(DOCKER, file), 'utf8'))) as { services: Record<string, Service> };
  return doc.services;
}

/** Compose `${VAR:-default}` / `${VAR:?msg}` and Kubernetes `$(VAR)` become a sample value. */
function interpolate(arg: string): string {
  return arg.replace(/\$\{([A-Z0-9_]+)[^}]*\}/g, 'sample-$1').replace(/\$\(([A-Z0-9_]+)\)/g, 'sample-$1');
}

const isLinesight = (s: Service) => typeof s.image === 'string' && /(^|\/)linesight:/.test(s.image);
const commandOf = (s: Service): string[] => (Array.isArray(s.command) ? s.command : String(s.command ?? '').split(/\s+/).filter(Boolean)).map(String);
const envOf = (s: Service): Record<string, string> =>
  Array.isArray(s.environment) ? Object.fromEntries(s.environment.map((e) => e.split('=') as [string, string])) : (s.environment ?? {});

const helpCache = new Map<string, string>();
function help(sub: string[]): string {
  const key = sub.join(' ');
  if (!helpCache.has(key)) helpCache.set(key, execFileSync(process.execPath, [BIN, ...sub, '--help'], { encoding: 'utf8', timeout: 60_000 }));
  return helpCache.get(key)!;
}

/** Subcommand words (before the first flag) and the flags used. */
function splitCommand(cmd: string[]): { sub: string[]; flags: string[] } {
  const first = cmd.findIndex((a) => a.startsWith('-'));
  const sub = first < 0 ? cmd : cmd.slice(0, first);
  return { sub, flags: cmd.filter((a) => /^--[a-z]/.test(a)).map((a) => a.split('=')[0]) };
}

function sourceText(): string {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|js|json)$/.test(e.name) && !e.name.endsWith('.test.ts')) out.push(fs.readFileSync(p, 'utf8'));
    }
  };
  for (const d of ['contracts', 'lib', 'runtime', 'nodes', 'bin', 'editor-plugins', 'flows']) walk(path.join(PACKAGE_ROOT, d));
  return out.join('\n');
}

/** Every linesight container in the compose files and the Kubernetes manifests, with its command and env. */
function linesightContainers(): Array<{ where: string; cmd: string[]; env: Record<string, string>; health?: string; volumes: string[] }> {
  const out: Array<{ where: string; cmd: string[]; env: Record<string, string>; health?: string; volumes: string[] }> = [];
  for (const file of COMPOSE_FILES) {
    for (const [name, svc] of Object.entries(loadCompose(file))) {
      if (!isLinesight(svc)) continue;
      const t = svc.healthcheck?.test;
      out.push({ where: `${file} ${name}`, cmd: commandOf(svc), env: envOf(svc), health: Array.isArray(t) ? t.join(' ') : t, volumes: svc.volumes ?? [] });
    }
  }
  for (const file of fs.readdirSync(path.join(DOCKER, 'k8s'))) {
    for (const doc of yaml.loadAll(fs.readFileSync(path.join(DOCKER, 'k8s', file), 'utf8')) as any[]) {
      for (const c of doc?.spec?.template?.spec?.containers ?? []) {
        const env = Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e.value ?? '']));
        const probe = c.livenessProbe?.httpGet;
        const port = probe && (c.ports ?? []).find((p: any) => p.name === probe.port || p.containerPort === probe.port)?.containerPort;
        out.push({ where: `k8s/${file} ${c.name}`, cmd: (c.args ?? []).map(String), env, health: probe ? `http://127.0.0.1:${port}${probe.path}` : undefined, volumes: [] });
      }
    }
  }
  return out;
}

describe('docker/ files, checked without a Docker engine', function () {
  this.timeout(120_000);

  it('every compose file parses and every linesight container has a command, a health check and data volumes', () => {
    const all = linesightContainers();
    assert.ok(all.length >= 5, `found the linesight containers: ${all.map((c) => c.where)}`);
    for (const c of all) {
      assert.ok(c.cmd.length > 0, `${c.where} has a command`);
      assert.ok(c.health, `${c.where} has a health check`);
      const port = c.cmd[c.cmd.indexOf('--port') + 1];
      assert.ok(c.cmd.includes('--port') && port, `${c.where} sets --port`);
      // The history API has no /healthz; its OpenAPI document answers only once it is serving.
      const probe = c.cmd[0] === 'history' ? 'api/v1/history/openapi\\.json' : 'healthz';
      assert.match(c.health!, new RegExp(`127\\.0\\.0\\.1:${port}/${probe}`), `${c.where}: the health check asks /${probe.replace(/\\/g, '')} on the port it listens on`);
      assert.ok(c.cmd.includes('--host') && c.cmd[c.cmd.indexOf('--host') + 1] === '0.0.0.0', `${c.where} listens on 0.0.0.0 inside the container`);
    }
    const line = loadCompose('compose.line.yaml').runtime;
    assert.deepEqual((line.volumes ?? []).map((v) => v.split(':')[1]).sort(), ['/data', '/outbox'], 'line tier keeps user dir (last good flow) and outbox on volumes');
    const factory = loadCompose('compose.factory.yaml');
    assert.ok(factory.broker && factory.timescaledb && factory.runtime, 'factory tier has broker, TimescaleDB and runtime');
    const cloud = loadCompose('compose.cloud.yaml');
    assert.ok(cloud.broker && cloud.timescaledb && cloud.repository && cloud['worker-1'], 'cloud tier has broker, TimescaleDB, repository and workers');
  });

  it('every subcommand and flag a container runs exists in `linesight ... --help`', () => {
    const missing: string[] = [];
    for (const c of linesightContainers()) {
      const { sub, flags } = splitCommand(c.cmd.map(interpolate));
      let text: string;
      try {
        text = help(sub);
      } catch (err) {
        missing.push(`${c.where}: \`linesight ${sub.join(' ')}\` does not exist (${(err as Error).message.split('\n')[0]})`);
        continue;
      }
      for (const f of flags) if (!new RegExp(`(^|[\\s,])${f}(\\s|,|$|=|<|\\[)`, 'm').test(text)) missing.push(`${c.where}: ${f} is not an option of \`linesight ${sub.join(' ')}\``);
    }
    assert.deepEqual(missing, []);
  });

  it('every environment variable given to a linesight container is read by the code, the Dockerfile or a flow template', () => {
    const src = sourceText() + fs.readFileSync(path.join(DOCKER, 'Dockerfile'), 'utf8');
    const unread: string[] = [];
    for (const c of linesightContainers()) {
      for (const name of Object.keys(c.env)) {
        if (c.cmd.some((a) => a.includes(`$(${name})`))) continue; // Kubernetes expands it into the args
        // node-postgres reads the libpq variables itself (pg/lib/connection-parameters.js: process.env['PG' + key]).
        if (name === 'PGPASSWORD') continue;
        if (!src.includes(`process.env.${name}`) && !src.includes(`env.${name}`) && !src.includes(`\${${name}}`) && !src.includes(`'${name}'`) && !src.includes(`"${name}"`)) unread.push(`${c.where}: ${name}`);
      }
    }
    assert.deepEqual(unread, []);
  });

  it('bind-mounted files exist and the Dockerfile builds in stages and runs as a non-root user', () => {
    for (const file of COMPOSE_FILES) {
      for (const [name, svc] of Object.entries(loadCompose(file))) {
        for (const v of svc.volumes ?? []) {
          const src = v.split(':')[0];
          if (src.startsWith('.')) assert.ok(fs.existsSync(path.join(DOCKER, src)), `${file} ${name}: ${src} exists`);
        }
      }
    }
    const df = fs.readFileSync(path.join(DOCKER, 'Dockerfile'), 'utf8');
    assert.ok((df.match(/^FROM /gm) ?? []).length >= 2, 'multi-stage');
    const user = /^USER\s+(\S+)/m.exec(df);
    assert.ok(user && !/^(root|0)(:|$)/.test(user[1]), 'runs as a non-root user');
    assert.match(df, /^ENTRYPOINT \[.*"linesight"\]/m);
    for (const m of df.matchAll(/^COPY --from=build \/src\/(\S+)/gm)) {
      for (const p of m[0].split(/\s+/).slice(2, -1)) {
        const rel = p.replace(/^\/src\//, '');
        assert.ok(fs.existsSync(path.join(PACKAGE_ROOT, rel)), `the image copies ${rel}, which the build produces`);
      }
    }
  });

  it("runs the image's default command (runtime, line tier) and it answers /healthz", async () => {
    const df = fs.readFileSync(path.join(DOCKER, 'Dockerfile'), 'utf8');
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(df)![1]) as string[];
    const port = await freePort();
    const userDir = tempDir('linesight-docker-');
    const args = cmd.map((a, i) => (cmd[i - 1] === '--port' ? String(port) : cmd[i - 1] === '--user-dir' ? userDir : cmd[i - 1] === '--host' ? '127.0.0.1' : a));
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LINESIGHT_PORT: String(port) } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    try {
      const res = await waitFor(`/healthz of \`linesight ${args.join(' ')}\``, async () => {
        if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${out}`);
        const r = await fetch(`http://127.0.0.1:${port}/healthz`);
        return r.ok ? r.json() : undefined;
      }, 60_000, 200);
      assert.equal((res as { tier: string }).tier, 'line');
      assert.match(out, /password "/, 'outside the demo the editor needs a login: a password is generated and printed once');
      // The Dockerfile HEALTHCHECK is a node one-liner: run it as is.
      const hc = /CMD node -e "(.*)"$/m.exec(df)![1];
      execFileSync(process.execPath, ['-e', hc], { env: { ...process.env, LINESIGHT_PORT: String(port) }, timeout: 30_000 });
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
      fs.rmSync(userDir, { recursive: true, force: true });
    }
  });

  it('runs every compose command for real (repository, then each tier runtime under its agent) and each answers /healthz', async function () {
    this.timeout(300_000);
    const pg = await pgService();
    const mqtt = await mqttService();
    const schema = await freshSchema(pg.url, 'docker_repo');
    const dir = tempDir('linesight-compose-');
    const children: Child[] = [];
    const health = async (port: number, what: string) =>
      waitFor(`/healthz of ${what}`, async () => {
        const r = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(5000) });
        return r.ok ? ((await r.json()) as Record<string, unknown>) : undefined;
      }, 120_000, 500);
    // Container addresses become this machine's: services by URL, listening on 127.0.0.1, free ports, temp dirs.
    const adapt = (cmd: string[], port: number, dataDir: string, repoUrl?: string, device?: string) =>
      cmd.map((a, i) => {
        const flag = cmd[i - 1];
        if (flag === '--host') return '127.0.0.1';
        if (flag === '--port') return String(port);
        if (flag === '--user-dir' || flag === '--data-dir') return dataDir;
        if (flag === '--db') return pg.url;
        if (flag === '--broker') return mqtt.url;
        if (flag === '--repo') return repoUrl!;
        if (flag === '--device') return device!;
        return interpolate(a);
      });
    try {
      const cloud = loadCompose('compose.cloud.yaml');
      const repoPort = await freePort();
      let repoCmd = [...adapt(commandOf(cloud.repository), repoPort, path.join(dir, 'repo')), '--schema', schema];
      if (pg.kind === 'embedded') {
        // The shared embedded PGlite is one session for every connection (no pooled server for a repository
        // of its own): the repository then embeds its own PGlite in its data dir, as it does without --db.
        const i = repoCmd.indexOf('--db');
        repoCmd = [...repoCmd.slice(0, i), ...repoCmd.slice(i + 2)];
        console.log('      [docker] embedded PostgreSQL: the repository runs without --db (its own PGlite)');
      }
      const repo = startChild('repository', repoCmd, { logDir: dir });
      children.push(repo);
      await repo.waitFor(/ready at /, 120_000);
      assert.equal((await health(repoPort, 'the repository')).ok, true);
      const client = new RepoClient({ url: `http://127.0.0.1:${repoPort}`, token: fs.readFileSync(path.join(dir, 'repo', 'admin-token'), 'utf8').trim() });

      const runtimes: Array<[string, Service]> = [
        ['compose.line.yaml runtime', loadCompose('compose.line.yaml').runtime],
        ['compose.factory.yaml runtime', loadCompose('compose.factory.yaml').runtime],
        ['compose.cloud.yaml worker-1', cloud['worker-1']],
      ];
      for (const [where, svc] of runtimes) {
        const cmd = commandOf(svc);
        const tier = cmd[cmd.indexOf('--tier') + 1];
        // Line and factory both take ${DEVICE_ID} from their environment: one id per tier here.
        const device = `${interpolate(cmd[cmd.indexOf('--device') + 1])}-${tier}`;
        const { token } = await client.registerDevice({ id: device, tier: tier as 'line' | 'factory' | 'cloud', pollIntervalSeconds: 5 });
        const port = await freePort();
        const child = startChild(device, adapt(cmd, port, path.join(dir, device), `http://127.0.0.1:${repoPort}`, device), { logDir: dir, env: { LINESIGHT_DEVICE_TOKEN: token, LINESIGHT_CREDENTIAL_SECRET: 'compose-check', LINESIGHT_PORT: String(port) } });
        children.push(child);
        await child.waitFor(new RegExp(`linesight agent for device ${device}`), 120_000);
        assert.equal((await health(port, where)).tier, tier, `${where} answers /healthz as the ${tier} tier`);
      }
      const devices = await waitFor('every device checked in with the repository', async () => {
        const list = await client.listDevices();
        return list.every((d) => d.lastSeen) ? list : undefined;
      }, 60_000, 500);
      assert.equal(devices.length, 3);
    } finally {
      await Promise.allSettled(children.map((c) => c.stop(45_000)));
      await dropSchema(pg.url, schema).catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
