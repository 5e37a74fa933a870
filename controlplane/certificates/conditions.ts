// populateConditionTimestamps (pkg/registry/certificates/certificates/strategy.go): on an
// /approval or /status write, a condition without lastUpdateTime gets now, and one without
// lastTransitionTime keeps the time of the stored condition of the same type and status,
// else now.
import type { KubeObject } from '../../proto/meta.js';

interface Cond {
  type?: unknown;
  status?: unknown;
  lastUpdateTime?: unknown;
  lastTransitionTime?: unknown;
}

function conds(o: KubeObject | undefined): Cond[] {
  const c = (o?.status as { conditions?: unknown } | undefined)?.conditions;
  return Array.isArray(c) ? (c as Cond[]) : [];
}

export function populateConditionTimestamps(next: KubeObject, old: KubeObject, now: string): void {
  for (const c of conds(next)) {
    if (!c || typeof c !== 'object') continue;
    if (!c.lastUpdateTime) c.lastUpdateTime = now;
    if (!c.lastTransitionTime) {
      const same = conds(old).find((o) => o.type === c.type && o.status === c.status && o.lastTransitionTime);
      c.lastTransitionTime = same?.lastTransitionTime ?? now;
    }
  }
}
