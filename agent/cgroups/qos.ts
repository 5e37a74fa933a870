// QoS class of a pod, exactly as kubelet's qos.GetPodQOS (pkg/apis/core/helper/qos):
// the class picks the pod's cgroup parent and the containers' OOM score. Pure, no I/O.

import { podQOSClass, type QOSClass } from '../../proto/qos.js';
import { scaledValue } from '../../proto/quantity.js';
import type { Container, PodStatus } from '../../proto/api/types.gen.js';

export type { QOSClass };

/** What QoS reads of a container and of a pod (the generated API types; a full Pod fits). */
export type QOSContainer = Pick<Container, 'resources'>;
export interface QOSPod {
  spec?: { containers?: QOSContainer[]; initContainers?: QOSContainer[] };
  status?: Pick<PodStatus, 'qosClass'>;
}

/** kubelet's GetPodQOS: status.qosClass wins when already set. */
export function getPodQOS(pod: QOSPod): QOSClass {
  const recorded = pod.status?.qosClass;
  if (recorded === 'Guaranteed' || recorded === 'Burstable' || recorded === 'BestEffort') return recorded;
  return computePodQOS(pod);
}

/** ComputePodQOS of the pod's spec (proto/qos.ts, shared with the API server). */
export function computePodQOS(pod: QOSPod): QOSClass {
  return podQOSClass(pod.spec);
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
  // a request defaults to its limit, as the API server defaults it
  const req = container.resources?.requests?.memory ?? container.resources?.limits?.memory;
  const reqBytes = req === undefined ? 0 : Number(scaledValue(req, 0));
  if (!(memoryCapacityBytes > 0)) return 999;
  let adj = 1000 - Math.trunc((1000 * reqBytes) / memoryCapacityBytes);
  if (adj < 1000 + GUARANTEED_OOM_ADJ) adj = 1000 + GUARANTEED_OOM_ADJ;
  if (adj >= BESTEFFORT_OOM_ADJ) adj = BESTEFFORT_OOM_ADJ - 1;
  return adj;
}
