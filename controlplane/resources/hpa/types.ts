// The autoscaling/v2 HorizontalPodAutoscaler as TypeScript types (k8s.io/api/autoscaling/v2
// field names): the storage version, read by the table printer, the v1 conversion and
// the controller. Request bodies are unchecked JSON, so every field is optional here.

export interface CrossVersionObjectReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
}
export interface MetricTarget {
  type?: string;
  value?: string | number;
  averageValue?: string | number;
  averageUtilization?: number;
}
export interface MetricValueStatus {
  value?: string;
  averageValue?: string;
  averageUtilization?: number;
}
export interface MetricIdentifier {
  name?: string;
  selector?: unknown;
}

export interface ResourceMetricSource {
  name?: string;
  target?: MetricTarget;
}
export interface ContainerResourceMetricSource {
  name?: string;
  container?: string;
  target?: MetricTarget;
}
export interface PodsMetricSource {
  metric?: MetricIdentifier;
  target?: MetricTarget;
}
export interface ObjectMetricSource {
  describedObject?: CrossVersionObjectReference;
  metric?: MetricIdentifier;
  target?: MetricTarget;
}
export interface ExternalMetricSource {
  metric?: MetricIdentifier;
  target?: MetricTarget;
}

export interface MetricSpec {
  type?: string;
  resource?: ResourceMetricSource;
  containerResource?: ContainerResourceMetricSource;
  pods?: PodsMetricSource;
  object?: ObjectMetricSource;
  external?: ExternalMetricSource;
}

export interface MetricStatus {
  type?: string;
  resource?: { name?: string; current?: MetricValueStatus };
  containerResource?: { name?: string; container?: string; current?: MetricValueStatus };
  pods?: { metric?: MetricIdentifier; current?: MetricValueStatus };
  object?: { describedObject?: CrossVersionObjectReference; metric?: MetricIdentifier; current?: MetricValueStatus };
  external?: { metric?: MetricIdentifier; current?: MetricValueStatus };
}

export interface HPAScalingPolicy {
  type?: string;
  value?: number;
  periodSeconds?: number;
}
export interface HPAScalingRules {
  stabilizationWindowSeconds?: number;
  selectPolicy?: string;
  policies?: HPAScalingPolicy[];
  tolerance?: string | number;
}
export interface HorizontalPodAutoscalerBehavior {
  scaleUp?: HPAScalingRules;
  scaleDown?: HPAScalingRules;
}

export interface HorizontalPodAutoscalerSpec {
  scaleTargetRef?: CrossVersionObjectReference;
  minReplicas?: number;
  maxReplicas?: number;
  metrics?: MetricSpec[];
  behavior?: HorizontalPodAutoscalerBehavior;
}

export interface HorizontalPodAutoscalerCondition {
  type: string;
  status: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface HorizontalPodAutoscalerStatus {
  observedGeneration?: number;
  lastScaleTime?: string;
  currentReplicas?: number;
  desiredReplicas?: number;
  currentMetrics?: MetricStatus[];
  conditions?: HorizontalPodAutoscalerCondition[];
}

export const DEFAULT_CPU_UTILIZATION = 80;
