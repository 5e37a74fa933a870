// ReplicaSet decisions as tables: which pods to delete, availability, status, expectations,
// ownership claims, the pod made from a template, and the slow-start create batches.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import { getPodsToDelete } from '../../controlplane/controllers/replica-set/pods-to-delete.js';
import { isPodActive, podFromTemplate } from '../../controlplane/controllers/replica-set/pods.js';
import { isPodAvailable } from '../../proto/api/pod.js';
import {
  calculateReplicaSetStatus,
  replicaSetStatusUpdate,
} from '../../controlplane/controllers/replica-set/status.js';
import { ControllerExpectations } from '../../controlplane/controllers/replica-set/expectations.js';
import { planClaim } from '../../controlplane/controllers/replica-set/claim.js';
import { slowStartBatch } from '../../controlplane/controllers/replica-set-controller.js';

const NOW = Date.parse('2025-06-01T12:00:00Z');
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();

interface PodOpts {
  node?: string;
  phase?: string;
  ready?: boolean;
  readySince?: number;
  created?: number;
  restarts?: number;
  cost?: number;
  labels?: Record<string, string>;
  deleting?: boolean;
}
function pod(name: string, o: PodOpts = {}): KubeObject {
  const ready = o.ready ?? true;
  return {
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      creationTimestamp: ago(o.created ?? 10_000),
      labels: o.labels ?? { app: 'web' },
      ...(o.cost !== undefined
        ? { annotations: { 'controller.kubernetes.io/pod-deletion-cost': String(o.cost) } }
        : {}),
      ...(o.deleting ? { deletionTimestamp: ago(0) } : {}),
    },
    spec: { nodeName: o.node ?? 'n1' },
    status: {
      phase: o.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: ago(o.readySince ?? 5000) }],
      containerStatuses: [{ name: 'c', restartCount: o.restarts ?? 0 }],
    },
  };
}

const names = (ps: KubeObject[]) => ps.map((p) => p.metadata.name);

describe('which pods a ReplicaSet deletes first (ActivePodsWithRanks)', () => {
  it.each([
    ['unscheduled before scheduled', [pod('a'), pod('b', { node: '' })], 'b'],
    ['Pending before Running', [pod('a'), pod('b', { phase: 'Pending', ready: false })], 'b'],
    ['Unknown before Running', [pod('a'), pod('b', { phase: 'Unknown' })], 'b'],
    ['not ready before ready', [pod('a'), pod('b', { ready: false })], 'b'],
    ['lower pod-deletion-cost first', [pod('a', { cost: 10 }), pod('b', { cost: -1 })], 'b'],
    ['ready more recently first', [pod('a', { readySince: 5000 }), pod('b', { readySince: 10 })], 'b'],
    ['more restarts first', [pod('a'), pod('b', { restarts: 3 })], 'b'],
    ['newer first', [pod('a', { created: 100_000 }), pod('b', { created: 10 })], 'b'],
  ] as Array<[string, KubeObject[], string]>)('%s', (_what, pods, want) => {
    expect(names(getPodsToDelete(pods, pods, 1, NOW))).toEqual([want]);
    expect(names(getPodsToDelete([...pods].reverse(), pods, 1, NOW))).toEqual([want]);
  });

  it('doubled-up pods (more siblings on the node) go first', () => {
    const a = pod('a', { node: 'n1' });
    const b = pod('b', { node: 'n2' });
    const sibling = pod('old-1', { node: 'n2' });
    expect(names(getPodsToDelete([a, b], [a, b, sibling], 1, NOW))).toEqual(['b']);
  });

  it('the rules apply in order: an unscheduled ready pod goes before a scheduled not-ready one', () => {
    const pods = [pod('notready', { ready: false }), pod('unscheduled', { node: '' }), pod('fine')];
    expect(names(getPodsToDelete(pods, pods, 2, NOW))).toEqual(['unscheduled', 'notready']);
  });

  it('returns all pods when deleting at least as many', () => {
    const pods = [pod('a'), pod('b')];
    expect(names(getPodsToDelete(pods, pods, 5, NOW))).toEqual(['a', 'b']);
  });
});

describe('pod activity and availability', () => {
  it('terminating and finished pods are not active', () => {
    expect(isPodActive(pod('a'))).toBe(true);
    expect(isPodActive(pod('a', { deleting: true }))).toBe(false);
    expect(isPodActive(pod('a', { phase: 'Succeeded' }))).toBe(false);
    expect(isPodActive(pod('a', { phase: 'Failed' }))).toBe(false);
  });

  it('available = ready for more than minReadySeconds', () => {
    const now = NOW;
    expect(isPodAvailable(pod('a', { readySince: 3 }), 0, now)).toBe(true);
    expect(isPodAvailable(pod('a', { readySince: 3 }), 5, now)).toBe(false);
    expect(isPodAvailable(pod('a', { readySince: 6 }), 5, now)).toBe(true);
    expect(isPodAvailable(pod('a', { ready: false, readySince: 60 }), 5, now)).toBe(false);
  });
});

describe('ReplicaSet status', () => {
  const rs: KubeObject = {
    metadata: { name: 'web-abc', generation: 3 },
    spec: { replicas: 3, minReadySeconds: 10, template: { metadata: { labels: { app: 'web', tier: 'fe' } } } },
    status: { replicas: 1, observedGeneration: 2 },
  };

  it('counts replicas, fully labeled, ready and available pods; omits zeros', () => {
    const pods = [
      pod('a', { labels: { app: 'web', tier: 'fe', extra: 'x' }, readySince: 60 }),
      pod('b', { labels: { app: 'web' }, readySince: 2 }),
      pod('c', { labels: { app: 'web', tier: 'fe' }, ready: false }),
    ];
    const st = calculateReplicaSetStatus(rs, pods, undefined, new Date(NOW));
    expect(st).toEqual({
      replicas: 3,
      fullyLabeledReplicas: 2,
      readyReplicas: 2,
      availableReplicas: 1,
      observedGeneration: 2,
    });
    expect(replicaSetStatusUpdate(rs, st)).toEqual({ ...st, observedGeneration: 3 });
    expect(calculateReplicaSetStatus(rs, [], undefined, new Date(NOW))).toEqual({ replicas: 0, observedGeneration: 2 });
  });

  it('writes nothing in the steady state', () => {
    const steady = { ...rs, status: { replicas: 0, observedGeneration: 3 } };
    expect(
      replicaSetStatusUpdate(steady, calculateReplicaSetStatus(steady, [], undefined, new Date(NOW))),
    ).toBeUndefined();
  });

  it('sets ReplicaFailure on a failed create and clears it after a clean sync', () => {
    const failed = calculateReplicaSetStatus(rs, [], new Error('pods "x" is forbidden: exceeded quota'), new Date(NOW));
    expect(failed.conditions).toEqual([
      {
        type: 'ReplicaFailure',
        status: 'True',
        lastTransitionTime: new Date(NOW).toISOString().replace('.000', ''),
        reason: 'FailedCreate',
        message: 'pods "x" is forbidden: exceeded quota',
      },
    ]);
    const cleared = calculateReplicaSetStatus({ ...rs, status: failed }, [], undefined, new Date(NOW));
    expect(cleared.conditions).toBeUndefined();
  });
});

describe('expectations', () => {
  it('holds a controller back until its creations are observed', () => {
    const e = new ControllerExpectations(() => NOW);
    expect(e.satisfied('ns/rs')).toBe(true);
    e.expectCreations('ns/rs', 2);
    expect(e.satisfied('ns/rs')).toBe(false);
    e.creationObserved('ns/rs');
    expect(e.satisfied('ns/rs')).toBe(false);
    e.creationObserved('ns/rs');
    expect(e.satisfied('ns/rs')).toBe(true);
  });

  it('counts each deleted pod once (deletionTimestamp update, then the delete)', () => {
    const e = new ControllerExpectations(() => NOW);
    e.expectDeletions('ns/rs', ['ns/a', 'ns/b']);
    e.deletionObserved('ns/rs', 'ns/a');
    e.deletionObserved('ns/rs', 'ns/a');
    e.deletionObserved('ns/rs', 'ns/other');
    expect(e.pending('ns/rs')).toEqual({ add: 0, del: 1 });
    expect(e.satisfied('ns/rs')).toBe(false);
    e.deletionObserved('ns/rs', 'ns/b');
    expect(e.satisfied('ns/rs')).toBe(true);
  });

  it('expires after the timeout so a lost event cannot wedge the controller', () => {
    let now = NOW;
    const e = new ControllerExpectations(() => now, 1000);
    e.expectCreations('k', 1);
    now += 999;
    expect(e.satisfied('k')).toBe(false);
    now += 2;
    expect(e.satisfied('k')).toBe(true);
  });
});

describe('claims (ControllerRefManager)', () => {
  const owner: KubeObject = { metadata: { name: 'web-abc', namespace: 'default', uid: 'rs-uid' } };
  const ref = (uid: string) => [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'x', uid, controller: true }];
  const match = (p: KubeObject) => p.metadata.labels?.app === 'web';

  it('keeps, adopts, releases and ignores', () => {
    const mine = { ...pod('mine'), metadata: { ...pod('mine').metadata, ownerReferences: ref('rs-uid') } };
    const strayed = {
      ...pod('strayed', { labels: { app: 'db' } }),
      metadata: { ...pod('strayed', { labels: { app: 'db' } }).metadata, ownerReferences: ref('rs-uid') },
    };
    const theirs = { ...pod('theirs'), metadata: { ...pod('theirs').metadata, ownerReferences: ref('other') } };
    const orphan = pod('orphan');
    const unrelated = pod('unrelated', { labels: { app: 'db' } });
    const dying = pod('dying', { deleting: true });
    const plan = planClaim(owner, [mine, strayed, theirs, orphan, unrelated, dying], match);
    expect(names(plan.owned)).toEqual(['mine']);
    expect(names(plan.adopt)).toEqual(['orphan']);
    expect(names(plan.release)).toEqual(['strayed']);
  });

  it('an owner being deleted adopts and releases nothing', () => {
    const deleting = { metadata: { ...owner.metadata, deletionTimestamp: ago(0) } };
    const plan = planClaim(deleting, [pod('orphan')], match);
    expect(plan.adopt).toEqual([]);
  });
});

describe('pods from the template', () => {
  it('generateName <rs>-, labels/annotations from the template, a controller ownerReference', () => {
    const ref = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      name: 'web-abc',
      uid: 'u1',
      controller: true,
      blockOwnerDeletion: true,
    };
    const p = podFromTemplate(
      {
        metadata: {
          labels: { app: 'web', 'pod-template-hash': 'abc' },
          annotations: { a: 'b' },
          creationTimestamp: null,
        },
        spec: { containers: [{ name: 'c', image: 'i' }] },
      },
      'web-abc',
      ref,
    );
    expect(p).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: 'web-abc-',
        labels: { app: 'web', 'pod-template-hash': 'abc' },
        annotations: { a: 'b' },
        ownerReferences: [ref],
      },
      spec: { containers: [{ name: 'c', image: 'i' }] },
    });
    expect(podFromTemplate({ spec: {} }, 'x'.repeat(70), ref).metadata.generateName).toHaveLength(58);
  });
});

describe('slowStartBatch', () => {
  it('creates in batches of 1, 2, 4, ... and stops after a failing batch', async () => {
    let calls = 0;
    const ok = await slowStartBatch(10, 1, async () => {
      calls++;
    });
    expect(ok).toEqual({ ok: 10 });
    expect(calls).toBe(10);
    calls = 0;
    const failing = await slowStartBatch(10, 1, async () => {
      calls++;
      if (calls === 2) throw new Error('quota');
    });
    // batch 1 (ok), batch 2 (one fails): 3 attempts, 2 ok, nothing more
    expect(calls).toBe(3);
    expect(failing.ok).toBe(2);
    expect(failing.error?.message).toBe('quota');
  });
});
