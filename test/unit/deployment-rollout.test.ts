// Rollout arithmetic and step plans (deploymentutil + rolling.go/sync.go semantics) as tables.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import {
  getProportion,
  maxSurge,
  maxUnavailable,
  newRSNewReplicas,
  resolveFenceposts,
  scaledValueFromIntOrPercent,
} from '../../controlplane/controllers/deployment/rollout-math.js';
import {
  oldPodsRunning,
  planNewReplicaSetScale,
  planOldReplicaSetsScaleDown,
  planScale,
} from '../../controlplane/controllers/deployment/rolling.js';

function dep(
  replicas: number,
  surge: number | string,
  unavailable: number | string,
  type = 'RollingUpdate',
): KubeObject {
  return {
    metadata: { name: 'd', generation: 1 },
    spec: {
      replicas,
      strategy:
        type === 'RollingUpdate' ? { type, rollingUpdate: { maxSurge: surge, maxUnavailable: unavailable } } : { type },
    },
    status: {},
  };
}

let seq = 0;
function rs(
  name: string,
  spec: number,
  available = spec,
  extra: { created?: number; max?: number; desired?: number; statusReplicas?: number } = {},
): KubeObject {
  const annotations: Record<string, string> = {};
  if (extra.max !== undefined) annotations['deployment.kubernetes.io/max-replicas'] = String(extra.max);
  if (extra.desired !== undefined) annotations['deployment.kubernetes.io/desired-replicas'] = String(extra.desired);
  return {
    metadata: {
      name,
      uid: `uid-${name}`,
      creationTimestamp: new Date(Date.UTC(2025, 0, 1, 0, 0, extra.created ?? seq++)).toISOString(),
      annotations,
    },
    spec: { replicas: spec },
    status: { replicas: extra.statusReplicas ?? spec, availableReplicas: available, readyReplicas: available },
  };
}

describe('int-or-percent resolution (ResolveFenceposts: surge rounds up, unavailable down, both 0 → 1 unavailable)', () => {
  it.each([
    ['25%', '25%', 3, 1, 0],
    ['25%', '25%', 4, 1, 1],
    ['25%', '25%', 10, 3, 2],
    ['33%', '33%', 3, 1, 0],
    ['10%', '10%', 1, 1, 0],
    [0, 0, 5, 0, 1],
    ['0%', '0%', 10, 0, 1],
    [1, '50%', 5, 1, 2],
    ['100%', 0, 3, 3, 0],
    [2, 3, 10, 2, 3],
    [0, '1%', 50, 0, 1],
  ] as Array<[number | string, number | string, number, number, number]>)(
    'surge %s / unavailable %s of %i → %i / %i',
    (s, u, n, es, eu) => {
      expect(resolveFenceposts(s, u, n)).toEqual([es, eu]);
    },
  );

  it('rejects a string that is not a percentage', () => {
    expect(() => scaledValueFromIntOrPercent('5', 10, true)).toThrow(/not a percentage/);
  });

  it('MaxUnavailable is 0 for Recreate or zero replicas and never more than replicas; MaxSurge 0 for Recreate', () => {
    expect(maxUnavailable(dep(3, 0, 10))).toBe(3);
    expect(maxUnavailable(dep(0, '25%', '25%'))).toBe(0);
    expect(maxUnavailable(dep(3, 0, 0, 'Recreate'))).toBe(0);
    expect(maxSurge(dep(3, 0, 0, 'Recreate'))).toBe(0);
    expect(maxSurge(dep(10, '25%', '25%'))).toBe(3);
  });
});

describe('new ReplicaSet size (NewRSNewReplicas)', () => {
  it.each([
    // replicas, surge, old spec, new spec, expected new size
    [3, 1, 3, 0, 1],
    [3, 1, 3, 1, 1], // at max total: no scale up
    [3, 1, 2, 1, 2],
    [3, '100%', 3, 0, 3],
    [10, '25%', 10, 0, 3],
    [10, '25%', 8, 5, 5], // 13 pods = 10 + 3: stays
    [3, 0, 3, 0, 0],
  ] as Array<[number, number | string, number, number, number]>)(
    'replicas %i, maxSurge %s, old %i, new %i → %i',
    (replicas, surge, oldN, newN, want) => {
      const d = dep(replicas, surge, 1);
      const n = rs('new', newN);
      expect(newRSNewReplicas(d, [rs('old', oldN), n], n)).toBe(want);
    },
  );

  it('Recreate: the full count at once', () => {
    const n = rs('new', 0);
    expect(newRSNewReplicas(dep(4, 0, 0, 'Recreate'), [rs('old', 0), n], n)).toBe(4);
  });

  it('reconcileNewReplicaSet: scales down a too-big new RS, no-op at size', () => {
    const d = dep(3, 1, 0);
    expect(planNewReplicaSetScale(d, [rs('n', 5)], rs('n', 5))).toBe(3);
    expect(planNewReplicaSetScale(d, [rs('n', 3)], rs('n', 3))).toBeUndefined();
    const n = rs('n', 1);
    expect(planNewReplicaSetScale(d, [rs('o', 3), n], n)).toBeUndefined();
  });
});

describe('old ReplicaSets scale-down (reconcileOldReplicaSets)', () => {
  const steps = (d: KubeObject, olds: KubeObject[], n: KubeObject) =>
    planOldReplicaSetsScaleDown(
      d,
      [...olds, n],
      olds.filter((o) => o.spec.replicas > 0),
      n,
    ).map((s) => [s.rs.metadata.name, s.to]);

  it('waits while the new pods are not available (maxUnavailable 0)', () => {
    expect(steps(dep(3, 1, 0), [rs('old', 3)], rs('new', 1, 0))).toEqual([]);
  });

  it('takes one old pod down per available new pod', () => {
    expect(steps(dep(3, 1, 0), [rs('old', 3)], rs('new', 1, 1))).toEqual([['old', 2]]);
    expect(steps(dep(3, 1, 0), [rs('old', 2)], rs('new', 2, 2))).toEqual([['old', 1]]);
  });

  it('uses maxUnavailable up front', () => {
    // 4 replicas, surge 1, unavailable 1: new 1 not yet available; one old may go
    expect(steps(dep(4, 1, 1), [rs('old', 4)], rs('new', 1, 0))).toEqual([['old', 3]]);
  });

  it('removes unhealthy old replicas first, bounded by maxScaledDown', () => {
    // old has 2 unavailable; all 5 - minAvailable 3 - new unavailable 1 = 1 may go
    expect(steps(dep(4, 1, 1), [rs('old', 4, 2)], rs('new', 1, 0))).toEqual([['old', 3]]);
    // with 3 allowed, both unhealthy ones go; availability (2) allows no more
    expect(steps(dep(4, 3, 2), [rs('old', 4, 2)], rs('new', 1, 0))).toEqual([['old', 2]]);
  });

  it('scales the oldest ReplicaSet down first', () => {
    const a = rs('a', 2, 2, { created: 1 });
    const b = rs('b', 2, 2, { created: 2 });
    expect(steps(dep(4, 0, 2), [b, a], rs('new', 0, 0))).toEqual([['a', 0]]);
    expect(steps(dep(4, 0, 3), [b, a], rs('new', 0, 0))).toEqual([
      ['a', 0],
      ['b', 1],
    ]);
  });

  it('does nothing once the old ones are at zero', () => {
    expect(steps(dep(3, 1, 0), [rs('old', 0, 0)], rs('new', 3, 3))).toEqual([]);
  });
});

describe('scaling events (sync.go scale, proportional scaling)', () => {
  const plan = (d: KubeObject, n: KubeObject | undefined, olds: KubeObject[]) =>
    planScale(d, n, olds).map((s) => [s.rs.metadata.name, s.to]);

  it('one active ReplicaSet takes the whole count', () => {
    expect(plan(dep(5, 1, 1), rs('new', 3), [rs('old', 0)])).toEqual([['new', 5]]);
    expect(plan(dep(5, 1, 1), rs('new', 5), [])).toEqual([]);
    // paused with no new RS: the active old one scales
    expect(plan(dep(2, 1, 1), undefined, [rs('old', 4)])).toEqual([['old', 2]]);
  });

  it('a saturated new RS sends the old ones to zero', () => {
    expect(plan(dep(3, 1, 0), rs('new', 3, 3, { desired: 3 }), [rs('old', 1)])).toEqual([['old', 0]]);
  });

  it('spreads extra replicas proportionally mid-rollout (10 → 15: 3 to old, 2 to new)', () => {
    const d = dep(15, 3, 2);
    const old = rs('old', 8, 8, { max: 13, created: 1 });
    const n = rs('new', 5, 0, { max: 13, created: 2 });
    expect(plan(d, n, [old])).toEqual([
      ['old', 11],
      ['new', 7],
    ]);
  });

  it('takes replicas away proportionally, the remainder from the biggest', () => {
    const d = dep(5, 1, 1);
    const old = rs('old', 6, 6, { max: 11, created: 1 });
    const n = rs('new', 5, 0, { max: 11, created: 2 });
    // allowed 6, remove 5: old round(6*6/11)=3 → -3, new round(5*6/11)=3 → -2
    expect(plan(d, n, [old])).toEqual([
      ['old', 3],
      ['new', 3],
    ]);
  });

  it('GetProportion falls back to status.replicas without the max-replicas annotation', () => {
    const d = { ...dep(20, 0, 1), status: { replicas: 10 } };
    expect(getProportion(rs('x', 5), d, 10, 0, undefined)).toBe(5);
    expect(getProportion(rs('x', 5), d, 3, 0, undefined)).toBe(3); // never more than allowed
    expect(getProportion(rs('x', 0), d, 3, 0, undefined)).toBe(0);
  });
});

describe('Recreate: old pods still running', () => {
  it('counts old RS replicas and non-terminal pods, ignores the new RS and finished pods', () => {
    const n = rs('new', 0);
    const old = rs('old', 0, 0, { statusReplicas: 0 });
    const pod = (phase: string) => ({ metadata: { name: phase }, status: { phase } });
    expect(oldPodsRunning(n, [rs('o', 0, 0, { statusReplicas: 1 })], new Map())).toBe(true);
    expect(oldPodsRunning(n, [old], new Map([['uid-old', [pod('Running')]]]))).toBe(true);
    expect(oldPodsRunning(n, [old], new Map([['uid-old', [pod('Succeeded'), pod('Failed')]]]))).toBe(false);
    expect(oldPodsRunning(n, [old], new Map([['uid-new', [pod('Running')]]]))).toBe(false);
  });
});
