// The apps/v1 ControllerRevision kind over the real write path: served, defaulted,
// validated as ValidateControllerRevision(Update) does, and its table row as kubectl prints it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiError } from '../../controlplane/api/errors.js';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { findByKind, findResource } from '../../controlplane/resources/index.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';

const crDef = findResource('apps', 'v1', 'controllerrevisions')!;
let store: SqliteStore;
let storage: ApiStorage;

beforeEach(async () => {
  store = new SqliteStore(':memory:');
  storage = new ApiStorage(store);
  await seedNamespaces(storage);
});
afterEach(async () => {
  await store.close();
});

async function causes(p: Promise<unknown>): Promise<Array<{ field?: string; message?: string }>> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError);
    expect((e as ApiError).code).toBe(422);
    return ((e as ApiError).details?.causes ?? []) as Array<{ field?: string; message?: string }>;
  }
  throw new Error('expected a 422');
}

const body = (extra: Record<string, unknown> = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'ControllerRevision',
  metadata: { name: 'web-abc' },
  data: { spec: { template: { $patch: 'replace' } } },
  revision: 1,
  ...extra,
});

describe('ControllerRevision', () => {
  it("is served as apps/v1 controllerrevisions, namespaced, with kubectl's columns", () => {
    expect(crDef).toMatchObject({ kind: 'ControllerRevision', namespaced: true, singular: 'controllerrevision' });
    expect(findByKind('apps', 'ControllerRevision')).toBe(crDef);
    expect(crDef.columns.map((c) => [c.name, c.type])).toEqual([
      ['Name', 'string'],
      ['Controller', 'string'],
      ['Revision', 'string'],
      ['Age', 'string'],
    ]);
  });

  it('prints the controller as kind.group/name, or <none>', () => {
    const now = Date.parse('2026-12-01T10:05:00Z');
    const meta = { name: 'ds-1', creationTimestamp: '2026-12-01T10:00:00Z' };
    expect(
      crDef.row(
        {
          metadata: {
            ...meta,
            ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: 'u', controller: true }],
          },
          revision: 2,
        },
        now,
      ),
    ).toEqual(['ds-1', 'daemonset.apps/agent', 2, '5m']);
    expect(
      crDef.row(
        {
          metadata: {
            ...meta,
            ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'p', uid: 'u', controller: false }],
          },
          revision: 0,
        },
        now,
      ),
    ).toEqual(['ds-1', '<none>', 0, '5m']);
  });

  it('defaults revision to 0 and keeps arbitrary data as written', async () => {
    const cr = await storage.create(crDef, 'default', {
      ...body(),
      revision: undefined,
      data: { spec: { template: { $patch: 'replace', metadata: { creationTimestamp: null } } } },
    });
    expect(cr.revision).toBe(0);
    expect(cr.data).toEqual({ spec: { template: { $patch: 'replace', metadata: { creationTimestamp: null } } } });
  });

  it('requires data and a non-negative revision', async () => {
    const got = await causes(storage.create(crDef, 'default', { ...body({ revision: -1 }), data: undefined }));
    expect(got).toEqual([
      { reason: 'FieldValueRequired', field: 'data', message: 'Required value: data is mandatory' },
      {
        reason: 'FieldValueInvalid',
        field: 'revision',
        message: 'Invalid value: -1: must be greater than or equal to 0',
      },
    ]);
  });

  it('keeps data immutable while revision and labels may change', async () => {
    await storage.create(crDef, 'default', body());
    const bumped = await storage.guaranteedUpdate(crDef, 'default', 'web-abc', {}, (cur) => {
      cur.revision = 5;
      cur.metadata.labels = { a: 'b' };
      return cur;
    });
    expect(bumped.revision).toBe(5);
    const got = await causes(
      storage.guaranteedUpdate(crDef, 'default', 'web-abc', {}, (cur) => {
        cur.data = { other: 1 };
        return cur;
      }),
    );
    expect(got.map((c) => [c.field, c.message])).toEqual([['data', 'Invalid value: {"other":1}: field is immutable']]);
  });
});
