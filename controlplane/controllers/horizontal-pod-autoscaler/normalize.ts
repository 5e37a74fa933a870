// From the metrics' recommendation to the replica count the HPA sets (horizontal.go's
// normalizeDesiredReplicas / normalizeDesiredReplicasWithBehaviors), pure over the
// per-HPA history it keeps: without spec.behavior the highest recommendation of the
// downscale stabilization window (5 min) and the min/max and 2x-or-4 scale-up limits; with
// spec.behavior each direction's stabilization window and the policies' rate limits
// (Pods/Percent per period, selectPolicy Max/Min/Disabled) over the recorded scale events.
// Each call returns the AbleToScale/ScalingLimited condition facts as upstream words them.
import type { HorizontalPodAutoscalerBehavior, HPAScalingRules } from '../../resources/hpa/types.js';
import { defaultScaleDownRules, defaultScaleUpRules, fillScalingRules } from '../../resources/hpa/defaults.js';

/** --horizontal-pod-autoscaler-downscale-stabilization */
export const DOWNSCALE_STABILIZATION_MS = 5 * 60_000;
const SCALE_UP_LIMIT_FACTOR = 2.0;
const SCALE_UP_LIMIT_MINIMUM = 4.0;
const INT32_MAX = 2 ** 31 - 1;
const INT32_MIN = -(2 ** 31);

export interface Recommendation {
  replicas: number;
  at: number;
}
export interface ScaleEvent {
  change: number;
  at: number;
  outdated: boolean;
}

/** what the controller remembers per HPA between syncs (in memory, as upstream) */
export interface HpaHistory {
  recommendations: Recommendation[];
  scaleUpEvents: ScaleEvent[];
  scaleDownEvents: ScaleEvent[];
}

export const newHistory = (): HpaHistory => ({ recommendations: [], scaleUpEvents: [], scaleDownEvents: [] });

export interface ConditionFact {
  reason: string;
  message: string;
}
export interface Normalized {
  replicas: number;
  /** AbleToScale True with this reason/message */
  ableToScale: ConditionFact;
  /** ScalingLimited: status True when the result differs from the stabilized recommendation */
  scalingLimited: ConditionFact & { status: 'True' | 'False' };
}

/** recordInitialRecommendation */
export function recordInitialRecommendation(h: HpaHistory, currentReplicas: number, now: number): void {
  if (!h.recommendations.length) h.recommendations.push({ replicas: currentReplicas, at: now });
}

function record(h: HpaHistory, replicas: number, now: number, oldIndex: number | undefined): void {
  if (oldIndex !== undefined) h.recommendations[oldIndex] = { replicas, at: now };
  else h.recommendations.push({ replicas, at: now });
}

/** convertDesiredReplicasWithRules */
export function convertDesiredReplicasWithRules(
  current: number,
  desired: number,
  min: number,
  max: number,
): { replicas: number } & ConditionFact {
  const scaleUpLimit = Math.trunc(Math.max(SCALE_UP_LIMIT_FACTOR * current, SCALE_UP_LIMIT_MINIMUM));
  let maximum: number;
  let fact: ConditionFact;
  if (max > scaleUpLimit) {
    maximum = scaleUpLimit;
    fact = {
      reason: 'ScaleUpLimit',
      message: 'the desired replica count is increasing faster than the maximum scale rate',
    };
  } else {
    maximum = max;
    fact = { reason: 'TooManyReplicas', message: 'the desired replica count is more than the maximum replica count' };
  }
  if (desired < min)
    return {
      replicas: min,
      reason: 'TooFewReplicas',
      message: 'the desired replica count is less than the minimum replica count',
    };
  if (desired > maximum) return { replicas: maximum, ...fact };
  return {
    replicas: desired,
    reason: 'DesiredWithinRange',
    message: 'the desired count is within the acceptable range',
  };
}

/** normalizeDesiredReplicas: an HPA without spec.behavior */
export function normalizeDesiredReplicas(
  h: HpaHistory,
  current: number,
  desired: number,
  min: number,
  max: number,
  now: number,
  windowMs = DOWNSCALE_STABILIZATION_MS,
): Normalized {
  // stabilizeRecommendation
  let stabilized = desired;
  let oldIndex: number | undefined;
  const cutoff = now - windowMs;
  h.recommendations.forEach((r, i) => {
    if (r.at < cutoff) oldIndex = i;
    else if (r.replicas > stabilized) stabilized = r.replicas;
  });
  record(h, desired, now, oldIndex);
  const ableToScale =
    stabilized !== desired
      ? {
          reason: 'ScaleDownStabilized',
          message: 'recent recommendations were higher than current one, applying the highest recent recommendation',
        }
      : { reason: 'ReadyForNewScale', message: 'recommended size matches current size' };
  const r = convertDesiredReplicasWithRules(current, stabilized, min, max);
  return {
    replicas: r.replicas,
    ableToScale,
    scalingLimited: { status: r.replicas === stabilized ? 'False' : 'True', reason: r.reason, message: r.message },
  };
}

function changeInPeriod(periodSeconds: number, events: ScaleEvent[], now: number): number {
  const cutoff = now - periodSeconds * 1000;
  let n = 0;
  for (const e of events) if (e.at > cutoff) n += e.change;
  return n;
}

/** calculateScaleUpLimitWithScalingRules */
export function scaleUpLimit(
  current: number,
  up: ScaleEvent[],
  down: ScaleEvent[],
  rules: HPAScalingRules,
  now: number,
): number {
  if (rules.selectPolicy === 'Disabled') return current;
  const useMin = rules.selectPolicy === 'Min';
  let result = useMin ? INT32_MAX : INT32_MIN;
  for (const p of rules.policies ?? []) {
    const start =
      current - changeInPeriod(p.periodSeconds ?? 0, up, now) + changeInPeriod(p.periodSeconds ?? 0, down, now);
    let proposed = 0;
    if (p.type === 'Pods') proposed = start + (p.value ?? 0);
    else if (p.type === 'Percent') proposed = Math.ceil(start * (1 + (p.value ?? 0) / 100));
    result = useMin ? Math.min(result, proposed) : Math.max(result, proposed);
  }
  return result;
}

/** calculateScaleDownLimitWithBehaviors */
export function scaleDownLimit(
  current: number,
  up: ScaleEvent[],
  down: ScaleEvent[],
  rules: HPAScalingRules,
  now: number,
): number {
  if (rules.selectPolicy === 'Disabled') return current;
  const useMin = rules.selectPolicy === 'Min';
  let result = useMin ? INT32_MIN : INT32_MAX;
  for (const p of rules.policies ?? []) {
    const start =
      current - changeInPeriod(p.periodSeconds ?? 0, up, now) + changeInPeriod(p.periodSeconds ?? 0, down, now);
    let proposed = 0;
    if (p.type === 'Pods') proposed = start - (p.value ?? 0);
    else if (p.type === 'Percent') proposed = Math.trunc(start * (1 - (p.value ?? 0) / 100));
    result = useMin ? Math.max(result, proposed) : Math.min(result, proposed);
  }
  return result;
}

/** the behavior as the controller reads it: defaults filled, an unset scale-down window from the controller flag */
export function effectiveBehavior(
  b: HorizontalPodAutoscalerBehavior,
  windowMs = DOWNSCALE_STABILIZATION_MS,
): { scaleUp: HPAScalingRules; scaleDown: HPAScalingRules } {
  const scaleUp = fillScalingRules(b.scaleUp, defaultScaleUpRules());
  const scaleDown = fillScalingRules(b.scaleDown, {
    ...defaultScaleDownRules(),
    stabilizationWindowSeconds: Math.trunc(windowMs / 1000),
  });
  return { scaleUp, scaleDown };
}

/** normalizeDesiredReplicasWithBehaviors */
export function normalizeWithBehaviors(
  h: HpaHistory,
  behavior: HorizontalPodAutoscalerBehavior,
  current: number,
  desired: number,
  min: number,
  max: number,
  now: number,
  windowMs = DOWNSCALE_STABILIZATION_MS,
): Normalized {
  const { scaleUp, scaleDown } = effectiveBehavior(behavior, windowMs);
  // stabilizeRecommendationWithBehaviors
  const upCutoff = now - (scaleUp.stabilizationWindowSeconds ?? 0) * 1000;
  const downCutoff = now - (scaleDown.stabilizationWindowSeconds ?? 0) * 1000;
  let upRec = desired;
  let downRec = desired;
  let oldIndex: number | undefined;
  h.recommendations.forEach((r, i) => {
    if (r.at > upCutoff) upRec = Math.min(r.replicas, upRec);
    if (r.at > downCutoff) downRec = Math.max(r.replicas, downRec);
    if (r.at < upCutoff && r.at < downCutoff) oldIndex = i;
  });
  let stabilized = current;
  if (stabilized < upRec) stabilized = upRec;
  if (stabilized > downRec) stabilized = downRec;
  record(h, desired, now, oldIndex);
  const ableToScale =
    stabilized === desired
      ? { reason: 'ReadyForNewScale', message: 'recommended size matches current size' }
      : desired >= current
        ? {
            reason: 'ScaleUpStabilized',
            message: 'recent recommendations were lower than current one, applying the lowest recent recommendation',
          }
        : {
            reason: 'ScaleDownStabilized',
            message: 'recent recommendations were higher than current one, applying the highest recent recommendation',
          };

  // convertDesiredReplicasWithBehaviorRate
  let replicas = stabilized;
  let fact: ConditionFact = {
    reason: 'DesiredWithinRange',
    message: 'the desired count is within the acceptable range',
  };
  if (stabilized > current) {
    const limit = Math.max(scaleUpLimit(current, h.scaleUpEvents, h.scaleDownEvents, scaleUp, now), current);
    let maximum = max;
    let f: ConditionFact;
    if (maximum > limit) {
      maximum = limit;
      f = {
        reason: 'ScaleUpLimit',
        message: 'the desired replica count is increasing faster than the maximum scale rate',
      };
    } else
      f = { reason: 'TooManyReplicas', message: 'the desired replica count is more than the maximum replica count' };
    if (stabilized > maximum) {
      replicas = maximum;
      fact = f;
    }
  } else if (stabilized < current) {
    const limit = Math.min(scaleDownLimit(current, h.scaleUpEvents, h.scaleDownEvents, scaleDown, now), current);
    let minimum = min;
    let f: ConditionFact;
    if (minimum < limit) {
      minimum = limit;
      f = {
        reason: 'ScaleDownLimit',
        message: 'the desired replica count is decreasing faster than the maximum scale rate',
      };
    } else
      f = { reason: 'TooFewReplicas', message: 'the desired replica count is less than the minimum replica count' };
    if (stabilized < minimum) {
      replicas = minimum;
      fact = f;
    }
  }
  return { replicas, ableToScale, scalingLimited: { status: replicas === stabilized ? 'False' : 'True', ...fact } };
}

function longestPeriod(rules: HPAScalingRules): number {
  let longest = 0;
  for (const p of rules.policies ?? []) longest = Math.max(longest, p.periodSeconds ?? 0);
  return longest;
}

/** storeScaleEvent: only HPAs with spec.behavior keep scale events */
export function storeScaleEvent(
  h: HpaHistory,
  behavior: HorizontalPodAutoscalerBehavior | undefined,
  prev: number,
  next: number,
  now: number,
  windowMs = DOWNSCALE_STABILIZATION_MS,
): void {
  if (!behavior) return;
  const { scaleUp, scaleDown } = effectiveBehavior(behavior, windowMs);
  const up = next > prev;
  const events = up ? h.scaleUpEvents : h.scaleDownEvents;
  const cutoff = now - longestPeriod(up ? scaleUp : scaleDown) * 1000;
  let oldIndex: number | undefined;
  events.forEach((e, i) => {
    if (e.at <= cutoff) e.outdated = true;
    if (e.outdated) oldIndex = i;
  });
  const ev = { change: Math.abs(next - prev), at: now, outdated: false };
  if (oldIndex !== undefined) events[oldIndex] = ev;
  else events.push(ev);
}
