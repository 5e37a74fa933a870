// pod-template-hash, ReplicaSet naming, semantic template equality and revision handling
// (what `kubectl rollout undo` and `rollout history` depend on).
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import {
  computeHash,
  equalIgnoreHash,
  fnv32a,
  safeEncodeString,
} from '../../controlplane/controllers/deployment/template-hash.js';
import {
  findActiveOrLatest,
  findNewReplicaSet,
  findOldReplicaSets,
  lastRevision,
  maxRevision,
  revisionOf,
  setNewReplicaSetAnnotations,
} from '../../controlplane/controllers/deployment/replica-sets.js';
import { defaultPodTemplate } from '../../controlplane/resources/pod-template.js';

const tpl = (image = 'busybox:1.36', extra: Record<string, unknown> = {}) => ({
  metadata: { labels: { app: 'web' } },
  spec: { containers: [{ name: 'c', image, ...extra }] },
});

const defaulted = (t: any) => {
  const c = structuredClone(t);
  defaultPodTemplate(c);
  return c;
};

describe('hash and naming', () => {
  it('FNV-32a matches the reference vectors', () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    expect(fnv32a(enc(''))).toBe(0x811c9dc5);
    expect(fnv32a(enc('a'))).toBe(0xe40c292c);
    expect(fnv32a(enc('foobar'))).toBe(0xbf9cf968);
  });

  it('SafeEncodeString maps digits onto consonants and vowel-free digits', () => {
    expect(safeEncodeString('0123456789')).toBe('456789bcdf');
  });

  it('is stable, label-safe, ignores the hash label and defaults, changes with the template and collisionCount', () => {
    const h = computeHash(tpl());
    expect(h).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
    expect(computeHash(tpl())).toBe(h);
    expect(computeHash(defaulted(tpl()))).toBe(h);
    const labelled = tpl();
    (labelled.metadata.labels as Record<string, string>)['pod-template-hash'] = h;
    expect(computeHash(labelled)).toBe(h);
    expect(computeHash(tpl('busybox:1.37'))).not.toBe(h);
    expect(computeHash(tpl(), 0)).not.toBe(h);
    expect(computeHash(tpl(), 1)).not.toBe(computeHash(tpl(), 0));
    // key order does not matter
    expect(computeHash({ spec: tpl().spec, metadata: tpl().metadata })).toBe(h);
  });
});

describe('semantic template equality (EqualIgnoreHash)', () => {
  it.each([
    [
      'the pod-template-hash label',
      tpl(),
      { ...tpl(), metadata: { labels: { app: 'web', 'pod-template-hash': 'abc' } } },
    ],
    ['creationTimestamp: null', tpl(), { ...tpl(), metadata: { labels: { app: 'web' }, creationTimestamp: null } }],
    ['defaulted fields', tpl(), defaulted(tpl())],
    ['resources: {} and empty lists', tpl(), tpl('busybox:1.36', { resources: {}, env: [], ports: [] })],
    [
      'quantity spellings',
      tpl('b', { resources: { limits: { cpu: '1', memory: '128Mi' } } }),
      tpl('b', { resources: { limits: { cpu: '1000m', memory: '134217728' } } }),
    ],
  ])('ignores %s', (_what, a, b) => {
    expect(equalIgnoreHash(a, b)).toBe(true);
    expect(equalIgnoreHash(b, a)).toBe(true);
  });

  it.each([
    ['the image', tpl('busybox:1'), tpl('busybox:2')],
    ['a label', tpl(), { ...tpl(), metadata: { labels: { app: 'web', tier: 'x' } } }],
    [
      'a restartedAt annotation (rollout restart)',
      tpl(),
      {
        ...tpl(),
        metadata: {
          labels: { app: 'web' },
          annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-01-01T00:00:00Z' },
        },
      },
    ],
    [
      'a quantity',
      tpl('b', { resources: { limits: { cpu: '1' } } }),
      tpl('b', { resources: { limits: { cpu: '2' } } }),
    ],
    ['an explicit non-default', tpl(), tpl('busybox:1.36', { imagePullPolicy: 'Always' })],
  ])('sees a change in %s', (_what, a, b) => {
    expect(equalIgnoreHash(a, b)).toBe(false);
  });
});

function rs(name: string, revision: string | undefined, template: unknown, created: number, replicas = 0): KubeObject {
  return {
    metadata: {
      name,
      uid: `uid-${name}`,
      creationTimestamp: new Date(Date.UTC(2025, 0, 1, 0, 0, created)).toISOString(),
      annotations: revision === undefined ? {} : { 'deployment.kubernetes.io/revision': revision },
    },
    spec: { replicas, template },
  };
}

describe('revisions and rollback', () => {
  const v1 = defaulted({ ...tpl('busybox:1'), metadata: { labels: { app: 'web', 'pod-template-hash': 'h1' } } });
  const v2 = defaulted({ ...tpl('busybox:2'), metadata: { labels: { app: 'web', 'pod-template-hash': 'h2' } } });
  const rs1 = rs('web-h1', '1', v1, 1);
  const rs2 = rs('web-h2', '2', v2, 2, 3);

  it('max and last (undo target) revisions, skipping unparsable ones', () => {
    expect(maxRevision([rs1, rs2])).toBe(2);
    expect(lastRevision([rs1, rs2])).toBe(1);
    expect(lastRevision([rs2])).toBe(0);
    const bad = rs('bad', 'x', v1, 3);
    expect(revisionOf(bad)).toBeUndefined();
    expect(maxRevision([rs1, bad])).toBe(1);
    expect(lastRevision([rs1, rs2, rs('c', '7', v1, 4)])).toBe(2);
  });

  it('after `rollout undo` (the old template without its hash) the old RS is the new one again', () => {
    const undoTemplate = structuredClone(v1);
    delete undoTemplate.metadata.labels['pod-template-hash'];
    const d: KubeObject = {
      metadata: { name: 'web', annotations: { 'deployment.kubernetes.io/revision': '2' } },
      spec: { replicas: 3, template: undoTemplate },
    };
    expect(findNewReplicaSet(d, [rs2, rs1])?.metadata.name).toBe('web-h1');
    expect(findOldReplicaSets(d, [rs2, rs1]).map((r) => r.metadata.name)).toEqual(['web-h2']);
    // its revision becomes max(old)+1, the previous one goes to revision-history
    const copy = structuredClone(rs1);
    expect(setNewReplicaSetAnnotations(d, copy, maxRevision([rs2]) + 1, true, 1)).toBe(true);
    expect(copy.metadata.annotations).toEqual({
      'deployment.kubernetes.io/revision': '3',
      'deployment.kubernetes.io/revision-history': '1',
    });
    expect(setNewReplicaSetAnnotations(d, copy, 3, true, 1)).toBe(false);
    // rolled back to again later: the history grows
    expect(setNewReplicaSetAnnotations(d, copy, 5, true, 1)).toBe(true);
    expect(copy.metadata.annotations!['deployment.kubernetes.io/revision-history']).toBe('1,3');
  });

  it('the oldest equal ReplicaSet wins', () => {
    const twin = rs('web-h1b', '4', v1, 9);
    const d: KubeObject = { metadata: { name: 'web' }, spec: { template: v1 } };
    expect(findNewReplicaSet(d, [twin, rs1])?.metadata.name).toBe('web-h1');
  });

  it('copies Deployment annotations except the ones that stay (revision, last-applied, replicas)', () => {
    const d: KubeObject = {
      metadata: {
        name: 'web',
        annotations: {
          'deployment.kubernetes.io/revision': '9',
          'kubernetes.io/change-cause': 'set image',
          'kubectl.kubernetes.io/last-applied-configuration': '{}',
          'deployment.kubernetes.io/desired-replicas': '7',
        },
      },
      spec: { replicas: 3 },
    };
    const fresh = rs('web-h3', undefined, v1, 5);
    setNewReplicaSetAnnotations(d, fresh, 3, false, 1);
    expect(fresh.metadata.annotations).toEqual({
      'kubernetes.io/change-cause': 'set image',
      'deployment.kubernetes.io/revision': '3',
      'deployment.kubernetes.io/desired-replicas': '3',
      'deployment.kubernetes.io/max-replicas': '4',
    });
  });

  it('FindActiveOrLatest: the only active one, else the newest, else none', () => {
    const a = rs('a', '1', v1, 1, 0);
    const b = rs('b', '2', v1, 2, 0);
    const c = rs('c', '3', v1, 3, 2);
    expect(findActiveOrLatest(undefined, [a, b])?.metadata.name).toBe('b');
    expect(findActiveOrLatest(a, [b])?.metadata.name).toBe('a');
    expect(findActiveOrLatest(a, [b, c])?.metadata.name).toBe('c');
    expect(findActiveOrLatest(rs('n', '4', v1, 4, 1), [c])).toBeUndefined();
  });
});
