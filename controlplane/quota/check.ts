// The ResourceQuota admission decision for one request (apiserver's
// plugin/resourcequota/controller.go CheckRequest), pure: given the namespace's quotas,
// the evaluator and the object (and the old one on update), either the quotas with
// their status.used charged, or the reason the request is refused.
import type { KubeObject } from '../../proto/meta.js';
import type { Evaluator, Operation } from './evaluators.js';
import {
  add,
  isNegative,
  lessThanOrEqual,
  mask,
  prettyPrint,
  removeZeros,
  subtractNonNegative,
  toList,
  type ResourceList,
} from './resource-list.js';
import { quotaScopeSelectors } from './scopes.js';

export interface QuotaRequest {
  operation: Operation;
  obj: KubeObject;
  old?: KubeObject;
  now: number;
}

export type CheckResult = { ok: true; quotas: KubeObject[]; changed: number[] } | { ok: false; reason: string };

const hardOf = (q: KubeObject): ResourceList => toList((q.status as { hard?: unknown } | undefined)?.hard);
const usedOf = (q: KubeObject): ResourceList => toList((q.status as { used?: unknown } | undefined)?.used);

/** generic.Matches: the quota tracks something of this kind and every scope selects the object */
export function quotaMatches(e: Evaluator, quota: KubeObject, obj: KubeObject): boolean {
  if (e.matchingResources(Object.keys(hardOf(quota))).length === 0) return false;
  return quotaScopeSelectors(quota).every((s) => e.matchesScope(s, obj));
}

export function checkRequest(quotas: KubeObject[], e: Evaluator, req: QuotaRequest): CheckResult {
  const interesting: number[] = [];
  for (let i = 0; i < quotas.length; i++) {
    const q = quotas[i]!;
    if (!quotaMatches(e, q, req.obj)) continue;
    const hard = hardOf(q);
    const restricted = e.matchingResources(Object.keys(hard));
    const err = e.constraints(restricted, req.obj);
    if (err) return { ok: false, reason: `failed quota: ${q.metadata.name}: ${err}` };
    const used = usedOf(q);
    const missing = restricted.filter((r) => r in hard && !(r in used));
    if (missing.length)
      return {
        ok: false,
        reason: `status unknown for quota: ${q.metadata.name}, resources: ${[...restricted].sort().join(',')}`,
      };
    interesting.push(i);
  }
  if (interesting.length === 0) return { ok: true, quotas, changed: [] };

  const input = e.usage(req.obj, req.now);
  const negative = isNegative(input);
  if (negative.length)
    return { ok: false, reason: `quota usage is negative for resource(s): ${negative.sort().join(',')}` };
  const delta = new Map<number, ResourceList>(interesting.map((i) => [i, input]));
  if (req.operation === 'UPDATE' && req.old?.metadata.resourceVersion) {
    const d = subtractNonNegative(input, e.usage(req.old, req.now));
    for (const i of interesting) if (quotaMatches(e, quotas[i]!, req.old)) delta.set(i, d);
  }
  for (const [i, d] of delta) {
    const nz = removeZeros(d);
    if (Object.keys(nz).length === 0) delta.delete(i);
    else delta.set(i, nz);
  }
  if (delta.size === 0) return { ok: true, quotas, changed: [] };

  const out = quotas.map((q) => structuredClone(q));
  const changed: number[] = [];
  for (const i of interesting) {
    const d = delta.get(i);
    if (!d) continue;
    const q = out[i]!;
    const hard = hardOf(q);
    const used = usedOf(q);
    const requested = mask(d, Object.keys(hard));
    const next = add(used, requested);
    const { ok, exceeded } = lessThanOrEqual(mask(next, Object.keys(requested)), hard);
    if (!ok) {
      return {
        ok: false,
        reason: `exceeded quota: ${q.metadata.name}, requested: ${prettyPrint(mask(requested, exceeded))}, used: ${prettyPrint(mask(used, exceeded))}, limited: ${prettyPrint(mask(hard, exceeded))}`,
      };
    }
    if (Object.keys(requested).length === 0) continue;
    (q.status as Record<string, unknown>).used = next;
    changed.push(i);
  }
  return { ok: true, quotas: out, changed };
}
