// Many filtered watches of one kind (every agent watches spec.nodeName=<its node>): a
// write is decoded once to match all of them, and only the watch it matches gets a copy
// of its own (1000 agents parsed every pod write 2000 times). Through the encrypting
// store, as skiff-server runs, whose events for unencrypted kinds are the backend's own.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiStorage, type WatchEvent } from '../../controlplane/api/storage.js';
import { bindPod } from '../../controlplane/registry/binding.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import type { KubeObject } from '../../proto/meta.js';
import { findResource } from '../../controlplane/resources/index.js';
import { EncryptingStore } from '../../controlplane/store/encrypting-store.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import { until } from './controller-harness.js';

const podDef = findResource('', 'v1', 'pods')!;
const pod = (name: string) => ({ metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });

describe('filtered watches share one decoding per event', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("200 node watches: a bind reaches the bound node's watch only, the pod parsed a few times, not per watch", async () => {
    const inner = new SqliteStore(':memory:');
    const storage = new ApiStorage(new EncryptingStore(inner, { keys: [{ name: 'k1', secret: randomBytes(32) }] }));
    await seedNamespaces(storage);
    const got = new Map<string, WatchEvent[]>();
    const watches = [];
    for (let i = 0; i < 200; i++) {
      const node = `n${i}`;
      got.set(node, []);
      watches.push(
        await storage.watch(
          podDef,
          undefined,
          { resourceVersion: String(await inner.currentRevision()), fieldSelector: `spec.nodeName=${node}` },
          (ev) => got.get(node)!.push(ev),
        ),
      );
    }
    await storage.create(podDef, 'default', pod('p'));
    const parse = vi.spyOn(JSON, 'parse');
    const bound = await bindPod(storage, 'default', 'p', 'n7');
    await until('the bind seen', async () => got.get('n7')!.length > 0);
    const parses = parse.mock.calls.length;
    parse.mockRestore();
    expect(got.get('n7')!.map((e) => [e.type, (e.object as KubeObject).metadata.resourceVersion])).toEqual([
      ['ADDED', bound.metadata.resourceVersion],
    ]);
    expect([...got].filter(([n, evs]) => n !== 'n7' && evs.length).length).toBe(0);
    expect(parses).toBeLessThan(20); // the update's own reads and one decoding, not 400
    // the watch's object is its own: changing it changes nothing another consumer sees
    (got.get('n7')![0]!.object as KubeObject).metadata.labels = { changed: 'yes' };
    expect((await storage.get(podDef, 'default', 'p')).metadata.labels).toBeUndefined();
    for (const w of watches) w.cancel();
    await inner.close();
  });
  it('the store indexes them by spec.nodeName: a write is matched for the watches of its node only, deletes and moves included', async () => {
    const inner = new SqliteStore(':memory:');
    const storage = new ApiStorage(inner);
    await seedNamespaces(storage);
    const got = new Map<string, string[]>();
    const watches = [];
    for (let i = 0; i < 300; i++) {
      const node = `n${i}`;
      got.set(node, []);
      watches.push(
        await storage.watch(
          podDef,
          undefined,
          { resourceVersion: String(await inner.currentRevision()), fieldSelector: `spec.nodeName=${node}` },
          (ev) => got.get(node)!.push(`${ev.type} ${(ev.object as KubeObject).metadata.name}`),
        ),
      );
    }
    const unbound: string[] = [];
    watches.push(
      await storage.watch(
        podDef,
        undefined,
        { resourceVersion: String(await inner.currentRevision()), fieldSelector: 'spec.nodeName=' },
        (ev) => unbound.push(`${ev.type} ${(ev.object as KubeObject).metadata.name}`),
      ),
    );
    const matches = vi.spyOn(storage, 'matches');
    await storage.create(podDef, 'default', pod('p') as never);
    await bindPod(storage, 'default', 'p', 'n7');
    await storage.create(podDef, 'default', { ...pod('q'), spec: { ...pod('q').spec, nodeName: 'n9' } } as never);
    await storage.delete(podDef, 'default', 'p', { gracePeriodSeconds: 0 });
    await until('the delete seen', async () => got.get('n7')!.length >= 2);
    expect(matches.mock.calls.length).toBeLessThan(20); // not one per watch and event (1200)
    expect(got.get('n7')).toEqual(['ADDED p', 'DELETED p']);
    expect(got.get('n9')).toEqual(['ADDED q']);
    expect(unbound).toEqual(['ADDED p', 'DELETED p']); // bound away from "": gone from that watch
    expect([...got].filter(([n, evs]) => n !== 'n7' && n !== 'n9' && evs.length)).toEqual([]);
    for (const w of watches) w.cancel();
    await inner.close();
  });
});
