// The garbage collector's decisions as pure functions (pkg/controller/garbagecollector:
// classifyReferences, attemptToDeleteItem, processDeletingDependentsItem,
// attemptToOrphanWorker). The controller gathers the facts, these say what to do.
import type { OwnerReference } from '../../../proto/meta.js';

export const FINALIZER_ORPHAN = 'orphan';
export const FINALIZER_FOREGROUND = 'foregroundDeletion';

export type Policy = 'Orphan' | 'Foreground' | 'Background';

/**
 * What an owner reference points at, as seen by the dependent:
 * solid: the owner exists and is not deleting its dependents in the foreground;
 * dangling: the owner is gone (404, or a different uid under that name);
 * waiting: the owner exists, is being deleted and has the foregroundDeletion finalizer.
 */
export type OwnerState = 'solid' | 'dangling' | 'waiting';

export interface Classified {
  solid: OwnerReference[];
  dangling: OwnerReference[];
  waiting: OwnerReference[];
}

export function classifyReferences(
  refs: readonly OwnerReference[],
  stateOf: (ref: OwnerReference) => OwnerState,
): Classified {
  const out: Classified = { solid: [], dangling: [], waiting: [] };
  for (const r of refs) out[stateOf(r)].push(r);
  return out;
}

export interface Meta {
  deletionTimestamp?: string;
  finalizers?: readonly string[];
}

export function isBeingDeleted(m: Meta): boolean {
  return !!m.deletionTimestamp;
}

export function isDeletingDependents(m: Meta): boolean {
  return !!m.deletionTimestamp && (m.finalizers ?? []).includes(FINALIZER_FOREGROUND);
}

export function isOrphaningDependents(m: Meta): boolean {
  return !!m.deletionTimestamp && (m.finalizers ?? []).includes(FINALIZER_ORPHAN);
}

export type DependentAction =
  | { type: 'none' }
  /** some owner still stands: only drop the references to absent or foreground-deleting owners */
  | { type: 'removeOwnerRefs'; uids: string[] }
  /** no owner stands: delete the dependent; `unblock` first sets blockOwnerDeletion=false (cycle guard) */
  | { type: 'delete'; policy: Policy; unblock?: boolean };

export interface DependentFacts extends Classified {
  /** the dependent's own finalizers (an orphan/foreground finalizer already there is honoured) */
  finalizers?: readonly string[];
  /** the dependent owns objects itself */
  hasDependents: boolean;
  /** one of its own dependents is itself deleting dependents in the foreground */
  dependentDeletingDependents?: boolean;
}

/** attemptToDeleteItem for an object that is not itself being deleted and has owner references. */
export function planDependent(f: DependentFacts): DependentAction {
  if (f.solid.length > 0) {
    if (f.dangling.length === 0 && f.waiting.length === 0) return { type: 'none' };
    // References to foreground-deleting owners go too, or those owners would wait forever.
    return { type: 'removeOwnerRefs', uids: [...f.dangling, ...f.waiting].map((r) => r.uid) };
  }
  if (f.waiting.length > 0 && f.hasDependents) {
    // Delete in the foreground too, so the waiting owner waits for the whole subtree.
    return f.dependentDeletingDependents
      ? { type: 'delete', policy: 'Foreground', unblock: true }
      : { type: 'delete', policy: 'Foreground' };
  }
  if (f.dangling.length === 0 && f.waiting.length === 0) return { type: 'none' };
  const fin = f.finalizers ?? [];
  const policy: Policy = fin.includes(FINALIZER_ORPHAN)
    ? 'Orphan'
    : fin.includes(FINALIZER_FOREGROUND)
      ? 'Foreground'
      : 'Background';
  return { type: 'delete', policy };
}

export interface DependentInfo {
  uid: string;
  /** its reference to this owner has blockOwnerDeletion=true */
  blocking: boolean;
}

export type OwnerAction =
  | { type: 'none' }
  /** remove this owner from the dependents' ownerReferences, then drop the orphan finalizer */
  | { type: 'orphan'; dependents: string[] }
  /** nothing left to wait for: drop this finalizer (the object then goes) */
  | { type: 'removeFinalizer'; finalizer: string }
  /** foreground: (re)try deleting the dependents, and wait for the blocking ones */
  | { type: 'deleteDependents'; dependents: string[]; blocking: string[] };

/** What an owner being deleted with the orphan or foregroundDeletion finalizer needs. */
export function planOwner(owner: Meta, dependents: readonly DependentInfo[]): OwnerAction {
  if (!owner.deletionTimestamp) return { type: 'none' };
  if (isOrphaningDependents(owner)) {
    if (dependents.length === 0) return { type: 'removeFinalizer', finalizer: FINALIZER_ORPHAN };
    return { type: 'orphan', dependents: dependents.map((d) => d.uid) };
  }
  if (isDeletingDependents(owner)) {
    const blocking = dependents.filter((d) => d.blocking).map((d) => d.uid);
    if (blocking.length === 0) return { type: 'removeFinalizer', finalizer: FINALIZER_FOREGROUND };
    return { type: 'deleteDependents', dependents: dependents.map((d) => d.uid), blocking };
  }
  return { type: 'none' };
}

/** ownerReferences without the given owners (undefined when none is left, as apiserver omits it) */
export function withoutOwners(
  refs: readonly OwnerReference[] | undefined,
  uids: readonly string[],
): OwnerReference[] | undefined {
  const left = (refs ?? []).filter((r) => !uids.includes(r.uid));
  return left.length ? left : undefined;
}

/** ownerReferences with blockOwnerDeletion turned off (the cycle guard before a foreground delete) */
export function unblocked(refs: readonly OwnerReference[] | undefined): OwnerReference[] | undefined {
  if (!refs?.length) return undefined;
  return refs.map((r) => (r.blockOwnerDeletion ? { ...r, blockOwnerDeletion: false } : r));
}

/** the API group of an ownerReference's apiVersion ('apps/v1' -> 'apps', 'v1' -> '') */
export function groupOf(apiVersion: string): string {
  const i = apiVersion.indexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
}
