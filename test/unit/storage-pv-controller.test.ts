// The persistentvolume binder with the local-path provisioner (a fake VolumeHost standing in
// for the node agents) and the two protection controllers, over the real API write path.
import { afterEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import type { ApiStorage } from '../../controlplane/api/storage.js';
import type { ControllerContext } from '../../controlplane/controllers/context.js';
import * as pvController from '../../controlplane/controllers/persistent-volume-controller.js';
import * as pvcProtection from '../../controlplane/controllers/pvc-protection-controller.js';
import * as pvProtection from '../../controlplane/controllers/pv-protection-controller.js';
import type { Controller } from '../../controlplane/controllers/types.js';
import { findResource } from '../../controlplane/resources/index.js';
import type { ProvisionRequest, RemoveRequest, VolumeHost } from '../../controlplane/storage/volume-host.js';
import { startController, until, type ControllerHarness } from './controller-harness.js';

const pvcDef = findResource('', 'v1', 'persistentvolumeclaims')!;
const pvDef = findResource('', 'v1', 'persistentvolumes')!;
const scDef = findResource('storage.k8s.io', 'v1', 'storageclasses')!;
const podDef = findResource('', 'v1', 'pods')!;
const nodeDef = findResource('', 'v1', 'nodes')!;
const eventDef = findResource('', 'v1', 'events')!;

/** The node agents as the provisioner sees them: directories per node, failures on demand. */
class FakeVolumeHost implements VolumeHost {
  dirs = new Map<string, string>(); // path -> node
  provisions: Array<{ node: string; req: ProvisionRequest }> = [];
  failProvision?: string;
  failRemove?: string;
  async provision(node: string, req: ProvisionRequest): Promise<{ path: string }> {
    this.provisions.push({ node, req });
    if (this.failProvision) throw new Error(this.failProvision);
    const path = `${req.basePath ?? `/var/lib/skiff-agent-${node}/storage`}/${req.pvName}`;
    this.dirs.set(path, node);
    return { path };
  }
  removes = 0;
  async remove(node: string, req: RemoveRequest): Promise<void> {
    this.removes++;
    if (this.failRemove) throw new Error(this.failRemove);
    if (this.dirs.get(req.path) === node) this.dirs.delete(req.path);
  }
}

let harness: ControllerHarness | undefined;
let storage: ApiStorage;
let host: FakeVolumeHost;

async function start(withHost = true): Promise<void> {
  host = new FakeVolumeHost();
  harness = await startController((ctx: ControllerContext): Controller => {
    const cs = [
      pvController.create(ctx, withHost ? { volumeHost: host, random: () => 0 } : {}),
      pvcProtection.create(ctx),
      pvProtection.create(ctx),
    ];
    return {
      name: 'storage',
      async start() {
        for (const c of cs) await c.start();
      },
      stop() {
        for (const c of cs) c.stop();
      },
    };
  });
  storage = harness.storage;
}

afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

const claim = (name: string, spec: Record<string, unknown> = {}, annotations?: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name, ...(annotations ? { annotations } : {}) },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...spec },
});
const pv = (
  name: string,
  size: string,
  spec: Record<string, unknown> = {},
  labels?: Record<string, string>,
): KubeObject => ({
  apiVersion: 'v1',
  kind: 'PersistentVolume',
  metadata: { name, ...(labels ? { labels } : {}) },
  spec: {
    capacity: { storage: size },
    accessModes: ['ReadWriteOnce'],
    hostPath: { path: `/data/${name}` },
    storageClassName: 'manual',
    ...spec,
  },
});
const sc = (name: string, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'storage.k8s.io/v1',
  kind: 'StorageClass',
  metadata: { name },
  provisioner: 'skiff.io/local-path',
  volumeBindingMode: 'WaitForFirstConsumer',
  ...extra,
});

const getClaim = (n: string) => storage.tryGet(pvcDef, 'default', n);
const getPV = (n: string) => storage.tryGet(pvDef, undefined, n);
async function events(name: string, reason?: string): Promise<KubeObject[]> {
  const all = [...(await storage.list(eventDef, 'default')).items];
  return all.filter((e) => e.involvedObject?.name === name && (!reason || e.reason === reason));
}
const eventually = <T>(what: string, fn: () => Promise<T | undefined | false>) => until(what, fn, 4000);

async function readyNode(name: string): Promise<void> {
  await storage.create(nodeDef, undefined, {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    status: { conditions: [{ type: 'Ready', status: 'True' }] },
  });
}

describe('binding existing volumes', () => {
  it('binds a claim to the smallest Available volume of its class that fits, both ways, and prints the binding', async () => {
    await start();
    await storage.create(pvDef, undefined, pv('big', '10Gi'));
    await storage.create(pvDef, undefined, pv('small', '2Gi'));
    await storage.create(pvDef, undefined, pv('tiny', '500Mi'));
    await storage.create(pvDef, undefined, pv('other-class', '1Gi', { storageClassName: 'fast' }));
    await storage.create(pvDef, undefined, pv('rwx', '1Gi', { accessModes: ['ReadWriteOnce', 'ReadWriteMany'] }));
    await eventually('volumes Available', async () =>
      (await storage.list(pvDef, undefined)).items.every((v) => v.status?.phase === 'Available'),
    );
    const c = await storage.create(pvcDef, 'default', claim('data', { storageClassName: 'manual' }));
    const bound = await eventually('claim Bound', async () => {
      const x = await getClaim('data');
      return x?.status?.phase === 'Bound' && x;
    });
    // RWO alone is the smaller access-mode set: 'rwx' (1Gi) loses to 'small' (2Gi)
    expect(bound.spec.volumeName).toBe('small');
    expect(bound.status.capacity).toEqual({ storage: '2Gi' });
    expect(bound.status.accessModes).toEqual(['ReadWriteOnce']);
    expect(bound.metadata.annotations).toMatchObject({
      'pv.kubernetes.io/bind-completed': 'yes',
      'pv.kubernetes.io/bound-by-controller': 'yes',
    });
    const vol = await eventually('PV Bound', async () => {
      const v = await getPV('small');
      return v?.status?.phase === 'Bound' && v;
    });
    expect(vol.spec.claimRef).toMatchObject({
      kind: 'PersistentVolumeClaim',
      namespace: 'default',
      name: 'data',
      uid: c.metadata.uid,
    });
    expect(pvDef.row(vol, Date.now()).slice(0, 7)).toEqual([
      'small',
      '2Gi',
      'RWO',
      'Retain',
      'Bound',
      'default/data',
      'manual',
    ]);
    expect(pvcDef.row(bound, Date.now()).slice(0, 6)).toEqual(['data', 'Bound', 'small', '2Gi', 'RWO', 'manual']);
  });

  it('honours a selector and a pre-bound volumeName; a claim naming a too-small volume gets VolumeMismatch', async () => {
    await start();
    await storage.create(pvDef, undefined, pv('a', '1Gi', {}, { tier: 'gold' }));
    await storage.create(pvDef, undefined, pv('b', '1Gi', {}, { tier: 'silver' }));
    await storage.create(pvDef, undefined, pv('c', '100Mi'));
    await storage.create(
      pvcDef,
      'default',
      claim('gold', { storageClassName: 'manual', selector: { matchLabels: { tier: 'gold' } } }),
    );
    await storage.create(pvcDef, 'default', claim('named', { storageClassName: 'manual', volumeName: 'b' }));
    await storage.create(pvcDef, 'default', claim('small', { storageClassName: 'manual', volumeName: 'c' }));
    await eventually(
      'gold bound to a',
      async () =>
        (await getClaim('gold'))?.spec.volumeName === 'a' && (await getClaim('gold'))?.status.phase === 'Bound',
    );
    await eventually('named bound to b', async () => (await getClaim('named'))?.status.phase === 'Bound');
    expect((await getPV('b'))!.spec.claimRef.name).toBe('named');
    const ev = await eventually('VolumeMismatch', async () => (await events('small', 'VolumeMismatch'))[0]);
    expect(ev.message).toBe('Cannot bind to requested volume "c": requested PV is too small');
    expect((await getClaim('small'))!.status.phase).toBe('Pending');
  });

  it('a claim without a class and no volume: FailedBinding as Kubernetes words it', async () => {
    await start();
    await storage.create(pvcDef, 'default', claim('none', { storageClassName: '' }));
    const ev = await eventually('FailedBinding', async () => (await events('none', 'FailedBinding'))[0]);
    expect(ev.message).toBe('no persistent volumes available for this claim and no storage class is set');
    expect(ev.type).toBe('Normal');
    expect((await getClaim('none'))!.status.phase).toBe('Pending');
  });
});

describe('retroactive default class', () => {
  it('a claim made before any default class existed gets the default class once one appears, and is provisioned', async () => {
    await start();
    await storage.create(pvcDef, 'default', claim('early', {}, { 'volume.kubernetes.io/selected-node': 'node-a' }));
    expect((await getClaim('early'))!.spec.storageClassName).toBeUndefined();
    await storage.create(scDef, undefined, {
      ...sc('local-path'),
      metadata: { name: 'local-path', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
    });
    const bound = await eventually('claim Bound', async () => {
      const x = await getClaim('early');
      return x?.status?.phase === 'Bound' && x;
    });
    expect(bound.spec.storageClassName).toBe('local-path');
    // and a class, once set, is fixed
    await expect(
      storage.guaranteedUpdate(pvcDef, 'default', 'early', {}, (cur) => {
        cur.spec.storageClassName = 'other';
        return cur;
      }),
    ).rejects.toThrow(/immutable/);
  });
});

describe('provisioning', () => {
  it('an unknown class: Pending with ProvisioningFailed; another provisioner: ExternalProvisioning', async () => {
    await start();
    await storage.create(pvcDef, 'default', claim('x', { storageClassName: 'nope' }));
    const ev = await eventually('ProvisioningFailed', async () => (await events('x', 'ProvisioningFailed'))[0]);
    expect(ev.message).toBe('storageclass.storage.k8s.io "nope" not found');
    expect(ev.type).toBe('Warning');
    await storage.create(
      scDef,
      undefined,
      sc('nfs', { provisioner: 'nfs.csi.k8s.io', volumeBindingMode: 'Immediate' }),
    );
    await storage.create(pvcDef, 'default', claim('y', { storageClassName: 'nfs' }));
    const ext = await eventually('ExternalProvisioning', async () => (await events('y', 'ExternalProvisioning'))[0]);
    expect(ext.message).toBe(
      "Waiting for a volume to be created either by the external provisioner 'nfs.csi.k8s.io' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.",
    );
    expect((await getClaim('y'))!.metadata.annotations?.['volume.kubernetes.io/storage-provisioner']).toBe(
      'nfs.csi.k8s.io',
    );
    expect((await getClaim('x'))!.status.phase).toBe('Pending');
    expect(host.provisions).toEqual([]);
  });

  it('WaitForFirstConsumer: waits for the selected node, provisions there, binds; Delete removes PV and directory', async () => {
    await start();
    await storage.create(scDef, undefined, sc('local-path', { parameters: { path: '/srv/vols' } }));
    const c = await storage.create(
      pvcDef,
      'default',
      claim('data', { storageClassName: 'local-path', accessModes: ['ReadWriteOncePod'] }),
    );
    const wait = await eventually(
      'WaitForFirstConsumer',
      async () => (await events('data', 'WaitForFirstConsumer'))[0],
    );
    expect(wait.message).toBe('waiting for first consumer to be created before binding');
    expect(host.provisions).toEqual([]);
    // what the scheduler's VolumeBinding PreBind does
    await storage.guaranteedUpdate(pvcDef, 'default', 'data', {}, (cur) => {
      cur.metadata.annotations = { ...cur.metadata.annotations, 'volume.kubernetes.io/selected-node': 'node-b' };
      return cur;
    });
    const bound = await eventually('claim Bound', async () => {
      const x = await getClaim('data');
      return x?.status?.phase === 'Bound' && x;
    });
    const name = `pvc-${c.metadata.uid}`;
    expect(bound.spec.volumeName).toBe(name);
    expect(host.provisions).toEqual([
      { node: 'node-b', req: { pvName: name, basePath: '/srv/vols', sizeBytes: 1024 ** 3 } },
    ]);
    const vol = (await getPV(name))!;
    expect(vol.metadata.annotations).toMatchObject({ 'pv.kubernetes.io/provisioned-by': 'skiff.io/local-path' });
    expect(vol.metadata.finalizers).toEqual(['kubernetes.io/pv-protection']);
    expect(vol.spec).toMatchObject({
      capacity: { storage: '1Gi' },
      accessModes: ['ReadWriteOncePod'],
      persistentVolumeReclaimPolicy: 'Delete',
      storageClassName: 'local-path',
      volumeMode: 'Filesystem',
      local: { path: `/srv/vols/${name}` },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['node-b'] }] },
          ],
        },
      },
      claimRef: { namespace: 'default', name: 'data', uid: c.metadata.uid },
    });
    expect((await events('data', 'ProvisioningSucceeded'))[0]?.message).toBe(`Successfully provisioned volume ${name}`);
    expect(host.dirs.get(`/srv/vols/${name}`)).toBe('node-b');

    await storage.delete(pvcDef, 'default', 'data');
    await eventually('claim gone', async () => !(await getClaim('data')));
    await eventually('PV gone', async () => !(await getPV(name)));
    expect(host.dirs.size).toBe(0);
    expect(host.removes).toBe(1); // asked once, not again while the PV object goes away
  });

  it('Retain keeps the directory and leaves the PV Released', async () => {
    await start();
    await storage.create(scDef, undefined, sc('keep', { reclaimPolicy: 'Retain', volumeBindingMode: 'Immediate' }));
    await readyNode('node-a');
    const c = await storage.create(pvcDef, 'default', claim('data', { storageClassName: 'keep' }));
    await eventually('claim Bound', async () => (await getClaim('data'))?.status?.phase === 'Bound');
    const name = `pvc-${c.metadata.uid}`;
    expect(host.provisions[0]!.node).toBe('node-a');
    await storage.delete(pvcDef, 'default', 'data');
    const released = await eventually('PV Released', async () => {
      const v = await getPV(name);
      return v?.status?.phase === 'Released' && v;
    });
    expect(pvDef.row(released, Date.now())[4]).toBe('Released');
    expect(released.spec.persistentVolumeReclaimPolicy).toBe('Retain');
    expect(host.dirs.size).toBe(1);
  });

  it('a provisioner failure is an event on the claim and leaves no PV; it is retried', async () => {
    await start();
    await storage.create(scDef, undefined, sc('local-path'));
    host.failProvision = 'mkdir /var/lib/skiff/storage/x: no space left on device';
    await storage.create(
      pvcDef,
      'default',
      claim('data', { storageClassName: 'local-path' }, { 'volume.kubernetes.io/selected-node': 'node-a' }),
    );
    const ev = await eventually('ProvisioningFailed', async () => (await events('data', 'ProvisioningFailed'))[0]);
    expect(ev.message).toBe(
      'failed to provision volume with StorageClass "local-path": mkdir /var/lib/skiff/storage/x: no space left on device',
    );
    expect((await storage.list(pvDef, undefined)).items).toEqual([]);
    expect((await getClaim('data'))!.status.phase).toBe('Pending');
    host.failProvision = undefined;
    await eventually('claim Bound after the retry', async () => (await getClaim('data'))?.status?.phase === 'Bound');
  });

  it('without a VolumeHost a local-path claim waits with an event', async () => {
    await start(false);
    await storage.create(scDef, undefined, sc('local-path'));
    await storage.create(
      pvcDef,
      'default',
      claim('data', { storageClassName: 'local-path' }, { 'volume.kubernetes.io/selected-node': 'node-a' }),
    );
    const ev = await eventually('ProvisioningFailed', async () => (await events('data', 'ProvisioningFailed'))[0]);
    expect(ev.message).toBe(
      'failed to provision volume with StorageClass "local-path": the local-path provisioner cannot reach the node agents',
    );
    expect((await storage.list(pvDef, undefined)).items).toEqual([]);
  });

  it('a failed delete marks the PV Failed with VolumeFailedDelete and keeps it', async () => {
    await start();
    await storage.create(scDef, undefined, sc('local-path'));
    const c = await storage.create(
      pvcDef,
      'default',
      claim('data', { storageClassName: 'local-path' }, { 'volume.kubernetes.io/selected-node': 'node-a' }),
    );
    await eventually('claim Bound', async () => (await getClaim('data'))?.status?.phase === 'Bound');
    host.failRemove = 'agent of node "node-a" is not connected';
    await storage.delete(pvcDef, 'default', 'data');
    const name = `pvc-${c.metadata.uid}`;
    const ev = await eventually('VolumeFailedDelete', async () => (await events(name, 'VolumeFailedDelete'))[0]);
    expect(ev.message).toBe('agent of node "node-a" is not connected');
    expect((await getPV(name))!.status.phase).toBe('Failed');
    host.failRemove = undefined;
    await eventually('PV deleted after the retry', async () => !(await getPV(name)));
  });
});

describe('expansion', () => {
  it('growing needs a bound claim of a class with allowVolumeExpansion; local-path records the new capacity; shrinking is refused', async () => {
    await start();
    await storage.create(scDef, undefined, sc('grow', { allowVolumeExpansion: true }));
    await storage.create(scDef, undefined, sc('fixed'));
    for (const [name, cls] of [
      ['g', 'grow'],
      ['f', 'fixed'],
    ]) {
      await storage.create(
        pvcDef,
        'default',
        claim(name!, { storageClassName: cls }, { 'volume.kubernetes.io/selected-node': 'node-a' }),
      );
    }
    await storage.create(pvcDef, 'default', claim('pending', { storageClassName: 'grow' }));
    await eventually(
      'claims Bound',
      async () => (await getClaim('g'))?.status?.phase === 'Bound' && (await getClaim('f'))?.status?.phase === 'Bound',
    );
    const resize = (name: string, size: string) =>
      storage.guaranteedUpdate(pvcDef, 'default', name, {}, (cur) => {
        cur.spec.resources.requests.storage = size;
        return cur;
      });
    await expect(resize('f', '2Gi')).rejects.toMatchObject({
      code: 403,
      message:
        'persistentvolumeclaims "f" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize',
    });
    await expect(resize('g', '500Mi')).rejects.toMatchObject({ code: 422 });
    await expect(resize('pending', '2Gi')).rejects.toMatchObject({ code: 422 });
    await resize('g', '3Gi');
    const grown = await eventually('capacity 3Gi', async () => {
      const x = await getClaim('g');
      return x?.status?.capacity?.storage === '3Gi' && x;
    });
    expect((await getPV(grown.spec.volumeName))!.spec.capacity.storage).toBe('3Gi');
    expect((await events('g', 'VolumeResizeSuccessful'))[0]?.message).toBe('Resize volume succeeded');
  });
});

describe('protection', () => {
  it('a claim used by a running pod stays Terminating until the pod is done; a Bound PV outlives its deletion request', async () => {
    await start();
    await storage.create(pvDef, undefined, pv('vol', '1Gi'));
    await storage.create(pvcDef, 'default', claim('data', { storageClassName: 'manual' }));
    await eventually('claim Bound', async () => (await getClaim('data'))?.status?.phase === 'Bound');
    await storage.create(podDef, 'default', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'user' },
      spec: {
        nodeName: 'node-a',
        containers: [{ name: 'c', image: 'busybox' }],
        volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'data' } }],
      },
    });
    await storage.delete(pvDef, undefined, 'vol');
    await storage.delete(pvcDef, 'default', 'data');
    const terminating = (await getClaim('data'))!;
    expect(terminating.metadata.deletionTimestamp).toBeTruthy();
    expect(pvcDef.row(terminating, Date.now())[1]).toBe('Terminating');
    // give the controllers a chance to (wrongly) let go
    await storage.create(pvcDef, 'default', claim('nudge', { storageClassName: '' }));
    await eventually('nudge handled', async () => (await events('nudge', 'FailedBinding'))[0]);
    expect((await getClaim('data'))?.metadata.finalizers).toEqual(['kubernetes.io/pvc-protection']);
    expect((await getPV('vol'))?.metadata.finalizers).toEqual(['kubernetes.io/pv-protection']);

    await storage.guaranteedUpdate(
      podDef,
      'default',
      'user',
      {},
      (cur) => ({ ...cur, status: { ...cur.status, phase: 'Succeeded' } }),
      'status',
    );
    await eventually('claim gone', async () => !(await getClaim('data')));
    // Released (Retain) and no longer Bound: the PV's own deletion completes
    await eventually('PV gone', async () => !(await getPV('vol')));
  });
});
