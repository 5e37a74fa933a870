// The dashboard's only way to the cluster: ordinary Kubernetes API requests with the
// user's bearer token (so authentication and RBAC apply as for kubectl). Collections are
// listed, then watched over a streaming fetch (?watch=1&resourceVersion=…); a 410 or a
// broken stream lists again. One shared watch per API path, counted by its subscribers.
import { applyEvent, emptyState, fromList, splitLines, type ListState } from './watch-state.js';
import type { KubeObject, List, Status, WatchEvent } from './types.js';

const TOKEN_KEY = 'skiff.dashboard.token';

export const session = {
  token(): string | null {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set(token: string): void {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  clear(): void {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

export class ApiFailure extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

let onUnauthorized: (message: string) => void = () => undefined;
export function setUnauthorizedHandler(fn: (message: string) => void): void {
  onUnauthorized = fn;
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const t = session.token();
  return { Accept: 'application/json', ...(t ? { Authorization: `Bearer ${t}` } : {}), ...extra };
}

async function failure(r: Response): Promise<ApiFailure> {
  let s: Status | undefined;
  try {
    s = (await r.json()) as Status;
  } catch {
    /* not a Status */
  }
  const f = new ApiFailure(r.status, s?.reason ?? r.statusText, s?.message ?? `${r.status} ${r.statusText}`);
  if (r.status === 401) onUnauthorized(f.message);
  return f;
}

export async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
  signal?: AbortSignal,
): Promise<T> {
  const init: RequestInit = {
    method,
    headers: headers(body === undefined ? {} : { 'Content-Type': contentType }),
    signal,
  };
  if (body !== undefined) init.body = JSON.stringify(body);
  const r = await fetch(path, init);
  if (!r.ok) throw await failure(r);
  return (await r.json()) as T;
}

/** check a token before keeping it: 401 is a wrong token; 403 is a real user RBAC limits */
export async function checkToken(token: string): Promise<void> {
  let r: Response | undefined;
  // a network change (Wi-Fi, a new interface) fails a request in flight: try again
  for (let i = 0; !r; i++) {
    try {
      r = await fetch('/api/v1/namespaces?limit=1', {
        headers: { Accept: 'application/json', Authorization: `Bearer ${token}` },
      });
    } catch (e) {
      if (i >= 2) throw e;
      await new Promise((ok) => setTimeout(ok, 300));
    }
  }
  if (r.status === 401)
    throw new ApiFailure(401, 'Unauthorized', 'the server did not accept this token (401 Unauthorized)');
  if (!r.ok && r.status !== 403) throw await failure(r);
}

export const patch = <T>(path: string, body: unknown, type: 'merge' | 'strategic' = 'merge') =>
  request<T>(
    'PATCH',
    path,
    body,
    type === 'merge' ? 'application/merge-patch+json' : 'application/strategic-merge-patch+json',
  );
export const del = (path: string) => request<Status>('DELETE', path);

/** a streamed text response (log follow): calls `onText` per chunk until the end or abort */
export async function streamText(path: string, signal: AbortSignal, onText: (t: string) => void): Promise<void> {
  const r = await fetch(path, { headers: headers({ Accept: '*/*' }), signal });
  if (!r.ok) throw await failure(r);
  const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    onText(value);
  }
}

export interface Snapshot<T extends KubeObject> {
  items: T[];
  synced: boolean;
  error?: string;
}

type Listener = () => void;

/** one API collection path (e.g. /api/v1/pods or /apis/apps/v1/namespaces/x/deployments), listed then watched */
class Collection<T extends KubeObject> {
  private state: ListState<T> = emptyState<T>();
  private listeners = new Set<Listener>();
  private abort?: AbortController;
  private error?: string;
  private snapshot: Snapshot<T> = { items: [], synced: false };
  private notifyTimer?: ReturnType<typeof setTimeout>;

  constructor(readonly path: string) {}

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    if (this.listeners.size === 1) this.start();
    return () => {
      this.listeners.delete(fn);
      if (this.listeners.size === 0) this.stop();
    };
  }

  get(): Snapshot<T> {
    return this.snapshot;
  }

  private changed(): void {
    // many events in a burst render once
    if (this.notifyTimer) return;
    this.notifyTimer = setTimeout(
      () => {
        this.notifyTimer = undefined;
        this.snapshot = {
          items: [...this.state.items.values()],
          synced: this.state.synced,
          ...(this.error ? { error: this.error } : {}),
        };
        for (const l of this.listeners) l();
      },
      this.state.synced && this.snapshot.synced ? 50 : 0,
    );
  }

  private stop(): void {
    this.abort?.abort();
    this.abort = undefined;
    this.state = emptyState<T>();
    this.snapshot = { items: [], synced: false };
  }

  private start(): void {
    const ac = new AbortController();
    this.abort = ac;
    void this.run(ac.signal);
  }

  private async run(signal: AbortSignal): Promise<void> {
    let backoff = 500;
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          const list = await request<List<T>>('GET', this.path, undefined, undefined, signal);
          this.state = fromList(list);
          this.error = undefined;
          this.changed();
          needList = false;
        }
        const started = Date.now();
        needList = await this.watch(signal);
        // a watch the server ends at once is not retried in a tight loop
        if (Date.now() - started < 1000) await new Promise((r) => setTimeout(r, 1000));
        backoff = 500;
      } catch (e) {
        if (signal.aborted) return;
        if (e instanceof ApiFailure && (e.code === 401 || e.code === 403 || e.code === 404)) {
          // not a passing failure: show it and stop (a new subscription tries again)
          this.error = e.message;
          this.state = { ...this.state, synced: true };
          this.changed();
          return;
        }
        this.error = e instanceof Error ? e.message : String(e);
        this.changed();
        needList = true;
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }

  /** one watch request; true when the collection must be listed again */
  private async watch(signal: AbortSignal): Promise<boolean> {
    const sep = this.path.includes('?') ? '&' : '?';
    const url = `${this.path}${sep}watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(this.state.resourceVersion)}`;
    const r = await fetch(url, { headers: headers(), signal });
    if (r.status === 410) return true;
    if (!r.ok) throw await failure(r);
    const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
    let carry = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return false; // the server ended the watch: resume from the last resourceVersion
      const split = splitLines(carry, value);
      carry = split.carry;
      for (const line of split.lines) {
        const applied = applyEvent(this.state, JSON.parse(line) as WatchEvent<T>);
        this.state = applied.state;
        if (applied.relist) {
          await reader.cancel().catch(() => undefined);
          return true;
        }
      }
      this.changed();
    }
  }
}

const collections = new Map<string, Collection<KubeObject>>();

export function collection<T extends KubeObject>(
  path: string,
): { subscribe(fn: Listener): () => void; get(): Snapshot<T> } {
  let c = collections.get(path);
  if (!c) {
    c = new Collection<KubeObject>(path);
    collections.set(path, c);
  }
  return c as unknown as Collection<T>;
}

/** the path of a resource's collection, all namespaces when `ns` is empty */
export function collectionPath(
  group: string,
  version: string,
  resource: string,
  ns: string,
  namespaced = true,
): string {
  const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
  return namespaced && ns ? `${base}/namespaces/${encodeURIComponent(ns)}/${resource}` : `${base}/${resource}`;
}
