// The Store contract (controlplane/store/types.ts) as one suite, run against every backend:
// SQLite (sqlite-store.test.ts) and a real etcd (etcd-store.test.ts). Revisions are checked
// relative to the store's revision at the start (a fresh etcd is at 1, SQLite at 0).
import { describe, expect, it } from 'vitest';
import {
  CompactedError,
  KeyExistsError,
  KeyNotFoundError,
  StaleRevisionError,
  type Store,
  type StoreEvent,
} from '../../controlplane/store/types.js';

export interface StoreBackend {
  /** a store on an empty keyspace */
  open(): Promise<Store>;
  /** close it and open the same data again */
  reopen(s: Store): Promise<Store>;
  /** close and remove everything */
  dispose(s: Store): Promise<void>;
}

const tick = () => new Promise((r) => setTimeout(r, 5));

/** wait (up to 10 s) until at least n watch events have arrived, then a little longer so
 *  that a surplus would show in the exact comparisons that follow */
export async function received(seen: StoreEvent[], n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (seen.length < n) {
    if (Date.now() > deadline)
      throw new Error(`timed out after 10 s waiting for ${n} watch events, got ${seen.length}`);
    await tick();
  }
  await new Promise((r) => setTimeout(r, 50));
}

export function describeStoreConformance(name: string, backend: StoreBackend): void {
  describe(`Store conformance: ${name}`, () => {
    const withStore = (fn: (s: Store, base: number) => Promise<Store | void>) => async () => {
      let s = await backend.open();
      try {
        const base = await s.currentRevision();
        s = (await fn(s, base)) ?? s;
      } finally {
        await backend.dispose(s);
      }
    };

    it(
      'gives every write the next global revision',
      withStore(async (store, base) => {
        const a = await store.create('/r/a', '{"v":1}');
        const b = await store.create('/r/b', '{"v":1}');
        const a2 = await store.update('/r/a', '{"v":2}', a.modRevision);
        expect([a.modRevision, b.modRevision, a2.modRevision]).toEqual([base + 1, base + 2, base + 3]);
        expect(a2.createRevision).toBe(base + 1);
        expect(await store.currentRevision()).toBe(base + 3);
        const d = await store.delete('/r/b');
        expect(d.modRevision).toBe(base + 4);
        expect(d.value).toBe('{"v":1}');
        expect(d.createRevision).toBe(base + 2);
        expect(await store.get('/r/b')).toBeUndefined();
        expect(await store.get('/r/a')).toEqual({
          key: '/r/a',
          value: '{"v":2}',
          modRevision: base + 3,
          createRevision: base + 1,
        });
      }),
    );

    it(
      'refuses a second create and a stale update (compare-and-swap)',
      withStore(async (store) => {
        const a = await store.create('/r/a', '1');
        await expect(store.create('/r/a', '2')).rejects.toBeInstanceOf(KeyExistsError);
        await store.update('/r/a', '2', a.modRevision);
        const stale = await store.update('/r/a', '3', a.modRevision).catch((e: unknown) => e);
        expect(stale).toBeInstanceOf(StaleRevisionError);
        expect((stale as StaleRevisionError).current).toBe((await store.get('/r/a'))!.modRevision);
        await expect(store.update('/r/missing', '3', 1)).rejects.toBeInstanceOf(KeyNotFoundError);
        await expect(store.delete('/r/a', a.modRevision)).rejects.toBeInstanceOf(StaleRevisionError);
        await expect(store.delete('/r/missing')).rejects.toBeInstanceOf(KeyNotFoundError);
        expect((await store.get('/r/a'))!.value).toBe('2');
        const cur = (await store.get('/r/a'))!;
        const d = await store.delete('/r/a', cur.modRevision);
        expect(d.value).toBe('2');
        // a deleted key can be created again, with a new createRevision
        const again = await store.create('/r/a', 'new');
        expect(again.createRevision).toBe(again.modRevision);
        expect(again.modRevision).toBeGreaterThan(d.modRevision);
      }),
    );

    it(
      'lists by prefix with limit/continue, and at an older revision',
      withStore(async (store) => {
        const made = [];
        for (const n of ['a', 'b', 'c', 'd']) made.push(await store.create(`/r/ns/${n}`, `"${n}"`));
        await store.create('/r/nsx/z', '"z"');
        const p1 = await store.list('/r/ns/', { limit: 3 });
        expect(p1.items.map((i) => i.value)).toEqual(['"a"', '"b"', '"c"']);
        expect(p1.more).toBe(true);
        await store.update('/r/ns/d', '"d2"', made[3]!.modRevision);
        await store.create('/r/ns/e', '"e"');
        await store.delete('/r/ns/a');
        // paging continues at the first page's revision: later writes do not show
        const p2 = await store.list('/r/ns/', { limit: 3, startAfter: p1.items[2]!.key, revision: p1.revision });
        expect(p2.items.map((i) => i.value)).toEqual(['"d"']);
        expect(p2.items[0]!.modRevision).toBe(made[3]!.modRevision);
        expect(p2.more).toBe(false);
        expect(p2.revision).toBe(p1.revision);
        const all = await store.list('/r/ns/');
        expect(all.items.map((i) => i.value)).toEqual(['"b"', '"c"', '"d2"', '"e"']);
        expect(all.revision).toBe(await store.currentRevision());
        // a whole list at the old revision still has the deleted key
        expect((await store.list('/r/ns/', { revision: p1.revision })).items.map((i) => i.value)).toEqual([
          '"a"',
          '"b"',
          '"c"',
          '"d"',
        ]);
      }),
    );

    it(
      'treats wildcards in prefixes literally and keys in byte order',
      withStore(async (store) => {
        await store.create('/r/a_b/x', '1');
        await store.create('/r/aXb/x', '2');
        await store.create('/r/a%b/x', '3');
        expect((await store.list('/r/a_b/')).items).toHaveLength(1);
        expect((await store.list('/r/a%b/')).items.map((i) => i.value)).toEqual(['3']);
        expect((await store.list('/r/')).items.map((i) => i.key)).toEqual(['/r/a%b/x', '/r/aXb/x', '/r/a_b/x']);
      }),
    );

    it(
      'watch replays history after a revision, then streams live, in order',
      withStore(async (store) => {
        const a = await store.create('/r/a', '1');
        await store.update('/r/a', '2', a.modRevision);
        await store.create('/other/x', 'x');
        const seen: StoreEvent[] = [];
        const w = await store.watch('/r/', a.modRevision, (evs) => seen.push(...evs));
        // a write racing with the replay must come after it
        const b = await store.create('/r/b', '3');
        await received(seen, 2);
        const del = await store.delete('/r/a');
        await received(seen, 3);
        w.cancel();
        await store.create('/r/c', '4');
        await tick();
        expect(seen.map((e) => [e.type, e.key, e.modRevision])).toEqual([
          ['PUT', '/r/a', a.modRevision + 1],
          ['PUT', '/r/b', b.modRevision],
          ['DELETE', '/r/a', del.modRevision],
        ]);
        expect(seen[0]!.prevValue).toBe('1');
        expect(seen[0]!.createRevision).toBe(a.modRevision);
        expect(seen[1]!.prevValue).toBeUndefined();
        expect(seen[2]!.value).toBe('2');
        expect(seen[2]!.prevValue).toBe('2');
      }),
    );

    it(
      'a watch from the current revision sees only later writes',
      withStore(async (store) => {
        await store.create('/r/old', '1');
        const seen: StoreEvent[] = [];
        const w = await store.watch('/r/', await store.currentRevision(), (evs) => seen.push(...evs));
        await store.create('/r/new', '2');
        await received(seen, 1);
        w.cancel();
        expect(seen.map((e) => e.key)).toEqual(['/r/new']);
      }),
    );

    it(
      'compaction drops superseded history; older watches and lists get CompactedError, state survives',
      withStore(async (store, base) => {
        const a = await store.create('/r/a', '1');
        const a2 = await store.update('/r/a', '2', a.modRevision);
        const b = await store.create('/r/b', 'b');
        await store.delete('/r/b', b.modRevision);
        const keep = await store.create('/r/c', 'c');
        await store.compact(keep.modRevision - 1);
        expect(await store.compactedRevision()).toBe(keep.modRevision - 1);
        await expect(store.watch('/r/', base + 1, () => {})).rejects.toBeInstanceOf(CompactedError);
        expect((await store.get('/r/a'))!.modRevision).toBe(a2.modRevision);
        const l = await store.list('/r/', { revision: keep.modRevision - 1 });
        expect(l.items.map((i) => i.key)).toEqual(['/r/a']);
        await expect(store.list('/r/', { revision: base + 1 })).rejects.toBeInstanceOf(CompactedError);
        const seen: StoreEvent[] = [];
        const w = await store.watch('/r/', keep.modRevision - 1, (e) => seen.push(...e));
        await received(seen, 1);
        w.cancel();
        expect(seen.map((e) => e.key)).toEqual(['/r/c']);
        // compacting at or below the compacted revision changes nothing
        await store.compact(keep.modRevision - 2);
        expect(await store.compactedRevision()).toBe(keep.modRevision - 1);
      }),
    );

    it(
      'keeps data, revisions and the compacted revision across reopen',
      withStore(async (store, base) => {
        await store.create('/r/a', '1');
        const b = await store.create('/r/b', '1');
        await store.delete('/r/b', b.modRevision);
        await store.compact(base + 3);
        const rev = await store.currentRevision();
        const s2 = await backend.reopen(store);
        expect((await s2.get('/r/a'))!.value).toBe('1');
        expect(await s2.currentRevision()).toBe(rev);
        expect(await s2.compactedRevision()).toBe(base + 3);
        const c = await s2.create('/r/c', '1');
        expect(c.modRevision).toBe(rev + 1);
        return s2;
      }),
    );

    it(
      'concurrent writes: one winner per compare-and-swap, distinct revisions',
      withStore(async (store, base) => {
        const a = await store.create('/r/a', '0');
        const results = await Promise.allSettled([
          store.update('/r/a', '1', a.modRevision),
          store.update('/r/a', '2', a.modRevision),
          store.create('/r/b', 'x'),
          store.create('/r/b', 'y'),
          store.delete('/r/missing'),
        ]);
        const ok = results.map((r) => r.status === 'fulfilled');
        expect(ok[0] !== ok[1]).toBe(true);
        expect(ok[2] !== ok[3]).toBe(true);
        expect(ok[4]).toBe(false);
        const loser = (i: number, j: number) => (results[ok[i] ? j : i] as PromiseRejectedResult).reason;
        expect(loser(0, 1)).toBeInstanceOf(StaleRevisionError);
        expect(loser(2, 3)).toBeInstanceOf(KeyExistsError);
        expect((results[4] as PromiseRejectedResult).reason).toBeInstanceOf(KeyNotFoundError);
        expect((await store.get('/r/a'))!.value).toBe(ok[0] ? '1' : '2');
        expect((await store.get('/r/b'))!.value).toBe(ok[2] ? 'x' : 'y');
        const revs = results
          .filter((r) => r.status === 'fulfilled')
          .map((r) => (r as PromiseFulfilledResult<{ modRevision: number }>).value.modRevision);
        expect(revs.sort((x, y) => x - y)).toEqual([base + 2, base + 3]);
      }),
    );

    it(
      'many watchers see the same ordered stream of a burst of writes',
      withStore(async (store) => {
        const start = await store.currentRevision();
        const seen: StoreEvent[][] = [[], [], []];
        const ws = await Promise.all(seen.map((s) => store.watch('/r/burst/', start, (evs) => s.push(...evs))));
        await Promise.all(
          Array.from({ length: 50 }, (_, i) => store.create(`/r/burst/k${String(i).padStart(2, '0')}`, String(i))),
        );
        for (const s of seen) await received(s, 50);
        for (const w of ws) w.cancel();
        const revs = seen[0]!.map((e) => e.modRevision);
        expect([...revs].sort((x, y) => x - y)).toEqual(revs);
        expect(new Set(revs).size).toBe(50);
        for (const s of seen) expect(s.map((e) => e.modRevision)).toEqual(revs);
      }),
    );

    it(
      'values are stored byte for byte (unicode, large)',
      withStore(async (store) => {
        const v = JSON.stringify({ s: 'ünïcødé ✓ 𝄞', big: 'x'.repeat(200_000) });
        await store.create('/r/u', v);
        expect((await store.get('/r/u'))!.value).toBe(v);
        expect((await store.list('/r/')).items[0]!.value).toBe(v);
        expect(await store.size()).toBeGreaterThan(0);
      }),
    );
  });
}
