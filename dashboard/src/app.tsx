// The dashboard's shell: login (token, kubeconfig file, or #token= in the URL, then
// removed from it), the token in sessionStorage only; navigation and the namespace filter
// in the hash route, so a link shows the same view; one view at a time.
// Map of the code base: ARCHITECTURE.md, "The parts".
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { checkToken, collectionPath, session, setUnauthorizedHandler } from './api.js';
import { useCollection } from './hooks.js';
import { formatRoute, parseRoute, tokenFromHash, tokenFromKubeconfig, VIEWS, type Route } from './logic.js';
import type { KubeObject } from './types.js';
import { Events } from './views/events.js';
import { onFirstView, Overview } from './views/overview.js';
import { PodDetail } from './views/pod.js';
import { Services } from './views/services.js';
import { Workloads } from './views/workloads.js';

const TITLES: Record<string, string> = {
  overview: 'Overview',
  workloads: 'Workloads',
  services: 'Services',
  events: 'Events',
};

/** the time from login to the first overview with data, as a Performance API measure */
function markLogin(): void {
  performance.clearMarks('skiff-login');
  performance.mark('skiff-login');
  onFirstView(() => {
    performance.mark('skiff-first-view');
    const m = performance.measure('skiff-login-to-first-view', 'skiff-login', 'skiff-first-view');
    document.body.dataset.firstViewMs = String(Math.round(m.duration));
  });
}

function Login(props: { error?: string; onToken: (t: string) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>(props.error);
  const [busy, setBusy] = useState(false);
  const submit = async (t: string) => {
    const v = t.trim();
    if (!v) {
      setError('Paste a bearer token, or choose a kubeconfig file.');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await checkToken(v);
      props.onToken(v);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  const file = async (f: File | undefined) => {
    if (!f) return;
    const t = tokenFromKubeconfig(await f.text());
    if (!t) {
      setError(`${f.name}: no bearer token in this kubeconfig (client certificates cannot be used from a browser)`);
      return;
    }
    await submit(t);
  };
  return (
    <main class="login">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void submit(token);
        }}
        data-testid="login"
      >
        <h1>skiff</h1>
        <p class="muted">
          Sign in with a bearer token: the one in <code>admin.kubeconfig</code>, or{' '}
          <code>kubectl create token NAME</code>.
        </p>
        <label for="token">Token</label>
        <textarea
          id="token"
          name="token"
          rows={3}
          autocomplete="off"
          spellcheck={false}
          value={token}
          onInput={(e) => setToken((e.target as HTMLTextAreaElement).value)}
        />
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        <label class="file">
          or a kubeconfig file{' '}
          <input type="file" onChange={(e) => void file((e.target as HTMLInputElement).files?.[0])} />
        </label>
        {error && (
          <p class="error" role="alert" data-testid="login-error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}

function NamespaceFilter(props: { ns: string; onNs: (ns: string) => void }) {
  const nss = useCollection<KubeObject>('/api/v1/namespaces');
  const names = nss.items.map((n) => n.metadata.name ?? '').sort();
  if (props.ns && !names.includes(props.ns)) names.unshift(props.ns);
  return (
    <select
      aria-label="namespace"
      data-testid="namespace"
      value={props.ns}
      onChange={(e) => props.onNs((e.target as HTMLSelectElement).value)}
    >
      <option value="">all namespaces</option>
      {names.map((n) => (
        <option key={n} value={n}>
          {n}
        </option>
      ))}
    </select>
  );
}

function Shell(props: { onLogout: () => void }) {
  const [route, setRoute] = useState<Route>(parseRoute(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  const go = (r: Route) => {
    location.hash = formatRoute(r);
  };
  const back = formatRoute({ view: 'workloads', ns: route.ns });
  let view;
  switch (route.view) {
    case 'workloads':
      view = <Workloads ns={route.ns} kind={route.kind ?? 'Deployment'} onKind={(kind) => go({ ...route, kind })} />;
      break;
    case 'services':
      view = <Services ns={route.ns} />;
      break;
    case 'events':
      view = <Events ns={route.ns} />;
      break;
    case 'pod':
      view = route.pod ? (
        <PodDetail
          key={`${route.pod.namespace}/${route.pod.name}`}
          namespace={route.pod.namespace}
          name={route.pod.name}
          back={back}
        />
      ) : null;
      break;
    default:
      view = <Overview podsPath={collectionPath('', 'v1', 'pods', route.ns)} ns={route.ns} />;
  }
  return (
    <>
      <header class="top">
        <a class="brand" href={formatRoute({ view: 'overview', ns: route.ns })}>
          skiff
        </a>
        <nav>
          {VIEWS.map((v) => (
            <a
              key={v}
              href={formatRoute({ view: v, ns: route.ns })}
              class={route.view === v ? 'active' : ''}
              data-nav={v}
            >
              {TITLES[v]}
            </a>
          ))}
        </nav>
        <NamespaceFilter
          ns={route.ns}
          onNs={(ns) => go({ ...route, ns, ...(route.view === 'pod' ? { view: 'workloads', pod: undefined } : {}) })}
        />
        <button type="button" class="link" onClick={props.onLogout}>
          Sign out
        </button>
      </header>
      <main>{view}</main>
    </>
  );
}

function App() {
  const [token, setToken] = useState<string | null>(session.token());
  const [error, setError] = useState<string>();
  useEffect(() => {
    const on = () => {
      const t = tokenInHash();
      if (t) {
        setError(undefined);
        setToken(t);
      }
    };
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  // set during render: the first view's requests may fail before effects run
  setUnauthorizedHandler((message) => {
    session.clear();
    setError(`Signed out: ${message}`);
    setToken(null);
  });
  if (!token)
    return (
      <Login
        error={error}
        onToken={(t) => {
          session.set(t);
          markLogin();
          setError(undefined);
          setToken(t);
        }}
      />
    );
  return (
    <Shell
      onLogout={() => {
        session.clear();
        setToken(null);
      }}
    />
  );
}

// #token=… logs in (a fragment never reaches the server) and is removed from the URL at once
function tokenInHash(): string | undefined {
  const t = tokenFromHash(location.hash);
  if (!t) return undefined;
  history.replaceState(null, '', `${location.pathname}${location.search}#/overview`);
  session.set(t);
  markLogin();
  return t;
}
tokenInHash();
render(<App />, document.getElementById('app')!);
