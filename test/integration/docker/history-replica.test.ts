// The multi-plant database of docker/compose.scale.yaml, run with this machine's PostgreSQL binaries instead
// of the TimescaleDB image: a private primary (port 5440) started with the compose file's own server options
// and initialised by docker/scale/primary-init.sh as it is, and a private streaming replica (port 5441) made
// by docker/scale/replica-start.sh as it is (pg_basebackup -R, then a hot standby). A timescale-sink writes
// into the primary as the compose workers' user; `linesight history serve`, with the compose file's command,
// reads the replica as the SELECT-only history_reader and finds what was written; writes are refused by the
// API, by the standby and by the role itself (also on tables the sink made after the role).
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import yaml from 'js-yaml';
import { Client } from 'pg';
import { PACKAGE_ROOT } from '../../../runtime/paths';
import { inspection, openSink } from '../history/support';
import { tempDir } from '../../support/runtime-process';
import { freePort } from '../../support/services';
import { waitFor } from '../../support/wait';

const SCALE = path.join(PACKAGE_ROOT, 'docker', 'scale');
const BIN = path.join(PACKAGE_ROOT, 'bin', 'linesight.js');
const PRIMARY_PORT = 5440;
const REPLICA_PORT = 5441;

/** The newest local PostgreSQL server binaries (Debian's postgresql-NN), if any. */
function pgBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return undefined;
  const versions = fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'pg_basebackup'))).sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(root, versions[0]!, 'bin') : undefined;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

type ComposeService = { command?: string[]; environment?: Record<string, string> };
const scaleCompose = () => (yaml.load(fs.readFileSync(path.join(PACKAGE_ROOT, 'docker', 'compose.scale.yaml'), 'utf8')) as { services: Record<string, ComposeService> }).services;

describe('docker/scale: PostgreSQL primary + streaming replica, the history API on the replica', function () {
  this.timeout(240_000);
  const binDir = pgBinDir();
  const asRoot = process.getuid?.() === 0;
  const secrets = { POSTGRES_PASSWORD: crypto.randomBytes(12).toString('hex'), REPLICATION_PASSWORD: crypto.randomBytes(12).toString('hex'), HISTORY_PASSWORD: crypto.randomBytes(12).toString('hex') };
  let dir = '';
  const servers: ChildProcess[] = [];
  let output = '';
  let history: ChildProcess | undefined;

  /** Runs as the postgres user when this process is root (PostgreSQL refuses to run as root). */
  const asPostgres = (cmd: string, args: string[]): [string, string[]] => (asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]);
  const env = (more: Record<string, string>) => ({ ...process.env, PATH: `${binDir}:${process.env.PATH}`, ...more });
  const run = (cmd: string, args: string[], more: Record<string, string> = {}) => {
    const [c, a] = asPostgres(cmd, args);
    return execFileSync(c, a, { env: env(more), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  };
  const start = (what: string, cmd: string, args: string[], more: Record<string, string>) => {
    const [c, a] = asPostgres(cmd, args);
    const p = spawn(c, a, { env: env(more), stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout!.on('data', (d) => (output += `[${what}] ${d}`));
    p.stderr!.on('data', (d) => (output += `[${what}] ${d}`));
    servers.push(p);
    return p;
  };
  const url = (user: string, password: string, port: number) => `postgres://${user}:${password}@127.0.0.1:${port}/linesight`;
  const ready = (port: number, what: string) =>
    waitFor(`${what} to accept connections on ${port}`, async () => {
      const exited = servers.find((s) => s.exitCode !== null);
      if (exited) throw new Error(`a server exited ${exited.exitCode}:\n${output}`);
      const c = new Client({ connectionString: url('linesight', secrets.POSTGRES_PASSWORD, port), connectionTimeoutMillis: 2000 });
      try {
        await c.connect();
        return (await c.query('select pg_is_in_recovery() as standby')).rows[0] as { standby: boolean };
      } catch {
        return undefined;
      } finally {
        await c.end().catch(() => {});
      }
    }, 90_000, 300).catch((err: Error) => {
      throw new Error(`${err.message}; the servers said:\n${output}`);
    });

  before(async function () {
    if (!binDir) {
      console.log('      [skip] no PostgreSQL server binaries under /usr/lib/postgresql (Debian postgresql package)');
      return this.skip();
    }
    for (const port of [PRIMARY_PORT, REPLICA_PORT]) {
      if (!(await portFree(port))) {
        console.log(`      [skip] port ${port} is taken (this test's private clusters use 5440 and 5441)`);
        return this.skip();
      }
    }
    dir = tempDir('linesight-replica-');
    if (asRoot) execFileSync('chown', ['postgres:postgres', dir]);
    const primary = path.join(dir, 'primary');
    const sockets = path.join(dir, 'sockets');
    run('mkdir', ['-m', '0700', primary, sockets]);
    // What the image's entrypoint does: initdb with POSTGRES_USER as the superuser and its password, a
    // pg_hba.conf with password logins for every other host, POSTGRES_DB, then the init scripts.
    fs.writeFileSync(path.join(dir, 'pw'), secrets.POSTGRES_PASSWORD, { mode: 0o600 });
    if (asRoot) execFileSync('chown', ['postgres:postgres', path.join(dir, 'pw')]);
    run('initdb', ['-D', primary, '-U', 'linesight', `--pwfile=${path.join(dir, 'pw')}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8']);
    // 127.0.0.1 stands for the other containers: no loopback trust, only what the image and the script allow.
    run('sh', ['-c', `printf 'local all all trust\\nlocal replication all trust\\nhost all all all scram-sha-256\\n' > ${primary}/pg_hba.conf`]);
    run('sh', ['-c', `printf "listen_addresses = '127.0.0.1'\\nunix_socket_directories = '${sockets}'\\n" >> ${primary}/postgresql.conf`]);
    const command = scaleCompose().timescaledb!.command!;
    assert.equal(command[0], 'postgres', 'the primary runs postgres with options');
    start('primary', 'postgres', ['-D', primary, ...command.slice(1)], { PGPORT: String(PRIMARY_PORT) });
    await waitFor('the primary to start', () => fs.existsSync(path.join(sockets, `.s.PGSQL.${PRIMARY_PORT}`)), 60_000, 200);
    run('createdb', ['-h', sockets, '-p', String(PRIMARY_PORT), '-U', 'linesight', 'linesight']);
    run('sh', [path.join(SCALE, 'primary-init.sh')], { POSTGRES_USER: 'linesight', POSTGRES_DB: 'linesight', PGDATA: primary, PGHOST: sockets, PGPORT: String(PRIMARY_PORT), REPLICATION_PASSWORD: secrets.REPLICATION_PASSWORD, HISTORY_PASSWORD: secrets.HISTORY_PASSWORD });
    // The entrypoint restarts the server after the init scripts; a reload takes the new pg_hba.conf line.
    run('pg_ctl', ['-D', primary, 'reload']);
    assert.deepEqual(await ready(PRIMARY_PORT, 'the primary'), { standby: false });

    const replica = path.join(dir, 'replica');
    run('mkdir', ['-m', '0700', replica]);
    start('replica', 'sh', [path.join(SCALE, 'replica-start.sh')], { PGDATA: replica, PGPASSWORD: secrets.REPLICATION_PASSWORD, PRIMARY_HOST: '127.0.0.1', PRIMARY_PORT: String(PRIMARY_PORT), PGPORT: String(REPLICA_PORT) });
    assert.deepEqual(await ready(REPLICA_PORT, 'the replica'), { standby: true });
    const mode = (fs.statSync(path.join(replica, 'postgresql.auto.conf')).mode & 0o777).toString(8);
    assert.equal(mode, '600', 'the replication password pg_basebackup -R wrote is readable by its owner only');
  });

  after(async () => {
    if (history && history.exitCode === null) {
      const gone = new Promise((r) => history!.once('exit', r));
      history.kill('SIGTERM');
      await gone;
    }
    for (const d of ['replica', 'primary']) {
      if (dir && fs.existsSync(path.join(dir, d, 'postmaster.pid'))) {
        try {
          run('pg_ctl', ['-D', path.join(dir, d), 'stop', '-m', 'fast', '-w']);
        } catch (err) {
          console.log(`      [cleanup] pg_ctl stop ${d}: ${(err as Error).message}`);
        }
      }
    }
    for (const s of servers) if (s.exitCode === null) s.kill('SIGKILL');
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the sink writes into the primary; the history API reads it from the replica as history_reader, and no write gets through', async () => {
    // The workers' DB_URL (as the compose file gives it), pointing at the private primary.
    const doc = yaml.load(fs.readFileSync(path.join(PACKAGE_ROOT, 'docker', 'compose.scale.yaml'), 'utf8')) as Record<string, Record<string, string>>;
    const workerDb = doc['x-worker-env']!.DB_URL!; // every worker's environment merges x-worker-env
    assert.match(workerDb, /^postgres:\/\/linesight:\$\{POSTGRES_PASSWORD\}@timescaledb:5432\/linesight$/);
    const sink = await openSink(url('linesight', secrets.POSTGRES_PASSWORD, PRIMARY_PORT), 'public');
    const rows = Array.from({ length: 30 }, (_, i) => inspection(i));
    try {
      assert.deepEqual(await sink.send(rows), []);
    } finally {
      await sink.close();
    }

    // The history service's command from the compose file, with this machine's host, port and replica.
    const cmd = scaleCompose().history!.command!;
    const port = await freePort();
    const args = cmd.map((a, i) => (cmd[i - 1] === '--host' ? '127.0.0.1' : cmd[i - 1] === '--port' ? String(port) : cmd[i - 1] === '--db' ? a.replace('@timescaledb-replica:5432/', `@127.0.0.1:${REPLICA_PORT}/`) : a));
    assert.ok(args.some((a) => a === `postgres://history_reader@127.0.0.1:${REPLICA_PORT}/linesight`), `the API reads the replica as history_reader, its password from PGPASSWORD: ${args.join(' ')}`);
    let out = '';
    history = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, PGPASSWORD: secrets.HISTORY_PASSWORD }, stdio: ['ignore', 'pipe', 'pipe'] });
    history.stdout!.on('data', (d) => (out += d));
    history.stderr!.on('data', (d) => (out += d));
    const base = `http://127.0.0.1:${port}/api/v1/history`;
    // It starts only when its role cannot write (no --allow-writable-role in the compose command).
    await waitFor('the history API on the replica', async () => {
      if (history!.exitCode !== null) throw new Error(`history serve exited ${history!.exitCode}:\n${out}`);
      return (await fetch(`${base}/openapi.json`).catch(() => undefined))?.ok;
    }, 60_000, 300);
    assert.ok(!out.includes(secrets.HISTORY_PASSWORD), 'the password is not logged');

    const wanted = rows[17]!;
    const found = await waitFor('what the sink wrote to be found through the replica', async () => {
      const r = await fetch(`${base}/search?q=${encodeURIComponent(wanted.productSerial!)}`);
      assert.equal(r.status, 200, await r.clone().text());
      const body = (await r.json()) as { hits: Array<{ inspectionId: string; productSerial: string }> };
      return body.hits.length ? body : undefined;
    }, 30_000, 200);
    assert.equal(found.hits[0]!.inspectionId, wanted.inspectionId);
    const detail = await fetch(`${base}/inspections/${encodeURIComponent(wanted.inspectionId)}`);
    assert.equal(detail.status, 200);
    assert.ok((await detail.text()).includes(wanted.productSerial!), 'the inspection, read from the replica');

    // Writes through the API: refused, naming why.
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const r = await fetch(`${base}/inspections/${encodeURIComponent(wanted.inspectionId)}`, { method });
      assert.equal(r.status, 405, `${method} is refused`);
      assert.match(((await r.json()) as { error: string }).error, /read-only/);
    }
    // Writes as history_reader: the standby refuses any write; the primary refuses this role, also on the
    // tables the sink created after primary-init.sh made the role (its default privileges are SELECT only).
    const tryWrite = async (port: number) => {
      const c = new Client({ connectionString: url('history_reader', secrets.HISTORY_PASSWORD, port) });
      await c.connect();
      try {
        const sel = await c.query('select count(*)::int as n from public.inspections');
        await c.query(`delete from public.inspections where inspection_id = $1`, [wanted.inspectionId]);
        return { read: sel.rows[0].n as number, error: undefined };
      } catch (err) {
        return { read: undefined, error: err as { code?: string; message: string } };
      } finally {
        await c.end();
      }
    };
    const onReplica = await tryWrite(REPLICA_PORT);
    assert.equal(onReplica.error?.code, '25006', `the standby refuses: ${onReplica.error?.message}`); // read_only_sql_transaction
    const onPrimary = await tryWrite(PRIMARY_PORT);
    assert.equal(onPrimary.error?.code, '42501', `the role may not write on the primary: ${onPrimary.error?.message}`); // insufficient_privilege
    const primary = new Client({ connectionString: url('linesight', secrets.POSTGRES_PASSWORD, PRIMARY_PORT) });
    await primary.connect();
    try {
      assert.equal((await primary.query('select count(*)::int as n from public.inspections')).rows[0].n, rows.length, 'nothing was deleted');
    } finally {
      await primary.end();
    }
  });
});
