// Helpers shared by PersistentVolumes and PersistentVolumeClaims: access modes as the
// printers abbreviate them, storage class lookup (beta annotation first), mode checks.
import type { KubeObject, StatusCause } from '../../proto/meta.js';
import { field } from '../api/errors.js';

/** StorageObjectInUseProtection admission adds these on create; the protection controllers remove them. */
export const PVC_PROTECTION_FINALIZER = 'kubernetes.io/pvc-protection';
export const PV_PROTECTION_FINALIZER = 'kubernetes.io/pv-protection';

export function addFinalizer(obj: KubeObject, finalizer: string): void {
  const list: string[] = Array.isArray(obj.metadata.finalizers) ? obj.metadata.finalizers : [];
  if (!list.includes(finalizer)) list.push(finalizer);
  obj.metadata.finalizers = list;
}

export const ACCESS_MODES = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'];

/** helper.GetAccessModesAsString: "RWO,ROX,RWX,RWOP" in that fixed order. */
export function accessModesString(modes: unknown): string {
  const m: unknown[] = Array.isArray(modes) ? modes : [];
  const out: string[] = [];
  if (m.includes('ReadWriteOnce')) out.push('RWO');
  if (m.includes('ReadOnlyMany')) out.push('ROX');
  if (m.includes('ReadWriteMany')) out.push('RWX');
  if (m.includes('ReadWriteOncePod')) out.push('RWOP');
  return out.join(',');
}

export function storageClassOf(obj: KubeObject): string {
  const beta = obj.metadata?.annotations?.['volume.beta.kubernetes.io/storage-class'];
  if (beta !== undefined) return beta;
  return obj.spec?.storageClassName ?? '';
}

export function validateAccessModes(modes: unknown, path: string, requiredDetail: string): StatusCause[] {
  if (!Array.isArray(modes) || modes.length === 0) return [field.required(path, requiredDetail)];
  const out: StatusCause[] = [];
  for (const mode of modes) if (!ACCESS_MODES.includes(mode)) out.push(field.notSupported(path, mode, ACCESS_MODES));
  if (modes.includes('ReadWriteOncePod') && modes.length > 1)
    out.push(field.forbidden(path, 'may not use ReadWriteOncePod with other access modes'));
  return out;
}
