// Tables over the DaemonSet controller's pure choices: what a node needs, which old pods
// a rolling update replaces under maxUnavailable / maxSurge, and the status numbers.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import {
  computeCounts,
  planRollingUpdate,
  podsShouldBeOnNode,
  type PlanOptions,
} from '../../controlplane/controllers/daemon-set/plan.js';
import { scaledValue } from '../../controlplane/controllers/daemon-set/pods.js';

const NOW = Date.parse('2025-01-01T00:10:00Z');
const NEW = 'newhash';
const OLD = 'oldhash';

function pod(
  name: string,
  o: {
    hash?: string;
    ready?: boolean;
    phase?: string;
    deleting?: boolean;
    created?: string;
    readySince?: string;
    node?: string;
  } = {},
): KubeObject {
  return {
    metadata: {
      name,
      uid: `uid-${name}`,
      creationTimestamp: o.created ?? '2025-01-01T00:00:00Z',
      labels: { app: 'a', 'controller-revision-hash': o.hash ?? NEW },
      ...(o.deleting ? { deletionTimestamp: '2025-01-01T00:09:00Z' } : {}),
    },
    spec: { nodeName: o.node ?? 'n' },
    status: {
      phase: o.phase ?? 'Running',
      conditions: [
        {
          type: 'Ready',
          status: o.ready === false ? 'False' : 'True',
          lastTransitionTime: o.readySince ?? '2025-01-01T00:01:00Z',
        },
      ],
    },
  };
}

const opts = (o: Partial<PlanOptions> = {}): PlanOptions => ({
  hash: NEW,
  allowsSurge: false,
  minReadySeconds: 0,
  now: NOW,
  ...o,
});
const RUN = { shouldRun: true, shouldContinueRunning: true };
const STAY = { shouldRun: false, shouldContinueRunning: true };
const NO = { shouldRun: false, shouldContinueRunning: false };
const names = (ps: KubeObject[]) => ps.map((p) => p.metadata.name);

describe('podsShouldBeOnNode', () => {
  const cases: Array<
    [string, typeof RUN, KubeObject[], Partial<PlanOptions>, { create: boolean; delete: string[]; failed: string[] }]
  > = [
    ['eligible node without a pod: create', RUN, [], {}, { create: true, delete: [], failed: [] }],
    ['eligible node with its pod: nothing', RUN, [pod('a')], {}, { create: false, delete: [], failed: [] }],
    [
      'a terminating pod still counts: wait for it before creating',
      RUN,
      [pod('a', { deleting: true })],
      {},
      { create: false, delete: [], failed: [] },
    ],
    [
      'two pods: keep the oldest',
      RUN,
      [pod('b', { created: '2025-01-01T00:05:00Z' }), pod('a')],
      {},
      { create: false, delete: ['b'], failed: [] },
    ],
    ['same age: keep by name', RUN, [pod('b'), pod('a')], {}, { create: false, delete: ['b'], failed: [] }],
    [
      'failed pod: delete it (with back-off)',
      RUN,
      [pod('a', { phase: 'Failed' })],
      {},
      { create: false, delete: [], failed: ['a'] },
    ],
    [
      'succeeded pod: delete it',
      RUN,
      [pod('a', { phase: 'Succeeded' })],
      {},
      { create: false, delete: ['a'], failed: [] },
    ],
    ['not eligible but may continue: keep', STAY, [pod('a')], {}, { create: false, delete: [], failed: [] }],
    ['not eligible but may continue, no pod: do not create', STAY, [], {}, { create: false, delete: [], failed: [] }],
    [
      'must not run: delete every pod not already terminating',
      NO,
      [pod('a'), pod('b', { deleting: true })],
      {},
      { create: false, delete: ['a'], failed: [] },
    ],
    ['must not run, no pods: nothing', NO, [], {}, { create: false, delete: [], failed: [] }],
    [
      'surge: old ready + new not yet available: keep both',
      RUN,
      [pod('old', { hash: OLD }), pod('new', { ready: false, created: '2025-01-01T00:05:00Z' })],
      { allowsSurge: true },
      { create: false, delete: [], failed: [] },
    ],
    [
      'surge: new available: retire the old one',
      RUN,
      [pod('old', { hash: OLD }), pod('new', { created: '2025-01-01T00:05:00Z' })],
      { allowsSurge: true },
      { create: false, delete: ['old'], failed: [] },
    ],
    [
      'surge: old not ready: retire it',
      RUN,
      [pod('old', { hash: OLD, ready: false }), pod('new', { ready: false })],
      { allowsSurge: true },
      { create: false, delete: ['old'], failed: [] },
    ],
    [
      'surge: only a terminating pod: create a new one now',
      RUN,
      [pod('old', { hash: OLD, deleting: true })],
      { allowsSurge: true },
      { create: true, delete: [], failed: [] },
    ],
    [
      'surge: extra new pods go',
      RUN,
      [pod('n1'), pod('n2', { created: '2025-01-01T00:05:00Z' })],
      { allowsSurge: true },
      { create: false, delete: ['n2'], failed: [] },
    ],
  ];
  for (const [name, d, pods, o, want] of cases) {
    it(name, () => {
      const r = podsShouldBeOnNode(d, pods, opts(o));
      expect({ create: r.create, delete: names(r.delete), failed: names(r.failed) }).toEqual(want);
    });
  }
});

describe('planRollingUpdate', () => {
  const nodes = (m: Record<string, KubeObject[]>) => new Map(Object.entries(m));
  const all = () => true;

  it('maxUnavailable 1: replaces one old available pod at a time', () => {
    const p = planRollingUpdate(
      {
        nodeToPods: nodes({ a: [pod('a', { hash: OLD })], b: [pod('b', { hash: OLD })], c: [pod('c', { hash: OLD })] }),
        shouldRun: all,
        maxUnavailable: 1,
        maxSurge: 0,
      },
      opts(),
    );
    expect(names(p.podsToDelete)).toEqual(['a']);
    expect(p.nodesToCreate).toEqual([]);
  });

  it('maxUnavailable 2 of 3 old: two at once', () => {
    const p = planRollingUpdate(
      {
        nodeToPods: nodes({ a: [pod('a', { hash: OLD })], b: [pod('b', { hash: OLD })], c: [pod('c', { hash: OLD })] }),
        shouldRun: all,
        maxUnavailable: 2,
        maxSurge: 0,
      },
      opts(),
    );
    expect(names(p.podsToDelete)).toEqual(['a', 'b']);
  });

  it('waits while a replacement is not available yet', () => {
    const p = planRollingUpdate(
      {
        nodeToPods: nodes({ a: [pod('a', { ready: false })], b: [pod('b', { hash: OLD })] }),
        shouldRun: all,
        maxUnavailable: 1,
        maxSurge: 0,
      },
      opts(),
    );
    expect(p.podsToDelete).toEqual([]);
  });

  it('a node that lost its pod (being recreated) counts as unavailable', () => {
    const p = planRollingUpdate(
      { nodeToPods: nodes({ a: [], b: [pod('b', { hash: OLD })] }), shouldRun: all, maxUnavailable: 1, maxSurge: 0 },
      opts(),
    );
    expect(p.podsToDelete).toEqual([]);
  });

  it('terminating old pods do not count as old: the node waits for the manage loop', () => {
    const p = planRollingUpdate(
      {
        nodeToPods: nodes({ a: [pod('a', { hash: OLD, deleting: true })], b: [pod('b', { hash: OLD })] }),
        shouldRun: all,
        maxUnavailable: 1,
        maxSurge: 0,
      },
      opts(),
    );
    expect(p.podsToDelete).toEqual([]);
  });

  it('old pods that are not available are replaced at once, beyond maxUnavailable', () => {
    const p = planRollingUpdate(
      {
        nodeToPods: nodes({
          a: [pod('a', { hash: OLD, ready: false })],
          b: [pod('b', { hash: OLD, ready: false })],
          c: [pod('c', { hash: OLD })],
        }),
        shouldRun: all,
        maxUnavailable: 1,
        maxSurge: 0,
      },
      opts(),
    );
    expect(names(p.podsToDelete)).toEqual(['a', 'b']);
  });

  it('minReadySeconds: a new pod ready for less than that is not available yet', () => {
    const fresh = pod('a', { readySince: '2025-01-01T00:09:55Z' });
    const p = planRollingUpdate(
      {
        nodeToPods: nodes({ a: [fresh], b: [pod('b', { hash: OLD })] }),
        shouldRun: all,
        maxUnavailable: 1,
        maxSurge: 0,
      },
      opts({ minReadySeconds: 30 }),
    );
    expect(p.podsToDelete).toEqual([]);
    const later = planRollingUpdate(
      {
        nodeToPods: nodes({ a: [fresh], b: [pod('b', { hash: OLD })] }),
        shouldRun: all,
        maxUnavailable: 1,
        maxSurge: 0,
      },
      opts({ minReadySeconds: 30, now: NOW + 60_000 }),
    );
    expect(names(later.podsToDelete)).toEqual(['b']);
  });

  it('percentages round up; 0 and 0 falls back to one unavailable', () => {
    const p = planRollingUpdate(
      {
        nodeToPods: nodes({ a: [pod('a', { hash: OLD })], b: [pod('b', { hash: OLD })], c: [pod('c', { hash: OLD })] }),
        shouldRun: all,
        maxUnavailable: '50%',
        maxSurge: 0,
      },
      opts(),
    );
    expect(p.maxUnavailable).toBe(2);
    const q = planRollingUpdate(
      { nodeToPods: nodes({ a: [pod('a', { hash: OLD })] }), shouldRun: all, maxUnavailable: 0, maxSurge: 0 },
      opts(),
    );
    expect(q.maxUnavailable).toBe(1);
    expect(names(q.podsToDelete)).toEqual(['a']);
  });

  it('maxSurge: creates new pods next to old ones, at most maxSurge at a time', () => {
    const p = planRollingUpdate(
      {
        nodeToPods: nodes({ a: [pod('a', { hash: OLD })], b: [pod('b', { hash: OLD })] }),
        shouldRun: all,
        maxUnavailable: 0,
        maxSurge: 1,
      },
      opts({ allowsSurge: true }),
    );
    expect(p.nodesToCreate).toEqual(['a']);
    expect(p.podsToDelete).toEqual([]);
  });

  it('maxSurge: deletes the old pod once the new one is available; waits otherwise', () => {
    const p = planRollingUpdate(
      {
        nodeToPods: nodes({
          a: [pod('a-old', { hash: OLD }), pod('a-new')],
          b: [pod('b-old', { hash: OLD }), pod('b-new', { ready: false })],
        }),
        shouldRun: all,
        maxUnavailable: 0,
        maxSurge: 1,
      },
      opts({ allowsSurge: true }),
    );
    expect(names(p.podsToDelete)).toEqual(['a-old']);
    expect(p.nodesToCreate).toEqual([]);
  });

  it('maxSurge: an old pod on a node that should no longer run it is deleted', () => {
    const p = planRollingUpdate(
      { nodeToPods: nodes({ a: [pod('a', { hash: OLD })] }), shouldRun: () => false, maxUnavailable: 0, maxSurge: 1 },
      opts({ allowsSurge: true }),
    );
    expect(names(p.podsToDelete)).toEqual(['a']);
  });

  it('scaledValue', () => {
    expect([
      scaledValue(2, 10),
      scaledValue('25%', 10),
      scaledValue('10%', 1),
      scaledValue('0%', 5),
      scaledValue(undefined, 3),
    ]).toEqual([2, 3, 1, 0, 0]);
  });
});

describe('computeCounts (kubectl get ds columns)', () => {
  it('counts desired, current, ready, up-to-date, available and misscheduled', () => {
    const nodeToPods = new Map<string, KubeObject[]>([
      ['a', [pod('a')]],
      ['b', [pod('b', { ready: false })]],
      ['c', [pod('c', { hash: OLD })]],
      ['x', [pod('x')]], // on a node that should not run it
    ]);
    const c = computeCounts(
      [
        { name: 'a', shouldRun: true },
        { name: 'b', shouldRun: true },
        { name: 'c', shouldRun: true },
        { name: 'd', shouldRun: true },
        { name: 'x', shouldRun: false },
      ],
      nodeToPods,
      opts(),
    );
    expect(c).toEqual({
      desiredNumberScheduled: 4,
      currentNumberScheduled: 3,
      numberReady: 2,
      numberAvailable: 2,
      updatedNumberScheduled: 2,
      numberMisscheduled: 1,
      numberUnavailable: 2,
    });
  });

  it('availability honours minReadySeconds', () => {
    const c = computeCounts(
      [{ name: 'a', shouldRun: true }],
      new Map([['a', [pod('a', { readySince: '2025-01-01T00:09:50Z' })]]]),
      opts({ minReadySeconds: 30 }),
    );
    expect([c.numberReady, c.numberAvailable, c.numberUnavailable]).toEqual([1, 0, 1]);
  });
});
