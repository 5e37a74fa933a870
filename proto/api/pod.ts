// Pod facts every controller decides on (k8s.io/kubernetes pkg/api/v1/pod util.go): the
// Ready condition, readiness, availability after minReadySeconds. Pure functions over a
// pod as stored; they accept an untyped KubeObject as well as a KubeObject<'Pod'>.
import type { PodCondition } from './types.gen.js';

/** what these helpers read of a pod */
export interface PodWithConditions {
  status?: { conditions?: unknown };
}

/** podutil.GetPodReadyCondition: the first condition of type Ready */
export function podReadyCondition(pod: PodWithConditions): PodCondition | undefined {
  const conds = pod.status?.conditions;
  if (!Array.isArray(conds)) return undefined;
  return (conds as (PodCondition | null | undefined)[]).find((c) => c?.type === 'Ready') ?? undefined;
}

/** podutil.IsPodReady: the Ready condition is True */
export function isPodReady(pod: PodWithConditions): boolean {
  return podReadyCondition(pod)?.status === 'True';
}

/** podutil.IsPodAvailable: ready, and for at least minReadySeconds before `nowMs` (the Ready lastTransitionTime is the clock) */
export function isPodAvailable(pod: PodWithConditions, minReadySeconds: number, nowMs: number): boolean {
  const c = podReadyCondition(pod);
  if (c?.status !== 'True') return false;
  if (!minReadySeconds) return true;
  const t = c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : NaN;
  return Number.isFinite(t) && t + minReadySeconds * 1000 < nowMs;
}

/** when a ready pod became ready (its Ready lastTransitionTime, ms); undefined when not ready or unknown */
export function podReadyTime(pod: PodWithConditions): number | undefined {
  const c = podReadyCondition(pod);
  if (c?.status !== 'True' || !c.lastTransitionTime) return undefined;
  const t = Date.parse(c.lastTransitionTime);
  return Number.isNaN(t) ? undefined : t;
}
