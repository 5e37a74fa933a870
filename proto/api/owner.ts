// Owner references: which object controls this one (metav1.GetControllerOf), for the
// workload controllers' adoption, the garbage collector's view and the DaemonSet,
// ReplicaSet, Job and StatefulSet controllers alike.
import type { OwnerReference } from './object.js';

/** metav1.GetControllerOf: the owner reference with controller: true */
export function controllerRefOf(o: { metadata: { ownerReferences?: OwnerReference[] } }): OwnerReference | undefined {
  return (o.metadata.ownerReferences ?? []).find((r) => r?.controller === true);
}
