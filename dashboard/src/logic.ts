// Pure logic behind the dashboard's views: hash routes, allocation sums, rollout progress,
// readiness, ages, the token in a kubeconfig. No DOM, no I/O (tested in
// test/unit/dashboard-logic.test.ts).
import { cpuToMillicores, memoryToBytes } from '../../proto/quantity.js';
import type { Condition, Node, Pod, ResourceList, Workload } from './types.js';

export type View = 'overview' | 'workloads' | 'services' | 'events' | 'pod';
export const VIEWS: View[] = ['overview', 'workloads', 'services', 'events'];

export interface Route {
  view: View;
  ns: string;
  pod?: { namespace: string; name: string };
  kind?: string;
}

/** `#/workloads?ns=default`, `#/pod/default/web-1` → Route; anything else is the overview */
export function parseRoute(hash: string): Route {
  const h = hash.replace(/^#/, '');
  const q = h.indexOf('?');
  const path = q >= 0 ? h.slice(0, q) : h;
  const params = new URLSearchParams(q >= 0 ? h.slice(q + 1) : '');
  const ns = params.get('ns') ?? '';
  const seg = path
    .split('/')
    .filter(Boolean)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
  if (seg[0] === 'pod' && seg[1] && seg[2]) return { view: 'pod', ns, pod: { namespace: seg[1], name: seg[2] } };
  const view = VIEWS.find((v) => v === seg[0]) ?? 'overview';
  const kind = params.get('kind');
  return view === 'workloads' && kind ? { view, ns, kind } : { view, ns };
}

export function formatRoute(r: Route): string {
  const path =
    r.view === 'pod' && r.pod
      ? `/pod/${encodeURIComponent(r.pod.namespace)}/${encodeURIComponent(r.pod.name)}`
      : `/${r.view}`;
  const params = new URLSearchParams();
  if (r.ns) params.set('ns', r.ns);
  if (r.view === 'workloads' && r.kind) params.set('kind', r.kind);
  const qs = params.toString();
  return `#${path}${qs ? `?${qs}` : ''}`;
}

/** the token of `#token=…` (the login link for scripts), if any */
export function tokenFromHash(hash: string): string | undefined {
  const m = /^#?token=([^&]+)/.exec(hash);
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return m[1];
  }
}

function q(fn: (s: string) => number, v: string | undefined): number {
  if (v === undefined) return 0;
  try {
    return fn(v);
  } catch {
    return 0;
  }
}
export const millicores = (v: string | undefined) => q(cpuToMillicores, v);
export const bytes = (v: string | undefined) => q(memoryToBytes, v);

/** a pod that holds node resources: bound and not finished */
export function holdsResources(p: Pod): boolean {
  const phase = p.status?.phase;
  return !!p.spec?.nodeName && phase !== 'Succeeded' && phase !== 'Failed';
}

/**
 * A pod's effective request (the scheduler's): max(sum of containers, each init
 * container) plus overhead, in millicores and bytes.
 */
export function podRequests(p: Pod): { cpu: number; memory: number } {
  const sum = (list: ResourceList[]) => ({
    cpu: list.reduce((a, r) => a + millicores(r.cpu), 0),
    memory: list.reduce((a, r) => a + bytes(r.memory), 0),
  });
  const main = sum((p.spec?.containers ?? []).map((c) => c.resources?.requests ?? {}));
  for (const c of p.spec?.initContainers ?? []) {
    const r = c.resources?.requests ?? {};
    main.cpu = Math.max(main.cpu, millicores(r.cpu));
    main.memory = Math.max(main.memory, bytes(r.memory));
  }
  const o = p.spec?.overhead ?? {};
  return { cpu: main.cpu + millicores(o.cpu), memory: main.memory + bytes(o.memory) };
}

export interface Allocation {
  pods: number;
  cpuRequested: number;
  memoryRequested: number;
  cpuAllocatable: number;
  memoryAllocatable: number;
  podsAllocatable: number;
}

/** per node: what the pods bound to it request against what it has to give */
export function allocationByNode(nodes: Node[], pods: Pod[]): Map<string, Allocation> {
  const out = new Map<string, Allocation>();
  for (const n of nodes) {
    const a = n.status?.allocatable ?? {};
    out.set(n.metadata.name ?? '', {
      pods: 0,
      cpuRequested: 0,
      memoryRequested: 0,
      cpuAllocatable: millicores(a.cpu),
      memoryAllocatable: bytes(a.memory),
      podsAllocatable: Number(a.pods ?? 0) || 0,
    });
  }
  for (const p of pods) {
    if (!holdsResources(p)) continue;
    const a = out.get(p.spec!.nodeName!);
    if (!a) continue;
    const r = podRequests(p);
    a.pods++;
    a.cpuRequested += r.cpu;
    a.memoryRequested += r.memory;
  }
  return out;
}

/** 0..100, for a bar; 0 when there is nothing to divide by */
export function percent(used: number, total: number): number {
  if (!(total > 0)) return 0;
  return Math.max(0, Math.min(100, Math.round((used / total) * 100)));
}

export function condition(conds: Condition[] | undefined, type: string): Condition | undefined {
  return conds?.find((c) => c.type === type);
}

export function nodeReady(n: Node): 'True' | 'False' | 'Unknown' {
  const s = condition(n.status?.conditions, 'Ready')?.status;
  return s === 'True' || s === 'False' ? s : 'Unknown';
}

/** node-role.kubernetes.io/<role> labels, as kubectl get nodes shows ROLES */
export function nodeRoles(n: Node): string[] {
  const roles: string[] = [];
  for (const [k, v] of Object.entries(n.metadata.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) roles.push(k.slice('node-role.kubernetes.io/'.length) || v);
    else if (k === 'kubernetes.io/role' && v) roles.push(v);
  }
  return roles.sort();
}

export interface Rollout {
  kind: string;
  desired: number;
  ready: number;
  updated: number;
  available: number;
  done: boolean;
  progress: number;
  text: string;
}

/**
 * Desired/ready counts and rollout progress of a Deployment, StatefulSet, DaemonSet
 * or Job, as `kubectl rollout status` judges them (a Job: completions).
 */
export function rolloutOf(kind: string, w: Workload): Rollout {
  const s = w.status ?? {};
  const observed = (s.observedGeneration ?? 0) >= (w.metadata.generation ?? 0);
  let desired: number;
  let ready: number;
  let updated: number;
  let available: number;
  let done: boolean;
  switch (kind) {
    case 'DaemonSet':
      desired = s.desiredNumberScheduled ?? 0;
      ready = s.numberReady ?? 0;
      updated = s.updatedNumberScheduled ?? 0;
      available = s.numberAvailable ?? 0;
      done = observed && updated >= desired && available >= desired;
      break;
    case 'Job': {
      desired = w.spec?.completions ?? 1;
      ready = s.succeeded ?? 0;
      updated = ready;
      available = s.active ?? 0;
      done =
        ready >= desired ||
        (!!condition(s.conditions, 'Complete') && condition(s.conditions, 'Complete')!.status === 'True');
      break;
    }
    case 'StatefulSet':
      desired = w.spec?.replicas ?? 1;
      ready = s.readyReplicas ?? 0;
      updated = s.updatedReplicas ?? 0;
      available = s.availableReplicas ?? ready;
      done = observed && updated >= desired && ready >= desired;
      break;
    default: // Deployment, ReplicaSet
      desired = w.spec?.replicas ?? 1;
      ready = s.readyReplicas ?? 0;
      updated = s.updatedReplicas ?? (kind === 'ReplicaSet' ? (s.replicas ?? 0) : 0);
      available = s.availableReplicas ?? 0;
      done = observed && updated >= desired && available >= desired && (s.replicas ?? 0) <= desired;
  }
  const progress = desired > 0 ? percent(Math.min(updated, ready), desired) : 100;
  const text =
    kind === 'Job'
      ? `${ready}/${desired} complete`
      : done
        ? 'complete'
        : !observed
          ? 'waiting for the controller'
          : `${updated} of ${desired} updated, ${ready} ready`;
  return { kind, desired, ready, updated, available, done, progress, text };
}

export interface PodSummary {
  phase: string;
  ready: string;
  restarts: number;
}

/** STATUS, READY and RESTARTS as kubectl get pods shows them (the waiting/terminated reason wins over the phase) */
export function podSummary(p: Pod): PodSummary {
  const statuses = p.status?.containerStatuses ?? [];
  const total = p.spec?.containers?.length ?? statuses.length;
  let phase = p.status?.reason ?? p.status?.phase ?? 'Unknown';
  for (const c of p.status?.initContainerStatuses ?? []) {
    if (c.state?.terminated && c.state.terminated.exitCode === 0) continue;
    if (c.state?.waiting?.reason && c.state.waiting.reason !== 'PodInitializing') {
      phase = `Init:${c.state.waiting.reason}`;
      break;
    }
  }
  for (const c of statuses) {
    const r = c.state?.waiting?.reason ?? c.state?.terminated?.reason;
    if (r) phase = r;
  }
  if (p.metadata.deletionTimestamp) phase = 'Terminating';
  return {
    phase,
    ready: `${statuses.filter((c) => c.ready).length}/${total}`,
    restarts: statuses.reduce((a, c) => a + (c.restartCount ?? 0), 0),
  };
}

/** a pod worth a look: not Running/Completed, or restarting */
export function needsAttention(s: PodSummary): boolean {
  return !['Running', 'Succeeded', 'Completed'].includes(s.phase) || s.restarts > 0;
}

/** kubectl's short age: 45s, 3m, 2h, 5d (duration.HumanDuration, simplified to one unit) */
export function age(ts: string | undefined, now: number): string {
  const t = ts ? Date.parse(ts) : NaN;
  if (Number.isNaN(t)) return '<unknown>';
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

export function formatMillicores(m: number): string {
  return m >= 1000 && m % 100 === 0 ? `${m / 1000}` : `${Math.round(m)}m`;
}

export function formatBytesShort(b: number): string {
  const units = ['B', 'Ki', 'Mi', 'Gi', 'Ti'];
  let v = b;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 10 || i === 0 ? Math.round(v) : v.toFixed(1)}${units[i]}`;
}

/** true when `o` is owned (controller reference) by the object with uid `uid` */
export function ownedBy(
  o: { metadata: { ownerReferences?: { uid?: string; controller?: boolean }[] } },
  uid: string | undefined,
): boolean {
  return !!uid && (o.metadata.ownerReferences ?? []).some((r) => r.uid === uid);
}

/** the patch `kubectl rollout restart` sends: the template annotation restartedAt = now (RFC 3339) */
export function restartPatch(now: Date): { spec: { template: { metadata: { annotations: Record<string, string> } } } } {
  return {
    spec: {
      template: {
        metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': now.toISOString().replace(/\.\d{3}Z$/, 'Z') } },
      },
    },
  };
}

/**
 * The bearer token of a kubeconfig's current context (YAML as kubectl writes it, or
 * JSON): the user the current context names; else the only user with a token.
 */
export function tokenFromKubeconfig(text: string): string | undefined {
  try {
    const j = JSON.parse(text) as {
      'current-context'?: string;
      contexts?: { name?: string; context?: { user?: string } }[];
      users?: { name?: string; user?: { token?: string } }[];
    };
    const user = j.contexts?.find((c) => c.name === j['current-context'])?.context?.user;
    const withToken = (j.users ?? []).filter((u) => u.user?.token);
    return (withToken.find((u) => u.name === user) ?? (withToken.length === 1 ? withToken[0] : undefined))?.user?.token;
  } catch {
    /* YAML */
  }
  const unquote = (v: string) => v.trim().replace(/^(['"])(.*)\1$/, '$2');
  const lines = text.split(/\r?\n/);
  const current = unquote(lines.find((l) => /^current-context:/.test(l))?.replace(/^current-context:/, '') ?? '');
  // sections at column 0; list entries "- name: x" or "- " followed by keys
  let section = '';
  const contexts: { name?: string; user?: string }[] = [];
  const users: { name?: string; token?: string }[] = [];
  let entry: Record<string, string> | undefined;
  const flush = () => {
    if (!entry) return;
    if (section === 'contexts') contexts.push({ name: entry.name, user: entry.user });
    if (section === 'users') users.push({ name: entry.name, token: entry.token });
    entry = undefined;
  };
  for (const l of lines) {
    if (/^\S/.test(l) && !l.startsWith('-')) {
      flush();
      section = l.replace(/:.*$/, '');
      continue;
    }
    const m = /^(\s*)(- )?\s*([A-Za-z-]+):\s*(.*)$/.exec(l);
    if (!m) continue;
    if (m[2] && m[1]!.length <= 2) {
      flush();
      entry = {};
    }
    if (entry && m[4] !== '') entry[m[3]!] = unquote(m[4]!);
  }
  flush();
  const user = contexts.find((c) => c.name === current)?.user;
  const withToken = users.filter((u) => u.token);
  return (withToken.find((u) => u.name === user) ?? (withToken.length === 1 ? withToken[0] : undefined))?.token;
}

/** a bearer token as a WebSocket subprotocol (kube-apiserver's websocket protocol authenticator) */
export function bearerProtocol(token: string): string {
  const bytes = new TextEncoder().encode(token);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return `base64url.bearer.authorization.k8s.io.${btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}`;
}
