// Admission that runs on every write, not only on create: NamespaceLifecycle keeps the
// system namespaces (default, kube-system, kube-public, kube-node-lease) from being deleted, and
// DefaultTolerationSeconds re-adds the not-ready/unreachable tolerations when a Pod is
// replaced by the manifest it was created from (`kubectl replace -f pod.yaml`).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { ApiError } from '../../controlplane/api/errors.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { findByKind } from '../../controlplane/resources/index.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import type { KubeObject } from '../../proto/meta.js';

let store: SqliteStore;
let storage: ApiStorage;
beforeAll(async () => {
  store = new SqliteStore(':memory:');
  storage = new ApiStorage(store);
  await seedNamespaces(storage);
});
afterAll(async () => store.close());

const nsDef = findByKind('', 'Namespace')!;
const podDef = findByKind('', 'Pod')!;

async function refusal(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('NamespaceLifecycle: immortal namespaces', () => {
  it.each(['default', 'kube-system', 'kube-public', 'kube-node-lease'])(
    '%s may not be deleted, dry run or not',
    async (name) => {
      for (const opts of [{}, { dryRun: true }]) {
        const e = await refusal(storage.delete(nsDef, undefined, name, opts));
        expect(e.code).toBe(403);
        expect(e.message).toBe(`namespaces "${name}" is forbidden: this namespace may not be deleted`);
      }
      expect((await storage.get(nsDef, undefined, name)).metadata.deletionTimestamp).toBeUndefined();
    },
  );

  it('deleteCollection stops at an immortal namespace and deletes nothing else before it is asked to', async () => {
    const e = await refusal(
      storage.deleteCollection(nsDef, undefined, { labelSelector: 'kubernetes.io/metadata.name=kube-public' }),
    );
    expect(e.code).toBe(403);
  });

  it('other namespaces can be deleted', async () => {
    await storage.create(nsDef, undefined, { metadata: { name: 'scratch' } });
    const r = await storage.delete(nsDef, undefined, 'scratch');
    expect(r.object.metadata.name).toBe('scratch');
  });
});

describe('DefaultTolerationSeconds on update', () => {
  const manifest = (): KubeObject =>
    ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', namespace: 'default' },
      spec: { containers: [{ name: 'c', image: 'skiff.local/busybox:1.36' }] },
    }) as KubeObject;

  it('replacing a Pod with its original manifest keeps the defaulted tolerations', async () => {
    const created = await storage.create(podDef, 'default', manifest());
    const keys = (o: KubeObject) =>
      ((o.spec as { tolerations?: { key?: string }[] }).tolerations ?? []).map((t) => t.key).sort();
    expect(keys(created)).toEqual(['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']);
    const body = {
      ...manifest(),
      metadata: { ...manifest().metadata, resourceVersion: created.metadata.resourceVersion },
    };
    const replaced = await storage.update(podDef, 'default', 'web', body);
    expect(keys(replaced)).toEqual(keys(created));
  });

  it('a changed image is still the only change a replace may make', async () => {
    const cur = await storage.get(podDef, 'default', 'web');
    const body = manifest();
    (body.spec as { containers: { image: string }[] }).containers[0]!.image = 'skiff.local/busybox:latest';
    (body.spec as Record<string, unknown>).hostname = 'other';
    body.metadata.resourceVersion = cur.metadata.resourceVersion;
    const e = await refusal(storage.update(podDef, 'default', 'web', body));
    expect(e.code).toBe(422);
  });
});
