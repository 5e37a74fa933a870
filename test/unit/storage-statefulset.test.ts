// StatefulSet data through the storage controllers: claims from volumeClaimTemplates are
// provisioned and bound, a re-created pod gets the same claim (and so the same volume),
// and persistentVolumeClaimRetentionPolicy decides what scale-down and deletion take away.
import { afterEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import type { ApiStorage } from '../../controlplane/api/storage.js';
import type { ControllerContext } from '../../controlplane/controllers/context.js';
import * as gc from '../../controlplane/controllers/garbage-collector.js';
import * as pvController from '../../controlplane/controllers/persistent-volume-controller.js';
import * as pvcProtection from '../../controlplane/controllers/pvc-protection-controller.js';
import * as pvProtection from '../../controlplane/controllers/pv-protection-controller.js';
import * as statefulSet from '../../controlplane/controllers/stateful-set-controller.js';
import type { Controller } from '../../controlplane/controllers/types.js';
import { findResource } from '../../controlplane/resources/index.js';
import type { ProvisionRequest, RemoveRequest, VolumeHost } from '../../controlplane/storage/volume-host.js';
import { startController, until, type ControllerHarness } from './controller-harness.js';

const podDef = findResource('', 'v1', 'pods')!;
const stsDef = findResource('apps', 'v1', 'statefulsets')!;
const pvcDef = findResource('', 'v1', 'persistentvolumeclaims')!;
const pvDef = findResource('', 'v1', 'persistentvolumes')!;
const scDef = findResource('storage.k8s.io', 'v1', 'storageclasses')!;
const nodeDef = findResource('', 'v1', 'nodes')!;

class Dirs implements VolumeHost {
  dirs = new Set<string>();
  async provision(node: string, req: ProvisionRequest): Promise<{ path: string }> {
    const path = `/agent/${node}/storage/${req.pvName}`;
    this.dirs.add(path);
    return { path };
  }
  async remove(_node: string, req: RemoveRequest): Promise<void> {
    this.dirs.delete(req.path);
  }
}

let harness: ControllerHarness | undefined;
let storage: ApiStorage;
let host: Dirs;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

async function start(): Promise<void> {
  host = new Dirs();
  harness = await startController((ctx: ControllerContext): Controller => {
    const cs = [
      statefulSet.create(ctx),
      gc.create(ctx),
      pvController.create(ctx, { volumeHost: host }),
      pvcProtection.create(ctx),
      pvProtection.create(ctx),
    ];
    return {
      name: 'all',
      async start() {
        for (const c of cs) await c.start();
      },
      stop() {
        for (const c of cs) c.stop();
      },
    };
  });
  storage = harness.storage;
  await storage.create(nodeDef, undefined, {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'n1', labels: { 'kubernetes.io/hostname': 'n1' } },
    status: { conditions: [{ type: 'Ready', status: 'True' }] },
  });
  // Immediate, so that no scheduler is needed to pick the node
  await storage.create(scDef, undefined, {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    provisioner: 'skiff.io/local-path',
    volumeBindingMode: 'Immediate',
    metadata: { name: 'local', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
  });
}

const setBody = (policy: Record<string, string>) => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'db' },
  spec: {
    replicas: 2,
    serviceName: 'db',
    podManagementPolicy: 'Parallel',
    selector: { matchLabels: { app: 'db' } },
    template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
    volumeClaimTemplates: [
      {
        metadata: { name: 'data' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    ],
    persistentVolumeClaimRetentionPolicy: policy,
  },
});
const claims = async () =>
  (await storage.list(pvcDef, 'default')).items.sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
const boundClaims = async (n: number) => {
  const cs = await claims();
  return cs.length === n && cs.every((c) => c.status?.phase === 'Bound') && cs;
};

describe('StatefulSet volumes', () => {
  it('two Bound claims; a deleted pod comes back with its own claim and volume; whenScaled/whenDeleted Delete take the data away', async () => {
    await start();
    await storage.create(stsDef, 'default', setBody({ whenScaled: 'Delete', whenDeleted: 'Delete' }));
    const first = await until('two Bound claims', () => boundClaims(2));
    expect(first.map((c) => c.metadata.name)).toEqual(['data-db-0', 'data-db-1']);
    expect(first.map((c) => c.spec.storageClassName)).toEqual(['local', 'local']);
    expect(host.dirs.size).toBe(2);
    const volumeOf = new Map(first.map((c) => [c.metadata.name!, c.spec.volumeName as string]));

    const old = await storage.get(podDef, 'default', 'db-0');
    await storage.delete(podDef, 'default', 'db-0', { gracePeriodSeconds: 0 });
    const again = await until('db-0 re-created', async () => {
      const p = await storage.tryGet(podDef, 'default', 'db-0');
      return p && p.metadata.uid !== old.metadata.uid && p;
    });
    expect(again.spec.volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: 'data-db-0' } });
    const after = (await claims()).find((c) => c.metadata.name === 'data-db-0')!;
    expect(after.metadata.uid).toBe(first[0]!.metadata.uid);
    expect(after.spec.volumeName).toBe(volumeOf.get('data-db-0'));
    expect(host.dirs.size).toBe(2);

    // scale down: whenScaled=Delete removes db-1's claim, its volume and directory
    await storage.guaranteedUpdate(stsDef, 'default', 'db', {}, (cur) => {
      cur.spec.replicas = 1;
      return cur;
    });
    await until('data-db-1 gone', async () => (await claims()).map((c) => c.metadata.name).join() === 'data-db-0');
    await until('its volume gone', async () => !(await storage.tryGet(pvDef, undefined, volumeOf.get('data-db-1')!)));
    expect([...host.dirs]).toEqual([`/agent/n1/storage/${volumeOf.get('data-db-0')}`]);

    // delete the set: whenDeleted=Delete removes the rest
    await storage.delete(stsDef, 'default', 'db');
    await until('claims gone', async () => (await claims()).length === 0, 8000);
    await until('volumes gone', async () => (await storage.list(pvDef, undefined)).items.length === 0);
    expect(host.dirs.size).toBe(0);
  });

  it('Retain/Retain keeps claims, volumes and data when the set is scaled down and deleted', async () => {
    await start();
    await storage.create(stsDef, 'default', setBody({ whenScaled: 'Retain', whenDeleted: 'Retain' }));
    await until('two Bound claims', () => boundClaims(2));
    await storage.guaranteedUpdate(stsDef, 'default', 'db', {}, (cur) => {
      cur.spec.replicas = 0;
      return cur;
    });
    await storage.delete(stsDef, 'default', 'db');
    await until('set gone', async () => !(await storage.tryGet(stsDef, 'default', 'db')));
    await until(
      'pods gone',
      async () =>
        (await storage.list(podDef, 'default')).items.every((p: KubeObject) => p.metadata.deletionTimestamp) ||
        (await storage.list(podDef, 'default')).items.length === 0,
    );
    const left = await claims();
    expect(left.map((c) => [c.metadata.name, c.status.phase, c.metadata.ownerReferences ?? []])).toEqual([
      ['data-db-0', 'Bound', []],
      ['data-db-1', 'Bound', []],
    ]);
    expect(host.dirs.size).toBe(2);
  });
});
