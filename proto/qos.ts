// Pod QoS class exactly as Kubernetes computes it (pkg/apis/core/helper/qos
// ComputePodQOS): only cpu and memory count, zero and invalid quantities are ignored,
// init containers count too, and a request defaults to its limit (the API server's
// defaulting, so specs not yet defaulted get the same answer). One implementation for
// the API server (status.qosClass) and the agent (cgroup parent, OOM score).
import { isValidQuantity, scaledValue } from './quantity.js';

export type QOSClass = 'Guaranteed' | 'Burstable' | 'BestEffort';

type Resources = Record<string, string | number> | null | undefined;
export interface QOSContainerSpec {
  resources?: { limits?: Resources; requests?: Resources } | null;
}
export interface QOSPodSpec {
  containers?: QOSContainerSpec[] | null;
  initContainers?: QOSContainerSpec[] | null;
}

const QOS_RESOURCES = ['cpu', 'memory'] as const;

/** exact nano-units (never rounded like MilliValue); 0 for an invalid or absent value */
const nanos = (q: unknown): bigint => (isValidQuantity(q) ? scaledValue(q as string | number, -9) : 0n);

export function podQOSClass(spec: QOSPodSpec | null | undefined): QOSClass {
  const requests = new Map<string, bigint>();
  const limits = new Map<string, bigint>();
  let isGuaranteed = true;
  const all = [
    ...(Array.isArray(spec?.containers) ? spec!.containers! : []),
    ...(Array.isArray(spec?.initContainers) ? spec!.initContainers! : []),
  ];
  for (const c of all) {
    const lim = c?.resources?.limits ?? {};
    const req = { ...lim, ...(c?.resources?.requests ?? {}) };
    for (const name of QOS_RESOURCES) {
      const v = nanos(req[name]);
      if (v > 0n) requests.set(name, (requests.get(name) ?? 0n) + v);
    }
    const found = new Set<string>();
    for (const name of QOS_RESOURCES) {
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
    for (const [name, r] of requests) {
      if (limits.get(name) !== r) {
        isGuaranteed = false;
        break;
      }
    }
  }
  return isGuaranteed && requests.size === limits.size ? 'Guaranteed' : 'Burstable';
}
