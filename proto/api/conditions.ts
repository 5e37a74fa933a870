// Status conditions of any kind: find one by type, is it True, set one (apimachinery's
// meta.FindStatusCondition / IsStatusConditionTrue / SetStatusCondition, for every kind's conditions list).
// The list comes from an object's status as stored, so anything that is not a list or an
// object entry is skipped.
import { rfc3339 } from './time.js';

/** what every kind's condition has */
export interface ConditionLike {
  type: string;
  status: string;
}

/** meta.FindStatusCondition: the first condition of `type` (C: the kind's condition type) */
export function findCondition<C extends ConditionLike = ConditionLike>(
  conditions: unknown,
  type: string,
): C | undefined {
  if (!Array.isArray(conditions)) return undefined;
  return conditions.find((c): c is C => typeof c === 'object' && c !== null && (c as { type?: unknown }).type === type);
}

/** meta.IsStatusConditionTrue */
export function isConditionTrue(conditions: unknown, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

/** what apimachinery's SetStatusCondition reads and writes of a condition */
export interface StatusCondition extends ConditionLike {
  reason?: string;
  message?: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

/**
 * meta.SetStatusCondition: set (or add) the condition of `c.type`; its lastTransitionTime
 * moves only when the status changes. Returns a new list; C is the kind's condition type.
 */
export function setStatusCondition<C extends StatusCondition>(
  conds: readonly C[],
  c: Omit<C, 'lastTransitionTime'>,
  now: Date,
): C[] {
  const out = conds.map((x) => ({ ...x }));
  const i = out.findIndex((x) => x.type === c.type);
  if (i < 0) {
    out.push({ ...c, message: c.message ?? '', lastTransitionTime: rfc3339(now) } as C);
    return out;
  }
  const old = out[i]!;
  out[i] = {
    ...old,
    ...c,
    message: c.message ?? '',
    lastTransitionTime: old.status !== c.status || !old.lastTransitionTime ? rfc3339(now) : old.lastTransitionTime,
  };
  return out;
}
