// Which nodes run a daemon pod: node selector, required node affinity, taints and the
// tolerations every daemon pod gets, cordoned nodes; and the pod the controller creates.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import {
  addDaemonTolerations,
  daemonTolerations,
  nodeShouldRunDaemonPod,
  replaceNodeNameAffinity,
  targetNodeName,
} from '../../controlplane/controllers/daemon-set/eligibility.js';
import { computeHash, newDaemonPod } from '../../controlplane/controllers/daemon-set/pods.js';

function node(
  name: string,
  o: { labels?: Record<string, string>; taints?: any[]; unschedulable?: boolean } = {},
): KubeObject {
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(o.labels ?? {}) } },
    spec: { taints: o.taints, unschedulable: o.unschedulable },
  };
}

function ds(spec: Record<string, unknown> = {}): KubeObject {
  return {
    metadata: { name: 'agent', namespace: 'kube-system', uid: 'ds-uid' },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'c', image: 'i' }], ...spec } },
    },
  };
}

const RUN = { shouldRun: true, shouldContinueRunning: true };
const NO = { shouldRun: false, shouldContinueRunning: false };
const STAY = { shouldRun: false, shouldContinueRunning: true };

describe('nodeShouldRunDaemonPod', () => {
  const affinity = (op: string, values: string[]) => ({
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'disk', operator: op, values }] }],
        },
      },
    },
  });
  const cases: Array<[string, KubeObject, KubeObject, typeof RUN]> = [
    ['a plain node', node('n'), ds(), RUN],
    ['nodeSelector matches', node('n', { labels: { disk: 'ssd' } }), ds({ nodeSelector: { disk: 'ssd' } }), RUN],
    ['nodeSelector does not match', node('n', { labels: { disk: 'hdd' } }), ds({ nodeSelector: { disk: 'ssd' } }), NO],
    ['nodeSelector label missing', node('n'), ds({ nodeSelector: { disk: 'ssd' } }), NO],
    ['required affinity In matches', node('n', { labels: { disk: 'ssd' } }), ds(affinity('In', ['ssd', 'nvme'])), RUN],
    ['required affinity NotIn excludes', node('n', { labels: { disk: 'ssd' } }), ds(affinity('NotIn', ['ssd'])), NO],
    ['template nodeName names another node', node('n'), ds({ nodeName: 'other' }), NO],
    ['template nodeName names this node', node('n'), ds({ nodeName: 'n' }), RUN],
    [
      'untolerated NoSchedule taint: no new pod, an existing one stays',
      node('n', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] }),
      ds(),
      STAY,
    ],
    [
      'untolerated NoExecute taint: evicted',
      node('n', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoExecute' }] }),
      ds(),
      NO,
    ],
    [
      'tolerated NoExecute taint',
      node('n', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoExecute' }] }),
      ds({ tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoExecute' }] }),
      RUN,
    ],
    ['PreferNoSchedule taint is ignored', node('n', { taints: [{ key: 'x', effect: 'PreferNoSchedule' }] }), ds(), RUN],
    [
      'not-ready NoExecute is tolerated by every daemon pod',
      node('n', { taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }] }),
      ds(),
      RUN,
    ],
    [
      'unreachable NoExecute is tolerated',
      node('n', { taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }] }),
      ds(),
      RUN,
    ],
    [
      'memory-pressure NoSchedule is tolerated',
      node('n', { taints: [{ key: 'node.kubernetes.io/memory-pressure', effect: 'NoSchedule' }] }),
      ds(),
      RUN,
    ],
    [
      'disk-pressure NoSchedule is tolerated',
      node('n', { taints: [{ key: 'node.kubernetes.io/disk-pressure', effect: 'NoSchedule' }] }),
      ds(),
      RUN,
    ],
    [
      'pid-pressure NoSchedule is tolerated',
      node('n', { taints: [{ key: 'node.kubernetes.io/pid-pressure', effect: 'NoSchedule' }] }),
      ds(),
      RUN,
    ],
    ['a cordoned node (spec.unschedulable) still runs daemons', node('n', { unschedulable: true }), ds(), RUN],
    [
      'the unschedulable taint is tolerated',
      node('n', { taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] }),
      ds(),
      RUN,
    ],
    [
      'not-ready NoSchedule is not tolerated (only NoExecute is)',
      node('n', { taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }] }),
      ds(),
      STAY,
    ],
    [
      'network-unavailable only tolerated with hostNetwork',
      node('n', { taints: [{ key: 'node.kubernetes.io/network-unavailable', effect: 'NoSchedule' }] }),
      ds(),
      STAY,
    ],
    [
      'network-unavailable with hostNetwork',
      node('n', { taints: [{ key: 'node.kubernetes.io/network-unavailable', effect: 'NoSchedule' }] }),
      ds({ hostNetwork: true }),
      RUN,
    ],
  ];
  for (const [name, n, d, want] of cases) it(name, () => expect(nodeShouldRunDaemonPod(n, d)).toEqual(want));
});

describe('daemon pod construction', () => {
  it('adds the standard daemon tolerations, replacing a same-keyed one', () => {
    const spec: any = {
      tolerations: [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 },
        { key: 'mine', operator: 'Exists' },
      ],
    };
    addDaemonTolerations(spec);
    expect(spec.tolerations).toEqual([
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
      { key: 'mine', operator: 'Exists' },
      ...daemonTolerations(false).slice(1),
    ]);
    expect(daemonTolerations(false).map((t) => `${t.key}:${t.effect}`)).toEqual([
      'node.kubernetes.io/not-ready:NoExecute',
      'node.kubernetes.io/unreachable:NoExecute',
      'node.kubernetes.io/disk-pressure:NoSchedule',
      'node.kubernetes.io/memory-pressure:NoSchedule',
      'node.kubernetes.io/pid-pressure:NoSchedule',
      'node.kubernetes.io/unschedulable:NoSchedule',
    ]);
  });

  it('pins the pod to its node with required node affinity metadata.name In [node]', () => {
    const term = { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] };
    expect(replaceNodeNameAffinity(undefined, 'n1')).toEqual({
      nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [term] } },
    });
    const pref = [{ weight: 1, preference: { matchExpressions: [{ key: 'a', operator: 'Exists' }] } }];
    const replaced = replaceNodeNameAffinity(
      {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: pref,
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] }],
          },
        },
        podAffinity: {},
      },
      'n1',
    );
    expect(replaced).toEqual({
      nodeAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: pref,
        requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [term] },
      },
      podAffinity: {},
    });
  });

  it('finds the target node from nodeName or the affinity term', () => {
    expect(
      targetNodeName({ metadata: {}, spec: { nodeName: 'a', affinity: replaceNodeNameAffinity(undefined, 'b') } }),
    ).toBe('a');
    expect(targetNodeName({ metadata: {}, spec: { affinity: replaceNodeNameAffinity(undefined, 'b') } })).toBe('b');
    expect(targetNodeName({ metadata: {}, spec: {} })).toBeUndefined();
  });

  it('builds the pod: generateName, labels with the revision hash, controller ref, tolerations, affinity', () => {
    const d = ds();
    const hash = computeHash(d.spec.template);
    const pod = newDaemonPod(d, 'n1', hash);
    expect(pod.metadata).toEqual({
      generateName: 'agent-',
      namespace: 'kube-system',
      labels: { app: 'agent', 'controller-revision-hash': hash },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'DaemonSet',
          name: 'agent',
          uid: 'ds-uid',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    });
    expect(pod.spec.tolerations).toHaveLength(6);
    expect(targetNodeName(pod)).toBe('n1');
    expect(d.spec.template.spec.tolerations).toBeUndefined(); // the DaemonSet is not modified
  });

  it('hashes the template stably, like kube: safe-encoded FNV-32a', () => {
    const a = computeHash({
      metadata: { labels: { a: '1', b: '2' } },
      spec: { containers: [{ name: 'c', image: 'x' }] },
    });
    const b = computeHash({
      spec: { containers: [{ image: 'x', name: 'c' }] },
      metadata: { labels: { b: '2', a: '1' } },
    });
    const c = computeHash({
      metadata: { labels: { a: '1', b: '2' } },
      spec: { containers: [{ name: 'c', image: 'y' }] },
    });
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    expect(a).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
    expect(computeHash({ x: 1 }, 1)).not.toBe(computeHash({ x: 1 }));
  });
});
