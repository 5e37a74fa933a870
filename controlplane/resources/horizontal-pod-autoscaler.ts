// autoscaling/v2 HorizontalPodAutoscaler (the storage version) and autoscaling/v1 served
// from it through conversion (hpa/conversion.ts): defaulting, validation as
// pkg/apis/autoscaling/validation, the status subresource, and kubectl's
// NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS AGE row.
import type { KubeObject } from '../../proto/meta.js';
import { ageOf } from './age.js';
import { ageColumn, col, nameColumn } from './columns.js';
import { hpaFromV1, hpaToV1 } from './hpa/conversion.js';
import { defaultHpaSpec } from './hpa/defaults.js';
import { hpaCells } from './hpa/table.js';
import { validateHpaSpec, validateHpaStatus } from './hpa/validation.js';
import { isRecord, nameIsDNSSubdomain, validateObjectMeta } from './meta-validation.js';
import type { ResourceDef } from './types.js';
import { ALL_VERBS } from './verbs.js';

const columns = [
  nameColumn(),
  col(
    'Reference',
    'string',
    'scaleTargetRef points to the target resource to scale, and is used to the pods for which metrics should be collected, as well as to actually change the replica count.',
  ),
  col(
    'Targets',
    'string',
    'metrics contains the specifications for which to use to calculate the desired replica count (the maximum replica count across all metrics will be used).  The desired replica count is calculated multiplying the ratio between the target value and the current value by the current number of pods.  Ergo, metrics used must decrease as the pod count is increased, and vice-versa.  See the individual metric source types for more information about how each type of metric must respond.',
  ),
  col(
    'MinPods',
    'string',
    'minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.  It defaults to 1 pod.  minReplicas is allowed to be 0 if the alpha feature gate HPAScaleToZero is enabled and at least one Object or External metric is configured.  Scaling is active as long as at least one metric value is available.',
  ),
  col(
    'MaxPods',
    'integer',
    'maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up. It cannot be less that minReplicas.',
  ),
  col(
    'Replicas',
    'integer',
    'currentReplicas is current number of replicas of pods managed by this autoscaler, as last seen by the autoscaler.',
  ),
  ageColumn(),
];

const row = (obj: KubeObject, now: number): unknown[] => [
  obj.metadata?.name ?? '',
  ...hpaCells(obj.spec, obj.status),
  ageOf(obj, now),
];

function validate(obj: KubeObject): ReturnType<ResourceDef['validate']> {
  return [...validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain }), ...validateHpaSpec(obj.spec)];
}

export const horizontalPodAutoscaler: ResourceDef = {
  group: 'autoscaling',
  version: 'v2',
  kind: 'HorizontalPodAutoscaler',
  resource: 'horizontalpodautoscalers',
  singular: 'horizontalpodautoscaler',
  namespaced: true,
  shortNames: ['hpa'],
  categories: ['all'],
  verbs: ALL_VERBS,
  subresources: ['status'],
  hasStatusSubresource: true,
  // the HPA REST strategy keeps no metadata.generation
  hasGeneration: false,
  schema: 'HorizontalPodAutoscaler',

  // the REST strategy's PrepareForCreate: the status starts empty
  prepareForCreate(obj) {
    obj.status = { desiredReplicas: 0 };
  },
  defaults(obj) {
    if (!isRecord(obj.spec)) obj.spec = {};
    defaultHpaSpec(obj.spec);
  },
  validate,
  validateStatus: (obj) => validateHpaStatus(obj.status),
  columns,
  row,
};

/** autoscaling/v1: the same objects, converted on the way in and out (controlplane/api/converted-storage.ts) */
export const horizontalPodAutoscalerV1: ResourceDef = {
  ...horizontalPodAutoscaler,
  version: 'v1',
  schema: 'HorizontalPodAutoscalerV1',
  prepareForCreate: undefined,
  defaults: undefined,
  validate: (obj) => validate(hpaFromV1(obj)),
  validateStatus: (obj) => validateHpaStatus(hpaFromV1(obj).status),
  row: (obj, now) => row(hpaFromV1(obj), now),
  conversion: { storage: () => horizontalPodAutoscaler, toStorage: hpaFromV1, fromStorage: hpaToV1 },
};
