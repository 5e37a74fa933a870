// Defaulting of autoscaling/v2 HorizontalPodAutoscalers (pkg/apis/autoscaling/v2/defaults.go):
// minReplicas 1, a CPU utilization target of 80 % when no metric is given, and — only
// when spec.behavior is present — every unset scaling rule filled from Kubernetes'
// defaults (GenerateHPAScaleUpRules / GenerateHPAScaleDownRules). The controller uses the
// same rules for an HPA without behavior.
import { DEFAULT_CPU_UTILIZATION, type HorizontalPodAutoscalerSpec, type HPAScalingRules } from './types.js';

/** scale up: no stabilization, the larger of +4 pods or +100 % every 15 s */
export function defaultScaleUpRules(): HPAScalingRules {
  return {
    stabilizationWindowSeconds: 0,
    selectPolicy: 'Max',
    policies: [
      { type: 'Pods', value: 4, periodSeconds: 15 },
      { type: 'Percent', value: 100, periodSeconds: 15 },
    ],
  };
}

/** scale down: 300 s stabilization, up to 100 % every 15 s */
export function defaultScaleDownRules(): HPAScalingRules {
  return {
    stabilizationWindowSeconds: 300,
    selectPolicy: 'Max',
    policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
  };
}

/** GenerateHPAScaleUpRules / GenerateHPAScaleDownRules: unset parts of `rules` from `defaults` */
export function fillScalingRules(rules: HPAScalingRules | undefined, defaults: HPAScalingRules): HPAScalingRules {
  if (!rules || typeof rules !== 'object') return defaults;
  const out: HPAScalingRules = { ...rules };
  if (!Array.isArray(out.policies) || out.policies.length === 0) out.policies = defaults.policies;
  if (out.selectPolicy === undefined || out.selectPolicy === null) out.selectPolicy = defaults.selectPolicy;
  if (out.stabilizationWindowSeconds === undefined || out.stabilizationWindowSeconds === null)
    out.stabilizationWindowSeconds = defaults.stabilizationWindowSeconds;
  return out;
}

/** SetDefaults_HorizontalPodAutoscaler (v2), in place */
export function defaultHpaSpec(spec: HorizontalPodAutoscalerSpec): void {
  if (spec.minReplicas === undefined || spec.minReplicas === null) spec.minReplicas = 1;
  if (!Array.isArray(spec.metrics) || spec.metrics.length === 0) {
    spec.metrics = [
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: DEFAULT_CPU_UTILIZATION } },
      },
    ];
  }
  // SetDefaults_HorizontalPodAutoscalerBehavior: only a given behavior is filled in
  if (spec.behavior && typeof spec.behavior === 'object') {
    spec.behavior = {
      ...spec.behavior,
      scaleUp: fillScalingRules(spec.behavior.scaleUp, defaultScaleUpRules()),
      scaleDown: fillScalingRules(spec.behavior.scaleDown, defaultScaleDownRules()),
    };
  }
}
