// A StatefulSet pod's stable identity (stateful_set_utils.go): the name `<set>-<ordinal>`,
// hostname/subdomain, the pod-name/pod-index/controller-revision-hash labels, claims named
// `<template>-<set>-<ordinal>` with owner references per persistentVolumeClaimRetentionPolicy,
// and the revision name of a pod template. Pure functions.
import type { KubeObject, OwnerReference } from '../../../proto/meta.js';
import type { PodSpec, PodTemplateSpec, Volume } from '../../../proto/api/types.gen.js';
import { newControllerRef } from '../../../proto/api/owner.js';
import { canonicalJson, clone } from '../../../proto/canonical.js';
import { podReadyCondition } from '../../../proto/api/pod.js';
import { isPodTemplate } from '../replica-set/pods.js';

export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';
export const REVISION_LABEL = 'controller-revision-hash';

// ---- pod state ------------------------------------------------------------------------

export function phaseOf(p: KubeObject): string {
  return p.status?.phase ?? '';
}

export function isTerminating(p: KubeObject): boolean {
  return !!p.metadata.deletionTimestamp;
}

export function isRunningAndReady(p: KubeObject): boolean {
  return phaseOf(p) === 'Running' && podReadyCondition(p)?.status === 'True';
}

/** podutil.IsPodAvailable: ready for at least minReadySeconds. */
export function availableAt(p: KubeObject, minReadySeconds: number): number | undefined {
  const c = podReadyCondition(p);
  if (c?.status !== 'True') return undefined;
  if (minReadySeconds <= 0) return 0;
  const t = Date.parse(c.lastTransitionTime ?? '');
  return Number.isNaN(t) ? undefined : t + minReadySeconds * 1000;
}

export function isRunningAndAvailable(p: KubeObject, minReadySeconds: number, now: number): boolean {
  if (!isRunningAndReady(p)) return false;
  const at = availableAt(p, minReadySeconds);
  return at !== undefined && at <= now;
}

export function isHealthy(p: KubeObject): boolean {
  return isRunningAndReady(p) && !isTerminating(p);
}

// ---- names ----------------------------------------------------------------------------

export function podName(set: KubeObject, ordinal: number): string {
  return `${set.metadata.name}-${ordinal}`;
}

/** getParentNameAndOrdinal: `<parent>-<n>`; -1 when the name does not parse or the parent differs. */
export function ordinalOf(pod: KubeObject, setName: string): number {
  const m = /^(.*)-([0-9]+)$/.exec(pod.metadata.name ?? '');
  if (!m || m[1] !== setName) return -1;
  const n = Number(m[2]);
  return Number.isSafeInteger(n) ? n : -1;
}

export function startOrdinal(set: KubeObject): number {
  return Number(set.spec?.ordinals?.start ?? 0);
}

export function claimName(set: KubeObject, template: KubeObject, ordinal: number): string {
  return `${template.metadata?.name}-${set.metadata.name}-${ordinal}`;
}

export function claimTemplates(set: KubeObject): KubeObject[] {
  return Array.isArray(set.spec?.volumeClaimTemplates) ? set.spec.volumeClaimTemplates : [];
}

// ---- revisions --------------------------------------------------------------------------

const SAFE_ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

function fnv32a(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** rand.SafeEncodeString: no vowels, no look-alikes. */
function safeEncode(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) out += SAFE_ALPHANUMS[b % SAFE_ALPHANUMS.length];
  return out;
}

/**
 * The name skiff gave a template's revision before it kept ControllerRevisions
 * (`<set>-<FNV-32a of the canonical template>`): a set still at that revision keeps the name
 * for its first ControllerRevision, so an upgrade does not replace its pods.
 */
export function revisionName(set: KubeObject, template: unknown): string {
  return `${set.metadata.name}-${safeEncode(String(fnv32a(canonicalJson(template ?? {}))))}`;
}

export function revisionOf(p: KubeObject): string {
  return p.metadata.labels?.[REVISION_LABEL] ?? '';
}

// ---- pods ---------------------------------------------------------------------------------

export function setControllerRef(set: KubeObject): OwnerReference {
  return newControllerRef(set, 'apps/v1', 'StatefulSet');
}

/** the template's pod spec with claim volumes: volumes as decoded (entries may be null), a claim template's name may be unset */
type PodSpecWithClaims = Omit<Partial<PodSpec>, 'volumes'> & { volumes?: (Partial<Volume> | null | undefined)[] };

/**
 * newVersionedStatefulSetPod for one template: labels from the template plus the identity
 * labels and revision, hostname = pod name, subdomain = serviceName, claim volumes.
 */
export function newStatefulSetPod(set: KubeObject, template: unknown, ordinal: number, revision: string): KubeObject {
  const tpl: PodTemplateSpec = isPodTemplate(template) ? template : {};
  const name = podName(set, ordinal);
  const labels: Record<string, string> = {
    ...(tpl.metadata?.labels ?? {}),
    [POD_NAME_LABEL]: name,
    [POD_INDEX_LABEL]: String(ordinal),
    [REVISION_LABEL]: revision,
  };
  const metadata: KubeObject['metadata'] = {
    name,
    namespace: set.metadata.namespace,
    labels,
    ownerReferences: [setControllerRef(set)],
  };
  if (tpl.metadata?.annotations && Object.keys(tpl.metadata.annotations).length)
    metadata.annotations = { ...tpl.metadata.annotations };
  if (Array.isArray(tpl.metadata?.finalizers) && tpl.metadata.finalizers.length)
    metadata.finalizers = [...tpl.metadata.finalizers];
  const spec: PodSpecWithClaims = clone(tpl.spec ?? {});
  spec.hostname = name;
  if (set.spec?.serviceName) spec.subdomain = set.spec.serviceName;
  // updateStorage: one volume per claim template, replacing a pod volume of the same name.
  const claimVolumes = claimTemplates(set).map((t) => ({
    name: t.metadata?.name,
    persistentVolumeClaim: { claimName: claimName(set, t, ordinal) },
  }));
  if (claimVolumes.length) {
    const names = new Set(claimVolumes.map((v) => v.name));
    spec.volumes = [
      ...claimVolumes,
      ...(Array.isArray(spec.volumes) ? spec.volumes.filter((v) => !names.has(v?.name)) : []),
    ];
  }
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec };
}

/** identityMatches: name, namespace and the identity labels. */
export function identityMatches(set: KubeObject, pod: KubeObject): boolean {
  const ord = ordinalOf(pod, set.metadata.name!);
  return (
    ord >= 0 &&
    pod.metadata.namespace === set.metadata.namespace &&
    pod.metadata.labels?.[POD_NAME_LABEL] === pod.metadata.name &&
    pod.metadata.labels?.[POD_INDEX_LABEL] === String(ord)
  );
}

// ---- claims -------------------------------------------------------------------------------

/** getPersistentVolumeClaims: one claim per template; labels = template labels + selector matchLabels. */
export function claimsForOrdinal(set: KubeObject, ordinal: number): KubeObject[] {
  return claimTemplates(set).map((t) => {
    const c = clone(t) as KubeObject;
    const metadata: KubeObject['metadata'] = {
      name: claimName(set, t, ordinal),
      namespace: set.metadata.namespace,
      labels: { ...(t.metadata?.labels ?? {}), ...(set.spec?.selector?.matchLabels ?? {}) },
    };
    if (t.metadata?.annotations) metadata.annotations = { ...t.metadata.annotations };
    return { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata, spec: c.spec ?? {} };
  });
}

function retentionPolicy(set: KubeObject): { whenDeleted: string; whenScaled: string } {
  const p = set.spec?.persistentVolumeClaimRetentionPolicy ?? {};
  return { whenDeleted: p.whenDeleted ?? 'Retain', whenScaled: p.whenScaled ?? 'Retain' };
}

export function podInOrdinalRange(set: KubeObject, pod: KubeObject): boolean {
  const ord = ordinalOf(pod, set.metadata.name!);
  const start = startOrdinal(set);
  return ord >= start && ord < start + Number(set.spec?.replicas ?? 1);
}

const SET_GV = 'apps/v1';

function matchesRef(ref: OwnerReference, obj: KubeObject, apiVersion: string, kind: string): boolean {
  return ref.apiVersion === apiVersion && ref.kind === kind && ref.name === obj.metadata.name;
}

function hasOwnerRef(claim: KubeObject, owner: KubeObject): boolean {
  return (claim.metadata.ownerReferences ?? []).some((r) => r.uid === owner.metadata.uid);
}

function hasStaleOwnerRef(claim: KubeObject, obj: KubeObject, apiVersion: string, kind: string): boolean {
  const ref = (claim.metadata.ownerReferences ?? []).find((r) => matchesRef(r, obj, apiVersion, kind));
  return !!ref && ref.uid !== obj.metadata.uid;
}

function hasUnexpectedController(claim: KubeObject, set: KubeObject, pod: KubeObject): boolean {
  const policy = retentionPolicy(set);
  if (policy.whenScaled === 'Retain' && policy.whenDeleted === 'Retain') return false;
  for (const r of claim.metadata.ownerReferences ?? []) {
    if (matchesRef(r, set, SET_GV, 'StatefulSet')) {
      if (r.uid !== set.metadata.uid) return true;
      continue;
    }
    if (matchesRef(r, pod, 'v1', 'Pod')) {
      if (r.uid !== pod.metadata.uid) return true;
      continue;
    }
    if (r.controller) return true;
  }
  return false;
}

/**
 * PodClaimIsStale: with whenScaled=Delete, a claim still owned by an earlier pod of the
 * same name is about to be collected; the new pod must wait for it.
 */
export function claimIsStale(set: KubeObject, newPodName: string, claim: KubeObject | undefined): boolean {
  if (!claim || retentionPolicy(set).whenScaled === 'Retain') return false;
  return (claim.metadata.ownerReferences ?? []).some(
    (r) => r.apiVersion === 'v1' && r.kind === 'Pod' && r.name === newPodName,
  );
}

/**
 * isClaimOwnerUpToDate: Retain/Retain no refs; whenDeleted=Delete a controller ref to the
 * set; whenScaled=Delete a controller ref to the pod once the pod is scaled away.
 */
export function claimOwnerUpToDate(claim: KubeObject, set: KubeObject, pod: KubeObject): boolean {
  if (hasStaleOwnerRef(claim, set, SET_GV, 'StatefulSet') || hasStaleOwnerRef(claim, pod, 'v1', 'Pod')) return true;
  if (hasUnexpectedController(claim, set, pod)) return !(hasOwnerRef(claim, set) || hasOwnerRef(claim, pod));
  const nonController = (claim.metadata.ownerReferences ?? []).some(
    (r) => (r.uid === set.metadata.uid || r.uid === pod.metadata.uid) && !r.controller,
  );
  if (nonController) return false;
  const { whenScaled, whenDeleted } = retentionPolicy(set);
  const scaledDown = !podInOrdinalRange(set, pod);
  const wantSet = whenDeleted === 'Delete' && !(whenScaled === 'Delete' && scaledDown);
  const wantPod = whenScaled === 'Delete' && scaledDown;
  return hasOwnerRef(claim, set) === wantSet && hasOwnerRef(claim, pod) === wantPod;
}

/** updateClaimOwnerRefForSetAndPod: the claim's owner references as the policy wants them. */
export function desiredClaimOwnerRefs(claim: KubeObject, set: KubeObject, pod: KubeObject): OwnerReference[] {
  const unexpected = hasUnexpectedController(claim, set, pod);
  const refs = (claim.metadata.ownerReferences ?? []).filter(
    (r) => !(matchesRef(r, set, SET_GV, 'StatefulSet') || matchesRef(r, pod, 'v1', 'Pod')),
  );
  if (unexpected) return refs;
  const { whenScaled, whenDeleted } = retentionPolicy(set);
  const scaledDown = !podInOrdinalRange(set, pod);
  const add = (o: KubeObject, apiVersion: string, kind: string) => {
    if (!refs.some((r) => r.uid === o.metadata.uid))
      refs.push({
        apiVersion,
        kind,
        name: o.metadata.name!,
        uid: o.metadata.uid!,
        controller: true,
        blockOwnerDeletion: true,
      });
  };
  if (whenScaled === 'Delete' && scaledDown) add(pod, 'v1', 'Pod');
  else if (whenDeleted === 'Delete') add(set, SET_GV, 'StatefulSet');
  return refs;
}
