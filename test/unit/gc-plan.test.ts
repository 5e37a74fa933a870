// Tables over the garbage collector's pure decisions: which dependents to delete, which
// references to drop, what an owner being deleted with orphan/foreground needs.
import { describe, expect, it } from 'vitest';
import type { OwnerReference } from '../../proto/meta.js';
import {
  classifyReferences,
  groupOf,
  planDependent,
  planOwner,
  unblocked,
  withoutOwners,
  type DependentFacts,
  type OwnerState,
} from '../../controlplane/controllers/gc/plan.js';

const ref = (uid: string, extra: Partial<OwnerReference> = {}): OwnerReference => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  name: `rs-${uid}`,
  uid,
  ...extra,
});

describe('classifyReferences', () => {
  it('sorts references by what their owners are', () => {
    const states: Record<string, OwnerState> = { a: 'solid', b: 'dangling', c: 'waiting', d: 'dangling' };
    const c = classifyReferences([ref('a'), ref('b'), ref('c'), ref('d')], (r) => states[r.uid]!);
    expect(c.solid.map((r) => r.uid)).toEqual(['a']);
    expect(c.dangling.map((r) => r.uid)).toEqual(['b', 'd']);
    expect(c.waiting.map((r) => r.uid)).toEqual(['c']);
  });
});

describe('planDependent (attemptToDeleteItem)', () => {
  const facts = (f: Partial<DependentFacts>): DependentFacts => ({
    solid: [],
    dangling: [],
    waiting: [],
    hasDependents: false,
    ...f,
  });
  const cases: Array<[string, Partial<DependentFacts>, ReturnType<typeof planDependent>]> = [
    ['every owner alive: keep', { solid: [ref('a'), ref('b')] }, { type: 'none' }],
    ['no references at all: keep', {}, { type: 'none' }],
    ['only owner gone: delete in the background', { dangling: [ref('a')] }, { type: 'delete', policy: 'Background' }],
    [
      'all of several owners gone: delete',
      { dangling: [ref('a'), ref('b')] },
      { type: 'delete', policy: 'Background' },
    ],
    [
      'one owner gone, another alive: only drop the dangling reference',
      { solid: [ref('a')], dangling: [ref('b')] },
      { type: 'removeOwnerRefs', uids: ['b'] },
    ],
    [
      'alive owner + foreground-deleting owner: drop the waiting reference',
      { solid: [ref('a')], waiting: [ref('c')] },
      { type: 'removeOwnerRefs', uids: ['c'] },
    ],
    [
      'owner deleting in foreground, no own dependents: delete (background)',
      { waiting: [ref('c')] },
      { type: 'delete', policy: 'Background' },
    ],
    [
      'owner deleting in foreground, has dependents: delete in the foreground',
      { waiting: [ref('c')], hasDependents: true },
      { type: 'delete', policy: 'Foreground' },
    ],
    [
      'foreground cycle guard: unblock first',
      { waiting: [ref('c')], hasDependents: true, dependentDeletingDependents: true },
      { type: 'delete', policy: 'Foreground', unblock: true },
    ],
    [
      'an orphan finalizer already on the dependent is honoured',
      { dangling: [ref('a')], finalizers: ['orphan'] },
      { type: 'delete', policy: 'Orphan' },
    ],
    [
      'a foreground finalizer already on the dependent is honoured',
      { dangling: [ref('a')], finalizers: ['foregroundDeletion'] },
      { type: 'delete', policy: 'Foreground' },
    ],
    [
      'dangling + waiting owners, no own dependents: delete',
      { dangling: [ref('a')], waiting: [ref('c')] },
      { type: 'delete', policy: 'Background' },
    ],
  ];
  for (const [name, f, want] of cases) it(name, () => expect(planDependent(facts(f))).toEqual(want));
});

describe('planOwner (orphan and foreground finalizers)', () => {
  const deleting = (finalizers: string[]) => ({ deletionTimestamp: '2025-01-01T00:00:00Z', finalizers });
  it('does nothing for an owner that is not being deleted', () => {
    expect(planOwner({ finalizers: ['orphan'] }, [{ uid: 'x', blocking: true }])).toEqual({ type: 'none' });
  });
  it('does nothing for an owner being deleted without GC finalizers', () => {
    expect(planOwner(deleting(['example.com/keep']), [{ uid: 'x', blocking: true }])).toEqual({ type: 'none' });
  });
  it('orphan: removes itself from every dependent, then the finalizer', () => {
    expect(
      planOwner(deleting(['orphan']), [
        { uid: 'x', blocking: true },
        { uid: 'y', blocking: false },
      ]),
    ).toEqual({ type: 'orphan', dependents: ['x', 'y'] });
    expect(planOwner(deleting(['orphan']), [])).toEqual({ type: 'removeFinalizer', finalizer: 'orphan' });
  });
  it('foreground: deletes dependents and waits only for the blocking ones', () => {
    expect(
      planOwner(deleting(['foregroundDeletion']), [
        { uid: 'x', blocking: true },
        { uid: 'y', blocking: false },
      ]),
    ).toEqual({ type: 'deleteDependents', dependents: ['x', 'y'], blocking: ['x'] });
    expect(planOwner(deleting(['foregroundDeletion']), [{ uid: 'y', blocking: false }])).toEqual({
      type: 'removeFinalizer',
      finalizer: 'foregroundDeletion',
    });
    expect(planOwner(deleting(['foregroundDeletion', 'example.com/keep']), [])).toEqual({
      type: 'removeFinalizer',
      finalizer: 'foregroundDeletion',
    });
  });
});

describe('reference helpers', () => {
  it('withoutOwners drops the given owners and omits an empty list', () => {
    expect(withoutOwners([ref('a'), ref('b')], ['a'])).toEqual([ref('b')]);
    expect(withoutOwners([ref('a')], ['a'])).toBeUndefined();
    expect(withoutOwners(undefined, ['a'])).toBeUndefined();
  });
  it('unblocked turns blockOwnerDeletion off', () => {
    expect(unblocked([ref('a', { blockOwnerDeletion: true, controller: true }), ref('b')])).toEqual([
      ref('a', { blockOwnerDeletion: false, controller: true }),
      ref('b'),
    ]);
  });
  it('groupOf reads the group from apiVersion', () => {
    expect(groupOf('apps/v1')).toBe('apps');
    expect(groupOf('v1')).toBe('');
    expect(groupOf('batch/v1')).toBe('batch');
  });
});
