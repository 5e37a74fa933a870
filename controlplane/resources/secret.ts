// core/v1 Secret: type Opaque by default, `stringData` folded into base64 `data` (as the
// v1 conversion does), key/size/type-specific validation, immutable type and data.
import type { KubeObject, StatusCause } from '../../proto/meta.js';
import { setOwn } from '../../proto/canonical.js';
import { field } from '../api/errors.js';
import { ageOf } from './age.js';
import { ageColumn, col, nameColumn } from './columns.js';
import { MAX_SECRET_SIZE, validateImmutableData } from './config-map.js';
import { immutable, isConfigMapKey, isRecord, nameIsDNSSubdomain, validateObjectMeta } from './meta-validation.js';
import type { ResourceDef } from './types.js';
import { ALL_VERBS } from './verbs.js';

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function defaultSecret(obj: KubeObject): void {
  if (!obj.type) obj.type = 'Opaque';
  if (isRecord(obj.stringData)) {
    const data: Record<string, unknown> = isRecord(obj.data) ? obj.data : {};
    for (const [k, v] of Object.entries(obj.stringData))
      setOwn(data, k, Buffer.from(String(v ?? ''), 'utf8').toString('base64'));
    obj.data = data;
  }
  delete obj.stringData;
}

function decodedLength(v: unknown): number {
  return Buffer.from(String(v ?? ''), 'base64').length;
}

function validateSecretData(obj: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  const data: Record<string, unknown> = isRecord(obj.data) ? obj.data : {};
  let total = 0;
  for (const key of Object.keys(data).sort()) {
    for (const m of isConfigMapKey(key)) out.push(field.invalid(`data[${key}]`, key, m));
    // kube-apiserver rejects this while decoding JSON; here it surfaces as a field error.
    if (typeof data[key] !== 'string' || !BASE64_RE.test(data[key] as string)) {
      out.push(field.invalid(`data[${key}]`, '<secret contents redacted>', 'illegal base64 data'));
    }
    total += decodedLength(data[key]);
  }
  if (total > MAX_SECRET_SIZE) out.push(field.tooLong('data', '', MAX_SECRET_SIZE));
  const has = (k: string): boolean => Object.hasOwn(data, k);
  const need = (k: string): void => {
    if (!has(k)) out.push(field.required(`data[${k}]`));
  };
  // ValidateSecret: registry credentials must be a JSON object; the value is never echoed
  // (upstream's "<secret contents redacted>", and no parser message, which quotes the input)
  const wellFormedJson = (k: string): void => {
    const v = data[k];
    if (typeof v !== 'string') return;
    const problem = jsonObjectProblem(Buffer.from(v, 'base64').toString('utf8'));
    if (problem) out.push(field.invalid(`data[${k}]`, '<secret contents redacted>', problem));
  };
  switch (obj.type) {
    case 'kubernetes.io/service-account-token':
      if (!obj.metadata?.annotations?.['kubernetes.io/service-account.name'])
        out.push(field.required('metadata.annotations[kubernetes.io/service-account.name]'));
      break;
    case 'kubernetes.io/dockercfg':
      need('.dockercfg');
      wellFormedJson('.dockercfg');
      break;
    case 'kubernetes.io/dockerconfigjson':
      need('.dockerconfigjson');
      wellFormedJson('.dockerconfigjson');
      break;
    case 'kubernetes.io/basic-auth':
      if (!has('username') && !has('password')) {
        need('username');
        need('password');
      }
      break;
    case 'kubernetes.io/ssh-auth':
      if (!decodedLength(data['ssh-privatekey'])) out.push(field.required('data[ssh-privatekey]'));
      break;
    case 'kubernetes.io/tls':
      need('tls.crt');
      need('tls.key');
      break;
  }
  return out;
}

export const secret: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Secret',
  resource: 'secrets',
  singular: 'secret',
  namespaced: true,
  shortNames: [],
  categories: [],
  verbs: ALL_VERBS,
  subresources: [],
  hasStatusSubresource: false,
  hasGeneration: false,
  schema: 'Secret',

  defaults: defaultSecret,

  validate(obj, old) {
    const out = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
    out.push(...validateSecretData(obj));
    if (old) {
      if ((obj.type ?? '') !== (old.type ?? '')) out.push(immutable('type', JSON.stringify(obj.type ?? '')));
      out.push(...validateImmutableData(obj, old, ['data']));
    }
    return out;
  },

  columns: [
    nameColumn(),
    col('Type', 'string', 'Used to facilitate programmatic handling of secret data.'),
    col('Data', 'string', 'Data contains the secret data.'),
    ageColumn(),
  ],
  row: (obj, now) => [
    obj.metadata?.name ?? '',
    obj.type ?? '',
    Object.keys(isRecord(obj.data) ? obj.data : {}).length,
    ageOf(obj, now),
  ],

  fields: {
    type: (o) => String(o.type ?? ''),
  },
};

/** why `raw` is not a JSON object, in encoding/json's words where they name no input; undefined when it is one */
function jsonObjectProblem(raw: string): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch {
    return raw.trim() === '' ? 'unexpected end of JSON input' : 'invalid JSON';
  }
  if (doc !== null && typeof doc === 'object' && !Array.isArray(doc)) return undefined;
  const kind = Array.isArray(doc) ? 'array' : doc === null ? undefined : typeof doc === 'boolean' ? 'bool' : typeof doc;
  return kind === undefined
    ? undefined
    : `json: cannot unmarshal ${kind} into Go value of type map[string]interface {}`;
}
