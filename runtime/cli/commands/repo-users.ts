// `linesight repo users`: people of a running flow repository, through its API with an admin token (like
// `linesight flows`). A password is read from stdin (--password-stdin) or made at random and printed once.
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import crypto from 'node:crypto';
import { client, CliError, run, withRepoOptions } from './flows';

const ROLES = ['viewer', 'deployer', 'admin'] as const;
type Role = (typeof ROLES)[number];

function parseRole(v: string): Role {
  if (!(ROLES as readonly string[]).includes(v)) throw new InvalidArgumentError(`must be one of ${ROLES.join(', ')}`);
  return v as Role;
}

/** The password piped in (one line; the trailing newline is not part of it). */
async function readPasswordFromStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new CliError('--password-stdin reads the password from a pipe, e.g. `printf %s "$PW" | linesight repo users add ...`', 2);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (!password) throw new CliError('no password on stdin', 2);
  return password;
}

const randomPassword = () => crypto.randomBytes(18).toString('base64url');
const USERS = 'linesight repo users';

export function registerUsers(repo: Command): void {
  const users = withRepoOptions(
    repo.command('users').description('people of a running repository (needs an admin token): add, list, disable, reset-password'),
    ', e.g. <data dir>/admin-token',
  );

  users
    .command('add <name>')
    .description('create a user; without --password-stdin a random password is printed once')
    .requiredOption('--role <role>', `${ROLES.join(' | ')}`, parseRole)
    .option('--password-stdin', 'read the password from stdin', false)
    .action(run(async (name: string, o: { role: Role; passwordStdin: boolean }, cmd: Command) => {
      const { api } = client(cmd);
      const password = o.passwordStdin ? await readPasswordFromStdin() : randomPassword();
      const u = await api.createUser({ name, role: o.role, password });
      console.log(`created user ${u.name} (${u.role})${o.passwordStdin ? '' : `; password, shown once: ${password}`}`);
    }, USERS));

  users
    .command('list')
    .description('users with role, state and last login')
    .action(run(async (_o, cmd: Command) => {
      const { api, g } = client(cmd);
      const list = await api.listUsers();
      if (g.json) return console.log(JSON.stringify(list, null, 2));
      for (const u of list) console.log(`${u.name.padEnd(24)} ${u.role.padEnd(9)} ${(u.disabled ? 'disabled' : 'enabled').padEnd(9)} last login ${u.lastLoginAt ?? 'never'}`);
    }, USERS));

  users
    .command('disable <name>')
    .description('a disabled user cannot log in; their sessions and tokens stop at once')
    .action(run(async (name: string, _o, cmd: Command) => {
      const { api } = client(cmd);
      await api.updateUser(name, { disabled: true });
      console.log(`disabled user ${name}; their sessions ended`);
    }, USERS));

  users
    .command('enable <name>')
    .description('let a disabled user log in again')
    .action(run(async (name: string, _o, cmd: Command) => {
      const { api } = client(cmd);
      await api.updateUser(name, { disabled: false });
      console.log(`enabled user ${name}`);
    }, USERS));

  users
    .command('reset-password <name>')
    .description("set a new password (random, printed once, or from --password-stdin); ends the user's sessions")
    .option('--password-stdin', 'read the password from stdin', false)
    .action(run(async (name: string, o: { passwordStdin: boolean }, cmd: Command) => {
      const { api } = client(cmd);
      const password = o.passwordStdin ? await readPasswordFromStdin() : randomPassword();
      await api.updateUser(name, { password });
      console.log(`new password for ${name}${o.passwordStdin ? ' set' : `, shown once: ${password}`}; their sessions ended`);
    }, USERS));
}
