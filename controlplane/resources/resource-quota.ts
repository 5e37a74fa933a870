// core/v1 ResourceQuota: validation as pkg/apis/core/validation does it (quota resource
// names, non-negative and integer quantities, scopes and scopeSelector), status owned by
// the /status subresource (admission and the quota controller write it), and the
// printers' table (NAME AGE REQUEST LIMIT with `used/hard` pairs).
import type { KubeObject, StatusCause } from '../../proto/meta.js';
import type {
  ResourceQuotaSpec,
  ResourceQuotaStatus,
  ScopedResourceSelectorRequirement,
} from '../../proto/api/types.gen.js';
import { canonicalJson } from '../../proto/canonical.js';
import { isValidQuantity } from '../../proto/quantity.js';
import { field } from '../api/errors.js';
import { canonical, nanosOf } from '../quota/resource-list.js';
import { ageOf } from './age.js';
import { ageColumn, col, nameColumn } from './columns.js';
import {
  isDecoded,
  isJsonObject,
  isQualifiedName,
  isRecord,
  nameIsDNSSubdomain,
  validateObjectMeta,
  type Decoded,
} from './meta-validation.js';
import type { ResourceDef } from './types.js';
import { ALL_VERBS } from './verbs.js';

const STANDARD_RESOURCES = new Set([
  'cpu',
  'memory',
  'ephemeral-storage',
  'requests.cpu',
  'requests.memory',
  'requests.ephemeral-storage',
  'limits.cpu',
  'limits.memory',
  'limits.ephemeral-storage',
  'pods',
  'resourcequotas',
  'services',
  'replicationcontrollers',
  'secrets',
  'configmaps',
  'persistentvolumeclaims',
  'storage',
  'requests.storage',
  'services.nodeports',
  'services.loadbalancers',
]);
const STANDARD_QUOTA_RESOURCES = new Set([
  'cpu',
  'memory',
  'ephemeral-storage',
  'requests.cpu',
  'requests.memory',
  'requests.storage',
  'requests.ephemeral-storage',
  'limits.cpu',
  'limits.memory',
  'limits.ephemeral-storage',
  'pods',
  'resourcequotas',
  'services',
  'replicationcontrollers',
  'secrets',
  'persistentvolumeclaims',
  'configmaps',
  'services.nodeports',
  'services.loadbalancers',
]);
const INTEGER_RESOURCES = new Set([
  'pods',
  'resourcequotas',
  'services',
  'replicationcontrollers',
  'secrets',
  'configmaps',
  'persistentvolumeclaims',
  'services.nodeports',
  'services.loadbalancers',
]);
const STANDARD_SCOPES = new Set([
  'Terminating',
  'NotTerminating',
  'BestEffort',
  'NotBestEffort',
  'PriorityClass',
  'CrossNamespacePodAffinity',
  'VolumeAttributesClass',
]);
const POD_COMPUTE = new Set(['cpu', 'memory', 'limits.cpu', 'limits.memory', 'requests.cpu', 'requests.memory']);

const isHugePages = (n: string): boolean =>
  n.startsWith('hugepages-') || n.startsWith('requests.hugepages-') || n.startsWith('limits.hugepages-');
const isStandardQuotaName = (n: string): boolean => STANDARD_QUOTA_RESOURCES.has(n) || isHugePages(n);

/** helper.IsResourceQuotaScopeValidForResource */
function scopeValidFor(scope: string, resource: string): boolean {
  switch (scope) {
    case 'Terminating':
    case 'NotTerminating':
    case 'NotBestEffort':
    case 'PriorityClass':
    case 'CrossNamespacePodAffinity':
      return resource === 'pods' || POD_COMPUTE.has(resource);
    case 'BestEffort':
      return resource === 'pods';
    case 'VolumeAttributesClass':
      return resource === 'persistentvolumeclaims' || resource === 'requests.storage';
    default:
      return true;
  }
}

/** ValidateResourceQuotaResourceName */
export function validateQuotaResourceName(name: string, path: string): StatusCause[] {
  const out = isQualifiedName(name).map((m) => field.invalid(path, name, m));
  if (out.length) return out;
  if (!name.includes('/')) {
    if (!STANDARD_RESOURCES.has(name) && !isHugePages(name))
      out.push(field.invalid(path, name, 'must be a standard resource type or fully qualified'));
    if (!isStandardQuotaName(name)) out.push(field.invalid(path, name, 'must be a standard resource for quota'));
  }
  return out;
}

/** ValidateResourceQuantityValue */
function validateQuantityValue(name: string, q: unknown, path: string): StatusCause[] {
  if (!isValidQuantity(q))
    return [
      field.invalid(
        path,
        q,
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
      ),
    ];
  if (nanosOf(q) < 0n) return [field.invalid(path, canonical(q), 'must be greater than or equal to 0')];
  if (INTEGER_RESOURCES.has(name) && nanosOf(q) % 1_000_000_000n !== 0n)
    return [field.invalid(path, canonical(q), 'must be an integer')];
  return [];
}

function validateList(list: unknown, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  for (const [k, v] of Object.entries(isRecord(list) ? list : {})) {
    out.push(...validateQuotaResourceName(k, `${path}[${k}]`), ...validateQuantityValue(k, v, `${path}[${k}]`));
  }
  return out;
}

function validateScopes(spec: Decoded<ResourceQuotaSpec>): StatusCause[] {
  const scopes: unknown[] = Array.isArray(spec.scopes) ? spec.scopes : [];
  if (scopes.length === 0) return [];
  const hard = Object.keys(isJsonObject(spec.hard) ? spec.hard : {}).sort();
  const out: StatusCause[] = [];
  for (const s of scopes) {
    if (!STANDARD_SCOPES.has(String(s))) out.push(field.invalid('spec.scopes', scopes, 'unsupported scope'));
    for (const k of hard)
      if (isStandardQuotaName(k) && !scopeValidFor(String(s), k))
        out.push(field.invalid('spec.scopes', scopes, 'unsupported scope applied to resource'));
  }
  const set = new Set(scopes.map(String));
  for (const [a, b] of [
    ['BestEffort', 'NotBestEffort'],
    ['Terminating', 'NotTerminating'],
  ]) {
    if (set.has(a!) && set.has(b!)) out.push(field.invalid('spec.scopes', scopes, 'conflicting scopes'));
  }
  return out;
}

const EXISTS_ONLY =
  "must be 'Exist' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity";

function validateScopeSelector(spec: Decoded<ResourceQuotaSpec>): StatusCause[] {
  if (!isJsonObject(spec.scopeSelector)) return [];
  const path = 'spec.scopeSelector.matchExpressions';
  const hard = Object.keys(isJsonObject(spec.hard) ? spec.hard : {}).sort();
  const out: StatusCause[] = [];
  const set = new Set<string>();
  const exprs: unknown[] = Array.isArray(spec.scopeSelector.matchExpressions)
    ? spec.scopeSelector.matchExpressions
    : [];
  for (const e of exprs) {
    const r: Decoded<ScopedResourceSelectorRequirement> = isDecoded<ScopedResourceSelectorRequirement>(e) ? e : {};
    const scope = String(r.scopeName ?? '');
    if (!STANDARD_SCOPES.has(scope)) out.push(field.invalid(`${path}.scopeName`, scope, 'unsupported scope'));
    for (const k of hard)
      if (isStandardQuotaName(k) && !scopeValidFor(scope, k))
        out.push(field.invalid(path, spec.scopeSelector, 'unsupported scope applied to resource'));
    if (
      ['BestEffort', 'NotBestEffort', 'Terminating', 'NotTerminating', 'CrossNamespacePodAffinity'].includes(scope) &&
      r.operator !== 'Exists'
    ) {
      out.push(field.invalid(`${path}.operator`, r.operator ?? '', EXISTS_ONLY));
    }
    const values: unknown[] = Array.isArray(r.values) ? r.values : [];
    if (r.operator === 'In' || r.operator === 'NotIn') {
      if (values.length === 0)
        out.push(
          field.required(
            `${path}.values`,
            "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector",
          ),
        );
    } else if (r.operator === 'Exists' || r.operator === 'DoesNotExist') {
      if (values.length !== 0)
        out.push(
          field.invalid(
            `${path}.values`,
            values,
            "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector",
          ),
        );
    } else {
      out.push(field.invalid(`${path}.operator`, r.operator ?? '', 'not a valid selector operator'));
    }
    set.add(scope);
  }
  for (const [a, b] of [
    ['BestEffort', 'NotBestEffort'],
    ['Terminating', 'NotTerminating'],
  ]) {
    if (set.has(a!) && set.has(b!)) out.push(field.invalid(path, spec.scopeSelector, 'conflicting scopes'));
  }
  return out;
}

/** quantities as the API server stores them (resource.Quantity's canonical form) */
function canonicalList(list: unknown): void {
  if (!isRecord(list)) return;
  for (const [k, v] of Object.entries(list)) if (isValidQuantity(v)) list[k] = canonical(v);
}

/** printResourceQuota: `res: used/hard` pairs sorted by name, limits.* in the Limit column */
export function quotaColumns(obj: KubeObject): [string, string] {
  const status: Decoded<ResourceQuotaStatus> = isDecoded<ResourceQuotaStatus>(obj.status) ? obj.status : {};
  const hard: Record<string, unknown> = isJsonObject(status.hard) ? status.hard : {};
  const used: Record<string, unknown> = isJsonObject(status.used) ? status.used : {};
  const request: string[] = [];
  const limit: string[] = [];
  for (const r of Object.keys(hard).sort()) {
    const cell = `${r}: ${r in used ? canonical(used[r]) : '0'}/${canonical(hard[r])}`;
    const pieces = r.split('.');
    (pieces.length > 1 && pieces[0] === 'limits' ? limit : request).push(cell);
  }
  return [request.join(', '), limit.join(', ')];
}

export const resourceQuota: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'ResourceQuota',
  resource: 'resourcequotas',
  singular: 'resourcequota',
  namespaced: true,
  shortNames: ['quota'],
  categories: [],
  verbs: ALL_VERBS,
  subresources: ['status'],
  hasStatusSubresource: true,
  hasGeneration: false,
  schema: 'ResourceQuota',

  defaults(obj) {
    if (isRecord(obj.spec)) canonicalList(obj.spec.hard);
    if (isRecord(obj.status)) {
      canonicalList(obj.status.hard);
      canonicalList(obj.status.used);
    }
  },

  prepareForCreate(obj) {
    obj.status = {};
  },

  validate(obj, old) {
    const out = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
    const spec: Decoded<ResourceQuotaSpec> = isDecoded<ResourceQuotaSpec>(obj.spec) ? obj.spec : {};
    out.push(...validateList(spec.hard, 'spec.hard'), ...validateScopes(spec), ...validateScopeSelector(spec));
    if (isRecord(obj.status))
      out.push(...validateList(obj.status.hard, 'status.hard'), ...validateList(obj.status.used, 'status.used'));
    if (old && canonicalJson(spec.scopes ?? null) !== canonicalJson(old.spec?.scopes ?? null)) {
      out.push(field.invalid('spec.scopes', spec.scopes ?? null, 'field is immutable'));
    }
    return out;
  },

  validateStatus(obj) {
    const out = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
    const status: Decoded<ResourceQuotaStatus> = isDecoded<ResourceQuotaStatus>(obj.status) ? obj.status : {};
    out.push(...validateList(status.hard, 'status.hard'), ...validateList(status.used, 'status.used'));
    return out;
  },

  columns: [
    nameColumn(),
    ageColumn(),
    col('Request', 'string', 'Request represents a minimum amount of cpu/memory that a container may consume.'),
    col(
      'Limit',
      'string',
      'Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.',
    ),
  ],
  row: (obj, now) => [obj.metadata?.name ?? '', ageOf(obj, now), ...quotaColumns(obj)],
};
