// Preemption in the scheduler loop over the real write path (SQLite in memory, Priority
// admission resolving priorityClassName): nomination, DisruptionTarget + graceful delete +
// Preempted Event on the victim, the freed room held for the preemptor against a
// lower-priority pod, preemptionPolicy Never, PDBs steering the node choice, and the
// nomination of a lower-priority pod cleared when a higher one preempts on its node.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { findResource } from '../../controlplane/resources/index.js';
import { Scheduler } from '../../controlplane/scheduler/scheduler.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import type { KubeObject } from '../../proto/meta.js';
import { until } from './controller-harness.js';

const podDef = findResource('', 'v1', 'pods')!;
const nodeDef = findResource('', 'v1', 'nodes')!;
const eventDef = findResource('', 'v1', 'events')!;
const pcDef = findResource('scheduling.k8s.io', 'v1', 'priorityclasses')!;
const pdbDef = findResource('policy', 'v1', 'poddisruptionbudgets')!;

let store: SqliteStore;
let storage: ApiStorage;
let scheduler: Scheduler | undefined;

beforeEach(async () => {
  store = new SqliteStore(':memory:');
  storage = new ApiStorage(store);
  await seedNamespaces(storage);
  for (const [name, value, preemptionPolicy] of [
    ['low', 10, 'PreemptLowerPriority'],
    ['mid', 500, 'PreemptLowerPriority'],
    ['high', 1000, 'PreemptLowerPriority'],
    ['high-never', 1000, 'Never'],
  ] as const) {
    await storage.create(pcDef, undefined, {
      apiVersion: 'scheduling.k8s.io/v1',
      kind: 'PriorityClass',
      metadata: { name },
      value,
      preemptionPolicy,
    });
  }
});

afterEach(async () => {
  scheduler?.stop();
  scheduler = undefined;
  await store.close();
});

async function addNode(name: string, cpu: string): Promise<void> {
  const capacity = { cpu, memory: '8Gi', pods: '110' };
  await storage.create(nodeDef, undefined, {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    status: { capacity, allocatable: capacity, conditions: [{ type: 'Ready', status: 'True' }] },
  });
}

async function addPod(
  name: string,
  cls: string,
  cpu: string,
  labels: Record<string, string> = {},
  node?: string,
): Promise<KubeObject> {
  return storage.create(podDef, 'default', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: {
      priorityClassName: cls,
      containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu } } }],
      ...(node ? { nodeSelector: { 'kubernetes.io/hostname': node } } : {}),
    },
  });
}

async function startScheduler(): Promise<Scheduler> {
  scheduler = new Scheduler(storage, { strategy: 'spread', initialBackoffMs: 10, maxBackoffMs: 50 });
  await scheduler.start();
  return scheduler;
}

const getPod = (name: string) => storage.get(podDef, 'default', name);
const tryPod = (name: string) => storage.tryGet(podDef, 'default', name);
const cond = (p: KubeObject, type: string) =>
  (p.status?.conditions ?? []).find((c: { type: string }) => c.type === type);
const bound = (name: string) => until(`${name} bound`, async () => (await getPod(name)).spec.nodeName && getPod(name));
const events = async (name: string, reason: string) =>
  (await storage.list(eventDef, 'default')).items.filter((e) => e.involvedObject?.name === name && e.reason === reason);
/** kubelet's side of a graceful deletion: the pod goes */
const finishDeletion = (name: string) => storage.delete(podDef, 'default', name, { gracePeriodSeconds: 0 });
/** a scheduling-relevant node change: parked pods are retried */
const nudge = (node: string, v: string) =>
  storage.guaranteedUpdate(nodeDef, undefined, node, {}, (n) => {
    n.metadata.labels = { ...n.metadata.labels, nudge: v };
    return n;
  });

describe('Scheduler preemption', () => {
  it('nominates the preemptor, disrupts and deletes one low pod with an Event, keeps the room from a lower pod, then binds the preemptor', async () => {
    await addNode('n1', '2');
    const s = await startScheduler();
    await addPod('low-1', 'low', '1');
    await addPod('low-2', 'low', '1');
    await bound('low-1');
    await bound('low-2');

    const hi = await addPod('hi', 'high', '1');
    expect(hi.spec.priority).toBe(1000);
    const nominated = await until('hi nominated', async () => {
      const p = await getPod('hi');
      return p.status?.nominatedNodeName === 'n1' && p;
    });
    expect(nominated.spec.nodeName).toBeUndefined();
    expect(cond(nominated, 'PodScheduled')).toMatchObject({
      status: 'False',
      reason: 'Unschedulable',
      message: '0/1 nodes are available: 1 Insufficient cpu.',
    });

    const lows = await Promise.all(['low-1', 'low-2'].map(getPod));
    const victims = lows.filter((p) => p.metadata.deletionTimestamp);
    expect(victims).toHaveLength(1);
    const victim = victims[0]!;
    expect(cond(victim, 'DisruptionTarget')).toMatchObject({
      status: 'True',
      reason: 'PreemptionByScheduler',
      message: 'default-scheduler: preempting to accommodate a higher priority pod',
    });
    const [ev] = await until('Preempted event', async () => {
      const e = await events(victim.metadata.name!, 'Preempted');
      return e.length > 0 && e;
    });
    expect(ev).toMatchObject({
      type: 'Normal',
      message: `Preempted by pod ${hi.metadata.uid} on node n1`,
      source: { component: 'default-scheduler' },
    });
    expect(s.counters.preemptionAttempts).toBeGreaterThanOrEqual(1);
    expect(s.counters.preemptionVictims).toBe(1);

    // a retry while the victim terminates: not eligible to preempt more; the nomination stays
    await nudge('n1', '1');
    await until('waiting message', async () =>
      (cond(await getPod('hi'), 'PodScheduled')?.message ?? '').includes('preemption: not eligible'),
    );
    const waiting = await getPod('hi');
    expect(cond(waiting, 'PodScheduled').message).toBe(
      '0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to a terminating pod on the nominated node..',
    );
    expect(waiting.status.nominatedNodeName).toBe('n1');

    // a lower-priority newcomer must not take the room being freed for hi
    await addPod('low-3', 'low', '1');
    await until('low-3 unschedulable', async () => cond(await getPod('low-3'), 'PodScheduled')?.status === 'False');
    await finishDeletion(victim.metadata.name!);
    const placed = await bound('hi');
    expect(placed.spec.nodeName).toBe('n1');
    const low3 = await getPod('low-3');
    expect(low3.spec.nodeName).toBeUndefined();
    await until(
      'low-3 message',
      async () =>
        cond(await getPod('low-3'), 'PodScheduled')?.message ===
        '0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod..',
    );
    expect(await tryPod(victim.metadata.name!)).toBeUndefined();

    // preemptionPolicy Never: stays Pending, nobody is disrupted
    const never = await addPod('never', 'high-never', '1');
    expect(never.spec.preemptionPolicy).toBe('Never');
    await until(
      'never unschedulable',
      async () =>
        cond(await getPod('never'), 'PodScheduled')?.message ===
        '0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never..',
    );
    const survivors = (await storage.list(podDef, 'default')).items.filter((p) => p.spec.nodeName);
    expect(survivors.filter((p) => p.metadata.deletionTimestamp)).toEqual([]);
    expect((await getPod('never')).status.nominatedNodeName).toBeUndefined();
  });

  it('prefers the node where no PodDisruptionBudget is violated', async () => {
    await addNode('a', '1');
    await addNode('b', '1');
    // the budget (its status as the disruption controller would write it) exists before the
    // scheduler starts, so its PDB watch lists it
    await storage.create(pdbDef, 'default', {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'db' },
      spec: { minAvailable: 1, selector: { matchLabels: { app: 'db' } } },
    });
    await storage.guaranteedUpdate(
      pdbDef,
      'default',
      'db',
      {},
      (o) => {
        o.status = {
          disruptionsAllowed: 0,
          currentHealthy: 1,
          desiredHealthy: 1,
          expectedPods: 1,
          observedGeneration: 1,
        };
        return o;
      },
      'status',
    );
    await startScheduler();
    // on 'a', which would win every other tie-breaker (the first candidate)
    await addPod('guarded', 'low', '1', { app: 'db' }, 'a');
    await addPod('free', 'low', '1', { app: 'web' }, 'b');
    await bound('guarded');
    await bound('free');
    await addPod('hi', 'high', '1');
    const p = await until('hi nominated', async () => {
      const x = await getPod('hi');
      return x.status?.nominatedNodeName && x;
    });
    expect(p.status.nominatedNodeName).toBe('b');
    expect((await getPod('free')).metadata.deletionTimestamp).toBeTruthy();
    expect((await getPod('guarded')).metadata.deletionTimestamp).toBeUndefined();
  });

  it("a higher preemptor on the same node clears the lower nominated pod's nomination", async () => {
    await addNode('n1', '2');
    await startScheduler();
    await addPod('low-1', 'low', '1');
    await addPod('low-2', 'low', '1');
    await bound('low-1');
    await bound('low-2');
    await addPod('mid', 'mid', '1');
    await until('mid nominated', async () => (await getPod('mid')).status?.nominatedNodeName === 'n1');
    await addPod('hi', 'high', '2');
    await until('hi nominated', async () => (await getPod('hi')).status?.nominatedNodeName === 'n1');
    await until('mid nomination cleared', async () => (await getPod('mid')).status?.nominatedNodeName === undefined);
    const lows = await Promise.all(['low-1', 'low-2'].map(getPod));
    expect(
      lows.every(
        (l) => l.metadata.deletionTimestamp && cond(l, 'DisruptionTarget')?.reason === 'PreemptionByScheduler',
      ),
    ).toBe(true);
    await finishDeletion('low-1');
    await finishDeletion('low-2');
    expect((await bound('hi')).spec.nodeName).toBe('n1');
    expect((await getPod('mid')).spec.nodeName).toBeUndefined();
  });
});
