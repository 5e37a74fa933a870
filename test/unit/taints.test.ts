// Toleration.ToleratesTaint (k8s.io/api/core/v1 toleration.go and its toleration_test.go
// cases), the one matcher the scheduler, the DaemonSet controller and the taint manager
// share: an empty effect matches every effect, an empty key every key, the operator
// defaults to Equal, Exists ignores the value, an unknown operator matches nothing.
import { describe, expect, it } from 'vitest';
import {
  findUntoleratedTaint,
  taintsOf,
  toleratesTaint,
  tolerationsOf,
  tolerationsTolerateTaint,
  type Taint,
  type Toleration,
} from '../../proto/api/taints.js';

const taint: Taint = { key: 'memory-pressure', value: 'high', effect: 'NoSchedule' };

const cases: [string, Toleration, Taint, boolean][] = [
  [
    'Exists with the same key and effect (value ignored)',
    { key: 'memory-pressure', value: 'ignored', effect: 'NoSchedule', operator: 'Exists' },
    taint,
    true,
  ],
  [
    'Equal with the same key, value and effect',
    { key: 'memory-pressure', value: 'high', effect: 'NoSchedule', operator: 'Equal' },
    taint,
    true,
  ],
  [
    'Equal with another value',
    { key: 'memory-pressure', value: 'low', effect: 'NoSchedule', operator: 'Equal' },
    taint,
    false,
  ],
  ['no operator is Equal: same value', { key: 'memory-pressure', value: 'high', effect: 'NoSchedule' }, taint, true],
  ['no operator is Equal: another value', { key: 'memory-pressure', value: 'low', effect: 'NoSchedule' }, taint, false],
  [
    'Equal with no value against a taint without value',
    { key: 'k', operator: 'Equal' },
    { key: 'k', effect: 'NoExecute' },
    true,
  ],
  ['another key', { key: 'disk-pressure', effect: 'NoSchedule', operator: 'Exists' }, taint, false],
  ['another effect', { key: 'memory-pressure', effect: 'NoExecute', operator: 'Exists' }, taint, false],
  ['an empty effect matches every effect', { key: 'memory-pressure', operator: 'Exists' }, taint, true],
  ['an empty key with Exists matches every taint', { operator: 'Exists' }, taint, true],
  [
    'an empty key with Exists and an effect matches that effect only',
    { operator: 'Exists', effect: 'NoExecute' },
    taint,
    false,
  ],
  // the node lifecycle controller's old matcher said false here; upstream compares only the value
  ['an empty key with Equal matches every key with the same value', { operator: 'Equal', value: 'high' }, taint, true],
  ['an empty key with no operator and no value: only taints without value', { effect: 'NoSchedule' }, taint, false],
  // and treated an unknown operator as Equal
  ['an unknown operator matches nothing', { key: 'memory-pressure', value: 'high', operator: 'Lt' }, taint, false],
];

describe('toleratesTaint', () => {
  it.each(cases)('%s', (_name, toleration, t, want) => {
    expect(toleratesTaint(toleration, t)).toBe(want);
  });

  it('finds the first untolerated taint among those the filter keeps', () => {
    const taints: Taint[] = [
      { key: 'a', effect: 'PreferNoSchedule' },
      { key: 'b', effect: 'NoSchedule' },
      { key: 'c', effect: 'NoExecute' },
    ];
    const noSchedule = (t: Taint) => t.effect === 'NoSchedule' || t.effect === 'NoExecute';
    expect(findUntoleratedTaint(taints, [], noSchedule)).toEqual(taints[1]);
    expect(findUntoleratedTaint(taints, [{ key: 'b', operator: 'Exists' }], noSchedule)).toEqual(taints[2]);
    expect(findUntoleratedTaint(taints, [{ operator: 'Exists' }], noSchedule)).toBeUndefined();
    expect(tolerationsTolerateTaint([{ key: 'x', operator: 'Exists' }], taints[0]!)).toBe(false);
  });

  it('reads taints and tolerations, dropping entries that are not objects', () => {
    expect(taintsOf({ spec: { taints: [{ key: 'a', effect: 'NoSchedule' }, null, 'x'] } })).toEqual([
      { key: 'a', effect: 'NoSchedule' },
    ]);
    expect(taintsOf({})).toEqual([]);
    expect(tolerationsOf({ spec: { tolerations: 'nope' } })).toEqual([]);
    expect(tolerationsOf({ spec: { tolerations: [{ operator: 'Exists' }, 3] } })).toEqual([{ operator: 'Exists' }]);
  });
});
