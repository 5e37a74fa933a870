// core/v1 ConfigMap: key syntax, the 1 MiB total size and the `immutable` flag.
import type { KubeObject, StatusCause } from '../../proto/meta.js';
import { canonicalJson } from '../../proto/canonical.js';
import { field } from '../api/errors.js';
import { ageOf } from './age.js';
import { ageColumn, col, nameColumn } from './columns.js';
import { isConfigMapKey, isRecord, nameIsDNSSubdomain, validateObjectMeta } from './meta-validation.js';
import type { ResourceDef } from './types.js';
import { ALL_VERBS } from './verbs.js';

export const MAX_SECRET_SIZE = 1024 * 1024; // core.MaxSecretSize, shared by ConfigMaps

const IMMUTABLE_MSG = 'field is immutable when `immutable` is set';

function validateConfigMapData(obj: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  const data: Record<string, unknown> = isRecord(obj.data) ? obj.data : {};
  const binary: Record<string, unknown> = isRecord(obj.binaryData) ? obj.binaryData : {};
  let total = 0;
  for (const key of Object.keys(data).sort()) {
    for (const m of isConfigMapKey(key)) out.push(field.invalid(`data[${key}]`, key, m));
    if (Object.hasOwn(binary, key))
      out.push(field.invalid(`data[${key}]`, key, 'duplicate of key present in binaryData'));
    total += Buffer.byteLength(String(data[key] ?? ''), 'utf8');
  }
  for (const key of Object.keys(binary).sort()) {
    for (const m of isConfigMapKey(key)) out.push(field.invalid(`binaryData[${key}]`, key, m));
    total += Buffer.from(String(binary[key] ?? ''), 'base64').length;
  }
  if (total > MAX_SECRET_SIZE) out.push(field.tooLong('', '', MAX_SECRET_SIZE));
  return out;
}

/** Shared by ConfigMap and Secret: once `immutable: true`, data and the flag are frozen. */
export function validateImmutableData(obj: KubeObject, old: KubeObject, dataFields: string[]): StatusCause[] {
  if (old.immutable !== true) return [];
  const out: StatusCause[] = [];
  if (obj.immutable !== true) out.push(field.forbidden('immutable', IMMUTABLE_MSG));
  for (const f of dataFields) {
    if (canonicalJson(obj[f] ?? {}) !== canonicalJson(old[f] ?? {})) out.push(field.forbidden(f, IMMUTABLE_MSG));
  }
  return out;
}

export const configMap: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  resource: 'configmaps',
  singular: 'configmap',
  namespaced: true,
  shortNames: ['cm'],
  categories: [],
  verbs: ALL_VERBS,
  subresources: [],
  hasStatusSubresource: false,
  hasGeneration: false,
  schema: 'ConfigMap',

  validate(obj, old) {
    const out = old ? validateImmutableData(obj, old, ['data', 'binaryData']) : [];
    out.push(...validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain }));
    out.push(...validateConfigMapData(obj));
    return out;
  },

  columns: [nameColumn(), col('Data', 'string', 'Data contains the configuration data.'), ageColumn()],
  row: (obj, now) => [
    obj.metadata?.name ?? '',
    Object.keys(isRecord(obj.data) ? obj.data : {}).length +
      Object.keys(isRecord(obj.binaryData) ? obj.binaryData : {}).length,
    ageOf(obj, now),
  ],
};
