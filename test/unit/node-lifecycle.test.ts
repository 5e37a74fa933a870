import { describe, expect, it } from 'vitest';
import { desiredLifecycleTaints, evictionTime, TAINT_NOT_READY, TAINT_UNREACHABLE } from '../../controlplane/controllers/node-lifecycle-controller.js';

const T0 = Date.parse('2026-11-22T10:00:00Z');
const unreachable = [{ key: TAINT_UNREACHABLE, effect: 'NoExecute', timeAdded: '2026-11-22T10:00:00Z' }, { key: TAINT_UNREACHABLE, effect: 'NoSchedule' }];

describe('node lifecycle decisions', () => {
  it.each([
    ['True', []],
    [undefined, []],
    ['Unknown', [{ key: TAINT_UNREACHABLE, effect: 'NoExecute' }, { key: TAINT_UNREACHABLE, effect: 'NoSchedule' }]],
    ['False', [{ key: TAINT_NOT_READY, effect: 'NoExecute' }, { key: TAINT_NOT_READY, effect: 'NoSchedule' }]],
  ])('Ready=%s -> taints %j', (ready, taints) => {
    expect(desiredLifecycleTaints(ready)).toEqual(taints);
  });

  it('evicts at once without a matching toleration', () => {
    expect(evictionTime([], unreachable, T0 + 1000)).toBe(T0 + 1000);
  });

  it('evicts after the toleration seconds, counted from when the taint was added', () => {
    const tol = [{ key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 10 }];
    expect(evictionTime(tol, unreachable, T0 + 1000)).toBe(T0 + 10_000);
  });

  it('never evicts a pod tolerating forever, or from a node without NoExecute taints', () => {
    expect(evictionTime([{ operator: 'Exists' }], unreachable, T0)).toBeUndefined();
    expect(evictionTime([], [{ key: TAINT_UNREACHABLE, effect: 'NoSchedule' }], T0)).toBeUndefined();
  });

  it('the shortest matching toleration wins', () => {
    const tol = [
      { key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 },
      { operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 },
    ];
    expect(evictionTime(tol, unreachable, T0)).toBe(T0 + 5000);
  });
});
