// Which pods a ReplicaSet deletes when it has too many (replica_set.go getPodsToDelete and
// controller_utils.go ActivePodsWithRanks, with LogarithmicScaleDown as in Kubernetes 1.32):
// unscheduled < scheduled, Pending < Unknown < Running, not ready < ready, lower
// pod-deletion-cost first, doubled up on a node first, ready more recently first, more
// restarts first, newer first. Pure.
import type { KubeObject } from '../../../proto/meta.js';
import { isPodReady, podReadyTime } from '../../../proto/api/pod.js';
import { isPodActive } from './pods.js';

const PHASE_ORDINAL: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };
const DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost';

export interface RankedPod {
  pod: KubeObject;
  /** number of active related pods on the same node (more = delete first) */
  rank: number;
}

function phaseOrdinal(pod: KubeObject): number {
  return PHASE_ORDINAL[pod.status?.phase ?? ''] ?? 0;
}

function deletionCost(pod: KubeObject): number {
  const v = pod.metadata.annotations?.[DELETION_COST];
  if (v === undefined) return 0;
  const n = Number(v);
  return Number.isInteger(n) ? n : 0;
}

function maxRestarts(pod: KubeObject): number {
  let max = 0;
  for (const list of [pod.status?.initContainerStatuses, pod.status?.containerStatuses]) {
    if (!Array.isArray(list)) continue;
    for (const c of list) max = Math.max(max, Number(c?.restartCount ?? 0));
  }
  return max;
}

function time(s: unknown): number | undefined {
  if (typeof s !== 'string') return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

/** floor(log2(now - t)) in nanoseconds, -1 for t in the future (logarithmicRankDiff) */
function logBucket(t: number, now: number): number {
  const d = (now - t) * 1e6;
  return d > 0 ? Math.floor(Math.log2(d)) : -1;
}

/** afterOrZero: a zero (unknown) time sorts first, else the later time */
function afterOrZero(a: number | undefined, b: number | undefined): boolean {
  if (a === undefined || b === undefined) return a === undefined;
  return a > b;
}

/** < 0 when `a` should be deleted before `b` (ActivePodsWithRanks.Less). */
export function compareForDeletion(a: RankedPod, b: RankedPod, now: number): number {
  const less = (x: RankedPod, y: RankedPod): boolean => {
    const px = x.pod,
      py = y.pod;
    const nx = px.spec?.nodeName ?? '',
      ny = py.spec?.nodeName ?? '';
    // 1. unassigned < assigned
    if (nx !== ny && (nx === '' || ny === '')) return nx === '';
    // 2. Pending < Unknown < Running
    if (phaseOrdinal(px) !== phaseOrdinal(py)) return phaseOrdinal(px) < phaseOrdinal(py);
    // 3. not ready < ready
    const rx = isPodReady(px),
      ry = isPodReady(py);
    if (rx !== ry) return !rx;
    // 4. lower pod-deletion-cost < higher
    const cx = deletionCost(px),
      cy = deletionCost(py);
    if (cx !== cy) return cx < cy;
    // 5. doubled up < not doubled up
    if (x.rank !== y.rank) return x.rank > y.rank;
    // 6. ready for less time < more time (logarithmic buckets, then uid)
    if (rx && ry) {
      const tx = podReadyTime(px),
        ty = podReadyTime(py);
      if (tx !== ty) {
        if (tx === undefined || ty === undefined) return afterOrZero(tx, ty);
        const diff = logBucket(tx, now) - logBucket(ty, now);
        if (diff === 0) return (px.metadata.uid ?? '') < (py.metadata.uid ?? '');
        return diff < 0;
      }
    }
    // 7. more restarts < fewer restarts
    const mx = maxRestarts(px),
      my = maxRestarts(py);
    if (mx !== my) return mx > my;
    // 8. newer < older (logarithmic buckets, then uid)
    const kx = time(px.metadata.creationTimestamp),
      ky = time(py.metadata.creationTimestamp);
    if (kx !== ky) {
      if (kx === undefined || ky === undefined) return afterOrZero(kx, ky);
      const diff = logBucket(kx, now) - logBucket(ky, now);
      if (diff === 0) return (px.metadata.uid ?? '') < (py.metadata.uid ?? '');
      return diff < 0;
    }
    return false;
  };
  if (less(a, b)) return -1;
  if (less(b, a)) return 1;
  return 0;
}

/**
 * The `diff` pods to delete out of `pods` (all active pods of the ReplicaSet). `related` are
 * the active pods of the ReplicaSet and its siblings (same controller): pods sharing a node
 * with many of them go first, so a rollout spreads out again.
 */
export function getPodsToDelete(pods: KubeObject[], related: KubeObject[], diff: number, now: number): KubeObject[] {
  if (diff >= pods.length) return [...pods];
  const onNode = new Map<string, number>();
  for (const p of related) {
    if (!isPodActive(p)) continue;
    const n = p.spec?.nodeName ?? '';
    onNode.set(n, (onNode.get(n) ?? 0) + 1);
  }
  const ranked: RankedPod[] = pods.map((pod) => ({ pod, rank: onNode.get(pod.spec?.nodeName ?? '') ?? 0 }));
  ranked.sort((a, b) => compareForDeletion(a, b, now));
  return ranked.slice(0, diff).map((r) => r.pod);
}
