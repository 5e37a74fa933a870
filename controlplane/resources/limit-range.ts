// core/v1 LimitRange: the Container item defaults (default from max, defaultRequest from
// default then min — SetDefaults_LimitRangeItem), ValidateLimitRange's rules and the
// printers' table (NAME, CREATED AT). The LimitRanger admission plugin that applies
// them to pods and claims is controlplane/quota/admission.ts.
import type { StatusCause } from '../../proto/meta.js';
import type { LimitRangeItem } from '../../proto/api/types.gen.js';
import { isValidQuantity } from '../../proto/quantity.js';
import { field } from '../api/errors.js';
import { canonical, nanosOf } from '../quota/resource-list.js';
import { AGE_DESCRIPTION, col, nameColumn } from './columns.js';
import {
  isDecoded,
  isQualifiedName,
  isRecord,
  nameIsDNSSubdomain,
  validateObjectMeta,
  type Decoded,
} from './meta-validation.js';
import type { ResourceDef } from './types.js';
import { ALL_VERBS } from './verbs.js';

const LIMIT_TYPES = new Set(['Pod', 'Container', 'PersistentVolumeClaim']);
const CONTAINER_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage']);
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
const QUANTITY_RE_MSG = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

type List = Record<string, string>;

function rlOf(v: unknown): List {
  const out: List = {};
  for (const [k, q] of Object.entries(isRecord(v) ? v : {})) out[k] = String(q);
  return out;
}

/** SetDefaults_LimitRangeItem for Container items */
function defaultItem(item: Decoded<LimitRangeItem>): void {
  if (item.type !== 'Container') return;
  const def: List = { ...rlOf(item.default) };
  const req: List = { ...rlOf(item.defaultRequest) };
  for (const [k, v] of Object.entries(rlOf(item.max))) if (!(k in def)) def[k] = v;
  for (const [k, v] of Object.entries(def)) if (!(k in req)) req[k] = v;
  for (const [k, v] of Object.entries(rlOf(item.min))) if (!(k in req)) req[k] = v;
  if (Object.keys(def).length) item.default = def;
  if (Object.keys(req).length) item.defaultRequest = req;
}

function validateResourceName(type: string, name: string, path: string): StatusCause[] {
  const errs = isQualifiedName(name).map((m) => field.invalid(path, name, m));
  if (errs.length || name.includes('/')) return errs;
  const hp = name.startsWith('hugepages-');
  if (type === 'Container' || type === 'Pod') {
    if (!CONTAINER_RESOURCES.has(name) && !hp)
      return [field.invalid(path, name, 'must be a standard resource for containers')];
  } else if (!STANDARD_RESOURCES.has(name) && !hp) {
    return [field.invalid(path, name, 'must be a standard resource type or fully qualified')];
  }
  return [];
}

const isOvercommitAllowed = (name: string): boolean =>
  (!name.includes('/') || name.includes('kubernetes.io/')) && !name.startsWith('hugepages-');

/** the resource lists of a LimitRangeItem */
type ListField = 'max' | 'min' | 'default' | 'defaultRequest' | 'maxLimitRequestRatio';

function validateItem(item: Decoded<LimitRangeItem>, path: string, seen: Set<string>): StatusCause[] {
  const out: StatusCause[] = [];
  const type = String(item.type ?? '');
  const typeErrs = isQualifiedName(type).map((m) => field.invalid(`${path}.type`, type, m));
  out.push(...typeErrs);
  if (!typeErrs.length && !type.includes('/') && !LIMIT_TYPES.has(type))
    out.push(field.invalid(`${path}.type`, type, 'must be a standard limit type or fully qualified'));
  if (seen.has(type)) out.push(field.duplicate(`${path}.type`, type));
  seen.add(type);
  const lists: Record<string, List> = {};
  const keys = new Set<string>();
  const fieldsToRead: ListField[] =
    type === 'Pod'
      ? ['max', 'min', 'maxLimitRequestRatio']
      : ['max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio'];
  if (type === 'Pod') {
    if (Object.keys(rlOf(item.default)).length)
      out.push(field.forbidden(`${path}.default`, "may not be specified when `type` is 'Pod'"));
    if (Object.keys(rlOf(item.defaultRequest)).length)
      out.push(field.forbidden(`${path}.defaultRequest`, "may not be specified when `type` is 'Pod'"));
  }
  for (const f of fieldsToRead) {
    lists[f] = rlOf(item[f]);
    for (const [k, q] of Object.entries(lists[f]!)) {
      out.push(...validateResourceName(type, k, `${path}.${f}[${k}]`));
      if (!isValidQuantity(q)) out.push(field.invalid(`${path}.${f}[${k}]`, q, QUANTITY_RE_MSG));
      keys.add(k);
    }
  }
  if (type === 'PersistentVolumeClaim' && !('storage' in (lists.min ?? {})) && !('storage' in (lists.max ?? {}))) {
    out.push(
      field.required(`${path}.limits`, 'either minimum or maximum storage value is required, but neither was provided'),
    );
  }
  if (out.length) return out;
  const cmp = (a: string, b: string): number => {
    const x = nanosOf(a);
    const y = nanosOf(b);
    return x > y ? 1 : x < y ? -1 : 0;
  };
  for (const k of [...keys].sort()) {
    const min = lists.min?.[k],
      max = lists.max?.[k],
      dflt = lists.default?.[k],
      dreq = lists.defaultRequest?.[k],
      ratio = lists.maxLimitRequestRatio?.[k];
    const s = (q: string): string => canonical(q);
    if (min !== undefined && max !== undefined && cmp(min, max) > 0)
      out.push(field.invalid(`${path}.min[${k}]`, s(min), `min value ${s(min)} is greater than max value ${s(max)}`));
    if (dreq !== undefined && min !== undefined && cmp(min, dreq) > 0)
      out.push(
        field.invalid(
          `${path}.defaultRequest[${k}]`,
          s(dreq),
          `min value ${s(min)} is greater than default request value ${s(dreq)}`,
        ),
      );
    if (dreq !== undefined && max !== undefined && cmp(dreq, max) > 0)
      out.push(
        field.invalid(
          `${path}.defaultRequest[${k}]`,
          s(dreq),
          `default request value ${s(dreq)} is greater than max value ${s(max)}`,
        ),
      );
    if (dreq !== undefined && dflt !== undefined && cmp(dreq, dflt) > 0)
      out.push(
        field.invalid(
          `${path}.defaultRequest[${k}]`,
          s(dreq),
          `default request value ${s(dreq)} is greater than default limit value ${s(dflt)}`,
        ),
      );
    if (dflt !== undefined && min !== undefined && cmp(min, dflt) > 0)
      out.push(
        field.invalid(`${path}.default[${k}]`, s(min), `min value ${s(min)} is greater than default value ${s(dflt)}`),
      );
    if (dflt !== undefined && max !== undefined && cmp(dflt, max) > 0)
      out.push(
        field.invalid(`${path}.default[${k}]`, s(max), `default value ${s(dflt)} is greater than max value ${s(max)}`),
      );
    if (ratio !== undefined && cmp(ratio, '1') < 0)
      out.push(field.invalid(`${path}.maxLimitRequestRatio[${k}]`, s(ratio), `ratio ${s(ratio)} is less than 1`));
    if (ratio !== undefined && min !== undefined && max !== undefined) {
      const limit = Number(nanosOf(max) / 1_000_000n) / Number(nanosOf(min) / 1_000_000n);
      if (Number(nanosOf(ratio) / 1_000_000n) / 1000 > limit)
        out.push(
          field.invalid(
            `${path}.maxLimitRequestRatio[${k}]`,
            s(ratio),
            `ratio ${s(ratio)} is greater than max/min = ${limit.toFixed(6)}`,
          ),
        );
    }
    if (!isOvercommitAllowed(k) && dflt !== undefined && dreq !== undefined && cmp(dflt, dreq) !== 0) {
      out.push(
        field.invalid(
          `${path}.defaultRequest[${k}]`,
          s(dreq),
          `default value ${s(dflt)} must equal to defaultRequest value ${s(dreq)} in ${k}`,
        ),
      );
    }
  }
  return out;
}

export const limitRange: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'LimitRange',
  resource: 'limitranges',
  singular: 'limitrange',
  namespaced: true,
  shortNames: ['limits'],
  categories: [],
  verbs: ALL_VERBS,
  subresources: [],
  hasStatusSubresource: false,
  hasGeneration: false,
  schema: 'LimitRange',

  defaults(obj) {
    const limits: unknown = obj.spec?.limits;
    if (Array.isArray(limits)) for (const item of limits) if (isDecoded<LimitRangeItem>(item)) defaultItem(item);
  },

  validate(obj) {
    const out = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
    const limits: unknown = obj.spec?.limits;
    const seen = new Set<string>();
    if (Array.isArray(limits))
      limits.forEach((item: unknown, i) =>
        out.push(...validateItem(isDecoded<LimitRangeItem>(item) ? item : {}, `spec.limits[${i}]`, seen)),
      );
    return out;
  },

  columns: [nameColumn(), col('Created At', 'date', AGE_DESCRIPTION)],
  row: (obj) => [obj.metadata?.name ?? '', obj.metadata?.creationTimestamp ?? null],
};
