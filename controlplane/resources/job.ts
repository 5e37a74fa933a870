// batch/v1 Job: SetDefaults_Job, the generated selector and controller-uid/job-name
// labels (job strategy PrepareForCreate), ValidateJob/ValidateJobUpdate and the row
// with the 1.32 STATUS column (Complete/Failed/Suspended/Running...).
import type { KubeObject, StatusCause } from '../../proto/meta.js';
import type { JobCondition, JobSpec } from '../../proto/api/types.gen.js';
import { canonicalJson } from '../../proto/canonical.js';
import { field } from '../api/errors.js';
import { ageOf, humanDuration, parseTime } from './age.js';
import {
  ageColumn,
  col,
  containerCells,
  containersColumn,
  imagesColumn,
  nameColumn,
  selectorColumn,
} from './columns.js';
import { goLabelSelector, goStringMap } from './go-format.js';
import { formatLabelSelector, selectorMatches, validateLabelSelector } from './label-selector.js';
import {
  immutable,
  invalidRendered,
  isDNS1123Label,
  isRecord,
  nameIsDNSSubdomain,
  validateNonnegative,
  validateObjectMeta,
} from './meta-validation.js';
import { defaultPodTemplate, validatePodTemplateSpec } from './pod-template.js';
import type { ResourceDef } from './types.js';
import { ALL_VERBS } from './verbs.js';
import { selectorMismatch } from './workload.js';

export const CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
const LEGACY_CONTROLLER_UID_LABEL = 'controller-uid';
const LEGACY_JOB_NAME_LABEL = 'job-name';

/** SetDefaults_Job on the JobSpec level (not applied to a CronJob's jobTemplate). */
function defaultJob(obj: KubeObject): void {
  if (!isRecord(obj.spec)) obj.spec = {};
  const spec = obj.spec;
  const unset = (v: unknown): boolean => v === undefined || v === null;
  if (unset(spec.completions) && unset(spec.parallelism)) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  if (unset(spec.parallelism)) spec.parallelism = 1;
  if (unset(spec.backoffLimit)) spec.backoffLimit = unset(spec.backoffLimitPerIndex) ? 6 : 2147483647;
  if (!spec.completionMode) spec.completionMode = 'NonIndexed';
  if (unset(spec.suspend)) spec.suspend = false;
  if (!spec.podReplacementPolicy)
    spec.podReplacementPolicy = isRecord(spec.podFailurePolicy) ? 'Failed' : 'TerminatingOrFailed';
  for (const rule of Array.isArray(spec.podFailurePolicy?.rules) ? spec.podFailurePolicy.rules : []) {
    for (const pattern of Array.isArray(rule?.onPodConditions) ? rule.onPodConditions : [])
      if (isRecord(pattern) && !pattern.status) pattern.status = 'True';
  }
  if (!isRecord(spec.template)) spec.template = {};
  defaultPodTemplate(spec.template);
  // A job without labels takes its pod template's labels.
  const tplLabels: Record<string, string> | undefined = spec.template.metadata?.labels;
  if (isRecord(tplLabels) && Object.keys(obj.metadata?.labels ?? {}).length === 0)
    obj.metadata.labels = { ...tplLabels };
}

/** generateSelector: label the template with the job's uid and name and select on the uid. */
function generateSelector(obj: KubeObject): void {
  const spec = obj.spec;
  const tplMeta = (spec.template.metadata ??= {});
  const labels: Record<string, string> = (tplMeta.labels ??= {});
  const name = obj.metadata.name ?? '';
  const uid = obj.metadata.uid ?? '';
  for (const k of [LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL]) if (!(k in labels)) labels[k] = name;
  for (const k of [LEGACY_CONTROLLER_UID_LABEL, CONTROLLER_UID_LABEL]) if (!(k in labels)) labels[k] = uid;
  if (!isRecord(spec.selector)) spec.selector = {};
  if (!isRecord(spec.selector.matchLabels)) spec.selector.matchLabels = {};
  if (!(CONTROLLER_UID_LABEL in spec.selector.matchLabels)) spec.selector.matchLabels[CONTROLLER_UID_LABEL] = uid;
}

function validateGeneratedSelector(obj: KubeObject): StatusCause[] {
  const spec = obj.spec;
  if (spec?.manualSelector === true || !isRecord(spec?.selector)) return [];
  const uid = obj.metadata?.uid;
  if (!uid) return [];
  const tplLabels = spec.template?.metadata?.labels;
  const out: StatusCause[] = [];
  if (tplLabels?.[CONTROLLER_UID_LABEL] !== uid)
    out.push(invalidRendered('spec.template.metadata', goStringMap(tplLabels), '`selector` not auto-generated'));
  if (spec.selector.matchLabels?.[CONTROLLER_UID_LABEL] !== uid)
    out.push(invalidRendered('spec.selector', goLabelSelector(spec.selector), '`selector` not auto-generated'));
  return out;
}

/** ValidateJobSpec's checks on the spec alone; `path` is "spec" or "spec.jobTemplate.spec". */
/** a Job spec as the schema decoder leaves it: an object, its fields of their JSON types (required ones may be missing) */
const isJobSpec = (v: unknown): v is Partial<JobSpec> => isRecord(v);

export function validateJobSpec(spec: unknown, path: string, requireSelector: boolean): StatusCause[] {
  if (!isJobSpec(spec)) return [field.required(path)];
  const out: StatusCause[] = [];
  if (requireSelector) {
    if (!isRecord(spec.selector)) out.push(field.required(`${path}.selector`));
    else out.push(...validateLabelSelector(spec.selector, `${path}.selector`));
    if (isRecord(spec.selector) && !selectorMatches(spec.selector, spec.template?.metadata?.labels)) {
      out.push(selectorMismatch(`${path}.template`, spec.template?.metadata?.labels));
    }
  } else if (spec.selector !== undefined && spec.selector !== null) {
    out.push(...validateLabelSelector(spec.selector, `${path}.selector`));
  }
  for (const k of [
    'parallelism',
    'completions',
    'activeDeadlineSeconds',
    'backoffLimit',
    'ttlSecondsAfterFinished',
  ] as const) {
    out.push(...validateNonnegative(spec[k], `${path}.${k}`));
  }
  if (typeof spec.activeDeadlineSeconds === 'number' && spec.activeDeadlineSeconds <= 0) {
    out.push(field.invalid(`${path}.activeDeadlineSeconds`, spec.activeDeadlineSeconds, 'must be greater than 0'));
  }
  if (spec.completionMode && !['NonIndexed', 'Indexed'].includes(spec.completionMode)) {
    out.push(field.notSupported(`${path}.completionMode`, spec.completionMode, ['NonIndexed', 'Indexed']));
  }
  if (spec.completionMode === 'Indexed' && (spec.completions === undefined || spec.completions === null)) {
    out.push(field.required(`${path}.completions`, 'when completion mode is Indexed'));
  }
  out.push(...validatePodTemplateSpec(spec.template, `${path}.template`));
  const rp = spec.template?.spec?.restartPolicy;
  if (rp !== 'OnFailure' && rp !== 'Never')
    out.push(field.notSupported(`${path}.template.spec.restartPolicy`, rp ?? '', ['OnFailure', 'Never']));
  return out;
}

function validateJobUpdate(obj: KubeObject, old: KubeObject): StatusCause[] {
  const n = obj.spec ?? {};
  const o = old.spec ?? {};
  const out: StatusCause[] = [];
  if (canonicalJson(n.selector ?? null) !== canonicalJson(o.selector ?? null))
    out.push(immutable('spec.selector', goLabelSelector(n.selector)));
  // The template may only change while the job is suspended (scheduling directives).
  if (!(o.suspend === true) && canonicalJson(n.template ?? null) !== canonicalJson(o.template ?? null)) {
    out.push(immutable('spec.template', `core.PodTemplateSpec${canonicalJson(n.template ?? {})}`));
  }
  if ((n.completionMode ?? '') !== (o.completionMode ?? ''))
    out.push(immutable('spec.completionMode', JSON.stringify(n.completionMode ?? '')));
  if (n.completionMode !== 'Indexed' && (n.completions ?? null) !== (o.completions ?? null))
    out.push(immutable('spec.completions', String(n.completions ?? 'null')));
  if (canonicalJson(n.podFailurePolicy ?? null) !== canonicalJson(o.podFailurePolicy ?? null)) {
    out.push(immutable('spec.podFailurePolicy', canonicalJson(n.podFailurePolicy ?? null)));
  }
  return out;
}

function hasCondition(obj: KubeObject, type: string): boolean {
  const c = (Array.isArray(obj.status?.conditions) ? obj.status.conditions : []).find(
    (x: Partial<JobCondition> | null | undefined) => x?.type === type,
  );
  return c?.status === 'True';
}

export function jobStatusCell(obj: KubeObject): string {
  if (hasCondition(obj, 'Complete')) return 'Complete';
  if (hasCondition(obj, 'Failed')) return 'Failed';
  if (obj.metadata?.deletionTimestamp) return 'Terminating';
  if (hasCondition(obj, 'Suspended')) return 'Suspended';
  if (hasCondition(obj, 'FailureTarget')) return 'FailureTarget';
  return 'Running';
}

function jobRow(obj: KubeObject, now: number): unknown[] {
  const spec = obj.spec ?? {};
  const succeeded = obj.status?.succeeded ?? 0;
  let completions: string;
  if (typeof spec.completions === 'number') completions = `${succeeded}/${spec.completions}`;
  else completions = (spec.parallelism ?? 0) > 1 ? `${succeeded}/1 of ${spec.parallelism}` : `${succeeded}/1`;
  const start = parseTime(obj.status?.startTime);
  const end = parseTime(obj.status?.completionTime);
  const duration = start === undefined ? '' : humanDuration((end ?? now) - start);
  const [names, images] = containerCells(spec.template?.spec);
  return [
    obj.metadata?.name ?? '',
    jobStatusCell(obj),
    completions,
    duration,
    ageOf(obj, now),
    names,
    images,
    formatLabelSelector(spec.selector),
  ];
}

export const job: ResourceDef = {
  group: 'batch',
  version: 'v1',
  kind: 'Job',
  resource: 'jobs',
  singular: 'job',
  namespaced: true,
  shortNames: [],
  categories: ['all'],
  verbs: ALL_VERBS,
  subresources: ['status'],
  hasStatusSubresource: true,
  hasGeneration: true,
  schema: 'Job',

  defaults: defaultJob,

  prepareForCreate(obj) {
    obj.status = {};
    defaultJob(obj); // labels copied from the template must not include the generated ones
    if (obj.spec.manualSelector !== true) generateSelector(obj);
  },

  validate(obj, old) {
    const out = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
    out.push(...validateGeneratedSelector(obj));
    out.push(...validateJobSpec(obj.spec, 'spec', true));
    const spec = obj.spec ?? {};
    if (spec.completionMode === 'Indexed' && typeof spec.completions === 'number' && spec.completions > 0) {
      const host = `${obj.metadata?.name ?? ''}-${spec.completions - 1}`;
      if (isDNS1123Label(host).length)
        out.push(
          field.invalid(
            'metadata.name',
            obj.metadata?.name ?? '',
            `will not able to create pod with invalid DNS label: ${host}`,
          ),
        );
    }
    if (old) out.push(...validateJobUpdate(obj, old));
    return out;
  },

  columns: [
    nameColumn(),
    col('Status', 'string', 'Status of the job.'),
    col('Completions', 'string', 'The number of pods which reached phase Succeeded.'),
    col('Duration', 'string', 'Time required to complete the job.'),
    ageColumn(),
    containersColumn(),
    imagesColumn(),
    selectorColumn('A label query over pods that should match the pod count.'),
  ],
  row: jobRow,

  fields: {
    'status.successful': (o) => String(o.status?.succeeded ?? 0),
  },
};
