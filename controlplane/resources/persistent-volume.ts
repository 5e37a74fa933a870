// core/v1 PersistentVolume: reclaim policy Retain, volumeMode Filesystem, phase Pending,
// capacity/access-mode/source validation and the `kubectl get pv` row.
import type { StatusCause } from '../../proto/meta.js';
import type { PersistentVolumeSpec } from '../../proto/api/types.gen.js';
import { isValidQuantity } from '../../proto/quantity.js';
import { field } from '../api/errors.js';
import { ageOf } from './age.js';
import { ageColumn, col, nameColumn } from './columns.js';
import { FIELD_IMMUTABLE_ERROR_MSG, isRecord, nameIsDNSSubdomain, validateObjectMeta } from './meta-validation.js';
import { canonicalJson } from '../../proto/canonical.js';
import {
  accessModesString,
  addFinalizer,
  PV_PROTECTION_FINALIZER,
  storageClassOf,
  validateAccessModes,
} from './persistent-volume-common.js';
import type { ResourceDef } from './types.js';
import { ALL_VERBS } from './verbs.js';

// PersistentVolumeSpec keys that are not volume sources.
const NON_SOURCE = new Set([
  'accessModes',
  'capacity',
  'claimRef',
  'mountOptions',
  'nodeAffinity',
  'persistentVolumeReclaimPolicy',
  'storageClassName',
  'volumeAttributesClassName',
  'volumeMode',
]);

/** a PersistentVolume spec as the schema decoder leaves it: an object, its fields of their JSON types (required ones may be missing) */
const isPVSpec = (v: unknown): v is Partial<PersistentVolumeSpec> => isRecord(v);

function validatePVSpec(spec: unknown): StatusCause[] {
  if (!isPVSpec(spec)) return [field.required('spec')];
  const out = validateAccessModes(spec.accessModes, 'spec.accessModes', '');
  const storage = spec.capacity?.storage;
  if (!isRecord(spec.capacity) || storage === undefined) out.push(field.required('spec.capacity'));
  else if (!isValidQuantity(storage))
    out.push(
      field.invalid(
        'spec.capacity[storage]',
        storage,
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
      ),
    );
  const policy = spec.persistentVolumeReclaimPolicy;
  if (policy && !['Delete', 'Recycle', 'Retain'].includes(policy))
    out.push(field.notSupported('spec.persistentVolumeReclaimPolicy', policy, ['Delete', 'Recycle', 'Retain']));
  const sources = Object.entries(spec)
    .filter(([k, v]: [string, unknown]) => !NON_SOURCE.has(k) && v !== null && v !== undefined)
    .map(([k]) => k);
  if (sources.length === 0) out.push(field.required('spec', 'must specify a volume type'));
  for (const extra of sources.slice(1))
    out.push(field.forbidden(`spec.${extra}`, 'may not specify more than 1 volume type'));
  if (sources[0] === 'hostPath') {
    if (!spec.hostPath?.path) out.push(field.required('spec.hostPath.path'));
    else out.push(...noBacksteps(spec.hostPath.path, 'spec.hostPath.path'));
  }
  if (sources[0] === 'local') {
    if (!spec.local?.path) out.push(field.required('spec.local.path'));
    else out.push(...noBacksteps(spec.local.path, 'spec.local.path'));
    if (!spec.nodeAffinity?.required)
      out.push(field.required('spec.nodeAffinity', 'Local volume requires node affinity'));
  }
  return out;
}

/** validatePathNoBacksteps */
function noBacksteps(path: unknown, fieldPath: string): StatusCause[] {
  if (typeof path !== 'string') return [field.invalid(fieldPath, path, 'must be a string')];
  return path.split('/').includes('..') ? [field.invalid(fieldPath, path, "must not contain '..'")] : [];
}

/** ValidatePersistentVolumeUpdate: the volume source, volume mode and a set node affinity are fixed. */
function validatePVUpdate(specIn: unknown, oldIn: unknown): StatusCause[] {
  const out: StatusCause[] = [];
  const spec: Record<string, unknown> = isRecord(specIn) ? specIn : {};
  const old: Record<string, unknown> = isRecord(oldIn) ? oldIn : {};
  const source = (x: Record<string, unknown>) => {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) if (!NON_SOURCE.has(k)) o[k] = v;
    return canonicalJson(o);
  };
  if (source(spec) !== source(old))
    out.push(field.forbidden('spec.persistentvolumesource', 'spec.persistentvolumesource is immutable after creation'));
  if ((spec.volumeMode ?? '') !== (old.volumeMode ?? ''))
    out.push(field.invalid('volumeMode', spec.volumeMode, FIELD_IMMUTABLE_ERROR_MSG));
  if (old.nodeAffinity && canonicalJson(spec.nodeAffinity ?? null) !== canonicalJson(old.nodeAffinity))
    out.push(field.invalid('nodeAffinity', spec.nodeAffinity ?? null, FIELD_IMMUTABLE_ERROR_MSG));
  return out;
}

export const persistentVolume: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'PersistentVolume',
  resource: 'persistentvolumes',
  singular: 'persistentvolume',
  namespaced: false,
  shortNames: ['pv'],
  categories: [],
  verbs: ALL_VERBS,
  subresources: ['status'],
  hasStatusSubresource: true,
  hasGeneration: false,
  schema: 'PersistentVolume',

  defaults(obj) {
    if (!isRecord(obj.spec)) obj.spec = {};
    if (!obj.spec.persistentVolumeReclaimPolicy) obj.spec.persistentVolumeReclaimPolicy = 'Retain';
    if (!obj.spec.volumeMode) obj.spec.volumeMode = 'Filesystem';
    if (isRecord(obj.spec.hostPath) && obj.spec.hostPath.type === undefined) obj.spec.hostPath.type = '';
    if (!isRecord(obj.status)) obj.status = {};
    if (!obj.status.phase) obj.status.phase = 'Pending';
  },

  prepareForCreate(obj) {
    obj.status = { phase: 'Pending' };
    persistentVolume.defaults!(obj);
    addFinalizer(obj, PV_PROTECTION_FINALIZER);
  },

  validate(obj, old) {
    const out = [
      ...validateObjectMeta(obj, { namespaced: false, nameFn: nameIsDNSSubdomain }),
      ...validatePVSpec(obj.spec),
    ];
    if (old) out.push(...validatePVUpdate(obj.spec, old.spec));
    return out;
  },

  columns: [
    nameColumn(),
    col('Capacity', 'string', "capacity is the description of the persistent volume's resources and capacity."),
    col('Access Modes', 'string', 'accessModes contains all ways the volume can be mounted.'),
    col(
      'Reclaim Policy',
      'string',
      'persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.',
    ),
    col('Status', 'string', 'phase indicates if a volume is available, bound to a claim, or released by a claim.'),
    col(
      'Claim',
      'string',
      'claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.',
    ),
    col('StorageClass', 'string', 'StorageClass of the pv'),
    col('VolumeAttributesClass', 'string', 'VolumeAttributesClass of the pv'),
    col(
      'Reason',
      'string',
      'reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.',
    ),
    ageColumn(),
    col(
      'VolumeMode',
      'string',
      'volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.',
      1,
    ),
  ],

  row(obj, now) {
    const spec = obj.spec ?? {};
    const claim = isRecord(spec.claimRef) ? `${spec.claimRef.namespace ?? ''}/${spec.claimRef.name ?? ''}` : '';
    return [
      obj.metadata?.name ?? '',
      String(spec.capacity?.storage ?? '0'),
      accessModesString(spec.accessModes),
      spec.persistentVolumeReclaimPolicy ?? '',
      obj.metadata?.deletionTimestamp ? 'Terminating' : (obj.status?.phase ?? ''),
      claim,
      storageClassOf(obj),
      spec.volumeAttributesClassName ?? '<unset>',
      obj.status?.reason ?? '',
      ageOf(obj, now),
      spec.volumeMode ?? '<unset>',
    ];
  },
};
