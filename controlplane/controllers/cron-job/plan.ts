// What one CronJob sync should do (cronjob_controllerv2.go: syncCronJob,
// cleanupFinishedJobs, mostRecentScheduleTime, nextScheduleTimeDuration): reconcile
// status.active with the Jobs seen, trim finished Jobs to the history limits, and start
// the most recent missed schedule unless suspended, too late (startingDeadlineSeconds),
// already started, or forbidden by concurrencyPolicy (Replace deletes the running Jobs
// first). Pure: the controller performs the deletes/create and writes the status.
import type { KubeObject, OwnerReference } from '../../../proto/meta.js';
import type { CronJobStatus, ObjectReference } from '../../../proto/api/types.gen.js';
import { clone } from '../../../proto/canonical.js';
import { formatRfc3339, parseSchedule, ScheduleError, type Schedule } from './schedule.js';
import { rfc3339 } from '../../../proto/api/time.js';

export const SCHEDULED_TIMESTAMP_ANNOTATION = 'batch.kubernetes.io/cronjob-scheduled-timestamp';
/** requeue a little after the scheduled time, as nextScheduleDelta */
const NEXT_SCHEDULE_DELTA_MS = 100;

export interface CronJobPlanInput {
  cronJob: KubeObject;
  /** Jobs whose controller is this CronJob */
  jobs: KubeObject[];
  /** names of Jobs in status.active that are gone from the API too (checked by the caller) */
  missing: ReadonlySet<string | undefined>;
  now: number;
}

export interface CronJobEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface CronJobPlan {
  /** the status to write (without the Job created below, which the caller adds) */
  status: CronJobStatus;
  statusChanged: boolean;
  /** Jobs to delete with propagationPolicy Background: history trimming and Replace */
  deleteJobs: Array<{ job: KubeObject; why: 'history' | 'replace' }>;
  /** the Job to create for `scheduledTime` */
  create?: { job: KubeObject; scheduledTime: number };
  events: CronJobEvent[];
  /** re-sync after this long (next schedule time + 100 ms) */
  requeueAfterMs?: number;
}

type MissedSchedules = 'none' | 'few' | 'many';

export function jobFinishedType(job: KubeObject): 'Complete' | 'Failed' | undefined {
  for (const c of job.status?.conditions ?? []) {
    if ((c?.type === 'Complete' || c?.type === 'Failed') && c?.status === 'True') return c.type;
  }
  return undefined;
}

function time(s: unknown): number | undefined {
  if (typeof s !== 'string' || !s) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * mostRecentScheduleTime: from the last schedule time (or creation), the latest
 * activation at or before now; with startingDeadlineSeconds, nothing older than the deadline.
 */
export function mostRecentScheduleTime(
  cj: KubeObject,
  now: number,
  schedule: Schedule,
  includeStartingDeadline: boolean,
): { earliest: number; mostRecent?: number; missed: MissedSchedules } {
  let earliest = time(cj.status?.lastScheduleTime) ?? time(cj.metadata.creationTimestamp) ?? now;
  const sds = cj.spec?.startingDeadlineSeconds;
  if (includeStartingDeadline && sds !== undefined && sds !== null) {
    const deadline = now - Number(sds) * 1000;
    if (deadline > earliest) earliest = deadline;
  }
  const t1 = schedule.next(earliest);
  if (t1 === undefined || now < t1) return { earliest, missed: 'none' };
  const t2 = schedule.next(t1);
  if (t2 === undefined || now < t2) return { earliest, mostRecent: t1, missed: 'none' };
  const between = Math.round((t2 - t1) / 1000);
  if (between < 1) throw new ScheduleError('time difference between two schedules is less than 1 second');
  const elapsed = Math.floor((now - t1) / 1000);
  const missedCount = Math.floor(elapsed / between) + 1;
  // Start a little before the estimate so irregular schedules land right.
  const potentialEarliest = t1 + (missedCount - 2) * between * 1000;
  let mostRecent: number | undefined;
  for (let t = schedule.next(potentialEarliest); t !== undefined && t <= now; t = schedule.next(t)) mostRecent = t;
  return { earliest, mostRecent, missed: missedCount > 100 ? 'many' : 'few' };
}

/** nextScheduleTimeDuration: how long until the activation after the most recent one (+100 ms). */
export function nextScheduleDelayMs(cj: KubeObject, now: number, schedule: Schedule): number | undefined {
  let r: ReturnType<typeof mostRecentScheduleTime>;
  try {
    r = mostRecentScheduleTime(cj, now, schedule, false);
  } catch {
    return undefined;
  }
  const from = r.mostRecent ?? r.earliest;
  const next = schedule.next(from);
  if (next === undefined) return undefined;
  return next + NEXT_SCHEDULE_DELTA_MS - now;
}

export function jobName(cj: KubeObject, scheduledTime: number): string {
  return `${cj.metadata.name}-${Math.floor(scheduledTime / 60_000)}`;
}

export function cronJobControllerRef(cj: KubeObject): OwnerReference {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    name: cj.metadata.name!,
    uid: cj.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** getJobFromTemplate2: the template's labels/annotations/spec, a deterministic name, the scheduled-time annotation. */
export function jobFromTemplate(cj: KubeObject, scheduledTime: number): KubeObject {
  const jt = cj.spec?.jobTemplate ?? {};
  const annotations: Record<string, string> = { ...(jt.metadata?.annotations ?? {}) };
  annotations[SCHEDULED_TIMESTAMP_ANNOTATION] = formatRfc3339(scheduledTime, cj.spec?.timeZone ?? 'UTC');
  const metadata: KubeObject['metadata'] = {
    name: jobName(cj, scheduledTime),
    annotations,
    ownerReferences: [cronJobControllerRef(cj)],
  };
  if (jt.metadata?.labels && Object.keys(jt.metadata.labels).length) metadata.labels = { ...jt.metadata.labels };
  return { apiVersion: 'batch/v1', kind: 'Job', metadata, spec: clone(jt.spec ?? {}) };
}

/** byJobStartTime: oldest start first, jobs without a start time last, ties by name. */
function byStartTime(a: KubeObject, b: KubeObject): number {
  const ta = time(a.status?.startTime);
  const tb = time(b.status?.startTime);
  if (ta === undefined && tb !== undefined) return 1;
  if (ta !== undefined && tb === undefined) return -1;
  if (ta === tb)
    return (a.metadata.name ?? '') < (b.metadata.name ?? '')
      ? -1
      : (a.metadata.name ?? '') > (b.metadata.name ?? '')
        ? 1
        : 0;
  return ta! - tb!;
}

export function planCronJob(input: CronJobPlanInput): CronJobPlan {
  const { cronJob: cj, jobs, missing, now } = input;
  const spec = cj.spec ?? {};
  const status: CronJobStatus = clone(cj.status ?? {});
  const plan: CronJobPlan = { status, statusChanged: false, deleteJobs: [], events: [] };
  const inActive = (uid: string | undefined) =>
    (status.active ?? []).some((r: ObjectReference | null) => r?.uid === uid);
  const dropActive = (uid: string | undefined) => {
    status.active = (status.active ?? []).filter((r: ObjectReference | null) => r?.uid !== uid);
    plan.statusChanged = true;
  };
  const event = (type: 'Normal' | 'Warning', reason: string, message: string) =>
    plan.events.push({ type, reason, message });

  // cleanupFinishedJobs: runs first, on the Jobs as listed.
  const trim = (list: KubeObject[], limit: unknown) => {
    if (limit === undefined || limit === null) return;
    const n = list.length - Number(limit);
    if (n <= 0) return;
    for (const j of [...list].sort(byStartTime).slice(0, n)) {
      plan.deleteJobs.push({ job: j, why: 'history' });
      if (inActive(j.metadata.uid!)) dropActive(j.metadata.uid!);
    }
  };
  trim(
    jobs.filter((j) => jobFinishedType(j) === 'Complete'),
    spec.successfulJobsHistoryLimit,
  );
  trim(
    jobs.filter((j) => jobFinishedType(j) === 'Failed'),
    spec.failedJobsHistoryLimit,
  );

  // Reconcile status.active with the Jobs seen.
  const seen = new Set<string | undefined>();
  for (const j of jobs) {
    const uid = j.metadata.uid!;
    seen.add(uid);
    const finished = jobFinishedType(j);
    const found = inActive(uid);
    if (!found && !finished) {
      event('Warning', 'UnexpectedJob', `Saw a job that the controller did not create or forgot: ${j.metadata.name}`);
    } else if (found && finished) {
      dropActive(uid);
      event('Normal', 'SawCompletedJob', `Saw completed job: ${j.metadata.name}, condition: ${finished}`);
    }
    if (finished === 'Complete') {
      const done = time(j.status?.completionTime);
      const last = time(status.lastSuccessfulTime);
      if (done !== undefined && (last === undefined || done > last)) {
        status.lastSuccessfulTime = j.status.completionTime;
        plan.statusChanged = true;
      }
    }
  }
  for (const ref of [...(status.active ?? [])]) {
    if (seen.has(ref?.uid)) continue;
    if (missing.has(ref?.name)) {
      event('Normal', 'MissingJob', `Active job went missing: ${ref.name}`);
      dropActive(ref.uid);
    }
  }
  if (status.active && status.active.length === 0) delete status.active;

  if (cj.metadata.deletionTimestamp) return plan;
  if (spec.suspend === true) return plan;
  let schedule: Schedule;
  try {
    schedule = parseSchedule(String(spec.schedule ?? ''), spec.timeZone ?? undefined);
  } catch (e) {
    const m = e instanceof Error ? e.message : String(e);
    if (spec.timeZone && /location/.test(m))
      event('Warning', 'UnknownTimeZone', `invalid timeZone: ${JSON.stringify(spec.timeZone)}: ${m}`);
    else event('Warning', 'UnparseableSchedule', `unparseable schedule: ${JSON.stringify(spec.schedule)} : ${m}`);
    return plan;
  }
  let recent: ReturnType<typeof mostRecentScheduleTime>;
  try {
    recent = mostRecentScheduleTime(cj, now, schedule, true);
  } catch (e) {
    event(
      'Warning',
      'InvalidSchedule',
      `invalid schedule: ${spec.schedule} : ${e instanceof Error ? e.message : String(e)}`,
    );
    return plan;
  }
  if (recent.missed === 'many') {
    event(
      'Warning',
      'TooManyMissedTimes',
      'too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew',
    );
  }
  plan.requeueAfterMs = nextScheduleDelayMs(cj, now, schedule);
  const scheduled = recent.mostRecent;
  if (scheduled === undefined) return plan;

  const sds = spec.startingDeadlineSeconds;
  if (sds !== undefined && sds !== null && scheduled + Number(sds) * 1000 < now) {
    event(
      'Warning',
      'MissSchedule',
      `Missed scheduled time to start a job: ${new Date(scheduled).toUTCString().replace('GMT', '+0000')}`,
    );
    return plan;
  }
  const name = jobName(cj, scheduled);
  if (
    (status.active ?? []).some((r: ObjectReference | null) => r?.name === name) ||
    time(status.lastScheduleTime) === scheduled
  )
    return plan;
  if (spec.concurrencyPolicy === 'Forbid' && (status.active ?? []).length > 0) {
    event(
      'Normal',
      'JobAlreadyActive',
      'Not starting job because prior execution is running and concurrency policy is Forbid',
    );
    return plan;
  }
  if (spec.concurrencyPolicy === 'Replace') {
    for (const ref of [...(status.active ?? [])]) {
      const j = jobs.find((x) => x.metadata.uid === ref.uid);
      plan.deleteJobs.push({
        job: j ?? { metadata: { name: ref.name, namespace: ref.namespace, uid: ref.uid } },
        why: 'replace',
      });
      dropActive(ref.uid);
    }
    if (status.active && status.active.length === 0) delete status.active;
  }
  plan.create = { job: jobFromTemplate(cj, scheduled), scheduledTime: scheduled };
  return plan;
}

/** The status after the Job for `scheduledTime` exists: in active, lastScheduleTime set. */
export function withStartedJob(
  status: CronJobStatus | undefined,
  job: KubeObject,
  scheduledTime: number,
): CronJobStatus {
  const s: CronJobStatus = clone(status ?? {});
  const ref = {
    kind: 'Job',
    namespace: job.metadata.namespace,
    name: job.metadata.name,
    uid: job.metadata.uid,
    apiVersion: 'batch/v1',
    resourceVersion: job.metadata.resourceVersion,
  };
  s.active = [...(s.active ?? []).filter((r: ObjectReference | null) => r?.uid !== ref.uid), ref];
  s.lastScheduleTime = rfc3339(scheduledTime);
  return s;
}
