// CronJob controller (pkg/controller/cronjob, the v2 controller): at each scheduled time
// it creates a Job named `<cronjob>-<scheduled time in unix minutes>` (the name is the
// lock against starting one schedule twice), keeps status.active/lastScheduleTime/
// lastSuccessfulTime and trims finished Jobs to the history limits. Each sync re-queues
// itself for the next schedule time; cron-job/plan.ts decides, this file acts. The clock
// is the controller context's, so tests can move time.
import type { KubeObject } from '../../proto/meta.js';
import type { CronJobStatus, ObjectReference } from '../../proto/api/types.gen.js';
import { controllerRefOf } from '../../proto/api/owner.js';
import { ApiError } from '../api/errors.js';
import type { ControllerContext } from './context.js';
import { keyOf, splitKey, type Informer } from './informer.js';
import type { Controller } from './types.js';
import { WorkQueue } from './work-queue.js';
import { planCronJob, withStartedJob, type CronJobEvent } from './cron-job/plan.js';

const COMPONENT = 'cronjob-controller';
/** re-sync at least this often, whatever the schedule (and below setTimeout's limit) */
const MAX_REQUEUE_MS = 3600_000;

export function create(ctx: ControllerContext): Controller {
  return new CronJobController(ctx);
}

class CronJobController implements Controller {
  readonly name = 'cron-job-controller';
  private readonly queue = new WorkQueue();
  private readonly cronJobDef;
  private readonly jobDef;
  private cronJobs!: Informer<'CronJob'>;
  private jobs!: Informer<'Job'>;

  constructor(private readonly ctx: ControllerContext) {
    this.cronJobDef = ctx.def('batch', 'v1', 'cronjobs');
    this.jobDef = ctx.def('batch', 'v1', 'jobs');
  }

  async start(): Promise<void> {
    this.cronJobs = this.ctx.informers.get('batch', 'v1', 'cronjobs');
    this.jobs = this.ctx.informers.get('batch', 'v1', 'jobs');
    this.cronJobs.on({
      add: (c) => this.queue.add(keyOf(c)),
      update: (_o, c) => this.queue.add(keyOf(c)),
      delete: (c) => this.queue.add(keyOf(c)),
    });
    const jobChanged = (j: KubeObject) => {
      const ref = controllerRefOf(j);
      if (ref?.kind === 'CronJob' && ref.apiVersion.startsWith('batch/'))
        this.queue.add(`${j.metadata.namespace}/${ref.name}`);
    };
    this.jobs.on({
      add: jobChanged,
      update: (o, j) => {
        jobChanged(j);
        if (controllerRefOf(o)?.uid !== controllerRefOf(j)?.uid) jobChanged(o);
      },
      delete: jobChanged,
    });
    this.queue.run(
      (k) => this.syncCronJob(k),
      1,
      (key, err) => this.ctx.log.warn({ err, key, controller: COMPONENT }, 'sync failed'),
    );
  }

  stop(): void {
    this.queue.stop();
  }

  private async syncCronJob(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const cj = await this.ctx.storage.tryGet(this.cronJobDef, namespace, name);
    if (!cj) return;
    // getJobsToBeReconciled: every Job whose controller is a CronJob of this name.
    const jobs = this.jobs.list(namespace).filter((j) => {
      const ref = controllerRefOf(j);
      return ref?.kind === 'CronJob' && ref.name === name;
    });
    // Active Jobs the cache does not show are checked against the API before being dropped.
    const missing = new Set<string | undefined>();
    for (const ref of cj.status?.active ?? []) {
      if (jobs.some((j) => j.metadata.uid === ref?.uid)) continue;
      const live = ref.name ? await this.ctx.storage.tryGet(this.jobDef, namespace, ref.name) : undefined;
      if (!live || live.metadata.uid !== ref.uid) missing.add(ref.name);
    }
    const now = this.ctx.now().getTime();
    const plan = planCronJob({ cronJob: cj, jobs, missing, now });
    for (const e of plan.events) this.event(cj, e);

    let status = plan.status;
    let changed = plan.statusChanged;
    let error: unknown;
    for (const d of plan.deleteJobs) {
      try {
        await this.ctx.storage.delete(this.jobDef, namespace, d.job.metadata.name!, {
          propagationPolicy: 'Background',
          preconditions: { uid: d.job.metadata.uid },
        });
        this.event(cj, { type: 'Normal', reason: 'SuccessfulDelete', message: `Deleted job ${d.job.metadata.name}` });
      } catch (e) {
        if (e instanceof ApiError && (e.code === 404 || e.code === 409)) continue;
        this.event(cj, {
          type: 'Warning',
          reason: 'FailedDelete',
          message: `Deleted job: ${e instanceof Error ? e.message : String(e)}`,
        });
        if (d.why === 'replace') {
          error = new Error(`could not replace job ${namespace}/${d.job.metadata.name}`);
          break;
        }
        error ??= e;
      }
    }
    if (plan.create && !error) {
      const { job, scheduledTime } = plan.create;
      try {
        await this.ctx.createLimiter.wait();
        const created = await this.ctx.storage.create(this.jobDef, namespace, job);
        this.event(cj, { type: 'Normal', reason: 'SuccessfulCreate', message: `Created job ${created.metadata.name}` });
        status = withStartedJob(status, created, scheduledTime);
        changed = true;
      } catch (e) {
        if (e instanceof ApiError && e.code === 409) {
          // Created by an earlier sync whose status write was lost: adopt it into active.
          const existing = await this.ctx.storage.tryGet(this.jobDef, namespace, job.metadata.name!);
          const ref = existing && controllerRefOf(existing);
          if (
            existing &&
            ref?.uid === cj.metadata.uid &&
            !(status.active ?? []).some((r: ObjectReference | null) => r?.uid === existing.metadata.uid)
          ) {
            status = withStartedJob(status, existing, scheduledTime);
            changed = true;
          }
        } else if (!(e instanceof ApiError && e.code === 403 && /being terminated/.test(e.message))) {
          this.event(cj, {
            type: 'Warning',
            reason: 'FailedCreate',
            message: `Error creating job: ${e instanceof Error ? e.message : String(e)}`,
          });
          error = e;
        }
      }
    }
    if (changed) await this.writeStatus(cj, status);
    if (plan.requeueAfterMs !== undefined && !error)
      this.queue.addAfter(key, Math.min(MAX_REQUEUE_MS, Math.max(0, plan.requeueAfterMs)));
    if (error) throw error;
  }

  private async writeStatus(cj: KubeObject, status: CronJobStatus): Promise<void> {
    const rv = cj.metadata.resourceVersion;
    await this.ctx.storage.guaranteedUpdate(
      this.cronJobDef,
      cj.metadata.namespace,
      cj.metadata.name!,
      {},
      (cur) => {
        if (cur.metadata.uid !== cj.metadata.uid) throw new ApiError(404, 'NotFound', 'cronjob replaced');
        if (cur.metadata.resourceVersion !== rv)
          throw new ApiError(
            409,
            'Conflict',
            `Operation cannot be fulfilled on cronjobs.batch "${cj.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`,
          );
        cur.status = status;
        return cur;
      },
      'status',
    );
  }

  private event(cj: KubeObject, e: CronJobEvent): void {
    void this.ctx.event({
      component: COMPONENT,
      type: e.type,
      reason: e.reason,
      message: e.message,
      involvedObject: {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        namespace: cj.metadata.namespace,
        name: cj.metadata.name!,
        uid: cj.metadata.uid!,
      },
    });
  }
}
