// Rollout arithmetic (deploymentutil: ResolveFenceposts, MaxSurge, MaxUnavailable,
// NewRSNewReplicas, GetProportion): int-or-percent values resolve against spec.replicas,
// surge rounding up and unavailability down; both zero means one may be unavailable.
import type { KubeObject } from '../../../proto/meta.js';

export type IntOrString = number | string | undefined | null;

/** intstr.GetScaledValueFromIntOrPercent. Throws for a string that is not a percentage. */
export function scaledValueFromIntOrPercent(v: IntOrString, total: number, roundUp: boolean): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  const m = /^(-?[0-9]+)%$/.exec(v);
  if (!m) throw new Error(`invalid value for IntOrString: invalid type: string is not a percentage`);
  const pct = Number(m[1]);
  const x = (pct * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/** [maxSurge, maxUnavailable] for `desired` replicas. */
export function resolveFenceposts(
  maxSurge: IntOrString,
  maxUnavailable: IntOrString,
  desired: number,
): [number, number] {
  const surge = scaledValueFromIntOrPercent(maxSurge ?? 0, desired, true);
  let unavailable = scaledValueFromIntOrPercent(maxUnavailable ?? 0, desired, false);
  if (surge === 0 && unavailable === 0) unavailable = 1; // the rollout must be able to make progress
  return [surge, unavailable];
}

export function replicasOf(o: KubeObject | undefined): number {
  return Number(o?.spec?.replicas ?? 0);
}

export function isRollingUpdate(d: KubeObject): boolean {
  return d.spec?.strategy?.type === 'RollingUpdate';
}

export function maxSurge(d: KubeObject): number {
  if (!isRollingUpdate(d)) return 0;
  const ru = d.spec.strategy.rollingUpdate ?? {};
  return resolveFenceposts(ru.maxSurge, ru.maxUnavailable, replicasOf(d))[0];
}

export function maxUnavailable(d: KubeObject): number {
  const replicas = replicasOf(d);
  if (!isRollingUpdate(d) || replicas === 0) return 0;
  const ru = d.spec.strategy.rollingUpdate ?? {};
  const u = resolveFenceposts(ru.maxSurge, ru.maxUnavailable, replicas)[1];
  return Math.min(u, replicas);
}

export function sumSpecReplicas(rss: Array<KubeObject | undefined>): number {
  let n = 0;
  for (const rs of rss) if (rs) n += replicasOf(rs);
  return n;
}

function sumStatus(rss: Array<KubeObject | undefined>, field: string): number {
  let n = 0;
  for (const rs of rss) if (rs) n += Number(rs.status?.[field] ?? 0);
  return n;
}

export const sumActualReplicas = (rss: Array<KubeObject | undefined>) => sumStatus(rss, 'replicas');
export const sumReadyReplicas = (rss: Array<KubeObject | undefined>) => sumStatus(rss, 'readyReplicas');
export const sumAvailableReplicas = (rss: Array<KubeObject | undefined>) => sumStatus(rss, 'availableReplicas');

/** How big the new ReplicaSet may be now (NewRSNewReplicas). */
export function newRSNewReplicas(d: KubeObject, allRSs: Array<KubeObject | undefined>, newRS: KubeObject): number {
  const replicas = replicasOf(d);
  if (isRollingUpdate(d)) {
    const surge = scaledValueFromIntOrPercent(d.spec.strategy.rollingUpdate?.maxSurge, replicas, true);
    const current = sumSpecReplicas(allRSs);
    const maxTotal = replicas + surge;
    if (current >= maxTotal) return replicasOf(newRS); // cannot scale up
    const up = Math.min(maxTotal - current, replicas - replicasOf(newRS));
    return replicasOf(newRS) + up;
  }
  return replicas; // Recreate
}

/** Go's math.Round: half away from zero. */
function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/**
 * This ReplicaSet's share of a proportional scale (GetProportion / getReplicaSetFraction):
 * its size times the new max size over the max size it was sized for (max-replicas).
 */
export function getProportion(
  rs: KubeObject,
  d: KubeObject,
  toAdd: number,
  added: number,
  maxReplicasAnnotation: number | undefined,
): number {
  const size = replicasOf(rs);
  if (size === 0 || toAdd === 0 || toAdd === added) return 0;
  let fraction: number;
  if (replicasOf(d) === 0) {
    fraction = -size;
  } else {
    const deploymentMax = replicasOf(d) + maxSurge(d);
    const annotated =
      maxReplicasAnnotation && maxReplicasAnnotation > 0 ? maxReplicasAnnotation : Number(d.status?.replicas ?? 0);
    fraction = annotated > 0 ? roundHalfAway((size * deploymentMax) / annotated) - size : 0;
  }
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
}
