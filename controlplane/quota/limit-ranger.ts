// The LimitRanger admission plugin's rules (plugin/pkg/admission/limitranger/admission.go),
// pure: mutate fills a pod's containers' missing requests/limits from the Container
// items' defaultRequest/default (and notes it in the kubernetes.io/limit-ranger
// annotation); validate checks min/max/maxLimitRequestRatio per Container and Pod and
// min/max storage per PersistentVolumeClaim, returning upstream's messages.
import type { KubeObject } from '../../proto/meta.js';
import { scaledValue, isValidQuantity } from '../../proto/quantity.js';
import { canonical, type ResourceList } from './resource-list.js';
import { arr, podResourceSum, rec, rl, type Rec } from './evaluators.js';

export const LIMIT_RANGER_ANNOTATION = 'kubernetes.io/limit-ranger';

interface LimitItem {
  type: string;
  min: ResourceList;
  max: ResourceList;
  default: ResourceList;
  defaultRequest: ResourceList;
  maxLimitRequestRatio: ResourceList;
}

function itemsOf(lr: KubeObject): LimitItem[] {
  return arr(rec(lr.spec).limits).map((l) => ({
    type: String(l.type ?? ''),
    min: rl(l.min),
    max: rl(l.max),
    default: rl(l.default),
    defaultRequest: rl(l.defaultRequest),
    maxLimitRequestRatio: rl(l.maxLimitRequestRatio),
  }));
}

/** Go's map iteration has no order; messages are reported sorted by resource name here */
const sortedEntries = (l: ResourceList): [string, string][] => Object.entries(l).sort(([a], [b]) => a.localeCompare(b));

// ---- mutate ------------------------------------------------------------------------

function mergeContainer(
  c: Rec,
  defaults: { requests: ResourceList; limits: ResourceList },
  prefix: string,
  notes: string[],
): void {
  const res = rec(c.resources);
  const limits = rec(res.limits);
  const requests = rec(res.requests);
  const setLimits: string[] = [];
  const setRequests: string[] = [];
  for (const [k, v] of Object.entries(defaults.limits))
    if (!(k in limits)) {
      limits[k] = v;
      setLimits.push(k);
    }
  for (const [k, v] of Object.entries(defaults.requests))
    if (!(k in requests)) {
      requests[k] = v;
      setRequests.push(k);
    }
  if (setLimits.length || setRequests.length || c.resources !== undefined) {
    c.resources = {
      ...res,
      ...(Object.keys(limits).length ? { limits } : {}),
      ...(Object.keys(requests).length ? { requests } : {}),
    };
  }
  if (setRequests.length) notes.push(`${setRequests.sort().join(', ')} request for ${prefix} ${String(c.name ?? '')}`);
  if (setLimits.length) notes.push(`${setLimits.sort().join(', ')} limit for ${prefix} ${String(c.name ?? '')}`);
}

/** PodMutateLimitFunc for one LimitRange */
export function mutatePod(lr: KubeObject, pod: KubeObject): void {
  const defaults = { requests: {} as ResourceList, limits: {} as ResourceList };
  for (const item of itemsOf(lr)) {
    if (item.type !== 'Container') continue;
    Object.assign(defaults.requests, item.defaultRequest);
    Object.assign(defaults.limits, item.default);
  }
  const spec = rec(pod.spec);
  const notes: string[] = [];
  for (const c of Array.isArray(spec.containers) ? spec.containers : [])
    if (c && typeof c === 'object') mergeContainer(c as Rec, defaults, 'container', notes);
  for (const c of Array.isArray(spec.initContainers) ? spec.initContainers : [])
    if (c && typeof c === 'object') mergeContainer(c as Rec, defaults, 'init container', notes);
  if (notes.length) {
    pod.metadata.annotations = {
      ...(pod.metadata.annotations ?? {}),
      [LIMIT_RANGER_ANNOTATION]: `LimitRanger plugin set: ${notes.join('; ')}`,
    };
  }
}

// ---- validate ----------------------------------------------------------------------

/** requestLimitEnforcedValues: compared in milli-units (Value() would only matter past 2^63/1000) */
const milli = (q: string | undefined): bigint => (q !== undefined && isValidQuantity(q) ? scaledValue(q, -3) : 0n);
const show = (q: string): string => canonical(q);

function minConstraint(
  type: string,
  name: string,
  enforced: string,
  request: ResourceList,
  limit: ResourceList,
): string | undefined {
  if (!(name in request)) return `minimum ${name} usage per ${type} is ${show(enforced)}.  No request is specified`;
  if (milli(request[name]) < milli(enforced))
    return `minimum ${name} usage per ${type} is ${show(enforced)}, but request is ${show(request[name]!)}`;
  if (name in limit && milli(limit[name]) < milli(enforced))
    return `minimum ${name} usage per ${type} is ${show(enforced)}, but limit is ${show(limit[name]!)}`;
  return undefined;
}

function maxRequestConstraint(type: string, name: string, enforced: string, request: ResourceList): string | undefined {
  if (!(name in request)) return `maximum ${name} usage per ${type} is ${show(enforced)}.  No request is specified`;
  if (milli(request[name]) > milli(enforced))
    return `maximum ${name} usage per ${type} is ${show(enforced)}, but request is ${show(request[name]!)}`;
  return undefined;
}

function maxConstraint(
  type: string,
  name: string,
  enforced: string,
  request: ResourceList,
  limit: ResourceList,
): string | undefined {
  if (!(name in limit)) return `maximum ${name} usage per ${type} is ${show(enforced)}.  No limit is specified`;
  if (milli(limit[name]) > milli(enforced))
    return `maximum ${name} usage per ${type} is ${show(enforced)}, but limit is ${show(limit[name]!)}`;
  if (name in request && milli(request[name]) > milli(enforced))
    return `maximum ${name} usage per ${type} is ${show(enforced)}, but request is ${show(request[name]!)}`;
  return undefined;
}

function ratioConstraint(
  type: string,
  name: string,
  enforced: string,
  request: ResourceList,
  limit: ResourceList,
): string | undefined {
  const req = milli(request[name]);
  const lim = milli(limit[name]);
  if (!(name in request) || req === 0n)
    return `${name} max limit to request ratio per ${type} is ${show(enforced)}, but no request is specified or request is 0`;
  if (!(name in limit) || lim === 0n)
    return `${name} max limit to request ratio per ${type} is ${show(enforced)}, but no limit is specified or limit is 0`;
  const observed = Number(lim) / Number(req);
  if (observed * 1000 > Number(milli(enforced)))
    return `${name} max limit to request ratio per ${type} is ${show(enforced)}, but provided ratio is ${observed.toFixed(6)}`;
  return undefined;
}

function checkAll(item: LimitItem, request: ResourceList, limit: ResourceList, errs: string[]): void {
  for (const [k, v] of sortedEntries(item.min)) {
    const e = minConstraint(item.type, k, v, request, limit);
    if (e) errs.push(e);
  }
  for (const [k, v] of sortedEntries(item.max)) {
    const e = maxConstraint(item.type, k, v, request, limit);
    if (e) errs.push(e);
  }
  for (const [k, v] of sortedEntries(item.maxLimitRequestRatio)) {
    const e = ratioConstraint(item.type, k, v, request, limit);
    if (e) errs.push(e);
  }
}

/** utilerrors.NewAggregate(errs).Error(): one message alone, several as "[a, b]" */
function aggregate(errs: string[]): string | undefined {
  if (errs.length === 0) return undefined;
  return errs.length === 1 ? errs[0] : `[${errs.join(', ')}]`;
}

/** PodValidateLimitFunc for one LimitRange: the refusal detail, or undefined */
export function validatePod(lr: KubeObject, pod: KubeObject): string | undefined {
  const errs: string[] = [];
  const spec = rec(pod.spec);
  for (const item of itemsOf(lr)) {
    if (item.type === 'Container') {
      for (const c of [...arr(spec.containers), ...arr(spec.initContainers)]) {
        const res = rec(c.resources);
        checkAll(item, rl(res.requests), rl(res.limits), errs);
      }
    } else if (item.type === 'Pod') {
      checkAll(item, podResourceSum(pod, 'requests'), podResourceSum(pod, 'limits'), errs);
    }
  }
  return aggregate(errs);
}

/** PersistentVolumeClaimValidateLimitFunc */
export function validateClaim(lr: KubeObject, pvc: KubeObject): string | undefined {
  const errs: string[] = [];
  const requests = rl(rec(rec(pvc.spec).resources).requests);
  for (const item of itemsOf(lr)) {
    if (item.type !== 'PersistentVolumeClaim') continue;
    for (const [k, v] of sortedEntries(item.min)) {
      const e = minConstraint(item.type, k, v, requests, {});
      if (e) errs.push(e);
    }
    for (const [k, v] of sortedEntries(item.max)) {
      const e = maxRequestConstraint(item.type, k, v, requests);
      if (e) errs.push(e);
    }
  }
  return aggregate(errs);
}
