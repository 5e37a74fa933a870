// Validation of HorizontalPodAutoscalers as pkg/apis/autoscaling/validation/validation.go
// does it (messages and field paths of the v2 form, which is what kube-apiserver validates
// for both served versions): replica bounds, the scale target reference, each metric
// source and its target, and the behavior's scaling rules and policies.
import type { StatusCause } from '../../../proto/meta.js';
import { isValidQuantity, parseQuantity } from '../../../proto/quantity.js';
import { field } from '../../api/errors.js';
import { isJsonObject, validateNonnegative } from '../meta-validation.js';
import type {
  CrossVersionObjectReference,
  HorizontalPodAutoscalerBehavior,
  HorizontalPodAutoscalerSpec,
  HPAScalingRules,
  MetricIdentifier,
  MetricSpec,
  MetricTarget,
} from './types.js';

export const MAX_PERIOD_SECONDS = 1800;
export const MAX_STABILIZATION_WINDOW_SECONDS = 3600;
const METRIC_SOURCE_TYPES = ['ContainerResource', 'External', 'Object', 'Pods', 'Resource'];
const SELECT_POLICIES = ['Disabled', 'Max', 'Min'];
const POLICY_TYPES = ['Percent', 'Pods'];

/** IsValidPathSegmentName */
function pathSegmentErrors(name: string): string[] {
  if (name === '.' || name === '..') return [`may not be '${name}'`];
  const out: string[] = [];
  for (const bad of ['/', '%']) if (name.includes(bad)) out.push(`may not contain '${bad}'`);
  return out;
}

function validateCrossVersionObjectReference(
  ref: CrossVersionObjectReference | undefined,
  path: string,
): StatusCause[] {
  const out: StatusCause[] = [];
  const r = isJsonObject(ref) ? ref : {};
  if (!r.kind) out.push(field.required(`${path}.kind`));
  else for (const m of pathSegmentErrors(r.kind)) out.push(field.invalid(`${path}.kind`, r.kind, m));
  if (!r.name) out.push(field.required(`${path}.name`));
  else for (const m of pathSegmentErrors(r.name)) out.push(field.invalid(`${path}.name`, r.name, m));
  return out;
}

function quantitySign(v: unknown): number {
  if (!isValidQuantity(v)) return 0;
  return Math.sign(parseQuantity(v as string | number));
}

function validateMetricTarget(t: MetricTarget | undefined, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const mt = isJsonObject(t) ? t : {};
  if (!mt.type) out.push(field.required(`${path}.type`, 'must specify a metric target type'));
  else if (!['Utilization', 'Value', 'AverageValue'].includes(mt.type))
    out.push(field.invalid(`${path}.type`, mt.type, 'must be either Utilization, Value, or AverageValue'));
  if (mt.value !== undefined && mt.value !== null && quantitySign(mt.value) !== 1)
    out.push(field.invalid(`${path}.value`, String(mt.value), 'must be positive'));
  if (mt.averageValue !== undefined && mt.averageValue !== null && quantitySign(mt.averageValue) !== 1)
    out.push(field.invalid(`${path}.averageValue`, String(mt.averageValue), 'must be positive'));
  if (typeof mt.averageUtilization === 'number' && mt.averageUtilization < 1)
    out.push(field.invalid(`${path}.averageUtilization`, mt.averageUtilization, 'must be greater than 0'));
  return out;
}

function validateMetricIdentifier(id: MetricIdentifier | undefined, path: string): StatusCause[] {
  if (!isJsonObject(id) || !id.name) return [field.required(`${path}.name`, 'must specify a metric name')];
  return [];
}

function validateResourceTarget(t: MetricTarget | undefined, path: string): StatusCause[] {
  const out = validateMetricTarget(t, `${path}.target`);
  const mt = isJsonObject(t) ? t : {};
  const hasUtil = mt.averageUtilization !== undefined && mt.averageUtilization !== null;
  const hasAvg = mt.averageValue !== undefined && mt.averageValue !== null;
  if (!hasUtil && !hasAvg)
    out.push(
      field.required(`${path}.target.averageUtilization`, 'must set either a target raw value or a target utilization'),
    );
  if (hasUtil && hasAvg)
    out.push(
      field.forbidden(`${path}.target.averageValue`, 'may not set both a target raw value and a target utilization'),
    );
  return out;
}

function validateMetricSpec(spec: MetricSpec, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  if (!isJsonObject(spec)) return [field.required(`${path}.type`, 'must specify a metric source type')];
  if (!spec.type) out.push(field.required(`${path}.type`, 'must specify a metric source type'));
  else if (!METRIC_SOURCE_TYPES.includes(spec.type))
    out.push(field.notSupported(`${path}.type`, spec.type, METRIC_SOURCE_TYPES));

  const present: string[] = [];
  if (isJsonObject(spec.object)) {
    present.push('object');
    const s = spec.object;
    out.push(...validateCrossVersionObjectReference(s.describedObject, `${path}.object.describedObject`));
    out.push(...validateMetricIdentifier(s.metric, `${path}.object.metric`));
    out.push(...validateMetricTarget(s.target, `${path}.object.target`));
    if (!isJsonObject(s.target) || (s.target.value == null && s.target.averageValue == null))
      out.push(field.required(`${path}.object.target.value`, 'must set either a target value or averageValue'));
  }
  if (isJsonObject(spec.external)) {
    present.push('external');
    const s = spec.external;
    out.push(...validateMetricIdentifier(s.metric, `${path}.external.metric`));
    out.push(...validateMetricTarget(s.target, `${path}.external.target`));
    const t = isJsonObject(s.target) ? s.target : {};
    if (t.value == null && t.averageValue == null)
      out.push(
        field.required(
          `${path}.external.target.value`,
          'must set either a target value for metric or a per-pod target',
        ),
      );
    if (t.value != null && t.averageValue != null)
      out.push(
        field.forbidden(
          `${path}.external.target.value`,
          'may not set both a target value for metric and a per-pod target',
        ),
      );
  }
  if (isJsonObject(spec.pods)) {
    present.push('pods');
    const s = spec.pods;
    out.push(...validateMetricIdentifier(s.metric, `${path}.pods.metric`));
    out.push(...validateMetricTarget(s.target, `${path}.pods.target`));
    if (!isJsonObject(s.target) || s.target.averageValue == null)
      out.push(field.required(`${path}.pods.target.averageValue`, 'must specify a positive target averageValue'));
  }
  if (isJsonObject(spec.resource)) {
    present.push('resource');
    const s = spec.resource;
    if (!s.name) out.push(field.required(`${path}.resource.name`, 'must specify a resource name'));
    out.push(...validateResourceTarget(s.target, `${path}.resource`));
  }
  if (isJsonObject(spec.containerResource)) {
    present.push('containerResource');
    const s = spec.containerResource;
    if (!s.name) out.push(field.required(`${path}.containerResource.name`, 'must specify a resource name'));
    if (!s.container) out.push(field.required(`${path}.containerResource.container`, 'must specify a container'));
    out.push(...validateResourceTarget(s.target, `${path}.containerResource`));
  }

  const expected: Record<string, string> = {
    Object: 'object',
    Pods: 'pods',
    Resource: 'resource',
    External: 'external',
    ContainerResource: 'containerResource',
  };
  const want = spec.type ? expected[spec.type] : undefined;
  if (want && !present.includes(want))
    out.push(field.required(`${path}.${want}`, 'must populate information for the given metric source'));
  if (present.length > 1) {
    for (const typ of [...present].sort())
      if (typ !== want) out.push(field.forbidden(`${path}.${typ}`, 'must populate the given metric source only'));
  }
  return out;
}

function validateScalingRules(rules: HPAScalingRules | undefined, path: string): StatusCause[] {
  if (!isJsonObject(rules)) return [];
  const out: StatusCause[] = [];
  const w = rules.stabilizationWindowSeconds;
  if (typeof w === 'number' && w < 0)
    out.push(field.invalid(`${path}.stabilizationWindowSeconds`, w, 'must be greater than or equal to zero'));
  if (typeof w === 'number' && w > MAX_STABILIZATION_WINDOW_SECONDS)
    out.push(
      field.invalid(
        `${path}.stabilizationWindowSeconds`,
        w,
        `must be less than or equal to ${MAX_STABILIZATION_WINDOW_SECONDS}`,
      ),
    );
  if (
    rules.selectPolicy !== undefined &&
    rules.selectPolicy !== null &&
    !SELECT_POLICIES.includes(rules.selectPolicy)
  ) {
    out.push(field.notSupported(`${path}.selectPolicy`, rules.selectPolicy, SELECT_POLICIES));
  }
  const policies = Array.isArray(rules.policies) ? rules.policies : [];
  if (policies.length === 0) out.push(field.required(`${path}.policies`, 'must specify at least one Policy'));
  policies.forEach((p, i) => {
    const pp = `${path}.policies[${i}]`;
    const pol = isJsonObject(p) ? p : {};
    if (pol.type !== 'Pods' && pol.type !== 'Percent')
      out.push(field.notSupported(`${pp}.type`, pol.type ?? '', POLICY_TYPES));
    if (!(typeof pol.value === 'number' && pol.value > 0))
      out.push(field.invalid(`${pp}.value`, pol.value ?? 0, 'must be greater than zero'));
    const period = pol.periodSeconds ?? 0;
    if (period <= 0) out.push(field.invalid(`${pp}.periodSeconds`, period, 'must be greater than zero'));
    if (period > MAX_PERIOD_SECONDS)
      out.push(field.invalid(`${pp}.periodSeconds`, period, `must be less than or equal to ${MAX_PERIOD_SECONDS}`));
  });
  return out;
}

function validateBehavior(b: HorizontalPodAutoscalerBehavior | undefined, path: string): StatusCause[] {
  if (!isJsonObject(b)) return [];
  return [
    ...validateScalingRules(b.scaleUp, `${path}.scaleUp`),
    ...validateScalingRules(b.scaleDown, `${path}.scaleDown`),
  ];
}

/** validateHorizontalPodAutoscalerSpec */
export function validateHpaSpec(spec: HorizontalPodAutoscalerSpec | undefined, path = 'spec'): StatusCause[] {
  const out: StatusCause[] = [];
  const s = isJsonObject(spec) ? spec : {};
  const min = s.minReplicas;
  if (typeof min === 'number' && min < 1)
    out.push(field.invalid(`${path}.minReplicas`, min, 'must be greater than or equal to 1'));
  const max = typeof s.maxReplicas === 'number' ? s.maxReplicas : 0;
  if (max < 1) out.push(field.invalid(`${path}.maxReplicas`, max, 'must be greater than 0'));
  if (typeof min === 'number' && max < min)
    out.push(field.invalid(`${path}.maxReplicas`, max, 'must be greater than or equal to `minReplicas`'));
  out.push(...validateCrossVersionObjectReference(s.scaleTargetRef, `${path}.scaleTargetRef`));
  (Array.isArray(s.metrics) ? s.metrics : []).forEach((m, i) =>
    out.push(...validateMetricSpec(m, `${path}.metrics[${i}]`)),
  );
  out.push(...validateBehavior(s.behavior, `${path}.behavior`));
  return out;
}

/** ValidateHorizontalPodAutoscalerStatusUpdate: replica counts are not negative */
export function validateHpaStatus(
  status: { currentReplicas?: unknown; desiredReplicas?: unknown } | undefined,
): StatusCause[] {
  const s = isJsonObject(status) ? status : {};
  return [
    ...validateNonnegative(s.currentReplicas ?? 0, 'status.currentReplicas'),
    ...validateNonnegative(s.desiredReplicas ?? 0, 'status.desiredReplicas'),
  ];
}
