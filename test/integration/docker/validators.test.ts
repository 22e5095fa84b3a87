// docker/ checked by validators other projects wrote, installed from Debian (CI installs them; each test
// skips, saying why, when its tool is missing):
//   - Compose: `docker-compose config` (Debian's docker-compose 1.29, which validates against the Compose
//     specification's JSON schema it ships and resolves anchors, merges and ${VAR:?} guards, no engine needed);
//   - EMQX: the EMQX_* settings parsed as HOCON (what EMQX does with each value) by Debian's ruby-hocon, and
//     their keys and values held against EMQX 5.8.6's configuration schema (emqx_schema.erl,
//     emqx_conf_schema.erl: the facts used are listed below); docker/emqx/acl.conf parsed by Erlang itself
//     and each rule held against the rule forms of EMQX 5.8.6's emqx_authz_rule.erl.
// HAProxy and PostgreSQL are checked by running them: repository-lb.test.ts and history-replica.test.ts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { PACKAGE_ROOT } from '../../../runtime/paths';
import { tempDir } from '../../support/runtime-process';

const DOCKER = path.join(PACKAGE_ROOT, 'docker');
const COMPOSE_FILES = fs.readdirSync(DOCKER).filter((f) => /^compose\..*\.yaml$/.test(f)).sort();

function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/bin', '/usr/sbin'])) {
    const p = path.join(dir, cmd);
    if (dir && fs.existsSync(p)) return p;
  }
  return undefined;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): { status: number; out: string } {
  try {
    return { status: 0, out: execFileSync(cmd, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 }) };
  } catch (err) {
    const e = err as { status?: number; stdout?: string; stderr?: string };
    return { status: e.status ?? 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** The variables a compose file insists on (`${VAR:?message}`). */
const requiredVars = (text: string) => [...new Set([...text.matchAll(/\$\{([A-Z0-9_]+):\?/g)].map((m) => m[1]!))].sort();

describe('docker/ files, checked by real validators', function () {
  this.timeout(120_000);

  describe('Compose: docker-compose config', () => {
    const bin = which('docker-compose');
    let dir = '';
    before(function () {
      if (!bin) {
        console.log('      [skip] docker-compose is not installed (apt-get install docker-compose; .ci/run installs it)');
        return this.skip();
      }
      dir = tempDir('linesight-compose-check-');
    });
    after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

    /**
     * docker-compose 1.29 predates the top-level `name:` (Compose v2 reads it; 1.29's bundled schema refuses
     * it as "'name' does not match any of the regexes: '^x-'"): that one line is left out, the rest of the
     * file is validated as it is, with the project directory set to docker/ so relative bind mounts resolve.
     */
    const check = (file: string, env: Record<string, string>) => {
      const text = fs.readFileSync(path.join(DOCKER, file), 'utf8');
      assert.match(text, /^name: linesight-[a-z]+$/m, `${file} names its project`);
      const copy = path.join(dir, file);
      fs.writeFileSync(copy, text.replace(/^name: .*\n/m, ''));
      const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^[A-Z0-9_]+$/.test(k) || !text.includes(`\${${k}`)));
      return run(bin!, ['-f', copy, '--project-directory', DOCKER, 'config'], { ...base, ...env });
    };

    for (const file of COMPOSE_FILES) {
      it(`${file} is a valid Compose file, and refuses to start without each variable it requires`, () => {
        const text = fs.readFileSync(path.join(DOCKER, file), 'utf8');
        const needed = requiredVars(text);
        const env = Object.fromEntries(needed.map((v) => [v, `sample-${v.toLowerCase()}`]));
        const r = check(file, env);
        assert.equal(r.status, 0, `docker-compose config ${file}:\n${r.out}`);
        // Compose's own reading of the file: the same services as ours, every bind-mounted file made absolute
        // under docker/ and present.
        const resolved = yaml.load(r.out) as { services: Record<string, { volumes?: Array<string | { type: string; source: string }> }> };
        const ours = (yaml.load(text) as { services: Record<string, unknown> }).services;
        assert.deepEqual(Object.keys(resolved.services).sort(), Object.keys(ours).sort());
        for (const [name, svc] of Object.entries(resolved.services)) {
          for (const v of svc.volumes ?? []) {
            const source = typeof v === 'string' ? v.split(':')[0]! : v.source;
            if (source.startsWith('/')) assert.ok(fs.existsSync(source) && source.startsWith(DOCKER), `${file} ${name}: bind mount ${source} exists under docker/`);
          }
        }
        for (const v of needed) {
          const without = check(file, Object.fromEntries(Object.entries(env).filter(([k]) => k !== v)));
          assert.notEqual(without.status, 0, `${file} without ${v} is refused`);
          assert.match(without.out, new RegExp(`set ${v}`), `${file} without ${v}: the refusal names it`);
        }
      });
    }

    it('compose.scale.yaml: the merged worker settings are what Compose makes of them', () => {
      const env = Object.fromEntries(requiredVars(fs.readFileSync(path.join(DOCKER, 'compose.scale.yaml'), 'utf8')).map((v) => [v, `sample-${v.toLowerCase()}`]));
      const r = check('compose.scale.yaml', env);
      assert.equal(r.status, 0, r.out);
      const s = (yaml.load(r.out) as { services: Record<string, { environment: Record<string, string>; command: string[] }> }).services;
      // worker-2 overrides one key of the merged x-worker-env and keeps the rest.
      assert.equal(s['worker-1']!.environment.BROKER_URL, 'mqtt://emqx1.scale:1883');
      assert.equal(s['worker-2']!.environment.BROKER_URL, 'mqtt://emqx2.scale:1883');
      assert.equal(s['worker-2']!.environment.DB_URL, s['worker-1']!.environment.DB_URL);
      assert.equal(s['worker-2']!.environment.LINESIGHT_DEVICE_TOKEN, 'sample-worker_2_token');
      assert.equal(s.history!.environment.PGPASSWORD, 'sample-history_password');
      assert.ok(!s.history!.command.join(' ').includes('sample-history_password'), 'the history password is not on the command line');
      for (const r of ['repository-1', 'repository-2']) {
        assert.equal(s[r]!.environment.PGPASSWORD, 'sample-postgres_password');
        assert.ok(!s[r]!.command.join(' ').includes('sample-postgres_password'), `${r}: the database password is not on the command line`);
      }
    });
  });

  describe('EMQX: settings as HOCON against EMQX 5.8.6 configuration schema, acl.conf as Erlang terms', () => {
    const ruby = which('ruby');
    const hoconInstalled = !!ruby && run(ruby, ['-rhocon', '-e', '1']).status === 0;
    const erl = which('erl');

    /**
     * What EMQX 5.8.6 accepts for the keys the compose files set (apps/emqx/src/emqx_schema.erl,
     * apps/emqx_conf/src/emqx_conf_schema.erl at tag v5.8.6). An EMQX_A__B variable sets key a.b.
     */
    const NODE = /^[A-Za-z0-9_-]+@[A-Za-z0-9.-]+$/;
    const SCHEMA: Record<string, (v: unknown) => boolean> = {
      'cluster.discovery_strategy': (v) => ['manual', 'static', 'singleton', 'dns', 'etcd', 'k8s'].includes(v as string),
      'cluster.static.seeds': (v) => Array.isArray(v) && v.length > 0 && v.every((n) => typeof n === 'string' && NODE.test(n)),
      'mqtt.max_mqueue_len': (v) => v === 'infinity' || (Number.isInteger(v) && (v as number) >= 0),
      'mqtt.max_inflight': (v) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535,
      'mqtt.session_expiry_interval': (v) => typeof v === 'string' && /^(\d+(ms|s|m|h|d))+$/.test(v),
      'mqtt.shared_subscription_strategy': (v) => ['random', 'round_robin', 'round_robin_per_group', 'sticky', 'local', 'hash_topic', 'hash_clientid'].includes(v as string),
    };

    /** Every EMQX container's environment, merges resolved by Compose's rule (a service's keys win). */
    function emqxServices(): Array<{ where: string; hostname?: string; env: Record<string, string> }> {
      const out: Array<{ where: string; hostname?: string; env: Record<string, string> }> = [];
      for (const file of COMPOSE_FILES) {
        const doc = yaml.load(fs.readFileSync(path.join(DOCKER, file), 'utf8')) as { services: Record<string, Record<string, unknown>> };
        const merged = (o: unknown): Record<string, unknown> => {
          if (!o || typeof o !== 'object' || Array.isArray(o)) return (o ?? {}) as Record<string, unknown>;
          const r = o as Record<string, unknown>;
          return { ...(r['<<'] ? merged(r['<<']) : {}), ...Object.fromEntries(Object.entries(r).filter(([k]) => k !== '<<')) };
        };
        for (const [name, raw] of Object.entries(doc.services)) {
          const svc = merged(raw);
          if (!/^emqx\/emqx:/.test(String(svc.image))) continue;
          const env = svc.environment;
          const vars = Array.isArray(env) ? Object.fromEntries((env as string[]).map((e) => e.split(/=(.*)/s).slice(0, 2) as [string, string])) : (merged(env) as Record<string, string>);
          out.push({ where: `${file} ${name}`, hostname: svc.hostname as string | undefined, env: Object.fromEntries(Object.entries(vars).filter(([k]) => k.startsWith('EMQX_')).map(([k, v]) => [k, String(v)])) });
        }
      }
      return out;
    }

    it('every EMQX_* value parses as HOCON (Debian ruby-hocon) and is a setting EMQX 5.8.6 accepts', function () {
      if (!hoconInstalled) {
        console.log('      [skip] ruby-hocon is not installed (apt-get install ruby-hocon; .ci/run installs it)');
        return this.skip();
      }
      const dir = tempDir('linesight-hocon-');
      try {
        const services = emqxServices();
        assert.ok(services.length >= 3, `the EMQX services: ${services.map((s) => s.where)}`);
        for (const s of services) {
          const keys: string[] = [];
          const lines: string[] = [];
          for (const [name, value] of Object.entries(s.env)) {
            const key = name.slice('EMQX_'.length).toLowerCase().split('__').join('.');
            // node.name is taken verbatim by EMQX's start script (bin/emqx: `-name $EMQX_NODE__NAME`), not as HOCON.
            if (key === 'node.name') {
              assert.match(value, NODE, `${s.where}: ${name} is an Erlang node name`);
              if (s.hostname) assert.equal(value.split('@')[1], s.hostname, `${s.where}: the node name's host is the container's hostname`);
              continue;
            }
            assert.ok(SCHEMA[key], `${s.where}: ${name} sets ${key}, which this test knows from EMQX 5.8.6's schema`);
            keys.push(key);
            lines.push(`${key} = ${value}`);
          }
          const file = path.join(dir, 'emqx.conf');
          fs.writeFileSync(file, lines.join('\n') + '\n');
          const r = run(ruby!, ['-rhocon', '-rjson', '-e', 'puts JSON.generate(Hocon.load(ARGV[0]))', file]);
          assert.equal(r.status, 0, `${s.where}: the EMQX_* values as HOCON:\n${lines.join('\n')}\n${r.out}`);
          const parsed = JSON.parse(r.out) as Record<string, unknown>;
          for (const key of keys) {
            const value = key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k], parsed);
            assert.ok(SCHEMA[key]!(value), `${s.where}: ${key} = ${JSON.stringify(value)} is not a value EMQX 5.8.6 accepts`);
          }
        }
        // The scale cluster: every seed is a node of the file, and every node is a seed.
        const scale = services.filter((s) => s.where.startsWith('compose.scale.yaml'));
        const nodes = scale.map((s) => s.env.EMQX_NODE__NAME).sort();
        for (const s of scale) assert.deepEqual((JSON.parse(s.env.EMQX_CLUSTER__STATIC__SEEDS!) as string[]).slice().sort(), nodes, `${s.where}: the static seeds are the cluster's nodes`);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('docker/emqx/acl.conf parses as Erlang terms (erl) and every rule has a form EMQX 5.8.6 compiles', function () {
      if (!erl) {
        console.log('      [skip] Erlang is not installed (apt-get install erlang-base; .ci/run installs it)');
        return this.skip();
      }
      // The rule forms of emqx_authz_rule:compile/1 (v5.8.6): {Permission, all} or {Permission, Who, Action, Topics};
      // a {re, ...} pattern must compile as a regular expression.
      const program = `
        {ok, Rules} = file:consult(${JSON.stringify(path.join(DOCKER, 'emqx', 'acl.conf'))}),
        Str = fun(S) -> is_list(S) andalso S =/= [] andalso io_lib:printable_unicode_list(S) end,
        Who = fun(all) -> true;
                 ({K, {re, R}}) when K =:= username; K =:= clientid; K =:= user; K =:= client -> Str(R) andalso element(1, re:compile(R)) =:= ok;
                 ({K, V}) when K =:= username; K =:= clientid; K =:= user; K =:= client; K =:= ipaddr -> Str(V);
                 (_) -> false end,
        Ok = fun({P, all}) -> lists:member(P, [allow, deny]);
                ({P, W, A, T}) -> lists:member(P, [allow, deny]) andalso Who(W) andalso lists:member(A, [publish, subscribe, all]) andalso is_list(T) andalso T =/= [] andalso lists:all(Str, T);
                (_) -> false end,
        io:format("~w~n~w~n~w~n", [length(Rules), [R || R <- Rules, not Ok(R)], lists:last(Rules)]),
        halt().`;
      const r = run(erl, ['-noshell', '-eval', program]);
      assert.equal(r.status, 0, `erl could not read docker/emqx/acl.conf:\n${r.out}`);
      const [count, bad, last] = r.out.trim().split('\n');
      assert.ok(Number(count) >= 6, `rules: ${count}`);
      assert.equal(bad, '[]', 'every rule has a form EMQX compiles');
      assert.equal(last, '{deny,all}', 'the file ends by denying what no rule allowed');
      const text = fs.readFileSync(path.join(DOCKER, 'emqx', 'acl.conf'), 'utf8');
      for (const topic of ['linesight/fleet/${username}/desired', 'linesight/fleet/${username}/state', 'linesight/fleet/+/desired', 'linesight/fleet/+/state']) {
        assert.ok(text.includes(`"${topic}"`), `acl.conf covers ${topic}, as docker/mosquitto/acl does`);
      }
    });
  });
});
