// autoscaling/v1 <-> autoscaling/v2 HorizontalPodAutoscaler conversion, as
// pkg/apis/autoscaling/v1/conversion.go does it: v1 carries only the CPU utilization
// target (spec.targetCPUUtilizationPercentage) and its current value
// (status.currentCPUUtilizationPercentage); every other metric, the current metrics, the
// conditions and the behavior travel in the round-trip annotations below (metrics in
// v1's MetricSpec/MetricStatus shape), and are taken out of the annotations again when a
// v1 object is converted back, so stored (v2) objects never carry them.
import type { KubeObject } from '../../../proto/meta.js';
import { type Decoded, isDecoded, isJsonObject, isRecord } from '../meta-validation.js';
import type {
  CrossVersionObjectReference,
  HorizontalPodAutoscalerSpec,
  HorizontalPodAutoscalerStatus,
  MetricSpec,
  MetricStatus,
  MetricTarget,
} from './types.js';
import { DEFAULT_CPU_UTILIZATION } from './types.js';

export const METRIC_SPECS_ANNOTATION = 'autoscaling.alpha.kubernetes.io/metrics';
export const METRIC_STATUSES_ANNOTATION = 'autoscaling.alpha.kubernetes.io/current-metrics';
export const CONDITIONS_ANNOTATION = 'autoscaling.alpha.kubernetes.io/conditions';
export const BEHAVIOR_ANNOTATION = 'autoscaling.alpha.kubernetes.io/behavior';
const ROUND_TRIP = [METRIC_SPECS_ANNOTATION, METRIC_STATUSES_ANNOTATION, CONDITIONS_ANNOTATION, BEHAVIOR_ANNOTATION];

type Json = Record<string, unknown>;
type Quantity = string | number;

/** autoscaling/v1's MetricSpec (v2beta1's shape), as the metrics annotation carries it */
interface V1MetricSpec {
  type?: string;
  resource?: { name?: string; targetAverageUtilization?: number; targetAverageValue?: Quantity };
  containerResource?: {
    name?: string;
    container?: string;
    targetAverageUtilization?: number;
    targetAverageValue?: Quantity;
  };
  pods?: { metricName?: string; selector?: unknown; targetAverageValue?: Quantity };
  object?: {
    target?: CrossVersionObjectReference;
    metricName?: string;
    selector?: unknown;
    targetValue?: Quantity;
    averageValue?: Quantity;
  };
  external?: { metricName?: string; metricSelector?: unknown; targetValue?: Quantity; targetAverageValue?: Quantity };
}

/** autoscaling/v1's MetricStatus (v2beta1's shape), as the current-metrics annotation carries it */
interface V1MetricStatus {
  type?: string;
  resource?: { name?: string; currentAverageUtilization?: number; currentAverageValue?: string };
  containerResource?: {
    name?: string;
    container?: string;
    currentAverageUtilization?: number;
    currentAverageValue?: string;
  };
  pods?: { metricName?: string; selector?: unknown; currentAverageValue?: string };
  object?: {
    target?: CrossVersionObjectReference;
    metricName?: string;
    selector?: unknown;
    currentValue?: string;
    averageValue?: string;
  };
  external?: { metricName?: string; metricSelector?: unknown; currentValue?: string; currentAverageValue?: string };
}

const rec = (v: unknown): Json => (isRecord(v) ? v : {});
const has = (v: unknown): boolean => v !== undefined && v !== null;

function dropRoundTrip(meta: KubeObject['metadata']): void {
  const a = meta.annotations;
  if (!a) return;
  for (const k of ROUND_TRIP) delete a[k];
  if (!Object.keys(a).length) delete meta.annotations;
}

// ---- metrics: v2 <-> v1's (v2beta1-shaped) MetricSpec / MetricStatus --------------------

function v1MetricSpec(m: MetricSpec): Json {
  const out: Json = { type: m.type };
  if (m.resource)
    out.resource = {
      name: m.resource.name,
      ...(has(m.resource.target?.averageUtilization)
        ? { targetAverageUtilization: m.resource.target?.averageUtilization }
        : {}),
      ...(has(m.resource.target?.averageValue) ? { targetAverageValue: m.resource.target?.averageValue } : {}),
    };
  if (m.containerResource) {
    const c = m.containerResource;
    out.containerResource = {
      name: c.name,
      container: c.container,
      ...(has(c.target?.averageUtilization) ? { targetAverageUtilization: c.target?.averageUtilization } : {}),
      ...(has(c.target?.averageValue) ? { targetAverageValue: c.target?.averageValue } : {}),
    };
  }
  if (m.pods)
    out.pods = {
      metricName: m.pods.metric?.name,
      targetAverageValue: m.pods.target?.averageValue ?? '0',
      ...(has(m.pods.metric?.selector) ? { selector: m.pods.metric?.selector } : {}),
    };
  if (m.object) {
    const o = m.object;
    out.object = {
      target: o.describedObject,
      metricName: o.metric?.name,
      targetValue: o.target?.value ?? '0',
      ...(has(o.metric?.selector) ? { selector: o.metric?.selector } : {}),
      ...(has(o.target?.averageValue) ? { averageValue: o.target?.averageValue } : {}),
    };
  }
  if (m.external) {
    const e = m.external;
    out.external = {
      metricName: e.metric?.name,
      ...(has(e.metric?.selector) ? { metricSelector: e.metric?.selector } : {}),
      ...(has(e.target?.value) ? { targetValue: e.target?.value } : {}),
      ...(has(e.target?.averageValue) ? { targetAverageValue: e.target?.averageValue } : {}),
    };
  }
  return out;
}

function avgTarget(util: unknown, avg: unknown): MetricTarget {
  if (has(avg)) return { type: 'AverageValue', averageValue: avg as string };
  if (has(util)) return { type: 'Utilization', averageUtilization: util as number };
  return {};
}

function v2MetricSpec(j: Decoded<V1MetricSpec>): MetricSpec {
  const out: MetricSpec = { type: j.type as string };
  if (isJsonObject(j.resource)) {
    const r = j.resource;
    out.resource = { name: r.name, target: avgTarget(r.targetAverageUtilization, r.targetAverageValue) };
  }
  if (isJsonObject(j.containerResource)) {
    const r = j.containerResource;
    out.containerResource = {
      name: r.name,
      container: r.container,
      target: avgTarget(r.targetAverageUtilization, r.targetAverageValue),
    };
  }
  if (isJsonObject(j.pods)) {
    const p = j.pods;
    out.pods = {
      metric: { name: p.metricName, ...(has(p.selector) ? { selector: p.selector } : {}) },
      target: { type: 'AverageValue', averageValue: p.targetAverageValue },
    };
  }
  if (isJsonObject(j.object)) {
    const o = j.object;
    out.object = {
      describedObject: o.target,
      metric: { name: o.metricName, ...(has(o.selector) ? { selector: o.selector } : {}) },
      target: has(o.averageValue)
        ? { type: 'AverageValue', averageValue: o.averageValue }
        : { type: 'Value', value: o.targetValue },
    };
  }
  if (isJsonObject(j.external)) {
    const e = j.external;
    out.external = {
      metric: { name: e.metricName, ...(has(e.metricSelector) ? { selector: e.metricSelector } : {}) },
      target: has(e.targetAverageValue)
        ? { type: 'AverageValue', averageValue: e.targetAverageValue }
        : { type: 'Value', value: e.targetValue },
    };
  }
  return out;
}

function v1MetricStatus(m: MetricStatus): Json {
  const out: Json = { type: m.type };
  if (m.resource)
    out.resource = {
      name: m.resource.name,
      ...(has(m.resource.current?.averageUtilization)
        ? { currentAverageUtilization: m.resource.current?.averageUtilization }
        : {}),
      currentAverageValue: m.resource.current?.averageValue ?? '0',
    };
  if (m.containerResource) {
    const c = m.containerResource;
    out.containerResource = {
      name: c.name,
      container: c.container,
      ...(has(c.current?.averageUtilization) ? { currentAverageUtilization: c.current?.averageUtilization } : {}),
      currentAverageValue: c.current?.averageValue ?? '0',
    };
  }
  if (m.pods)
    out.pods = {
      metricName: m.pods.metric?.name,
      currentAverageValue: m.pods.current?.averageValue ?? '0',
      ...(has(m.pods.metric?.selector) ? { selector: m.pods.metric?.selector } : {}),
    };
  if (m.object) {
    const o = m.object;
    out.object = {
      target: o.describedObject,
      metricName: o.metric?.name,
      currentValue: o.current?.value ?? '0',
      ...(has(o.metric?.selector) ? { selector: o.metric?.selector } : {}),
      ...(has(o.current?.averageValue) ? { averageValue: o.current?.averageValue } : {}),
    };
  }
  if (m.external) {
    const e = m.external;
    out.external = {
      metricName: e.metric?.name,
      ...(has(e.metric?.selector) ? { metricSelector: e.metric?.selector } : {}),
      currentValue: e.current?.value ?? '0',
      ...(has(e.current?.averageValue) ? { currentAverageValue: e.current?.averageValue } : {}),
    };
  }
  return out;
}

function v2MetricStatus(j: Decoded<V1MetricStatus>): MetricStatus {
  const out: MetricStatus = { type: j.type as string };
  const cur = (util: unknown, avg: unknown) => ({
    ...(has(util) ? { averageUtilization: util as number } : {}),
    ...(has(avg) ? { averageValue: avg as string } : {}),
  });
  if (isJsonObject(j.resource))
    out.resource = {
      name: j.resource.name,
      current: cur(j.resource.currentAverageUtilization, j.resource.currentAverageValue),
    };
  if (isJsonObject(j.containerResource)) {
    const c = j.containerResource;
    out.containerResource = {
      name: c.name,
      container: c.container,
      current: cur(c.currentAverageUtilization, c.currentAverageValue),
    };
  }
  if (isJsonObject(j.pods))
    out.pods = {
      metric: { name: j.pods.metricName, ...(has(j.pods.selector) ? { selector: j.pods.selector } : {}) },
      current: { averageValue: j.pods.currentAverageValue },
    };
  if (isJsonObject(j.object)) {
    const o = j.object;
    out.object = {
      describedObject: o.target,
      metric: { name: o.metricName, ...(has(o.selector) ? { selector: o.selector } : {}) },
      current: { value: o.currentValue, ...(has(o.averageValue) ? { averageValue: o.averageValue } : {}) },
    };
  }
  if (isJsonObject(j.external)) {
    const e = j.external;
    out.external = {
      metric: { name: e.metricName, ...(has(e.metricSelector) ? { selector: e.metricSelector } : {}) },
      current: {
        value: e.currentValue,
        ...(has(e.currentAverageValue) ? { averageValue: e.currentAverageValue } : {}),
      },
    };
  }
  return out;
}

const isCpuUtilization = (m: MetricSpec): boolean =>
  m?.type === 'Resource' && m.resource?.name === 'cpu' && has(m.resource.target?.averageUtilization);

function parseAnnotation(v: string | undefined): unknown {
  if (v === undefined) return undefined;
  try {
    return JSON.parse(v);
  } catch {
    return undefined;
  }
}

// ---- whole objects ---------------------------------------------------------------------

/** a stored autoscaling/v2 object as autoscaling/v1 shows it */
export function hpaToV1(v2: KubeObject): KubeObject {
  const out = structuredClone(v2);
  out.apiVersion = 'autoscaling/v1';
  out.metadata ??= {};
  dropRoundTrip(out.metadata);
  const spec: HorizontalPodAutoscalerSpec = rec(v2.spec);
  const status: HorizontalPodAutoscalerStatus = rec(v2.status);
  const metrics = Array.isArray(spec.metrics) ? spec.metrics : [];
  const annotations: Record<string, string> = {};

  const v1spec: Json = {
    scaleTargetRef: spec.scaleTargetRef,
    ...(has(spec.minReplicas) ? { minReplicas: spec.minReplicas } : {}),
    maxReplicas: spec.maxReplicas,
  };
  const cpu = metrics.find((m) => m?.type === 'Resource' && m.resource?.name === 'cpu');
  if (cpu && has(cpu.resource?.target?.averageUtilization))
    v1spec.targetCPUUtilizationPercentage = cpu.resource?.target?.averageUtilization;
  const other = metrics.filter((m) => !isCpuUtilization(m));
  if (other.length) annotations[METRIC_SPECS_ANNOTATION] = JSON.stringify(other.map(v1MetricSpec));
  if (spec.behavior) annotations[BEHAVIOR_ANNOTATION] = JSON.stringify(spec.behavior);
  out.spec = v1spec;

  if (v2.status !== undefined) {
    const v1status: Json = {};
    if (has(status.observedGeneration)) v1status.observedGeneration = status.observedGeneration;
    if (has(status.lastScaleTime)) v1status.lastScaleTime = status.lastScaleTime;
    v1status.currentReplicas = status.currentReplicas ?? 0;
    v1status.desiredReplicas = status.desiredReplicas ?? 0;
    const current = Array.isArray(status.currentMetrics) ? status.currentMetrics : [];
    for (const m of current) {
      if (m?.type === 'Resource' && m.resource?.name === 'cpu' && has(m.resource.current?.averageUtilization))
        v1status.currentCPUUtilizationPercentage = m.resource.current?.averageUtilization;
    }
    if (current.length) annotations[METRIC_STATUSES_ANNOTATION] = JSON.stringify(current.map(v1MetricStatus));
    if (Array.isArray(status.conditions) && status.conditions.length)
      annotations[CONDITIONS_ANNOTATION] = JSON.stringify(status.conditions);
    out.status = v1status;
  }
  if (Object.keys(annotations).length)
    out.metadata.annotations = { ...(out.metadata.annotations ?? {}), ...annotations };
  return out;
}

/** an autoscaling/v1 object (a request body) in the stored autoscaling/v2 form */
export function hpaFromV1(v1: KubeObject): KubeObject {
  const out = structuredClone(v1);
  out.apiVersion = 'autoscaling/v2';
  out.metadata ??= {};
  const ann = out.metadata.annotations ?? {};
  const spec = rec(v1.spec);
  const v2spec: HorizontalPodAutoscalerSpec = {
    scaleTargetRef: spec.scaleTargetRef as HorizontalPodAutoscalerSpec['scaleTargetRef'],
  };
  if (has(spec.minReplicas)) v2spec.minReplicas = spec.minReplicas as number;
  if (has(spec.maxReplicas)) v2spec.maxReplicas = spec.maxReplicas as number;
  const metrics: MetricSpec[] = [];
  if (has(spec.targetCPUUtilizationPercentage)) {
    metrics.push({
      type: 'Resource',
      resource: {
        name: 'cpu',
        target: { type: 'Utilization', averageUtilization: spec.targetCPUUtilizationPercentage as number },
      },
    });
  }
  const other = parseAnnotation(ann[METRIC_SPECS_ANNOTATION]);
  if (Array.isArray(other)) for (const m of other) metrics.push(v2MetricSpec(isDecoded<V1MetricSpec>(m) ? m : {}));
  // autoscaling/v1's implicit default, made explicit (the full metric list is known only here)
  if (!metrics.length)
    metrics.push({
      type: 'Resource',
      resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: DEFAULT_CPU_UTILIZATION } },
    });
  v2spec.metrics = metrics;
  const behavior = parseAnnotation(ann[BEHAVIOR_ANNOTATION]);
  if (isRecord(behavior)) v2spec.behavior = behavior;
  out.spec = v2spec;

  if (v1.status !== undefined) {
    const st = rec(v1.status);
    const v2status: HorizontalPodAutoscalerStatus = {};
    if (has(st.observedGeneration)) v2status.observedGeneration = st.observedGeneration as number;
    if (has(st.lastScaleTime)) v2status.lastScaleTime = st.lastScaleTime as string;
    v2status.currentReplicas = (st.currentReplicas as number | undefined) ?? 0;
    v2status.desiredReplicas = (st.desiredReplicas as number | undefined) ?? 0;
    const current = parseAnnotation(ann[METRIC_STATUSES_ANNOTATION]);
    if (Array.isArray(current))
      v2status.currentMetrics = current.map((m) => v2MetricStatus(isDecoded<V1MetricStatus>(m) ? m : {}));
    else if (has(st.currentCPUUtilizationPercentage)) {
      v2status.currentMetrics = [
        {
          type: 'Resource',
          resource: { name: 'cpu', current: { averageUtilization: st.currentCPUUtilizationPercentage as number } },
        },
      ];
    }
    const conditions = parseAnnotation(ann[CONDITIONS_ANNOTATION]);
    if (Array.isArray(conditions)) v2status.conditions = conditions as HorizontalPodAutoscalerStatus['conditions'];
    out.status = v2status;
  }
  dropRoundTrip(out.metadata);
  return out;
}
