// The replica count one resource metric asks for (pkg/controller/podautoscaler/
// replica_calculator.go GetResourceReplicas / GetRawResourceReplicas and
// metrics/utilization.go), pure: pods grouped into ready, unready (Pending, or CPU samples
// from a pod still starting), missing (no sample) and ignored (deleted, Failed); the usage
// ratio over the ready pods' requests; within the tolerance (0.1) nothing changes; missing
// pods count as 100 % (or the target) on a scale-down and 0 % on a scale-up, unready pods as
// 0 % on a scale-up, and a re-run ratio that flips the direction keeps the current count.
// All values in milli-units, as the controller's MilliValue() arithmetic.

export const DEFAULT_TOLERANCE = 0.1;
/** --horizontal-pod-autoscaler-cpu-initialization-period */
export const CPU_INITIALIZATION_PERIOD_MS = 5 * 60_000;
/** --horizontal-pod-autoscaler-initial-readiness-delay */
export const INITIAL_READINESS_DELAY_MS = 30_000;

export interface PodInfo {
  name: string;
  deleting: boolean;
  phase: string;
  /** status.startTime (ms), undefined when unset */
  startTime?: number;
  /** the Ready condition, undefined when absent */
  ready?: { status: string; lastTransitionTime: number };
  /** the summed request of the resource over the counted containers (milli-units), undefined if a container lacks one */
  request?: number;
  /** the container lacking a request, for the error message */
  missingRequestContainer?: string;
}

export interface PodSample {
  value: number;
  timestamp: number;
  windowMs: number;
}

export interface ResourceReplicasInput {
  currentReplicas: number;
  resource: string;
  pods: PodInfo[];
  /** samples by pod name (milli-units) */
  metrics: Map<string, PodSample>;
  now: number;
  tolerance?: number;
  cpuInitializationPeriodMs?: number;
  initialReadinessDelayMs?: number;
}

export type ReplicaResult<T> = ({ ok: true; replicas: number; timestamp: number } & T) | { ok: false; error: string };

interface Groups {
  ready: number;
  unready: Set<string>;
  missing: Set<string>;
  ignored: Set<string>;
}

/** groupPods */
export function groupPods(
  pods: PodInfo[],
  metrics: Map<string, PodSample>,
  resource: string,
  now: number,
  cpuInitMs: number,
  readinessDelayMs: number,
): Groups {
  const g: Groups = { ready: 0, unready: new Set(), missing: new Set(), ignored: new Set() };
  for (const pod of pods) {
    if (pod.deleting || pod.phase === 'Failed') {
      g.ignored.add(pod.name);
      continue;
    }
    if (pod.phase === 'Pending') {
      g.unready.add(pod.name);
      continue;
    }
    const metric = metrics.get(pod.name);
    if (!metric) {
      g.missing.add(pod.name);
      continue;
    }
    if (resource === 'cpu') {
      let unready: boolean;
      const c = pod.ready;
      if (!c || pod.startTime === undefined) unready = true;
      else if (pod.startTime + cpuInitMs > now) {
        // still initialising: unready, or no whole sample window since the last transition
        unready = c.status === 'False' || metric.timestamp < c.lastTransitionTime + metric.windowMs;
      } else {
        // unready and never ready since start
        unready = c.status === 'False' && pod.startTime + readinessDelayMs > c.lastTransitionTime;
      }
      if (unready) {
        g.unready.add(pod.name);
        continue;
      }
    }
    g.ready++;
  }
  return g;
}

/** GetResourceUtilizationRatio: over pods with both a sample and a request */
export function utilizationRatio(
  metrics: Map<string, PodSample>,
  requests: Map<string, number>,
  targetUtilization: number,
): { ok: true; ratio: number; utilization: number; rawAverage: number } | { ok: false; error: string } {
  let metricsTotal = 0;
  let requestsTotal = 0;
  let entries = 0;
  for (const [name, m] of metrics) {
    const r = requests.get(name);
    if (r === undefined) continue;
    metricsTotal += m.value;
    requestsTotal += r;
    entries++;
  }
  if (requestsTotal === 0) return { ok: false, error: 'no metrics returned matched known pods' };
  const utilization = Math.trunc((metricsTotal * 100) / requestsTotal);
  return {
    ok: true,
    ratio: utilization / targetUtilization,
    utilization,
    rawAverage: Math.trunc(metricsTotal / entries),
  };
}

function requestsOf(pods: PodInfo[], resource: string): Map<string, number> | string {
  const out = new Map<string, number>();
  for (const p of pods) {
    if (p.request === undefined)
      return `missing request for ${resource} in container ${p.missingRequestContainer ?? ''} of Pod ${p.name}`;
    out.set(p.name, p.request);
  }
  return out;
}

const within = (ratio: number, tolerance: number): boolean => Math.abs(1.0 - ratio) <= tolerance;

function prepare(input: ResourceReplicasInput) {
  const metrics = new Map(input.metrics);
  if (!input.pods.length) return { error: 'no pods returned by selector while calculating replica count' } as const;
  const g = groupPods(
    input.pods,
    metrics,
    input.resource,
    input.now,
    input.cpuInitializationPeriodMs ?? CPU_INITIALIZATION_PERIOD_MS,
    input.initialReadinessDelayMs ?? INITIAL_READINESS_DELAY_MS,
  );
  for (const n of [...g.ignored, ...g.unready]) metrics.delete(n);
  if (!metrics.size) return { error: 'did not receive metrics for targeted pods (pods might be unready)' } as const;
  return { metrics, g } as const;
}

/**
 * The part GetResourceReplicas and GetMetricReplicas share: with no unready pods holding a
 * scale-up back and no pods missing samples, ratio × ready pods; otherwise missing pods
 * filled (`fallback` on a scale-down, 0 on a scale-up), unready ones at 0 on a scale-up,
 * the ratio taken again, and the current count kept when that flips the direction.
 */
function proposal(
  input: ResourceReplicasInput,
  g: Groups,
  metrics: Map<string, PodSample>,
  ratio: number,
  ratioOf: (m: Map<string, PodSample>) => number | undefined,
  fallback: (pod: string) => number,
): number | undefined {
  const tolerance = input.tolerance ?? DEFAULT_TOLERANCE;
  const scaleUpWithUnready = g.unready.size > 0 && ratio > 1.0;
  if (!scaleUpWithUnready && g.missing.size === 0)
    return within(ratio, tolerance) ? input.currentReplicas : Math.ceil(ratio * g.ready);
  const at = (value: number): PodSample => ({ value, timestamp: 0, windowMs: 0 });
  if (g.missing.size > 0) {
    if (ratio < 1.0) for (const n of g.missing) metrics.set(n, at(fallback(n)));
    else if (ratio > 1.0) for (const n of g.missing) metrics.set(n, at(0));
  }
  if (scaleUpWithUnready) for (const n of g.unready) metrics.set(n, at(0));
  const newRatio = ratioOf(metrics);
  if (newRatio === undefined) return undefined;
  if (within(newRatio, tolerance) || (ratio < 1.0 && newRatio > 1.0) || (ratio > 1.0 && newRatio < 1.0))
    return input.currentReplicas;
  const replicas = Math.ceil(newRatio * metrics.size);
  if ((newRatio < 1.0 && replicas > input.currentReplicas) || (newRatio > 1.0 && replicas < input.currentReplicas))
    return input.currentReplicas;
  return replicas;
}

const firstTimestamp = (m: Map<string, PodSample>): number => {
  for (const x of m.values()) return x.timestamp;
  return 0;
};

/** GetResourceReplicas: a utilization target (percent of request) */
export function resourceReplicas(
  input: ResourceReplicasInput,
  targetUtilization: number,
): ReplicaResult<{ utilization: number; rawAverage: number }> {
  const p = prepare(input);
  if ('error' in p) return { ok: false, error: p.error! };
  const { metrics, g } = p;
  const requests = requestsOf(input.pods, input.resource);
  if (typeof requests === 'string') return { ok: false, error: requests };
  const first = utilizationRatio(metrics, requests, targetUtilization);
  if (!first.ok) return first;
  const timestamp = firstTimestamp(metrics);
  let error: string | undefined;
  const replicas = proposal(
    input,
    g,
    metrics,
    first.ratio,
    (m) => {
      const r = utilizationRatio(m, requests, targetUtilization);
      if (!r.ok) {
        error = r.error;
        return undefined;
      }
      return r.ratio;
    },
    (n) => Math.trunc(((requests.get(n) ?? 0) * Math.max(100, targetUtilization)) / 100),
  );
  if (replicas === undefined) return { ok: false, error: error ?? '' };
  return { ok: true, replicas, timestamp, utilization: first.utilization, rawAverage: first.rawAverage };
}

/** GetRawResourceReplicas → GetMetricReplicas' calcPlainMetricReplicas: an average value target (milli-units per pod) */
export function rawResourceReplicas(
  input: ResourceReplicasInput,
  targetAverage: number,
): ReplicaResult<{ rawAverage: number }> {
  const p = prepare(input);
  if ('error' in p) return { ok: false, error: p.error! };
  const { metrics, g } = p;
  const timestamp = firstTimestamp(metrics);
  // GetMetricUsageRatio
  const avg = (m: Map<string, PodSample>): number => {
    let t = 0;
    for (const x of m.values()) t += x.value;
    return Math.trunc(t / m.size);
  };
  const usage = avg(metrics);
  const replicas = proposal(
    input,
    g,
    metrics,
    usage / targetAverage,
    (m) => avg(m) / targetAverage,
    () => targetAverage,
  )!;
  return { ok: true, replicas, timestamp, rawAverage: usage };
}
