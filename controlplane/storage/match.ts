// Matching claims to volumes, as pkg/controller/volume/persistentvolume/index.go and
// component-helpers/storage/volume do it: access-mode sets tried smallest first, then the
// smallest volume that fits by class, capacity, volume mode, selector and node affinity;
// a volume pre-bound to the claim wins outright. Pure, shared by the PV controller and the
// scheduler's VolumeBinding plugin.
import type { KubeObject } from '../../proto/meta.js';
import { compareQuantities, isValidQuantity } from '../../proto/quantity.js';
import { selectorMatches } from '../resources/label-selector.js';
import { storageClassOf } from '../resources/persistent-volume-common.js';
import { matchTerm } from '../scheduler/plugins/node-affinity.js';

/** Annotations the binder and provisioners write (storagehelpers / volume util). */
export const ANN_BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';
export const ANN_BOUND_BY_CONTROLLER = 'pv.kubernetes.io/bound-by-controller';
export const ANN_DYNAMICALLY_PROVISIONED = 'pv.kubernetes.io/provisioned-by';
export const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
export const ANN_STORAGE_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
export const ANN_BETA_STORAGE_PROVISIONER = 'volume.beta.kubernetes.io/storage-provisioner';
/** what rancher's local-path provisioner records on its PVs: the node holding the directory */
export const ANN_LOCAL_PATH_NODE = 'local.path.provisioner/selected-node';
export const HOSTNAME_LABEL = 'kubernetes.io/hostname';

function modesOf(o: KubeObject, status = false): string[] {
  const m = status ? o.status?.accessModes : o.spec?.accessModes;
  return Array.isArray(m) ? m.filter((x): x is string => typeof x === 'string') : [];
}

function storageOf(q: unknown): string | number | undefined {
  return (typeof q === 'string' || typeof q === 'number') && isValidQuantity(q) ? q : undefined;
}

export function requestedStorage(claim: KubeObject): string | number | undefined {
  return storageOf(claim.spec?.resources?.requests?.storage);
}

export function volumeCapacity(pv: KubeObject): string | number | undefined {
  return storageOf(pv.spec?.capacity?.storage);
}

/** IsVolumeBoundToClaim: claimRef names the claim, and its uid (if set) is the claim's. */
export function isVolumeBoundToClaim(pv: KubeObject, claim: KubeObject): boolean {
  const ref = pv.spec?.claimRef;
  if (!ref || typeof ref !== 'object') return false;
  if (ref.name !== claim.metadata.name || ref.namespace !== claim.metadata.namespace) return false;
  return !ref.uid || ref.uid === claim.metadata.uid;
}

/** CheckVolumeModeMismatches (both default to Filesystem). */
export function volumeModeMismatch(claim: KubeObject, pv: KubeObject): boolean {
  return (claim.spec?.volumeMode || 'Filesystem') !== (pv.spec?.volumeMode || 'Filesystem');
}

/** CheckAccessModes: every mode the claim asks for is one the volume has. */
export function accessModesFit(claim: KubeObject, pv: KubeObject): boolean {
  const have = new Set(modesOf(pv));
  return modesOf(claim).every((m) => have.has(m));
}

/** CheckNodeAffinity: a volume without required node affinity is reachable from any node. */
export function volumeFitsNode(pv: KubeObject, node: KubeObject): boolean {
  const required = pv.spec?.nodeAffinity?.required;
  if (!required) return true;
  const terms: unknown[] = Array.isArray(required.nodeSelectorTerms) ? required.nodeSelectorTerms : [];
  return terms.some((t) => matchTerm(t as Parameters<typeof matchTerm>[0], node));
}

/** The node names a volume is pinned to by `kubernetes.io/hostname In [...]`, if it is pinned so. */
export function pinnedNodes(pv: KubeObject): string[] {
  const terms: unknown[] = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? [];
  const out: string[] = [];
  for (const t of Array.isArray(terms) ? terms : []) {
    for (const e of (t as { matchExpressions?: Array<{ key?: string; operator?: string; values?: string[] }> })
      ?.matchExpressions ?? []) {
      if (e?.key === HOSTNAME_LABEL && e.operator === 'In' && Array.isArray(e.values)) out.push(...e.values);
    }
  }
  return out;
}

/**
 * findBestMatchForClaim / FindMatchingVolume. `node`: only volumes reachable from it (the
 * scheduler's path, or a WaitForFirstConsumer claim whose node was chosen). `delayBinding`
 * without a node: only a volume pre-bound to the claim may match.
 */
export function findBestMatch(
  claim: KubeObject,
  volumes: readonly KubeObject[],
  node?: KubeObject,
  delayBinding = false,
): KubeObject | undefined {
  const requested = requestedStorage(claim) ?? 0;
  const wantModes = modesOf(claim);
  const cls = storageClassOf(claim);
  const sel = claim.spec?.selector;
  // index.go: volumes grouped by their access-mode set; sets holding every requested mode,
  // fewest modes first; the first set with a match decides.
  const groups = new Map<string, KubeObject[]>();
  for (const v of volumes) {
    const modes = [...new Set(modesOf(v))].sort();
    if (!wantModes.every((m) => modes.includes(m))) continue;
    const key = modes.join(',');
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(v);
  }
  const ordered = [...groups.entries()].sort((a, b) => a[0].split(',').length - b[0].split(',').length);
  for (const [, group] of ordered) {
    let smallest: KubeObject | undefined;
    for (const v of group) {
      if (v.spec?.claimRef && !isVolumeBoundToClaim(v, claim)) continue;
      const cap = volumeCapacity(v);
      if (cap === undefined || compareQuantities(cap, requested) < 0) continue;
      if (volumeModeMismatch(claim, v)) continue;
      if (v.metadata.deletionTimestamp) continue;
      const nodeOk = node ? volumeFitsNode(v, node) : true;
      if (isVolumeBoundToClaim(v, claim)) return nodeOk ? v : undefined;
      if (!node && delayBinding) continue;
      if (v.status?.phase !== 'Available') continue;
      if (sel && !selectorMatches(sel, v.metadata.labels ?? {})) continue;
      if (storageClassOf(v) !== cls) continue;
      if (!nodeOk) continue;
      if (!smallest || compareQuantities(volumeCapacity(smallest)!, cap) > 0) smallest = v;
    }
    if (smallest) return smallest;
  }
  return undefined;
}

/** checkVolumeSatisfyClaim: why a volume the claim names cannot be its volume, or undefined. */
export function volumeMismatch(pv: KubeObject, claim: KubeObject): string | undefined {
  const requested = requestedStorage(claim) ?? 0;
  const cap = volumeCapacity(pv);
  if (cap === undefined || compareQuantities(cap, requested) < 0) return 'requested PV is too small';
  if (storageClassOf(pv) !== storageClassOf(claim)) return 'storageClassName does not match';
  if (volumeModeMismatch(claim, pv)) return 'incompatible volumeMode';
  if (!accessModesFit(claim, pv)) return 'incompatible accessMode';
  return undefined;
}

/** A Node object for a name the informer does not (yet) hold: only its hostname label. */
export function nodeByName(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { [HOSTNAME_LABEL]: name } } };
}
