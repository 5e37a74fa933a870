// What an object costs in quota, as kube's quota evaluators measure it
// (pkg/quota/v1/evaluator/core: pods.go, services.go, persistent_volume_claims.go,
// registry.go; apiserver generic/evaluator.go for `count/<resource>.<group>`). Pure.
import type { KubeObject } from '../../proto/meta.js';
import { podQOSClass } from '../../proto/qos.js';
import { add, nanosOf, type ResourceList } from './resource-list.js';
import { matchesScope, type ScopeRequirement } from './scopes.js';

export type Operation = 'CREATE' | 'UPDATE';

export interface Evaluator {
  /** group-qualified resource, e.g. "pods", "deployments.apps" */
  groupResource: string;
  group: string;
  resource: string;
  /** Handles(): the operations that can change this kind's usage */
  handles(op: Operation): boolean;
  /** MatchingResources: which quota resource names this evaluator tracks */
  matchingResources(names: string[]): string[];
  /** scope test for one requirement (object-count evaluators match no scope) */
  matchesScope(req: ScopeRequirement, obj: KubeObject): boolean;
  usage(obj: KubeObject, now: number): ResourceList;
  /** Constraints: an error detail when a quota tracking `required` cannot admit the object */
  constraints(required: string[], obj: KubeObject): string | undefined;
}

/** generic.ObjectCountQuotaResourceNameFor */
export function objectCountName(group: string, resource: string): string {
  return group ? `count/${resource}.${group}` : `count/${resource}`;
}

const noScope = (): boolean => false;

export function objectCountEvaluator(group: string, resource: string, alias?: string): Evaluator {
  const names = [objectCountName(group, resource), ...(alias ? [alias] : [])];
  return {
    groupResource: group ? `${resource}.${group}` : resource,
    group,
    resource,
    handles: (op) => op === 'CREATE',
    matchingResources: (input) => input.filter((n) => names.includes(n)),
    matchesScope: noScope,
    usage: () => Object.fromEntries(names.map((n) => [n, '1'])),
    constraints: () => undefined,
  };
}

// ---- pods ---------------------------------------------------------------------------

const POD_RESOURCES = [
  'count/pods',
  'cpu',
  'memory',
  'ephemeral-storage',
  'requests.cpu',
  'requests.memory',
  'requests.ephemeral-storage',
  'limits.cpu',
  'limits.memory',
  'limits.ephemeral-storage',
  'pods',
];
const POD_PREFIXES = ['hugepages-', 'requests.hugepages-'];
/** the backward-compatibility rule: quota on these makes every container state them */
const VALIDATION_SET = new Set(['cpu', 'memory', 'requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory']);

function isNativeResource(name: string): boolean {
  return !name.includes('/') || name.includes('kubernetes.io/');
}
/** helper.IsExtendedResourceName */
function isExtendedResourceName(name: string): boolean {
  if (isNativeResource(name) || name.startsWith('requests.')) return false;
  return true;
}

// readers of unchecked object fields, shared with limit-ranger.ts
export type Rec = Record<string, unknown>;
export const rec = (v: unknown): Rec => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : {});
export const arr = (v: unknown): Rec[] => (Array.isArray(v) ? v.map(rec) : []);
/** a requests/limits map as written (values not canonicalised) */
export const rl = (v: unknown): ResourceList => {
  const out: ResourceList = {};
  for (const [k, q] of Object.entries(rec(v))) if (typeof q === 'string' || typeof q === 'number') out[k] = String(q);
  return out;
};

function maxInto(into: ResourceList, b: ResourceList): void {
  for (const [k, v] of Object.entries(b)) if (!(k in into) || nanosOf(v) > nanosOf(into[k])) into[k] = v;
}

/** resourcehelper.PodRequests / PodLimits: containers summed, init containers as a floor, sidecars added, overhead */
export function podResourceSum(pod: KubeObject, which: 'requests' | 'limits'): ResourceList {
  const spec = rec(pod.spec);
  let total: ResourceList = {};
  for (const c of arr(spec.containers)) total = add(total, rl(rec(c.resources)[which]));
  let sidecars: ResourceList = {};
  const initMax: ResourceList = {};
  for (const c of arr(spec.initContainers)) {
    const r = rl(rec(c.resources)[which]);
    if (c.restartPolicy === 'Always') {
      total = add(total, r);
      sidecars = add(sidecars, r);
      maxInto(initMax, sidecars);
    } else {
      maxInto(initMax, add(r, sidecars));
    }
  }
  maxInto(total, initMax);
  const overhead = rl(spec.overhead);
  if (which === 'requests') return add(total, overhead);
  for (const [k, v] of Object.entries(overhead)) if (k in total) total = add(total, { [k]: v });
  return total;
}

/** podComputeUsageHelper */
function computeUsage(requests: ResourceList, limits: ResourceList): ResourceList {
  const out: ResourceList = { pods: '1' };
  for (const r of ['cpu', 'memory', 'ephemeral-storage']) {
    if (r in requests) {
      out[r] = requests[r]!;
      out[`requests.${r}`] = requests[r]!;
    }
    if (r in limits) out[`limits.${r}`] = limits[r]!;
  }
  for (const [k, v] of Object.entries(requests)) {
    if (k.startsWith('hugepages-')) {
      out[k] = v;
      out[`requests.${k}`] = v;
    }
    if (isExtendedResourceName(k)) out[`requests.${k}`] = v;
  }
  return out;
}

/** QuotaV1Pod: terminal pods and pods past their deletion grace are not charged compute */
export function podIsCharged(pod: KubeObject, now: number): boolean {
  const phase = rec(pod.status).phase;
  if (phase === 'Failed' || phase === 'Succeeded') return false;
  const ts = pod.metadata.deletionTimestamp;
  const grace = pod.metadata.deletionGracePeriodSeconds;
  if (ts && typeof grace === 'number' && now > Date.parse(ts) + grace * 1000) return false;
  return true;
}

function podScope(req: ScopeRequirement, pod: KubeObject): boolean {
  const spec = rec(pod.spec);
  switch (req.scopeName) {
    case 'Terminating':
      return typeof spec.activeDeadlineSeconds === 'number' && spec.activeDeadlineSeconds >= 0;
    case 'NotTerminating':
      return !(typeof spec.activeDeadlineSeconds === 'number' && spec.activeDeadlineSeconds >= 0);
    case 'BestEffort':
      return podQOSClass(pod.spec) === 'BestEffort';
    case 'NotBestEffort':
      return podQOSClass(pod.spec) !== 'BestEffort';
    case 'PriorityClass': {
      const pc = typeof spec.priorityClassName === 'string' ? spec.priorityClassName : '';
      if (req.operator === 'Exists') return pc !== '';
      return matchesScope(req, pc ? { PriorityClass: pc } : {});
    }
    case 'CrossNamespacePodAffinity':
      return usesCrossNamespaceAffinity(spec);
    default:
      return false;
  }
}

function usesCrossNamespaceAffinity(spec: Rec): boolean {
  const aff = rec(spec.affinity);
  const cross = (t: Rec): boolean =>
    (Array.isArray(t.namespaces) && t.namespaces.length > 0) ||
    (t.namespaceSelector !== undefined && t.namespaceSelector !== null);
  for (const kind of [rec(aff.podAffinity), rec(aff.podAntiAffinity)]) {
    if (arr(kind.requiredDuringSchedulingIgnoredDuringExecution).some(cross)) return true;
    if (arr(kind.preferredDuringSchedulingIgnoredDuringExecution).some((w) => cross(rec(w.podAffinityTerm))))
      return true;
  }
  return false;
}

export const podEvaluator: Evaluator = {
  groupResource: 'pods',
  group: '',
  resource: 'pods',
  handles: (op) => op === 'CREATE',
  matchingResources(input) {
    return input.filter(
      (n) =>
        POD_RESOURCES.includes(n) ||
        POD_PREFIXES.some((p) => n.startsWith(p)) ||
        (n.startsWith('requests.') && !isNativeResource(n)),
    );
  },
  matchesScope: podScope,
  usage(pod, now) {
    const out: ResourceList = { 'count/pods': '1' };
    if (!podIsCharged(pod, now)) return out;
    return add(out, computeUsage(podResourceSum(pod, 'requests'), podResourceSum(pod, 'limits')));
  },
  constraints(required, pod) {
    const req = required.filter((r) => VALIDATION_SET.has(r));
    const missing = new Map<string, Set<string>>();
    const spec = rec(pod.spec);
    for (const c of [...arr(spec.containers), ...arr(spec.initContainers)]) {
      const res = rec(c.resources);
      const usage = computeUsage(rl(res.requests), rl(res.limits));
      for (const r of req) {
        if (r in usage) continue;
        if (!missing.has(r)) missing.set(r, new Set());
        missing.get(r)!.add(String(c.name ?? ''));
      }
    }
    if (missing.size === 0) return undefined;
    const parts = [...missing.keys()].sort().map((r) => `${r} for: ${[...missing.get(r)!].sort().join(',')}`);
    return `must specify ${parts.join('; ')}`;
  },
};

// ---- services -----------------------------------------------------------------------

const SERVICE_RESOURCES = ['count/services', 'services', 'services.nodeports', 'services.loadbalancers'];

export const serviceEvaluator: Evaluator = {
  groupResource: 'services',
  group: '',
  resource: 'services',
  handles: (op) => op === 'CREATE' || op === 'UPDATE',
  matchingResources: (input) => input.filter((n) => SERVICE_RESOURCES.includes(n)),
  matchesScope: noScope,
  usage(svc) {
    const spec = rec(svc.spec);
    const ports = arr(spec.ports);
    const out: ResourceList = {
      'count/services': '1',
      services: '1',
      'services.loadbalancers': '0',
      'services.nodeports': '0',
    };
    if (spec.type === 'NodePort') out['services.nodeports'] = String(ports.length);
    if (spec.type === 'LoadBalancer') {
      out['services.nodeports'] = String(
        spec.allocateLoadBalancerNodePorts === false ? ports.filter((p) => p.nodePort).length : ports.length,
      );
      out['services.loadbalancers'] = '1';
    }
    return out;
  },
  constraints: () => undefined,
};

// ---- persistentvolumeclaims ---------------------------------------------------------

const SC_SUFFIX = '.storageclass.storage.k8s.io/';
const PVC_RESOURCES = ['persistentvolumeclaims', 'requests.storage'];

function claimClass(pvc: KubeObject): string {
  const beta = pvc.metadata.annotations?.['volume.beta.kubernetes.io/storage-class'];
  if (beta !== undefined) return beta;
  const c = rec(pvc.spec).storageClassName;
  return typeof c === 'string' ? c : '';
}

/** a whole number of bytes, rounded up (issue 94313) */
function roundUpBytes(q: string): string {
  const n = nanosOf(q);
  const bytes = (n + 999_999_999n) / 1_000_000_000n;
  return n % 1_000_000_000n === 0n ? q : String(bytes);
}

export const pvcEvaluator: Evaluator = {
  groupResource: 'persistentvolumeclaims',
  group: '',
  resource: 'persistentvolumeclaims',
  handles: (op) => op === 'CREATE' || op === 'UPDATE',
  matchingResources(input) {
    return input.filter(
      (n) =>
        n === 'count/persistentvolumeclaims' ||
        PVC_RESOURCES.includes(n) ||
        PVC_RESOURCES.some((r) => n.endsWith(SC_SUFFIX + r)),
    );
  },
  matchesScope: noScope,
  usage(pvc) {
    const out: ResourceList = { persistentvolumeclaims: '1', 'count/persistentvolumeclaims': '1' };
    const cls = claimClass(pvc);
    if (cls) out[`${cls}${SC_SUFFIX}persistentvolumeclaims`] = '1';
    const requested = rl(rec(rec(pvc.spec).resources).requests).storage;
    let storage = requested !== undefined ? roundUpBytes(requested) : undefined;
    const allocated = rl(rec(pvc.status).allocatedResources).storage;
    if (storage !== undefined && allocated !== undefined && nanosOf(allocated) > nanosOf(storage))
      storage = roundUpBytes(allocated);
    if (storage !== undefined) {
      out['requests.storage'] = storage;
      if (cls) out[`${cls}${SC_SUFFIX}requests.storage`] = storage;
    }
    return out;
  },
  constraints: () => undefined,
};

/** registry.go's legacy object counts with their old names */
const LEGACY: Record<string, string> = {
  configmaps: 'configmaps',
  resourcequotas: 'resourcequotas',
  replicationcontrollers: 'replicationcontrollers',
  secrets: 'secrets',
};

const SPECIAL = new Map<string, Evaluator>([
  ['pods', podEvaluator],
  ['services', serviceEvaluator],
  ['persistentvolumeclaims', pvcEvaluator],
  ...Object.entries(LEGACY).map(([r, alias]) => [r, objectCountEvaluator('', r, alias)] as [string, Evaluator]),
]);
const generic = new Map<string, Evaluator>();

/** the evaluator for a kind: a special one or, as the admission plugin does, an object counter */
export function evaluatorFor(group: string, resource: string): Evaluator {
  const key = group ? `${resource}.${group}` : resource;
  const special = SPECIAL.get(key);
  if (special) return special;
  let e = generic.get(key);
  if (!e) generic.set(key, (e = objectCountEvaluator(group, resource)));
  return e;
}
