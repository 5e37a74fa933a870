// storage.k8s.io/v1 StorageClass: defaults (reclaimPolicy Delete, volumeBindingMode
// Immediate), ValidateStorageClass / ValidateStorageClassUpdate, the `kubectl get sc` row
// with " (default)" after the default class's name, and the default-class lookup the
// DefaultStorageClass admission and the PV controller share.
import type { KubeObject, StatusCause } from '../../proto/meta.js';
import { canonicalJson } from '../../proto/canonical.js';
import { field } from '../api/errors.js';
import { ageOf } from './age.js';
import { ageColumn, col, nameColumn } from './columns.js';
import {
  FIELD_IMMUTABLE_ERROR_MSG,
  isRecord,
  isQualifiedName,
  nameIsDNSSubdomain,
  validateObjectMeta,
} from './meta-validation.js';
import type { ResourceDef } from './types.js';
import { LOCAL_PATH_PROVISIONER } from '../storage/volume-host.js';
import { ALL_VERBS } from './verbs.js';

export const IS_DEFAULT_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';
export const BETA_IS_DEFAULT_CLASS_ANNOTATION = 'storageclass.beta.kubernetes.io/is-default-class';

const MAX_PARAMETERS = 512;
const MAX_PARAMETERS_BYTES = 256 * 1024;

/** storageutil.IsDefaultAnnotation */
export function isDefaultClass(sc: KubeObject): boolean {
  const a = sc.metadata?.annotations ?? {};
  return a[IS_DEFAULT_CLASS_ANNOTATION] === 'true' || a[BETA_IS_DEFAULT_CLASS_ANNOTATION] === 'true';
}

/**
 * volumeutil.GetDefaultClass: among the classes marked default, the newest (creation
 * timestamp), ties broken by name ascending; undefined when none is marked.
 */
export function defaultClass(classes: readonly KubeObject[]): KubeObject | undefined {
  const defaults = classes.filter((c) => isDefaultClass(c) && !c.metadata.deletionTimestamp);
  defaults.sort((a, b) => {
    const ta = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
    const tb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
    if (ta !== tb) return tb - ta;
    const na = a.metadata.name ?? '';
    const nb = b.metadata.name ?? '';
    return na < nb ? -1 : na > nb ? 1 : 0;
  });
  return defaults[0];
}

/** helper.PersistentVolumeClaimHasClass: a class was asked for (even ""), so no default applies. */
export function claimHasClass(claim: KubeObject): boolean {
  if (claim.metadata?.annotations?.['volume.beta.kubernetes.io/storage-class'] !== undefined) return true;
  return claim.spec?.storageClassName !== undefined && claim.spec?.storageClassName !== null;
}

function validateStorageClassFields(sc: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  const prov = sc.provisioner;
  if (typeof prov !== 'string' || prov.length === 0) out.push(field.required('provisioner', ''));
  else for (const m of isQualifiedName(prov.toLowerCase())) out.push(field.invalid('provisioner', prov, m));
  const params = sc.parameters;
  if (params !== undefined && params !== null) {
    if (!isRecord(params))
      out.push(field.invalid('parameters', params, 'must be a map of string keys to string values'));
    else {
      const keys = Object.keys(params);
      let bytes = 0;
      for (const k of keys) {
        if (k.length === 0) out.push(field.invalid('parameters', params, 'key must not be empty'));
        bytes += Buffer.byteLength(k) + Buffer.byteLength(String(params[k] ?? ''));
      }
      if (keys.length > MAX_PARAMETERS) out.push(field.tooLong('parameters', params, MAX_PARAMETERS));
      if (bytes > MAX_PARAMETERS_BYTES) out.push(field.tooLong('parameters', params, MAX_PARAMETERS_BYTES));
    }
  }
  // skiff's own provisioner: its one parameter is checked here rather than failing on the node
  if (prov === LOCAL_PATH_PROVISIONER && isRecord(params)) {
    for (const [k, v] of Object.entries(params)) {
      if (k !== 'path') out.push(field.notSupported(`parameters[${k}]`, k, ['path']));
      else if (typeof v !== 'string' || !/^\/[^\0]+$/.test(v) || v.split('/').includes('..')) {
        out.push(field.invalid('parameters[path]', v, "must be an absolute path without '..'"));
      }
    }
  }
  if (sc.reclaimPolicy !== undefined && !['Delete', 'Retain'].includes(sc.reclaimPolicy)) {
    out.push(field.notSupported('reclaimPolicy', sc.reclaimPolicy, ['Delete', 'Retain']));
  }
  if (sc.volumeBindingMode === undefined || sc.volumeBindingMode === null || sc.volumeBindingMode === '') {
    out.push(field.required('volumeBindingMode', ''));
  } else if (!['Immediate', 'WaitForFirstConsumer'].includes(sc.volumeBindingMode)) {
    out.push(field.notSupported('volumeBindingMode', sc.volumeBindingMode, ['Immediate', 'WaitForFirstConsumer']));
  }
  if (sc.mountOptions !== undefined && sc.mountOptions !== null) {
    if (!Array.isArray(sc.mountOptions))
      out.push(field.invalid('mountOptions', sc.mountOptions, 'must be a list of strings'));
  }
  const topo = sc.allowedTopologies;
  if (Array.isArray(topo)) {
    topo.forEach((term: unknown, i: number) => {
      const exprs = isRecord(term) && Array.isArray(term.matchLabelExpressions) ? term.matchLabelExpressions : [];
      if (exprs.length === 0)
        out.push(
          field.required(
            `allowedTopologies[${i}].matchLabelExpressions`,
            'must have at least one label match expression',
          ),
        );
      exprs.forEach((e: unknown, j: number) => {
        const p = `allowedTopologies[${i}].matchLabelExpressions[${j}]`;
        if (!isRecord(e) || typeof e.key !== 'string' || !e.key) out.push(field.required(`${p}.key`));
        if (!isRecord(e) || !Array.isArray(e.values) || e.values.length === 0)
          out.push(field.required(`${p}.values`, 'must specify as least one value to match'));
      });
    });
  }
  return out;
}

/** ValidateStorageClassUpdate: parameters, provisioner, reclaimPolicy and volumeBindingMode are fixed. */
function validateStorageClassUpdate(sc: KubeObject, old: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  if (canonicalJson(sc.parameters ?? {}) !== canonicalJson(old.parameters ?? {}))
    out.push(field.forbidden('parameters', 'updates to parameters are forbidden.'));
  if (sc.provisioner !== old.provisioner)
    out.push(field.forbidden('provisioner', 'updates to provisioner are forbidden.'));
  if (sc.reclaimPolicy !== old.reclaimPolicy)
    out.push(field.forbidden('reclaimPolicy', 'updates to reclaimPolicy are forbidden.'));
  if (sc.volumeBindingMode !== old.volumeBindingMode)
    out.push(field.invalid('volumeBindingMode', sc.volumeBindingMode, FIELD_IMMUTABLE_ERROR_MSG));
  return out;
}

export const storageClass: ResourceDef = {
  group: 'storage.k8s.io',
  version: 'v1',
  kind: 'StorageClass',
  resource: 'storageclasses',
  singular: 'storageclass',
  namespaced: false,
  shortNames: ['sc'],
  categories: [],
  verbs: ALL_VERBS,
  subresources: [],
  hasStatusSubresource: false,
  hasGeneration: false,
  schema: 'StorageClass',

  defaults(obj) {
    if (obj.reclaimPolicy === undefined || obj.reclaimPolicy === null) obj.reclaimPolicy = 'Delete';
    if (obj.volumeBindingMode === undefined || obj.volumeBindingMode === null) obj.volumeBindingMode = 'Immediate';
  },

  validate(obj, old) {
    const out = [
      ...validateObjectMeta(obj, { namespaced: false, nameFn: nameIsDNSSubdomain }),
      ...validateStorageClassFields(obj),
    ];
    if (old) out.push(...validateStorageClassUpdate(obj, old));
    return out;
  },

  columns: [
    nameColumn(),
    col('Provisioner', 'string', 'provisioner indicates the type of the provisioner.'),
    col(
      'ReclaimPolicy',
      'string',
      'reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class. Defaults to Delete.',
    ),
    col(
      'VolumeBindingMode',
      'string',
      'volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.  When unset, VolumeBindingImmediate is used. This field is only honored by servers that enable the VolumeScheduling feature.',
    ),
    col('AllowVolumeExpansion', 'string', 'allowVolumeExpansion shows whether the storage class allow volume expand.'),
    ageColumn(),
  ],

  row(obj, now) {
    let name = obj.metadata?.name ?? '';
    if (isDefaultClass(obj)) name += ' (default)';
    return [
      name,
      obj.provisioner ?? '',
      obj.reclaimPolicy ?? 'Delete',
      obj.volumeBindingMode ?? 'Immediate',
      obj.allowVolumeExpansion === true,
      ageOf(obj, now),
    ];
  },
};
