// The shared pod, owner and condition helpers (proto/api/pod.ts, owner.ts, conditions.ts)
// that replaced the copies in the ReplicaSet, DaemonSet, Job, StatefulSet, endpoints,
// disruption, CRD and pod-table code: podutil's GetPodReadyCondition / IsPodReady /
// IsPodAvailable, metav1.GetControllerOf, meta.FindStatusCondition / IsStatusConditionTrue.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import { isPodAvailable, isPodReady, podReadyCondition, podReadyTime } from '../../proto/api/pod.js';
import { controllerRefOf } from '../../proto/api/owner.js';
import { findCondition, isConditionTrue } from '../../proto/api/conditions.js';

const T0 = Date.parse('2026-12-06T00:00:00Z');
const pod = (conditions: unknown): KubeObject => ({ metadata: { name: 'p' }, status: { conditions } });
const ready = (status: string, lastTransitionTime?: string) => ({
  type: 'Ready',
  status,
  ...(lastTransitionTime ? { lastTransitionTime } : {}),
});

describe('pod readiness', () => {
  const cases: [string, unknown, boolean][] = [
    ['no status', undefined, false],
    ['conditions not a list', 'x', false],
    ['no Ready condition', [{ type: 'PodScheduled', status: 'True' }], false],
    ['Ready False', [ready('False')], false],
    ['Ready True', [null, { type: 'Initialized', status: 'True' }, ready('True')], true],
    ['the first Ready condition decides', [ready('False'), ready('True')], false],
  ];
  it.each(cases)('%s', (_name, conditions, want) => {
    expect(isPodReady(pod(conditions))).toBe(want);
    expect(podReadyCondition(pod(conditions))?.status === 'True').toBe(want);
  });

  it('is available once ready for longer than minReadySeconds', () => {
    const p = pod([ready('True', '2026-12-06T00:00:00Z')]);
    expect(isPodAvailable(p, 0, T0)).toBe(true);
    expect(isPodAvailable(p, 5, T0 + 5000)).toBe(false);
    expect(isPodAvailable(p, 5, T0 + 5001)).toBe(true);
    expect(isPodAvailable(pod([ready('True')]), 5, T0 + 60_000)).toBe(false);
    expect(isPodAvailable(pod([ready('False', '2026-12-06T00:00:00Z')]), 0, T0)).toBe(false);
    expect(podReadyTime(p)).toBe(T0);
    expect(podReadyTime(pod([ready('False', '2026-12-06T00:00:00Z')]))).toBeUndefined();
    expect(podReadyTime(pod([ready('True', 'not a time')]))).toBeUndefined();
  });
});

describe('controllerRefOf', () => {
  it('returns the owner reference with controller: true', () => {
    const ref = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u2', controller: true };
    const o: KubeObject = {
      metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'c', uid: 'u1' }, ref] },
    };
    expect(controllerRefOf(o)).toBe(ref);
    expect(controllerRefOf({ metadata: {} })).toBeUndefined();
    expect(
      controllerRefOf({
        metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'x', uid: 'u', controller: false }] },
      }),
    ).toBeUndefined();
  });
});

describe('findCondition / isConditionTrue', () => {
  it('finds the first condition of a type in a status list, skipping what is not an object', () => {
    const conds = [
      null,
      'x',
      { type: 'Complete', status: 'False' },
      { type: 'Complete', status: 'True' },
      { type: 'Failed', status: 'True', reason: 'R' },
    ];
    expect(findCondition(conds, 'Failed')).toEqual({ type: 'Failed', status: 'True', reason: 'R' });
    expect(isConditionTrue(conds, 'Failed')).toBe(true);
    expect(isConditionTrue(conds, 'Complete')).toBe(false);
    expect(findCondition(conds, 'Suspended')).toBeUndefined();
    expect(findCondition(undefined, 'Ready')).toBeUndefined();
    expect(isConditionTrue({ type: 'Ready', status: 'True' }, 'Ready')).toBe(false);
  });
});
