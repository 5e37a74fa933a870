// The Store conformance suite (store-conformance.ts) on a real etcd (Debian's etcd-server),
// plus what only the etcd backend has: keys as `etcdctl` shows them, oversized values,
// an unreachable datastore as 503/504, watches that survive an etcd restart.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdStore } from '../../controlplane/store/etcd.js';
import { ApiError } from '../../controlplane/api/errors.js';
import type { StoreEvent } from '../../controlplane/store/types.js';
import { describeStoreConformance, received } from './store-conformance.js';
import { ETCDCTL_BIN, startEtcd, type EtcdProcess } from './etcd-process.js';

let etcd: EtcdProcess;
beforeAll(async () => {
  etcd = await startEtcd();
});
afterAll(async () => {
  await etcd?.stop();
});

/** each test gets an empty keyspace: its own etcd would be slow, so wipe the shared one */
async function fresh(): Promise<EtcdStore> {
  const s = await new EtcdStore({ endpoints: [etcd.endpoint] }).open();
  await s.etcd.delete().all();
  return s;
}

describeStoreConformance('etcd', {
  open: async () => {
    // compaction is cluster-wide and cannot be undone: a fresh etcd for every test
    await etcd.stop();
    etcd = await startEtcd();
    return fresh();
  },
  reopen: async (s) => {
    await s.close();
    return new EtcdStore({ endpoints: [etcd.endpoint] }).open();
  },
  dispose: async (s) => {
    await s.close();
  },
});

describe('EtcdStore only', () => {
  it('keeps skiff keys as they are: etcdctl get --prefix /registry/ lists them', async () => {
    const s = await fresh();
    try {
      await s.create('/registry/core/pods/default/p1', '{"kind":"Pod"}');
      const out = execFileSync(
        ETCDCTL_BIN,
        ['--endpoints', etcd.endpoint, 'get', '--prefix', '/registry/', '--keys-only'],
        { env: { ...process.env, ETCDCTL_API: '3' } },
      ).toString();
      expect(out.split('\n').filter(Boolean)).toEqual(['/registry/core/pods/default/p1']);
    } finally {
      await s.close();
    }
  });

  it("refuses a value past etcd's request limit with a 413, and stays usable", async () => {
    const s = await fresh();
    try {
      const err = await s.create('/r/huge', 'x'.repeat(2 * 1024 * 1024)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).code).toBe(413);
      expect((err as ApiError).message).toMatch(/more than etcd accepts/);
      expect(await s.get('/r/huge')).toBeUndefined();
      await s.create('/r/ok', '1');
    } finally {
      await s.close();
    }
  });

  it('an unreachable datastore is a 503/504 within the deadline, not a hang', async () => {
    const s = await new EtcdStore({ endpoints: ['http://127.0.0.1:1'], requestTimeoutMs: 1000 })
      .open()
      .catch((e: unknown) => e);
    expect(s).toBeInstanceOf(ApiError);
    expect([503, 504]).toContain((s as ApiError).code);
    expect((s as ApiError).message).toMatch(/datastore \(etcd\)/);
  });

  it('a watch survives an etcd restart: no error, no gap; calls meanwhile are 503/504', async () => {
    const s = await fresh();
    const seen: StoreEvent[] = [];
    const errors: Error[] = [];
    try {
      const w = await s.watch(
        '/r/',
        await s.currentRevision(),
        (evs) => seen.push(...evs),
        (e) => errors.push(e),
      );
      await s.create('/r/before', '1');
      await received(seen, 1);
      const { dataDir, clientPort, peerPort } = etcd;
      await etcd.stop(true);
      const down = await s.get('/r/before').catch((e: unknown) => e);
      expect(down).toBeInstanceOf(ApiError);
      expect([503, 504]).toContain((down as ApiError).code);
      // the same member on its data and ports
      etcd = await startEtcd({ dataDir, clientPort, peerPort });
      const deadline = Date.now() + 30_000;
      for (;;) {
        try {
          await s.create('/r/after', '2');
          break;
        } catch (e) {
          if (Date.now() > deadline) throw e;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      await received(seen, 2);
      w.cancel();
      expect(seen.map((e) => e.key)).toEqual(['/r/before', '/r/after']);
      expect(errors).toEqual([]);
    } finally {
      await s.close();
    }
  });
});
