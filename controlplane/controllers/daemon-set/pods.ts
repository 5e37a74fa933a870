// Daemon pods: the template hash that names a DaemonSet's ControllerRevision, the pod a
// DaemonSet creates for a node, readiness/availability and the "oldest first" order.
import type { KubeObject, OwnerReference } from '../../../proto/meta.js';
import { newControllerRef as controllerRefFor } from '../../../proto/api/owner.js';
import { canonicalJson, clone } from '../../../proto/canonical.js';
import { addDaemonTolerations, replaceNodeNameAffinity } from './eligibility.js';

/** apps.ControllerRevisionHashLabelKey / DefaultDaemonSetUniqueLabelKey */
export const REVISION_HASH_LABEL = 'controller-revision-hash';
/** extensions.DaemonSetTemplateGenerationKey (set when the DaemonSet carries the annotation below) */
export const TEMPLATE_GENERATION_LABEL = 'pod-template-generation';
export const TEMPLATE_GENERATION_ANNOTATION = 'deprecated.daemonset.template.generation';

const SAFE_ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

function fnv32a(s: string, h = 0x811c9dc5): number {
  for (const b of Buffer.from(s, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * controller.ComputeHash: FNV-32a of the pod template (plus the collision count), printed
 * in decimal and mapped through rand.SafeEncodeString: the DaemonSet controller's snapshot
 * names a new ControllerRevision `<ds>-<hash>` and labels it and its pods with the hash.
 * (Hashed over the canonical template JSON, where Go hashes its object dump.)
 */
export function computeHash(template: unknown, collisionCount?: number): string {
  let h = fnv32a(canonicalJson(template ?? {}));
  if (typeof collisionCount === 'number') h = fnv32a(String(collisionCount), h);
  return [...String(h)].map((c) => SAFE_ALPHANUMS[c.charCodeAt(0) % SAFE_ALPHANUMS.length]).join('');
}

export function newControllerRef(ds: KubeObject): OwnerReference {
  return controllerRefFor(ds, 'apps/v1', 'DaemonSet');
}

/** util.CreatePodTemplate + GetPodFromTemplate + the node-name affinity: the pod body to create */
export function newDaemonPod(ds: KubeObject, nodeName: string, hash: string): KubeObject {
  const tpl = ds.spec?.template ?? {};
  const tmeta = tpl.metadata ?? {};
  const labels: Record<string, string> = { ...(tmeta.labels ?? {}) };
  const gen = ds.metadata.annotations?.[TEMPLATE_GENERATION_ANNOTATION];
  if (gen) labels[TEMPLATE_GENERATION_LABEL] = gen;
  labels[REVISION_HASH_LABEL] = hash;
  const spec = clone(tpl.spec ?? {});
  addDaemonTolerations(spec);
  spec.affinity = replaceNodeNameAffinity(spec.affinity, nodeName);
  const metadata: KubeObject['metadata'] = {
    generateName: `${ds.metadata.name}-`,
    namespace: ds.metadata.namespace,
    labels,
    ownerReferences: [newControllerRef(ds)],
  };
  if (tmeta.annotations && Object.keys(tmeta.annotations).length) metadata.annotations = { ...tmeta.annotations };
  if (Array.isArray(tmeta.finalizers) && tmeta.finalizers.length) metadata.finalizers = [...tmeta.finalizers];
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec };
}

/** util.IsPodUpdated (the hash half; the template-generation half needs the deprecated annotation) */
export function isPodUpdated(pod: KubeObject, hash: string, templateGeneration?: string): boolean {
  const labels = pod.metadata.labels ?? {};
  if (hash && labels[REVISION_HASH_LABEL] === hash) return true;
  return !!templateGeneration && labels[TEMPLATE_GENERATION_LABEL] === templateGeneration;
}

/** podByCreationTimestampAndPhase: scheduled first, then oldest, then by name */
export function compareDaemonPods(a: KubeObject, b: KubeObject): number {
  const sa = !!a.spec?.nodeName;
  const sb = !!b.spec?.nodeName;
  if (sa !== sb) return sa ? -1 : 1;
  const ta = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
  const tb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
  if (ta !== tb) return ta - tb;
  return (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');
}

/** intstr.GetScaledValueFromIntOrPercent with rounding up (maxUnavailable/maxSurge) */
export function scaledValue(v: unknown, total: number): number {
  if (typeof v === 'number') return Math.max(0, Math.floor(v));
  if (typeof v === 'string' && /^[0-9]+%$/.test(v)) return Math.ceil((Number(v.slice(0, -1)) * total) / 100);
  if (typeof v === 'string' && /^[0-9]+$/.test(v)) return Number(v);
  return 0;
}
