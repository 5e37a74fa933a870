// core/v1 ReplicationController: SetDefaults_ReplicationController (selector and labels
// from the template's labels, replicas 1), ValidateReplicationController(Spec|Status) with
// the map selector, the rcStrategy's status/generation handling, `status.replicas` field
// selector and printReplicationController's NAME DESIRED CURRENT READY AGE row.
import type { PodTemplateSpec } from '../../proto/api/types.gen.js';
import type { KubeObject, StatusCause } from '../../proto/meta.js';
import { field } from '../api/errors.js';
import { ageColumn, col, containersColumn, imagesColumn, nameColumn, selectorColumn } from './columns.js';
import { formatLabels } from './label-selector.js';
import {
  isDecoded,
  isJsonObject,
  isRecord,
  nameIsDNSSubdomain,
  validateNonnegative,
  validateObjectMeta,
} from './meta-validation.js';
import { defaultPodTemplate, validatePodTemplateSpec } from './pod-template.js';
import { replicasRow } from './replica-set.js';
import type { ResourceDef } from './types.js';
import { ALL_VERBS } from './verbs.js';
import { selectorMismatch, zeroStatus } from './workload.js';

type StringMap = Record<string, string>;

function nonEmptyMap(v: unknown): v is StringMap {
  return isRecord(v) && Object.keys(v).length > 0;
}

/** labels.Set(selector).AsSelector().Matches(labels) */
export function mapSelectorMatches(selector: StringMap, labels: StringMap | undefined): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/**
 * The core/v1 kind, for the few generic API paths that treat it specially: its Scale
 * selector is a label map, and its delete orphans pods by default
 * (rcStrategy.DefaultGarbageCollectionPolicy is OrphanDependents for v1).
 */
export function isReplicationController(def: Pick<ResourceDef, 'group' | 'kind'>): boolean {
  return def.group === '' && def.kind === 'ReplicationController';
}

/** SetDefaults_ReplicationController, then the template's pod defaults. */
export function defaultReplicationController(obj: KubeObject): void {
  if (!isRecord(obj.spec)) obj.spec = {};
  const spec = obj.spec;
  const tpl = isRecord(spec.template) ? spec.template : undefined;
  const labels =
    tpl && isRecord(tpl.metadata) && isRecord(tpl.metadata.labels) ? (tpl.metadata.labels as StringMap) : undefined;
  if (labels) {
    if (!nonEmptyMap(spec.selector)) spec.selector = { ...labels };
    if (!nonEmptyMap(obj.metadata.labels)) obj.metadata.labels = { ...labels };
  }
  if (spec.replicas === undefined || spec.replicas === null) spec.replicas = 1;
  if (tpl) defaultPodTemplate(tpl);
}

/** ValidateReadOnlyPersistentDisks: a GCE PD can only be shared read-only. */
function validateReadOnlyPersistentDisks(volumes: unknown, path: string): StatusCause[] {
  if (!Array.isArray(volumes)) return [];
  const out: StatusCause[] = [];
  volumes.forEach((v, i) => {
    const pd = isRecord(v) ? v.gcePersistentDisk : undefined;
    if (isRecord(pd) && pd.readOnly !== true) {
      out.push(
        field.invalid(
          `${path}[${i}].gcePersistentDisk.readOnly`,
          false,
          'must be true for replicated pods > 1; GCE PD can only be mounted on multiple machines if it is read-only',
        ),
      );
    }
  });
  return out;
}

/** ValidatePodTemplateSpecForRC. */
function validateTemplateForRC(tpl: unknown, selector: unknown, replicas: number, path: string): StatusCause[] {
  if (!isDecoded<PodTemplateSpec>(tpl)) return [field.required(path)];
  const out: StatusCause[] = [];
  const labels = isJsonObject(tpl.metadata) && isJsonObject(tpl.metadata.labels) ? tpl.metadata.labels : undefined;
  if (nonEmptyMap(selector) && !mapSelectorMatches(selector, labels)) out.push(selectorMismatch(path, labels));
  out.push(...validatePodTemplateSpec(tpl, path));
  if (replicas > 1) out.push(...validateReadOnlyPersistentDisks(tpl.spec?.volumes, `${path}.spec.volumes`));
  const rp = tpl.spec?.restartPolicy;
  if (rp !== 'Always') out.push(field.notSupported(`${path}.spec.restartPolicy`, rp ?? '', ['Always']));
  const ads = tpl.spec?.activeDeadlineSeconds;
  if (ads !== undefined && ads !== null)
    out.push(
      field.forbidden(
        `${path}.spec.activeDeadlineSeconds`,
        'activeDeadlineSeconds in ReplicationController is not Supported',
      ),
    );
  return out;
}

/** ValidateReplicationControllerSpec (the selector may change: it is not immutable for RCs). */
export function validateReplicationControllerSpec(spec: unknown, path = 'spec'): StatusCause[] {
  if (!isRecord(spec)) return [field.required(path)];
  const out: StatusCause[] = [];
  out.push(...validateNonnegative(spec.minReadySeconds, `${path}.minReadySeconds`));
  if (!nonEmptyMap(spec.selector)) out.push(field.required(`${path}.selector`));
  out.push(...validateNonnegative(spec.replicas, `${path}.replicas`));
  out.push(...validateTemplateForRC(spec.template, spec.selector, Number(spec.replicas ?? 0), `${path}.template`));
  return out;
}

/** ValidateReplicationControllerStatus. */
export function validateReplicationControllerStatus(status: unknown, path = 'status'): StatusCause[] {
  const st: Record<string, unknown> = isRecord(status) ? status : {};
  const out: StatusCause[] = [];
  for (const f of ['replicas', 'fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration']) {
    out.push(...validateNonnegative(st[f], `${path}.${f}`));
  }
  const n = (f: string): number => (typeof st[f] === 'number' ? (st[f] as number) : 0);
  const msg = 'cannot be greater than status.replicas';
  if (n('fullyLabeledReplicas') > n('replicas'))
    out.push(field.invalid(`${path}.fullyLabeledReplicas`, n('fullyLabeledReplicas'), msg));
  if (n('readyReplicas') > n('replicas')) out.push(field.invalid(`${path}.readyReplicas`, n('readyReplicas'), msg));
  if (n('availableReplicas') > n('replicas'))
    out.push(field.invalid(`${path}.availableReplicas`, n('availableReplicas'), msg));
  if (n('availableReplicas') > n('readyReplicas'))
    out.push(
      field.invalid(`${path}.availableReplicas`, n('availableReplicas'), 'cannot be greater than readyReplicas'),
    );
  return out;
}

export const replicationController: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'ReplicationController',
  resource: 'replicationcontrollers',
  singular: 'replicationcontroller',
  namespaced: true,
  shortNames: ['rc'],
  categories: ['all'],
  verbs: ALL_VERBS,
  subresources: ['status', 'scale'],
  hasStatusSubresource: true,
  hasGeneration: true,
  schema: 'ReplicationController',

  defaults: defaultReplicationController,

  prepareForCreate(obj) {
    zeroStatus(obj, ['replicas']);
  },

  validate(obj) {
    const out = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
    out.push(...validateReplicationControllerSpec(obj.spec));
    return out;
  },

  validateStatus(obj) {
    const out = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
    out.push(...validateReplicationControllerStatus(obj.status));
    return out;
  },

  columns: [
    nameColumn(),
    col(
      'Desired',
      'integer',
      'Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller',
    ),
    col(
      'Current',
      'integer',
      'Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller',
    ),
    col('Ready', 'integer', 'The number of ready replicas for this replication controller.'),
    ageColumn(),
    containersColumn(),
    imagesColumn(),
    selectorColumn(
      'Selector is a label query over pods that should match the Replicas count. If Selector is empty, it is defaulted to the labels present on the Pod template. Label keys and values that must match in order to be controlled by this replication controller, if empty defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors',
    ),
  ],

  row: (obj, now) =>
    replicasRow(obj, now, formatLabels(isRecord(obj.spec?.selector) ? (obj.spec.selector as StringMap) : undefined)),

  fields: {
    'status.replicas': (o) => String(o.status?.replicas ?? 0),
  },
};
