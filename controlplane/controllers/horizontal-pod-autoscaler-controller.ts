// The horizontal pod autoscaler (pkg/controller/podautoscaler/horizontal.go), every 15 s
// (--horizontal-pod-autoscaler-sync-period) per HPA: read the target's Scale (Deployments,
// ReplicaSets, StatefulSets, ReplicationControllers, custom resources with a scale
// subresource), compute the replicas each metric asks for from the pods' usage (skiff's
// metrics.k8s.io samples, read in process) with horizontal-pod-autoscaler/replica-calculator.ts,
// stabilize and rate-limit with normalize.ts, write the new size through the write path,
// then status (currentReplicas, desiredReplicas, currentMetrics, lastScaleTime, the
// AbleToScale/ScalingActive/ScalingLimited conditions) and upstream's events
// (SuccessfulRescale, FailedGetScale, FailedGetResourceMetric, FailedComputeMetricsReplicas, …).
import type { KubeObject } from '../../proto/meta.js';
import { deepEqual } from '../../proto/canonical.js';
import { isValidQuantity, scaledValue } from '../../proto/quantity.js';
import { parseLabelSelector, matchLabels, SelectorError } from '../../proto/selectors.js';
import type { PodUsage } from '../api/metrics-api.js';
import { rfc3339 } from '../api/storage.js';
import { scaleOf, setCustomReplicas } from '../registry/scale.js';
import { setStatusCondition } from '../../proto/api/conditions.js';
import { findByKind } from '../resources/index.js';
import { formatDecimalSI } from '../../proto/quantity.js';
import type {
  HorizontalPodAutoscalerCondition,
  HorizontalPodAutoscalerSpec,
  HorizontalPodAutoscalerStatus,
  MetricSpec,
  MetricStatus,
} from '../resources/hpa/types.js';
import type { ResourceDef } from '../resources/types.js';
import type { ControllerContext } from './context.js';
import { keyOf, splitKey, type Informer } from './informer.js';
import type { Controller } from './types.js';
import { WorkQueue } from './work-queue.js';
import {
  DEFAULT_TOLERANCE,
  rawResourceReplicas,
  resourceReplicas,
  type PodInfo,
  type PodSample,
} from './horizontal-pod-autoscaler/replica-calculator.js';
import {
  DOWNSCALE_STABILIZATION_MS,
  newHistory,
  normalizeDesiredReplicas,
  normalizeWithBehaviors,
  recordInitialRecommendation,
  storeScaleEvent,
  type HpaHistory,
} from './horizontal-pod-autoscaler/normalize.js';

/** --horizontal-pod-autoscaler-sync-period */
export const DEFAULT_SYNC_PERIOD_MS = 15_000;
const COMPONENT = 'horizontal-pod-autoscaler';

/** where pod usage comes from (the server's MetricsStore) */
export interface PodUsageSource {
  podUsage(pod: KubeObject): PodUsage | undefined;
}

export interface HpaControllerOptions {
  metrics?: PodUsageSource;
  syncPeriodMs?: number;
  downscaleStabilizationMs?: number;
  tolerance?: number;
}

type Condition = HorizontalPodAutoscalerCondition;

interface Scale {
  replicas: number;
  statusReplicas: number;
  selector: string;
}

interface MetricOutcome {
  replicas: number;
  metric: string;
  timestamp: number;
  status: MetricStatus;
}
class MetricError extends Error {
  constructor(
    message: string,
    readonly condition: { reason: string; message: string },
  ) {
    super(message);
  }
}

function apiGroupOf(apiVersion: string | undefined): string {
  const v = apiVersion ?? '';
  return v.includes('/') ? v.slice(0, v.indexOf('/')) : '';
}

/** MilliValue() of a quantity (requests), exact */
function milli(q: unknown): number | undefined {
  if (!isValidQuantity(q)) return undefined;
  return Number(scaledValue(q as string, -3));
}

function podInfo(pod: KubeObject, resource: string, container: string): PodInfo {
  const ready = (pod.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready') as
    | { status: string; lastTransitionTime?: string }
    | undefined;
  const start = pod.status?.startTime ? Date.parse(pod.status.startTime) : undefined;
  const info: PodInfo = {
    name: pod.metadata.name!,
    deleting: !!pod.metadata.deletionTimestamp,
    phase: pod.status?.phase ?? 'Pending',
    startTime: start !== undefined && !Number.isNaN(start) ? start : undefined,
    ready: ready
      ? { status: ready.status, lastTransitionTime: Date.parse(ready.lastTransitionTime ?? '') || 0 }
      : undefined,
  };
  // calculatePodRequests: app containers and restartable (sidecar) init containers
  const containers = [
    ...(pod.spec?.containers ?? []),
    ...(pod.spec?.initContainers ?? []).filter((c: { restartPolicy?: string }) => c.restartPolicy === 'Always'),
  ];
  let sum = 0;
  for (const c of containers as { name: string; resources?: { requests?: Record<string, unknown> } }[]) {
    if (container && c.name !== container) continue;
    const r = milli(c.resources?.requests?.[resource]);
    if (r === undefined) {
      info.missingRequestContainer = c.name;
      return info;
    }
    sum += r;
  }
  info.request = sum;
  return info;
}

/** the resource's usage of one pod in milli-units, from its sample (undefined: missing) */
function podSample(u: PodUsage, resource: string, container: string): PodSample | undefined {
  const cs = container ? u.containers.filter((c) => c.name === container) : u.containers;
  if (!cs.length) return undefined;
  let v = 0;
  for (const c of cs) {
    if (resource === 'cpu') v += Math.ceil(c.cpuNanoCores / 1e6);
    else if (resource === 'memory') v += c.memoryWorkingSetBytes * 1000;
    else return undefined;
  }
  return { value: v, timestamp: Date.parse(u.timestamp), windowMs: u.windowSeconds * 1000 };
}

class HorizontalPodAutoscalerController implements Controller {
  readonly name = 'horizontal-pod-autoscaler';
  private readonly queue = new WorkQueue(1000, 60_000);
  private readonly hpaDef: ResourceDef;
  private hpaInf!: Informer;
  private podInf!: Informer<'Pod'>;
  private timer?: NodeJS.Timeout;
  private readonly histories = new Map<string, HpaHistory>();
  private readonly syncPeriodMs: number;
  private readonly windowMs: number;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly opts: HpaControllerOptions,
  ) {
    this.hpaDef = ctx.def('autoscaling', 'v2', 'horizontalpodautoscalers');
    this.syncPeriodMs = opts.syncPeriodMs ?? DEFAULT_SYNC_PERIOD_MS;
    this.windowMs = opts.downscaleStabilizationMs ?? DOWNSCALE_STABILIZATION_MS;
  }

  async start(): Promise<void> {
    this.hpaInf = this.ctx.informers.get('autoscaling', 'v2', 'horizontalpodautoscalers');
    this.podInf = this.ctx.informers.get('', 'v1', 'pods');
    this.hpaInf.on({
      add: (o) => this.queue.add(keyOf(o)),
      // spec changes act at once; the controller's own status writes wait for the next period
      update: (o, n) => {
        if (!deepEqual(o.spec, n.spec)) this.queue.add(keyOf(n));
      },
      delete: (o) => this.histories.delete(keyOf(o)),
    });
    this.timer = setInterval(() => {
      for (const h of this.hpaInf.list()) this.queue.add(keyOf(h));
    }, this.syncPeriodMs);
    this.timer.unref();
    this.queue.run(
      (key) => this.sync(key),
      2,
      (key, err) => this.ctx.log.warn({ err, hpa: key }, 'syncing HorizontalPodAutoscaler failed'),
    );
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.queue.stop();
  }

  private history(key: string): HpaHistory {
    let h = this.histories.get(key);
    if (!h) this.histories.set(key, (h = newHistory()));
    return h;
  }

  private event(hpa: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    void this.ctx.event({
      involvedObject: {
        kind: 'HorizontalPodAutoscaler',
        apiVersion: 'autoscaling/v2',
        namespace: hpa.metadata.namespace,
        name: hpa.metadata.name!,
        uid: hpa.metadata.uid!,
        resourceVersion: hpa.metadata.resourceVersion,
      },
      type,
      reason,
      message,
      component: COMPONENT,
    });
  }

  private async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const hpa = this.hpaInf.get(namespace, name);
    if (!hpa || hpa.metadata.deletionTimestamp) {
      this.histories.delete(key);
      return;
    }
    const now = this.ctx.now();
    const original: HorizontalPodAutoscalerStatus = structuredClone(hpa.status ?? {});
    const status: HorizontalPodAutoscalerStatus = structuredClone(original);
    let conditions: Condition[] = Array.isArray(status.conditions) ? status.conditions : [];
    const setCondition = (type: string, st: 'True' | 'False', reason: string, message: string) => {
      conditions = setStatusCondition(conditions, { type, status: st, reason, message }, now);
    };
    const spec: HorizontalPodAutoscalerSpec = hpa.spec ?? {};
    const writeStatus = async (next: HorizontalPodAutoscalerStatus) => {
      next.conditions = conditions;
      if (deepEqual(next, original)) return;
      await this.ctx.storage.guaranteedUpdate(
        this.hpaDef,
        namespace,
        name,
        {},
        (cur) => {
          if (cur.metadata.uid !== hpa.metadata.uid) return cur;
          cur.status = next;
          return cur;
        },
        'status',
      );
    };
    const statusWith = (
      currentReplicas: number,
      desiredReplicas: number,
      metrics: MetricStatus[] | undefined,
      rescaled: boolean,
    ): HorizontalPodAutoscalerStatus => {
      const out: HorizontalPodAutoscalerStatus = {};
      if (status.observedGeneration !== undefined) out.observedGeneration = status.observedGeneration;
      const last = rescaled ? rfc3339(now) : status.lastScaleTime;
      if (last) out.lastScaleTime = last;
      out.currentReplicas = currentReplicas;
      out.desiredReplicas = desiredReplicas;
      if (metrics?.length) out.currentMetrics = metrics;
      return out;
    };

    // the target's Scale
    const ref = spec.scaleTargetRef ?? {};
    const reference = `${ref.kind}/${namespace}/${ref.name}`;
    const group = apiGroupOf(ref.apiVersion);
    const targetDef = findByKind(group, ref.kind ?? '');
    let scale: Scale | undefined;
    let scaleErr: string | undefined;
    if (!targetDef) scaleErr = `no matches for kind "${ref.kind}" in group "${group}"`;
    else if (!targetDef.subresources.includes('scale')) scaleErr = 'the server could not find the requested resource';
    else {
      const obj = await this.ctx.storage.tryGet(targetDef, namespace, ref.name ?? '');
      if (!obj)
        scaleErr = `${targetDef.group ? `${targetDef.resource}.${targetDef.group}` : targetDef.resource} "${ref.name}" not found`;
      else {
        const s = scaleOf({ def: targetDef }, obj);
        scale = { replicas: s.spec.replicas, statusReplicas: s.status.replicas, selector: s.status.selector ?? '' };
      }
    }
    if (!scale || !targetDef) {
      this.event(hpa, 'Warning', 'FailedGetScale', scaleErr!);
      setCondition(
        'AbleToScale',
        'False',
        'FailedGetScale',
        `the HPA controller was unable to get the target's current scale: ${scaleErr}`,
      );
      await writeStatus(
        statusWith(status.currentReplicas ?? 0, status.desiredReplicas ?? 0, status.currentMetrics, false),
      );
      return;
    }
    setCondition(
      'AbleToScale',
      'True',
      'SucceededGetScale',
      "the HPA controller was able to get the target's current scale",
    );
    const current = scale.replicas;
    const history = this.history(key);
    recordInitialRecommendation(history, current, now.getTime());

    const min = spec.minReplicas ?? 1;
    const max = spec.maxReplicas ?? 0;
    let desired = 0;
    let reason = '';
    let rescale = true;
    let metricStatuses: MetricStatus[] | undefined;
    if (current === 0 && min !== 0) {
      desired = 0;
      rescale = false;
      setCondition(
        'ScalingActive',
        'False',
        'ScalingDisabled',
        'scaling is disabled since the replica count of the target is zero',
      );
    } else if (current > max) {
      reason = 'Current number of replicas above Spec.MaxReplicas';
      desired = max;
    } else if (current < min) {
      reason = 'Current number of replicas below Spec.MinReplicas';
      desired = min;
    } else {
      const r = this.computeReplicasForMetrics(hpa, spec.metrics ?? [], scale, setCondition, now.getTime());
      metricStatuses = r.statuses;
      if (r.replicas === -1) {
        await writeStatus(statusWith(current, status.desiredReplicas ?? 0, metricStatuses, false));
        this.event(hpa, 'Warning', 'FailedComputeMetricsReplicas', r.error ?? '');
        return;
      }
      let rescaleMetric = '';
      if (r.replicas > desired) {
        desired = r.replicas;
        rescaleMetric = r.metric;
      }
      if (desired > current) reason = `${rescaleMetric} above target`;
      if (desired < current) reason = 'All metrics below target';
      const n = spec.behavior
        ? normalizeWithBehaviors(history, spec.behavior, current, desired, min, max, now.getTime(), this.windowMs)
        : normalizeDesiredReplicas(history, current, desired, min, max, now.getTime(), this.windowMs);
      setCondition('AbleToScale', 'True', n.ableToScale.reason, n.ableToScale.message);
      setCondition('ScalingLimited', n.scalingLimited.status, n.scalingLimited.reason, n.scalingLimited.message);
      desired = n.replicas;
      rescale = desired !== current;
    }

    if (rescale) {
      try {
        await this.ctx.storage.guaranteedUpdate(targetDef, namespace, ref.name!, {}, (cur) => {
          const custom = targetDef.custom?.scale;
          if (custom) setCustomReplicas(cur, custom.specReplicasPath, desired);
          else cur.spec = { ...(cur.spec ?? {}), replicas: desired };
          return cur;
        });
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        this.event(hpa, 'Warning', 'FailedRescale', `New size: ${desired}; reason: ${reason}; error: ${msg}`);
        setCondition(
          'AbleToScale',
          'False',
          'FailedUpdateScale',
          `the HPA controller was unable to update the target scale: ${msg}`,
        );
        await writeStatus(statusWith(current, status.desiredReplicas ?? 0, metricStatuses, false));
        throw new Error(`failed to rescale ${reference}: ${msg}`);
      }
      setCondition(
        'AbleToScale',
        'True',
        'SucceededRescale',
        `the HPA controller was able to update the target scale to ${desired}`,
      );
      this.event(hpa, 'Normal', 'SuccessfulRescale', `New size: ${desired}; reason: ${reason}`);
      storeScaleEvent(history, spec.behavior, current, desired, now.getTime(), this.windowMs);
      this.ctx.log.info({ hpa: key, reference, from: current, to: desired, reason }, 'successfully rescaled');
    } else {
      desired = current;
    }
    await writeStatus(statusWith(current, desired, metricStatuses, rescale));
  }

  /** computeReplicasForMetrics: the largest proposal; -1 when every metric failed (or some failed and the rest would scale down) */
  private computeReplicasForMetrics(
    hpa: KubeObject,
    specs: MetricSpec[],
    scale: Scale,
    setCondition: (type: string, st: 'True' | 'False', reason: string, message: string) => void,
    now: number,
  ): { replicas: number; metric: string; statuses?: MetricStatus[]; error?: string } {
    // validateAndParseSelector
    if (!scale.selector) {
      this.event(hpa, 'Warning', 'SelectorRequired', 'selector is required');
      setCondition('ScalingActive', 'False', 'InvalidSelector', "the HPA target's scale is missing a selector");
      return { replicas: -1, metric: '', error: 'selector is required' };
    }
    let selector: ReturnType<typeof parseLabelSelector>;
    try {
      selector = parseLabelSelector(scale.selector);
    } catch (e) {
      const msg = e instanceof SelectorError ? e.message : String(e);
      this.event(
        hpa,
        'Warning',
        'InvalidSelector',
        `couldn't convert selector into a corresponding internal selector object: ${msg}`,
      );
      setCondition(
        'ScalingActive',
        'False',
        'InvalidSelector',
        `the HPA target's scale has an invalid selector: ${msg}`,
      );
      return { replicas: -1, metric: '', error: msg };
    }
    const pods = this.podInf.list(hpa.metadata.namespace).filter((p) => matchLabels(selector, p.metadata.labels));

    const statuses: MetricStatus[] = specs.map(() => ({ type: '' }));
    let replicas = 0;
    let metric = '';
    let invalid = 0;
    let firstError: MetricError | undefined;
    specs.forEach((spec, i) => {
      try {
        const r = this.computeReplicasForMetric(hpa, spec, scale.replicas, pods, now);
        statuses[i] = r.status;
        if (replicas === 0 || r.replicas > replicas) {
          replicas = r.replicas;
          metric = r.metric;
        }
      } catch (e) {
        const err =
          e instanceof MetricError
            ? e
            : new MetricError(String(e), { reason: 'FailedGetResourceMetric', message: String(e) });
        if (!firstError) firstError = err;
        invalid++;
      }
    });
    const error = firstError
      ? `invalid metrics (${invalid} invalid out of ${specs.length}), first error is: ${firstError.message}`
      : undefined;
    if (firstError && (invalid >= specs.length || replicas < scale.replicas)) {
      setCondition('ScalingActive', 'False', firstError.condition.reason, firstError.condition.message);
      return { replicas: -1, metric: '', statuses, error };
    }
    setCondition(
      'ScalingActive',
      'True',
      'ValidMetricFound',
      `the HPA was able to successfully calculate a replica count from ${metric}`,
    );
    return { replicas, metric, statuses, error };
  }

  private computeReplicasForMetric(
    hpa: KubeObject,
    spec: MetricSpec,
    specReplicas: number,
    pods: KubeObject[],
    now: number,
  ): MetricOutcome {
    const fail = (reason: string, err: string): never => {
      this.event(hpa, 'Warning', reason, err);
      throw new MetricError(err, { reason, message: `the HPA was unable to compute the replica count: ${err}` });
    };
    switch (spec.type) {
      case 'Resource':
      case 'ContainerResource': {
        const src = spec.type === 'Resource' ? spec.resource : spec.containerResource;
        const resource = src?.name ?? '';
        const container = spec.type === 'ContainerResource' ? (spec.containerResource?.container ?? '') : '';
        const reason = spec.type === 'Resource' ? 'FailedGetResourceMetric' : 'FailedGetContainerResourceMetric';
        const target = src?.target ?? {};
        // the metrics client: samples of the selected pods
        const metrics = new Map<string, PodSample>();
        let anyReport = false;
        for (const p of pods) {
          const u = this.opts.metrics?.podUsage(p);
          if (!u) continue;
          anyReport = true;
          const s = podSample(u, resource, container);
          if (s) metrics.set(p.metadata.name!, s);
        }
        const noMetrics = `unable to get metrics for resource ${resource}: no metrics returned from resource metrics API`;
        const input = {
          currentReplicas: specReplicas,
          resource,
          pods: pods.map((p) => podInfo(p, resource, container)),
          metrics,
          now,
          tolerance: this.opts.tolerance ?? DEFAULT_TOLERANCE,
        };
        if (target.averageValue !== undefined && target.averageValue !== null) {
          if (!anyReport) fail(reason, `failed to get ${resource} usage: ${noMetrics}`);
          const r = rawResourceReplicas(input, milli(target.averageValue) ?? 0);
          if (!r.ok) return fail(reason, `failed to get ${resource} usage: ${r.error}`);
          const current = { averageValue: formatDecimalSI(r.rawAverage, -3) };
          return {
            replicas: r.replicas,
            metric: `${resource} resource`,
            timestamp: r.timestamp,
            status: statusOf(spec, current),
          };
        }
        if (typeof target.averageUtilization !== 'number') {
          return fail(
            reason,
            'invalid resource metric source: neither an average utilization target nor an average value (usage) target was set',
          );
        }
        if (!anyReport) fail(reason, `failed to get ${resource} utilization: ${noMetrics}`);
        const r = resourceReplicas(input, target.averageUtilization);
        if (!r.ok) return fail(reason, `failed to get ${resource} utilization: ${r.error}`);
        const current = { averageUtilization: r.utilization, averageValue: formatDecimalSI(r.rawAverage, -3) };
        return {
          replicas: r.replicas,
          metric: `${resource} resource utilization (percentage of request)`,
          timestamp: r.timestamp,
          status: statusOf(spec, current),
        };
      }
      case 'Pods':
        return fail(
          'FailedGetPodsMetric',
          `unable to get metric ${spec.pods?.metric?.name ?? ''}: unable to fetch metrics from custom metrics API: no custom metrics API (custom.metrics.k8s.io) registered`,
        );
      case 'Object':
        return fail(
          'FailedGetObjectMetric',
          `unable to get metric ${spec.object?.metric?.name ?? ''}: ${spec.object?.describedObject?.kind ?? ''} on ${hpa.metadata.namespace} ${spec.object?.describedObject?.name ?? ''}/unable to fetch metrics from custom metrics API: no custom metrics API (custom.metrics.k8s.io) registered`,
        );
      case 'External':
        return fail(
          'FailedGetExternalMetric',
          `unable to get external metric ${hpa.metadata.namespace}/${spec.external?.metric?.name ?? ''}/${JSON.stringify(spec.external?.metric?.selector ?? null)}: unable to fetch metrics from external metrics API: no external metrics API (external.metrics.k8s.io) registered`,
        );
      default:
        return fail('InvalidMetricSourceType', `unknown metric source type "${spec.type ?? ''}"`);
    }
  }
}

function statusOf(spec: MetricSpec, current: { averageUtilization?: number; averageValue?: string }): MetricStatus {
  if (spec.type === 'ContainerResource')
    return {
      type: 'ContainerResource',
      containerResource: { name: spec.containerResource?.name, container: spec.containerResource?.container, current },
    };
  return { type: 'Resource', resource: { name: spec.resource?.name, current } };
}

export function create(ctx: ControllerContext, opts: HpaControllerOptions = {}): Controller {
  return new HorizontalPodAutoscalerController(ctx, opts);
}
