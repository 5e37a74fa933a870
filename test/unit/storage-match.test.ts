// findBestMatch as index.go/FindMatchingVolume decide it, one row per rule.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import { findBestMatch, nodeByName, volumeMismatch } from '../../controlplane/storage/match.js';

const claim = (spec: Record<string, unknown> = {}, uid = 'u1'): KubeObject => ({
  metadata: { name: 'data', namespace: 'default', uid },
  spec: {
    accessModes: ['ReadWriteOnce'],
    resources: { requests: { storage: '1Gi' } },
    storageClassName: 'manual',
    ...spec,
  },
});
const pv = (
  name: string,
  size: string,
  spec: Record<string, unknown> = {},
  extra: Partial<KubeObject['metadata']> = {},
  phase = 'Available',
): KubeObject => ({
  metadata: { name, ...extra },
  spec: {
    capacity: { storage: size },
    accessModes: ['ReadWriteOnce'],
    storageClassName: 'manual',
    hostPath: { path: '/x' },
    ...spec,
  },
  status: { phase },
});
const pinned = (node: string) => ({
  nodeAffinity: {
    required: {
      nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] }],
    },
  },
});

const cases: Array<[string, KubeObject, KubeObject[], string | undefined, { node?: string; delay?: boolean }?]> = [
  ['smallest that fits', claim(), [pv('a', '5Gi'), pv('b', '1Gi'), pv('c', '2Gi')], 'b'],
  ['too small never', claim(), [pv('a', '1023Mi')], undefined],
  ['exact in other units', claim(), [pv('a', '1073741824')], 'a'],
  ['class must match', claim(), [pv('a', '1Gi', { storageClassName: 'fast' })], undefined],
  [
    '"" matches only class-less volumes',
    claim({ storageClassName: '' }),
    [pv('a', '1Gi'), pv('b', '2Gi', { storageClassName: '' })],
    'b',
  ],
  ['access modes: all requested', claim({ accessModes: ['ReadWriteMany'] }), [pv('a', '1Gi')], undefined],
  [
    'fewest extra modes first, even if larger',
    claim(),
    [pv('a', '1Gi', { accessModes: ['ReadWriteOnce', 'ReadOnlyMany'] }), pv('b', '3Gi')],
    'b',
  ],
  [
    'only Available volumes',
    claim(),
    [pv('a', '1Gi', {}, {}, 'Released'), pv('b', '1Gi', {}, {}, 'Pending')],
    undefined,
  ],
  [
    'claimRef to someone else skips',
    claim(),
    [pv('a', '1Gi', { claimRef: { namespace: 'default', name: 'other' } })],
    undefined,
  ],
  [
    'pre-bound to the claim wins over a smaller fit',
    claim(),
    [pv('small', '1Gi'), pv('pre', '9Gi', { claimRef: { namespace: 'default', name: 'data' } }, {}, 'Available')],
    'pre',
  ],
  [
    'pre-bound with another uid does not',
    claim(),
    [pv('pre', '9Gi', { claimRef: { namespace: 'default', name: 'data', uid: 'old' } })],
    undefined,
  ],
  [
    'selector',
    claim({ selector: { matchLabels: { tier: 'gold' } } }),
    [pv('a', '1Gi'), pv('b', '2Gi', {}, { labels: { tier: 'gold' } })],
    'b',
  ],
  ['volume mode', claim({ volumeMode: 'Block' }), [pv('a', '1Gi')], undefined],
  ['being deleted', claim(), [pv('a', '1Gi', {}, { deletionTimestamp: '2026-01-01T00:00:00Z' })], undefined],
  ['delayed binding without a node: only pre-bound', claim(), [pv('a', '1Gi')], undefined, { delay: true }],
  [
    'with a node: reachable volumes only',
    claim(),
    [pv('a', '1Gi', pinned('n1')), pv('b', '2Gi', pinned('n2'))],
    'b',
    { node: 'n2' },
  ],
  [
    'pre-bound but on another node: nothing',
    claim(),
    [pv('pre', '1Gi', { ...pinned('n1'), claimRef: { namespace: 'default', name: 'data' } }), pv('b', '2Gi')],
    undefined,
    { node: 'n2' },
  ],
];

describe('findBestMatch', () => {
  it.each(cases)('%s', (_name, c, volumes, want, o = {}) => {
    expect(findBestMatch(c, volumes, o.node ? nodeByName(o.node) : undefined, o.delay ?? false)?.metadata.name).toBe(
      want,
    );
  });

  it('explains why a named volume cannot serve a claim', () => {
    expect(volumeMismatch(pv('a', '1Gi'), claim())).toBeUndefined();
    expect(volumeMismatch(pv('a', '1Mi'), claim())).toBe('requested PV is too small');
    expect(volumeMismatch(pv('a', '1Gi', { storageClassName: 'x' }), claim())).toBe('storageClassName does not match');
    expect(volumeMismatch(pv('a', '1Gi', { accessModes: ['ReadOnlyMany'] }), claim())).toBe('incompatible accessMode');
  });
});
