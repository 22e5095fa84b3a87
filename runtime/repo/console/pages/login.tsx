// Sign in: user name and password (a session cookie), or an API token for a shared screen or a script.
import { useState } from 'preact/hooks';
import { describeFailure, type ConsoleApi, type SessionUser } from '../api';
import { Message } from '../components';

export function LoginPage({ api, error, onSignedIn }: { api: ConsoleApi; error?: string; onSignedIn: (u: SessionUser, token?: string) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [failure, setFailure] = useState<string | undefined>(error);
  const [busy, setBusy] = useState(false);

  const run = async (what: () => Promise<SessionUser>, withToken?: string) => {
    setBusy(true);
    setFailure(undefined);
    try {
      onSignedIn(await what(), withToken);
    } catch (err) {
      setFailure(describeFailure(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="login">
      <form
        class="card"
        id="login-form"
        onSubmit={(e) => {
          e.preventDefault();
          void run(() => api.login(username.trim(), password));
        }}
      >
        <h1>
          <b>Linesight</b> fleet console
        </h1>
        <label>
          User name
          <input id="login-username" autocomplete="username" value={username} onInput={(e) => setUsername(e.currentTarget.value)} required autofocus />
        </label>
        <label>
          Password
          <input id="login-password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required />
        </label>
        <Message text={failure} id="login-error" />
        <button class="primary" id="login-submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <details class="token-login">
          <summary>Sign in with an API token</summary>
          <div class="row">
            <input id="login-token" type="password" placeholder="lsa_…" value={token} onInput={(e) => setToken(e.currentTarget.value)} autocomplete="off" />
            <button
              type="button"
              id="login-token-submit"
              disabled={busy || !token}
              onClick={() => void run(() => api.useToken(token.trim()), token.trim())}
            >
              Use token
            </button>
          </div>
          <p class="dim">Kept in this tab only, until you sign out or close it.</p>
        </details>
      </form>
    </div>
  );
}
