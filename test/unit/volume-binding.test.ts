// The scheduler's VolumeBinding plugin: PreFilter messages, node filtering by the volumes a
// pod's claims are (or can be) bound to, and, in the scheduler loop together with the PV
// controller, PreBind recording the chosen node on WaitForFirstConsumer claims.
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { KubeObject } from '../../proto/meta.js';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { controllerContext } from '../../controlplane/controllers/context.js';
import * as pvController from '../../controlplane/controllers/persistent-volume-controller.js';
import type { Controller } from '../../controlplane/controllers/types.js';
import { findResource } from '../../controlplane/resources/index.js';
import { schedule, type VolumeListers } from '../../controlplane/scheduler/framework.js';
import { newNodeInfo } from '../../controlplane/scheduler/node-info.js';
import { defaultProfile } from '../../controlplane/scheduler/profile.js';
import { Scheduler } from '../../controlplane/scheduler/scheduler.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import type { ProvisionRequest, VolumeHost } from '../../controlplane/storage/volume-host.js';
import { node, pod } from './scheduler-fixtures.js';

const listers = (claims: KubeObject[], pvs: KubeObject[], classes: KubeObject[]): VolumeListers => ({
  claim: (ns, n) => claims.find((c) => c.metadata.namespace === ns && c.metadata.name === n),
  volume: (n) => pvs.find((v) => v.metadata.name === n),
  volumes: () => pvs,
  storageClass: (n) => classes.find((c) => c.metadata.name === n),
});

const withClaims = (name: string, ...claims: string[]): KubeObject => {
  const p = pod(name);
  p.spec.volumes = claims.map((c, i) => ({ name: `v${i}`, persistentVolumeClaim: { claimName: c } }));
  return p;
};
const claim = (
  name: string,
  o: { cls?: string; volume?: string; annotations?: Record<string, string>; deleting?: boolean } = {},
): KubeObject => ({
  metadata: {
    name,
    namespace: 'default',
    uid: `uid-${name}`,
    annotations: { ...(o.volume ? { 'pv.kubernetes.io/bind-completed': 'yes' } : {}), ...(o.annotations ?? {}) },
    ...(o.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
  },
  spec: {
    accessModes: ['ReadWriteOnce'],
    resources: { requests: { storage: '1Gi' } },
    storageClassName: o.cls ?? 'local-path',
    ...(o.volume ? { volumeName: o.volume } : {}),
  },
  status: { phase: o.volume ? 'Bound' : 'Pending' },
});
const pinnedPV = (
  name: string,
  nodeName: string,
  extra: Record<string, unknown> = {},
  phase = 'Bound',
): KubeObject => ({
  metadata: { name },
  spec: {
    capacity: { storage: '1Gi' },
    accessModes: ['ReadWriteOnce'],
    storageClassName: 'local-path',
    local: { path: '/x' },
    nodeAffinity: {
      required: {
        nodeSelectorTerms: [
          { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [nodeName] }] },
        ],
      },
    },
    ...extra,
  },
  status: { phase },
});
const localPath = {
  metadata: { name: 'local-path' },
  provisioner: 'skiff.io/local-path',
  volumeBindingMode: 'WaitForFirstConsumer',
};
const immediate = { metadata: { name: 'fast' }, provisioner: 'skiff.io/local-path', volumeBindingMode: 'Immediate' };
const staticOnly = {
  metadata: { name: 'local-storage' },
  provisioner: 'kubernetes.io/no-provisioner',
  volumeBindingMode: 'WaitForFirstConsumer',
};
const nodes = [newNodeInfo(node('n1')), newNodeInfo(node('n2')), newNodeInfo(node('n3', { labels: { zone: 'b' } }))];
const profile = defaultProfile('spread');

function run(
  p: KubeObject,
  claims: KubeObject[],
  pvs: KubeObject[] = [],
  classes: KubeObject[] = [localPath, immediate, staticOnly],
) {
  return schedule(p, nodes, profile, { volumes: listers(claims, pvs, classes), random: () => 0 });
}
const msg = (r: ReturnType<typeof run>) => ('error' in r ? r.error.message : `node ${r.node}`);

describe('VolumeBinding filter', () => {
  it("a missing, a deleting or an unbound Immediate claim makes the pod unschedulable with kube-scheduler's message", () => {
    expect(msg(run(withClaims('p', 'nope'), []))).toBe(
      '0/3 nodes are available: persistentvolumeclaim "nope" not found.',
    );
    expect(msg(run(withClaims('p', 'gone'), [claim('gone', { deleting: true })]))).toBe(
      '0/3 nodes are available: persistentvolumeclaim "gone" is being deleted.',
    );
    expect(msg(run(withClaims('p', 'im'), [claim('im', { cls: 'fast' })]))).toBe(
      '0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims.',
    );
    // a class that does not exist counts as Immediate, as IsDelayBindingMode has it
    expect(msg(run(withClaims('p', 'x'), [claim('x', { cls: 'unknown' })]))).toBe(
      '0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims.',
    );
  });

  it('a claim bound to a node-pinned volume sends the pod only to that node', () => {
    const claims = [claim('data', { volume: 'pv-1' })];
    for (let i = 0; i < 5; i++)
      expect(run(withClaims('p', 'data'), claims, [pinnedPV('pv-1', 'n2')])).toEqual({ node: 'n2' });
    expect(msg(run(withClaims('p', 'data'), claims, [pinnedPV('pv-1', 'elsewhere')]))).toBe(
      '0/3 nodes are available: 3 node(s) had volume node affinity conflict.',
    );
    expect(msg(run(withClaims('p', 'data'), claims, []))).toBe(
      '0/3 nodes are available: 3 node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s).',
    );
  });

  it('unbound WaitForFirstConsumer claims: local-path provisions anywhere; no-provisioner needs a fitting volume on the node', () => {
    expect('node' in run(withClaims('p', 'data'), [claim('data')])).toBe(true);
    const st = [claim('s', { cls: 'local-storage' })];
    expect(msg(run(withClaims('p', 's'), st))).toBe(
      "0/3 nodes are available: 3 node(s) didn't find available persistent volumes to bind.",
    );
    const avail = pinnedPV('local-n3', 'n3', { storageClassName: 'local-storage' }, 'Available');
    expect(run(withClaims('p', 's'), st, [avail])).toEqual({ node: 'n3' });
    // allowedTopologies of the class
    const zoned = { ...localPath, allowedTopologies: [{ matchLabelExpressions: [{ key: 'zone', values: ['b'] }] }] };
    expect(run(withClaims('p', 'data'), [claim('data')], [], [zoned])).toEqual({ node: 'n3' });
    // a node already recorded on the claim is final, unless it left the cluster
    expect(
      run(withClaims('p', 'data'), [claim('data', { annotations: { 'volume.kubernetes.io/selected-node': 'n1' } })]),
    ).toEqual({ node: 'n1' });
    expect(
      'node' in
        run(withClaims('p', 'data'), [
          claim('data', { annotations: { 'volume.kubernetes.io/selected-node': 'gone' } }),
        ]),
    ).toBe(true);
  });

  it('a ReadWriteOncePod claim in use by a scheduled pod keeps a second pod out (VolumeRestrictions)', () => {
    const rwop = claim('solo', { volume: 'pv-s' });
    rwop.spec.accessModes = ['ReadWriteOncePod'];
    const holder = withClaims('holder', 'solo');
    holder.spec.nodeName = 'n1';
    const busy = [newNodeInfo(node('n1'), [holder]), newNodeInfo(node('n2'))];
    const r = schedule(withClaims('second', 'solo'), busy, profile, {
      volumes: listers([rwop], [{ metadata: { name: 'pv-s' }, spec: {} }], []),
    });
    expect(msg(r)).toBe(
      '0/2 nodes are available: node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode.',
    );
    // once the holder finished, the claim is free
    holder.status.phase = 'Succeeded';
    const freed = [newNodeInfo(node('n1'), [holder]), newNodeInfo(node('n2'))];
    expect(
      'node' in
        schedule(withClaims('second', 'solo'), freed, profile, {
          volumes: listers([rwop], [{ metadata: { name: 'pv-s' }, spec: {} }], []),
        }),
    ).toBe(true);
  });

  it('pods without claims are not affected, and without listers the plugin stays out of the way', () => {
    expect('node' in run(pod('plain'), [])).toBe(true);
    expect('node' in schedule(withClaims('p', 'nope'), nodes, profile)).toBe(true);
  });
});

describe('VolumeBinding in the scheduler loop with the PV controller', () => {
  let store: SqliteStore | undefined;
  let scheduler: Scheduler | undefined;
  let controller: Controller | undefined;
  let stopInformers: (() => void) | undefined;
  afterEach(async () => {
    scheduler?.stop();
    controller?.stop();
    stopInformers?.();
    await store?.close();
  });

  it('a WaitForFirstConsumer claim is provisioned on the node the scheduler chose; a pod of a bound claim follows it', async () => {
    store = new SqliteStore(':memory:');
    const storage = new ApiStorage(store);
    await seedNamespaces(storage);
    const def = (g: string, p: string) => findResource(g, 'v1', p)!;
    for (const n of ['host-1', 'host-2']) {
      await storage.create(def('', 'nodes'), undefined, {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: n, labels: { 'kubernetes.io/hostname': n } },
        status: {
          capacity: { cpu: '4', memory: '8Gi', pods: '110' },
          allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
          conditions: [{ type: 'Ready', status: 'True' }],
        },
      });
    }
    await storage.create(def('storage.k8s.io', 'storageclasses'), undefined, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      ...localPath,
      metadata: { name: 'local-path', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
    });
    const provisioned: Array<{ node: string; req: ProvisionRequest }> = [];
    const host: VolumeHost = {
      async provision(nodeName, req) {
        provisioned.push({ node: nodeName, req });
        return { path: `/agent/${nodeName}/storage/${req.pvName}` };
      },
      async remove() {},
    };
    const ctx = controllerContext(storage, pino({ level: 'silent' }));
    controller = pvController.create(ctx, { volumeHost: host });
    await controller.start();
    await ctx.informers.startAll();
    stopInformers = () => ctx.informers.stopAll();
    scheduler = new Scheduler(storage, { strategy: 'spread', initialBackoffMs: 10, maxBackoffMs: 50 });
    await scheduler.start();

    const podBody = (name: string, claimName: string) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: {
        containers: [{ name: 'c', image: 'busybox' }],
        volumes: [{ name: 'd', persistentVolumeClaim: { claimName } }],
      },
    });
    const until = async <T>(what: string, fn: () => Promise<T | undefined | false>): Promise<T> => {
      const deadline = Date.now() + 5000;
      for (;;) {
        const v = await fn();
        if (v) return v;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    // a missing claim: Pending with the message, until the claim appears
    await storage.create(def('', 'pods'), 'default', podBody('first', 'data'));
    const failed = await until('FailedScheduling', async () =>
      (await storage.list(def('', 'events'), 'default')).items.find(
        (e) => e.involvedObject?.name === 'first' && e.reason === 'FailedScheduling',
      ),
    );
    expect(failed.message).toBe(
      '0/2 nodes are available: persistentvolumeclaim "data" not found. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling..',
    );
    await storage.create(def('', 'persistentvolumeclaims'), 'default', {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    const first = await until('first scheduled', async () => {
      const p = await storage.get(def('', 'pods'), 'default', 'first');
      return p.spec.nodeName && p;
    });
    const bound = await until('claim Bound', async () => {
      const c = await storage.get(def('', 'persistentvolumeclaims'), 'default', 'data');
      return c.status?.phase === 'Bound' && c;
    });
    expect(bound.metadata.annotations?.['volume.kubernetes.io/selected-node']).toBe(first.spec.nodeName);
    expect(provisioned.map((p) => p.node)).toEqual([first.spec.nodeName]);
    const pv = await storage.get(def('', 'persistentvolumes'), undefined, bound.spec.volumeName);
    expect(pv.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values).toEqual([
      first.spec.nodeName,
    ]);

    // pods sharing a claim not yet bound all follow the node recorded on it
    await storage.create(def('', 'persistentvolumeclaims'), 'default', {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'shared' },
      spec: {
        accessModes: ['ReadWriteMany'],
        resources: { requests: { storage: '1Gi' } },
        storageClassName: 'no-such-provisioner',
      },
    });
    await storage.create(def('storage.k8s.io', 'storageclasses'), undefined, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'no-such-provisioner' },
      provisioner: 'example.com/slow',
      volumeBindingMode: 'WaitForFirstConsumer',
    });
    const sharers = ['s1', 's2', 's3', 's4', 's5', 's6'];
    await Promise.all(sharers.map((n) => storage.create(def('', 'pods'), 'default', podBody(n, 'shared'))));
    const placed = await Promise.all(
      sharers.map((n) =>
        until(`${n} scheduled`, async () => (await storage.get(def('', 'pods'), 'default', n)).spec.nodeName),
      ),
    );
    expect(new Set(placed).size).toBe(1);
    expect(
      (await storage.get(def('', 'persistentvolumeclaims'), 'default', 'shared')).metadata.annotations?.[
        'volume.kubernetes.io/selected-node'
      ],
    ).toBe(placed[0]);

    // the next pods using the claim go where its data is, every time
    for (const name of ['second', 'third', 'fourth']) {
      await storage.create(def('', 'pods'), 'default', podBody(name, 'data'));
      const p = await until(`${name} scheduled`, async () => {
        const x = await storage.get(def('', 'pods'), 'default', name);
        return x.spec.nodeName && x;
      });
      expect(p.spec.nodeName).toBe(first.spec.nodeName);
    }
  });
});
