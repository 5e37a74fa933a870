// ControllerRevisions as pkg/controller/history keeps them: the revision data (a strategic
// merge patch that replaces spec.template), its hash and name, ordering and equality, and
// the template a revision restores. Pure; the DaemonSet and StatefulSet controllers use it.
import type { KubeObject, OwnerReference } from '../../../proto/meta.js';
import { controllerRefOf, newControllerRef } from '../../../proto/api/owner.js';
import { canonicalJson, clone } from '../../../proto/canonical.js';
import { safeEncodeString } from '../deployment/template-hash.js';

/** history.ControllerRevisionHashLabel: the hash of a StatefulSet revision's data */
export const CONTROLLER_REVISION_HASH_LABEL = 'controller.kubernetes.io/hash';
/** apps.ControllerRevisionHashLabelKey: on pods (both kinds) and on DaemonSet revisions */
export const REVISION_HASH_LABEL = 'controller-revision-hash';

/**
 * What Go's json.Marshal writes for a map[string]interface{}: sorted keys, no spaces, and
 * `<`, `>`, `&`, U+2028, U+2029 escaped (HTML-safe). The revision data's bytes, as hashed.
 */
export function goJson(v: unknown): string {
  return canonicalJson(v).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** 32-bit FNV-1 (Go's hash/fnv New32, which HashControllerRevision uses), continuing from `h`. */
export function fnv32(bytes: Uint8Array, h = 0x811c9dc5): number {
  for (const b of bytes) {
    h = Math.imul(h, 0x01000193) >>> 0;
    h = (h ^ b) >>> 0;
  }
  return h >>> 0;
}

/**
 * HashControllerRevision: FNV-32 of the data's JSON bytes, then (when given) of the
 * collision count in decimal, printed in decimal through rand.SafeEncodeString.
 */
export function hashControllerRevision(data: unknown, collisionCount?: number): string {
  let h = fnv32(Buffer.from(goJson(data), 'utf8'));
  if (collisionCount !== undefined) h = fnv32(Buffer.from(String(collisionCount), 'utf8'), h);
  return safeEncodeString(String(h));
}

/** ControllerRevisionName: `<prefix>-<hash>`, the prefix cut at 223 bytes so the name fits 253. */
export function controllerRevisionName(prefix: string, hash: string): string {
  return `${prefix.length > 223 ? prefix.slice(0, 223) : prefix}-${hash}`;
}

/**
 * getPatch (daemon/update.go, statefulset/stateful_set_utils.go): the workload's template as
 * a strategic merge patch `{"spec":{"template":{"$patch":"replace",…}}}`, keys sorted.
 */
export function templatePatch(template: unknown): Record<string, unknown> {
  const t = (template && typeof template === 'object' && !Array.isArray(template) ? clone(template) : {}) as Record<
    string,
    unknown
  >;
  t.$patch = 'replace';
  return JSON.parse(canonicalJson({ spec: { template: t } })) as Record<string, unknown>;
}

/** Match / EqualRevision on data: the same bytes once marshalled. */
export function sameData(a: unknown, b: unknown): boolean {
  return goJson(a ?? null) === goJson(b ?? null);
}

/** The pod template a revision restores (ApplyRevision of its `$patch: replace` template). */
export function templateOfRevision(cr: KubeObject): Record<string, unknown> | undefined {
  const t = cr.data?.spec?.template;
  if (!t || typeof t !== 'object' || Array.isArray(t)) return undefined;
  const out = clone(t) as Record<string, unknown>;
  delete out.$patch;
  return out;
}

export function revisionNumber(cr: KubeObject): number {
  const r = Number(cr.revision ?? 0);
  return Number.isFinite(r) ? r : 0;
}

/** SortControllerRevisions: by revision, then creation time, then name (a stable sort). */
export function sortRevisions(revs: readonly KubeObject[]): KubeObject[] {
  return [...revs].sort((a, b) => {
    const d = revisionNumber(a) - revisionNumber(b);
    if (d !== 0) return d;
    const ta = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
    const tb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
    if (ta !== tb) return ta - tb;
    return (a.metadata.name ?? '') < (b.metadata.name ?? '')
      ? -1
      : (a.metadata.name ?? '') > (b.metadata.name ?? '')
        ? 1
        : 0;
  });
}

/** maxRevision over a list (0 when empty) */
export function maxRevision(revs: readonly KubeObject[]): number {
  return revs.reduce((m, r) => Math.max(m, revisionNumber(r)), 0);
}

/** nextRevision (statefulset): one more than the last of the sorted revisions, 1 for none */
export function nextRevision(sorted: readonly KubeObject[]): number {
  return sorted.length ? revisionNumber(sorted[sorted.length - 1]!) + 1 : 1;
}

/** re-exported: the one metav1.GetControllerOf is proto/api/owner.ts's */
export { controllerRefOf as controllerOf };

export function controllerRef(parent: KubeObject, kind: 'DaemonSet' | 'StatefulSet'): OwnerReference {
  return newControllerRef(parent, 'apps/v1', kind);
}

/**
 * NewControllerRevision (+ newRevision's annotations for StatefulSets): labels = the template's
 * labels and the data hash, owned by the parent, named `<parent>-<hash>`.
 */
export function newStatefulSetRevision(set: KubeObject, revision: number, collisionCount: number): KubeObject {
  const data = templatePatch(set.spec?.template);
  const hash = hashControllerRevision(data, collisionCount);
  const metadata: KubeObject['metadata'] = {
    name: controllerRevisionName(set.metadata.name!, hash),
    namespace: set.metadata.namespace,
    labels: { ...(set.spec?.template?.metadata?.labels ?? {}), [CONTROLLER_REVISION_HASH_LABEL]: hash },
    ownerReferences: [controllerRef(set, 'StatefulSet')],
  };
  if (set.metadata.annotations && Object.keys(set.metadata.annotations).length)
    metadata.annotations = { ...set.metadata.annotations };
  return { apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata, data, revision };
}

/**
 * The DaemonSet controller's snapshot: named `<ds>-<template hash>` (the hash its pods carry
 * in controller-revision-hash), labels = the template's labels and that hash, the
 * DaemonSet's annotations.
 */
export function newDaemonSetRevision(ds: KubeObject, revision: number, hash: string): KubeObject {
  const metadata: KubeObject['metadata'] = {
    name: `${ds.metadata.name}-${hash}`,
    namespace: ds.metadata.namespace,
    labels: { ...(ds.spec?.template?.metadata?.labels ?? {}), [REVISION_HASH_LABEL]: hash },
    ownerReferences: [controllerRef(ds, 'DaemonSet')],
  };
  if (ds.metadata.annotations && Object.keys(ds.metadata.annotations).length)
    metadata.annotations = { ...ds.metadata.annotations };
  return {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata,
    data: templatePatch(ds.spec?.template),
    revision,
  };
}
