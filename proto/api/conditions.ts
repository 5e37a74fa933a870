// Status conditions of any kind: find one by type, is it True (apimachinery's
// meta.FindStatusCondition / IsStatusConditionTrue, for every kind's conditions list).
// The list comes from an object's status as stored, so anything that is not a list or an
// object entry is skipped.

/** what every kind's condition has */
export interface ConditionLike {
  type: string;
  status: string;
}

/** meta.FindStatusCondition: the first condition of `type` (C: the kind's condition type) */
export function findCondition<C extends ConditionLike = ConditionLike>(conditions: unknown, type: string): C | undefined {
  if (!Array.isArray(conditions)) return undefined;
  return conditions.find((c): c is C => typeof c === 'object' && c !== null && (c as { type?: unknown }).type === type);
}

/** meta.IsStatusConditionTrue */
export function isConditionTrue(conditions: unknown, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}
