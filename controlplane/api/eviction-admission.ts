// Admission for the pods/eviction subresource (pkg/registry/core/pod/storage/eviction.go):
// pods that are not running (Pending, Succeeded, Failed) or already being deleted skip
// the PodDisruptionBudget check; a pod covered by more than one PDB cannot be evicted
// (500); otherwise the one PDB must allow a disruption, and the eviction takes it by
// decrementing status.disruptionsAllowed and recording the pod in status.disruptedPods
// in one compare-and-swap through the storage path, so concurrent evictions (kubectl
// drain evicts every pod at once) cannot both spend the last disruption. A refused
// eviction is 429 TooManyRequests, which kubectl drain retries every 5 s. Admitted pods
// get the DisruptionTarget condition before the subresource deletes them.
import type { KubeObject, StatusCause } from '../../proto/meta.js';
import { isPodReady } from '../../proto/api/pod.js';
import { setStatusCondition, type StatusCondition } from '../../proto/api/conditions.js';
import { findResource } from '../resources/index.js';
import { selectorMatches, isEmptySelector } from '../resources/label-selector.js';
import { ApiError, forbidden, tooManyRequests } from './errors.js';
import { rfc3339, type ApiStorage } from './storage.js';

/** status.disruptedPods may hold at most this many pods the controller has not yet seen go */
export const MAX_DISRUPTED_POD_SIZE = 2000;
export const EVICTION_REFUSED = "Cannot evict pod as it would violate the pod's disruption budget.";
export const MULTIPLE_PDBS =
  'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.';

/** re-exported: the one home of apimeta.SetStatusCondition is proto/api/conditions.ts */
export { setStatusCondition };

/** pdbhelper.UpdateDisruptionAllowedCondition: DisruptionAllowed True/SufficientPods or False/InsufficientPods. */
export function updateDisruptionAllowedCondition(
  status: { disruptionsAllowed?: number; observedGeneration?: number; conditions?: StatusCondition[] },
  now: Date,
): void {
  const allowed = (status.disruptionsAllowed ?? 0) > 0;
  status.conditions = setStatusCondition(
    Array.isArray(status.conditions) ? status.conditions : [],
    {
      type: 'DisruptionAllowed',
      status: allowed ? 'True' : 'False',
      reason: allowed ? 'SufficientPods' : 'InsufficientPods',
      message: '',
      observedGeneration: status.observedGeneration ?? 0,
    },
    now,
  );
}

/** canIgnorePDB: evicting a pod that is not running, or already going, disrupts nothing. */
export function canIgnorePDB(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || !!pod.metadata.deletionTimestamp;
}

/** The PDBs covering a pod, as the eviction handler sees them: a nil or empty selector matches nothing. */
export function pdbsForPod(pdbs: KubeObject[], pod: KubeObject): KubeObject[] {
  return pdbs.filter(
    (pdb) =>
      pdb.metadata.namespace === pod.metadata.namespace &&
      pdb.spec?.selector &&
      !isEmptySelector(pdb.spec.selector) &&
      selectorMatches(pdb.spec.selector, pod.metadata.labels),
  );
}

function refused(message: string, cause: string, retryAfterSeconds: number): ApiError {
  const e = tooManyRequests(message, retryAfterSeconds);
  const details = e.details as { retryAfterSeconds?: number; causes?: StatusCause[] };
  if (!retryAfterSeconds) delete details.retryAfterSeconds; // no Retry-After: client-go hands the 429 to kubectl, which retries in 5 s
  details.causes = [{ reason: 'DisruptionBudget', message: cause } as StatusCause];
  return e;
}

/** checkAndDecrement on the current PDB (run inside the storage CAS loop). */
export function checkAndDecrement(pdb: KubeObject, podName: string, now: Date, dryRun = false): KubeObject {
  const name = pdb.metadata.name!;
  const st = (pdb.status ??= {});
  if ((st.observedGeneration ?? 0) < (pdb.metadata.generation ?? 1)) {
    throw refused(EVICTION_REFUSED, `The disruption budget ${name} is still being processed by the server.`, 10);
  }
  const allowed: number = st.disruptionsAllowed ?? 0;
  if (allowed < 0)
    throw forbidden(
      `poddisruptionbudget.policy "${name}" is forbidden: pdb disruptions allowed is negative`,
      'poddisruptionbudgets',
      name,
    );
  if (Object.keys(st.disruptedPods ?? {}).length > MAX_DISRUPTED_POD_SIZE) {
    throw forbidden(
      `poddisruptionbudget.policy "${name}" is forbidden: DisruptedPods map too big - too many evictions not confirmed by PDB controller`,
      'poddisruptionbudgets',
      name,
    );
  }
  if (allowed === 0) {
    throw refused(
      EVICTION_REFUSED,
      `The disruption budget ${name} needs ${st.desiredHealthy ?? 0} healthy pods and has ${st.currentHealthy ?? 0} currently`,
      0,
    );
  }
  st.disruptionsAllowed = allowed - 1;
  if (st.disruptionsAllowed === 0) updateDisruptionAllowedCondition(st, now);
  if (!dryRun) st.disruptedPods = { ...(st.disruptedPods ?? {}), [podName]: rfc3339(now) };
  return pdb;
}

export interface EvictionAdmissionOptions {
  now?: () => Date;
}

/**
 * The `admitEviction` hook for buildApiServer. Resolves when the pod may be deleted,
 * throws ApiError (429, 500, 403, 404) when it may not. The optional second argument
 * lets a caller that knows the request is a dry run keep the budget untouched.
 */
export function evictionAdmission(
  storage: ApiStorage,
  o: EvictionAdmissionOptions = {},
): (pod: KubeObject, opts?: { dryRun?: boolean }) => Promise<void> {
  const now = o.now ?? (() => new Date());
  const pdbDef = findResource('policy', 'v1', 'poddisruptionbudgets')!;
  const podDef = findResource('', 'v1', 'pods')!;

  const markDisruptionTarget = async (pod: KubeObject): Promise<void> => {
    if (pod.metadata.deletionTimestamp) return;
    try {
      await storage.guaranteedUpdate(
        podDef,
        pod.metadata.namespace,
        pod.metadata.name!,
        {},
        (cur) => {
          if (cur.metadata.uid !== pod.metadata.uid || cur.metadata.deletionTimestamp) return cur;
          const conds = (Array.isArray(cur.status?.conditions) ? cur.status.conditions : []) as StatusCondition[];
          const had = conds.find((c) => c.type === 'DisruptionTarget');
          const cond = {
            type: 'DisruptionTarget',
            status: 'True',
            reason: 'EvictionByEvictionAPI',
            message: 'Eviction API: evicting',
            lastProbeTime: null,
            lastTransitionTime:
              had?.status === 'True' && had.lastTransitionTime ? had.lastTransitionTime : rfc3339(now()),
          };
          cur.status = {
            ...(cur.status ?? {}),
            conditions: [...conds.filter((c) => c.type !== 'DisruptionTarget'), cond],
          };
          return cur;
        },
        'status',
      );
    } catch (e) {
      if (!(e instanceof ApiError && (e.code === 404 || e.code === 409))) throw e;
    }
  };

  return async (pod, opts = {}) => {
    const dryRun = !!opts.dryRun;
    if (!canIgnorePDB(pod)) {
      const all = (await storage.list(pdbDef, pod.metadata.namespace)).items;
      const pdbs = pdbsForPod(all, pod);
      if (pdbs.length > 1) throw new ApiError(500, 'InternalError', MULTIPLE_PDBS);
      const pdb = pdbs[0];
      if (pdb) {
        const st = pdb.status ?? {};
        // an unready pod does not count as healthy: evicting it costs nothing while the budget holds
        const unhealthyFree =
          !isPodReady(pod) &&
          (pdb.spec?.unhealthyPodEvictionPolicy === 'AlwaysAllow' ||
            ((st.currentHealthy ?? 0) >= (st.desiredHealthy ?? 0) && (st.desiredHealthy ?? 0) > 0));
        if (!unhealthyFree) {
          await storage.guaranteedUpdate(
            pdbDef,
            pdb.metadata.namespace,
            pdb.metadata.name!,
            { dryRun },
            (cur) => checkAndDecrement(cur, pod.metadata.name!, now(), dryRun),
            'status',
          );
        }
      }
    }
    if (!dryRun) await markDisruptionTarget(pod);
  };
}
