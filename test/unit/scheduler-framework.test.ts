import { describe, expect, it } from 'vitest';
import { fitErrorMessage, schedule, type NodeInfo } from '../../controlplane/scheduler/framework.js';
import { buildSnapshot } from '../../controlplane/scheduler/node-info.js';
import { defaultProfile } from '../../controlplane/scheduler/profile.js';
import type { KubeObject } from '../../proto/meta.js';
import { info, node, pod } from './scheduler-fixtures.js';

const spread = defaultProfile('spread');
const binpack = defaultProfile('binpack');

function scheduled(r: ReturnType<typeof schedule>): string {
  if ('error' in r) throw new Error(`expected a node, got: ${r.error.message}`);
  return r.node;
}

function failed(r: ReturnType<typeof schedule>): string {
  if (!('error' in r)) throw new Error(`expected a FitError, got node ${r.node}`);
  return r.error.message;
}

describe('FitError message', () => {
  it.each([
    {
      name: 'the issue example',
      nodes: [
        info(node('a', { memory: '1Gi' })),
        info(node('b', { unschedulable: true })),
        info(node('c', { taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }] })),
      ],
      p: pod('p', { requests: { memory: '2Gi' } }),
      want: '0/3 nodes are available: 1 Insufficient memory, 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 1 node(s) were unschedulable.',
    },
    {
      name: 'counts aggregate per reason',
      nodes: [
        info(node('a', { memory: '1Gi' })),
        info(node('b', { memory: '1Gi' })),
        info(node('c', { unschedulable: true })),
      ],
      p: pod('p', { requests: { memory: '2Gi' } }),
      want: '0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient memory.',
    },
    {
      name: 'a node can give several reasons from one plugin',
      nodes: [
        info(node('a', { cpu: '1', memory: '1Gi' })),
        info(node('b', { labels: { zone: 'x' } })),
        info(node('c', { labels: { zone: 'y' } })),
      ],
      p: pod('p', { requests: { cpu: '2', memory: '2Gi' }, nodeSelector: { zone: 'z' } }),
      want: "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.",
    },
    {
      name: 'first rejecting filter wins (unschedulable before resources)',
      nodes: [info(node('a', { cpu: '1', unschedulable: true })), info(node('b', { cpu: '1' }))],
      p: pod('p', { requests: { cpu: '2', memory: '9Gi' } }),
      want: '0/2 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 1 node(s) were unschedulable.',
    },
    {
      name: 'not ready nodes read as their taint',
      nodes: [
        info(node('a', { ready: 'False' })),
        info(node('b', { ready: 'Unknown' })),
        info(node('c', { cpu: '1' })),
      ],
      p: pod('p', { requests: { cpu: '2' } }),
      want: '0/3 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }.',
    },
    { name: 'no nodes at all', nodes: [] as NodeInfo[], p: pod('p'), want: 'no nodes available to schedule pods' },
  ])('$name', ({ nodes, p, want }) => {
    expect(failed(schedule(p, nodes, spread))).toBe(want);
  });

  it('sorts "<count> <reason>" as strings, as sort.Strings does', () => {
    const reasons = new Map<string, string[]>();
    for (let i = 0; i < 10; i++) reasons.set(`a${i}`, ['Insufficient cpu']);
    reasons.set('b', ['Too many pods']);
    reasons.set('c', ['Too many pods']);
    expect(fitErrorMessage(12, reasons)).toBe('0/12 nodes are available: 10 Insufficient cpu, 2 Too many pods.');
  });
});

describe('schedule', () => {
  const busy = (name: string, cpu: string) =>
    info(node(name, { cpu: '4', memory: '8Gi' }), [pod(`${name}-load`, { requests: { cpu, memory: '1Gi' } })]);

  it('spread picks the emptiest node, binpack the fullest that fits', () => {
    const nodes = [busy('a', '3'), busy('b', '1'), busy('c', '2')];
    const p = pod('p', { requests: { cpu: '500m', memory: '512Mi' } });
    expect(scheduled(schedule(p, nodes, spread))).toBe('b');
    expect(scheduled(schedule(p, nodes, binpack))).toBe('a');
  });

  it('binpack skips a node the pod does not fit', () => {
    const nodes = [busy('a', '3800m'), busy('b', '1')];
    expect(scheduled(schedule(pod('p', { requests: { cpu: '500m' } }), nodes, binpack))).toBe('b');
  });

  it('pods without requests still spread (non-zero scoring defaults)', () => {
    const nodes = [info(node('a'), [pod('x1'), pod('x2')]), info(node('b'), [pod('y1')])];
    expect(scheduled(schedule(pod('p'), nodes, spread))).toBe('b');
  });

  it('spreads replicas of one owner across otherwise equal nodes', () => {
    const nodes = [
      info(node('a'), [pod('w1', { owner: 'web', requests: { cpu: '100m' } })]),
      info(node('b'), [pod('o1', { owner: 'other', requests: { cpu: '100m' } })]),
    ];
    expect(scheduled(schedule(pod('w2', { owner: 'web', requests: { cpu: '100m' } }), nodes, spread))).toBe('b');
    expect(scheduled(schedule(pod('o2', { owner: 'other', requests: { cpu: '100m' } }), nodes, spread))).toBe('a');
  });

  it('prefers a node without PreferNoSchedule taints', () => {
    const nodes = [info(node('a', { taints: [{ key: 'k', effect: 'PreferNoSchedule' }] })), info(node('b'))];
    expect(scheduled(schedule(pod('p'), nodes, spread))).toBe('b');
  });

  it('breaks ties at random among the best nodes', () => {
    const nodes = [info(node('a')), info(node('b')), info(node('c'))];
    const p = pod('p');
    // reservoir sampling: node i replaces the pick when random()*ties < 1
    expect(scheduled(schedule(p, nodes, spread, { random: () => 0.99 }))).toBe('a');
    expect(scheduled(schedule(p, nodes, spread, { random: () => 0 }))).toBe('c');
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) seen.add(scheduled(schedule(p, nodes, spread)));
    expect([...seen].sort()).toEqual(['a', 'b', 'c']);
  });

  it('a burst spreads evenly when each placement is added to the snapshot', () => {
    const nodes: KubeObject[] = [node('a'), node('b'), node('c')];
    const bound: KubeObject[] = [];
    for (let i = 0; i < 30; i++) {
      const p = pod(`w${i}`, { owner: 'web', requests: { cpu: '100m', memory: '100Mi' } });
      const target = scheduled(schedule(p, buildSnapshot(nodes, bound), spread));
      bound.push({ ...p, spec: { ...p.spec, nodeName: target } });
    }
    const counts = ['a', 'b', 'c'].map((n) => bound.filter((p) => p.spec.nodeName === n).length);
    expect(counts).toEqual([10, 10, 10]);
  });

  it('binpack fills one node before the next', () => {
    const nodes: KubeObject[] = [node('a', { cpu: '1' }), node('b', { cpu: '1' })];
    const bound: KubeObject[] = [];
    for (let i = 0; i < 4; i++) {
      const p = pod(`w${i}`, { requests: { cpu: '250m', memory: '100Mi' } });
      const target = scheduled(schedule(p, buildSnapshot(nodes, bound), binpack, { random: () => 0.99 }));
      bound.push({ ...p, spec: { ...p.spec, nodeName: target } });
    }
    expect(new Set(bound.map((p) => p.spec.nodeName)).size).toBe(1);
  });
});
