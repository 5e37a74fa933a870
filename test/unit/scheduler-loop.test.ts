import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { findResource } from '../../controlplane/resources/index.js';
import { Scheduler } from '../../controlplane/scheduler/scheduler.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import type { KubeObject } from '../../proto/meta.js';

const podDef = findResource('', 'v1', 'pods')!;
const nodeDef = findResource('', 'v1', 'nodes')!;
const eventDef = findResource('', 'v1', 'events')!;

let store: SqliteStore;
let storage: ApiStorage;
let scheduler: Scheduler | undefined;

beforeEach(async () => {
  store = new SqliteStore(':memory:');
  storage = new ApiStorage(store);
  await seedNamespaces(storage);
});

afterEach(async () => {
  scheduler?.stop();
  scheduler = undefined;
  await store.close();
});

function nodeBody(name: string, cpu: string, memory: string): unknown {
  const capacity = { cpu, memory, pods: '110' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    status: {
      capacity,
      allocatable: capacity,
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'ready' }],
    },
  };
}

function podBody(name: string, requests: Record<string, string>, extra: Record<string, unknown> = {}): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { containers: [{ name: 'c', image: 'busybox', resources: { requests } }], ...extra },
  };
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const getPod = (name: string) => storage.get(podDef, 'default', name);
const scheduledCond = (p: KubeObject) => (p.status?.conditions ?? []).find((c: any) => c.type === 'PodScheduled');

async function eventsFor(name: string): Promise<KubeObject[]> {
  const list = await storage.list(eventDef, 'default');
  return list.items.filter((e) => e.involvedObject?.name === name);
}

describe('Scheduler loop', () => {
  it('binds pods, reports an unschedulable one, and places it once a bigger node appears', async () => {
    await storage.create(nodeDef, undefined, nodeBody('small-a', '2', '2Gi'));
    await storage.create(nodeDef, undefined, nodeBody('small-b', '2', '2Gi'));
    scheduler = new Scheduler(storage, { strategy: 'spread', initialBackoffMs: 10, maxBackoffMs: 50 });
    await scheduler.start();

    await storage.create(podDef, 'default', podBody('web-1', { cpu: '500m', memory: '256Mi' }));
    await storage.create(podDef, 'default', podBody('web-2', { cpu: '500m', memory: '256Mi' }));
    await storage.create(podDef, 'default', podBody('big', { cpu: '1', memory: '8Gi' }));
    await storage.create(podDef, 'default', podBody('other', { cpu: '100m' }, { schedulerName: 'someone-else' }));

    const p1 = await until('web-1 bound', async () => (await getPod('web-1')).spec.nodeName && getPod('web-1'));
    const p2 = await until('web-2 bound', async () => (await getPod('web-2')).spec.nodeName && getPod('web-2'));
    expect(new Set([p1.spec.nodeName, p2.spec.nodeName])).toEqual(new Set(['small-a', 'small-b']));
    expect(scheduledCond(p1)).toMatchObject({ type: 'PodScheduled', status: 'True' });
    const ok = await until('Scheduled event', async () =>
      (await eventsFor('web-1')).find((e) => e.reason === 'Scheduled'),
    );
    expect(ok).toMatchObject({
      type: 'Normal',
      message: `Successfully assigned default/web-1 to ${p1.spec.nodeName}`,
      source: { component: 'default-scheduler' },
    });

    const message =
      '0/2 nodes are available: 2 Insufficient memory. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod..';
    const big = await until('big unschedulable', async () => {
      const p = await getPod('big');
      return scheduledCond(p)?.status === 'False' && p;
    });
    expect(big.spec.nodeName).toBeUndefined();
    expect(scheduledCond(big)).toMatchObject({ status: 'False', reason: 'Unschedulable', message });
    const failed = await until('FailedScheduling event', async () =>
      (await eventsFor('big')).find((e) => e.reason === 'FailedScheduling'),
    );
    expect(failed).toMatchObject({
      type: 'Warning',
      message,
      source: { component: 'default-scheduler' },
      reportingComponent: 'default-scheduler',
      involvedObject: { kind: 'Pod', namespace: 'default', name: 'big', uid: big.metadata.uid },
    });
    expect(failed.metadata.name).toMatch(/^big\.[0-9a-f]+$/);
    expect(failed.count).toBeGreaterThanOrEqual(1);
    expect(failed.firstTimestamp).toBeTruthy();

    await storage.create(nodeDef, undefined, nodeBody('large', '8', '16Gi'));
    const placed = await until(
      'big bound after node added',
      async () => (await getPod('big')).spec.nodeName && getPod('big'),
    );
    expect(placed.spec.nodeName).toBe('large');
    expect(scheduledCond(placed)).toMatchObject({ status: 'True' });

    expect((await getPod('other')).spec.nodeName).toBeUndefined();
    expect(scheduler.counters.scheduled).toBe(3);
    expect(scheduler.counters.unschedulable).toBeGreaterThanOrEqual(1);
    expect(scheduler.counters.errors).toBe(0);
  });

  it('does not overcommit a node during a burst', async () => {
    await storage.create(nodeDef, undefined, nodeBody('n1', '2', '4Gi'));
    await storage.create(nodeDef, undefined, nodeBody('n2', '2', '4Gi'));
    scheduler = new Scheduler(storage, { strategy: 'spread', initialBackoffMs: 10, maxBackoffMs: 50 });
    await scheduler.start();
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        storage.create(podDef, 'default', podBody(`p${i}`, { cpu: '100m', memory: '128Mi' })),
      ),
    );
    await until(
      'settled',
      async () =>
        scheduler!.counters.scheduled + scheduler!.counters.unschedulable >= 30 && scheduler!.counters.scheduled >= 30,
    );
    const pods = (await storage.list(podDef, 'default')).items;
    const perNode = (n: string) => pods.filter((p) => p.spec.nodeName === n).length;
    // 20 fit per node by cpu (2 cores / 100m); everything is placed, spread evenly
    expect(perNode('n1') + perNode('n2')).toBe(30);
    expect(Math.abs(perNode('n1') - perNode('n2'))).toBeLessThanOrEqual(1);

    await Promise.all(
      Array.from({ length: 12 }, (_, i) => storage.create(podDef, 'default', podBody(`q${i}`, { cpu: '100m' }))),
    );
    const unsched = await until('capacity reached', async () => {
      const items = (await storage.list(podDef, 'default')).items.filter((p) => p.metadata.name!.startsWith('q'));
      const pending = items.filter((p) => !p.spec.nodeName);
      return items.every((p) => p.spec.nodeName || scheduledCond(p)?.status === 'False') && pending;
    });
    expect(unsched.length).toBe(2);
    expect(scheduledCond(unsched[0]!).message).toBe(
      '0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod..',
    );

    // deleting a bound pod frees room: one waiting pod gets it
    const victim = (await storage.list(podDef, 'default')).items.find((p) => p.spec.nodeName)!;
    await storage.delete(podDef, 'default', victim.metadata.name!, { gracePeriodSeconds: 0 });
    await until('a waiting pod placed', async () => {
      const items = (await storage.list(podDef, 'default')).items.filter((p) => p.metadata.name!.startsWith('q'));
      return items.filter((p) => !p.spec.nodeName).length === 1;
    });
  });

  it('aggregates repeated failures into one Event and writes the condition only on change', async () => {
    await storage.create(nodeDef, undefined, nodeBody('n1', '1', '1Gi'));
    scheduler = new Scheduler(storage, { strategy: 'binpack', initialBackoffMs: 1, maxBackoffMs: 5 });
    await scheduler.start();
    await storage.create(podDef, 'default', podBody('huge', { memory: '4Gi' }));
    const first = await until('unschedulable', async () => {
      const p = await getPod('huge');
      return scheduledCond(p)?.status === 'False' && p;
    });
    await until('event', async () => (await eventsFor('huge')).length === 1);
    // a scheduling-relevant node change retries the pod: same message, same Event, count 2
    await storage.guaranteedUpdate(nodeDef, undefined, 'n1', {}, (n) => {
      n.metadata.labels = { ...n.metadata.labels, zone: 'a' };
      return n;
    });
    const ev = await until('count 2', async () => {
      const evs = await eventsFor('huge');
      return evs.length === 1 && evs[0]!.count === 2 && evs[0];
    });
    expect(ev.message).toBe(
      '0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod..',
    );
    expect((await getPod('huge')).metadata.resourceVersion).toBe(first.metadata.resourceVersion);
    expect(scheduler.counters.attempts).toBe(2);
  });
});

describe('Scheduler profiles', () => {
  it('schedules pods naming a second profile with its strategy, and its events under its name', async () => {
    await storage.create(nodeDef, undefined, nodeBody('a', '4', '8Gi'));
    await storage.create(nodeDef, undefined, nodeBody('b', '4', '8Gi'));
    scheduler = new Scheduler(storage, {
      strategy: 'spread',
      profiles: [{ schedulerName: 'packer', strategy: 'binpack' }],
      initialBackoffMs: 10,
      maxBackoffMs: 50,
    });
    await scheduler.start();
    // binpack: every pod on the node the first one went to
    for (let i = 0; i < 4; i++) {
      await storage.create(
        podDef,
        'default',
        podBody(`packed-${i}`, { cpu: '500m', memory: '256Mi' }, { schedulerName: 'packer' }),
      );
      await until(`packed-${i} bound`, async () => (await getPod(`packed-${i}`)).spec.nodeName);
    }
    const nodes = await Promise.all([0, 1, 2, 3].map(async (i) => (await getPod(`packed-${i}`)).spec.nodeName));
    expect(new Set(nodes).size).toBe(1);
    const ev = await until('Scheduled event', async () =>
      (await eventsFor('packed-0')).find((e) => e.reason === 'Scheduled'),
    );
    expect(ev).toMatchObject({ source: { component: 'packer' } });
    // the default profile spreads: the next pod goes to the emptier node
    await storage.create(podDef, 'default', podBody('spread-0', { cpu: '500m', memory: '256Mi' }));
    const spread = await until('spread-0 bound', async () => (await getPod('spread-0')).spec.nodeName);
    expect(spread).not.toBe(nodes[0]);
    // a name no profile has stays unscheduled
    await storage.create(podDef, 'default', podBody('nobody', { cpu: '100m' }, { schedulerName: 'nobody' }));
    await new Promise((r) => setTimeout(r, 100));
    expect((await getPod('nobody')).spec.nodeName).toBeUndefined();
  });
});
