import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import { CompactedError, KeyExistsError, KeyNotFoundError, StaleRevisionError, type StoreEvent } from '../../controlplane/store/types.js';

let dir: string;
let store: SqliteStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-store-'));
  store = new SqliteStore(join(dir, 'state.db'));
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const tick = () => new Promise((r) => setTimeout(r, 5));

/** wait (up to 5 s) until at least n watch events have arrived, then a tick more so that a
 *  surplus would show in the exact comparisons that follow */
async function received(seen: StoreEvent[], n: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (seen.length < n) {
    if (Date.now() > deadline) throw new Error(`timed out after 5 s waiting for ${n} watch events, got ${seen.length}`);
    await tick();
  }
  await tick();
}

describe('SqliteStore', () => {
  it('gives every write the next global revision', async () => {
    const a = await store.create('/r/a', '{"v":1}');
    const b = await store.create('/r/b', '{"v":1}');
    const a2 = await store.update('/r/a', '{"v":2}', a.modRevision);
    expect([a.modRevision, b.modRevision, a2.modRevision]).toEqual([1, 2, 3]);
    expect(a2.createRevision).toBe(1);
    expect(await store.currentRevision()).toBe(3);
    const d = await store.delete('/r/b');
    expect(d.modRevision).toBe(4);
    expect(await store.get('/r/b')).toBeUndefined();
  });

  it('refuses a second create and a stale update (compare-and-swap)', async () => {
    const a = await store.create('/r/a', '1');
    await expect(store.create('/r/a', '2')).rejects.toBeInstanceOf(KeyExistsError);
    await store.update('/r/a', '2', a.modRevision);
    await expect(store.update('/r/a', '3', a.modRevision)).rejects.toBeInstanceOf(StaleRevisionError);
    await expect(store.update('/r/missing', '3', 1)).rejects.toBeInstanceOf(KeyNotFoundError);
    await expect(store.delete('/r/a', a.modRevision)).rejects.toBeInstanceOf(StaleRevisionError);
    expect((await store.get('/r/a'))!.value).toBe('2');
  });

  it('lists by prefix with limit/continue, and at an older revision', async () => {
    for (const n of ['a', 'b', 'c', 'd']) await store.create(`/r/ns/${n}`, `"${n}"`);
    await store.create('/r/nsx/z', '"z"');
    const p1 = await store.list('/r/ns/', { limit: 3 });
    expect(p1.items.map((i) => i.value)).toEqual(['"a"', '"b"', '"c"']);
    expect(p1.more).toBe(true);
    await store.update('/r/ns/d', '"d2"', 4);
    await store.create('/r/ns/e', '"e"');
    // paging continues at the first page's revision: later writes do not show
    const p2 = await store.list('/r/ns/', { limit: 3, startAfter: p1.items[2]!.key, revision: p1.revision });
    expect(p2.items.map((i) => i.value)).toEqual(['"d"']);
    expect(p2.more).toBe(false);
    const all = await store.list('/r/ns/');
    expect(all.items.map((i) => i.value)).toEqual(['"a"', '"b"', '"c"', '"d2"', '"e"']);
  });

  it('treats LIKE wildcards in prefixes literally', async () => {
    await store.create('/r/a_b/x', '1');
    await store.create('/r/aXb/x', '2');
    expect((await store.list('/r/a_b/')).items).toHaveLength(1);
  });

  it('watch replays history after a revision, then streams live, in order', async () => {
    const a = await store.create('/r/a', '1');
    await store.update('/r/a', '2', a.modRevision);
    await store.create('/other/x', 'x');
    const seen: StoreEvent[] = [];
    const w = await store.watch('/r/', a.modRevision, (evs) => seen.push(...evs));
    // a write racing with the replay must come after it
    await store.create('/r/b', '3');
    await received(seen, 2);
    await store.delete('/r/a');
    await received(seen, 3);
    w.cancel();
    await store.create('/r/c', '4');
    expect(seen.map((e) => [e.type, e.key, e.modRevision])).toEqual([
      ['PUT', '/r/a', 2], ['PUT', '/r/b', 4], ['DELETE', '/r/a', 5],
    ]);
    expect(seen[0]!.prevValue).toBe('1');
    expect(seen[1]!.prevValue).toBeUndefined();
    expect(seen[2]!.value).toBe('2');
  });

  it('compaction drops superseded history; older watches get CompactedError, state survives', async () => {
    const a = await store.create('/r/a', '1');
    const a2 = await store.update('/r/a', '2', a.modRevision);
    const b = await store.create('/r/b', 'b');
    await store.delete('/r/b', b.modRevision);
    const keep = await store.create('/r/c', 'c');
    await store.compact(keep.modRevision - 1);
    expect(await store.compactedRevision()).toBe(keep.modRevision - 1);
    await expect(store.watch('/r/', 1, () => {})).rejects.toBeInstanceOf(CompactedError);
    expect((await store.get('/r/a'))!.modRevision).toBe(a2.modRevision);
    const l = await store.list('/r/', { revision: keep.modRevision - 1 });
    expect(l.items.map((i) => i.key)).toEqual(['/r/a']);
    await expect(store.list('/r/', { revision: 1 })).rejects.toBeInstanceOf(CompactedError);
    const seen: StoreEvent[] = [];
    const w = await store.watch('/r/', keep.modRevision - 1, (e) => seen.push(...e));
    await received(seen, 1);
    w.cancel();
    expect(seen.map((e) => e.key)).toEqual(['/r/c']);
  });

  it('keeps data and revisions across reopen', async () => {
    await store.create('/r/a', '1');
    const b = await store.create('/r/b', '1');
    await store.delete('/r/b', b.modRevision);
    await store.compact(3);
    await store.close();
    store = new SqliteStore(join(dir, 'state.db'));
    expect((await store.get('/r/a'))!.value).toBe('1');
    expect(await store.currentRevision()).toBe(3);
    expect(await store.compactedRevision()).toBe(3);
    const c = await store.create('/r/c', '1');
    expect(c.modRevision).toBe(4);
  });

  it('group-commits concurrent writes, still one winner per compare-and-swap', async () => {
    const a = await store.create('/r/a', '0');
    const results = await Promise.allSettled([
      store.update('/r/a', '1', a.modRevision),
      store.update('/r/a', '2', a.modRevision),
      store.create('/r/b', 'x'),
      store.create('/r/b', 'y'),
      store.delete('/r/missing'),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'rejected']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(StaleRevisionError);
    expect((results[3] as PromiseRejectedResult).reason).toBeInstanceOf(KeyExistsError);
    expect((await store.get('/r/a'))!.value).toBe('1');
    expect((await store.get('/r/b'))!.value).toBe('x');
    const revs = results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<{ modRevision: number }>).value.modRevision);
    expect(revs).toEqual([2, 3]);
  });
});
