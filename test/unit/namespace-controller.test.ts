// The namespace controller against the real API storage: a deleted namespace is
// Terminating, its content goes (bound pods wait for their agent), then the namespace;
// and the NamespaceDeletion* conditions it reports.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as gc from '../../controlplane/controllers/garbage-collector.js';
import * as nsc from '../../controlplane/controllers/namespace-controller.js';
import { deletionConditions, mergeConditions } from '../../controlplane/controllers/namespace-controller.js';
import {
  defs,
  eventually,
  nodeBody,
  ownerRef,
  podBody,
  replicaSetBody,
  sleep,
  startCluster,
  type TestCluster,
} from './gc-fixtures.js';

describe('namespace deletion conditions', () => {
  it('reports remaining resources and finalizers as kube does', () => {
    const cs = deletionConditions({
      remaining: new Map([
        ['pods', 2],
        ['replicasets.apps', 1],
      ]),
      finalizers: new Map([['foregroundDeletion', 1]]),
      failures: [],
    });
    const byType = Object.fromEntries(cs.map((c) => [c.type, c]));
    expect(byType.NamespaceContentRemaining).toMatchObject({
      status: 'True',
      reason: 'SomeResourcesRemain',
      message: 'Some resources are remaining: pods has 2 resource instances, replicasets.apps has 1 resource instances',
    });
    expect(byType.NamespaceFinalizersRemaining).toMatchObject({
      status: 'True',
      reason: 'SomeFinalizersRemain',
      message: 'Some content in the namespace has finalizers remaining: foregroundDeletion in 1 resource instances',
    });
    expect(byType.NamespaceDeletionContentFailure).toMatchObject({ status: 'False', reason: 'ContentDeleted' });
    expect(byType.NamespaceDeletionDiscoveryFailure).toMatchObject({ status: 'False', reason: 'ResourcesDiscovered' });
  });
  it('reports an empty namespace and failures', () => {
    const cs = deletionConditions({ remaining: new Map(), finalizers: new Map(), failures: ['pods: boom'] });
    const byType = Object.fromEntries(cs.map((c) => [c.type, c]));
    expect(byType.NamespaceContentRemaining).toMatchObject({ status: 'False', reason: 'ContentRemoved' });
    expect(byType.NamespaceFinalizersRemaining).toMatchObject({ status: 'False', reason: 'ContentHasNoFinalizers' });
    expect(byType.NamespaceDeletionContentFailure).toMatchObject({
      status: 'True',
      reason: 'ContentDeletionFailed',
      message: 'Failed to delete all resource types, 1 remaining: pods: boom',
    });
  });
  it('keeps lastTransitionTime while a condition keeps its status', () => {
    const first = mergeConditions(undefined, [{ type: 'A', status: 'True', reason: 'r', message: 'm' }], 't1');
    const second = mergeConditions(first, [{ type: 'A', status: 'True', reason: 'r', message: 'm2' }], 't2');
    const third = mergeConditions(second, [{ type: 'A', status: 'False', reason: 'r', message: 'm3' }], 't3');
    expect([first[0]!.lastTransitionTime, second[0]!.lastTransitionTime, third[0]!.lastTransitionTime]).toEqual([
      't1',
      't1',
      't3',
    ]);
  });
});

describe('namespace controller', () => {
  let c: TestCluster;
  beforeEach(async () => {
    c = await startCluster([nsc, gc]);
  });
  afterEach(async () => {
    await c.stop();
  });

  it('deletes the content of a Terminating namespace, then the namespace', async () => {
    await c.storage.create(defs.namespaces, undefined, { metadata: { name: 'team' } });
    await c.storage.create(defs.nodes, undefined, nodeBody('n1'));
    const rs = await c.storage.create(defs.replicasets, 'team', replicaSetBody('app'));
    await c.storage.create(defs.pods, 'team', podBody('bound', [ownerRef(rs, defs.replicasets)], { nodeName: 'n1' }));
    await c.storage.create(defs.pods, 'team', podBody('pending'));
    await c.storage.create(defs.configmaps, 'team', { metadata: { name: 'cfg' }, data: { a: 'b' } });
    await c.storage.create(defs.configmaps, 'default', { metadata: { name: 'elsewhere' } });

    const r = await c.storage.delete(defs.namespaces, undefined, 'team', { propagationPolicy: 'Background' });
    expect(r.deleted).toBe(false);
    expect(r.object.status?.phase).toBe('Terminating');
    // new content is refused while terminating
    await expect(c.storage.create(defs.configmaps, 'team', { metadata: { name: 'late' } })).rejects.toThrow(
      /being terminated/,
    );

    // everything but the gracefully terminating pod goes; the namespace waits for it
    await eventually(async () => {
      expect((await c.storage.list(defs.configmaps, 'team')).items).toHaveLength(0);
      expect((await c.storage.list(defs.replicasets, 'team')).items).toHaveLength(0);
      const pods = (await c.storage.list(defs.pods, 'team')).items;
      expect(pods.map((p) => p.metadata.name)).toEqual(['bound']);
      expect(pods[0]!.metadata.deletionTimestamp).toBeDefined();
      const ns = await c.storage.tryGet(defs.namespaces, undefined, 'team');
      const cond = ns?.status?.conditions?.find((x: { type: string }) => x.type === 'NamespaceContentRemaining');
      expect(cond).toMatchObject({
        status: 'True',
        message: 'Some resources are remaining: pods has 1 resource instances',
      });
    });
    await sleep(200);
    expect((await c.storage.tryGet(defs.namespaces, undefined, 'team'))?.status?.phase).toBe('Terminating');

    // the agent confirms the pod's termination
    await c.storage.delete(defs.pods, 'team', 'bound', { gracePeriodSeconds: 0 });
    await eventually(async () => expect(await c.storage.tryGet(defs.namespaces, undefined, 'team')).toBeUndefined());
    expect(await c.storage.tryGet(defs.configmaps, 'default', 'elsewhere')).toBeDefined();
  });

  it('finishes a namespace that was already Terminating when the controller started', async () => {
    await c.stop();
    c = await startCluster([]);
    await c.storage.create(defs.namespaces, undefined, { metadata: { name: 'old' } });
    await c.storage.create(defs.configmaps, 'old', { metadata: { name: 'x' } });
    await c.storage.delete(defs.namespaces, undefined, 'old', {});
    await sleep(100);
    expect(await c.storage.tryGet(defs.namespaces, undefined, 'old')).toBeDefined();
    const ctl = nsc.create(c.ctx);
    await ctl.start();
    c.controllers.push(ctl);
    await eventually(async () => expect(await c.storage.tryGet(defs.namespaces, undefined, 'old')).toBeUndefined());
  });
});
