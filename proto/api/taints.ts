// Taints and tolerations: the well-known node taint keys (k8s.io/api/core/v1
// well_known_taints.go) and Toleration.ToleratesTaint (core/v1 toleration.go), for the
// scheduler's TaintToleration / NodeUnschedulable / NodeReady plugins, the DaemonSet
// controller's eligibility and the node lifecycle controller's taint manager.
import { isRecord } from '../is-record.js';
import type { Taint, Toleration } from './types.gen.js';

export type { Taint, Toleration } from './types.gen.js';

export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
export const TAINT_MEMORY_PRESSURE = 'node.kubernetes.io/memory-pressure';
export const TAINT_DISK_PRESSURE = 'node.kubernetes.io/disk-pressure';
export const TAINT_NETWORK_UNAVAILABLE = 'node.kubernetes.io/network-unavailable';
export const TAINT_PID_PRESSURE = 'node.kubernetes.io/pid-pressure';

/**
 * Toleration.ToleratesTaint: an empty effect matches every effect; an empty key matches
 * every key (validation allows it only with Exists); operator Exists matches any value,
 * Equal (the default) the same value; any other operator nothing.
 */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator ?? '') {
    case '':
    case 'Equal':
      return (t.value ?? '') === (taint.value ?? '');
    case 'Exists':
      return true;
    default:
      return false;
  }
}

/** v1helper.TolerationsTolerateTaint */
export function tolerationsTolerateTaint(tolerations: readonly Toleration[], taint: Taint): boolean {
  return tolerations.some((t) => toleratesTaint(t, taint));
}

/** The first taint passing `filter` that no toleration tolerates (v1helper.FindMatchingUntoleratedTaint). */
export function findUntoleratedTaint(
  taints: readonly Taint[],
  tolerations: readonly Toleration[],
  filter: (t: Taint) => boolean,
): Taint | undefined {
  return taints.find((t) => filter(t) && !tolerationsTolerateTaint(tolerations, t));
}

/** a node's taints (entries that are not objects dropped) */
export function taintsOf(node: { spec?: { taints?: unknown } }): Taint[] {
  const list = node.spec?.taints;
  return Array.isArray(list) ? list.filter((t): t is Taint => isRecord(t)) : [];
}

/** a pod's tolerations (entries that are not objects dropped) */
export function tolerationsOf(pod: { spec?: { tolerations?: unknown } }): Toleration[] {
  const list = pod.spec?.tolerations;
  return Array.isArray(list) ? list.filter((t): t is Toleration => isRecord(t)) : [];
}

/** The reason TaintToleration reports, `{key: value}` as kube-scheduler formats it. */
export function untoleratedTaintReason(taint: Taint): string {
  return `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`;
}
