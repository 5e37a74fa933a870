// The CRD controller over the real write path: a CRD gets its accepted names and
// Established, its objects are served (found, defaulted, validated), and deleting it
// deletes its objects first (waiting for their own finalizers), then the CRD and the API.
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import { startCrdController, type CrdController } from '../../controlplane/crd/crd-controller.js';
import { customResourceDefinition as crdDef } from '../../controlplane/crd/crd-resource.js';
import { findByKind, findResource } from '../../controlplane/resources/index.js';
import { until } from './controller-harness.js';

const CRD = (plural: string, kind: string): KubeObject => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${plural}.stable.example.com` },
  spec: {
    group: 'stable.example.com',
    scope: 'Namespaced',
    names: { plural, kind },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: { spec: { type: 'object', properties: { replicas: { type: 'integer', default: 1 } } } },
          },
        },
      },
    ],
  },
});

describe('CRD controller', () => {
  let store: SqliteStore;
  let storage: ApiStorage;
  let ctl: CrdController;
  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    storage = new ApiStorage(store);
    await seedNamespaces(storage);
    ctl = await startCrdController(storage, pino({ level: 'silent' }));
  });
  afterEach(async () => {
    ctl.stop();
    await store.close();
  });

  it('establishes a CRD, serves its objects, and cleans them up when it is deleted', async () => {
    await storage.create(crdDef, undefined, CRD('crontabs', 'CronTab'));
    const def = await until('served', async () => findResource('stable.example.com', 'v1', 'crontabs'));
    expect(findByKind('stable.example.com', 'CronTab')).toBe(def);
    const crd = await storage.get(crdDef, undefined, 'crontabs.stable.example.com');
    expect(crd.status.acceptedNames).toMatchObject({
      plural: 'crontabs',
      singular: 'crontab',
      kind: 'CronTab',
      listKind: 'CronTabList',
    });
    const obj = await storage.create(def, 'default', {
      apiVersion: 'stable.example.com/v1',
      kind: 'CronTab',
      metadata: { name: 'a', finalizers: ['example.com/hold'] },
      spec: {},
    });
    expect(obj.spec).toEqual({ replicas: 1 });
    await expect(
      storage.create(def, 'default', { metadata: { name: 'b' }, spec: { replicas: 'x' } }),
    ).rejects.toMatchObject({ code: 422 });

    await storage.delete(crdDef, undefined, 'crontabs.stable.example.com');
    // the object carries a finalizer of its own: the CRD waits for it, Terminating
    const terminating = await until('terminating', async () => {
      const c = await storage.tryGet(crdDef, undefined, 'crontabs.stable.example.com');
      return c?.status?.conditions?.some(
        (x: { type: string; reason: string }) => x.type === 'Terminating' && x.reason === 'InstanceDeletionInProgress',
      )
        ? c
        : undefined;
    });
    expect(terminating.metadata.finalizers).toEqual(['customresourcecleanup.apiextensions.k8s.io']);
    // the condition is written before the instances are deleted: wait for the delete
    await until('instance deleting', async () => (await storage.get(def, 'default', 'a')).metadata.deletionTimestamp);
    await expect(storage.create(def, 'default', { metadata: { name: 'c' }, spec: {} })).rejects.toMatchObject({
      code: 405,
      message: 'create not allowed while custom resource definition is terminating',
    });
    await storage.patch(def, 'default', 'a', 'merge', { metadata: { finalizers: null } });
    await until('CRD gone', async () => !(await storage.tryGet(crdDef, undefined, 'crontabs.stable.example.com')));
    await until('unserved', async () => !findResource('stable.example.com', 'v1', 'crontabs'));
    expect((await store.list('/registry/stable.example.com/crontabs/')).items).toEqual([]);
  });

  it('ratchets: an object stored before the schema tightened stays editable where it did not change; deprecated versions warn', async () => {
    await storage.create(crdDef, undefined, CRD('crontabs', 'CronTab'));
    let def = await until('served', async () => findResource('stable.example.com', 'v1', 'crontabs'));
    await storage.create(def, 'default', { metadata: { name: 'old' }, spec: { replicas: 0 } });
    await storage.patch(crdDef, undefined, 'crontabs.stable.example.com', 'json', [
      {
        op: 'add',
        path: '/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/replicas/minimum',
        value: 1,
      },
      {
        op: 'add',
        path: '/spec/versions/-',
        value: {
          name: 'v2',
          served: true,
          storage: false,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      },
      { op: 'add', path: '/spec/versions/0/deprecated', value: true },
    ]);
    def = await until('re-served', async () => {
      const d = findResource('stable.example.com', 'v1', 'crontabs');
      return d?.custom?.deprecationWarning ? d : undefined;
    });
    expect(def.custom?.deprecationWarning).toBe(
      'stable.example.com/v1 CronTab is deprecated; use stable.example.com/v2 CronTab',
    );
    // a default added to the schema later shows on objects stored before (defaulting on read)
    await storage.patch(crdDef, undefined, 'crontabs.stable.example.com', 'json', [
      {
        op: 'add',
        path: '/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/mode',
        value: { type: 'string', default: 'Fast' },
      },
    ]);
    def = await until('mode default served', async () => {
      const d = findResource('stable.example.com', 'v1', 'crontabs');
      return d && (await storage.get(d, 'default', 'old')).spec.mode === 'Fast' ? d : undefined;
    });
    expect((await storage.list(def, 'default')).items[0]!.spec).toEqual({ replicas: 0, mode: 'Fast' });
    // a label change keeps the old replicas: allowed
    await storage.patch(def, 'default', 'old', 'merge', { metadata: { labels: { a: 'b' } } });
    // changing replicas to another invalid value is refused
    await expect(storage.patch(def, 'default', 'old', 'merge', { spec: { replicas: -1 } })).rejects.toMatchObject({
      code: 422,
      message:
        'CronTab.stable.example.com "old" is invalid: spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 1',
    });
  });

  it('does not accept a kind another CRD of the group holds, and accepts it once that CRD is gone', async () => {
    await storage.create(crdDef, undefined, CRD('crontabs', 'CronTab'));
    await until('first served', async () => findResource('stable.example.com', 'v1', 'crontabs'));
    await storage.create(crdDef, undefined, CRD('crontables', 'CronTab'));
    const second = await until('conflict', async () => {
      const c = await storage.get(crdDef, undefined, 'crontables.stable.example.com');
      return c.status?.conditions?.find(
        (x: { type: string; status: string }) => x.type === 'NamesAccepted' && x.status === 'False',
      );
    });
    expect(second).toMatchObject({ reason: 'ListKindConflict', message: '"CronTabList" is already in use' });
    expect(findResource('stable.example.com', 'v1', 'crontables')).toBeUndefined();
    await storage.delete(crdDef, undefined, 'crontabs.stable.example.com');
    await until('second served', async () => findResource('stable.example.com', 'v1', 'crontables'));
  });
});
