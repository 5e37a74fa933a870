// VolumeBinding (pkg/scheduler/framework/plugins/volumebinding): a pod's
// persistentVolumeClaim volumes decide where it may go.
// - PreFilter: every claim must exist and not be going away; an unbound claim of an
//   Immediate class (or of no/unknown class) must first be bound by the PV controller.
// - Filter: a bound claim's volume must exist and its node affinity admit the node; an
//   unbound WaitForFirstConsumer claim needs, on that node, an Available volume that fits
//   or a class that can provision there (skiff.io/local-path: any node; its
//   allowedTopologies respected; kubernetes.io/no-provisioner: never).
// - PreBind (done by the scheduler loop with `claimsToAnnotate`): the chosen node is written
//   to each such claim as volume.kubernetes.io/selected-node, which the PV controller acts on.
import type { KubeObject } from '../../../proto/meta.js';
import { ANN_BIND_COMPLETED, ANN_SELECTED_NODE, findBestMatch, volumeFitsNode } from '../../storage/match.js';
import { storageClassOf } from '../../resources/persistent-volume-common.js';
import { FITS, unresolvable, type CycleContext, type FilterPlugin, type VolumeListers } from '../framework.js';

export const ERR_REASON_BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind";
export const ERR_REASON_NODE_CONFLICT = 'node(s) had volume node affinity conflict';
export const ERR_REASON_PV_NOT_EXIST = 'node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)';
export const ERR_UNBOUND_IMMEDIATE = 'pod has unbound immediate PersistentVolumeClaims';
export const NO_PROVISIONER = 'kubernetes.io/no-provisioner';

interface PodClaims {
  bound: KubeObject[];
  /** unbound claims of WaitForFirstConsumer classes */
  delayed: KubeObject[];
}

/** The names of the claims a pod's volumes use (generic ephemeral volumes: `<pod>-<volume>`). */
function claimRefs(pod: KubeObject): Array<{ name: string; ephemeral: boolean }> {
  const out: Array<{ name: string; ephemeral: boolean }> = [];
  for (const v of Array.isArray(pod.spec?.volumes) ? pod.spec.volumes : []) {
    if (typeof v?.persistentVolumeClaim?.claimName === 'string')
      out.push({ name: v.persistentVolumeClaim.claimName, ephemeral: false });
    else if (v?.ephemeral && typeof v.name === 'string')
      out.push({ name: `${pod.metadata.name}-${v.name}`, ephemeral: true });
  }
  return out;
}

/** isPVCFullyBound */
export function claimFullyBound(claim: KubeObject): boolean {
  return !!claim.spec?.volumeName && claim.metadata.annotations?.[ANN_BIND_COMPLETED] !== undefined;
}

function isDelayBinding(claim: KubeObject, volumes: VolumeListers): boolean {
  const cls = storageClassOf(claim);
  if (!cls) return false;
  return volumes.storageClass(cls)?.volumeBindingMode === 'WaitForFirstConsumer';
}

/** GetPodVolumeClaims, or the PreFilter message that makes the pod unschedulable everywhere. */
export function podClaims(pod: KubeObject, volumes: VolumeListers): PodClaims | { error: string } {
  const out: PodClaims = { bound: [], delayed: [] };
  let immediate = false;
  for (const ref of claimRefs(pod)) {
    const claim = volumes.claim(pod.metadata.namespace ?? 'default', ref.name);
    if (!claim) {
      return {
        error: ref.ephemeral
          ? `waiting for ephemeral volume controller to create the persistentvolumeclaim "${ref.name}"`
          : `persistentvolumeclaim "${ref.name}" not found`,
      };
    }
    if (claim.metadata.deletionTimestamp) return { error: `persistentvolumeclaim "${ref.name}" is being deleted` };
    if (claimFullyBound(claim)) out.bound.push(claim);
    else if (isDelayBinding(claim, volumes)) out.delayed.push(claim);
    else immediate = true;
  }
  if (immediate) return { error: ERR_UNBOUND_IMMEDIATE };
  return out;
}

/** MatchTopologySelectorTerms: no terms admit every node; terms are ORed, expressions ANDed. */
function topologyAdmits(sc: KubeObject, node: KubeObject): boolean {
  const terms: unknown[] = Array.isArray(sc.allowedTopologies) ? sc.allowedTopologies : [];
  if (!terms.length) return true;
  const labels: Record<string, string> = node.metadata.labels ?? {};
  return terms.some((t) => {
    const exprs =
      (t as { matchLabelExpressions?: Array<{ key?: string; values?: string[] }> })?.matchLabelExpressions ?? [];
    return (
      exprs.length > 0 &&
      exprs.every(
        (e) => typeof e?.key === 'string' && Object.hasOwn(labels, e.key) && (e.values ?? []).includes(labels[e.key]!),
      )
    );
  });
}

function stateOf(ctx: CycleContext, pod: KubeObject): PodClaims | { error: string } | undefined {
  if (!ctx.volumes) return undefined;
  let s = ctx.state.get('VolumeBinding') as PodClaims | { error: string } | undefined;
  if (!s) {
    s = podClaims(pod, ctx.volumes);
    ctx.state.set('VolumeBinding', s);
  }
  return s;
}

export const volumeBinding: FilterPlugin = {
  name: 'VolumeBinding',
  preFilter(ctx, pod) {
    if (!claimRefs(pod).length) return FITS;
    const s = stateOf(ctx, pod);
    return s && 'error' in s ? unresolvable(s.error) : FITS;
  },
  filter(ctx, pod, nodeInfo) {
    if (!claimRefs(pod).length || !ctx.volumes) return FITS;
    const s = stateOf(ctx, pod);
    if (!s) return FITS;
    if ('error' in s) return unresolvable(s.error);
    const node = nodeInfo.node;
    const reasons = new Set<string>();
    for (const claim of s.bound) {
      const pv = ctx.volumes.volume(claim.spec.volumeName);
      if (!pv) reasons.add(ERR_REASON_PV_NOT_EXIST);
      else if (!volumeFitsNode(pv, node)) reasons.add(ERR_REASON_NODE_CONFLICT);
    }
    const all = ctx.volumes.volumes();
    const taken = new Set<string>();
    for (const claim of s.delayed) {
      // a node already chosen for this claim (provisioning may be under way there) is final,
      // unless that node is gone from the cluster: then the claim may go elsewhere
      const selected = claim.metadata.annotations?.[ANN_SELECTED_NODE];
      if (selected && selected !== nodeInfo.name && ctx.nodeInfos.some((n) => n.name === selected)) {
        reasons.add(ERR_REASON_NODE_CONFLICT);
        continue;
      }
      const match = findBestMatch(
        claim,
        all.filter((v) => !taken.has(v.metadata.name!)),
        node,
        false,
      );
      if (match) {
        taken.add(match.metadata.name!);
        continue;
      }
      const sc = ctx.volumes.storageClass(storageClassOf(claim));
      if (!sc || sc.provisioner === NO_PROVISIONER || !topologyAdmits(sc, node)) reasons.add(ERR_REASON_BIND_CONFLICT);
    }
    return reasons.size ? unresolvable(...[...reasons].sort()) : FITS;
  },
};

/** PreBind: the unbound WaitForFirstConsumer claims of a pod that still need the node recorded. */
export function claimsToAnnotate(pod: KubeObject, volumes: VolumeListers, node: string): KubeObject[] {
  const s = podClaims(pod, volumes);
  if ('error' in s) return [];
  return s.delayed.filter((c) => c.metadata.annotations?.[ANN_SELECTED_NODE] !== node);
}
