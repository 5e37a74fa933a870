// persistentVolumeClaim volumes: kubelet's desired-state populator resolves claim -> bound
// PV (getPVCExtractPV, getPVSpec) before anything mounts; the agent does the same through
// the server (getObject, which only answers for claims and volumes its pods use). Errors
// carry kubelet's words ("error processing PVC default/data: PVC is not bound"); the pod
// worker reports them as FailedMount and keeps the pod in ContainerCreating meanwhile.
// The PV sources a node can mount itself: `local.path` and `hostPath.path` (a directory
// bind-mounted into the containers).
import { existsSync } from 'node:fs';
import type { KubeObject } from '../../proto/meta.js';
import { VolumeError } from './volumes.js';

export type ClaimKind = 'PersistentVolumeClaim' | 'PersistentVolume';
/** the object, or null when it does not exist; throws when it cannot be read */
export type ClaimGetter = (kind: ClaimKind, namespace: string, name: string) => Promise<KubeObject | null>;

export interface ClaimVolume {
  volume: string;
  claimName: string;
  readOnly: boolean;
}
export interface ResolvedClaim {
  pvName: string;
  path: string;
  source: 'local' | 'hostPath';
  create: boolean;
}

/** the pod's persistentVolumeClaim volumes */
export function claimVolumes(pod: KubeObject): ClaimVolume[] {
  const out: ClaimVolume[] = [];
  for (const v of pod.spec?.volumes ?? []) {
    const c = v?.persistentVolumeClaim;
    if (c && typeof c.claimName === 'string')
      out.push({ volume: v.name, claimName: c.claimName, readOnly: c.readOnly === true });
  }
  return out;
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** claim -> bound PV -> directory, with kubelet's checks and messages; throws VolumeError */
export async function resolveClaim(namespace: string, claimName: string, get: ClaimGetter): Promise<ResolvedClaim> {
  const fail = (why: string) => new VolumeError(`error processing PVC ${namespace}/${claimName}: ${why}`);
  let pvc: KubeObject | null;
  try {
    pvc = await get('PersistentVolumeClaim', namespace, claimName);
  } catch (e) {
    throw fail(`failed to fetch PVC from API server: ${errText(e)}`);
  }
  if (!pvc) throw fail(`failed to fetch PVC from API server: persistentvolumeclaims "${claimName}" not found`);
  if (pvc.metadata.deletionTimestamp) throw fail('PVC is being deleted');
  if (pvc.status?.phase !== 'Bound') throw fail('PVC is not bound');
  const pvName = pvc.spec?.volumeName;
  if (typeof pvName !== 'string' || !pvName) throw fail('PVC has empty pvc.Spec.VolumeName');
  let pv: KubeObject | null;
  try {
    // PVs are cluster-scoped: the claim's namespace tells the server's node authorizer which claim names it
    pv = await get('PersistentVolume', namespace, pvName);
  } catch (e) {
    throw fail(`failed to fetch PV ${pvName} from API server: ${errText(e)}`);
  }
  if (!pv) throw fail(`failed to fetch PV ${pvName} from API server: persistentvolumes "${pvName}" not found`);
  const claimRef = pv.spec?.claimRef;
  if (!claimRef)
    throw fail(
      `found PV object ${pvName} but it has a nil pv.Spec.ClaimRef indicating it is not yet bound to the claim`,
    );
  if (claimRef.uid !== pvc.metadata.uid)
    throw fail(
      `found PV object ${pvName} but its pv.Spec.ClaimRef.UID ${claimRef.uid ?? ''} does not point to claim.UID ${pvc.metadata.uid ?? ''}`,
    );
  if (pv.spec?.volumeMode === 'Block')
    throw fail(`volume ${pvName} has volumeMode Block, but is specified in volumeMounts`);
  if (typeof pv.spec?.local?.path === 'string') {
    const path: string = pv.spec.local.path;
    // kubelet's local plugin: the path must exist on the node (it is never created)
    if (!existsSync(path))
      throw new VolumeError(
        `MountVolume.NewMounter initialization failed for volume "${pvName}" : path "${path}" does not exist`,
      );
    return { pvName, path, source: 'local', create: false };
  }
  if (typeof pv.spec?.hostPath?.path === 'string') {
    const type = pv.spec.hostPath.type ?? '';
    const path: string = pv.spec.hostPath.path;
    if (type === 'Directory' && !existsSync(path))
      throw new VolumeError(
        `MountVolume.SetUp failed for volume "${pvName}" : hostPath type check failed: ${path} is not a directory`,
      );
    return { pvName, path, source: 'hostPath', create: type === 'DirectoryOrCreate' };
  }
  const kind =
    Object.keys(pv.spec ?? {}).find(
      (k) =>
        ![
          'accessModes',
          'capacity',
          'claimRef',
          'persistentVolumeReclaimPolicy',
          'storageClassName',
          'mountOptions',
          'volumeMode',
          'nodeAffinity',
          'volumeAttributesClassName',
        ].includes(k),
    ) ?? 'unknown';
  throw new VolumeError(`PV ${pvName}: ${kind} volumes are not supported by skiff-agent (local and hostPath are)`);
}
