// Bounded creation (issue 10 item 9): the slow-start batch planner, the shared token bucket,
// and the ReplicaSet / Job controllers with replicas 2^31-1 — at most 1+2+4+...=500 pods per
// sync, nothing more after a failing batch (expectations lowered by what was skipped), and
// scaling down in bounded batches. Creations are gated: the test sees each batch in flight.
import { afterEach, describe, expect, it } from 'vitest';
import type { ApiStorage } from '../../controlplane/api/storage.js';
import { ApiError } from '../../controlplane/api/errors.js';
import {
  BURST_REPLICAS,
  slowStartBatch,
  slowStartBatches,
  TokenBucket,
} from '../../controlplane/controllers/slow-start.js';
import * as replicaSet from '../../controlplane/controllers/replica-set-controller.js';
import * as job from '../../controlplane/controllers/job-controller.js';
import * as daemonSet from '../../controlplane/controllers/daemon-set-controller.js';
import { defs, nodeBody } from './gc-fixtures.js';
import { planStatefulSet } from '../../controlplane/controllers/stateful-set/plan.js';
import { parseServerArgs } from '../../controlplane/config.js';
import { findResource } from '../../controlplane/resources/index.js';
import type { KubeObject } from '../../proto/meta.js';
import { startController, until, type ControllerHarness } from './controller-harness.js';

const podDef = findResource('', 'v1', 'pods')!;
const rsDef = findResource('apps', 'v1', 'replicasets')!;
const jobDef = findResource('batch', 'v1', 'jobs')!;
const MAX_INT32 = 2147483647;

describe('slowStartBatches (the batch planner)', () => {
  it.each([
    [0, 1, []],
    [-3, 1, []],
    [1, 1, [1]],
    [2, 1, [1, 1]],
    [3, 1, [1, 2]],
    [7, 1, [1, 2, 4]],
    [10, 1, [1, 2, 4, 3]],
    [500, 1, [1, 2, 4, 8, 16, 32, 64, 128, 245]],
    [10, 2, [2, 4, 4]],
    [5, 8, [5]],
  ] as Array<[number, number, number[]]>)('%i calls from batch %i: %j', (count, initial, want) => {
    const got = slowStartBatches(count, initial);
    expect(got).toEqual(want);
    expect(got.reduce((a, b) => a + b, 0)).toBe(Math.max(0, count));
  });

  it('the burst of one sync is 500, in 9 batches', () => {
    expect(BURST_REPLICAS).toBe(500);
    expect(slowStartBatches(Math.min(MAX_INT32, BURST_REPLICAS))).toHaveLength(9);
  });
});

describe('slowStartBatch', () => {
  it.each([
    ['no failure', 10, -1, 10, 10],
    ['the first call fails: nothing else is tried', 10, 0, 1, 0],
    ['a failure in batch 2 (calls 1-2): 3 tried, 2 ok', 10, 2, 3, 2],
    ['a failure in batch 3 (calls 3-6): 7 tried, 6 ok', 500, 5, 7, 6],
  ] as Array<[string, number, number, number, number]>)('%s', async (_what, count, failAt, tried, ok) => {
    const seen: number[] = [];
    const r = await slowStartBatch(count, 1, async (i) => {
      seen.push(i);
      if (i === failAt) throw new Error(`quota at ${i}`);
    });
    expect(seen.length).toBe(tried);
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: tried }, (_, i) => i));
    expect(r.ok).toBe(ok);
    expect(r.error?.message).toBe(failAt >= 0 ? `quota at ${failAt}` : undefined);
  });
});

describe('TokenBucket (--controllers-qps / --controllers-burst)', () => {
  function fakeBucket(qps: number, burst: number) {
    let t = 0;
    const sleeps: number[] = [];
    const b = new TokenBucket({
      qps,
      burst,
      now: () => t,
      sleep: async (ms) => {
        sleeps.push(ms);
        t += ms;
      },
    });
    return {
      b,
      sleeps,
      advance: (ms: number) => {
        t += ms;
      },
      now: () => t,
    };
  }

  it('lets a burst through at once, then qps per second', async () => {
    const { b, now } = fakeBucket(50, 100);
    for (let i = 0; i < 100; i++) await b.wait();
    expect(now()).toBe(0);
    expect(b.waited).toBe(0);
    for (let i = 0; i < 50; i++) await b.wait();
    // 50 more at 50/s: one second
    expect(now()).toBeGreaterThanOrEqual(1000);
    expect(now()).toBeLessThan(1100);
    expect(b.waited).toBe(50);
  });

  it('refills while idle, never above the burst', async () => {
    const { b, advance } = fakeBucket(10, 5);
    for (let i = 0; i < 5; i++) expect(b.tryTake()).toBe(true);
    expect(b.tryTake()).toBe(false);
    advance(100);
    expect(b.tryTake()).toBe(true);
    expect(b.tryTake()).toBe(false);
    advance(60_000);
    for (let i = 0; i < 5; i++) expect(b.tryTake()).toBe(true);
    expect(b.tryTake()).toBe(false);
  });

  it('qps 0 is no limit; stop() fails later waits', async () => {
    const unlimited = new TokenBucket({ qps: 0, burst: 1 });
    for (let i = 0; i < 1000; i++) expect(unlimited.tryTake()).toBe(true);
    const b = new TokenBucket({ qps: 1, burst: 1 });
    await b.wait();
    const blocked = b.wait();
    b.stop();
    await expect(blocked).rejects.toThrow(/stopped/);
    await expect(b.wait()).rejects.toThrow(/stopped/);
  });

  it('skiff-server flags: defaults 50/100, 0 disables, bad values refused', () => {
    const c = parseServerArgs([]);
    expect([c.controllersQps, c.controllersBurst]).toEqual([50, 100]);
    const d = parseServerArgs(['--controllers-qps', '0', '--controllers-burst', '7']);
    expect([d.controllersQps, d.controllersBurst]).toEqual([0, 7]);
    expect(() => parseServerArgs(['--controllers-qps', '-1'])).toThrow(/controllers-qps/);
    expect(() => parseServerArgs(['--controllers-qps', 'x'])).toThrow(/controllers-qps/);
    expect(() => parseServerArgs(['--controllers-burst', '0'])).toThrow(/controllers-burst/);
    expect(() => parseServerArgs(['--controllers-burst', '2.5'])).toThrow(/controllers-burst/);
  });
});

// ---------- controllers ----------

interface Gate {
  /** calls started and not yet released */
  inflight(): number;
  /** total calls started */
  started(): number;
  /** let every call in flight finish; `fail` of them (the first ones) throw a quota error */
  release(fail?: number): void;
  /** wait until exactly `n` calls are in flight (the whole batch is issued in one turn) and release them */
  batch(n: number, fail?: number): Promise<void>;
  open(): void;
}

/** hold ApiStorage.create (or delete) of pods until the test releases them */
function gate(storage: ApiStorage, method: 'create' | 'delete'): Gate {
  const held: Array<{ go: () => void; fail: (e: Error) => void }> = [];
  let started = 0;
  let opened = false;
  const orig = storage[method].bind(storage) as (...a: unknown[]) => Promise<unknown>;
  const patched = async (...args: unknown[]): Promise<unknown> => {
    if (args[0] !== podDef || opened) return orig(...args);
    started++;
    await new Promise<void>((go, fail) => {
      held.push({ go, fail });
    });
    return orig(...args);
  };
  (storage as unknown as Record<string, unknown>)[method] = patched;
  const g: Gate = {
    inflight: () => held.length,
    started: () => started,
    release(fail = 0) {
      for (const [i, h] of held.splice(0).entries()) {
        if (i < fail) h.fail(new ApiError(403, 'Forbidden', 'exceeded quota: pods'));
        else h.go();
      }
    },
    async batch(n, fail = 0) {
      await until(`${n} ${method}s in flight`, async () => held.length >= n);
      expect(held.length).toBe(n);
      g.release(fail);
    },
    open() {
      opened = true;
      g.release();
    },
  };
  return g;
}

let h: ControllerHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const countPods = async (storage: ApiStorage, selector: string) =>
  (await storage.list(podDef, 'default', { labelSelector: selector })).items.length;

function rsBody(name: string, replicas: number): unknown {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
    },
  };
}

describe('ReplicaSet controller with replicas 2147483647', () => {
  it('creates 1, 2, 4, ... 245 (500) pods in one sync; the next sync starts again at 1', async () => {
    h = await startController(replicaSet.create);
    const g = gate(h.storage, 'create');
    await h.storage.create(rsDef, 'default', rsBody('huge', MAX_INT32));
    for (const n of slowStartBatches(BURST_REPLICAS)) await g.batch(n);
    // the next sync waits for the 500 creations to be observed, then begins a new slow start
    await until('the next sync', async () => g.inflight() > 0, 10_000);
    expect(g.inflight()).toBe(1);
    expect(g.started()).toBe(BURST_REPLICAS + 1);
    g.open();
    h.controller.stop();
  }, 30_000);

  it('stops at the first failing batch and lowers its expectations by the skipped creations', async () => {
    h = await startController(replicaSet.create);
    const g = gate(h.storage, 'create');
    await h.storage.create(rsDef, 'default', rsBody('quota', MAX_INT32));
    await g.batch(1);
    await g.batch(2);
    await g.batch(4, 1); // one of the third batch fails: 3 of 4 made, 493 never tried
    // a new sync (after the error back-off) starts from 1 again, not 8: nothing more was tried,
    // and it runs at all because the 494 creations not made were taken off the expectations
    await until('the retry', async () => g.inflight() > 0, 10_000);
    expect(g.inflight()).toBe(1);
    expect(g.started()).toBe(1 + 2 + 4 + 1);
    expect(await countPods(h.storage, 'app=quota')).toBe(6);
    const rs = await h.storage.get(rsDef, 'default', 'quota');
    expect((rs.status?.conditions ?? []).map((c: { type: string }) => c.type)).toContain('ReplicaFailure');
    g.open();
    h.controller.stop();
  }, 30_000);

  it('takes a token per creation from the shared bucket', async () => {
    h = await startController(replicaSet.create);
    let t = 0;
    h.ctx.createLimiter = new TokenBucket({
      qps: 100,
      burst: 10,
      now: () => t,
      sleep: async (ms) => {
        t += ms;
        await new Promise((r) => setImmediate(r));
      },
    });
    await h.storage.create(rsDef, 'default', rsBody('paced', 40));
    await until('40 pods', async () => (await countPods(h!.storage, 'app=paced')) === 40, 10_000);
    // 10 at once, 30 more at 100/s: 300 ms of (fake) waiting
    expect(t).toBeGreaterThanOrEqual(300);
    expect(t).toBeLessThan(400);
    expect(h.ctx.createLimiter.waited).toBe(30);
  }, 30_000);

  it('scaling 600 pods to 0 deletes at most 500 per sync', async () => {
    h = await startController(replicaSet.create);
    const storage = h.storage;
    await storage.create(rsDef, 'default', rsBody('shrink', 600));
    await until('600 pods', async () => (await countPods(storage, 'app=shrink')) === 600, 20_000);
    const g = gate(storage, 'delete');
    await storage.guaranteedUpdate(rsDef, 'default', 'shrink', {}, (cur) => {
      cur.spec.replicas = 0;
      return cur;
    });
    await g.batch(500);
    await g.batch(100);
    await until('no pods', async () => (await countPods(storage, 'app=shrink')) === 0, 10_000);
    expect(g.started()).toBe(600);
  }, 40_000);
});

describe('Job controller with parallelism 2147483647', () => {
  const jobBody = (name: string) => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      parallelism: MAX_INT32,
      template: {
        metadata: { labels: { app: name } },
        spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] },
      },
    },
  });

  it('creates at most 500 pods per sync in slow-start batches and stops at a failing batch', async () => {
    h = await startController(job.create);
    const g = gate(h.storage, 'create');
    await h.storage.create(jobDef, 'default', jobBody('wide'));
    for (const n of slowStartBatches(BURST_REPLICAS)) await g.batch(n);
    await until('the next sync', async () => g.inflight() > 0, 10_000);
    expect(g.inflight()).toBe(1);
    expect(g.started()).toBe(BURST_REPLICAS + 1);
    // the next sync's second batch fails: no third batch
    await g.batch(1);
    await g.batch(2, 1);
    await until('the retry', async () => g.inflight() > 0, 10_000);
    expect(g.inflight()).toBe(1);
    expect(g.started()).toBe(BURST_REPLICAS + 1 + 2 + 1);
    g.open();
    h.controller.stop();
  }, 30_000);
});

describe('DaemonSet controller on 10 nodes', () => {
  it('creates in batches 1, 2, 4, 3; after a failing batch the retry starts again at 1', async () => {
    h = await startController(daemonSet.create);
    for (let i = 0; i < 10; i++) await h.storage.create(defs.nodes, undefined, nodeBody(`n${i}`));
    const g = gate(h.storage, 'create');
    const ds = (name: string) => ({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name },
      spec: {
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
      },
    });
    await h.storage.create(defs.daemonsets, 'default', ds('everywhere'));
    for (const n of [1, 2, 4, 3]) await g.batch(n);
    await until('10 daemon pods', async () => (await countPods(h!.storage, 'app=everywhere')) === 10);
    await h.storage.create(defs.daemonsets, 'default', ds('flaky'));
    await g.batch(1);
    await g.batch(2, 1);
    // 7 creations never tried come off the expectations, so the retry runs, from 1
    await until('the retry', async () => g.inflight() > 0, 10_000);
    expect(g.inflight()).toBe(1);
    expect(g.started()).toBe(10 + 1 + 2 + 1);
    g.open();
    await until('10 flaky pods', async () => (await countPods(h!.storage, 'app=flaky')) === 10, 10_000);
  }, 30_000);
});

describe('StatefulSet plan with replicas 2147483647', () => {
  const set = (policy: 'Parallel' | 'OrderedReady'): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'big', namespace: 'default', uid: 'u1' },
    spec: {
      replicas: MAX_INT32,
      podManagementPolicy: policy,
      selector: { matchLabels: { app: 'big' } },
      template: { metadata: { labels: { app: 'big' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
    },
  });
  it.each([
    ['Parallel', BURST_REPLICAS],
    ['OrderedReady', 1],
  ] as const)('%s: plans %i creations, quickly and without a 2^31 array', (policy, want) => {
    const t0 = performance.now();
    const plan = planStatefulSet({
      set: set(policy),
      pods: [],
      claims: new Map(),
      currentRevision: 'r1',
      updateRevision: 'r1',
      now: Date.now(),
    });
    expect(plan.actions.filter((a) => a.type === 'create')).toHaveLength(want);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('Parallel scale-down of 600 pods to 0 deletes at most 500 per sync', () => {
    const pods: KubeObject[] = Array.from({ length: 600 }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `big-${i}`, namespace: 'default', uid: `p${i}`, labels: { app: 'big' } },
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
    }));
    const s = set('Parallel');
    s.spec.replicas = 0;
    const plan = planStatefulSet({
      set: s,
      pods,
      claims: new Map(),
      currentRevision: 'r1',
      updateRevision: 'r1',
      now: Date.now(),
    });
    const deletes = plan.actions.filter((a) => a.type === 'delete');
    expect(deletes).toHaveLength(BURST_REPLICAS);
    // highest ordinals first
    expect(deletes[0]!.type === 'delete' && deletes[0]!.pod.metadata.name).toBe('big-599');
  });
});
