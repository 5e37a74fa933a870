// Pure decisions over a workload's ControllerRevisions: which ones it claims
// (ControllerRevisionControllerRefManager), the DaemonSet controller's constructHistory,
// dedupCurHistories and cleanupHistory (daemon/update.go), and the StatefulSet
// controller's getStatefulSetRevisions and truncateHistory (stateful_set_control.go).
import type { KubeObject } from '../../../proto/meta.js';
import {
  controllerOf,
  maxRevision,
  newStatefulSetRevision,
  nextRevision,
  REVISION_HASH_LABEL,
  revisionNumber,
  sameData,
  sortRevisions,
  templatePatch,
} from './controller-history.js';

export interface ClaimPlan {
  /** revisions the owner controls and keeps */
  owned: KubeObject[];
  /** orphans to adopt (then owned) */
  adopt: KubeObject[];
  /** controlled revisions that no longer match the selector */
  release: KubeObject[];
}

/**
 * ClaimControllerRevisions: keep controlled revisions that match, release the ones that
 * stopped matching (unless the owner is being deleted), adopt matching orphans that are not
 * being deleted themselves (unless the owner is).
 */
export function claimRevisions(
  owner: KubeObject,
  revisions: readonly KubeObject[],
  matches: (cr: KubeObject) => boolean,
): ClaimPlan {
  const out: ClaimPlan = { owned: [], adopt: [], release: [] };
  const deleting = !!owner.metadata.deletionTimestamp;
  for (const cr of revisions) {
    const ref = controllerOf(cr);
    if (ref) {
      if (ref.uid !== owner.metadata.uid) continue;
      if (matches(cr)) out.owned.push(cr);
      else if (!deleting) out.release.push(cr);
      continue;
    }
    if (deleting || cr.metadata.deletionTimestamp || !matches(cr)) continue;
    out.adopt.push(cr);
  }
  return out;
}

export interface DaemonSetHistoryPlan {
  /** revisions without the controller-revision-hash label: label them with their name first */
  unlabelled: KubeObject[];
  /** the revision matching the template, if any (the highest-numbered of the duplicates) */
  current?: KubeObject;
  /** other revisions with the same data as `current`: delete after relabelling their pods */
  duplicates: KubeObject[];
  /** every revision that does not match the template */
  old: KubeObject[];
  /** the Revision the current history must have: max(old) + 1 (create with it, or raise `current` to it) */
  revision: number;
}

/** constructHistory + dedupCurHistories, over the revisions the DaemonSet controls. */
export function planDaemonSetHistory(ds: KubeObject, controlled: readonly KubeObject[]): DaemonSetHistoryPlan {
  const patch = templatePatch(ds.spec?.template);
  const unlabelled: KubeObject[] = [];
  const cur: KubeObject[] = [];
  const old: KubeObject[] = [];
  for (const cr of controlled) {
    if (cr.metadata.labels?.[REVISION_HASH_LABEL] === undefined) unlabelled.push(cr);
    (sameData(patch, cr.data) ? cur : old).push(cr);
  }
  let current: KubeObject | undefined;
  let max = 0;
  for (const cr of cur) {
    if (revisionNumber(cr) >= max) {
      current = cr;
      max = revisionNumber(cr);
    }
  }
  return { unlabelled, current, duplicates: cur.filter((c) => c !== current), old, revision: maxRevision(old) + 1 };
}

/** The hash a DaemonSet revision gives its pods: its label, or (not yet labelled) its name. */
export function daemonSetRevisionHash(cr: KubeObject): string {
  return cr.metadata.labels?.[REVISION_HASH_LABEL] ?? cr.metadata.name!;
}

/**
 * cleanupHistory: with more old revisions than revisionHistoryLimit, delete the oldest ones
 * (lowest Revision first) whose hash no daemon pod carries, until the limit is met.
 */
export function daemonSetHistoryToDelete(
  old: readonly KubeObject[],
  limit: number,
  liveHashes: ReadonlySet<string>,
): KubeObject[] {
  let toKill = old.length - limit;
  const out: KubeObject[] = [];
  for (const cr of [...old].sort((a, b) => revisionNumber(a) - revisionNumber(b))) {
    if (toKill <= 0) break;
    if (liveHashes.has(daemonSetRevisionHash(cr))) continue;
    out.push(cr);
    toKill--;
  }
  return out;
}

export type UpdateRevisionStep =
  /** the newest revision already holds the template */
  | { type: 'existing'; revision: KubeObject }
  /** an older revision holds it (a rollback): raise its Revision to `to` */
  | { type: 'bump'; revision: KubeObject; to: number }
  /** no revision holds it: create this one (renamed on a name collision), first under `preferredName` if set */
  | { type: 'create'; revision: KubeObject; preferredName?: string };

export interface StatefulSetRevisionsPlan {
  update: UpdateRevisionStep;
  /** the revision named by status.currentRevision; absent: the update revision is also the current one */
  current?: KubeObject;
  collisionCount: number;
}

/**
 * getStatefulSetRevisions over the set's revisions. `legacyName`: the name skiff gave the
 * template's revision before ControllerRevisions existed; the set's first revision keeps it
 * when status.updateRevision still says it, so running pods are not replaced on upgrade.
 */
export function planStatefulSetRevisions(
  set: KubeObject,
  revisions: readonly KubeObject[],
  legacyName?: string,
): StatefulSetRevisionsPlan {
  const sorted = sortRevisions(revisions);
  const collisionCount = Number(set.status?.collisionCount ?? 0) || 0;
  const candidate = newStatefulSetRevision(set, nextRevision(sorted), collisionCount);
  const equal = sorted.filter((r) => sameData(r.data, candidate.data));
  const last = sorted[sorted.length - 1];
  let update: UpdateRevisionStep;
  if (equal.length && last && sameData(last.data, equal[equal.length - 1]!.data)) {
    update = { type: 'existing', revision: last };
  } else if (equal.length) {
    update = { type: 'bump', revision: equal[equal.length - 1]!, to: revisionNumber(candidate) };
  } else {
    update = { type: 'create', revision: candidate };
    if (sorted.length === 0 && legacyName && set.status?.updateRevision === legacyName)
      update.preferredName = legacyName;
  }
  const currentName = set.status?.currentRevision;
  const current = currentName ? sorted.find((r) => r.metadata.name === currentName) : undefined;
  return { update, current, collisionCount };
}

/**
 * truncateHistory: revisions that are neither live (current, update, or a pod's revision)
 * are deleted oldest first until at most revisionHistoryLimit of them remain.
 */
export function statefulSetHistoryToDelete(
  revisions: readonly KubeObject[],
  live: ReadonlySet<string>,
  limit: number,
): KubeObject[] {
  const history = sortRevisions(revisions).filter((r) => !live.has(r.metadata.name!));
  if (limit < 0 || history.length <= limit) return [];
  return history.slice(0, history.length - limit);
}
