// The console's shell: who is signed in, the navigation, and the page the URL's hash names.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ConsoleApi, describeFailure, type SessionUser } from './api';
import { Message } from './components';
import { href, parseRoute, type Page, type Route } from './router';
import { AuditPage } from './pages/audit';
import { DeployPage, DeploymentPage, DeploymentsPage } from './pages/deployments';
import { DevicePage } from './pages/device';
import { FleetPage } from './pages/fleet';
import { LoginPage } from './pages/login';
import { TemplatePage, TemplatesPage } from './pages/templates';
import { UsersPage } from './pages/users';

const TOKEN_KEY = 'linesight.console.token';

export interface PageProps {
  api: ConsoleApi;
  user: SessionUser;
  route: Route;
}

const NAV: { page: Page; label: string; also?: Page[]; admin?: boolean }[] = [
  { page: 'fleet', label: 'Fleet', also: ['device'] },
  { page: 'deployments', label: 'Deployments', also: ['deployment', 'deploy'] },
  { page: 'templates', label: 'Templates', also: ['template'] },
  { page: 'audit', label: 'Audit log' },
  { page: 'users', label: 'Users & tokens', admin: true },
];

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

export function App() {
  const api = useMemo(() => new ConsoleApi(), []);
  const route = useRoute();
  const [user, setUser] = useState<SessionUser | null | undefined>(undefined);
  const [error, setError] = useState<string>();

  useEffect(() => {
    (async () => {
      const token = sessionStorage.getItem(TOKEN_KEY);
      if (token) return api.useToken(token).catch(() => (sessionStorage.removeItem(TOKEN_KEY), undefined));
      return api.resume();
    })().then((u) => setUser(u ?? null), (err) => (setError(describeFailure(err)), setUser(null)));
  }, [api]);

  // A session that ends (expired, signed out elsewhere, user disabled) shows the login again.
  useEffect(() => {
    api.onSignedOut = () => {
      sessionStorage.removeItem(TOKEN_KEY);
      api.credentials = undefined;
      setError('your session has ended; sign in again');
      setUser(null);
    };
  }, [api]);

  if (user === undefined) return <div class="boot">Loading…</div>;
  if (user === null || route.page === 'login') {
    return (
      <LoginPage
        api={api}
        error={error}
        onSignedIn={(u, token) => {
          if (token) sessionStorage.setItem(TOKEN_KEY, token);
          setError(undefined);
          setUser(u);
          if (route.page === 'login') location.hash = href('fleet');
        }}
      />
    );
  }

  const signOut = async () => {
    sessionStorage.removeItem(TOKEN_KEY);
    await api.logout();
    // The next person starts at the fleet, not on a page of the one who left.
    location.hash = href('fleet');
    setUser(null);
  };
  const props: PageProps = { api, user, route };
  return (
    <div class="shell">
      <nav class="top">
        <a class="brand" href={href('fleet')}>
          <b>Linesight</b> fleet
        </a>
        {NAV.filter((n) => !n.admin || user.role === 'admin').map((n) => (
          <a key={n.page} href={href(n.page)} class={route.page === n.page || n.also?.includes(route.page) ? 'active' : ''} id={`nav-${n.page}`}>
            {n.label}
          </a>
        ))}
        <span class="grow" />
        <span class="who" id="who" title={`signed in as ${user.name} (${user.role})`}>
          {user.name} <span class={`role role-${user.role}`}>{user.role}</span>
        </span>
        <button class="link" id="sign-out" onClick={signOut}>
          Sign out
        </button>
      </nav>
      <main>
        <Message text={error} />
        <Routed {...props} />
      </main>
    </div>
  );
}

function Routed(props: PageProps) {
  const { route } = props;
  switch (route.page) {
    case 'device':
      return <DevicePage key={route.id} {...props} />;
    case 'templates':
      return <TemplatesPage {...props} />;
    case 'template':
      return <TemplatePage key={route.id} {...props} />;
    case 'deployments':
      return <DeploymentsPage {...props} />;
    case 'deployment':
      return <DeploymentPage key={route.id} {...props} />;
    case 'deploy':
      return <DeployPage {...props} />;
    case 'audit':
      return <AuditPage {...props} />;
    case 'users':
      return <UsersPage {...props} />;
    default:
      return <FleetPage {...props} />;
  }
}
