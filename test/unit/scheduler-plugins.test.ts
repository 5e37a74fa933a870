import { describe, expect, it } from 'vitest';
import { newCycleContext, type FilterPlugin, type FilterResult } from '../../controlplane/scheduler/framework.js';
import { podRequests } from '../../controlplane/scheduler/resources.js';
import { nodeAffinity } from '../../controlplane/scheduler/plugins/node-affinity.js';
import { nodeName } from '../../controlplane/scheduler/plugins/node-name.js';
import { nodePorts } from '../../controlplane/scheduler/plugins/node-ports.js';
import { nodeReady } from '../../controlplane/scheduler/plugins/node-ready.js';
import { nodeResourcesFit } from '../../controlplane/scheduler/plugins/node-resources-fit.js';
import { nodeUnschedulable } from '../../controlplane/scheduler/plugins/node-unschedulable.js';
import { taintToleration } from '../../controlplane/scheduler/plugins/taint-toleration.js';
import { leastRequestedScore } from '../../controlplane/scheduler/plugins/least-allocated.js';
import { mostRequestedScore } from '../../controlplane/scheduler/plugins/most-allocated.js';
import { ownerSpread } from '../../controlplane/scheduler/plugins/owner-spread.js';
import type { KubeObject } from '../../proto/meta.js';
import { info, node, pod } from './scheduler-fixtures.js';
import type { NodeInfo } from '../../controlplane/scheduler/framework.js';

const GI = 1024 ** 3;
const MI = 1024 ** 2;

function run(p: FilterPlugin, podObj: KubeObject, ni: NodeInfo): FilterResult {
  return p.filter(newCycleContext(podObj, [ni]), podObj, ni);
}

function reasons(r: FilterResult): string[] {
  return r.fits ? [] : r.reasons;
}

describe('podRequests', () => {
  it.each([
    { name: 'no requests', p: pod('a'), want: {}, nonZero: { cpu: 100, memory: 200 * MI } },
    {
      name: 'sum of containers',
      p: pod('a', {
        requests: [
          { cpu: '250m', memory: '64Mi' },
          { cpu: '1', memory: '1Gi' },
        ],
      }),
      want: { cpu: 1250, memory: GI + 64 * MI },
      nonZero: { cpu: 1250, memory: GI + 64 * MI },
    },
    {
      name: 'init container larger than the sum',
      p: pod('a', { requests: { cpu: '100m' }, init: [{ cpu: '2', memory: '1Gi' }] }),
      want: { cpu: 2000, memory: GI },
      nonZero: { cpu: 2000, memory: GI },
    },
    {
      name: 'init containers are a max, not a sum',
      p: pod('a', { requests: { cpu: '500m' }, init: [{ cpu: '300m' }, { cpu: '400m' }] }),
      want: { cpu: 500 },
      nonZero: { cpu: 500, memory: 200 * MI },
    },
    {
      name: 'sidecar adds to the sum',
      p: pod('a', { requests: { cpu: '500m' }, init: [{ cpu: '200m', sidecar: 'y' }, { cpu: '600m' }] }),
      want: { cpu: 800 },
      nonZero: { cpu: 800, memory: 400 * MI },
    },
    {
      name: 'overhead added',
      p: pod('a', { requests: { cpu: '100m', memory: '10Mi' }, overhead: { cpu: '50m', memory: '5Mi' } }),
      want: { cpu: 150, memory: 15 * MI },
      nonZero: { cpu: 150, memory: 15 * MI },
    },
    {
      name: 'extended resource',
      p: pod('a', { requests: { 'example.com/gpu': '2' } }),
      want: { 'example.com/gpu': 2 },
      nonZero: { cpu: 100, memory: 200 * MI },
    },
  ])('$name', ({ p, want, nonZero }) => {
    expect(podRequests(p)).toEqual(want);
    expect(podRequests(p, true)).toEqual(nonZero);
  });
});

describe('NodeResourcesFit', () => {
  const n = node('n1', { cpu: '2', memory: '4Gi', pods: '3' });
  it.each([
    { name: 'fits on an empty node', p: pod('p', { requests: { cpu: '2', memory: '4Gi' } }), on: [], want: [] },
    { name: 'too much cpu', p: pod('p', { requests: { cpu: '2100m' } }), on: [], want: ['Insufficient cpu'] },
    {
      name: 'cpu and memory, in that order',
      p: pod('p', { requests: { cpu: '3', memory: '5Gi' } }),
      on: [],
      want: ['Insufficient cpu', 'Insufficient memory'],
    },
    {
      name: 'bound pods count',
      p: pod('p', { requests: { memory: '2Gi' } }),
      on: [pod('x', { requests: { memory: '3Gi' } })],
      want: ['Insufficient memory'],
    },
    {
      name: 'terminal pods do not count',
      p: pod('p', { requests: { memory: '2Gi' } }),
      on: [pod('x', { requests: { memory: '3Gi' }, phase: 'Succeeded' })],
      want: [],
    },
    {
      name: 'init container counts',
      p: pod('p', { requests: { cpu: '100m' }, init: [{ cpu: '1500m' }] }),
      on: [pod('x', { requests: { cpu: '1' } })],
      want: ['Insufficient cpu'],
    },
    {
      name: 'pods capacity, best-effort pods count 1',
      p: pod('p'),
      on: [pod('x'), pod('y'), pod('z')],
      want: ['Too many pods'],
    },
    {
      name: 'too many pods and no cpu',
      p: pod('p', { requests: { cpu: '3' } }),
      on: [pod('x'), pod('y'), pod('z')],
      want: ['Too many pods', 'Insufficient cpu'],
    },
    {
      name: 'best-effort pod fits a full node',
      p: pod('p'),
      on: [pod('x', { requests: { cpu: '2', memory: '4Gi' } })],
      want: [],
    },
    {
      name: 'extended resource missing',
      p: pod('p', { requests: { 'example.com/gpu': '1' } }),
      on: [],
      want: ['Insufficient example.com/gpu'],
    },
  ])('$name', ({ p, on, want }) => {
    expect(reasons(run(nodeResourcesFit, p, info(n, on)))).toEqual(want);
  });
});

describe('TaintToleration', () => {
  const taint = (effect: string, key = 'k', value = 'v') => ({ key, value, effect });
  it.each([
    { name: 'no taints', taints: [], tol: [], want: [] },
    {
      name: 'NoSchedule blocks',
      taints: [taint('NoSchedule')],
      tol: [],
      want: ['node(s) had untolerated taint {k: v}'],
    },
    { name: 'NoExecute blocks', taints: [taint('NoExecute')], tol: [], want: ['node(s) had untolerated taint {k: v}'] },
    { name: 'PreferNoSchedule does not block', taints: [taint('PreferNoSchedule')], tol: [], want: [] },
    {
      name: 'Equal with value',
      taints: [taint('NoSchedule')],
      tol: [{ key: 'k', operator: 'Equal', value: 'v', effect: 'NoSchedule' }],
      want: [],
    },
    {
      name: 'Equal with the wrong value',
      taints: [taint('NoSchedule')],
      tol: [{ key: 'k', operator: 'Equal', value: 'w' }],
      want: ['node(s) had untolerated taint {k: v}'],
    },
    { name: 'default operator is Equal', taints: [taint('NoSchedule')], tol: [{ key: 'k', value: 'v' }], want: [] },
    { name: 'Exists ignores value', taints: [taint('NoSchedule')], tol: [{ key: 'k', operator: 'Exists' }], want: [] },
    {
      name: 'effect must match',
      taints: [taint('NoSchedule')],
      tol: [{ key: 'k', operator: 'Exists', effect: 'NoExecute' }],
      want: ['node(s) had untolerated taint {k: v}'],
    },
    {
      name: 'empty key with Exists tolerates all',
      taints: [taint('NoSchedule'), taint('NoExecute', 'other', '')],
      tol: [{ operator: 'Exists' }],
      want: [],
    },
    {
      name: 'first untolerated taint is reported',
      taints: [taint('NoSchedule', 'a', '1'), taint('NoExecute', 'node.kubernetes.io/unreachable', '')],
      tol: [{ key: 'a', operator: 'Exists' }],
      want: ['node(s) had untolerated taint {node.kubernetes.io/unreachable: }'],
    },
  ])('$name', ({ taints, tol, want }) => {
    expect(reasons(run(taintToleration, pod('p', { tolerations: tol }), info(node('n', { taints }))))).toEqual(want);
  });

  it('scores untolerated PreferNoSchedule taints, fewer is better', () => {
    const nodes = [
      info(node('a')),
      info(node('b', { taints: [{ key: 'x', effect: 'PreferNoSchedule' }] })),
      info(
        node('c', {
          taints: [
            { key: 'x', effect: 'PreferNoSchedule' },
            { key: 'y', effect: 'PreferNoSchedule' },
          ],
        }),
      ),
    ];
    const score = (p: KubeObject) =>
      taintToleration.normalize!(nodes.map((n) => taintToleration.score(newCycleContext(p, nodes), p, n)));
    expect(score(pod('p'))).toEqual([100, 50, 0]);
    expect(score(pod('p', { tolerations: [{ key: 'x', operator: 'Exists', effect: 'PreferNoSchedule' }] }))).toEqual([
      100, 100, 0,
    ]);
    // a NoSchedule toleration does not count for PreferNoSchedule
    expect(score(pod('p', { tolerations: [{ key: 'x', operator: 'Exists', effect: 'NoSchedule' }] }))).toEqual([
      100, 50, 0,
    ]);
  });
});

describe('NodeUnschedulable', () => {
  it.each([
    { name: 'schedulable node', unschedulable: false, tol: [], want: [] },
    { name: 'cordoned node', unschedulable: true, tol: [], want: ['node(s) were unschedulable'] },
    {
      name: 'tolerates the unschedulable taint',
      unschedulable: true,
      tol: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }],
      want: [],
    },
  ])('$name', ({ unschedulable, tol, want }) => {
    expect(reasons(run(nodeUnschedulable, pod('p', { tolerations: tol }), info(node('n', { unschedulable }))))).toEqual(
      want,
    );
  });
});

describe('NodeName', () => {
  it.each([
    { name: 'no nodeName', nn: undefined, want: [] },
    { name: 'matching', nn: 'n', want: [] },
    { name: 'other node', nn: 'm', want: ["node(s) didn't match the requested node name"] },
  ])('$name', ({ nn, want }) => {
    expect(reasons(run(nodeName, pod('p', { nodeName: nn }), info(node('n'))))).toEqual(want);
  });
});

describe('NodeReady', () => {
  it.each([
    { name: 'ready', ready: 'True' as const, tol: [], want: [] },
    {
      name: 'not ready',
      ready: 'False' as const,
      tol: [],
      want: ['node(s) had untolerated taint {node.kubernetes.io/not-ready: }'],
    },
    {
      name: 'no Ready condition yet',
      ready: null,
      tol: [],
      want: ['node(s) had untolerated taint {node.kubernetes.io/not-ready: }'],
    },
    {
      name: 'unknown is unreachable',
      ready: 'Unknown' as const,
      tol: [],
      want: ['node(s) had untolerated taint {node.kubernetes.io/unreachable: }'],
    },
    {
      name: 'NoExecute toleration is not enough',
      ready: 'False' as const,
      tol: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }],
      want: ['node(s) had untolerated taint {node.kubernetes.io/not-ready: }'],
    },
    {
      name: 'tolerated',
      ready: 'False' as const,
      tol: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists' }],
      want: [],
    },
  ])('$name', ({ ready, tol, want }) => {
    expect(reasons(run(nodeReady, pod('p', { tolerations: tol }), info(node('n', { ready }))))).toEqual(want);
  });

  it('reads the status the NodeInfo kept when it was built', () => {
    expect(info(node('n', { ready: 'Unknown' })).ready).toBe('Unknown');
    const kept = { ...info(node('n', { ready: 'True' })), ready: 'False' };
    expect(reasons(run(nodeReady, pod('p'), kept))).toEqual([
      'node(s) had untolerated taint {node.kubernetes.io/not-ready: }',
    ]);
  });
});

describe('NodeAffinity', () => {
  const labels = { zone: 'a', disk: 'ssd', cores: '8' };
  const required = (...terms: unknown[]) => ({
    nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } },
  });
  const expr = (key: string, operator: string, values?: string[]) => ({
    matchExpressions: [{ key, operator, ...(values ? { values } : {}) }],
  });
  const MISMATCH = ["node(s) didn't match Pod's node affinity/selector"];
  it.each([
    { name: 'nodeSelector matches', sel: { zone: 'a' }, aff: undefined, want: [] },
    { name: 'nodeSelector mismatch', sel: { zone: 'b' }, aff: undefined, want: MISMATCH },
    { name: 'nodeSelector label missing', sel: { gpu: 'yes' }, aff: undefined, want: MISMATCH },
    { name: 'In', sel: undefined, aff: required(expr('zone', 'In', ['a', 'b'])), want: [] },
    { name: 'In, no match', sel: undefined, aff: required(expr('zone', 'In', ['b'])), want: MISMATCH },
    { name: 'NotIn', sel: undefined, aff: required(expr('zone', 'NotIn', ['b'])), want: [] },
    { name: 'NotIn on a missing label', sel: undefined, aff: required(expr('gpu', 'NotIn', ['x'])), want: [] },
    { name: 'NotIn, excluded', sel: undefined, aff: required(expr('zone', 'NotIn', ['a'])), want: MISMATCH },
    { name: 'Exists', sel: undefined, aff: required(expr('disk', 'Exists')), want: [] },
    { name: 'DoesNotExist', sel: undefined, aff: required(expr('disk', 'DoesNotExist')), want: MISMATCH },
    { name: 'Gt', sel: undefined, aff: required(expr('cores', 'Gt', ['4'])), want: [] },
    { name: 'Gt, equal is not greater', sel: undefined, aff: required(expr('cores', 'Gt', ['8'])), want: MISMATCH },
    { name: 'Lt', sel: undefined, aff: required(expr('cores', 'Lt', ['16'])), want: [] },
    { name: 'Lt on a non-integer label', sel: undefined, aff: required(expr('zone', 'Lt', ['16'])), want: MISMATCH },
    {
      name: 'terms are ORed',
      sel: undefined,
      aff: required(expr('zone', 'In', ['b']), expr('disk', 'In', ['ssd'])),
      want: [],
    },
    {
      name: 'expressions are ANDed',
      sel: undefined,
      aff: required({
        matchExpressions: [
          { key: 'zone', operator: 'In', values: ['a'] },
          { key: 'disk', operator: 'In', values: ['hdd'] },
        ],
      }),
      want: MISMATCH,
    },
    { name: 'empty term matches nothing', sel: undefined, aff: required({}), want: MISMATCH },
    {
      name: 'matchFields metadata.name In',
      sel: undefined,
      aff: required({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n'] }] }),
      want: [],
    },
    {
      name: 'matchFields metadata.name NotIn',
      sel: undefined,
      aff: required({ matchFields: [{ key: 'metadata.name', operator: 'NotIn', values: ['n'] }] }),
      want: MISMATCH,
    },
    {
      name: 'selector and affinity both apply',
      sel: { zone: 'b' },
      aff: required(expr('disk', 'Exists')),
      want: MISMATCH,
    },
  ] as Array<{ name: string; sel?: Record<string, string>; aff?: unknown; want: string[] }>)(
    '$name',
    ({ sel, aff, want }) => {
      expect(
        reasons(run(nodeAffinity, pod('p', { nodeSelector: sel, affinity: aff }), info(node('n', { labels })))),
      ).toEqual(want);
    },
  );

  it('scores preferred terms by weight', () => {
    const nodes = [
      info(node('a', { labels: { zone: 'a' } })),
      info(node('b', { labels: { zone: 'b', disk: 'ssd' } })),
      info(node('c')),
    ];
    const p = pod('p', {
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 10, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] } },
            { weight: 30, preference: { matchExpressions: [{ key: 'disk', operator: 'Exists' }] } },
          ],
        },
      },
    });
    const raw = nodes.map((n) => nodeAffinity.score(newCycleContext(p, nodes), p, n));
    expect(raw).toEqual([10, 30, 0]);
    expect(nodeAffinity.normalize!(raw)).toEqual([33, 100, 0]);
  });
});

describe('NodePorts', () => {
  it.each([
    {
      name: 'free',
      mine: [{ hostPort: 80, containerPort: 80 }],
      theirs: [{ hostPort: 81, containerPort: 80 }],
      want: [],
    },
    {
      name: 'taken',
      mine: [{ hostPort: 80, containerPort: 80 }],
      theirs: [{ hostPort: 80, containerPort: 8080 }],
      want: ["node(s) didn't have free ports for the requested pod ports"],
    },
    {
      name: 'other protocol',
      mine: [{ hostPort: 53, containerPort: 53, protocol: 'UDP' }],
      theirs: [{ hostPort: 53, containerPort: 53 }],
      want: [],
    },
    {
      name: 'distinct host IPs',
      mine: [{ hostPort: 80, containerPort: 80, hostIP: '10.0.0.1' }],
      theirs: [{ hostPort: 80, containerPort: 80, hostIP: '10.0.0.2' }],
      want: [],
    },
  ])('$name', ({ mine, theirs, want }) => {
    expect(reasons(run(nodePorts, pod('p', { ports: mine }), info(node('n'), [pod('x', { ports: theirs })])))).toEqual(
      want,
    );
  });
});

describe('resource scores', () => {
  it.each([
    { requested: 0, capacity: 1000, least: 100, most: 0 },
    { requested: 250, capacity: 1000, least: 75, most: 25 },
    { requested: 333, capacity: 1000, least: 66, most: 33 },
    { requested: 1000, capacity: 1000, least: 0, most: 100 },
    { requested: 1500, capacity: 1000, least: 0, most: 100 },
    { requested: 10, capacity: 0, least: 0, most: 0 },
  ])('$requested of $capacity', ({ requested, capacity, least, most }) => {
    expect(leastRequestedScore(requested, capacity)).toBe(least);
    expect(mostRequestedScore(requested, capacity)).toBe(most);
  });
});

describe('OwnerSpread', () => {
  it('prefers nodes with fewer pods of the same controller', () => {
    const nodes = [
      info(node('a'), [pod('w1', { owner: 'web' }), pod('w2', { owner: 'web' })]),
      info(node('b'), [pod('w3', { owner: 'web' }), pod('o1', { owner: 'other' })]),
      info(node('c'), [pod('o2', { owner: 'other' }), pod('o3', { owner: 'other' })]),
      info(node('d'), [pod('w4', { owner: 'web', namespace: 'elsewhere' })]),
    ];
    const p = pod('new', { owner: 'web' });
    const raw = nodes.map((n) => ownerSpread.score(newCycleContext(p, nodes), p, n));
    expect(raw).toEqual([2, 1, 0, 0]);
    expect(ownerSpread.normalize!(raw)).toEqual([0, 50, 100, 100]);
  });

  it('is neutral for pods without a controller', () => {
    const nodes = [info(node('a'), [pod('w1', { owner: 'web' })]), info(node('b'))];
    const p = pod('bare');
    const raw = nodes.map((n) => ownerSpread.score(newCycleContext(p, nodes), p, n));
    expect(ownerSpread.normalize!(raw)).toEqual([100, 100]);
  });
});
