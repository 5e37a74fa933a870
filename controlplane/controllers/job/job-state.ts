// Pure decisions of the Job controller (pkg/controller/job/job_controller.go and
// pod_backoff_utils.go): which pods count as active/failed/terminating, how many pods
// to want, the pod-creation back-off, backoffLimit/activeDeadlineSeconds checks, the
// Job conditions and ttlSecondsAfterFinished. No I/O: job-controller.ts acts on these.
import type { KubeObject } from '../../../proto/meta.js';
import { isPodReady, podReadyTime } from '../../../proto/api/pod.js';
import { isConditionTrue } from '../../../proto/api/conditions.js';
import { rfc3339 } from '../../../proto/api/time.js';

export const JOB_TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';
/** Same pod-creation back-off as Kubernetes: 10 s doubling per failure to 6 min. */
export const DEFAULT_POD_FAILURE_BACKOFF_MS = 10_000;
export const MAX_POD_FAILURE_BACKOFF_MS = 360_000;
/** Caps as MaxPodCreateDeletePerSync / MaxUncountedPods. */
export const MAX_POD_CREATE_DELETE_PER_SYNC = 500;
export const MAX_UNCOUNTED_PODS = 500;

/** batch/v1 JobCondition (the generated type) */
export type { JobCondition } from '../../../proto/api/types.gen.js';
import type { ContainerStatus, JobCondition, PodCondition } from '../../../proto/api/types.gen.js';

export const REASON_BACKOFF_LIMIT = 'BackoffLimitExceeded';
export const REASON_DEADLINE = 'DeadlineExceeded';
export const REASON_COMPLETIONS = 'CompletionsReached';
export const MSG_BACKOFF_LIMIT = 'Job has reached the specified backoff limit';
export const MSG_DEADLINE = 'Job was active longer than specified deadline';
export const MSG_COMPLETIONS = 'Reached expected number of succeeded pods';

export function parseTime(s: unknown): number | undefined {
  if (typeof s !== 'string' || !s) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

// ---- pods ---------------------------------------------------------------------------

export function phaseOf(p: KubeObject): string {
  return p.status?.phase ?? '';
}

export function isTerminal(p: KubeObject): boolean {
  const ph = phaseOf(p);
  return ph === 'Succeeded' || ph === 'Failed';
}

/** controller.FilterActivePods: not finished and not being deleted. */
export function isActive(p: KubeObject): boolean {
  return !isTerminal(p) && !p.metadata.deletionTimestamp;
}

/** controller.IsPodTerminating: being deleted and not yet in a terminal phase. */
export function isTerminating(p: KubeObject): boolean {
  return !isTerminal(p) && !!p.metadata.deletionTimestamp;
}

export function hasTrackingFinalizer(p: KubeObject): boolean {
  return (p.metadata.finalizers ?? []).includes(JOB_TRACKING_FINALIZER);
}

/** podReplacementPolicy Failed (implied by a podFailurePolicy): terminating pods are not replaced yet. */
export function onlyReplaceFailedPods(job: KubeObject): boolean {
  return job.spec?.podReplacementPolicy === 'Failed' || !!job.spec?.podFailurePolicy;
}

/** isPodFailed: Failed phase, or (unless only failed pods are replaced) deleted before succeeding. */
export function isPodFailed(p: KubeObject, job: KubeObject): boolean {
  if (phaseOf(p) === 'Failed') return true;
  if (onlyReplaceFailedPods(job)) return false;
  return !!p.metadata.deletionTimestamp && phaseOf(p) !== 'Succeeded';
}

/** getFinishedTime: last container finishedAt, else Ready=False transition, else deletion, else creation. */
export function finishedTime(p: KubeObject): number {
  const statuses: (Partial<ContainerStatus> | null | undefined)[] = [...(p.status?.containerStatuses ?? [])];
  if (statuses.length > 0) {
    let max: number | undefined;
    let all = true;
    for (const cs of statuses) {
      const t = parseTime(cs?.state?.terminated?.finishedAt);
      if (t === undefined) {
        all = false;
        break;
      }
      if (max === undefined || t > max) max = t;
    }
    if (all && max !== undefined) return max;
  }
  const ready = (p.status?.conditions ?? []).find(
    (c: Partial<PodCondition> | null | undefined) => c?.type === 'Ready' && c?.status === 'False',
  );
  const readyT = parseTime(ready?.lastTransitionTime);
  if (readyT !== undefined) return readyT;
  const del = parseTime(p.metadata.deletionTimestamp);
  if (del !== undefined) return del;
  return parseTime(p.metadata.creationTimestamp) ?? 0;
}

function maxRestarts(p: KubeObject): number {
  return Math.max(
    0,
    ...(p.status?.containerStatuses ?? []).map((c: Partial<ContainerStatus> | null | undefined) =>
      Number(c?.restartCount ?? 0),
    ),
  );
}

const PHASE_ORDINAL: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/** controller.ActivePods ordering: the pods it is cheapest to lose come first. */
export function compareForRemoval(a: KubeObject, b: KubeObject): number {
  const an = a.spec?.nodeName ?? '';
  const bn = b.spec?.nodeName ?? '';
  if (an !== bn && (!an || !bn)) return !an ? -1 : 1;
  const ap = PHASE_ORDINAL[phaseOf(a)] ?? 0;
  const bp = PHASE_ORDINAL[phaseOf(b)] ?? 0;
  if (ap !== bp) return ap - bp;
  const ar = isPodReady(a);
  const br = isPodReady(b);
  if (ar !== br) return ar ? 1 : -1;
  if (ar && br) {
    const at = podReadyTime(a);
    const bt = podReadyTime(b);
    if (at !== bt) return afterOrZero(at, bt) ? -1 : 1;
  }
  const ax = maxRestarts(a);
  const bx = maxRestarts(b);
  if (ax !== bx) return bx - ax;
  const ac = parseTime(a.metadata.creationTimestamp);
  const bc = parseTime(b.metadata.creationTimestamp);
  if (ac !== bc) return afterOrZero(ac, bc) ? -1 : 1;
  return 0;
}

function afterOrZero(a: number | undefined, b: number | undefined): boolean {
  if (a === undefined || b === undefined) return a === undefined;
  return a > b;
}

/** activePodsForRemoval (NonIndexed): the first n active pods in removal order. */
export function activePodsForRemoval(active: KubeObject[], n: number): KubeObject[] {
  if (n <= 0) return [];
  return [...active].sort(compareForRemoval).slice(0, n);
}

// ---- counting -----------------------------------------------------------------------

/**
 * manageJob's target: without completions, `parallelism` until the first success, then
 * whatever still runs; with completions, never more than the remaining completions.
 */
export function wantActive(job: KubeObject, active: number, succeeded: number): number {
  const parallelism = Number(job.spec?.parallelism ?? 1);
  const completions = job.spec?.completions;
  if (completions === undefined || completions === null) return succeeded > 0 ? active : parallelism;
  return Math.max(0, Math.min(parallelism, Number(completions) - succeeded));
}

/** The number of pods to create (positive) or delete (negative) this sync. */
export function podDelta(job: KubeObject, active: number, succeeded: number, terminating: number): number {
  const want = wantActive(job, active, succeeded);
  if (active > want) return -Math.min(active - want, MAX_POD_CREATE_DELETE_PER_SYNC);
  const blocking = onlyReplaceFailedPods(job) ? terminating : 0;
  const diff = want - blocking - active;
  return diff > 0 ? Math.min(diff, MAX_POD_CREATE_DELETE_PER_SYNC) : 0;
}

/** Whether the job's success criteria are met (Complete once the pods are accounted for). */
export function isComplete(job: KubeObject, succeeded: number, active: number): boolean {
  const completions = job.spec?.completions;
  if (completions === undefined || completions === null) return succeeded > 0 && active === 0;
  return succeeded >= Number(completions) && active === 0;
}

/**
 * The pod-creation back-off as backoffRecord computes it, from the pods we can see:
 * failures after the last success, 10 s doubling per failure (capped), counted from
 * the last failure's finish time. Returns the milliseconds still to wait (0 = create now).
 */
export function backoffRemainingMs(
  finished: Array<{ failed: boolean; at: number }>,
  now: number,
  base = DEFAULT_POD_FAILURE_BACKOFF_MS,
  max = MAX_POD_FAILURE_BACKOFF_MS,
): number {
  const lastSuccess = Math.max(-Infinity, ...finished.filter((f) => !f.failed).map((f) => f.at));
  const failures = finished.filter((f) => f.failed && f.at > lastSuccess);
  if (failures.length === 0) return 0;
  const lastFailure = Math.max(...failures.map((f) => f.at));
  let backoff = base;
  for (let i = 1; i < failures.length; i++) {
    backoff *= 2;
    if (backoff >= max) {
      backoff = max;
      break;
    }
  }
  const elapsed = now - lastFailure;
  return backoff < elapsed ? 0 : backoff - elapsed;
}

/** pastBackoffLimitOnFailure: with restartPolicy OnFailure, container restarts of running pods count. */
export function pastBackoffLimitOnFailure(job: KubeObject, pods: KubeObject[]): boolean {
  if (job.spec?.template?.spec?.restartPolicy !== 'OnFailure') return false;
  let restarts = 0;
  for (const p of pods) {
    const ph = phaseOf(p);
    if (ph !== 'Running' && ph !== 'Pending') continue;
    for (const cs of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) {
      restarts += Number(cs?.restartCount ?? 0);
    }
  }
  const limit = Number(job.spec?.backoffLimit ?? 6);
  return limit === 0 ? restarts > 0 : restarts >= limit;
}

export function isSuspended(job: KubeObject): boolean {
  return job.spec?.suspend === true;
}

/** Milliseconds until activeDeadlineSeconds is reached (<= 0: past it); undefined when not applicable. */
export function activeDeadlineRemainingMs(
  job: KubeObject,
  startTime: number | undefined,
  now: number,
): number | undefined {
  const ads = job.spec?.activeDeadlineSeconds;
  if (ads === undefined || ads === null || startTime === undefined || isSuspended(job)) return undefined;
  return startTime + Number(ads) * 1000 - now;
}

// ---- conditions ---------------------------------------------------------------------

/** The terminal condition type (Complete or Failed) when the job is finished. */
export function finishedType(job: KubeObject): 'Complete' | 'Failed' | undefined {
  if (isConditionTrue(job.status?.conditions, 'Complete')) return 'Complete';
  if (isConditionTrue(job.status?.conditions, 'Failed')) return 'Failed';
  return undefined;
}

export function newCondition(type: string, reason: string, message: string, now: number): JobCondition {
  const t = rfc3339(now);
  return { type, status: 'True', lastProbeTime: t, lastTransitionTime: t, reason, message };
}

/**
 * ensureJobConditionStatus: set the condition's status (and reason/message) when it
 * changes; a missing condition is only added when it is True. Returns whether it changed.
 */
export function ensureCondition(
  conds: JobCondition[],
  type: string,
  status: 'True' | 'False',
  reason: string,
  message: string,
  now: number,
): boolean {
  const t = rfc3339(now);
  const c = conds.find((x) => x.type === type);
  if (c) {
    if (c.status === status) return false;
    c.status = status;
    c.reason = reason;
    c.message = message;
    c.lastProbeTime = t;
    c.lastTransitionTime = t;
    return true;
  }
  if (status !== 'True') return false;
  conds.push({ type, status, lastProbeTime: t, lastTransitionTime: t, reason, message });
  return true;
}

/** When the job finished: the Complete/Failed condition's transition time. */
export function jobFinishTime(job: KubeObject): number | undefined {
  for (const c of job.status?.conditions ?? []) {
    if ((c?.type === 'Complete' || c?.type === 'Failed') && c?.status === 'True')
      return parseTime(c.lastTransitionTime);
  }
  return undefined;
}

/**
 * ttlafterfinished's timeLeft: milliseconds until a finished job with
 * ttlSecondsAfterFinished is due for deletion (<= 0: now); undefined when it never is.
 */
export function ttlRemainingMs(job: KubeObject, now: number): number | undefined {
  const ttl = job.spec?.ttlSecondsAfterFinished;
  if (ttl === undefined || ttl === null || job.metadata.deletionTimestamp) return undefined;
  if (!finishedType(job)) return undefined;
  const at = jobFinishTime(job);
  if (at === undefined) return undefined;
  return at + Number(ttl) * 1000 - now;
}

// ---- Indexed completion mode --------------------------------------------------------

export const COMPLETION_INDEX_ANNOTATION = 'batch.kubernetes.io/job-completion-index';

export function isIndexed(job: KubeObject): boolean {
  return job.spec?.completionMode === 'Indexed';
}

/** getCompletionIndex: the pod's index annotation, -1 when missing or invalid. */
export function completionIndexOf(p: KubeObject): number {
  const v = p.metadata.annotations?.[COMPLETION_INDEX_ANNOTATION];
  if (v === undefined || !/^[0-9]+$/.test(v)) return -1;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : -1;
}

/** parseIndexesFromString: "1,3-5" -> [1,3,4,5], ignoring what is out of [0, completions). */
export function parseIndexes(s: unknown, completions: number): number[] {
  const out = new Set<number>();
  if (typeof s !== 'string') return [];
  for (const part of s.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let i = a; i <= Math.min(b, completions - 1); i++) out.add(i);
  }
  return [...out].sort((x, y) => x - y);
}

/** orderedIntervals.String(): sorted indexes as "0-2,4". */
export function formatIndexes(indexes: Iterable<number>): string {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** firstPendingIndexes: the lowest indexes neither succeeded nor running (nor terminating, with podReplacementPolicy Failed). */
export function firstPendingIndexes(
  job: KubeObject,
  succeeded: Iterable<number>,
  active: KubeObject[],
  terminating: KubeObject[],
  count: number,
): number[] {
  const completions = Number(job.spec?.completions ?? 0);
  const taken = new Set<number>(succeeded);
  for (const p of active) taken.add(completionIndexOf(p));
  if (onlyReplaceFailedPods(job)) for (const p of terminating) taken.add(completionIndexOf(p));
  const out: number[] = [];
  for (let i = 0; i < completions && out.length < count; i++) if (!taken.has(i)) out.push(i);
  return out;
}

/**
 * activePodsForRemoval (Indexed): pods without a valid index and all but the best pod
 * of a repeated index go first; then, to reach n, the cheapest of the rest.
 */
export function indexedPodsForRemoval(job: KubeObject, active: KubeObject[], n: number): KubeObject[] {
  const completions = Number(job.spec?.completions ?? 0);
  const rm: KubeObject[] = [];
  const left: KubeObject[] = [];
  const byIndex = new Map<number, KubeObject[]>();
  for (const p of active) {
    const ix = completionIndexOf(p);
    if (ix < 0 || ix >= completions) {
      rm.push(p);
      continue;
    }
    const group = byIndex.get(ix);
    if (group) group.push(p);
    else byIndex.set(ix, [p]);
  }
  for (const group of byIndex.values()) {
    const sorted = [...group].sort(compareForRemoval);
    rm.push(...sorted.slice(0, -1));
    left.push(sorted[sorted.length - 1]!);
  }
  if (rm.length < n) rm.push(...[...left].sort(compareForRemoval).slice(0, n - rm.length));
  return rm;
}
