// Who owns what (controller_ref_manager.go ClaimObject): a controller keeps the objects it
// controls that still match its selector, adopts matching orphans, and releases those it
// controls that no longer match. Pure decision; the controllers carry it out through the API.
import type { KubeObject } from '../../../proto/meta.js';
import { controllerRefOf } from '../../../proto/api/owner.js';

export interface ClaimPlan {
  /** already ours and matching */
  owned: KubeObject[];
  /** orphans to adopt (set our controller ownerReference) */
  adopt: KubeObject[];
  /** ours but no longer matching: remove our ownerReference */
  release: KubeObject[];
}

export function planClaim(owner: KubeObject, objects: KubeObject[], matches: (o: KubeObject) => boolean): ClaimPlan {
  const plan: ClaimPlan = { owned: [], adopt: [], release: [] };
  const ownerDeleting = !!owner.metadata.deletionTimestamp;
  for (const o of objects) {
    const ref = controllerRefOf(o);
    if (ref) {
      if (ref.uid !== owner.metadata.uid) continue; // someone else's
      if (matches(o)) plan.owned.push(o);
      else if (!ownerDeleting) plan.release.push(o);
      continue;
    }
    // an orphan: adopt only if it matches, neither side is going away
    if (ownerDeleting || !matches(o) || o.metadata.deletionTimestamp) continue;
    if (o.metadata.namespace !== owner.metadata.namespace) continue;
    plan.adopt.push(o);
  }
  return plan;
}
