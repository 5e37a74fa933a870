// ReplicaSet status from its active pods (replica_set_utils.go calculateStatus and
// updateReplicaSetStatus): replicas, fullyLabeledReplicas, readyReplicas, availableReplicas
// after minReadySeconds, the ReplicaFailure condition, and observedGeneration. Counters that
// are omitempty in k8s.io/api are left out at zero, as kube-apiserver serialises them.
import type { KubeObject } from '../../../proto/meta.js';
import { canonicalJson, clone } from '../../../proto/canonical.js';
import { rfc3339 } from '../../api/storage.js';
import { isPodAvailable, isPodReady } from '../../../proto/api/pod.js';

export interface ReplicaSetStatus {
  replicas: number;
  fullyLabeledReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  observedGeneration?: number;
  conditions?: Array<{ type: string; status: string; lastTransitionTime?: string; reason?: string; message?: string }>;
  [k: string]: unknown;
}

function labelsMatch(
  template: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  for (const [k, v] of Object.entries(template ?? {})) if (labels?.[k] !== v) return false;
  return true;
}

function setCount(
  st: ReplicaSetStatus,
  field: 'fullyLabeledReplicas' | 'readyReplicas' | 'availableReplicas',
  n: number,
): void {
  if (n) st[field] = n;
  else delete st[field];
}

/**
 * The status the ReplicaSet should have given its claimed active pods. `manageError` is the
 * error of this sync's create/delete round, if any (it sets ReplicaFailure). observedGeneration
 * is left as it was: replicaSetStatusWithGeneration sets it when a write is needed.
 */
export function calculateReplicaSetStatus(
  rs: KubeObject,
  pods: KubeObject[],
  manageError: Error | undefined,
  now: Date,
): ReplicaSetStatus {
  const st: ReplicaSetStatus = { ...(clone(rs.status) ?? {}), replicas: 0 };
  const templateLabels = rs.spec?.template?.metadata?.labels as Record<string, string> | undefined;
  const minReady = Number(rs.spec?.minReadySeconds ?? 0);
  let fully = 0,
    ready = 0,
    available = 0;
  for (const p of pods) {
    if (labelsMatch(templateLabels, p.metadata.labels)) fully++;
    if (isPodReady(p)) {
      ready++;
      if (isPodAvailable(p, minReady, now.getTime())) available++;
    }
  }
  const conds = Array.isArray(st.conditions) ? st.conditions : [];
  const failure = conds.find((c) => c.type === 'ReplicaFailure');
  if (manageError && !failure) {
    const diff = pods.length - Number(rs.spec?.replicas ?? 0);
    const reason = diff < 0 ? 'FailedCreate' : diff > 0 ? 'FailedDelete' : '';
    st.conditions = [
      ...conds,
      {
        type: 'ReplicaFailure',
        status: 'True',
        lastTransitionTime: rfc3339(now),
        reason,
        message: manageError.message,
      },
    ];
  } else if (!manageError && failure) {
    const rest = conds.filter((c) => c.type !== 'ReplicaFailure');
    if (rest.length) st.conditions = rest;
    else delete st.conditions;
  }
  st.replicas = pods.length;
  setCount(st, 'fullyLabeledReplicas', fully);
  setCount(st, 'readyReplicas', ready);
  setCount(st, 'availableReplicas', available);
  return st;
}

/**
 * The status to write, or undefined when the stored one is already right (the steady state:
 * same counters, same conditions, observedGeneration up to date).
 */
export function replicaSetStatusUpdate(rs: KubeObject, next: ReplicaSetStatus): ReplicaSetStatus | undefined {
  const cur = (rs.status ?? {}) as ReplicaSetStatus;
  const gen = Number(rs.metadata.generation ?? 0);
  const same =
    (cur.replicas ?? 0) === next.replicas &&
    (cur.fullyLabeledReplicas ?? 0) === (next.fullyLabeledReplicas ?? 0) &&
    (cur.readyReplicas ?? 0) === (next.readyReplicas ?? 0) &&
    (cur.availableReplicas ?? 0) === (next.availableReplicas ?? 0) &&
    (cur.observedGeneration ?? 0) === gen &&
    canonicalJson(cur.conditions ?? []) === canonicalJson(next.conditions ?? []);
  if (same) return undefined;
  const out = { ...next };
  if (gen) out.observedGeneration = gen;
  else delete out.observedGeneration;
  return out;
}
