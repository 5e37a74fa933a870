// Pod facts the workload controllers decide on (k8s pkg/api/v1/pod, controller_utils.go):
// active, ready, available after minReadySeconds, and the pod a controller makes from its
// template. Pure functions over API objects.
import type { KubeObject, OwnerReference } from '../../../proto/meta.js';
import { clone } from '../../../proto/canonical.js';

/** Not finished and not being deleted (controller.IsPodActive). */
export function isPodActive(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata.deletionTimestamp;
}

export function podReadyCondition(pod: KubeObject): { status?: string; lastTransitionTime?: string | null } | undefined {
  const conds = pod.status?.conditions;
  if (!Array.isArray(conds)) return undefined;
  return conds.find((c: { type?: string }) => c?.type === 'Ready');
}

export function isPodReady(pod: KubeObject): boolean {
  return podReadyCondition(pod)?.status === 'True';
}

/** Ready since at least minReadySeconds (podutil.IsPodAvailable; the Ready lastTransitionTime is the clock). */
export function isPodAvailable(pod: KubeObject, minReadySeconds: number, now: Date): boolean {
  if (!isPodReady(pod)) return false;
  if (!minReadySeconds) return true;
  const ltt = podReadyCondition(pod)?.lastTransitionTime;
  if (!ltt) return false;
  const t = Date.parse(ltt);
  return !Number.isNaN(t) && t + minReadySeconds * 1000 < now.getTime();
}

/** The Ready condition's lastTransitionTime of a ready pod, in ms (undefined when unknown). */
export function podReadyTime(pod: KubeObject): number | undefined {
  if (!isPodReady(pod)) return undefined;
  const ltt = podReadyCondition(pod)?.lastTransitionTime;
  const t = ltt ? Date.parse(ltt) : NaN;
  return Number.isNaN(t) ? undefined : t;
}

/** The owner reference with controller: true (metav1.GetControllerOf). */
export function controllerRefOf(o: KubeObject): OwnerReference | undefined {
  return o.metadata.ownerReferences?.find((r) => r.controller === true);
}

export function newControllerRef(owner: KubeObject, apiVersion: string, kind: string): OwnerReference {
  return { apiVersion, kind, name: owner.metadata.name!, uid: owner.metadata.uid!, controller: true, blockOwnerDeletion: true };
}

/** generateName for a controller's pods: `<name>-`, cut to leave room for the 5-char suffix (63 chars in all). */
export function podsPrefix(controllerName: string): string {
  const prefix = `${controllerName}-`;
  return prefix.length > 58 ? prefix.slice(0, 58) : prefix;
}

/** The pod a controller creates from its template (controller.GetPodFromTemplate). */
export function podFromTemplate(template: any, controllerName: string, controllerRef: OwnerReference): KubeObject {
  const meta = template?.metadata ?? {};
  const pod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { generateName: podsPrefix(controllerName), ownerReferences: [{ ...controllerRef }] },
    spec: clone(template?.spec ?? {}),
  };
  if (meta.labels && Object.keys(meta.labels).length) pod.metadata.labels = { ...meta.labels };
  if (meta.annotations && Object.keys(meta.annotations).length) pod.metadata.annotations = { ...meta.annotations };
  if (Array.isArray(meta.finalizers) && meta.finalizers.length) pod.metadata.finalizers = [...meta.finalizers];
  return pod;
}

export function podKey(pod: KubeObject): string {
  return `${pod.metadata.namespace}/${pod.metadata.name}`;
}
