// Leader election loops on a fake clock over the real write path (ApiStorage on SQLite):
// one of two candidates leads and renews; a leader cut off from the store stops its work
// after renewDeadline, before the other takes over after leaseDuration; a stolen lease ends
// the term at once; a clean stop releases the Lease and the other takes it without waiting;
// writes of an ended term are refused (fencing).
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { findResource } from '../../controlplane/resources/index.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import { LeaderOnly, type LeaderWork } from '../../controlplane/leader/leader-only.js';
import { FakeClock } from './fake-clock.js';
import { until } from './controller-harness.js';

const leaseDef = findResource('coordination.k8s.io', 'v1', 'leases')!;
const cmDef = findResource('', 'v1', 'configmaps')!;
const log = pino({ level: 'silent' });

/** a storage whose reads and writes fail while `down` (a server cut off from the datastore) */
function partitionable(storage: ApiStorage): { storage: ApiStorage; down: boolean } {
  const ctl = { storage: Object.create(storage) as ApiStorage, down: false };
  for (const m of ['tryGet', 'get', 'create', 'update', 'guaranteedUpdate'] as const) {
    const orig = storage[m] as (...a: unknown[]) => Promise<unknown>;
    (ctl.storage as unknown as Record<string, unknown>)[m] = (...a: unknown[]) =>
      ctl.down ? Promise.reject(new Error('etcd unreachable')) : orig.apply(storage, a);
  }
  return ctl;
}

interface Candidate {
  elected: LeaderOnly;
  events: string[];
  writes: ApiStorage[];
  net: { storage: ApiStorage; down: boolean };
}

describe('leader election (client-go semantics) on the real write path', () => {
  let store: SqliteStore;
  let storage: ApiStorage;
  let clock: FakeClock;
  const candidates: Candidate[] = [];

  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    storage = new ApiStorage(store);
    await seedNamespaces(storage);
    clock = new FakeClock();
  });
  afterEach(async () => {
    for (const c of candidates.splice(0)) await c.elected.stop();
    await store.close();
  });

  const candidate = (identity: string, sole = false): Candidate => {
    const net = partitionable(storage);
    const c: Candidate = { events: [], writes: [], net, elected: undefined as unknown as LeaderOnly };
    c.elected = new LeaderOnly({
      storage: net.storage,
      name: 'kube-controller-manager',
      identity,
      clock,
      random: () => 0.5,
      soleCandidate: sole,
      log,
      start: async (st): Promise<LeaderWork> => {
        c.events.push(`start@${clock.now()}`);
        c.writes.push(st);
        return { stop: () => c.events.push(`stop@${clock.now()}`) };
      },
    });
    candidates.push(c);
    return c;
  };
  const lease = () => storage.get(leaseDef, 'kube-system', 'kube-controller-manager');
  /** every candidate's try under way finished and the work's start/stop ran (however loaded the machine) */
  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setImmediate(r));
      await Promise.all(candidates.map((c) => c.elected.elector.settled()));
      await Promise.all(candidates.map((c) => c.elected.current()));
    }
  };
  const advance = (ms: number) => clock.advance(ms, settle);

  it('the first candidate creates the Lease at once; the second waits while it renews', async () => {
    const t0 = clock.now();
    const a = candidate('a_1');
    await a.elected.start();
    expect(a.elected.elector.isLeader).toBe(true);
    expect(a.events).toEqual([`start@${t0}`]);
    const b = candidate('b_2');
    await b.elected.start();
    expect(b.elected.elector.isLeader).toBe(false);
    expect(b.elected.elector.leader).toBe('a_1');
    const first = await lease();
    expect(first.spec).toMatchObject({ holderIdentity: 'a_1', leaseDurationSeconds: 15, leaseTransitions: 0 });
    expect(first.spec.acquireTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    await advance(60_000);
    const later = await lease();
    expect(later.spec.holderIdentity).toBe('a_1');
    expect(later.spec.acquireTime).toBe(first.spec.acquireTime);
    expect(later.spec.leaseTransitions).toBe(0);
    expect(Date.parse(later.spec.renewTime)).toBeGreaterThanOrEqual(clock.now() - 2000);
    expect(b.events).toEqual([]);
  });

  it('a leader cut off from the store stops its work after renewDeadline; the other acquires only after leaseDuration', async () => {
    const a = candidate('a_1');
    await a.elected.start();
    const b = candidate('b_2');
    await b.elected.start();
    await advance(4000);
    const lastRenew = Date.parse((await lease()).spec.renewTime);
    a.net.down = true;
    await advance(30_000);
    const stopAt = Number(a.events.find((e) => e.startsWith('stop@'))!.slice(5));
    const startB = Number(b.events.find((e) => e.startsWith('start@'))!.slice(6));
    // renewDeadline (10 s) after the last renewal, the work stops; b waits a full 15 s after it last saw a change
    expect(stopAt).toBeLessThanOrEqual(lastRenew + 10_000);
    expect(startB).toBeGreaterThanOrEqual(lastRenew + 15_000);
    expect(stopAt).toBeLessThan(startB);
    expect(a.elected.elector.isLeader).toBe(false);
    const l = await lease();
    expect(l.spec).toMatchObject({ holderIdentity: 'b_2', leaseTransitions: 1 });
    expect(Date.parse(l.spec.acquireTime)).toBe(startB);
    // a's term is over: its fenced writes are refused even though its store is back
    a.net.down = false;
    await expect(
      a.writes[0]!.create(cmDef, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'late' } }),
    ).rejects.toMatchObject({ code: 503 });
    expect(await storage.tryGet(cmDef, 'default', 'late')).toBeUndefined();
    // back as a candidate, a never leads while b renews
    await advance(60_000);
    expect(a.elected.elector.isLeader).toBe(false);
    expect(a.events.filter((e) => e.startsWith('start@'))).toHaveLength(1);
    expect((await lease()).spec.holderIdentity).toBe('b_2');
  });

  it('a leader that finds another holder stops at once', async () => {
    const a = candidate('a_1');
    await a.elected.start();
    await storage.guaranteedUpdate(leaseDef, 'kube-system', 'kube-controller-manager', {}, (cur) => ({
      ...cur,
      spec: { ...cur.spec, holderIdentity: 'intruder_9' },
    }));
    const t = clock.now();
    await advance(2000);
    expect(a.events).toEqual([`start@${t}`, `stop@${t + 2000}`]);
    expect(a.elected.elector.isLeader).toBe(false);
  });

  it('a clean stop releases the Lease; the other candidate takes it at its next try', async () => {
    const a = candidate('a_1');
    await a.elected.start();
    const b = candidate('b_2');
    await b.elected.start();
    await advance(3000);
    const t = clock.now();
    await a.elected.stop();
    expect(a.events.at(-1)).toBe(`stop@${t}`);
    expect((await lease()).spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
    await advance(2000 * 2.2);
    expect(b.elected.elector.isLeader).toBe(true);
    expect((await lease()).spec).toMatchObject({
      holderIdentity: 'b_2',
      leaseDurationSeconds: 15,
      leaseTransitions: 1,
    });
  });

  it('a write that outlasts renewDeadline starts no term', async () => {
    const a = candidate('a_1');
    const orig = storage.create.bind(storage);
    // the create lands only after 11 s (a datastore that is very slow to answer)
    let pending = false;
    const slowCreate = (...args: Parameters<ApiStorage['create']>) =>
      new Promise<Awaited<ReturnType<typeof orig>>>((resolve, reject) => {
        pending = true;
        clock.after(11_000, () => {
          orig(...args).then(resolve, reject);
        });
      });
    a.net.storage.create = slowCreate as ApiStorage['create'];
    void a.elected.start();
    await until('the create is under way', async () => pending);
    await advance(12_000);
    expect((await lease()).spec.holderIdentity).toBe('a_1');
    expect(a.events).toEqual([]);
    expect(a.elected.elector.isLeader).toBe(false);
    // its next try renews its own Lease in time and leads
    a.net.storage.create = orig;
    await advance(5000);
    expect(a.elected.elector.isLeader).toBe(true);
    expect(a.events).toHaveLength(1);
  });

  it('a sole candidate (SQLite) takes over the Lease of its previous run at once', async () => {
    const old = candidate('old_0');
    await old.elected.start();
    // the old process dies without releasing: its timers stop, the Lease stays
    old.net.down = true;
    const c = candidate('new_1', true);
    await c.elected.start();
    expect(c.elected.elector.isLeader).toBe(true);
    expect((await lease()).spec).toMatchObject({ holderIdentity: 'new_1', leaseTransitions: 1 });
  });
});
