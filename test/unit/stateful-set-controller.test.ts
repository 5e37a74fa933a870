// The StatefulSet controller in process, against the real API write path (SQLite in
// memory), with a stand-in kubelet that marks pods Running and Ready.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { create } from '../../controlplane/controllers/stateful-set-controller.js';
import type { ApiStorage } from '../../controlplane/api/storage.js';
import { startController, until, type ControllerHarness } from './controller-harness.js';
import { findResource } from '../../controlplane/resources/index.js';
import type { KubeObject } from '../../proto/meta.js';

const podDef = findResource('', 'v1', 'pods')!;
const stsDef = findResource('apps', 'v1', 'statefulsets')!;
const pvcDef = findResource('', 'v1', 'persistentvolumeclaims')!;

let storage: ApiStorage;
let kubelet: NodeJS.Timeout | undefined;

let harness: ControllerHarness;

beforeEach(async () => {
  harness = await startController(create);
  ({ storage } = harness);
});

afterEach(async () => {
  if (kubelet) clearInterval(kubelet);
  kubelet = undefined;
  await harness.stop();
});

const pods = async () =>
  (await storage.list(podDef, 'default')).items.sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
const names = async () => (await pods()).map((p) => p.metadata.name);
const getSet = () => storage.get(stsDef, 'default', 'web');

/** the stand-in kubelet: every pod that is not yet Running becomes Running and Ready */
async function markReady(only?: (p: KubeObject) => boolean): Promise<void> {
  for (const p of await pods()) {
    if (p.status?.phase === 'Running' || p.metadata.deletionTimestamp || (only && !only(p))) continue;
    await storage
      .guaranteedUpdate(
        podDef,
        'default',
        p.metadata.name!,
        {},
        (cur) => {
          cur.status = {
            ...cur.status,
            phase: 'Running',
            conditions: [
              { type: 'Ready', status: 'True', lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') },
            ],
          };
          return cur;
        },
        'status',
      )
      .catch(() => undefined);
  }
}

function setBody(spec: Record<string, unknown> = {}): unknown {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web' },
    spec: {
      replicas: 3,
      serviceName: 'web',
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'busybox:1' }] } },
      volumeClaimTemplates: [
        {
          metadata: { name: 'data' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        },
      ],
      ...spec,
    },
  };
}

describe('StatefulSet controller', () => {
  it('OrderedReady: one pod at a time in ordinal order, each with its claim; scale down from the top', async () => {
    const set = await storage.create(
      stsDef,
      'default',
      setBody({ persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' } }),
    );
    await until('web-0', async () => (await names()).includes('web-0'));
    await new Promise((r) => setTimeout(r, 100));
    expect(await names()).toEqual(['web-0']); // web-1 waits for web-0 to be Ready
    const web0 = (await pods())[0]!;
    expect(web0.spec.hostname).toBe('web-0');
    expect(web0.spec.subdomain).toBe('web');
    expect(web0.metadata.labels).toMatchObject({
      app: 'web',
      'statefulset.kubernetes.io/pod-name': 'web-0',
      'apps.kubernetes.io/pod-index': '0',
    });
    expect(web0.metadata.labels!['controller-revision-hash']).toMatch(/^web-/);
    expect(web0.spec.volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: 'data-web-0' } });
    const claim = await storage.get(pvcDef, 'default', 'data-web-0');
    expect(claim.metadata.labels).toEqual({ app: 'web' });
    expect(claim.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        name: 'web',
        uid: set.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);

    await markReady();
    await until('web-1', async () => (await names()).includes('web-1'));
    expect(await names()).toEqual(['web-0', 'web-1']);
    await markReady();
    await until('web-2', async () => (await names()).includes('web-2'));
    await markReady();
    const s = await until('status 3 ready', async () => {
      const x = await getSet();
      return x.status?.readyReplicas === 3 && x;
    });
    expect(s.status).toMatchObject({
      replicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      currentReplicas: 3,
      updatedReplicas: 3,
      observedGeneration: 1,
    });
    expect(s.status.currentRevision).toBe(s.status.updateRevision);
    expect(s.status.currentRevision).toBe(web0.metadata.labels!['controller-revision-hash']);
    expect((await storage.list(pvcDef, 'default')).items.map((c) => c.metadata.name).sort()).toEqual([
      'data-web-0',
      'data-web-1',
      'data-web-2',
    ]);

    await storage.guaranteedUpdate(stsDef, 'default', 'web', {}, (cur) => {
      cur.spec.replicas = 1;
      return cur;
    });
    await until('scaled to 1', async () => (await names()).join() === 'web-0');
    expect((await storage.list(pvcDef, 'default')).items).toHaveLength(3); // whenScaled: Retain
    await until('status 1', async () => (await getSet()).status?.replicas === 1);
  });

  it('Parallel: all pods at once', async () => {
    await storage.create(stsDef, 'default', setBody({ podManagementPolicy: 'Parallel' }));
    await until('3 pods', async () => (await names()).join() === 'web-0,web-1,web-2');
  });

  it('RollingUpdate replaces from the highest ordinal, honouring the partition', async () => {
    kubelet = setInterval(() => void markReady(), 20);
    await storage.create(
      stsDef,
      'default',
      setBody({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } } }),
    );
    const first = await until('3 ready', async () => {
      const x = await getSet();
      return x.status?.readyReplicas === 3 && x;
    });
    const oldRev = first.status.updateRevision;
    await storage.guaranteedUpdate(stsDef, 'default', 'web', {}, (cur) => {
      cur.spec.template.spec.containers[0].image = 'busybox:2';
      return cur;
    });
    const s = await until('updated 2', async () => {
      const x = await getSet();
      return x.status?.updatedReplicas === 2 && x.status.readyReplicas === 3 && x;
    });
    const byName = Object.fromEntries((await pods()).map((p) => [p.metadata.name, p]));
    expect(byName['web-2'].spec.containers[0].image).toBe('busybox:2');
    expect(byName['web-1'].spec.containers[0].image).toBe('busybox:2');
    expect(byName['web-0'].spec.containers[0].image).toBe('busybox:1');
    expect(s.status.currentRevision).toBe(oldRev);
    expect(s.status.updateRevision).not.toBe(oldRev);
    expect(s.status.currentReplicas).toBe(1);
    // a pod below the partition that goes away comes back at the current revision
    await storage.delete(podDef, 'default', 'web-0');
    await until(
      'web-0 back',
      async () =>
        (await storage.tryGet(podDef, 'default', 'web-0'))?.metadata.labels?.['controller-revision-hash'] === oldRev,
    );
    expect((await storage.get(podDef, 'default', 'web-0')).spec.containers[0].image).toBe('busybox:1');
    // partition 0 finishes the rollout and the current revision moves on
    await storage.guaranteedUpdate(stsDef, 'default', 'web', {}, (cur) => {
      cur.spec.updateStrategy.rollingUpdate.partition = 0;
      return cur;
    });
    const done = await until('rolled out', async () => {
      const x = await getSet();
      return x.status?.currentRevision === x.status?.updateRevision && x.status.updatedReplicas === 3 && x;
    });
    expect(done.status.currentReplicas).toBe(3);
    expect((await pods()).map((p) => p.spec.containers[0].image)).toEqual(['busybox:2', 'busybox:2', 'busybox:2']);
  });

  it('re-creates a failed pod with the same name', async () => {
    await storage.create(stsDef, 'default', setBody({ replicas: 1 }));
    const first = await until('web-0', async () => (await pods())[0]);
    await storage.guaranteedUpdate(
      podDef,
      'default',
      'web-0',
      {},
      (cur) => {
        cur.status = { ...cur.status, phase: 'Failed' };
        return cur;
      },
      'status',
    );
    await until('new web-0', async () => {
      const p = await storage.tryGet(podDef, 'default', 'web-0');
      return p && p.metadata.uid !== first.metadata.uid;
    });
  });

  it('adopts an orphan pod that matches its selector and name', async () => {
    await storage.create(podDef, 'default', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-0', labels: { app: 'web' } },
      spec: { containers: [{ name: 'c', image: 'busybox:1' }] },
    });
    const set = await storage.create(stsDef, 'default', setBody({ replicas: 1 }));
    await until(
      'adopted',
      async () =>
        (await storage.get(podDef, 'default', 'web-0')).metadata.ownerReferences?.[0]?.uid === set.metadata.uid,
    );
  });
});
