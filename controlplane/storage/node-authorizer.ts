// The node authorizer's graph for storage objects (plugin/pkg/auth/authorizer/node): a
// node may read a PersistentVolumeClaim a pod bound to it uses, and the PersistentVolume
// bound to such a claim — nothing else, whether or not the object exists.
import type { KubeObject } from '../../proto/meta.js';
import type { ApiStorage } from '../api/storage.js';
import { podClaimNames } from '../controllers/pvc-protection-controller.js';
import { findResource } from '../resources/index.js';

export type VolumeObjectKind = 'PersistentVolumeClaim' | 'PersistentVolume';

export function isVolumeObjectKind(kind: string): kind is VolumeObjectKind {
  return kind === 'PersistentVolumeClaim' || kind === 'PersistentVolume';
}

/**
 * Whether `node` may read the claim `namespace/name`, or the volume `name` (`namespace` is
 * ignored for the cluster-scoped PersistentVolume; the agent sends its pod's namespace).
 */
export async function nodeMayReadVolumeObject(
  storage: ApiStorage,
  node: string,
  kind: VolumeObjectKind,
  namespace: string,
  name: string,
): Promise<boolean> {
  const podDef = findResource('', 'v1', 'pods')!;
  const onNode = (p: KubeObject) => p.spec?.nodeName === node;
  if (kind === 'PersistentVolumeClaim') {
    const pods = await storage.list(podDef, namespace, { fieldSelector: `spec.nodeName=${node}` });
    return pods.items.some((p) => onNode(p) && podClaimNames(p).includes(name));
  }
  const pvcDef = findResource('', 'v1', 'persistentvolumeclaims')!;
  const pods = await storage.list(podDef, undefined, { fieldSelector: `spec.nodeName=${node}` });
  const seen = new Set<string>();
  for (const p of pods.items) {
    if (!onNode(p)) continue;
    for (const claimName of podClaimNames(p)) {
      const key = `${p.metadata.namespace}/${claimName}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const claim = await storage.tryGet(pvcDef, p.metadata.namespace, claimName);
      if (claim?.spec?.volumeName === name) return true;
    }
  }
  return false;
}

export function volumeObjectResource(kind: VolumeObjectKind): string {
  return kind === 'PersistentVolumeClaim' ? 'persistentvolumeclaims' : 'persistentvolumes';
}
