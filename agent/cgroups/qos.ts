// QoS class of a pod, exactly as kubelet's qos.GetPodQOS (pkg/apis/core/helper/qos):
// the class picks the pod's cgroup parent and the containers' OOM score. Pure, no I/O.

import { scaledValue } from '../../proto/quantity.js';

export type QOSClass = 'Guaranteed' | 'Burstable' | 'BestEffort';

/** The few Kubernetes fields QoS looks at; a full v1 Pod fits. */
export interface QOSContainer {
  resources?: {
    limits?: Record<string, string | number> | null;
    requests?: Record<string, string | number> | null;
  } | null;
}
export interface QOSPod {
  spec?: { containers?: QOSContainer[] | null; initContainers?: QOSContainer[] | null } | null;
  status?: { qosClass?: string } | null;
}

// Only these two count (isSupportedQoSComputeResource); hugepages, storage etc. do not.
const QOS_RESOURCES = ['cpu', 'memory'] as const;

// Exact comparison in nano-units: quantities are summed and compared, never rounded like
// MilliValue would be.
function nanos(q: string | number): bigint {
  return scaledValue(q, -9);
}

/**
 * Requests default to limits where a limit is set and the request is not (the API server's
 * defaulting). Applying it here makes the answer right for specs that did not pass the
 * defaulting yet and changes nothing for those that did.
 */
function effectiveRequests(c: QOSContainer): Record<string, string | number> {
  const out: Record<string, string | number> = { ...(c.resources?.requests ?? {}) };
  for (const [name, q] of Object.entries(c.resources?.limits ?? {})) {
    if (!(name in out)) out[name] = q;
  }
  return out;
}

/** kubelet's ComputePodQOS (status.qosClass wins when already set, like GetPodQOS). */
export function getPodQOS(pod: QOSPod): QOSClass {
  const recorded = pod.status?.qosClass;
  if (recorded === 'Guaranteed' || recorded === 'Burstable' || recorded === 'BestEffort') return recorded;
  return computePodQOS(pod);
}

export function computePodQOS(pod: QOSPod): QOSClass {
  const requests = new Map<string, bigint>();
  const limits = new Map<string, bigint>();
  let isGuaranteed = true;
  const all = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  for (const c of all) {
    const req = effectiveRequests(c);
    for (const name of QOS_RESOURCES) {
      if (req[name] === undefined) continue;
      const v = nanos(req[name]);
      if (v > 0n) requests.set(name, (requests.get(name) ?? 0n) + v);
    }
    const found = new Set<string>();
    const lim = c.resources?.limits ?? {};
    for (const name of QOS_RESOURCES) {
      if (lim[name] === undefined) continue;
      const v = nanos(lim[name]);
      if (v > 0n) {
        found.add(name);
        limits.set(name, (limits.get(name) ?? 0n) + v);
      }
    }
    if (!QOS_RESOURCES.every((r) => found.has(r))) isGuaranteed = false;
  }
  if (requests.size === 0 && limits.size === 0) return 'BestEffort';
  if (isGuaranteed) {
    for (const [name, req] of requests) {
      if (limits.get(name) !== req) {
        isGuaranteed = false;
        break;
      }
    }
  }
  if (isGuaranteed && requests.size === limits.size) return 'Guaranteed';
  return 'Burstable';
}

// pkg/kubelet/qos/policy.go
export const POD_INFRA_OOM_ADJ = -998;
const GUARANTEED_OOM_ADJ = -997;
const BESTEFFORT_OOM_ADJ = 1000;

/**
 * oom_score_adj for a container, as kubelet's GetContainerOOMScoreAdjust: Guaranteed -997,
 * BestEffort 1000, Burstable 1000 - 1000*memoryRequest/memoryCapacity clamped to [3, 999]
 * (so a Burstable container is always killed before a Guaranteed one and after BestEffort).
 */
export function containerOOMScoreAdjust(qos: QOSClass, container: QOSContainer, memoryCapacityBytes: number): number {
  if (qos === 'Guaranteed') return GUARANTEED_OOM_ADJ;
  if (qos === 'BestEffort') return BESTEFFORT_OOM_ADJ;
  const req = effectiveRequests(container).memory;
  const reqBytes = req === undefined ? 0 : Number(scaledValue(req, 0));
  if (!(memoryCapacityBytes > 0)) return 999;
  let adj = 1000 - Math.trunc((1000 * reqBytes) / memoryCapacityBytes);
  if (adj < 1000 + GUARANTEED_OOM_ADJ) adj = 1000 + GUARANTEED_OOM_ADJ;
  if (adj >= BESTEFFORT_OOM_ADJ) adj = BESTEFFORT_OOM_ADJ - 1;
  return adj;
}
