// The dashboard's pure logic (dashboard/src/logic.ts, watch-state.ts): the list/watch
// reducer (relist on 410), watch line splitting, allocation sums, rollout progress,
// pod status, routes, the token of a kubeconfig, the WebSocket bearer subprotocol.
import { describe, expect, it } from 'vitest';
import { websocketProtocolToken } from '../../controlplane/api/auth.js';
import {
  age,
  allocationByNode,
  bearerProtocol,
  formatRoute,
  needsAttention,
  nodeReady,
  nodeRoles,
  parseRoute,
  percent,
  podRequests,
  podSummary,
  restartPatch,
  rolloutOf,
  tokenFromHash,
  tokenFromKubeconfig,
} from '../../dashboard/src/logic.js';
import type { Node, Pod, Workload } from '../../dashboard/src/types.js';
import { applyEvent, emptyState, fromList, splitLines } from '../../dashboard/src/watch-state.js';

const pod = (
  name: string,
  o: { node?: string; phase?: string; cpu?: string; mem?: string; init?: { cpu?: string; mem?: string } } = {},
): Pod => ({
  metadata: { name, namespace: 'default', uid: name, resourceVersion: '1' },
  spec: {
    nodeName: o.node,
    containers: [
      { name: 'c', resources: { requests: { ...(o.cpu ? { cpu: o.cpu } : {}), ...(o.mem ? { memory: o.mem } : {}) } } },
    ],
    ...(o.init
      ? {
          initContainers: [
            {
              name: 'i',
              resources: {
                requests: { ...(o.init.cpu ? { cpu: o.init.cpu } : {}), ...(o.init.mem ? { memory: o.init.mem } : {}) },
              },
            },
          ],
        }
      : {}),
  },
  status: { phase: o.phase ?? 'Running' },
});

describe('list/watch reducer', () => {
  it('a list, then ADDED, MODIFIED, DELETED and BOOKMARK events', () => {
    let s = fromList<Pod>({ metadata: { resourceVersion: '10' }, items: [pod('a'), pod('b')] });
    expect(s.synced).toBe(true);
    expect([...s.items.keys()]).toEqual(['default/a', 'default/b']);
    const step = (type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK', p: Pod) => {
      const r = applyEvent(s, { type, object: p });
      expect(r.relist).toBe(false);
      s = r.state;
    };
    step('ADDED', { ...pod('c'), metadata: { ...pod('c').metadata, resourceVersion: '11' } });
    step('MODIFIED', { ...pod('a', { phase: 'Failed' }), metadata: { ...pod('a').metadata, resourceVersion: '12' } });
    step('DELETED', { ...pod('b'), metadata: { ...pod('b').metadata, resourceVersion: '13' } });
    expect([...s.items.keys()].sort()).toEqual(['default/a', 'default/c']);
    expect(s.items.get('default/a')!.status!.phase).toBe('Failed');
    expect(s.resourceVersion).toBe('13');
    const before = s.items;
    step('BOOKMARK', { metadata: { resourceVersion: '20' } });
    expect(s.resourceVersion).toBe('20');
    expect(s.items).toBe(before);
  });

  it('ERROR 410 Expired asks for a new list; the state is kept', () => {
    const s = fromList<Pod>({ metadata: { resourceVersion: '5' }, items: [pod('a')] });
    const r = applyEvent(s, {
      type: 'ERROR',
      object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 1 (5)' },
    });
    expect(r).toMatchObject({ relist: true, reason: 'expired' });
    expect(r.state).toBe(s);
  });

  it('an empty state is not synced', () => {
    expect(emptyState()).toMatchObject({ synced: false, resourceVersion: '' });
  });

  it('splits a stream into lines across chunk boundaries', () => {
    let r = splitLines('', '{"a":1}\n{"b"');
    expect(r).toEqual({ lines: ['{"a":1}'], carry: '{"b"' });
    r = splitLines(r.carry, ':2}\n\n{"c":3}\n');
    expect(r).toEqual({ lines: ['{"b":2}', '{"c":3}'], carry: '' });
  });
});

describe('allocation', () => {
  const node = (name: string, cpu: string, memory: string): Node => ({
    metadata: { name },
    status: { allocatable: { cpu, memory, pods: '110' } },
  });

  it('sums the requests of bound, unfinished pods per node (init containers: the max; not the sum)', () => {
    const a = allocationByNode(
      [node('n1', '2', '4Gi'), node('n2', '4', '8Gi')],
      [
        pod('a', { node: 'n1', cpu: '250m', mem: '128Mi' }),
        pod('b', { node: 'n1', cpu: '0.5', mem: '1Gi', init: { cpu: '1', mem: '64Mi' } }),
        pod('done', { node: 'n1', cpu: '1', phase: 'Succeeded' }),
        pod('pending', { cpu: '1' }),
        pod('elsewhere', { node: 'gone', cpu: '1' }),
      ],
    );
    expect(a.get('n1')).toEqual({
      pods: 2,
      cpuRequested: 1250,
      memoryRequested: (128 + 1024) * 1024 * 1024,
      cpuAllocatable: 2000,
      memoryAllocatable: 4 * 1024 ** 3,
      podsAllocatable: 110,
    });
    expect(a.get('n2')!.pods).toBe(0);
    expect(percent(1250, 2000)).toBe(63);
    expect(percent(5, 0)).toBe(0);
    expect(percent(300, 100)).toBe(100);
  });

  it('a bad quantity counts as nothing', () => {
    expect(podRequests(pod('x', { cpu: 'lots', mem: '1Gi' }))).toEqual({ cpu: 0, memory: 1024 ** 3 });
  });
});

describe('rollout progress', () => {
  const dep = (spec: number, status: Workload['status'], gen = 2): Workload => ({
    metadata: { name: 'd', generation: gen },
    spec: { replicas: spec },
    status: { observedGeneration: 2, ...status },
  });

  it.each([
    [
      'complete',
      dep(3, { replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 }),
      { done: true, progress: 100, text: 'complete' },
    ],
    [
      'half way',
      dep(4, { replicas: 5, updatedReplicas: 2, readyReplicas: 4, availableReplicas: 4 }),
      { done: false, progress: 50, text: '2 of 4 updated, 4 ready' },
    ],
    [
      'old replicas left',
      dep(2, { replicas: 3, updatedReplicas: 2, readyReplicas: 3, availableReplicas: 3 }),
      { done: false },
    ],
    [
      'not observed yet',
      dep(2, { replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 }, 3),
      { done: false, text: 'waiting for the controller' },
    ],
    ['scaled to zero', dep(0, {}), { done: true, progress: 100 }],
  ])('Deployment %s', (_n, w, want) => {
    expect(rolloutOf('Deployment', w)).toMatchObject(want);
  });

  it('DaemonSet, StatefulSet and Job', () => {
    expect(
      rolloutOf('DaemonSet', {
        metadata: {},
        status: { desiredNumberScheduled: 2, numberReady: 1, updatedNumberScheduled: 2, numberAvailable: 1 },
      }),
    ).toMatchObject({ desired: 2, ready: 1, done: false, progress: 50 });
    expect(
      rolloutOf('StatefulSet', {
        metadata: {},
        spec: { replicas: 2 },
        status: { readyReplicas: 2, updatedReplicas: 2 },
      }),
    ).toMatchObject({ done: true, text: 'complete' });
    expect(
      rolloutOf('Job', { metadata: {}, spec: { completions: 3 }, status: { succeeded: 1, active: 1 } }),
    ).toMatchObject({ desired: 3, ready: 1, done: false, text: '1/3 complete' });
  });
});

describe('pods and nodes', () => {
  it('status as kubectl shows it: a waiting reason wins over the phase; Terminating', () => {
    const p = pod('a', { phase: 'Pending' });
    p.status!.containerStatuses = [
      { name: 'c', ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } } },
    ];
    expect(podSummary(p)).toEqual({ phase: 'CrashLoopBackOff', ready: '0/1', restarts: 4 });
    expect(needsAttention(podSummary(p))).toBe(true);
    const t = pod('b');
    t.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    expect(podSummary(t).phase).toBe('Terminating');
    const ok = pod('c');
    ok.status!.containerStatuses = [{ name: 'c', ready: true, restartCount: 0, state: { running: {} } }];
    expect(podSummary(ok)).toEqual({ phase: 'Running', ready: '1/1', restarts: 0 });
    expect(needsAttention(podSummary(ok))).toBe(false);
  });

  it('node Ready and roles', () => {
    const n: Node = {
      metadata: {
        name: 'n',
        labels: {
          'node-role.kubernetes.io/control-plane': '',
          'node-role.kubernetes.io/worker': '',
          'kubernetes.io/os': 'linux',
        },
      },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    };
    expect(nodeReady(n)).toBe('True');
    expect(nodeRoles(n)).toEqual(['control-plane', 'worker']);
    expect(nodeReady({ metadata: {} })).toBe('Unknown');
  });

  it('ages', () => {
    const now = Date.parse('2026-12-05T12:00:00Z');
    expect(age('2026-12-05T11:59:30Z', now)).toBe('30s');
    expect(age('2026-12-05T11:50:00Z', now)).toBe('10m');
    expect(age('2026-12-05T06:00:00Z', now)).toBe('6h');
    expect(age('2026-12-01T12:00:00Z', now)).toBe('4d');
    expect(age(undefined, now)).toBe('<unknown>');
  });

  it('restart patch: the annotation kubectl rollout restart sets, RFC 3339 in seconds', () => {
    expect(restartPatch(new Date('2026-12-05T17:01:02.345Z'))).toEqual({
      spec: {
        template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-12-05T17:01:02Z' } } },
      },
    });
  });
});

describe('routes, login', () => {
  it.each([
    ['', { view: 'overview', ns: '' }],
    ['#/workloads?ns=kube-system&kind=Job', { view: 'workloads', ns: 'kube-system', kind: 'Job' }],
    ['#/events', { view: 'events', ns: '' }],
    ['#/pod/default/web-1?ns=default', { view: 'pod', ns: 'default', pod: { namespace: 'default', name: 'web-1' } }],
    ['#/nonsense', { view: 'overview', ns: '' }],
  ])('%s', (hash, route) => {
    expect(parseRoute(hash)).toEqual(route);
    if (hash && hash !== '#/nonsense') expect(parseRoute(formatRoute(parseRoute(hash)))).toEqual(route);
  });

  it('#token= in the fragment', () => {
    expect(tokenFromHash('#token=abc%2Bdef')).toBe('abc+def');
    expect(tokenFromHash('#/overview')).toBeUndefined();
  });

  it('the token of a kubeconfig: the current context user; YAML as skiff writes it, or JSON', () => {
    const yaml = `apiVersion: v1
kind: Config
clusters:
- name: skiff
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority-data: QUJD
contexts:
- name: other
  context:
    cluster: skiff
    user: viewer
- name: skiff
  context:
    cluster: skiff
    user: admin
    namespace: default
current-context: skiff
users:
- name: viewer
  user:
    token: "viewer-token"
- name: admin
  user:
    token: admin-token
`;
    expect(tokenFromKubeconfig(yaml)).toBe('admin-token');
    expect(
      tokenFromKubeconfig(
        JSON.stringify({
          'current-context': 'c',
          contexts: [{ name: 'c', context: { user: 'u' } }],
          users: [{ name: 'u', user: { token: 't' } }],
        }),
      ),
    ).toBe('t');
    expect(tokenFromKubeconfig('users:\n- name: cert\n  user:\n    client-certificate-data: QUJD\n')).toBeUndefined();
  });

  it('the bearer subprotocol the page sends is the one the server reads', () => {
    const token = 'K10ab.cd+/é';
    const headers = {
      upgrade: 'websocket',
      connection: 'Upgrade',
      'sec-websocket-protocol': `v5.channel.k8s.io, ${bearerProtocol(token)}`,
    };
    expect(websocketProtocolToken(headers)).toEqual({ token, protocols: ['v5.channel.k8s.io'] });
  });
});
