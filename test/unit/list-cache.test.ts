// The list watch cache (controlplane/api/list-cache.ts): lists answered from memory are the
// store path's lists byte for byte — namespaces, label and field selectors, limit with
// continue tokens the store path continues, updates and deletes — and the resourceVersion
// rules decide when the store answers instead.
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ListCache } from '../../controlplane/api/list-cache.js';
import { ApiStorage, type ListResult } from '../../controlplane/api/storage.js';
import { ApiError } from '../../controlplane/api/errors.js';
import { TokenAuthenticator } from '../../controlplane/api/auth.js';
import { buildApiServer } from '../../controlplane/api/server.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { findByKind } from '../../controlplane/resources/index.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import type { ResourceDef } from '../../controlplane/resources/types.js';

const POD = findByKind('', 'Pod')!;
const CM = findByKind('', 'ConfigMap')!;
const EVENT = findByKind('', 'Event')!;

let store: SqliteStore;
let storage: ApiStorage;
/** the store path: an ApiStorage on the same store without the cache */
let oracle: ApiStorage;
let cache: ListCache;

const pod = (name: string, labels: Record<string, string>, nodeName?: string) => ({
  metadata: { name, labels },
  spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'c', image: 'busybox' }] },
});

beforeEach(async () => {
  store = new SqliteStore(':memory:');
  storage = new ApiStorage(store);
  oracle = new ApiStorage(store);
  await seedNamespaces(storage);
  await storage.create(findByKind('', 'Namespace')!, undefined, { metadata: { name: 'other' } });
  cache = new ListCache(storage);
});
afterEach(async () => {
  cache.close();
  await store.close();
});

async function seed(): Promise<void> {
  for (let i = 0; i < 6; i++)
    await storage.create(
      POD,
      'default',
      pod(`p${i}`, { app: i % 2 ? 'odd' : 'even', tier: 'web' }, i < 3 ? 'n1' : undefined),
    );
  for (let i = 0; i < 3; i++) await storage.create(POD, 'other', pod(`q${i}`, { app: 'odd' }));
}

/** the cache's body, parsed, next to the store path's list for the same query */
async function both(
  def: ResourceDef,
  ns: string | undefined,
  q: { labelSelector?: string; fieldSelector?: string; limit?: number; resourceVersion?: string } = {},
): Promise<{ cached: string; expected: ListResult }> {
  const cached = await cache.listJson(def, ns, q);
  expect(cached).toBeDefined();
  const expected = await oracle.list(def, ns, q);
  return { cached: cached!, expected };
}

describe('list cache', () => {
  it('answers as the store path does: all namespaces, one namespace, label and field selectors', async () => {
    await seed();
    for (const [ns, q] of [
      [undefined, {}],
      ['default', {}],
      ['other', {}],
      ['none', {}],
      [undefined, { labelSelector: 'app=odd' }],
      ['default', { labelSelector: 'app in (even),tier' }],
      [undefined, { labelSelector: '!tier' }],
      [undefined, { fieldSelector: 'spec.nodeName=n1' }],
      ['default', { fieldSelector: 'spec.nodeName!=n1,metadata.name!=p4' }],
      [undefined, { fieldSelector: 'metadata.namespace=other', labelSelector: 'app=odd' }],
    ] as const) {
      const { cached, expected } = await both(POD, ns, q);
      expect(cached, `${ns} ${JSON.stringify(q)}`).toBe(JSON.stringify(expected));
    }
    expect(cache.stats.cached).toBe(10);
  });

  it('follows updates, deletes and re-creations at once (a consistent read)', async () => {
    await seed();
    await cache.listJson(POD, undefined); // the cache exists from here on
    const p1 = await storage.get(POD, 'default', 'p1');
    await storage.update(POD, 'default', 'p1', { ...p1, metadata: { ...p1.metadata, labels: { app: 'changed' } } });
    await storage.delete(POD, 'default', 'p2', { gracePeriodSeconds: 0 });
    await storage.delete(POD, 'other', 'q0', { gracePeriodSeconds: 0 });
    await storage.create(POD, 'other', pod('q0', { app: 'again' }));
    await storage.create(CM, 'default', { metadata: { name: 'elsewhere' } }); // the latest revision is not a pod's
    const { cached, expected } = await both(POD, undefined);
    expect(cached).toBe(JSON.stringify(expected));
    const body = JSON.parse(cached) as ListResult;
    expect(body.items.map((p) => p.metadata.name)).not.toContain('p2');
    expect(body.items.find((p) => p.metadata.name === 'p1')!.metadata.labels).toEqual({ app: 'changed' });
    expect(body.metadata.resourceVersion).toBe(String(await store.currentRevision()));
    expect(JSON.parse((await cache.listJson(POD, undefined, { labelSelector: 'app=changed' }))!).items).toHaveLength(1);
  });

  it('pages with limit; the continue token continues on the store path at the same revision', async () => {
    await seed();
    const first = JSON.parse((await cache.listJson(POD, undefined, { limit: 4 }))!) as ListResult;
    expect(first.items.map((p) => p.metadata.name)).toEqual(['p0', 'p1', 'p2', 'p3']);
    expect(first.metadata.continue).toBeDefined();
    // the store path's own first page carries the same token
    expect(JSON.stringify(first)).toBe(JSON.stringify(await oracle.list(POD, undefined, { limit: 4 })));
    // a write after the first page is not in the rest of this list
    await storage.create(POD, 'default', pod('p9', {}));
    expect(await cache.listJson(POD, undefined, { limit: 4, continue: first.metadata.continue })).toBeUndefined();
    const rest = await oracle.list(POD, undefined, { limit: 4, continue: first.metadata.continue });
    expect(rest.items.map((p) => p.metadata.name)).toEqual(['p4', 'p5', 'q0', 'q1']);
    const last = await oracle.list(POD, undefined, { limit: 4, continue: rest.metadata.continue });
    expect(last.items.map((p) => p.metadata.name)).toEqual(['q2']);
    expect(last.metadata.continue).toBeUndefined();
    // with a selector the token points after the last key looked at, as the store path's
    const sel = JSON.parse(
      (await cache.listJson(POD, undefined, { limit: 2, labelSelector: 'app=odd' }))!,
    ) as ListResult;
    expect(JSON.stringify(sel)).toBe(
      JSON.stringify(await oracle.list(POD, undefined, { limit: 2, labelSelector: 'app=odd' })),
    );
    // a limit reaching exactly the last item has no continue
    const all = JSON.parse((await cache.listJson(POD, 'other', { limit: 3 }))!) as ListResult;
    expect(all.items).toHaveLength(3);
    expect(all.metadata.continue).toBeUndefined();
  });

  it('a continue token of a compacted revision is 410 Gone', async () => {
    await seed();
    const first = JSON.parse((await cache.listJson(POD, undefined, { limit: 2 }))!) as ListResult;
    const p0 = await storage.get(POD, 'default', 'p0');
    await storage.update(POD, 'default', 'p0', { ...p0, metadata: { ...p0.metadata, labels: { x: 'y' } } });
    await store.compact(await store.currentRevision());
    const err = await oracle
      .list(POD, undefined, { limit: 2, continue: first.metadata.continue })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe(410);
    // the cache itself is current after the compaction
    const { cached, expected } = await both(POD, undefined);
    expect(cached).toBe(JSON.stringify(expected));
  });

  it('resourceVersion: 0 and N up to the current revision from the cache; later N, N with limit, continue and resourceVersionMatch from the store', async () => {
    await seed();
    const now = await store.currentRevision();
    expect(await cache.listJson(POD, undefined, { resourceVersion: '0' })).toBeDefined();
    expect(await cache.listJson(POD, undefined, { resourceVersion: String(now) })).toBeDefined();
    expect(cache.stats.cached).toBe(2);
    expect(await cache.listJson(POD, undefined, { resourceVersion: String(now + 5) })).toBeUndefined();
    expect(await cache.listJson(POD, undefined, { resourceVersion: String(now), limit: 2 })).toBeUndefined();
    expect(
      await cache.listJson(POD, undefined, { resourceVersion: '0', resourceVersionMatch: 'NotOlderThan' }),
    ).toBeUndefined();
    expect(await cache.listJson(POD, undefined, { continue: 'x' })).toBeUndefined();
    expect(await cache.listJson(POD, undefined, {}, 'application/json;as=Table;v=v1;g=meta.k8s.io')).toBeUndefined();
    expect(await cache.listJson(EVENT, undefined, {})).toBeUndefined();
    expect(cache.stats.delegated).toBe(6);
    // bad input is the store path's 400
    await expect(cache.listJson(POD, undefined, { resourceVersion: 'abc' })).rejects.toBeInstanceOf(ApiError);
    await expect(cache.listJson(POD, undefined, { fieldSelector: 'spec.nope=1' })).rejects.toBeInstanceOf(ApiError);
  });

  it('a store without synchronous watches: a consistent read needs the cache at the latest revision, RV=0 takes what it has', async () => {
    cache.close();
    cache = new ListCache(storage, { syncWatch: false });
    await seed();
    expect(await cache.listJson(POD, undefined)).toBeDefined();
    await storage.create(CM, 'default', { metadata: { name: 'elsewhere' } });
    expect(await cache.listJson(POD, undefined)).toBeUndefined();
    const any = JSON.parse((await cache.listJson(POD, undefined, { resourceVersion: '0' }))!) as ListResult;
    expect(Number(any.metadata.resourceVersion)).toBeLessThan(await store.currentRevision());
    await storage.create(POD, 'default', pod('p7', {}));
    const { cached, expected } = await both(POD, undefined);
    expect(cached).toBe(JSON.stringify(expected));
  });

  it('holds one entry per live object however often they change', async () => {
    await seed();
    await cache.listJson(POD, undefined);
    for (let round = 0; round < 20; round++) {
      const p = await storage.get(POD, 'default', 'p0');
      await storage.update(POD, 'default', 'p0', {
        ...p,
        metadata: { ...p.metadata, labels: { round: String(round) } },
      });
      await storage.create(POD, 'default', pod(`tmp${round}`, {}));
      await storage.delete(POD, 'default', `tmp${round}`, { gracePeriodSeconds: 0 });
    }
    const { cached, expected } = await both(POD, undefined);
    expect(cached).toBe(JSON.stringify(expected));
    expect(JSON.parse(cached).items).toHaveLength(9);
  });
});

describe('list cache behind ApiStorage.list', () => {
  it("in-process lists (an agent's pods, an informer's kind) come from it, each item a fresh copy; continue still reads the store", async () => {
    await seed();
    storage.listCache = cache;
    const mine = await storage.list(POD, undefined, { fieldSelector: 'spec.nodeName=n1' });
    expect(cache.stats.cached).toBe(1);
    expect(JSON.stringify(mine)).toBe(
      JSON.stringify(await oracle.list(POD, undefined, { fieldSelector: 'spec.nodeName=n1' })),
    );
    expect(mine.items.map((p) => p.metadata.name)).toEqual(['p0', 'p1', 'p2']);
    mine.items[0]!.metadata.labels = { mutated: 'yes' };
    expect(
      (await storage.list(POD, 'default', { fieldSelector: 'metadata.name=p0' })).items[0]!.metadata.labels,
    ).toEqual({ app: 'even', tier: 'web' });
    const page = await storage.list(POD, undefined, { limit: 5 });
    const rest = await storage.list(POD, undefined, { limit: 5, continue: page.metadata.continue });
    expect(rest.items.map((p) => p.metadata.name)).toEqual(['p5', 'q0', 'q1', 'q2']);
    expect(cache.stats.delegated).toBe(1);
    storage.listCache = undefined;
  });
});

describe('list cache behind the REST handlers', () => {
  it("a JSON list over HTTP is the store path's list, byte for byte, with its content type", async () => {
    await seed();
    const auth = new TokenAuthenticator();
    auth.add('tok', { name: 'admin', groups: ['system:masters'] });
    const app = await buildApiServer({ storage, auth, logger: false });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const port = (app.server.address() as AddressInfo).port;
      const get = (path: string) =>
        fetch(`http://127.0.0.1:${port}${path}`, { headers: { authorization: 'Bearer tok' } });
      for (const path of [
        '/api/v1/pods',
        '/api/v1/namespaces/default/pods?labelSelector=app%3Dodd',
        '/api/v1/pods?limit=3',
        '/api/v1/pods?fieldSelector=spec.nodeName%3Dn1',
      ]) {
        const r = await get(path);
        expect(r.status).toBe(200);
        expect(r.headers.get('content-type')).toBe('application/json; charset=utf-8');
        const u = new URL(path, 'http://x');
        const ns = /namespaces\/([^/]+)/.exec(u.pathname)?.[1];
        const q = Object.fromEntries(u.searchParams);
        const expected = await oracle.list(POD, ns, { ...q, limit: q.limit ? Number(q.limit) : undefined });
        expect(await r.text(), path).toBe(JSON.stringify(expected));
      }
      const bad = await get('/api/v1/pods?labelSelector=%3D%3D');
      expect(bad.status).toBe(400);
    } finally {
      await app.close();
    }
  });
});
