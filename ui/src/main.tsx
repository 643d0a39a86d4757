// The Tabula web console: login with an API token, then the rack, hosts, networks and templates.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, api, describe, forgetToken, onUnauthorized, storeToken, storedToken } from './api';
import { HostPage } from './host';
import { NetworksPage } from './networks';
import { RackView } from './rack';
import { href, linkHandler, useRoute } from './router';
import { TemplatesPage } from './templates';
import './style.css';

type Auth = { state: 'out'; reason: string | null } | { state: 'in' };

function Login(props: { reason: string | null; onLogin(): void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const t = token.trim();
    if (t === '') {
      setError('Paste an API token first (tabula token create NAME prints one).');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      // Any authenticated read proves the token; nothing is kept until it works.
      await api('GET', '/clusters', { token: t });
      storeToken(t);
      props.onLogin();
    } catch (err) {
      setError(err instanceof ApiFailure && err.status === 401 ? `The API token is missing or invalid (401 ${err.code}): ${err.message}.` : describe(err));
    } finally {
      setBusy(false);
    }
  };
  const message = error ?? props.reason;
  return (
    <main class="login">
      <h1>Tabula console</h1>
      <form onSubmit={submit}>
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="off" value={token} onInput={(e) => setToken(e.currentTarget.value)} />
        <p class="hint">
          Create one on the server with <code>tabula token create NAME</code>. It is kept in this tab only (sessionStorage) and sent as{' '}
          <code>Authorization: Bearer</code>.
        </p>
        {message && (
          <p class="error" role="alert" data-testid="auth-error">
            {message}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Log in
        </button>
      </form>
    </main>
  );
}

function Nav(props: { onLogout(): void; view: string }) {
  const item = (label: string, to: string, view: string) => (
    <a href={to} onClick={linkHandler(to)} class={props.view === view ? 'active' : ''}>
      {label}
    </a>
  );
  return (
    <nav class="top">
      <strong>Tabula</strong>
      {item('Rack', href(), 'rack')}
      {item('Networks', href('networks'), 'networks')}
      {item('Templates', href('templates'), 'templates')}
      <span class="grow" />
      <button class="link" onClick={props.onLogout}>
        Log out
      </button>
    </nav>
  );
}

function App() {
  const [auth, setAuth] = useState<Auth>(() => (storedToken() ? { state: 'in' } : { state: 'out', reason: null }));
  const route = useRoute();
  useEffect(
    () =>
      onUnauthorized((f) => {
        forgetToken();
        setAuth({ state: 'out', reason: `The API token is missing or invalid (401 ${f.code}): ${f.message}. Log in again.` });
      }),
    [],
  );
  if (auth.state === 'out') return <Login reason={auth.reason} onLogin={() => setAuth({ state: 'in' })} />;
  const logout = (): void => {
    forgetToken();
    setAuth({ state: 'out', reason: null });
  };
  return (
    <>
      <Nav onLogout={logout} view={route.view === 'host' ? 'rack' : route.view} />
      <main>
        {route.view === 'rack' && <RackView />}
        {route.view === 'host' && <HostPage key={route.host} host={route.host} />}
        {route.view === 'networks' && <NetworksPage cluster={route.cluster} />}
        {route.view === 'templates' && <TemplatesPage template={route.template} />}
        {route.view === 'missing' && <p class="error">Nothing at /ui/{route.path}.</p>}
      </main>
    </>
  );
}

const root = document.getElementById('app');
if (root) render(<App />, root);
