// Rollout steps as plans (rolling.go, recreate.go, sync.go scale): given the ReplicaSets as
// the cache shows them, how big each one should be next. The controller then writes the
// sizes. Pure, so the step math is tested as tables.
import type { KubeObject } from '../../../proto/meta.js';
import {
  getProportion,
  isRollingUpdate,
  maxSurge,
  maxUnavailable,
  newRSNewReplicas,
  replicasOf,
  sumAvailableReplicas,
  sumSpecReplicas,
} from './rollout-math.js';
import {
  byCreation,
  bySizeNewer,
  bySizeOlder,
  filterActive,
  findActiveOrLatest,
  isSaturated,
  maxReplicasAnnotation,
} from './replica-sets.js';

export interface ScaleStep {
  rs: KubeObject;
  to: number;
  /** write even when the size is unchanged (refreshes the desired/max-replicas annotations) */
  force?: boolean;
}

/** reconcileNewReplicaSet: the new RS's next size, undefined when it stays. */
export function planNewReplicaSetScale(d: KubeObject, allRSs: KubeObject[], newRS: KubeObject): number | undefined {
  const want = replicasOf(d);
  const have = replicasOf(newRS);
  if (have === want) return undefined;
  if (have > want) return want;
  const next = newRSNewReplicas(d, allRSs, newRS);
  return next === have ? undefined : next;
}

/**
 * reconcileOldReplicaSets: scale old ReplicaSets down as far as availability allows. First
 * their unhealthy replicas (cleanupUnhealthyReplicas, oldest RS first, bounded by
 * maxScaledDown = all - minAvailable - unavailable new), then available ones while more than
 * minAvailable pods are available (scaleDownOldReplicaSetsForRollingUpdate). Both rounds
 * are folded into one size per ReplicaSet.
 */
export function planOldReplicaSetsScaleDown(
  d: KubeObject,
  allRSs: KubeObject[],
  oldActive: KubeObject[],
  newRS: KubeObject,
): ScaleStep[] {
  if (sumSpecReplicas(oldActive) === 0) return [];
  const minAvailable = replicasOf(d) - maxUnavailable(d);
  const newUnavailable = replicasOf(newRS) - Number(newRS.status?.availableReplicas ?? 0);
  const maxScaledDown = sumSpecReplicas(allRSs) - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return [];

  const olds = [...oldActive].sort(byCreation);
  const size = new Map(olds.map((rs) => [rs, replicasOf(rs)]));
  let cleaned = 0;
  for (const rs of olds) {
    if (cleaned >= maxScaledDown) break;
    const n = size.get(rs)!;
    const available = Number(rs.status?.availableReplicas ?? 0);
    if (n === 0 || n === available) continue;
    const down = Math.min(maxScaledDown - cleaned, n - available);
    if (down <= 0) continue;
    size.set(rs, n - down);
    cleaned += down;
  }

  const availableNow = sumAvailableReplicas(allRSs);
  if (availableNow > minAvailable) {
    const total = availableNow - minAvailable;
    let scaled = 0;
    for (const rs of olds) {
      if (scaled >= total) break;
      const n = size.get(rs)!;
      if (n === 0) continue;
      const down = Math.min(n, total - scaled);
      size.set(rs, n - down);
      scaled += down;
    }
  }
  return olds.filter((rs) => size.get(rs) !== replicasOf(rs)).map((rs) => ({ rs, to: size.get(rs)! }));
}

/**
 * sync.go scale(): a scaling event (spec.replicas changed) outside a rollout step. One active
 * RS takes the whole count; a saturated new RS means the old ones go to zero; otherwise a
 * rolling Deployment spreads the difference over the active RSs in proportion to their size
 * (leftovers to the biggest).
 */
export function planScale(d: KubeObject, newRS: KubeObject | undefined, oldRSs: KubeObject[]): ScaleStep[] {
  const replicas = replicasOf(d);
  const single = findActiveOrLatest(newRS, oldRSs);
  if (single) return replicasOf(single) === replicas ? [] : [{ rs: single, to: replicas }];
  if (isSaturated(d, newRS)) return filterActive(oldRSs).map((rs) => ({ rs, to: 0 }));
  if (!isRollingUpdate(d)) return [];

  const active = filterActive([...oldRSs, newRS]);
  const allowed = replicas > 0 ? replicas + maxSurge(d) : 0;
  const toAdd = allowed - sumSpecReplicas(active);
  if (toAdd > 0) active.sort(bySizeNewer);
  else if (toAdd < 0) active.sort(bySizeOlder);
  const sizes = new Map<KubeObject, number>();
  let added = 0;
  for (const rs of active) {
    if (toAdd !== 0) {
      const p = getProportion(rs, d, toAdd, added, maxReplicasAnnotation(rs));
      sizes.set(rs, replicasOf(rs) + p);
      added += p;
    } else {
      sizes.set(rs, replicasOf(rs));
    }
  }
  return active.map((rs, i) => {
    let to = sizes.get(rs)!;
    if (i === 0 && toAdd !== 0) to = Math.max(0, to + toAdd - added);
    return { rs, to, force: true };
  });
}

/** Recreate: every active old RS to zero first. */
export function planRecreateScaleDown(oldRSs: KubeObject[]): ScaleStep[] {
  return filterActive(oldRSs).map((rs) => ({ rs, to: 0 }));
}

/**
 * oldPodsRunning: Recreate waits until no pod of an old RS is left (terminating pods count,
 * finished ones do not) before it starts the new one.
 */
export function oldPodsRunning(
  newRS: KubeObject | undefined,
  oldRSs: KubeObject[],
  podsByRS: Map<string, KubeObject[]>,
): boolean {
  if (oldRSs.some((rs) => Number(rs.status?.replicas ?? 0) > 0)) return true;
  for (const [uid, pods] of podsByRS) {
    if (newRS && newRS.metadata.uid === uid) continue;
    for (const p of pods) {
      const phase = p.status?.phase;
      if (phase === 'Failed' || phase === 'Succeeded') continue;
      return true;
    }
  }
  return false;
}
