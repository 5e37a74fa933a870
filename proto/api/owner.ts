// Owner references: which object controls this one (metav1.GetControllerOf) and the reference
// a controller sets on what it creates (metav1.NewControllerRef), for the
// workload controllers' adoption, the garbage collector's view and the DaemonSet,
// ReplicaSet, Job and StatefulSet controllers alike.
import type { OwnerReference } from './object.js';

/** metav1.GetControllerOf: the owner reference with controller: true */
export function controllerRefOf(o: { metadata: { ownerReferences?: OwnerReference[] } }): OwnerReference | undefined {
  return (o.metadata.ownerReferences ?? []).find((r) => r?.controller === true);
}

/** metav1.NewControllerRef: the reference a controller puts on what it creates (controller and blockOwnerDeletion true) */
export function newControllerRef(
  owner: { metadata: { name?: string; uid?: string } },
  apiVersion: string,
  kind: string,
): OwnerReference {
  return {
    apiVersion,
    kind,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}
