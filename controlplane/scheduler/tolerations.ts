// Taint/toleration matching (core/v1 helper Toleration.ToleratesTaint), shared by the
// TaintToleration, NodeUnschedulable and NodeReady plugins.

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';

/** An empty effect matches every effect; an empty key with Exists matches every key. */
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

export function tolerationsTolerateTaint(tolerations: readonly Toleration[], taint: Taint): boolean {
  return tolerations.some((t) => toleratesTaint(t, taint));
}

/** The first taint passing `filter` that no toleration tolerates (v1helper.FindMatchingUntoleratedTaint). */
export function findUntoleratedTaint(
  taints: readonly Taint[], tolerations: readonly Toleration[], filter: (t: Taint) => boolean,
): Taint | undefined {
  return taints.find((t) => filter(t) && !tolerationsTolerateTaint(tolerations, t));
}

export function taintsOf(node: { spec?: any }): Taint[] {
  return Array.isArray(node.spec?.taints) ? node.spec.taints.filter((t: unknown) => typeof t === 'object' && t !== null) : [];
}

export function tolerationsOf(pod: { spec?: any }): Toleration[] {
  return Array.isArray(pod.spec?.tolerations) ? pod.spec.tolerations.filter((t: unknown) => typeof t === 'object' && t !== null) : [];
}

/** The reason TaintToleration reports, `{key: value}` as kube-scheduler formats it. */
export function untoleratedTaintReason(taint: Taint): string {
  return `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`;
}
