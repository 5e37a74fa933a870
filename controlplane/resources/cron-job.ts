// batch/v1 CronJob: SetDefaults_CronJob (Allow, not suspended, history 3/1), schedule
// syntax, the job template's restartPolicy and the SCHEDULE/TIMEZONE/SUSPEND/ACTIVE row.
import type { CronJobSpec } from '../../proto/api/types.gen.js';
import type { KubeObject, StatusCause } from '../../proto/meta.js';
import { field } from '../api/errors.js';
import { ageOf, since } from './age.js';
import {
  ageColumn,
  col,
  containerCells,
  containersColumn,
  imagesColumn,
  nameColumn,
  selectorColumn,
} from './columns.js';
import { cronScheduleError } from './cron-schedule.js';
import { formatLabelSelector } from './label-selector.js';
import {
  isDecoded,
  isJsonObject,
  isRecord,
  nameIsDNSSubdomain,
  validateAnnotations,
  validateLabels,
  validateNonnegative,
  validateObjectMeta,
} from './meta-validation.js';
import { validateJobSpec } from './job.js';
import { defaultPodTemplate } from './pod-template.js';
import type { ResourceDef } from './types.js';
import { ALL_VERBS } from './verbs.js';

const CONCURRENCY = ['Allow', 'Forbid', 'Replace'];

function validateCronJobSpec(obj: KubeObject): StatusCause[] {
  const spec = obj.spec;
  if (!isDecoded<CronJobSpec>(spec)) return [field.required('spec')];
  const out: StatusCause[] = [];
  const schedule = spec.schedule;
  if (!schedule) out.push(field.required('spec.schedule'));
  else {
    const err = cronScheduleError(String(schedule));
    if (err) out.push(field.invalid('spec.schedule', schedule, err));
    if (String(schedule).includes('TZ'))
      out.push(
        field.invalid('spec.schedule', schedule, 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead'),
      );
  }
  const cp = spec.concurrencyPolicy;
  if (!cp) out.push(field.required('spec.concurrencyPolicy'));
  else if (!CONCURRENCY.includes(cp)) out.push(field.notSupported('spec.concurrencyPolicy', cp, CONCURRENCY));
  out.push(...validateNonnegative(spec.startingDeadlineSeconds, 'spec.startingDeadlineSeconds'));
  out.push(...validateNonnegative(spec.successfulJobsHistoryLimit, 'spec.successfulJobsHistoryLimit'));
  out.push(...validateNonnegative(spec.failedJobsHistoryLimit, 'spec.failedJobsHistoryLimit'));
  if (spec.timeZone !== undefined && spec.timeZone !== null && !isValidTimeZone(String(spec.timeZone))) {
    out.push(field.invalid('spec.timeZone', spec.timeZone, 'unknown time zone ' + String(spec.timeZone)));
  }
  const jt = spec.jobTemplate;
  if (!isJsonObject(jt)) return [...out, field.required('spec.jobTemplate')];
  out.push(...validateLabels(jt.metadata?.labels, 'spec.jobTemplate.metadata.labels'));
  out.push(...validateAnnotations(jt.metadata?.annotations, 'spec.jobTemplate.metadata.annotations'));
  out.push(...validateJobSpec(jt.spec, 'spec.jobTemplate.spec', false));
  return out;
}

function isValidTimeZone(tz: string): boolean {
  if (tz === '' || tz.trim() !== tz) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const cronJob: ResourceDef = {
  group: 'batch',
  version: 'v1',
  kind: 'CronJob',
  resource: 'cronjobs',
  singular: 'cronjob',
  namespaced: true,
  shortNames: ['cj'],
  categories: ['all'],
  verbs: ALL_VERBS,
  subresources: ['status'],
  hasStatusSubresource: true,
  hasGeneration: true,
  schema: 'CronJob',

  defaults(obj) {
    if (!isRecord(obj.spec)) obj.spec = {};
    const spec = obj.spec;
    if (!spec.concurrencyPolicy) spec.concurrencyPolicy = 'Allow';
    if (spec.suspend === undefined || spec.suspend === null) spec.suspend = false;
    if (spec.successfulJobsHistoryLimit === undefined || spec.successfulJobsHistoryLimit === null)
      spec.successfulJobsHistoryLimit = 3;
    if (spec.failedJobsHistoryLimit === undefined || spec.failedJobsHistoryLimit === null)
      spec.failedJobsHistoryLimit = 1;
    // Only PodSpec defaults reach the job template (SetDefaults_Job applies to Jobs).
    if (!isRecord(spec.jobTemplate)) spec.jobTemplate = {};
    const jt = spec.jobTemplate;
    if (!isRecord(jt.metadata)) jt.metadata = {};
    if (jt.metadata.creationTimestamp === undefined) jt.metadata.creationTimestamp = null;
    if (!isRecord(jt.spec)) jt.spec = {};
    if (!isRecord(jt.spec.template)) jt.spec.template = {};
    defaultPodTemplate(jt.spec.template);
  },

  prepareForCreate(obj) {
    obj.status = {};
  },

  validate(obj) {
    const out = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
    // Job names get an 11-character suffix, so CronJob names stop at 52.
    const name = obj.metadata?.name ?? '';
    if (name.length > 52) out.push(field.invalid('metadata.name', name, 'must be no more than 52 characters'));
    out.push(...validateCronJobSpec(obj));
    return out;
  },

  columns: [
    nameColumn(),
    col('Schedule', 'string', 'The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.'),
    col(
      'Timezone',
      'string',
      'The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones.',
    ),
    col(
      'Suspend',
      'boolean',
      'This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.',
    ),
    col('Active', 'integer', 'A list of pointers to currently running jobs.'),
    col('Last Schedule', 'string', 'Information when was the last time the job was successfully scheduled.'),
    ageColumn(),
    containersColumn(),
    imagesColumn(),
    selectorColumn('A label query over pods that should match the pod count.'),
  ],

  row(obj, now) {
    const spec = obj.spec ?? {};
    const last = obj.status?.lastScheduleTime ? since(obj.status.lastScheduleTime, now) : '<none>';
    const [names, images] = containerCells(spec.jobTemplate?.spec?.template?.spec);
    return [
      obj.metadata?.name ?? '',
      spec.schedule ?? '',
      spec.timeZone ?? '<none>',
      spec.suspend === true ? 'True' : 'False',
      Array.isArray(obj.status?.active) ? obj.status.active.length : 0,
      last,
      ageOf(obj, now),
      names,
      images,
      formatLabelSelector(spec.jobTemplate?.spec?.selector),
    ];
  },
};
