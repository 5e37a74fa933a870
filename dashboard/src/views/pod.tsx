// One pod: containers with state and restarts, conditions, its events, a live log tail
// (follow, previous) and an exec terminal (xterm.js, loaded only when opened).
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiFailure, del, streamText } from '../api.js';
import { Badge, ErrorNote, phaseTone, Table } from '../components.js';
import { useCollection, useNow } from '../hooks.js';
import { age, podSummary } from '../logic.js';
import type { ContainerState, KubeEvent, Pod } from '../types.js';
import { EventRows } from './events.js';

const MAX_LOG_CHARS = 512 * 1024;

function stateText(s: ContainerState | undefined): string {
  if (!s) return '';
  if (s.running) return `Running since ${s.running.startedAt ?? '?'}`;
  if (s.waiting) return `Waiting: ${s.waiting.reason ?? ''}${s.waiting.message ? ` (${s.waiting.message})` : ''}`;
  if (s.terminated) return `Terminated: ${s.terminated.reason ?? ''} (exit ${s.terminated.exitCode ?? '?'})`;
  return '';
}

function podPath(ns: string, name: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(name)}`;
}

function Logs(props: { ns: string; name: string; container: string }) {
  const [follow, setFollow] = useState(true);
  const [previous, setPrevious] = useState(false);
  const [text, setText] = useState('');
  const [error, setError] = useState<string>();
  const pre = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const ac = new AbortController();
    setText('');
    setError(undefined);
    const q = new URLSearchParams({ container: props.container, tailLines: '500' });
    if (previous) q.set('previous', 'true');
    else if (follow) q.set('follow', 'true');
    let buf = '';
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      // a dropped connection (network change) starts the tail again; an API error is shown
      for (let attempt = 0; ; attempt++) {
        buf = '';
        try {
          await streamText(`${podPath(props.ns, props.name)}/log?${q}`, ac.signal, (t) => {
            buf = (buf + t).slice(-MAX_LOG_CHARS);
            timer ??= setTimeout(() => {
              timer = undefined;
              setText(buf);
            }, 50);
          });
          return;
        } catch (e) {
          if (ac.signal.aborted) return;
          if (e instanceof ApiFailure || attempt >= 5) {
            setError(e instanceof Error ? e.message : String(e));
            return;
          }
          await new Promise((ok) => setTimeout(ok, 1000));
        }
      }
    };
    void run();
    return () => {
      ac.abort();
      if (timer) clearTimeout(timer);
    };
  }, [props.ns, props.name, props.container, follow, previous]);
  useEffect(() => {
    const el = pre.current;
    if (el && follow) el.scrollTop = el.scrollHeight;
  }, [text, follow]);
  return (
    <div class="logs">
      <div class="toolbar">
        <label>
          <input
            type="checkbox"
            checked={follow}
            disabled={previous}
            onChange={(e) => setFollow((e.target as HTMLInputElement).checked)}
          />{' '}
          Follow
        </label>
        <label>
          <input
            type="checkbox"
            checked={previous}
            onChange={(e) => setPrevious((e.target as HTMLInputElement).checked)}
          />{' '}
          Previous
        </label>
      </div>
      <ErrorNote error={error} />
      <pre ref={pre} data-testid="log">
        {text}
      </pre>
    </div>
  );
}

function Terminal(props: { ns: string; name: string; container: string }) {
  const host = useRef<HTMLDivElement>(null);
  const [status, setStatus] = useState('connecting…');
  useEffect(() => {
    let close: (() => void) | undefined;
    let gone = false;
    // a failed load (the browser dropped the request when the network changed) is tried again
    const load = (left: number): Promise<typeof import('../terminal.js')> =>
      import('../terminal.js').catch((e: unknown) =>
        left > 0 ? new Promise((r) => setTimeout(r, 500)).then(() => load(left - 1)) : Promise.reject(e),
      );
    void load(2)
      .then((m) => {
        if (gone || !host.current) return;
        close = m.openTerminal(host.current, {
          namespace: props.ns,
          pod: props.name,
          container: props.container,
          onStatus: setStatus,
        });
      })
      .catch((e: unknown) => setStatus(`cannot load the terminal: ${String(e)}`));
    return () => {
      gone = true;
      close?.();
    };
  }, [props.ns, props.name, props.container]);
  return (
    <div class="terminal">
      <p class="muted small" data-testid="terminal-status">
        {status}
      </p>
      <div ref={host} class="xterm-host" data-testid="terminal" />
    </div>
  );
}

export function PodDetail(props: { namespace: string; name: string; back: string }) {
  const fs = `fieldSelector=${encodeURIComponent(`metadata.name=${props.name}`)}`;
  const pods = useCollection<Pod>(`/api/v1/namespaces/${encodeURIComponent(props.namespace)}/pods?${fs}`);
  const events = useCollection<KubeEvent>(
    `/api/v1/namespaces/${encodeURIComponent(props.namespace)}/events?fieldSelector=${encodeURIComponent(`involvedObject.name=${props.name}`)}`,
  );
  const now = useNow();
  const [tab, setTab] = useState<'logs' | 'exec'>('logs');
  const [container, setContainer] = useState<string>();
  const [error, setError] = useState<string>();
  const pod = pods.items[0];
  if (!pod) {
    return (
      <section data-testid="pod-detail">
        <p>
          <a href={props.back}>← back</a>
        </p>
        <ErrorNote error={pods.error} />
        <p class="muted">{pods.synced ? `Pod ${props.namespace}/${props.name} not found (deleted?).` : 'Loading…'}</p>
      </section>
    );
  }
  const s = podSummary(pod);
  const names = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].map((c) => c.name);
  const c = container && names.includes(container) ? container : (names[0] ?? '');
  const statuses = new Map(
    [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])].map((x) => [x.name, x]),
  );
  const remove = async () => {
    if (!confirm(`Delete pod ${props.namespace}/${props.name}?`)) return;
    try {
      await del(podPath(props.namespace, props.name));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <section data-testid="pod-detail">
      <p>
        <a href={props.back}>← back</a>
      </p>
      <header class="pod-head">
        <h2>
          {props.namespace}/{props.name}
        </h2>
        <Badge tone={phaseTone(s.phase)}>{s.phase}</Badge>
        <span class="muted small">
          ready {s.ready} · {s.restarts} restarts · {age(pod.metadata.creationTimestamp, now)} · node{' '}
          {pod.spec?.nodeName ?? '<none>'} · IP {pod.status?.podIP ?? '<none>'}
        </span>
        <button type="button" class="danger" onClick={remove}>
          Delete
        </button>
      </header>
      <ErrorNote error={error} />
      <h3>Containers</h3>
      <Table head={['Name', 'Image', 'State', 'Ready', 'Restarts', 'Requests']} count={names.length}>
        {(pod.spec?.containers ?? []).map((ct) => {
          const st = statuses.get(ct.name);
          return (
            <tr key={ct.name}>
              <td>{ct.name}</td>
              <td>
                <code>{ct.image}</code>
              </td>
              <td>
                {stateText(st?.state)}
                {st?.lastState?.terminated ? <div class="muted small">last: {stateText(st.lastState)}</div> : null}
              </td>
              <td>{st?.ready ? 'yes' : 'no'}</td>
              <td>{st?.restartCount ?? 0}</td>
              <td class="small">
                {Object.entries(ct.resources?.requests ?? {})
                  .map(([k, v]) => `${k}=${v}`)
                  .join(' ')}
              </td>
            </tr>
          );
        })}
      </Table>
      <h3>Conditions</h3>
      <p class="conds">
        {(pod.status?.conditions ?? []).map((cd) => (
          <Badge key={cd.type} tone={cd.status === 'True' ? 'ok' : 'warn'} title={cd.message}>
            {cd.type}
          </Badge>
        ))}
      </p>
      <h3>Events</h3>
      <ErrorNote error={events.error} />
      <EventRows events={events.items} limit={50} />
      <div class="tabs">
        <button type="button" class={tab === 'logs' ? 'active' : ''} onClick={() => setTab('logs')}>
          Logs
        </button>
        <button type="button" class={tab === 'exec' ? 'active' : ''} onClick={() => setTab('exec')}>
          Terminal
        </button>
        {names.length > 1 && (
          <select
            aria-label="container"
            value={c}
            onChange={(e) => setContainer((e.target as HTMLSelectElement).value)}
          >
            {names.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        )}
      </div>
      {tab === 'logs' ? (
        <Logs ns={props.namespace} name={props.name} container={c} />
      ) : (
        <Terminal ns={props.namespace} name={props.name} container={c} />
      )}
    </section>
  );
}
