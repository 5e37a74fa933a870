// core/v1 PersistentVolumeClaim: volumeMode Filesystem, phase Pending on create, the
// access-mode/storage-request rules and the immutable spec of a claim.
import type { PersistentVolumeClaimSpec } from '../../proto/api/types.gen.js';
import type { KubeObject, StatusCause } from '../../proto/meta.js';
import { canonicalJson, clone } from '../../proto/canonical.js';
import { compareQuantities, isValidQuantity } from '../../proto/quantity.js';
import { field, forbidden } from '../api/errors.js';
import { ageOf } from './age.js';
import { ageColumn, col, nameColumn } from './columns.js';
import { isDecoded, isRecord, nameIsDNSSubdomain, validateObjectMeta } from './meta-validation.js';
import {
  accessModesString,
  addFinalizer,
  PVC_PROTECTION_FINALIZER,
  storageClassOf,
  validateAccessModes,
} from './persistent-volume-common.js';
import { claimHasClass, defaultClass } from './storage-class.js';
import type { AdmissionContext, ResourceDef } from './types.js';
import { ALL_VERBS } from './verbs.js';

/** ValidatePersistentVolumeClaimSpec (also used for StatefulSet volumeClaimTemplates). */
export function validateClaimSpec(spec: unknown, path: string): StatusCause[] {
  if (!isDecoded<PersistentVolumeClaimSpec>(spec)) return [field.required(path)];
  const out = validateAccessModes(spec.accessModes, `${path}.accessModes`, 'at least 1 access mode is required');
  const storage = spec.resources?.requests?.storage;
  const sp = `${path}.resources[storage]`;
  if (storage === undefined || storage === null) out.push(field.required(sp));
  else if (!isValidQuantity(storage))
    out.push(
      field.invalid(
        sp,
        storage,
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
      ),
    );
  else if (compareQuantities(storage, 0) <= 0)
    out.push(field.invalid(sp, String(storage), 'must be greater than zero'));
  if (spec.volumeMode && !['Block', 'Filesystem'].includes(spec.volumeMode))
    out.push(field.notSupported(`${path}.volumeMode`, spec.volumeMode, ['Block', 'Filesystem']));
  return out;
}

export function defaultClaim(obj: KubeObject): void {
  if (!isRecord(obj.spec)) obj.spec = {};
  if (!obj.spec.volumeMode) obj.spec.volumeMode = 'Filesystem';
  if (!isRecord(obj.status)) obj.status = {};
  if (!obj.status.phase) obj.status.phase = 'Pending';
}

function validateClaimUpdate(obj: KubeObject, old: KubeObject): StatusCause[] {
  // Only a bound claim's storage request may change (grow), and volumeName may be set once (binding).
  const n = clone(obj.spec ?? {});
  const o = clone(old.spec ?? {});
  const out: StatusCause[] = [];
  if (old.status?.phase === 'Bound') {
    for (const s of [n, o]) if (isRecord(s.resources)) delete s.resources.requests;
    const was = old.spec?.resources?.requests?.storage;
    const now = obj.spec?.resources?.requests?.storage;
    if (isValidQuantity(was) && isValidQuantity(now) && compareQuantities(now, was) < 0) {
      out.push(field.forbidden('spec.resources.requests.storage', 'field can not be less than previous value'));
    }
  }
  if (!o.volumeName) delete n.volumeName;
  // RetroactiveDefaultStorageClass: a claim that named no class may be given one (once)
  const oldBeta = old.metadata?.annotations?.['volume.beta.kubernetes.io/storage-class'];
  if (
    (o.storageClassName === undefined || o.storageClassName === null) &&
    !oldBeta &&
    typeof n.storageClassName === 'string' &&
    n.storageClassName !== ''
  ) {
    delete n.storageClassName;
  }
  delete n.volumeAttributesClassName;
  delete o.volumeAttributesClassName;
  if (canonicalJson(n) === canonicalJson(o)) return out;
  return [
    ...out,
    field.forbidden(
      'spec',
      'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
    ),
  ];
}

/** plugin/pkg/admission/storage/persistentvolume/resize: growing needs a bound claim of a class that allows expansion. */
async function admitResize(obj: KubeObject, old: KubeObject, ctx: AdmissionContext): Promise<void> {
  const was = old.spec?.resources?.requests?.storage;
  const now = obj.spec?.resources?.requests?.storage;
  if (!isValidQuantity(was) || !isValidQuantity(now) || compareQuantities(now, was) <= 0) return;
  const name = obj.metadata.name ?? '';
  const refuse = (why: string) =>
    forbidden(`persistentvolumeclaims "${name}" is forbidden: ${why}`, 'persistentvolumeclaims', name);
  if (old.status?.phase !== 'Bound') throw refuse('Only bound persistent volume claims can be resized');
  const cls = storageClassOf(obj);
  const sc =
    cls && cls === storageClassOf(old)
      ? (await ctx.list('storage.k8s.io', 'v1', 'storageclasses')).find((c) => c.metadata.name === cls)
      : undefined;
  if (!sc || sc.allowVolumeExpansion !== true) {
    throw refuse(
      'only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize',
    );
  }
}

export const persistentVolumeClaim: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'PersistentVolumeClaim',
  resource: 'persistentvolumeclaims',
  singular: 'persistentvolumeclaim',
  namespaced: true,
  shortNames: ['pvc'],
  categories: [],
  verbs: ALL_VERBS,
  subresources: ['status'],
  hasStatusSubresource: true,
  hasGeneration: false,
  schema: 'PersistentVolumeClaim',

  defaults: defaultClaim,

  prepareForCreate(obj) {
    obj.status = { phase: 'Pending' };
    defaultClaim(obj);
    addFinalizer(obj, PVC_PROTECTION_FINALIZER);
  },

  admitUpdate: admitResize,

  /** DefaultStorageClass admission: a claim that names no class gets the default one's name. */
  async admit(obj, ctx) {
    if (claimHasClass(obj)) return;
    const def = defaultClass(await ctx.list('storage.k8s.io', 'v1', 'storageclasses'));
    if (def) obj.spec.storageClassName = def.metadata.name;
  },

  validate(obj, old) {
    const out = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
    out.push(...validateClaimSpec(obj.spec, 'spec'));
    if (old) out.push(...validateClaimUpdate(obj, old));
    return out;
  },

  columns: [
    nameColumn(),
    col('Status', 'string', 'phase represents the current phase of PersistentVolumeClaim.'),
    col('Volume', 'string', 'volumeName is the binding reference to the PersistentVolume backing this claim.'),
    col('Capacity', 'string', 'capacity represents the actual resources of the underlying volume.'),
    col('Access Modes', 'string', 'accessModes contains the actual access modes the volume backing the PVC has.'),
    col('StorageClass', 'string', 'StorageClass of the pvc'),
    col('VolumeAttributesClass', 'string', 'VolumeAttributesClass of the pvc'),
    ageColumn(),
    col('VolumeMode', 'string', 'volumeMode defines what type of volume is required by the claim.', 1),
  ],

  row(obj, now) {
    const spec = obj.spec ?? {};
    const phase = obj.metadata?.deletionTimestamp ? 'Terminating' : (obj.status?.phase ?? '');
    const bound = !!spec.volumeName;
    return [
      obj.metadata?.name ?? '',
      phase,
      spec.volumeName ?? '',
      bound ? String(obj.status?.capacity?.storage ?? '0') : '',
      bound ? accessModesString(obj.status?.accessModes) : '',
      storageClassOf(obj),
      spec.volumeAttributesClassName ?? '<unset>',
      ageOf(obj, now),
      spec.volumeMode ?? '<unset>',
    ];
  },
};
