// Node sampling (kube-scheduler's percentageOfNodesToScore): numFeasibleNodesToFind, the
// rotating start index, correctness for pods that fit few nodes; and the scheduler cache's
// incremental snapshot with assumed pods.
import { describe, expect, it } from 'vitest';
import { parseServerArgs } from '../../controlplane/config.js';
import { SchedulerCache } from '../../controlplane/scheduler/cache.js';
import { numFeasibleNodesToFind, schedule, type NodeSampling } from '../../controlplane/scheduler/framework.js';
import { buildSnapshot } from '../../controlplane/scheduler/node-info.js';
import { defaultProfile } from '../../controlplane/scheduler/profile.js';
import { info, node, pod } from './scheduler-fixtures.js';

describe('numFeasibleNodesToFind', () => {
  it.each([
    { pct: 0, all: 0, want: 0 },
    { pct: 0, all: 10, want: 10 },
    { pct: 0, all: 99, want: 99 },
    { pct: 0, all: 100, want: 100 }, // 50 - 0 = 50% of 100 = 50 -> at least 100
    { pct: 0, all: 1000, want: 420 }, // 50 - 8 = 42%
    { pct: 0, all: 5000, want: 500 }, // 50 - 40 = 10%
    { pct: 0, all: 6000, want: 300 }, // 50 - 48 = 2% -> 5%
    { pct: 0, all: 100000, want: 5000 }, // 5%
    { pct: 40, all: 10, want: 10 },
    { pct: 40, all: 1000, want: 400 },
    { pct: 1, all: 1000, want: 100 }, // at least minFeasibleNodesToFind
    { pct: 100, all: 1000, want: 1000 },
  ])('$pct% of $all nodes -> $want', ({ pct, all, want }) => {
    expect(numFeasibleNodesToFind(pct, all)).toBe(want);
  });
});

const names = (n: number) => Array.from({ length: n }, (_, i) => `n${String(i).padStart(4, '0')}`);

describe('schedule with sampling', () => {
  const profile = defaultProfile('spread');

  it('stops after numFeasibleNodesToFind feasible nodes and rotates the start index past the nodes processed', () => {
    const infos = names(1000).map((n) => info(node(n)));
    const sampling: NodeSampling = { percentageOfNodesToScore: 0, nextStartNodeIndex: 0 };
    const r1 = schedule(pod('p'), infos, profile, { sampling, random: () => 0 });
    expect('node' in r1).toBe(true);
    expect(sampling.nextStartNodeIndex).toBe(420);
    // all nodes equal: the chosen node is among the sampled first 420
    expect(infos.findIndex((i) => 'node' in r1 && i.name === r1.node)).toBeLessThan(420);
    schedule(pod('q'), infos, profile, { sampling });
    expect(sampling.nextStartNodeIndex).toBe(840);
    schedule(pod('r'), infos, profile, { sampling });
    expect(sampling.nextStartNodeIndex).toBe((840 + 420) % 1000); // wraps around
  });

  it('a pod that fits few nodes still finds them wherever the start index is', () => {
    const all = names(1000);
    const fits = new Set(['n0003', 'n0500', 'n0999']);
    const infos = all.map((n) => info(node(n, fits.has(n) ? { cpu: '64' } : { cpu: '1' })));
    const sampling: NodeSampling = { percentageOfNodesToScore: 0, nextStartNodeIndex: 600 };
    const r = schedule(pod('big', { requests: { cpu: '32' } }), infos, profile, { sampling });
    expect('node' in r && fits.has(r.node)).toBe(true);
    // every node was processed (fewer feasible than wanted): back where it started
    expect(sampling.nextStartNodeIndex).toBe(600);
  });

  it('a pod that fits nowhere gets the complete FitError', () => {
    const infos = names(200).map((n) => info(node(n, { cpu: '1' })));
    const sampling: NodeSampling = { percentageOfNodesToScore: 0, nextStartNodeIndex: 77 };
    const r = schedule(pod('big', { requests: { cpu: '2' } }), infos, profile, { sampling });
    expect('error' in r && r.error.message).toBe('0/200 nodes are available: 200 Insufficient cpu.');
  });

  it('below 100 nodes every node is scored (the best one wins)', () => {
    const infos = names(50).map((n) => info(node(n, n === 'n0049' ? { cpu: '64' } : {})));
    const sampling: NodeSampling = { percentageOfNodesToScore: 0, nextStartNodeIndex: 3 };
    const r = schedule(pod('p', { requests: { cpu: '1' } }), infos, profile, { sampling });
    expect(r).toEqual({ node: 'n0049' });
  });
});

describe('SchedulerCache snapshot', () => {
  const withMeta = (p: ReturnType<typeof pod>, rv: string) => ({
    ...p,
    metadata: { ...p.metadata, uid: `uid-${p.metadata.name}`, resourceVersion: rv },
  });

  it('matches a full rebuild as pods are assumed, bound, forgotten and deleted', () => {
    const c = new SchedulerCache();
    const nodes = [node('b'), node('a')];
    for (const n of nodes) c.upsertNode(n);
    const p1 = withMeta(pod('p1', { requests: { cpu: '1' } }), '10');
    const p2 = withMeta(pod('p2', { requests: { cpu: '2' } }), '11');
    c.upsertPod(p1);
    c.upsertPod(p2);
    const reqs = () => c.snapshot().map((i) => [i.name, i.requested.cpu ?? 0, i.pods.length]);
    expect(reqs()).toEqual([
      ['a', 0, 0],
      ['b', 0, 0],
    ]);
    const before = c.snapshot();
    c.assume(p1, 'a');
    expect(c.isAssumed('default/p1')).toBe(true);
    expect(reqs()).toEqual([
      ['a', 1000, 1],
      ['b', 0, 0],
    ]);
    expect(before[0]!.pods.length).toBe(0); // an earlier snapshot is not changed
    c.assume(p2, 'b');
    c.finishBinding(p2); // the binding failed: forgotten
    expect(reqs()).toEqual([
      ['a', 1000, 1],
      ['b', 0, 0],
    ]);
    const bound = withMeta({ ...p1, spec: { ...p1.spec, nodeName: 'a' } }, '12');
    c.finishBinding(p1, bound);
    expect(c.isAssumed('default/p1')).toBe(false);
    expect(reqs()).toEqual([
      ['a', 1000, 1],
      ['b', 0, 0],
    ]);
    expect(c.snapshot()).toEqual(buildSnapshot(nodes, [bound, p2]));
    c.deletePod(bound);
    expect(reqs()).toEqual([
      ['a', 0, 0],
      ['b', 0, 0],
    ]);
    c.deleteNode('a');
    expect(c.snapshot().map((i) => i.name)).toEqual(['b']);
  });
});

describe('--percentage-of-nodes-to-score', () => {
  it('defaults to 0 (adaptive), takes 0..100, refuses anything else', () => {
    expect(parseServerArgs([]).percentageOfNodesToScore).toBe(0);
    expect(parseServerArgs(['--percentage-of-nodes-to-score', '100']).percentageOfNodesToScore).toBe(100);
    expect(parseServerArgs(['--percentage-of-nodes-to-score', '30']).percentageOfNodesToScore).toBe(30);
    for (const bad of ['101', '-1', '2.5', 'x', ''])
      expect(() => parseServerArgs(['--percentage-of-nodes-to-score', bad])).toThrow(/percentage-of-nodes-to-score/);
  });
});
