// Users and API tokens (admin): add a user with a role, change a role, disable, reset a password; issue a
// token with a role (shown once) and revoke one.
import { useEffect, useState } from 'preact/hooks';
import { describeFailure, type Role, type TokenView, type UserView } from '../api';
import type { PageProps } from '../app';
import { Message, Section } from '../components';

const ROLES: Role[] = ['viewer', 'deployer', 'admin'];

/** A token's owner as the audit log names it: a user or a pipeline. */
const ownerText = (owner: unknown): string => {
  if (!owner) return '–';
  if (typeof owner === 'string') return owner;
  const o = owner as { user?: string; pipeline?: string };
  return o.user ? `user ${o.user}` : o.pipeline ? `pipeline ${o.pipeline}` : '–';
};

export function UsersPage({ api, user }: PageProps) {
  const [users, setUsers] = useState<UserView[]>();
  const [tokens, setTokens] = useState<TokenView[]>();
  const [error, setError] = useState<string>();
  const [done, setDone] = useState<string>();
  const [newUser, setNewUser] = useState({ name: '', role: 'viewer' as Role, password: '' });
  const [newToken, setNewToken] = useState({ name: '', role: 'deployer' as Role });
  const [shownToken, setShownToken] = useState<string>();

  const load = () => {
    api.users().then(setUsers, (err) => setError(describeFailure(err)));
    api.tokens().then(setTokens, (err) => setError(describeFailure(err)));
  };
  useEffect(load, []);
  if (user.role !== 'admin') return <div class="page"><Message text={`users and tokens need the admin role; you are ${user.role}`} /></div>;

  const run = async (what: () => Promise<unknown>, message: string) => {
    setError(undefined);
    setDone(undefined);
    try {
      await what();
      setDone(message);
      load();
    } catch (err) {
      setError(describeFailure(err));
    }
  };

  return (
    <div class="page">
      <Message text={error} />
      <Message text={done} tone="good" id="users-done" />
      <Section title="Users" id="users">
        <table class="grid-table" id="user-list">
          <thead>
            <tr>
              <th>User</th>
              <th>Role</th>
              <th>State</th>
              <th>Last sign-in</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(users ?? []).map((u) => (
              <tr key={u.name} data-user={u.name}>
                <td>{u.name}</td>
                <td>
                  <select value={u.role} aria-label={`role of ${u.name}`} onChange={(e) => void run(() => api.updateUser(u.name, { role: e.currentTarget.value as Role }), `${u.name} is now ${e.currentTarget.value}`)}>
                    {ROLES.map((r) => (
                      <option key={r}>{r}</option>
                    ))}
                  </select>
                </td>
                <td>{u.disabled ? <span class="tone-off">disabled</span> : <span class="tone-good">active</span>}</td>
                <td class="dim">{u.lastLoginAt ? new Date(u.lastLoginAt).toLocaleString('en-GB') : 'never'}</td>
                <td class="nowrap">
                  <button onClick={() => void run(() => api.updateUser(u.name, { disabled: !u.disabled }), `${u.name} is ${u.disabled ? 'enabled' : 'disabled'}`)}>{u.disabled ? 'Enable' : 'Disable'}</button>{' '}
                  <button
                    onClick={() => {
                      const password = prompt(`New password for ${u.name}`);
                      if (password) void run(() => api.updateUser(u.name, { password }), `${u.name} has a new password`);
                    }}
                  >
                    Reset password
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <form
          class="filters"
          id="user-add"
          onSubmit={(e) => {
            e.preventDefault();
            void run(() => api.createUser(newUser), `added ${newUser.name} (${newUser.role})`).then(() => setNewUser({ name: '', role: 'viewer', password: '' }));
          }}
        >
          <input id="user-name" placeholder="user name" value={newUser.name} onInput={(e) => setNewUser({ ...newUser, name: e.currentTarget.value })} required />
          <select id="user-role" value={newUser.role} onChange={(e) => setNewUser({ ...newUser, role: e.currentTarget.value as Role })}>
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
          <input id="user-password" type="password" autocomplete="new-password" placeholder="password" value={newUser.password} onInput={(e) => setNewUser({ ...newUser, password: e.currentTarget.value })} required />
          <button id="user-add-submit">Add user</button>
        </form>
      </Section>
      <Section title="API tokens" id="tokens">
        {shownToken ? (
          <div class="msg tone-warn" id="token-once">
            Copy it now, it is not shown again: <code>{shownToken}</code>
          </div>
        ) : null}
        <table class="grid-table" id="token-list">
          <thead>
            <tr>
              <th>Name</th>
              <th>Role</th>
              <th>Owner</th>
              <th>Created</th>
              <th>Last used</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(tokens ?? []).map((t) => (
              <tr key={t.id} data-token={t.name}>
                <td>{t.name}</td>
                <td>{t.role ?? 'admin'}</td>
                <td>{ownerText(t.owner)}</td>
                <td class="dim">{t.createdAt ? new Date(t.createdAt).toLocaleString('en-GB') : ''}</td>
                <td class="dim">{t.lastUsedAt ? new Date(t.lastUsedAt).toLocaleString('en-GB') : 'never'}</td>
                <td>
                  <button class="danger" onClick={() => confirm(`Revoke the token ${t.name}?`) && void run(() => api.revokeToken(t.id), `revoked ${t.name}`)}>
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <form
          class="filters"
          id="token-add"
          onSubmit={(e) => {
            e.preventDefault();
            void run(async () => {
              setShownToken((await api.createToken(newToken)).token);
              setNewToken({ ...newToken, name: '' });
            }, `issued ${newToken.name}`);
          }}
        >
          <input id="token-name" placeholder="token name, e.g. ci-pipeline" value={newToken.name} onInput={(e) => setNewToken({ ...newToken, name: e.currentTarget.value })} required />
          <select id="token-role" value={newToken.role} onChange={(e) => setNewToken({ ...newToken, role: e.currentTarget.value as Role })}>
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
          <button id="token-add-submit">Issue token</button>
        </form>
      </Section>
    </div>
  );
}
