// A Mosquitto of the test's own on a free port, so a test can stop it, start it again, require a password
// or serve TLS without disturbing the shared broker other tests use. Keys are generated at test time.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../support/services';
import { tempDir } from '../../support/runtime-process';
import { waitFor } from '../../support/wait';

export const MOSQUITTO = '/usr/sbin/mosquitto';
export const hasMosquitto = fs.existsSync(MOSQUITTO);

export interface PrivateMosquittoOptions {
  /** user -> password; anonymous access is then refused. */
  users?: Record<string, string>;
  /** Serve TLS with a self-signed certificate made now (its CA file is `caFile`). */
  tls?: boolean;
  /** Keep sessions and queued messages across stop/start. */
  persistence?: boolean;
}

export interface PrivateMosquitto {
  url: string;
  port: number;
  dir: string;
  /** With tls: the CA certificate (PEM) the broker's certificate is signed with. */
  caFile?: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  log(): string;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function startPrivateMosquitto(opts: PrivateMosquittoOptions = {}): Promise<PrivateMosquitto> {
  const dir = tempDir('ls-mosq-');
  const port = await freePort();
  const conf: string[] = [`listener ${port} 127.0.0.1`, 'max_queued_messages 0', 'max_inflight_messages 0',
    // Started as root, Mosquitto would drop to the "mosquitto" user, who cannot read this private temp dir.
    `user ${os.userInfo().username}`,
    `log_dest file ${path.join(dir, 'mosquitto.log')}`];
  if (opts.persistence) conf.push('persistence true', `persistence_location ${dir}/`, 'autosave_interval 1');
  if (opts.users) {
    const pw = path.join(dir, 'passwords');
    fs.writeFileSync(pw, '');
    for (const [u, p] of Object.entries(opts.users)) execFileSync('/usr/bin/mosquitto_passwd', ['-b', pw, u, p]);
    fs.chmodSync(pw, 0o600);
    conf.push(`password_file ${pw}`, 'allow_anonymous false');
  } else conf.push('allow_anonymous true');
  let caFile: string | undefined;
  if (opts.tls) {
    caFile = path.join(dir, 'ca.pem');
    const caKey = path.join(dir, 'ca.key');
    const key = path.join(dir, 'server.key');
    const csr = path.join(dir, 'server.csr');
    const crt = path.join(dir, 'server.pem');
    const ext = path.join(dir, 'ext.cnf');
    fs.writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    const ssl = (...a: string[]) => execFileSync('/usr/bin/openssl', a, { stdio: 'ignore' });
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=linesight-test-ca', '-keyout', caKey, '-out', caFile);
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', key, '-out', csr);
    ssl('x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-CAcreateserial', '-days', '1', '-extfile', ext, '-out', crt);
    conf.push(`cafile ${caFile}`, `certfile ${crt}`, `keyfile ${key}`);
  }
  const confFile = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(confFile, conf.join('\n') + '\n');
  let proc: ChildProcess | undefined;
  const m: PrivateMosquitto = {
    url: `${opts.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    port,
    dir,
    caFile,
    async start() {
      if (proc) return;
      proc = spawn(MOSQUITTO, ['-c', confFile], { stdio: 'ignore' });
      const p = proc;
      p.once('exit', () => {
        if (proc === p) proc = undefined;
      });
      await waitFor(`mosquitto on port ${port}`, () => listening(port), 15_000, 50);
    },
    async stop() {
      const p = proc;
      if (!p) return;
      proc = undefined;
      const exited = new Promise<void>((r) => p.once('exit', () => r()));
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
    log: () => {
      try {
        return fs.readFileSync(path.join(dir, 'mosquitto.log'), 'utf8');
      } catch {
        return '';
      }
    },
  };
  await m.start();
  return m;
}
