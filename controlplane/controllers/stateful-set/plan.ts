// What one StatefulSet sync should do, as stateful_set_control.go's updateStatefulSet
// decides it: replicas in [start, start+replicas) are (re)created lowest ordinal first,
// condemned pods deleted highest ordinal first, and a RollingUpdate replaces the highest
// ordinal not at the update revision, down to the partition. OrderedReady ("monotonic")
// stops at the first pod that is missing, terminating, or not Running+Ready(+Available);
// Parallel does every create/delete at once. Pure: the controller carries out the actions.
import type { KubeObject } from '../../../proto/meta.js';
import {
  availableAt,
  claimIsStale,
  claimOwnerUpToDate,
  claimsForOrdinal,
  identityMatches,
  isHealthy,
  isRunningAndAvailable,
  isRunningAndReady,
  isTerminating,
  ordinalOf,
  phaseOf,
  podName,
  revisionOf,
  startOrdinal,
} from './identity.js';
import { BURST_REPLICAS } from '../slow-start.js';

export interface StatefulSetPlanInput {
  set: KubeObject;
  /** the pods this set controls */
  pods: KubeObject[];
  /** PersistentVolumeClaims of the namespace, by name */
  claims: Map<string, KubeObject>;
  currentRevision: string;
  updateRevision: string;
  /** getStatefulSetRevisions' collision count (default: the set's status) */
  collisionCount?: number;
  now: number;
}

export type StatefulSetAction =
  | { type: 'create'; ordinal: number; revision: 'current' | 'update' }
  | { type: 'delete'; pod: KubeObject; reason: 'Failed' | 'Succeeded' | 'ScaleDown' | 'Update' }
  /** fix identity labels and/or the claims' owner references */
  | { type: 'update'; pod: KubeObject }
  /** a Pending pod whose claims are missing: create them */
  | { type: 'createClaims'; pod: KubeObject };

export interface StatefulSetStatus {
  observedGeneration?: number;
  replicas: number;
  readyReplicas: number;
  currentReplicas: number;
  updatedReplicas: number;
  availableReplicas: number;
  currentRevision: string;
  updateRevision: string;
  collisionCount: number;
}

export interface StatefulSetPlan {
  actions: StatefulSetAction[];
  status: StatefulSetStatus;
  /** why a monotonic sync stopped early (for logs and tests) */
  waitingFor?: string;
  /** re-sync then (minReadySeconds) */
  requeueAfterMs?: number;
}

export function planStatefulSet(input: StatefulSetPlanInput): StatefulSetPlan {
  const { set, claims, currentRevision, updateRevision, now } = input;
  const spec = set.spec ?? {};
  const setName = set.metadata.name!;
  const start = startOrdinal(set);
  const count = Number(spec.replicas ?? 1);
  const minReady = Number(spec.minReadySeconds ?? 0);
  const strategy = spec.updateStrategy ?? { type: 'RollingUpdate' };
  const rolling = strategy.type === 'RollingUpdate' ? strategy.rollingUpdate : undefined;
  const partition = Number(rolling?.partition ?? 0);

  // by index (ordinal - start); sparse: spec.replicas may be up to 2^31-1
  const slots = new Map<number, KubeObject>();
  const condemned: KubeObject[] = [];
  for (const p of input.pods) {
    const ord = ordinalOf(p, setName);
    if (ord < 0) continue;
    if (ord >= start && ord < start + count) slots.set(ord - start, p);
    else condemned.push(p);
  }
  condemned.sort((a, b) => ordinalOf(b, setName) - ordinalOf(a, setName));

  const occupied = [...slots.keys()].sort((a, b) => a - b);
  const status = computeStatus(
    set,
    [...occupied.map((i) => slots.get(i)!), ...condemned],
    currentRevision,
    updateRevision,
    minReady,
    now,
    input.collisionCount,
  );
  const plan: StatefulSetPlan = { actions: [], status };
  const availableIn = (p: KubeObject) => {
    const at = availableAt(p, minReady);
    if (at !== undefined && at > now) plan.requeueAfterMs = Math.min(plan.requeueAfterMs ?? Infinity, at - now);
  };
  for (const p of [...slots.values(), ...condemned]) if (isRunningAndReady(p)) availableIn(p);

  // The first unhealthy pod: a missing or unhealthy replica, else the lowest unhealthy condemned one.
  let firstUnhealthy: KubeObject | 'missing' | undefined;
  for (let i = 0; i < count; i++) {
    const p = slots.get(i);
    if (!p || !isHealthy(p)) {
      firstUnhealthy = p ?? 'missing';
      break;
    }
  }
  if (!firstUnhealthy)
    for (let i = condemned.length - 1; i >= 0; i--)
      if (!isHealthy(condemned[i]!)) {
        firstUnhealthy = condemned[i];
        break;
      }

  if (set.metadata.deletionTimestamp) return plan;
  const monotonic = spec.podManagementPolicy !== 'Parallel';
  const stop = (why: string) => {
    plan.waitingFor = why;
    return plan;
  };

  // newVersionedStatefulSetPod: ordinals below the partition stay at the current revision.
  const revisionFor = (ord: number): 'current' | 'update' => {
    if (strategy.type !== 'RollingUpdate') return 'update';
    const below = rolling ? ord < start + partition : ord < start + Number(set.status?.currentReplicas ?? 0);
    return below ? 'current' : 'update';
  };
  const claimsUpToDate = (p: KubeObject) =>
    claimsForOrdinal(set, ordinalOf(p, setName)).every((c) => {
      const live = claims.get(c.metadata.name!);
      return !live || claimOwnerUpToDate(live, set, p);
    });

  // Parallel creates at most BURST_REPLICAS pods per sync; past that only existing pods are visited
  let creates = 0;
  let nextOccupied = 0;
  for (let i = 0; i < count; i++) {
    if (creates >= BURST_REPLICAS && !slots.has(i)) {
      while (nextOccupied < occupied.length && occupied[nextOccupied]! < i) nextOccupied++;
      if (nextOccupied >= occupied.length) break;
      i = occupied[nextOccupied]!;
    }
    const ord = start + i;
    let pod = slots.get(i);
    if (pod && (phaseOf(pod) === 'Failed' || phaseOf(pod) === 'Succeeded')) {
      plan.actions.push({ type: 'delete', pod, reason: phaseOf(pod) as 'Failed' | 'Succeeded' });
      slots.delete(i);
      pod = undefined;
    }
    if (!pod) {
      const name = podName(set, ord);
      if (claimsForOrdinal(set, ord).some((c) => claimIsStale(set, name, claims.get(c.metadata.name!)))) {
        if (monotonic) return stop(`stale claim of ${name}`);
        continue;
      }
      plan.actions.push({ type: 'create', ordinal: ord, revision: revisionFor(ord) });
      creates++;
      if (monotonic) return stop(`${name} to be created`);
      continue;
    }
    const name = pod.metadata.name!;
    if (phaseOf(pod) === 'Pending' && claimsForOrdinal(set, ord).some((c) => !claims.has(c.metadata.name!))) {
      plan.actions.push({ type: 'createClaims', pod });
    }
    if (isTerminating(pod) && monotonic) return stop(`${name} to terminate`);
    if (!isRunningAndReady(pod) && monotonic) return stop(`${name} to be Running and Ready`);
    if (!isRunningAndAvailable(pod, minReady, now) && monotonic) return stop(`${name} to be available`);
    if (!identityMatches(set, pod) || !claimsUpToDate(pod)) plan.actions.push({ type: 'update', pod });
  }

  // Claims of condemned pods get the pod as owner first (whenScaled=Delete), then the pods go.
  for (const p of condemned) if (!claimsUpToDate(p)) plan.actions.push({ type: 'update', pod: p });
  let deletes = 0;
  for (const p of condemned) {
    const name = p.metadata.name!;
    if (isTerminating(p)) {
      if (monotonic) return stop(`${name} to terminate`);
      continue;
    }
    if (!isRunningAndReady(p) && monotonic && p !== firstUnhealthy)
      return stop(`${name} to be Running and Ready before scale down`);
    if (!isRunningAndAvailable(p, minReady, now) && monotonic && p !== firstUnhealthy)
      return stop(`${name} to be available before scale down`);
    plan.actions.push({ type: 'delete', pod: p, reason: 'ScaleDown' });
    if (monotonic) return stop(`${name} to terminate`);
    // Parallel: at most BURST_REPLICAS scale-down deletions per sync (their events bring the next)
    if (++deletes >= BURST_REPLICAS) return stop(`${BURST_REPLICAS} pods to terminate`);
  }

  if (strategy.type === 'OnDelete') return plan;
  // Rolling update: the highest ordinal not at the update revision goes first, one at a time.
  const updateMin = rolling ? partition : 0;
  for (let t = count - 1; t >= updateMin; t--) {
    const pod = slots.get(t);
    if (!pod) return stop(`${podName(set, start + t)} to be created`);
    if (revisionOf(pod) !== updateRevision && !isTerminating(pod)) {
      plan.actions.push({ type: 'delete', pod, reason: 'Update' });
      return stop(`${pod.metadata.name} to be updated`);
    }
    if (!isHealthy(pod)) return stop(`${pod.metadata.name} to be updated`);
  }
  return plan;
}

/** updateStatus + completeRollingUpdate. */
export function computeStatus(
  set: KubeObject,
  pods: KubeObject[],
  currentRevision: string,
  updateRevision: string,
  minReady: number,
  now: number,
  collisionCount = Number(set.status?.collisionCount ?? 0),
): StatefulSetStatus {
  const s: StatefulSetStatus = {
    observedGeneration: set.metadata.generation,
    replicas: 0,
    readyReplicas: 0,
    currentReplicas: 0,
    updatedReplicas: 0,
    availableReplicas: 0,
    currentRevision,
    updateRevision,
    collisionCount,
  };
  for (const p of pods) {
    s.replicas++;
    if (isRunningAndReady(p)) {
      s.readyReplicas++;
      if (isRunningAndAvailable(p, minReady, now)) s.availableReplicas++;
    }
    if (!isTerminating(p)) {
      if (revisionOf(p) === currentRevision) s.currentReplicas++;
      if (revisionOf(p) === updateRevision) s.updatedReplicas++;
    }
  }
  if (
    (set.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate' &&
    s.updatedReplicas === s.replicas &&
    s.readyReplicas === s.replicas
  ) {
    s.currentReplicas = s.updatedReplicas;
    s.currentRevision = s.updateRevision;
  }
  return s;
}
