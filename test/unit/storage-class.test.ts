// StorageClass kind (defaults, validation, table), the DefaultStorageClass admission of
// claims, the protection finalizers added on create, and the one-time seeding of local-path.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import { ApiError } from '../../controlplane/api/errors.js';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { DEFAULT_STORAGE_CLASS_MARKER, seedDefaultStorageClass, seedNamespaces } from '../../controlplane/bootstrap.js';
import { findResource } from '../../controlplane/resources/index.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';

const scDef = findResource('storage.k8s.io', 'v1', 'storageclasses')!;
const pvcDef = findResource('', 'v1', 'persistentvolumeclaims')!;
const pvDef = findResource('', 'v1', 'persistentvolumes')!;

let store: SqliteStore;
let storage: ApiStorage;
let clock = Date.parse('2026-12-01T10:00:00Z');

beforeEach(async () => {
  store = new SqliteStore(':memory:');
  storage = new ApiStorage(store, () => new Date(clock));
  await seedNamespaces(storage);
});
afterEach(async () => {
  await store.close();
});

function sc(name: string, extra: Record<string, unknown> = {}, isDefault = false): KubeObject {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: {
      name,
      ...(isDefault ? { annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } } : {}),
    },
    provisioner: 'example.com/nfs',
    ...extra,
  };
}

function claim(name: string, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...spec },
  };
}

async function invalidCauses(p: Promise<unknown>): Promise<Array<{ field?: string; message: string }>> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError);
    expect((e as ApiError).code).toBe(422);
    return ((e as ApiError).details?.causes ?? []) as Array<{ field?: string; message: string }>;
  }
  throw new Error('expected 422');
}

describe('StorageClass', () => {
  it("defaults reclaimPolicy Delete and volumeBindingMode Immediate, and prints kubectl's row", async () => {
    const made = await storage.create(scDef, undefined, sc('fast', {}, true));
    expect(made.reclaimPolicy).toBe('Delete');
    expect(made.volumeBindingMode).toBe('Immediate');
    expect(scDef.columns.map((c) => c.name)).toEqual([
      'Name',
      'Provisioner',
      'ReclaimPolicy',
      'VolumeBindingMode',
      'AllowVolumeExpansion',
      'Age',
    ]);
    expect(scDef.row(made, clock + 65_000)).toEqual([
      'fast (default)',
      'example.com/nfs',
      'Delete',
      'Immediate',
      false,
      '65s',
    ]);
    const other = await storage.create(
      scDef,
      undefined,
      sc('slow', { allowVolumeExpansion: true, reclaimPolicy: 'Retain' }),
    );
    expect(scDef.row(other, clock)[0]).toBe('slow');
    expect(scDef.row(other, clock)[4]).toBe(true);
    expect(scDef.shortNames).toEqual(['sc']);
  });

  it('rejects a missing provisioner, unknown policies and modes with field causes, and changes nothing', async () => {
    const causes = await invalidCauses(
      storage.create(scDef, undefined, {
        ...sc('bad', { reclaimPolicy: 'Recycle', volumeBindingMode: 'Later' }),
        provisioner: '',
      }),
    );
    expect(causes.map((c) => c.field).sort()).toEqual(['provisioner', 'reclaimPolicy', 'volumeBindingMode']);
    expect(causes.find((c) => c.field === 'reclaimPolicy')!.message).toBe(
      'Unsupported value: "Recycle": supported values: "Delete", "Retain"',
    );
    expect(await storage.tryGet(scDef, undefined, 'bad')).toBeUndefined();
    const bad = await invalidCauses(storage.create(scDef, undefined, sc('bad2', { provisioner: 'a/b/c' })));
    expect(bad[0]!.field).toBe('provisioner');
    // the local-path provisioner's one parameter: an absolute base directory
    const lp = await invalidCauses(
      storage.create(
        scDef,
        undefined,
        sc('bad3', { provisioner: 'skiff.io/local-path', parameters: { path: 'rel/dir', nodePath: 'x' } }),
      ),
    );
    expect(lp.map((c) => `${c.field}: ${c.message}`)).toEqual([
      'parameters[path]: Invalid value: "rel/dir": must be an absolute path without \'..\'',
      'parameters[nodePath]: Unsupported value: "nodePath": supported values: "path"',
    ]);
    expect(
      (
        await storage.create(
          scDef,
          undefined,
          sc('ok', { provisioner: 'skiff.io/local-path', parameters: { path: '/srv/volumes' } }),
        )
      ).parameters,
    ).toEqual({ path: '/srv/volumes' });
  });

  it('forbids changing provisioner, parameters, reclaimPolicy and volumeBindingMode', async () => {
    await storage.create(scDef, undefined, sc('fixed', { parameters: { a: '1' } }));
    const causes = await invalidCauses(
      storage.guaranteedUpdate(scDef, undefined, 'fixed', {}, (cur) => ({
        ...cur,
        provisioner: 'other.io/x',
        parameters: { a: '2' },
        reclaimPolicy: 'Retain',
        volumeBindingMode: 'WaitForFirstConsumer',
      })),
    );
    expect(causes.map((c) => c.message)).toEqual([
      'Forbidden: updates to parameters are forbidden.',
      'Forbidden: updates to provisioner are forbidden.',
      'Forbidden: updates to reclaimPolicy are forbidden.',
      'Invalid value: "WaitForFirstConsumer": field is immutable',
    ]);
    // annotations (the default marker) may change
    const upd = await storage.guaranteedUpdate(scDef, undefined, 'fixed', {}, (cur) => {
      cur.metadata.annotations = { 'storageclass.kubernetes.io/is-default-class': 'true' };
      return cur;
    });
    expect(scDef.row(upd, clock)[0]).toBe('fixed (default)');
  });
});

describe('DefaultStorageClass admission and protection finalizers', () => {
  it('fills storageClassName from the default class, the newest when several are marked', async () => {
    const none = await storage.create(pvcDef, 'default', claim('before'));
    expect(none.spec.storageClassName).toBeUndefined();
    await storage.create(scDef, undefined, sc('old-default', {}, true));
    clock += 1000;
    await storage.create(scDef, undefined, sc('new-default', {}, true));
    await storage.create(scDef, undefined, sc('not-default'));
    const c = await storage.create(pvcDef, 'default', claim('a'));
    expect(c.spec.storageClassName).toBe('new-default');
    expect(c.metadata.finalizers).toEqual(['kubernetes.io/pvc-protection']);
    expect(c.status.phase).toBe('Pending');
  });

  it('keeps an explicit class, and "" (no class) as it is', async () => {
    await storage.create(scDef, undefined, sc('d', {}, true));
    expect(
      (await storage.create(pvcDef, 'default', claim('x', { storageClassName: 'mine' }))).spec.storageClassName,
    ).toBe('mine');
    expect((await storage.create(pvcDef, 'default', claim('y', { storageClassName: '' }))).spec.storageClassName).toBe(
      '',
    );
    expect((await storage.create(pvcDef, 'default', claim('z'), { dryRun: true })).spec.storageClassName).toBe('d');
  });

  it('adds kubernetes.io/pv-protection to a new PV', async () => {
    const pv = await storage.create(pvDef, undefined, {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'pv1', finalizers: ['example.com/keep'] },
      spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/data' } },
    });
    expect(pv.metadata.finalizers).toEqual(['example.com/keep', 'kubernetes.io/pv-protection']);
    expect(pv.spec.persistentVolumeReclaimPolicy).toBe('Retain');
  });

  it('a local PV needs node affinity and a path without "..", and its source, mode and node affinity are fixed', async () => {
    const base = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'] },
    };
    const noAffinity = await invalidCauses(
      storage.create(pvDef, undefined, {
        ...base,
        metadata: { name: 'l1' },
        spec: { ...base.spec, local: { path: '/srv/../etc' } },
      }),
    );
    expect(noAffinity.map((c) => `${c.field}: ${c.message}`)).toEqual([
      'spec.local.path: Invalid value: "/srv/../etc": must not contain \'..\'',
      'spec.nodeAffinity: Required value: Local volume requires node affinity',
    ]);
    const affinity = {
      required: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['n1'] }] }],
      },
    };
    await storage.create(pvDef, undefined, {
      ...base,
      metadata: { name: 'l2' },
      spec: { ...base.spec, local: { path: '/srv/l2' }, nodeAffinity: affinity },
    });
    const moved = await invalidCauses(
      storage.guaranteedUpdate(pvDef, undefined, 'l2', {}, (cur) => {
        cur.spec.local.path = '/etc';
        cur.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values = ['n2'];
        return cur;
      }),
    );
    expect(moved.map((c) => c.field)).toEqual(['spec.persistentvolumesource', 'nodeAffinity']);
    expect((await storage.get(pvDef, undefined, 'l2')).spec.local.path).toBe('/srv/l2');
    // capacity and the claim reference may change
    const grown = await storage.guaranteedUpdate(pvDef, undefined, 'l2', {}, (cur) => {
      cur.spec.capacity.storage = '2Gi';
      return cur;
    });
    expect(grown.spec.capacity.storage).toBe('2Gi');
  });

  it('rejects invalid sizes and access modes with 422 and field causes', async () => {
    const causes = await invalidCauses(
      storage.create(
        pvcDef,
        'default',
        claim('bad', { accessModes: ['ReadWriteSometimes'], resources: { requests: { storage: '-1Gi' } } }),
      ),
    );
    expect(causes.map((c) => c.field).sort()).toEqual(['spec.accessModes', 'spec.resources[storage]']);
    expect(await storage.tryGet(pvcDef, 'default', 'bad')).toBeUndefined();
  });
});

describe('seeding the local-path class', () => {
  it('creates the default local-path class once, and does not bring it back after the user deleted it', async () => {
    await seedDefaultStorageClass(storage);
    const lp = await storage.get(scDef, undefined, 'local-path');
    expect(lp.provisioner).toBe('skiff.io/local-path');
    expect(lp.volumeBindingMode).toBe('WaitForFirstConsumer');
    expect(lp.reclaimPolicy).toBe('Delete');
    expect(scDef.row(lp, clock)[0]).toBe('local-path (default)');
    expect(await store.get(DEFAULT_STORAGE_CLASS_MARKER)).toBeDefined();
    expect((await storage.create(pvcDef, 'default', claim('c'))).spec.storageClassName).toBe('local-path');

    await storage.delete(scDef, undefined, 'local-path');
    await seedDefaultStorageClass(storage);
    expect(await storage.tryGet(scDef, undefined, 'local-path')).toBeUndefined();
    // and the class list an API client sees holds nothing of the marker
    expect((await storage.list(scDef, undefined)).items).toEqual([]);
  });
});
