// Pod resource requests as kube-scheduler and kubelet count them (component-helpers
// resource.PodRequests): containers summed, each init container as a floor (sidecars
// added to the sum), plus overhead. Pure functions, no I/O.
import type { KubeObject } from '../../proto/meta.js';
import { cpuToMillicores, memoryToBytes } from '../../proto/quantity.js';

/** Resource name -> amount: `cpu` in millicores, everything else in base units (bytes, count). */
export type ResourceList = Record<string, number>;

/** Used for scoring only, so pods without requests still spread (scheduler util.DefaultMilliCPURequest / DefaultMemoryRequest). */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;
/** kubelet's default --max-pods, used when a node reports no `pods` allocatable. */
export const DEFAULT_MAX_PODS = 110;

function amount(name: string, q: unknown): number {
  if (typeof q !== 'string' && typeof q !== 'number') return 0;
  try {
    return name === 'cpu' ? cpuToMillicores(q) : memoryToBytes(q);
  } catch {
    return 0;
  }
}

/** A `{cpu: "500m", memory: "1Gi"}` map as numbers. */
export function toResourceList(rl: unknown): ResourceList {
  const out: ResourceList = {};
  if (typeof rl !== 'object' || rl === null) return out;
  for (const [k, v] of Object.entries(rl as Record<string, unknown>)) out[k] = amount(k, v);
  return out;
}

export function addInto(into: ResourceList, b: ResourceList, sign = 1): ResourceList {
  for (const [k, v] of Object.entries(b)) into[k] = (into[k] ?? 0) + sign * v;
  return into;
}

function maxInto(into: ResourceList, b: ResourceList): ResourceList {
  for (const [k, v] of Object.entries(b)) if (v > (into[k] ?? 0)) into[k] = v;
  return into;
}

/** what podRequests reads of a container (an entry of a stored pod's containers list) */
interface ContainerLike {
  resources?: { requests?: Record<string, unknown> };
  restartPolicy?: string;
}

function containerRequests(c: ContainerLike | null | undefined, nonZero: boolean): ResourceList {
  const reqs = toResourceList(c?.resources?.requests);
  if (nonZero) {
    // Only a missing request gets the default; an explicit 0 stays 0 (NonMissingContainerRequests).
    const raw = c?.resources?.requests ?? {};
    if (!('cpu' in raw)) reqs.cpu = DEFAULT_MILLI_CPU_REQUEST;
    if (!('memory' in raw)) reqs.memory = DEFAULT_MEMORY_REQUEST;
  }
  return reqs;
}

/**
 * What a pod takes from its node. `nonZero` fills missing cpu/memory requests with the
 * scoring defaults, as NodeInfo.NonZeroRequested does.
 */
export function podRequests(pod: KubeObject, nonZero = false): ResourceList {
  const spec = pod.spec ?? {};
  const reqs: ResourceList = {};
  for (const c of arr(spec.containers)) addInto(reqs, containerRequests(c, nonZero));
  // Init containers run one at a time before the app containers; restartable ones
  // (sidecars, restartPolicy Always) keep running and add to everything after them.
  const sidecars: ResourceList = {};
  const initMax: ResourceList = {};
  for (const c of arr(spec.initContainers)) {
    const r = containerRequests(c, nonZero);
    if (c?.restartPolicy === 'Always') {
      addInto(reqs, r);
      addInto(sidecars, r);
      maxInto(initMax, sidecars);
    } else {
      maxInto(initMax, addInto({ ...r }, sidecars));
    }
  }
  maxInto(reqs, initMax);
  addInto(reqs, toResourceList(spec.overhead));
  if (nonZero) return { cpu: reqs.cpu ?? 0, memory: reqs.memory ?? 0 };
  return reqs;
}

/** Resource names NodeResourcesFit checks besides cpu/memory/ephemeral-storage (schedutil.IsScalarResourceName). */
export function isScalarResource(name: string): boolean {
  if (name.startsWith('hugepages-') || name.startsWith('attachable-volumes-')) return true;
  // extended resources: a domain-prefixed name outside kubernetes.io, not a quota name
  return name.includes('/') && !name.includes('kubernetes.io/') && !name.startsWith('requests.');
}

/** Succeeded and Failed pods hold nothing on their node. */
export function isTerminal(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

function arr(v: unknown): (ContainerLike | null | undefined)[] {
  return Array.isArray(v) ? v : [];
}
