// Which nodes a DaemonSet's pod belongs on (daemon_controller.go NodeShouldRunDaemonPod):
// the template's nodeName, nodeSelector and required node affinity must match, and the
// node's NoSchedule/NoExecute taints must be tolerated, counting the tolerations every
// daemon pod gets (util.AddOrUpdateDaemonPodTolerations). A pod that only fails on a
// NoSchedule taint may keep running; an untolerated NoExecute taint evicts it.
import type { KubeObject } from '../../../proto/meta.js';
import type { Affinity } from '../../../proto/api/types.gen.js';
import { canonicalJson, clone } from '../../../proto/canonical.js';
import { matchesRequired } from '../../scheduler/plugins/node-affinity.js';
import {
  findUntoleratedTaint,
  taintsOf,
  tolerationsOf,
  TAINT_DISK_PRESSURE,
  TAINT_MEMORY_PRESSURE,
  TAINT_NETWORK_UNAVAILABLE,
  TAINT_NOT_READY,
  TAINT_PID_PRESSURE,
  TAINT_UNREACHABLE,
  TAINT_UNSCHEDULABLE,
  type Taint,
  type Toleration,
} from '../../../proto/api/taints.js';

/** The tolerations the DaemonSet controller puts on every daemon pod, in its order. */
export function daemonTolerations(hostNetwork: boolean): Toleration[] {
  const out: Toleration[] = [
    { key: TAINT_NOT_READY, operator: 'Exists', effect: 'NoExecute' },
    { key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute' },
    { key: TAINT_DISK_PRESSURE, operator: 'Exists', effect: 'NoSchedule' },
    { key: TAINT_MEMORY_PRESSURE, operator: 'Exists', effect: 'NoSchedule' },
    { key: TAINT_PID_PRESSURE, operator: 'Exists', effect: 'NoSchedule' },
    { key: TAINT_UNSCHEDULABLE, operator: 'Exists', effect: 'NoSchedule' },
  ];
  if (hostNetwork) out.push({ key: TAINT_NETWORK_UNAVAILABLE, operator: 'Exists', effect: 'NoSchedule' });
  return out;
}

/** v1helper.AddOrUpdateTolerationInPodSpec for each daemon toleration: same key/operator/value/effect is replaced */
export function addDaemonTolerations(spec: { tolerations?: unknown; hostNetwork?: unknown }): void {
  const list: Toleration[] = Array.isArray(spec.tolerations)
    ? spec.tolerations.filter((t: unknown) => t && typeof t === 'object')
    : [];
  for (const t of daemonTolerations(spec.hostNetwork === true)) {
    const i = list.findIndex(
      (x) =>
        (x.key ?? '') === t.key &&
        (x.operator || 'Equal') === t.operator &&
        (x.value ?? '') === '' &&
        (x.effect ?? '') === t.effect,
    );
    if (i < 0) list.push(t);
    else if (canonicalJson(list[i]) !== canonicalJson(t)) list[i] = t;
  }
  spec.tolerations = list;
}

/** The pod the DaemonSet would run on `nodeName`, as the eligibility check sees it (util.NewPod). */
export function simulatedPod(ds: KubeObject, nodeName: string): KubeObject {
  const tpl = ds.spec?.template ?? {};
  const spec = clone(tpl.spec ?? {});
  spec.nodeName = nodeName;
  addDaemonTolerations(spec);
  return { metadata: { ...(clone(tpl.metadata) ?? {}), namespace: ds.metadata.namespace }, spec };
}

/** a cordoned node counts as tainted unschedulable:NoSchedule, as the node lifecycle controller would taint it */
export function effectiveTaints(node: KubeObject): Taint[] {
  const taints = taintsOf(node);
  if (
    node.spec?.unschedulable === true &&
    !taints.some((t) => t.key === TAINT_UNSCHEDULABLE && t.effect === 'NoSchedule')
  ) {
    return [...taints, { key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' }];
  }
  return taints;
}

export interface NodeDecision {
  /** a daemon pod should be created here if missing */
  shouldRun: boolean;
  /** an existing daemon pod may stay */
  shouldContinueRunning: boolean;
}

export function nodeShouldRunDaemonPod(node: KubeObject, ds: KubeObject): NodeDecision {
  const name = node.metadata.name!;
  const want = ds.spec?.template?.spec?.nodeName;
  if (want && want !== name) return { shouldRun: false, shouldContinueRunning: false };
  const pod = simulatedPod(ds, name);
  if (!matchesRequired(pod, node)) return { shouldRun: false, shouldContinueRunning: false };
  const taints = effectiveTaints(node);
  const tolerations = tolerationsOf(pod);
  const untolerated = findUntoleratedTaint(
    taints,
    tolerations,
    (t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute',
  );
  if (!untolerated) return { shouldRun: true, shouldContinueRunning: true };
  // Scheduled daemon pods keep running while they tolerate every NoExecute taint.
  const noExecute = findUntoleratedTaint(taints, tolerations, (t) => t.effect === 'NoExecute');
  return { shouldRun: false, shouldContinueRunning: !noExecute };
}

/** util.ReplaceDaemonSetPodNodeNameNodeAffinity: required node affinity becomes metadata.name In [node] */
export function replaceNodeNameAffinity(affinity: unknown, nodeName: string): Affinity {
  const term = { matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] };
  const selector = { nodeSelectorTerms: [term] };
  // the template's affinity as stored (an object, else none); its nodeAffinity likewise
  const a: Affinity = affinity && typeof affinity === 'object' ? clone(affinity) : {};
  if (!a.nodeAffinity || typeof a.nodeAffinity !== 'object') a.nodeAffinity = {};
  if (!a.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution)
    a.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = selector;
  else
    a.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = {
      ...a.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution,
      nodeSelectorTerms: [term],
    };
  return a;
}

/** util.GetTargetNodeName: spec.nodeName, else the node named by the metadata.name In [x] affinity term */
export function targetNodeName(pod: KubeObject): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (!Array.isArray(terms)) return undefined;
  for (const term of terms) {
    for (const r of Array.isArray(term?.matchFields) ? term.matchFields : []) {
      if (r?.key === 'metadata.name' && r.operator === 'In')
        return Array.isArray(r.values) && r.values.length === 1 ? r.values[0] : undefined;
    }
  }
  return undefined;
}
