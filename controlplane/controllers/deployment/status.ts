// Deployment status and conditions as the Kubernetes deployment controller writes them
// (sync.go calculateStatus, progress.go syncRolloutStatus / requeueStuckDeployment,
// checkPausedConditions): Available (MinimumReplicasAvailable / MinimumReplicasUnavailable)
// and Progressing (NewReplicaSetCreated, FoundNewReplicaSet, ReplicaSetUpdated,
// NewReplicaSetAvailable, ProgressDeadlineExceeded, DeploymentPaused, DeploymentResumed).
// Pure: `now` is passed in.
import type { KubeObject } from '../../../proto/meta.js';
import { clone } from '../../../proto/canonical.js';
import { rfc3339 } from '../../api/storage.js';
import {
  maxUnavailable,
  replicasOf,
  sumActualReplicas,
  sumAvailableReplicas,
  sumReadyReplicas,
  sumSpecReplicas,
} from './rollout-math.js';

export const REASON = {
  ReplicaSetUpdated: 'ReplicaSetUpdated',
  FailedRSCreate: 'ReplicaSetCreateError',
  NewReplicaSet: 'NewReplicaSetCreated',
  FoundNewRS: 'FoundNewReplicaSet',
  NewRSAvailable: 'NewReplicaSetAvailable',
  TimedOut: 'ProgressDeadlineExceeded',
  Paused: 'DeploymentPaused',
  Resumed: 'DeploymentResumed',
  MinimumReplicasAvailable: 'MinimumReplicasAvailable',
  MinimumReplicasUnavailable: 'MinimumReplicasUnavailable',
} as const;

export interface DeploymentCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastUpdateTime: string;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  conditions?: DeploymentCondition[];
  collisionCount?: number;
  [k: string]: unknown;
}

const MAX_INT32 = 2147483647;

export function newCondition(
  type: string,
  status: DeploymentCondition['status'],
  reason: string,
  message: string,
  now: Date,
): DeploymentCondition {
  const t = rfc3339(now);
  return { type, status, lastUpdateTime: t, lastTransitionTime: t, reason, message };
}

export function getCondition(status: DeploymentStatus | undefined, type: string): DeploymentCondition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/** SetDeploymentCondition: same status and reason is a no-op; same status keeps lastTransitionTime. */
export function setCondition(status: DeploymentStatus, cond: DeploymentCondition): void {
  const cur = getCondition(status, cond.type);
  if (cur && cur.status === cond.status && cur.reason === cond.reason) return;
  const c = { ...cond };
  if (cur && cur.status === c.status) c.lastTransitionTime = cur.lastTransitionTime;
  status.conditions = [...(status.conditions ?? []).filter((x) => x.type !== c.type), c];
}

export function removeCondition(status: DeploymentStatus, type: string): void {
  const rest = (status.conditions ?? []).filter((c) => c.type !== type);
  if (rest.length) status.conditions = rest;
  else delete status.conditions;
}

export function hasProgressDeadline(d: KubeObject): boolean {
  const p = d.spec?.progressDeadlineSeconds;
  return typeof p === 'number' && p !== MAX_INT32;
}

function statusOf(d: KubeObject): DeploymentStatus {
  return (d.status ?? {}) as DeploymentStatus;
}

/** Counters are omitempty in k8s.io/api: drop zeros so the stored status reads as Kubernetes'. */
function compact(st: DeploymentStatus): DeploymentStatus {
  for (const k of [
    'observedGeneration',
    'replicas',
    'updatedReplicas',
    'readyReplicas',
    'availableReplicas',
    'unavailableReplicas',
  ] as const) {
    if (!st[k]) delete st[k];
  }
  if (st.conditions && st.conditions.length === 0) delete st.conditions;
  if (st.collisionCount === undefined || st.collisionCount === null) delete st.collisionCount;
  return st;
}

/** calculateStatus: counters from the ReplicaSets' statuses, plus the Available condition. */
export function calculateStatus(
  allRSs: KubeObject[],
  newRS: KubeObject | undefined,
  d: KubeObject,
  now: Date,
): DeploymentStatus {
  const available = sumAvailableReplicas(allRSs);
  const total = sumSpecReplicas(allRSs);
  const prev = statusOf(d);
  const st: DeploymentStatus = {
    observedGeneration: Number(d.metadata.generation ?? 0),
    replicas: sumActualReplicas(allRSs),
    updatedReplicas: sumActualReplicas(newRS ? [newRS] : []),
    readyReplicas: sumReadyReplicas(allRSs),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, total - available),
  };
  if (prev.conditions?.length) st.conditions = clone(prev.conditions);
  if (prev.collisionCount !== undefined && prev.collisionCount !== null) st.collisionCount = prev.collisionCount;
  if (available >= replicasOf(d) - maxUnavailable(d)) {
    setCondition(
      st,
      newCondition('Available', 'True', REASON.MinimumReplicasAvailable, 'Deployment has minimum availability.', now),
    );
  } else {
    setCondition(
      st,
      newCondition(
        'Available',
        'False',
        REASON.MinimumReplicasUnavailable,
        'Deployment does not have minimum availability.',
        now,
      ),
    );
  }
  return compact(st);
}

/** DeploymentComplete: everything updated, available, no old replicas, generation observed. */
export function deploymentComplete(d: KubeObject, st: DeploymentStatus): boolean {
  const r = replicasOf(d);
  return (
    (st.updatedReplicas ?? 0) === r &&
    (st.replicas ?? 0) === r &&
    (st.availableReplicas ?? 0) === r &&
    (st.observedGeneration ?? 0) >= Number(d.metadata.generation ?? 0)
  );
}

/** DeploymentProgressing: more updated, fewer old, more ready or more available than before. */
export function deploymentProgressing(d: KubeObject, st: DeploymentStatus): boolean {
  const old = statusOf(d);
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (st.replicas ?? 0) - (st.updatedReplicas ?? 0);
  return (
    (st.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) ||
    newOld < oldOld ||
    (st.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
    (st.availableReplicas ?? 0) > (old.availableReplicas ?? 0)
  );
}

/** DeploymentTimedOut: no progress for progressDeadlineSeconds since the Progressing condition's lastUpdateTime. */
export function deploymentTimedOut(d: KubeObject, st: DeploymentStatus, now: Date): boolean {
  if (!hasProgressDeadline(d)) return false;
  const cond = getCondition(st, 'Progressing');
  if (!cond) return false;
  if (cond.reason === REASON.NewRSAvailable) return false;
  if (cond.reason === REASON.TimedOut) return true;
  const from = Date.parse(cond.lastUpdateTime);
  if (Number.isNaN(from)) return false;
  return from + Number(d.spec.progressDeadlineSeconds) * 1000 < now.getTime();
}

/** syncRolloutStatus without the write: the status a rollout step leaves behind. */
export function rolloutStatus(
  allRSs: KubeObject[],
  newRS: KubeObject | undefined,
  d: KubeObject,
  now: Date,
): DeploymentStatus {
  const st = calculateStatus(allRSs, newRS, d, now);
  if (!hasProgressDeadline(d)) removeCondition(st, 'Progressing');
  const cur = getCondition(statusOf(d), 'Progressing');
  const isComplete = (st.replicas ?? 0) === (st.updatedReplicas ?? 0) && cur?.reason === REASON.NewRSAvailable;
  if (hasProgressDeadline(d) && !isComplete) {
    if (deploymentComplete(d, st)) {
      const msg = newRS
        ? `ReplicaSet "${newRS.metadata.name}" has successfully progressed.`
        : `Deployment "${d.metadata.name}" has successfully progressed.`;
      setCondition(st, newCondition('Progressing', 'True', REASON.NewRSAvailable, msg, now));
    } else if (deploymentProgressing(d, st)) {
      const msg = newRS
        ? `ReplicaSet "${newRS.metadata.name}" is progressing.`
        : `Deployment "${d.metadata.name}" is progressing.`;
      const c = newCondition('Progressing', 'True', REASON.ReplicaSetUpdated, msg, now);
      // Progressing is special: any progress refreshes lastUpdateTime, even with the same reason.
      if (cur) {
        if (cur.status === 'True') c.lastTransitionTime = cur.lastTransitionTime;
        removeCondition(st, 'Progressing');
      }
      setCondition(st, c);
    } else if (deploymentTimedOut(d, st, now)) {
      const msg = newRS
        ? `ReplicaSet "${newRS.metadata.name}" has timed out progressing.`
        : `Deployment "${d.metadata.name}" has timed out progressing.`;
      setCondition(st, newCondition('Progressing', 'False', REASON.TimedOut, msg, now));
    }
  }
  // ReplicaFailure is promoted from the ReplicaSets' own conditions.
  const failure = replicaFailure(allRSs, newRS);
  if (failure) setCondition(st, failure);
  else removeCondition(st, 'ReplicaFailure');
  return st;
}

/** getReplicaFailures: the new RS's ReplicaFailure, else the first old RS's. */
function replicaFailure(allRSs: KubeObject[], newRS: KubeObject | undefined): DeploymentCondition | undefined {
  const fromRS = (rs: KubeObject): DeploymentCondition | undefined => {
    const c = (rs.status?.conditions ?? []).find((x: { type?: string }) => x.type === 'ReplicaFailure');
    if (!c) return undefined;
    return {
      type: 'ReplicaFailure',
      status: c.status,
      lastUpdateTime: c.lastTransitionTime,
      lastTransitionTime: c.lastTransitionTime,
      reason: c.reason ?? '',
      message: c.message ?? '',
    };
  };
  if (newRS) {
    const c = fromRS(newRS);
    if (c) return c;
  }
  for (const rs of allRSs) {
    if (newRS && rs.metadata.uid === newRS.metadata.uid) continue;
    const c = fromRS(rs);
    if (c) return c;
  }
  return undefined;
}

/**
 * requeueStuckDeployment: ms until this rollout should be checked against its deadline, or
 * undefined when no check is due (complete, timed out, no deadline, no condition).
 */
export function stuckRecheckDelay(d: KubeObject, st: DeploymentStatus, now: Date): number | undefined {
  const cur = getCondition(statusOf(d), 'Progressing');
  if (!hasProgressDeadline(d) || !cur) return undefined;
  if (deploymentComplete(d, st) || cur.reason === REASON.TimedOut) return undefined;
  const last = Date.parse(cur.lastUpdateTime);
  if (Number.isNaN(last)) return undefined;
  const after = last + Number(d.spec.progressDeadlineSeconds) * 1000 - now.getTime();
  return after < 1000 ? 0 : after + 1000;
}

/**
 * checkPausedConditions: Progressing Unknown/DeploymentPaused on pause, Unknown/DeploymentResumed
 * on resume, so a paused rollout never times out. Mutates d.status; true when changed.
 */
export function applyPausedCondition(d: KubeObject, now: Date): boolean {
  if (!hasProgressDeadline(d)) return false;
  const st = (d.status ??= {}) as DeploymentStatus;
  const cond = getCondition(st, 'Progressing');
  if (cond?.reason === REASON.TimedOut) return false;
  const pausedCond = cond?.reason === REASON.Paused;
  if (d.spec?.paused && !pausedCond) {
    setCondition(st, newCondition('Progressing', 'Unknown', REASON.Paused, 'Deployment is paused', now));
    return true;
  }
  if (!d.spec?.paused && pausedCond) {
    setCondition(st, newCondition('Progressing', 'Unknown', REASON.Resumed, 'Deployment is resumed', now));
    return true;
  }
  return false;
}
