// StatefulSet decisions as tables: which ordinal is created or deleted next under
// OrderedReady and Parallel, which pod a RollingUpdate replaces, and the status counts.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import { planStatefulSet, type StatefulSetAction } from '../../controlplane/controllers/stateful-set/plan.js';
import {
  claimOwnerUpToDate,
  desiredClaimOwnerRefs,
  identityMatches,
  newStatefulSetPod,
  ordinalOf,
  revisionName,
} from '../../controlplane/controllers/stateful-set/identity.js';

const NOW = Date.parse('2024-05-01T12:00:00Z');
const CUR = 'web-cur';
const UPD = 'web-upd';

function set(over: Record<string, any> = {}): KubeObject {
  return {
    metadata: { name: 'web', namespace: 'default', uid: 'set-uid', generation: 2 },
    spec: {
      replicas: 3,
      podManagementPolicy: 'OrderedReady',
      serviceName: 'web',
      selector: { matchLabels: { app: 'web' } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
      ...over,
    },
    status: {},
  };
}

type State = 'ready' | 'running' | 'pending' | 'failed' | 'succeeded' | 'terminating';

function pod(ord: number, state: State = 'ready', rev = UPD, readySince = NOW - 60_000): KubeObject {
  const phase = {
    ready: 'Running',
    running: 'Running',
    pending: 'Pending',
    failed: 'Failed',
    succeeded: 'Succeeded',
    terminating: 'Running',
  }[state];
  const ready = state === 'ready' || state === 'terminating';
  return {
    metadata: {
      name: `web-${ord}`,
      namespace: 'default',
      uid: `uid-${ord}`,
      labels: {
        app: 'web',
        'statefulset.kubernetes.io/pod-name': `web-${ord}`,
        'apps.kubernetes.io/pod-index': String(ord),
        'controller-revision-hash': rev,
      },
      ...(state === 'terminating' ? { deletionTimestamp: new Date(NOW).toISOString() } : {}),
    },
    spec: {},
    status: {
      phase,
      conditions: [
        { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: new Date(readySince).toISOString() },
      ],
    },
  };
}

function summary(actions: StatefulSetAction[]): string[] {
  return actions.map((a) => {
    if (a.type === 'create') return `create ${a.ordinal}${a.revision === 'current' ? ' (current)' : ''}`;
    if (a.type === 'delete') return `delete ${ordinalOf(a.pod, 'web')} ${a.reason}`;
    return `${a.type} ${ordinalOf(a.pod, 'web')}`;
  });
}

function plan(s: KubeObject, pods: KubeObject[], claims: KubeObject[] = [], revs: [string, string] = [UPD, UPD]) {
  return planStatefulSet({
    set: s,
    pods,
    claims: new Map(claims.map((c) => [c.metadata.name!, c])),
    currentRevision: revs[0],
    updateRevision: revs[1],
    now: NOW,
  });
}

describe('StatefulSet plan: scaling', () => {
  const cases: Array<{ name: string; policy: string; replicas: number; pods: KubeObject[]; want: string[] }> = [
    { name: 'OrderedReady creates web-0 first', policy: 'OrderedReady', replicas: 3, pods: [], want: ['create 0'] },
    {
      name: 'OrderedReady waits for web-0 to be Ready',
      policy: 'OrderedReady',
      replicas: 3,
      pods: [pod(0, 'running')],
      want: [],
    },
    {
      name: 'OrderedReady waits for a Pending web-0',
      policy: 'OrderedReady',
      replicas: 3,
      pods: [pod(0, 'pending')],
      want: [],
    },
    {
      name: 'OrderedReady creates web-1 once web-0 is Ready',
      policy: 'OrderedReady',
      replicas: 3,
      pods: [pod(0)],
      want: ['create 1'],
    },
    {
      name: 'OrderedReady fills the lowest hole first',
      policy: 'OrderedReady',
      replicas: 3,
      pods: [pod(0), pod(2)],
      want: ['create 1'],
    },
    {
      name: 'OrderedReady replaces a failed pod then stops',
      policy: 'OrderedReady',
      replicas: 3,
      pods: [pod(0), pod(1, 'failed'), pod(2)],
      want: ['delete 1 Failed', 'create 1'],
    },
    {
      name: 'OrderedReady waits for a terminating replica',
      policy: 'OrderedReady',
      replicas: 3,
      pods: [pod(0, 'terminating')],
      want: [],
    },
    {
      name: 'Parallel creates every missing ordinal',
      policy: 'Parallel',
      replicas: 3,
      pods: [pod(1, 'pending')],
      want: ['create 0', 'create 2'],
    },
    {
      name: 'OrderedReady scale down removes the highest ordinal only',
      policy: 'OrderedReady',
      replicas: 1,
      pods: [pod(0), pod(1), pod(2)],
      want: ['delete 2 ScaleDown'],
    },
    {
      name: 'OrderedReady scale down waits for a terminating one',
      policy: 'OrderedReady',
      replicas: 1,
      pods: [pod(0), pod(1), pod(2, 'terminating')],
      want: [],
    },
    {
      name: 'OrderedReady scale down waits while a replica is unhealthy',
      policy: 'OrderedReady',
      replicas: 1,
      pods: [pod(0, 'running'), pod(1), pod(2)],
      want: [],
    },
    {
      name: 'OrderedReady still deletes the highest ordinal when a lower condemned one is unhealthy',
      policy: 'OrderedReady',
      replicas: 1,
      pods: [pod(0), pod(1, 'running'), pod(2)],
      want: ['delete 2 ScaleDown'],
    },
    {
      name: 'OrderedReady deletes an unhealthy highest ordinal (the first unhealthy pod)',
      policy: 'OrderedReady',
      replicas: 1,
      pods: [pod(0), pod(1), pod(2, 'running')],
      want: ['delete 2 ScaleDown'],
    },
    {
      name: 'OrderedReady blocks on an unhealthy pod that is not the first unhealthy',
      policy: 'OrderedReady',
      replicas: 1,
      pods: [pod(0), pod(1, 'running'), pod(2, 'running')],
      want: [],
    },
    {
      name: 'Parallel scale down removes all condemned at once',
      policy: 'Parallel',
      replicas: 1,
      pods: [pod(0), pod(1), pod(2)],
      want: ['delete 2 ScaleDown', 'delete 1 ScaleDown'],
    },
    {
      name: 'scale to zero removes from the top',
      policy: 'OrderedReady',
      replicas: 0,
      pods: [pod(0), pod(1)],
      want: ['delete 1 ScaleDown'],
    },
    {
      name: 'nothing to do when all are Ready',
      policy: 'OrderedReady',
      replicas: 3,
      pods: [pod(0), pod(1), pod(2)],
      want: [],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const p = plan(set({ podManagementPolicy: c.policy, replicas: c.replicas }), c.pods);
      expect(summary(p.actions)).toEqual(c.want);
    });
  }

  it('honours spec.ordinals.start', () => {
    const s = set({ ordinals: { start: 5 }, replicas: 2 });
    expect(summary(plan(s, []).actions)).toEqual(['create 5']);
    expect(summary(plan(s, [pod(5), pod(6), pod(7)]).actions)).toEqual(['delete 7 ScaleDown']);
  });

  it('waits for minReadySeconds before the next ordinal and asks to be re-queued', () => {
    const p = plan(set({ minReadySeconds: 30 }), [pod(0, 'ready', UPD, NOW - 10_000)]);
    expect(p.actions).toEqual([]);
    expect(p.requeueAfterMs).toBe(20_000);
    expect(summary(plan(set({ minReadySeconds: 30 }), [pod(0, 'ready', UPD, NOW - 31_000)]).actions)).toEqual([
      'create 1',
    ]);
  });

  it('does nothing but status while the set is being deleted', () => {
    const s = set();
    s.metadata.deletionTimestamp = new Date(NOW).toISOString();
    expect(plan(s, []).actions).toEqual([]);
  });
});

describe('StatefulSet plan: rolling update', () => {
  const cases: Array<{ name: string; partition?: number; pods: KubeObject[]; want: string[] }> = [
    {
      name: 'replaces the highest ordinal first',
      pods: [pod(0, 'ready', CUR), pod(1, 'ready', CUR), pod(2, 'ready', CUR)],
      want: ['delete 2 Update'],
    },
    {
      name: 'then the next one down once it is healthy',
      pods: [pod(0, 'ready', CUR), pod(1, 'ready', CUR), pod(2)],
      want: ['delete 1 Update'],
    },
    {
      name: 'waits while the updated pod is not Ready',
      pods: [pod(0, 'ready', CUR), pod(1, 'ready', CUR), pod(2, 'running')],
      want: [],
    },
    {
      name: 'partition keeps ordinals below it',
      partition: 2,
      pods: [pod(0, 'ready', CUR), pod(1, 'ready', CUR), pod(2)],
      want: [],
    },
    {
      name: 'partition 1 updates down to web-1',
      partition: 1,
      pods: [pod(0, 'ready', CUR), pod(1, 'ready', CUR), pod(2)],
      want: ['delete 1 Update'],
    },
    {
      name: 'a terminating old pod is waited for',
      pods: [pod(0, 'ready', CUR), pod(1, 'ready', CUR), pod(2, 'terminating', CUR)],
      want: [],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const s = set({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: c.partition ?? 0 } } });
      expect(summary(plan(s, c.pods, [], [CUR, UPD]).actions)).toEqual(c.want);
    });
  }

  it('re-creates a missing pod below the partition at the current revision', () => {
    const s = set({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } });
    expect(summary(plan(s, [pod(1, 'ready', CUR), pod(2)], [], [CUR, UPD]).actions)).toEqual(['create 0 (current)']);
    expect(summary(plan(s, [pod(0, 'ready', CUR), pod(1, 'ready', CUR)], [], [CUR, UPD]).actions)).toEqual([
      'create 2',
    ]);
  });

  it('OnDelete never deletes for an update', () => {
    const s = set({ updateStrategy: { type: 'OnDelete' } });
    expect(plan(s, [pod(0, 'ready', CUR), pod(1, 'ready', CUR), pod(2, 'ready', CUR)], [], [CUR, UPD]).actions).toEqual(
      [],
    );
  });
});

describe('StatefulSet status', () => {
  it('counts replicas, ready, available, current and updated', () => {
    const p = plan(set(), [pod(0, 'ready', CUR), pod(1, 'running', UPD), pod(2, 'terminating', UPD)], [], [CUR, UPD]);
    expect(p.status).toMatchObject({
      observedGeneration: 2,
      replicas: 3,
      readyReplicas: 2,
      availableReplicas: 2,
      currentReplicas: 1,
      updatedReplicas: 1,
      currentRevision: CUR,
      updateRevision: UPD,
    });
  });

  it('completes the rolling update when every replica is updated and ready', () => {
    const p = plan(set(), [pod(0), pod(1), pod(2)], [], [CUR, UPD]);
    expect(p.status.currentRevision).toBe(UPD);
    expect(p.status.currentReplicas).toBe(3);
  });
});

describe('StatefulSet identity and claims', () => {
  it('builds a pod with a stable name, hostname, subdomain, labels and claim volumes', () => {
    const s = set({
      volumeClaimTemplates: [
        {
          metadata: { name: 'data', labels: { tier: 'db' } },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        },
      ],
    });
    s.spec.template.spec.volumes = [
      { name: 'data', emptyDir: {} },
      { name: 'tmp', emptyDir: {} },
    ];
    const p = newStatefulSetPod(s, s.spec.template, 2, 'web-abc');
    expect(p.metadata.name).toBe('web-2');
    expect(p.spec.hostname).toBe('web-2');
    expect(p.spec.subdomain).toBe('web');
    expect(p.metadata.labels).toEqual({
      app: 'web',
      'statefulset.kubernetes.io/pod-name': 'web-2',
      'apps.kubernetes.io/pod-index': '2',
      'controller-revision-hash': 'web-abc',
    });
    expect(p.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        name: 'web',
        uid: 'set-uid',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(p.spec.volumes).toEqual([
      { name: 'data', persistentVolumeClaim: { claimName: 'data-web-2' } },
      { name: 'tmp', emptyDir: {} },
    ]);
    expect(identityMatches(s, { ...p, metadata: { ...p.metadata, namespace: 'default' } })).toBe(true);
  });

  it('parses ordinals only for its own pods', () => {
    expect(ordinalOf({ metadata: { name: 'web-12' } }, 'web')).toBe(12);
    expect(ordinalOf({ metadata: { name: 'web-x' } }, 'web')).toBe(-1);
    expect(ordinalOf({ metadata: { name: 'webby-1' } }, 'web')).toBe(-1);
    expect(ordinalOf({ metadata: { name: 'my-web-1' } }, 'my-web')).toBe(1);
  });

  it('names revisions after the template hash, stable across calls', () => {
    const s = set();
    expect(revisionName(s, s.spec.template)).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]+$/);
    expect(revisionName(s, s.spec.template)).toBe(revisionName(s, JSON.parse(JSON.stringify(s.spec.template))));
    expect(revisionName(s, { ...s.spec.template, spec: { containers: [{ name: 'c', image: 'busybox:2' }] } })).not.toBe(
      revisionName(s, s.spec.template),
    );
  });

  const policies: Array<{ whenDeleted: string; whenScaled: string; inRange: string[]; scaledDown: string[] }> = [
    { whenDeleted: 'Retain', whenScaled: 'Retain', inRange: [], scaledDown: [] },
    { whenDeleted: 'Delete', whenScaled: 'Retain', inRange: ['StatefulSet'], scaledDown: ['StatefulSet'] },
    { whenDeleted: 'Retain', whenScaled: 'Delete', inRange: [], scaledDown: ['Pod'] },
    { whenDeleted: 'Delete', whenScaled: 'Delete', inRange: ['StatefulSet'], scaledDown: ['Pod'] },
  ];
  for (const pc of policies) {
    it(`claim owners for whenDeleted=${pc.whenDeleted} whenScaled=${pc.whenScaled}`, () => {
      const s = set({
        replicas: 2,
        persistentVolumeClaimRetentionPolicy: { whenDeleted: pc.whenDeleted, whenScaled: pc.whenScaled },
      });
      const claim: KubeObject = { metadata: { name: 'data-web-1' } };
      const kinds = (p: KubeObject) => desiredClaimOwnerRefs(claim, s, p).map((r) => r.kind);
      expect(kinds(pod(1))).toEqual(pc.inRange);
      expect(kinds(pod(3))).toEqual(pc.scaledDown);
      expect(
        claimOwnerUpToDate(
          { metadata: { name: 'data-web-1', ownerReferences: desiredClaimOwnerRefs(claim, s, pod(1)) } },
          s,
          pod(1),
        ),
      ).toBe(true);
      expect(claimOwnerUpToDate(claim, s, pod(3))).toBe(pc.scaledDown.length === 0);
    });
  }

  it('a stale claim (owned by an earlier pod of the same name) blocks the creation', () => {
    const s = set({
      replicas: 1,
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: {} }],
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Delete' },
    });
    const stale: KubeObject = {
      metadata: {
        name: 'data-web-0',
        ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'web-0', uid: 'old', controller: true }],
      },
    };
    expect(plan(s, [], [stale]).actions).toEqual([]);
    expect(summary(plan(s, [], []).actions)).toEqual(['create 0']);
  });
});
