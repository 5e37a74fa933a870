// Pod facts the workload controllers decide on (controller_utils.go): active, and the pod
// a controller makes from its template (readiness and availability: proto/api/pod.ts).
// Pure functions over API objects.
import type { KubeObject, OwnerReference } from '../../../proto/meta.js';
import type { ObjectMeta, PodTemplateSpec } from '../../../proto/api/types.gen.js';
import { newControllerRef } from '../../../proto/api/owner.js';
import { clone } from '../../../proto/canonical.js';

/** Not finished and not being deleted (controller.IsPodActive). */
export function isPodActive(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata.deletionTimestamp;
}

/** re-exported: metav1.NewControllerRef lives in proto/api/owner.ts */
export { newControllerRef };

/** generateName for a controller's pods: `<name>-`, cut to leave room for the 5-char suffix (63 chars in all). */
export function podsPrefix(controllerName: string): string {
  const prefix = `${controllerName}-`;
  return prefix.length > 58 ? prefix.slice(0, 58) : prefix;
}

/**
 * A pod template as a controller holds it (a workload's spec.template, a revision's copy):
 * an object, its metadata and spec as the schema decoder left them. Anything else is no template.
 */
export function isPodTemplate(v: unknown): v is PodTemplateSpec {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The pod a controller creates from its template (controller.GetPodFromTemplate). */
export function podFromTemplate(template: unknown, controllerName: string, controllerRef: OwnerReference): KubeObject {
  const tpl: PodTemplateSpec = isPodTemplate(template) ? template : {};
  const meta: ObjectMeta = tpl.metadata ?? {};
  const pod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { generateName: podsPrefix(controllerName), ownerReferences: [{ ...controllerRef }] },
    spec: clone(tpl.spec ?? {}),
  };
  if (meta.labels && Object.keys(meta.labels).length) pod.metadata.labels = { ...meta.labels };
  if (meta.annotations && Object.keys(meta.annotations).length) pod.metadata.annotations = { ...meta.annotations };
  if (Array.isArray(meta.finalizers) && meta.finalizers.length) pod.metadata.finalizers = [...meta.finalizers];
  return pod;
}

export function podKey(pod: KubeObject): string {
  return `${pod.metadata.namespace}/${pod.metadata.name}`;
}
