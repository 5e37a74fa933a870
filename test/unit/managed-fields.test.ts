// managedFields and server-side apply ownership: the FieldsV1 codec and set operations
// (structured-merge-diff's fieldpath.Set), the typed walk (ToFieldSet, Compare with list
// keys), and through the real write path: Update entries, Apply entries, conflicts (409 with
// upstream's message and FieldManagerConflict causes), force, pruning, the reset rule.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { ApiError } from '../../controlplane/api/errors.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { findResource } from '../../controlplane/resources/index.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import {
  FieldSet,
  difference,
  fieldsV1Minus,
  fieldsV1Of,
  fromFieldsV1,
  intersection,
  keyPE,
  pathString,
  union,
} from '../../controlplane/api/managed-fields/fieldset.js';
import { Typed } from '../../controlplane/api/managed-fields/typed.js';
import { resolve, schemaFor } from '../../proto/schema/check-fields.js';
import type { KubeObject } from '../../proto/meta.js';
import type { ResourceDef } from '../../controlplane/resources/types.js';

function set(...paths: string[][]): FieldSet {
  const s = new FieldSet();
  for (const p of paths) s.insert(p);
  return s;
}

describe('FieldsV1 codec', () => {
  const cases: { name: string; fields: object }[] = [
    { name: 'leaves', fields: { 'f:spec': { 'f:replicas': {} } } },
    { name: 'member with children gets "."', fields: { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } } } },
    {
      name: 'associative and set items',
      fields: {
        'f:spec': {
          'f:containers': { 'k:{"name":"a"}': { '.': {}, 'f:image': {}, 'f:name': {} } },
          'f:finalizers': { 'v:"x"': {} },
        },
      },
    },
  ];
  for (const c of cases) {
    it(`round-trips: ${c.name}`, () => {
      expect(JSON.stringify(fieldsV1Of(fromFieldsV1(c.fields)))).toBe(JSON.stringify(c.fields));
    });
  }

  it('emits fields before keys before values before indexes, keys in value order', () => {
    const s = set(
      ['i:1'],
      ['v:"b"'],
      ['k:{"port":80,"protocol":"TCP"}'],
      ['k:{"port":8080,"protocol":"TCP"}'],
      ['k:{"port":9,"protocol":"TCP"}'],
      ['f:z'],
      ['f:a'],
      ['v:"a"'],
      ['i:0'],
    );
    expect(Object.keys(fieldsV1Of(s))).toEqual([
      'f:a',
      'f:z',
      'k:{"port":9,"protocol":"TCP"}',
      'k:{"port":80,"protocol":"TCP"}',
      'k:{"port":8080,"protocol":"TCP"}',
      'v:"a"',
      'v:"b"',
      'i:0',
      'i:1',
    ]);
  });

  it('sorts key fields by name and JSON-encodes values', () => {
    expect(keyPE(['protocol', 'containerPort'], ['TCP', 80])).toBe('k:{"containerPort":80,"protocol":"TCP"}');
    expect(keyPE(['name'], ['a"b'])).toBe('k:{"name":"a\\"b"}');
  });

  it('refuses what is not FieldsV1', () => {
    expect(() => fromFieldsV1({ 'x:y': {} })).toThrow();
    expect(() => fromFieldsV1({ 'f:a': 1 })).toThrow();
    expect(() => fromFieldsV1({ 'k:{bad': {} })).toThrow();
    expect(() => fromFieldsV1([])).toThrow();
  });

  it('prints paths as upstream conflicts do', () => {
    expect(pathString(['f:spec', 'f:replicas'])).toBe('.spec.replicas');
    expect(pathString(['f:spec', 'f:containers', 'k:{"name":"app"}', 'f:image'])).toBe(
      '.spec.containers[name="app"].image',
    );
    expect(pathString(['f:ports', 'k:{"containerPort":80,"protocol":"TCP"}'])).toBe(
      '.ports[containerPort=80,protocol="TCP"]',
    );
    expect(pathString(['f:finalizers', 'v:"x"'])).toBe('.finalizers[="x"]');
  });
});

describe('set operations', () => {
  const a = set(['f:a'], ['f:b', 'f:c'], ['f:l', 'k:{"name":"x"}'], ['f:l', 'k:{"name":"x"}', 'f:v']);
  const b = set(['f:b', 'f:c'], ['f:l', 'k:{"name":"x"}', 'f:v'], ['f:d']);
  const table: { op: string; got: FieldSet; want: object }[] = [
    {
      op: 'union',
      got: union(a, b),
      want: { 'f:a': {}, 'f:b': { 'f:c': {} }, 'f:d': {}, 'f:l': { 'k:{"name":"x"}': { '.': {}, 'f:v': {} } } },
    },
    { op: 'difference', got: difference(a, b), want: { 'f:a': {}, 'f:l': { 'k:{"name":"x"}': {} } } },
    {
      op: 'intersection',
      got: intersection(a, b),
      want: { 'f:b': { 'f:c': {} }, 'f:l': { 'k:{"name":"x"}': { 'f:v': {} } } },
    },
  ];
  for (const t of table) it(t.op, () => expect(fieldsV1Of(t.got)).toEqual(t.want));

  it('iterates members level by level (fieldpath.Set.Iterate)', () => {
    const paths: string[] = [];
    union(a, b).forEach((p) => paths.push(pathString(p)));
    expect(paths).toEqual(['.a', '.d', '.b.c', '.l[name="x"]', '.l[name="x"].v']);
  });

  it('equals and empty', () => {
    expect(union(a, b).equals(union(b, a))).toBe(true);
    expect(difference(a, a).empty()).toBe(true);
  });
});

describe('fieldsV1Minus (the Update hot path) agrees with difference', () => {
  const base = {
    'f:data': { '.': {}, 'f:a': {}, 'f:b': {} },
    'f:spec': { 'f:replicas': {}, 'f:list': { 'k:{"name":"x"}': { '.': {}, 'f:v': {} }, 'k:{"name":"y"}': {} } },
  };
  const table: { name: string; minus: string[][] }[] = [
    { name: 'nothing in common', minus: [['f:other']] },
    { name: 'one leaf', minus: [['f:data', 'f:a']] },
    {
      name: 'every child of a member map',
      minus: [
        ['f:data', 'f:a'],
        ['f:data', 'f:b'],
      ],
    },
    { name: 'the member itself', minus: [['f:data']] },
    { name: 'the member and its children', minus: [['f:data'], ['f:data', 'f:a'], ['f:data', 'f:b']] },
    { name: 'a list item', minus: [['f:spec', 'f:list', 'k:{"name":"x"}']] },
    { name: 'a list item field', minus: [['f:spec', 'f:list', 'k:{"name":"x"}', 'f:v']] },
    {
      name: 'everything',
      minus: [
        ['f:data'],
        ['f:data', 'f:a'],
        ['f:data', 'f:b'],
        ['f:spec', 'f:replicas'],
        ['f:spec', 'f:list', 'k:{"name":"x"}'],
        ['f:spec', 'f:list', 'k:{"name":"x"}', 'f:v'],
        ['f:spec', 'f:list', 'k:{"name":"y"}'],
      ],
    },
  ];
  for (const t of table) {
    it(t.name, () => {
      const got = fieldsV1Minus(base, set(...t.minus));
      const want = difference(fromFieldsV1(base), set(...t.minus));
      expect(got ?? {}).toEqual(fieldsV1Of(want));
      if (t.name === 'nothing in common') expect(got).toBe(base);
    });
  }
});

describe('typed walk', () => {
  const deploy = new Typed({ resolve, schema: schemaFor('Deployment'), ignoreStatus: true });
  const obj = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', uid: 'u', labels: { app: 'web' } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'nginx', image: 'nginx', ports: [{ containerPort: 80 }], args: ['a'] }] },
      },
    },
    status: { replicas: 2 },
  };

  it('ToFieldSet: scalars, atomic lists and structs are leaves, list items members, metadata and status stripped', () => {
    expect(fieldsV1Of(deploy.toFieldSet(obj))).toEqual({
      'f:metadata': { 'f:labels': { 'f:app': {} } },
      'f:spec': {
        'f:replicas': {},
        'f:selector': {},
        'f:template': {
          'f:metadata': { 'f:labels': { 'f:app': {} } },
          'f:spec': {
            'f:containers': {
              'k:{"name":"nginx"}': {
                '.': {},
                'f:args': {},
                'f:image': {},
                'f:name': {},
                'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
              },
            },
          },
        },
      },
    });
  });

  it('Compare from the zero object (a create): maps and new list items own themselves, structs do not', () => {
    const c = deploy.compare(undefined, obj, true);
    expect(fieldsV1Of(c.added)).toEqual({
      'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
      'f:spec': {
        'f:replicas': {},
        'f:selector': {},
        'f:template': {
          'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
          'f:spec': {
            'f:containers': {
              'k:{"name":"nginx"}': {
                '.': {},
                'f:args': {},
                'f:image': {},
                'f:name': {},
                'f:ports': { '.': {}, 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
              },
            },
          },
        },
      },
    });
  });

  it('createdFieldsV1 is Compare from the zero object, built directly', () => {
    const svc = new Typed({ resolve, schema: schemaFor('Service'), ignoreStatus: true });
    const service = {
      metadata: { name: 's', finalizers: ['a', 'b'] },
      spec: {
        ports: [
          { port: 80, targetPort: 8080 },
          { port: 53, protocol: 'UDP' },
        ],
        selector: { app: 'x' },
        type: 'ClusterIP',
      },
      status: {},
    };
    for (const [t, o] of [
      [deploy, obj],
      [svc, service],
      [deploy, { spec: {} }],
    ] as const) {
      expect(t.createdFieldsV1(o) ?? {}).toEqual(fieldsV1Of(t.compare(undefined, o, true).added));
      expect(JSON.stringify(t.createdFieldsV1(o) ?? {})).toBe(
        JSON.stringify(fieldsV1Of(t.compare(undefined, o, true).added)),
      );
    }
  });

  it('Compare: modified, added, removed', () => {
    const next = structuredClone(obj);
    next.spec.replicas = 3;
    delete (next.metadata as { labels?: unknown }).labels;
    (next.spec.template.spec.containers[0] as Record<string, unknown>).command = ['sh'];
    next.status.replicas = 9; // ignored: the status subresource's
    const c = deploy.compare(obj, next);
    expect(fieldsV1Of(c.modified)).toEqual({ 'f:spec': { 'f:replicas': {} } });
    expect(fieldsV1Of(c.added)).toEqual({
      'f:spec': { 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"nginx"}': { 'f:command': {} } } } } },
    });
    expect(fieldsV1Of(c.removed)).toEqual({ 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } } });
  });

  it('RemoveItems drops members and the containers they empty', () => {
    const o = structuredClone(obj) as Record<string, unknown>;
    deploy.removeItems(
      o,
      set(
        ['f:metadata', 'f:labels', 'f:app'],
        ['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"nginx"}', 'f:args'],
      ),
    );
    expect((o.metadata as Record<string, unknown>).labels).toBeUndefined();
    expect((o as typeof obj).spec.template.spec.containers[0]).toEqual({
      name: 'nginx',
      image: 'nginx',
      ports: [{ containerPort: 80 }],
    });
  });
});

// ---- through the write path ------------------------------------------------------------

let store: SqliteStore;
let storage: ApiStorage;
let clock = 0;
const cms = findResource('', 'v1', 'configmaps')!;
const deploys = findResource('apps', 'v1', 'deployments')!;

beforeEach(async () => {
  clock = Date.parse('2026-01-01T00:00:00Z');
  store = new SqliteStore(':memory:');
  storage = new ApiStorage(store, () => new Date(clock));
  await seedNamespaces(storage);
});
afterEach(() => store.close());

interface Entry {
  manager: string;
  operation: string;
  apiVersion: string;
  time: string;
  fieldsType: string;
  fieldsV1: object;
  subresource?: string;
}
const mf = (o: KubeObject) => o.metadata.managedFields as Entry[] | undefined;

function deployment(replicas: number, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', ...extra },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'nginx' }] } },
    },
  };
}

async function apply(def: ResourceDef, body: Record<string, unknown>, manager: string, force = false) {
  return (
    await storage.patch(def, 'default', (body.metadata as { name: string }).name, 'apply', body, {
      fieldManager: manager,
      force,
    })
  ).object;
}

describe('managedFields on the write path', () => {
  it('create records one Update entry for the manager, update merges into it and moves the time only on change', async () => {
    const c = await storage.create(
      cms,
      'default',
      { metadata: { name: 'a' }, data: { k: 'v' } },
      { userAgent: 'kubectl/v1.32.0 (linux/amd64) kubernetes/abc' },
    );
    expect(mf(c)).toEqual([
      {
        manager: 'kubectl',
        operation: 'Update',
        apiVersion: 'v1',
        time: '2026-01-01T00:00:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:data': { '.': {}, 'f:k': {} } },
      },
    ]);
    clock += 60_000;
    const same = await storage.update(
      cms,
      'default',
      'a',
      { metadata: { name: 'a' }, data: { k: 'v' } },
      { userAgent: 'kubectl/v1' },
    );
    expect(same.metadata.resourceVersion).toBe(c.metadata.resourceVersion);
    const u = await storage.update(
      cms,
      'default',
      'a',
      { metadata: { name: 'a', labels: { x: 'y' } }, data: { k: 'v', k2: 'w' } },
      { fieldManager: 'kubectl' },
    );
    expect(mf(u)).toEqual([
      {
        manager: 'kubectl',
        operation: 'Update',
        apiVersion: 'v1',
        time: '2026-01-01T00:01:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:data': { '.': {}, 'f:k': {}, 'f:k2': {} },
          'f:metadata': { 'f:labels': { '.': {}, 'f:x': {} } },
        },
      },
    ]);
  });

  it('a second manager takes the fields it changes; the status subresource is its own entry', async () => {
    await storage.create(deploys, 'default', deployment(1), { fieldManager: 'a' });
    clock += 1000;
    const u = await storage.guaranteedUpdate(deploys, 'default', 'web', { fieldManager: 'b' }, (cur) => ({
      ...cur,
      spec: { ...cur.spec, replicas: 5 },
    }));
    const entries = mf(u)!;
    expect(entries.map((e) => e.manager)).toEqual(['a', 'b']);
    expect(JSON.stringify(entries[0]!.fieldsV1)).not.toContain('f:replicas');
    expect(entries[1]!.fieldsV1).toEqual({ 'f:spec': { 'f:replicas': {} } });
    const s = await storage.update(
      deploys,
      'default',
      'web',
      { ...u, status: { replicas: 5 } },
      { fieldManager: 'kube-controller-manager' },
      'status',
    );
    const st = mf(s)!.find((e) => e.subresource === 'status')!;
    expect(st).toMatchObject({
      manager: 'kube-controller-manager',
      operation: 'Update',
      fieldsV1: { 'f:status': { 'f:replicas': {} } },
    });
  });

  it('managedFields: [] resets them, and an untracked object stays untracked on update', async () => {
    await storage.create(cms, 'default', { metadata: { name: 'a' }, data: { k: 'v' } }, { fieldManager: 'm' });
    const r = await storage.patch(
      cms,
      'default',
      'a',
      'merge',
      { metadata: { managedFields: [] } },
      { fieldManager: 'm' },
    );
    expect(mf(r.object)).toBeUndefined();
    const u = await storage.patch(cms, 'default', 'a', 'merge', { data: { k: 'w' } }, { fieldManager: 'm' });
    expect(mf(u.object)).toBeUndefined();
  });

  it('fieldManager: at most 128 bytes of printable characters (ValidateFieldManager, 422)', async () => {
    const long = (await storage
      .create(cms, 'default', { metadata: { name: 'a' } }, { fieldManager: 'x'.repeat(129) })
      .catch((e: unknown) => e)) as ApiError;
    expect(long.code).toBe(422);
    expect(long.message).toBe(
      'CreateOptions.meta.k8s.io "" is invalid: fieldManager: Too long: may not be more than 128 bytes',
    );
    const bell = (await storage
      .patch(cms, 'default', 'a', 'merge', {}, { fieldManager: 'a\u0007' })
      .catch((e: unknown) => e)) as ApiError;
    expect(bell.message).toContain(
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Invalid value: "a\\u0007": invalid character U+0007 (at position 1)',
    );
    await storage.create(cms, 'default', { metadata: { name: 'b' } }, { fieldManager: 'x'.repeat(128) });
  });

  it('invalid managedFields sent are ignored (the live ones stay)', async () => {
    const c = await storage.create(
      cms,
      'default',
      { metadata: { name: 'a' }, data: { k: 'v' } },
      { fieldManager: 'm' },
    );
    const r = await storage.patch(
      cms,
      'default',
      'a',
      'merge',
      { metadata: { managedFields: [{ manager: 'x', operation: 'Bogus', fieldsType: 'FieldsV1', apiVersion: 'v1' }] } },
      { fieldManager: 'm' },
    );
    expect(mf(r.object)).toEqual(mf(c));
  });
});

describe('server-side apply', () => {
  it('apply-create records one Apply entry; re-applying the same is a no-op', async () => {
    const a = await apply(deploys, deployment(2), 'a');
    expect(mf(a)).toEqual([
      {
        manager: 'a',
        operation: 'Apply',
        apiVersion: 'apps/v1',
        time: '2026-01-01T00:00:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:spec': {
            'f:replicas': {},
            'f:selector': {},
            'f:template': {
              'f:metadata': { 'f:labels': { 'f:app': {} } },
              'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:image': {}, 'f:name': {} } } },
            },
          },
        },
      },
    ]);
    clock += 5000;
    const again = await apply(deploys, deployment(2), 'a');
    expect(again.metadata.resourceVersion).toBe(a.metadata.resourceVersion);
  });

  it('a changed value another manager owns is a 409 with upstream message and causes; force takes it over', async () => {
    await apply(deploys, deployment(2), 'a');
    const err = await apply(deploys, deployment(3), 'b').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    const e = err as ApiError;
    expect(e.code).toBe(409);
    expect(e.reason).toBe('Conflict');
    expect(e.message).toBe('Apply failed with 1 conflict: conflict with "a": .spec.replicas');
    expect(e.details?.causes).toEqual([
      { reason: 'FieldManagerConflict', message: 'conflict with "a"', field: '.spec.replicas' },
    ]);
    // the same value is shared, not a conflict
    const shared = await apply(deploys, deployment(2), 'b');
    expect(mf(shared)!.map((x) => x.manager)).toEqual(['a', 'b']);
    const forced = await apply(deploys, deployment(3), 'b', true);
    expect(forced.spec.replicas).toBe(3);
    expect(JSON.stringify(mf(forced)!.find((x) => x.manager === 'a')!.fieldsV1)).not.toContain('f:replicas');
  });

  it('conflicts with an Update manager name its apiVersion; several conflicts are grouped by manager', async () => {
    await storage.create(deploys, 'default', deployment(1, { labels: { tier: 'x' } }), {
      fieldManager: 'kubectl-client-side-apply',
    });
    const err = (await apply(deploys, deployment(4, { labels: { tier: 'y' } }), 'b').catch(
      (e: unknown) => e,
    )) as ApiError;
    expect(err.code).toBe(409);
    expect(err.message).toBe(
      'Apply failed with 2 conflicts: conflicts with "kubectl-client-side-apply" using apps/v1:\n- .metadata.labels.tier\n- .spec.replicas',
    );
    expect(err.details?.causes?.map((c) => c.message)).toEqual([
      'conflict with "kubectl-client-side-apply" using apps/v1',
      'conflict with "kubectl-client-side-apply" using apps/v1',
    ]);
  });

  it('a field dropped from the applied configuration is removed unless another manager owns it', async () => {
    await apply(deploys, deployment(2, { labels: { a: '1', b: '2' } }), 'a');
    // manager u (an Update) also sets label b
    await storage.guaranteedUpdate(deploys, 'default', 'web', { fieldManager: 'u' }, (cur) => ({
      ...cur,
      metadata: { ...cur.metadata, labels: { a: '1', b: '3' } },
    }));
    const r = await apply(deploys, deployment(2, { labels: {} }), 'a');
    expect(r.metadata.labels).toEqual({ b: '3' });
  });

  it('kubectl upgrading from client-side apply takes what last-applied-configuration holds, and keeps the annotation in step', async () => {
    const last = JSON.stringify(deployment(2)) + '\n';
    const body = deployment(2, { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': last } });
    await storage.create(deploys, 'default', body, { fieldManager: 'kubectl-client-side-apply' });
    // another name than kubectl gets the conflict
    const err = (await apply(deploys, deployment(3), 'other').catch((e: unknown) => e)) as ApiError;
    expect(err.code).toBe(409);
    const r = await apply(deploys, deployment(3), 'kubectl');
    expect(r.spec.replicas).toBe(3);
    const ann = JSON.parse(r.metadata.annotations!['kubectl.kubernetes.io/last-applied-configuration']!);
    expect(ann.spec.replicas).toBe(3);
    // a value changed since (live no longer matches the annotation) is a conflict again
    await storage.guaranteedUpdate(deploys, 'default', 'web', { fieldManager: 'kubectl-client-side-apply' }, (cur) => ({
      ...cur,
      spec: { ...cur.spec, replicas: 7 },
    }));
    const again = (await apply(deploys, deployment(4), 'kubectl').catch((e: unknown) => e)) as ApiError;
    expect(again.message).toBe(
      'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas',
    );
  });

  it('the first apply onto an untracked object makes the old fields "before-first-apply"', async () => {
    await storage.create(cms, 'default', { metadata: { name: 'a' }, data: { k: 'v' } }, { fieldManager: 'm' });
    await storage.patch(cms, 'default', 'a', 'merge', { metadata: { managedFields: [] } }, { fieldManager: 'm' });
    const err = (await apply(
      cms,
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' }, data: { k: 'w' } },
      'x',
    ).catch((e: unknown) => e)) as ApiError;
    expect(err.message).toBe('Apply failed with 1 conflict: conflict with "before-first-apply" using v1: .data.k');
  });
});
