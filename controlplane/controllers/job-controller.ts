// Job controller (pkg/controller/job): runs a Job's pods to completion. Pods carry the
// batch.kubernetes.io/job-tracking finalizer until their outcome is counted in
// status.succeeded/failed (via status.uncountedTerminatedPods), so a pod deleted early
// still counts. backoffLimit and activeDeadlineSeconds fail the Job; as in 1.31+ the
// interim FailureTarget / SuccessCriteriaMet condition comes first and Failed / Complete
// once no pod is still terminating. Also ttlSecondsAfterFinished (ttlafterfinished).
//
// Reads: the Job and its pods are read from storage at the start of each sync (a quorum
// read, so a sync never acts on a cache that has not yet seen the pods it just created;
// it replaces client-go's expectations). Writes: status with the read resourceVersion
// as precondition, so a concurrent change makes the sync retry.
import type { KubeObject } from '../../proto/meta.js';
import type { JobStatus } from '../../proto/api/types.gen.js';
import { clone } from '../../proto/canonical.js';
import { controllerRefOf } from '../../proto/api/owner.js';
import { isPodReady } from '../../proto/api/pod.js';
import { findCondition } from '../../proto/api/conditions.js';
import { ApiError, STALE_OBJECT, conflict, notFound } from '../api/errors.js';
import type { ControllerContext } from './context.js';
import { keyOf, splitKey, type Informer } from './informer.js';
import type { Controller } from './types.js';
import { WorkQueue } from './work-queue.js';
import { SLOW_START_INITIAL_BATCH_SIZE, slowStartBatch } from './slow-start.js';
import { ownedBy, podForJob } from './job/job-pods.js';
import {
  JOB_TRACKING_FINALIZER,
  MAX_POD_CREATE_DELETE_PER_SYNC,
  MAX_UNCOUNTED_PODS,
  MSG_BACKOFF_LIMIT,
  MSG_COMPLETIONS,
  MSG_DEADLINE,
  REASON_BACKOFF_LIMIT,
  REASON_COMPLETIONS,
  REASON_DEADLINE,
  activeDeadlineRemainingMs,
  activePodsForRemoval,
  backoffRemainingMs,
  completionIndexOf,
  ensureCondition,
  finishedTime,
  finishedType,
  firstPendingIndexes,
  formatIndexes,
  hasTrackingFinalizer,
  indexedPodsForRemoval,
  isActive,
  isComplete,
  isIndexed,
  isPodFailed,
  isSuspended,
  isTerminal,
  isTerminating,
  newCondition,
  parseIndexes,
  parseTime,
  pastBackoffLimitOnFailure,
  phaseOf,
  podDelta,
  ttlRemainingMs,
  wantActive,
  type JobCondition,
} from './job/job-state.js';
import { rfc3339 } from '../../proto/api/time.js';

const COMPONENT = 'job-controller';
const JOB_CONTROLLER_NAME = 'kubernetes.io/job-controller';

/** Indexed jobs count succeeded indexes (status.completedIndexes), not pods. */
interface IndexState {
  completions: number;
  prev: Set<number>;
  succeeded: Set<number>;
}

export function create(ctx: ControllerContext): Controller {
  return new JobController(ctx);
}

class JobController implements Controller {
  readonly name = COMPONENT;
  private readonly queue = new WorkQueue();
  private readonly orphanQueue = new WorkQueue();
  private readonly jobDef;
  private readonly podDef;
  private jobs!: Informer<'Job'>;
  private pods!: Informer<'Pod'>;

  constructor(private readonly ctx: ControllerContext) {
    this.jobDef = ctx.def('batch', 'v1', 'jobs');
    this.podDef = ctx.def('', 'v1', 'pods');
  }

  async start(): Promise<void> {
    this.jobs = this.ctx.informers.get('batch', 'v1', 'jobs');
    this.pods = this.ctx.informers.get('', 'v1', 'pods');
    this.jobs.on({
      add: (j) => this.queue.add(keyOf(j)),
      update: (_o, j) => this.queue.add(keyOf(j)),
      delete: (j) => this.jobDeleted(j),
    });
    this.pods.on({
      add: (p) => this.podChanged(p),
      update: (o, p) => {
        this.podChanged(p);
        if (controllerRefOf(o)?.uid !== controllerRefOf(p)?.uid) this.podChanged(o);
      },
      delete: (p) => this.podChanged(p),
    });
    const onError = (key: string, err: unknown) =>
      this.ctx.log.warn({ err, key, controller: COMPONENT }, 'sync failed');
    this.queue.run((k) => this.syncJob(k), 2, onError);
    this.orphanQueue.run((k) => this.syncOrphanPod(k), 1, onError);
  }

  stop(): void {
    this.queue.stop();
    this.orphanQueue.stop();
  }

  // ---- event handlers: only enqueue keys ----------------------------------------------

  private podChanged(p: KubeObject): void {
    const ref = controllerRefOf(p);
    const ns = p.metadata.namespace!;
    if (ref?.kind === 'Job' && ref.apiVersion.startsWith('batch/')) {
      const job = this.jobs.get(ns, ref.name);
      if (job && job.metadata.uid === ref.uid) {
        this.queue.add(`${ns}/${ref.name}`);
        if (hasTrackingFinalizer(p) && finishedType(job)) this.orphanQueue.add(keyOf(p));
        return;
      }
    }
    if (hasTrackingFinalizer(p)) this.orphanQueue.add(keyOf(p));
  }

  /** A deleted Job leaves its pods' finalizers to us (syncOrphanPod), or they would never go. */
  private jobDeleted(j: KubeObject): void {
    this.queue.add(keyOf(j));
    for (const p of this.pods.list(j.metadata.namespace)) {
      if (controllerRefOf(p)?.uid === j.metadata.uid && hasTrackingFinalizer(p)) this.orphanQueue.add(keyOf(p));
    }
  }

  // ---- orphan pods -----------------------------------------------------------------------

  /** syncOrphanPod: drop the tracking finalizer of a pod whose Job is gone or finished. */
  private async syncOrphanPod(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const pod = await this.ctx.storage.tryGet(this.podDef, namespace, name);
    if (!pod || !hasTrackingFinalizer(pod)) return;
    const ref = controllerRefOf(pod);
    if (ref?.kind === 'Job') {
      const job = await this.ctx.storage.tryGet(this.jobDef, namespace, ref.name);
      if (job && job.spec?.managedBy && job.spec.managedBy !== JOB_CONTROLLER_NAME) return; // not ours
      if (job && job.metadata.uid === ref.uid && !finishedType(job)) return; // its Job still tracks it
    } else if (ref) {
      return; // controlled by something that is not a Job: not ours to touch
    }
    await this.removeFinalizer(pod);
  }

  // ---- sync --------------------------------------------------------------------------------

  private async syncJob(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    let job = await this.ctx.storage.tryGet(this.jobDef, namespace, name);
    if (!job) return;
    const nowMs = this.ctx.now().getTime();
    if (finishedType(job)) return this.syncTtl(job, nowMs);
    // spec.managedBy: another controller owns this Job's pods and status.
    if (job.spec?.managedBy && job.spec.managedBy !== JOB_CONTROLLER_NAME) return;

    const all = (await this.ctx.storage.list(this.podDef, namespace)).items;
    const pods = all.filter((p) => ownedBy(p, job!));
    const status: JobStatus = clone(job.status ?? {});
    status.uncountedTerminatedPods ??= {};
    const uncounted = {
      succeeded: new Set<string>(status.uncountedTerminatedPods.succeeded ?? []),
      failed: new Set<string>(status.uncountedTerminatedPods.failed ?? []),
    };
    const activePods = pods.filter(isActive);
    let active = activePods.length;
    let ready = activePods.filter(isPodReady).length;
    let terminating = pods.filter(isTerminating).length;
    let indexes: IndexState | undefined;
    if (isIndexed(job)) {
      const completions = Number(job.spec?.completions ?? 0);
      const prev = new Set(parseIndexes(status.completedIndexes, completions));
      indexes = { completions, prev, succeeded: new Set(prev) };
    }
    const validIndex = (p: KubeObject) =>
      !indexes || (completionIndexOf(p) >= 0 && completionIndexOf(p) < indexes.completions);
    const fresh = pods.filter((p) => hasTrackingFinalizer(p) && validIndex(p));
    const newSucceeded = fresh.filter((p) => phaseOf(p) === 'Succeeded' && !uncounted.succeeded.has(p.metadata.uid!));
    const newFailed = fresh.filter((p) => isPodFailed(p, job!) && !uncounted.failed.has(p.metadata.uid!));
    let succeeded = (status.succeeded ?? 0) + newSucceeded.length + uncounted.succeeded.size;
    const failed = (status.failed ?? 0) + newFailed.length + uncounted.failed.size;
    if (indexes) {
      for (const p of newSucceeded) indexes.succeeded.add(completionIndexOf(p));
      succeeded = indexes.succeeded.size;
    }

    if (!status.startTime && !isSuspended(job)) status.startTime = rfc3339(nowMs);
    const startMs = parseTime(status.startTime);
    let requeueMs: number | undefined;
    const requeueIn = (ms: number) => {
      requeueMs = requeueMs === undefined ? ms : Math.min(requeueMs, ms);
    };

    // The finishing condition: an interim one found in status, or a new one.
    let finished: JobCondition | undefined;
    const scm = findCondition<JobCondition>(job.status?.conditions, 'SuccessCriteriaMet');
    const ft = findCondition<JobCondition>(job.status?.conditions, 'FailureTarget');
    if (scm?.status === 'True') finished = scm;
    else if (ft?.status === 'True') finished = newCondition('Failed', ft.reason ?? '', ft.message ?? '', nowMs);
    if (!finished) {
      const deadline = activeDeadlineRemainingMs(job, startMs, nowMs);
      if (failed > Number(job.spec?.backoffLimit ?? 6) || pastBackoffLimitOnFailure(job, pods)) {
        finished = newCondition('FailureTarget', REASON_BACKOFF_LIMIT, MSG_BACKOFF_LIMIT, nowMs);
      } else if (deadline !== undefined && deadline <= 0) {
        finished = newCondition('FailureTarget', REASON_DEADLINE, MSG_DEADLINE, nowMs);
      } else if (deadline !== undefined) {
        requeueIn(deadline);
      }
    }

    const errors: unknown[] = [];
    let suspendChanged = false;
    if (finished) {
      // Stop what still runs; the finalizers go below, once the pods are counted as failed.
      const r = await this.deletePods(job, activePods, false);
      if (r.deleted !== active) finished = undefined;
      active -= r.deleted;
      terminating += r.deleted;
      ready -= r.deletedReady;
      if (r.error) errors.push(r.error);
    } else {
      let managed = false;
      if (!job.metadata.deletionTimestamp) {
        managed = true;
        const m = await this.manageJob(job, activePods, pods, succeeded, terminating, nowMs, indexes);
        active = m.active;
        terminating += m.deleted;
        ready -= m.deletedReady;
        if (m.requeueMs !== undefined) requeueIn(m.requeueMs);
        if (m.error) errors.push(m.error);
      }
      if (isComplete(job, succeeded, active)) {
        finished = newCondition('SuccessCriteriaMet', REASON_COMPLETIONS, MSG_COMPLETIONS, nowMs);
      } else if (managed) {
        status.conditions ??= [];
        if (isSuspended(job)) {
          if (ensureCondition(status.conditions, 'Suspended', 'True', 'JobSuspended', 'Job suspended', nowMs)) {
            suspendChanged = true;
            this.event(job, 'Normal', 'Suspended', 'Job suspended');
          }
        } else if (ensureCondition(status.conditions, 'Suspended', 'False', 'JobResumed', 'Job resumed', nowMs)) {
          suspendChanged = true;
          this.event(job, 'Normal', 'Resumed', 'Job resumed');
          // activeDeadlineSeconds counts continuous activity: resuming restarts the clock.
          status.startTime = rfc3339(nowMs);
        }
        if (status.conditions.length === 0) delete status.conditions;
      }
    }

    status.active = active;
    status.ready = ready;
    status.terminating = terminating;
    job = await this.trackStatus(job, status, pods, finished, uncounted, terminating, suspendChanged, indexes);
    if (finishedType(job)) {
      const ttl = ttlRemainingMs(job, nowMs);
      if (ttl !== undefined) requeueIn(Math.max(0, ttl));
    }
    if (requeueMs !== undefined) this.queue.addAfter(key, Math.max(0, requeueMs) + 50);
    if (errors.length) throw errors[0];
  }

  /** manageJob: delete the excess or create the missing pods, respecting the failure back-off. */
  private async manageJob(
    job: KubeObject,
    activePods: KubeObject[],
    pods: KubeObject[],
    succeeded: number,
    terminating: number,
    nowMs: number,
    indexes?: IndexState,
  ): Promise<{ active: number; deleted: number; deletedReady: number; requeueMs?: number; error?: unknown }> {
    let active = activePods.length;
    if (isSuspended(job)) {
      const r = await this.deletePods(job, activePods, true);
      return { active: active - r.deleted, deleted: r.deleted, deletedReady: r.deletedReady, error: r.error };
    }
    // Excess pods (and, Indexed, repeated or invalid indexes) go without being counted as
    // failures: their finalizer is removed first. Deleting and creating never share a sync.
    const excess = Math.max(0, active - wantActive(job, active, succeeded));
    const toDelete = (
      indexes ? indexedPodsForRemoval(job, activePods, excess) : activePodsForRemoval(activePods, excess)
    ).slice(0, MAX_POD_CREATE_DELETE_PER_SYNC);
    if (toDelete.length > 0) {
      const r = await this.deletePods(job, toDelete, true);
      return { active: active - r.deleted, deleted: r.deleted, deletedReady: r.deletedReady, error: r.error };
    }
    const delta = podDelta(job, active, succeeded, terminating);
    if (delta <= 0) return { active, deleted: 0, deletedReady: 0 };
    const finished = pods
      .filter((p) => isTerminal(p) || p.metadata.deletionTimestamp)
      .map((p) => ({ failed: isPodFailed(p, job), at: finishedTime(p) }));
    const wait = backoffRemainingMs(finished, nowMs);
    if (wait > 0) return { active, deleted: 0, deletedReady: 0, requeueMs: wait };
    const pending = indexes
      ? firstPendingIndexes(job, indexes.succeeded, activePods, pods.filter(isTerminating), delta)
      : undefined;
    // Slow start (controller.SlowStartInitialBatchSize): batches 1, 2, 4... stop at the first
    // failing batch; podDelta is already at most MaxPodCreateDeletePerSync.
    const count = Math.min(pending ? pending.length : delta, MAX_POD_CREATE_DELETE_PER_SYNC);
    const { ok, error } = await slowStartBatch(count, SLOW_START_INITIAL_BATCH_SIZE, (i) =>
      this.createPod(job, pending?.[i]),
    );
    active += ok;
    return { active, deleted: 0, deletedReady: 0, error };
  }

  /**
   * trackJobStatusAndRemoveFinalizers: record finished pods in uncountedTerminatedPods,
   * flush, remove their finalizers, move them into the counters, and only then (no pod
   * uncounted, none terminating) turn the interim condition into Complete/Failed.
   */
  private async trackStatus(
    job: KubeObject<'Job'>,
    status: JobStatus,
    pods: KubeObject[],
    finished: JobCondition | undefined,
    uncounted: { succeeded: Set<string>; failed: Set<string> },
    terminating: number,
    needsFlushIn: boolean,
    indexes?: IndexState,
  ): Promise<KubeObject<'Job'>> {
    const nowMs = this.ctx.now().getTime();
    let needsFlush = needsFlushIn || statusChanged(job.status, status);
    const unc = (status.uncountedTerminatedPods ??= {});
    const withFinalizer = new Set(pods.filter(hasTrackingFinalizer).map((p) => p.metadata.uid!));
    if (cleanUncounted(status, withFinalizer)) needsFlush = true;
    const toRemove: KubeObject[] = [];
    let reachedMax = false;
    for (const p of pods) {
      if (!hasTrackingFinalizer(p)) continue;
      const uid = p.metadata.uid!;
      const considerFailed = isPodFailed(p, job);
      const canRemove = !!job.metadata.deletionTimestamp || !!finished || phaseOf(p) === 'Succeeded' || considerFailed;
      if (!canRemove) continue;
      toRemove.push(p);
      const ix = completionIndexOf(p);
      const validIndex = !indexes || (ix >= 0 && ix < indexes.completions);
      if (phaseOf(p) === 'Succeeded' && !uncounted.failed.has(uid)) {
        // Indexed: the completed index is the record, no uid needed
        if (indexes) {
          if (validIndex && !indexes.prev.has(ix)) needsFlush = true;
        } else if (!uncounted.succeeded.has(uid)) {
          (unc.succeeded ??= []).push(uid);
          needsFlush = true;
        }
      } else if (
        considerFailed ||
        (finished && finished.type !== 'SuccessCriteriaMet' && finished.type !== 'Complete')
      ) {
        // once the job is finishing, every pod not succeeded counts as failed
        if (!uncounted.failed.has(uid) && validIndex) {
          (unc.failed ??= []).push(uid);
          needsFlush = true;
        }
      }
      if ((unc.succeeded?.length ?? 0) + (unc.failed?.length ?? 0) >= MAX_UNCOUNTED_PODS) {
        reachedMax = true;
        break;
      }
    }
    if (indexes) {
      const completed = formatIndexes(indexes.succeeded);
      if (completed !== (status.completedIndexes ?? '')) needsFlush = true;
      status.succeeded = indexes.succeeded.size;
      if (completed) status.completedIndexes = completed;
      else delete status.completedIndexes;
    }
    status.conditions ??= [];
    if (finished?.type === 'FailureTarget') {
      status.conditions.push(finished);
      needsFlush = true;
      finished = newCondition('Failed', finished.reason ?? '', finished.message ?? '', nowMs);
    } else if (finished?.type === 'SuccessCriteriaMet') {
      if (!status.conditions.some((c: JobCondition) => c.type === 'SuccessCriteriaMet' && c.status === 'True')) {
        status.conditions.push(finished);
        needsFlush = true;
      }
      finished = newCondition('Complete', finished.reason ?? '', finished.message ?? '', nowMs);
    }
    if (status.conditions.length === 0) delete status.conditions;

    if (needsFlush) {
      job = await this.writeStatus(job, status);
      needsFlush = false;
    }
    let rmError: unknown;
    const results = await Promise.allSettled(toRemove.map((p) => this.removeFinalizer(p)));
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') withFinalizer.delete(toRemove[i]!.metadata.uid!);
      else rmError ??= r.reason;
    });
    if (cleanUncounted(status, withFinalizer)) needsFlush = true;
    if (rmError) {
      if (needsFlush) await this.writeStatus(job, status);
      throw rmError;
    }
    let jobFinished = false;
    const leftUncounted = (unc.succeeded?.length ?? 0) + (unc.failed?.length ?? 0);
    if (finished && !reachedMax && leftUncounted === 0 && terminating === 0) {
      status.conditions ??= [];
      ensureCondition(status.conditions, finished.type, 'True', finished.reason ?? '', finished.message ?? '', nowMs);
      if (finished.type === 'Complete') status.completionTime = finished.lastTransitionTime;
      jobFinished = true;
      needsFlush = true;
    }
    if (needsFlush) job = await this.writeStatus(job, status);
    if (jobFinished && finished) {
      if (finished.type === 'Complete') {
        if (typeof job.spec?.completions === 'number' && (status.succeeded ?? 0) > job.spec.completions) {
          this.event(
            job,
            'Warning',
            'TooManySucceededPods',
            'Too many succeeded pods running after completion count reached',
          );
        }
        this.event(job, 'Normal', 'Completed', 'Job completed');
      } else {
        this.event(job, 'Warning', finished.reason ?? 'Failed', finished.message ?? '');
      }
    }
    return job;
  }

  /** ttlafterfinished: delete a finished Job once ttlSecondsAfterFinished has passed (re-checked on a fresh read). */
  private async syncTtl(job: KubeObject, nowMs: number): Promise<void> {
    const left = ttlRemainingMs(job, nowMs);
    if (left === undefined) return;
    if (left > 0) {
      this.queue.addAfter(keyOf(job), left + 50);
      return;
    }
    try {
      await this.ctx.storage.delete(this.jobDef, job.metadata.namespace, job.metadata.name!, {
        propagationPolicy: 'Background',
        preconditions: { uid: job.metadata.uid },
      });
    } catch (e) {
      if (e instanceof ApiError && (e.code === 404 || e.code === 409)) return;
      throw e;
    }
  }

  // ---- writes ----------------------------------------------------------------------------

  private async writeStatus(job: KubeObject<'Job'>, status: JobStatus): Promise<KubeObject<'Job'>> {
    const rv = job.metadata.resourceVersion;
    return this.ctx.storage.guaranteedUpdate(
      this.jobDef,
      job.metadata.namespace,
      job.metadata.name!,
      {},
      (cur) => {
        if (cur.metadata.uid !== job.metadata.uid) throw notFound('jobs', job.metadata.name!, 'batch');
        if (cur.metadata.resourceVersion !== rv) throw conflict('jobs', job.metadata.name!, STALE_OBJECT, 'batch');
        const next = clone(status);
        // int32 with omitempty in batch/v1 (ready/terminating are pointers and stay at 0)
        for (const k of ['active', 'succeeded', 'failed'] as const) if (next[k] === 0) delete next[k];
        cur.status = next;
        return cur;
      },
      'status',
    );
  }

  private async createPod(job: KubeObject, index?: number): Promise<void> {
    // the cluster-wide creation rate (--controllers-qps/--controllers-burst)
    await this.ctx.createLimiter.wait();
    try {
      const pod = await this.ctx.storage.create(this.podDef, job.metadata.namespace, podForJob(job, index));
      this.event(job, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`);
    } catch (e) {
      // A terminating namespace refuses every creation: nothing to retry.
      if (e instanceof ApiError && e.code === 403 && /being terminated/.test(e.message)) return;
      this.event(job, 'Warning', 'FailedCreate', `Error creating: ${e instanceof Error ? e.message : String(e)}`);
      throw e;
    }
  }

  /** Delete pods, optionally removing the tracking finalizer first (then they do not count as failed). */
  private async deletePods(
    job: KubeObject,
    pods: KubeObject[],
    removeFinalizer: boolean,
  ): Promise<{ deleted: number; deletedReady: number; error?: unknown }> {
    let deleted = 0;
    let deletedReady = 0;
    let error: unknown;
    await Promise.all(
      pods.map(async (p) => {
        try {
          if (removeFinalizer) await this.removeFinalizer(p);
          await this.ctx.storage.delete(this.podDef, p.metadata.namespace, p.metadata.name!, {
            preconditions: { uid: p.metadata.uid },
          });
          this.event(job, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
        } catch (e) {
          if (!(e instanceof ApiError && (e.code === 404 || e.code === 409))) {
            error ??= e;
            return;
          }
        }
        deleted++;
        if (isPodReady(p)) deletedReady++;
      }),
    );
    return { deleted, deletedReady, error };
  }

  private async removeFinalizer(pod: KubeObject): Promise<void> {
    try {
      await this.ctx.storage.guaranteedUpdate(this.podDef, pod.metadata.namespace, pod.metadata.name!, {}, (cur) => {
        if (cur.metadata.uid !== pod.metadata.uid) throw notFound('pods', pod.metadata.name!);
        cur.metadata.finalizers = (cur.metadata.finalizers ?? []).filter((f) => f !== JOB_TRACKING_FINALIZER);
        return cur;
      });
    } catch (e) {
      if (e instanceof ApiError && e.code === 404) return;
      throw e;
    }
  }

  private event(job: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    void this.ctx.event({
      component: COMPONENT,
      type,
      reason,
      message,
      involvedObject: {
        apiVersion: 'batch/v1',
        kind: 'Job',
        namespace: job.metadata.namespace,
        name: job.metadata.name!,
        uid: job.metadata.uid!,
      },
    });
  }
}

/** cleanUncountedPodsWithoutFinalizers: uids whose finalizer is gone move into the counters. */
function cleanUncounted(status: JobStatus, withFinalizer: Set<string>): boolean {
  const unc = (status.uncountedTerminatedPods ??= {});
  let changed = false;
  for (const k of ['succeeded', 'failed'] as const) {
    const list: string[] = unc[k] ?? [];
    const keep = list.filter((u) => withFinalizer.has(u));
    if (keep.length !== list.length) {
      status[k] = (status[k] ?? 0) + (list.length - keep.length);
      changed = true;
    }
    if (keep.length) unc[k] = keep;
    else delete unc[k];
  }
  return changed;
}

function statusChanged(a: JobStatus | undefined, b: JobStatus): boolean {
  const pick = (s: JobStatus | undefined) =>
    JSON.stringify([s?.active ?? 0, s?.ready, s?.terminating, s?.startTime ?? null]);
  return pick(a) !== pick(b) || a?.uncountedTerminatedPods === undefined;
}
