// Pod QoS class exactly as pkg/apis/core/helper/qos.ComputePodQOS (kubelet's GetPodQOS):
// only cpu and memory count, zero quantities are ignored, init containers count too.
import { isValidQuantity, scaledValue } from '../../proto/quantity.js';

export type QOSClass = 'Guaranteed' | 'Burstable' | 'BestEffort';

const QOS_RESOURCES = ['cpu', 'memory'];

/** Quantity in nano-units (exact), or 0 for an invalid/absent value. */
const nanos = (q: unknown): bigint => (isValidQuantity(q) ? scaledValue(q as string, -9) : 0n);

export function computePodQOS(spec: any): QOSClass {
  const requests = new Map<string, bigint>();
  const limits = new Map<string, bigint>();
  let isGuaranteed = true;
  const containers: any[] = [
    ...(Array.isArray(spec?.containers) ? spec.containers : []),
    ...(Array.isArray(spec?.initContainers) ? spec.initContainers : []),
  ];
  for (const c of containers) {
    for (const [name, q] of Object.entries(c?.resources?.requests ?? {})) {
      const v = nanos(q);
      if (QOS_RESOURCES.includes(name) && v > 0n) requests.set(name, (requests.get(name) ?? 0n) + v);
    }
    const found = new Set<string>();
    for (const [name, q] of Object.entries(c?.resources?.limits ?? {})) {
      const v = nanos(q);
      if (QOS_RESOURCES.includes(name) && v > 0n) {
        found.add(name);
        limits.set(name, (limits.get(name) ?? 0n) + v);
      }
    }
    if (!found.has('cpu') || !found.has('memory')) isGuaranteed = false;
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
  return isGuaranteed && requests.size === limits.size ? 'Guaranteed' : 'Burstable';
}
