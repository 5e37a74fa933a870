import { describe, expect, it } from 'vitest';
import { SchedulingQueue } from '../../controlplane/scheduler/queue.js';
import { setUnschedulableCondition, needsScheduling } from '../../controlplane/scheduler/scheduler.js';
import { pod } from './scheduler-fixtures.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SchedulingQueue', () => {
  it('dedupes keys and hands them out in order', async () => {
    const q = new SchedulingQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    expect(await q.pop()).toBe('a');
    expect(await q.pop()).toBe('b');
    expect(q.stats().active).toBe(0);
    q.close();
    expect(await q.pop()).toBeUndefined();
  });

  it('re-queues a key added while it was being processed', async () => {
    const q = new SchedulingQueue();
    q.add('a');
    expect(await q.pop()).toBe('a');
    q.add('a'); // changed while in flight
    expect(q.stats().active).toBe(0);
    q.addUnschedulable('a'); // the outcome of the stale attempt does not park it
    q.done('a');
    expect(await q.pop()).toBe('a');
    q.close();
  });

  it('parks unschedulable keys until a cluster event, honouring back-off', async () => {
    let now = 1000;
    const q = new SchedulingQueue({ now: () => now, initialBackoffMs: 20, maxBackoffMs: 40 });
    q.add('a');
    await q.pop();
    q.addUnschedulable('a');
    q.done('a');
    expect(q.stats()).toEqual({ active: 0, backoff: 0, unschedulable: 1 });
    now += 50; // back-off over: the event moves it straight to active
    q.moveAllToActive();
    expect(q.stats()).toEqual({ active: 1, backoff: 0, unschedulable: 0 });
    expect(await q.pop()).toBe('a');
    q.addUnschedulable('a'); // second failure: 40 ms back-off
    q.done('a');
    q.moveAllToActive(); // still backing off: waits in the back-off area
    expect(q.stats()).toEqual({ active: 0, backoff: 1, unschedulable: 0 });
    now += 40;
    expect(await q.pop()).toBe('a'); // the timer moves it to active
    q.forget('a');
    q.done('a');
    expect(q.stats()).toEqual({ active: 0, backoff: 0, unschedulable: 0 });
    q.close();
  });

  it('retries errors after a doubling back-off', async () => {
    const q = new SchedulingQueue({ initialBackoffMs: 10, maxBackoffMs: 1000 });
    q.add('a');
    await q.pop();
    q.addBackoff('a');
    q.done('a');
    const t0 = Date.now();
    expect(await q.pop()).toBe('a');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(8);
    q.addBackoff('a');
    q.done('a');
    const t1 = Date.now();
    expect(await q.pop()).toBe('a');
    expect(Date.now() - t1).toBeGreaterThanOrEqual(18);
    q.close();
    await sleep(1);
  });
});

describe('pod helpers', () => {
  it.each([
    { name: 'pending pod', p: pod('a'), want: true },
    { name: 'bound pod', p: pod('a', { nodeName: 'n' }), want: false },
    { name: 'other scheduler', p: { ...pod('a'), spec: { ...pod('a').spec, schedulerName: 'mine' } }, want: false },
    {
      name: 'being deleted',
      p: { ...pod('a'), metadata: { ...pod('a').metadata, deletionTimestamp: '2024-01-01T00:00:00Z' } },
      want: false,
    },
    { name: 'finished', p: pod('a', { phase: 'Failed' }), want: false },
    { name: 'gated', p: { ...pod('a'), spec: { ...pod('a').spec, schedulingGates: [{ name: 'g' }] } }, want: false },
  ])('needsScheduling: $name', ({ p, want }) => {
    expect(needsScheduling(p)).toBe(want);
  });

  it('keeps lastTransitionTime while the condition stays False', () => {
    const p = pod('a');
    setUnschedulableCondition(p, 'm1', 't1');
    expect(p.status.conditions).toEqual([
      {
        type: 'PodScheduled',
        status: 'False',
        lastProbeTime: null,
        lastTransitionTime: 't1',
        reason: 'Unschedulable',
        message: 'm1',
      },
    ]);
    setUnschedulableCondition(p, 'm2', 't2');
    expect(p.status.conditions).toEqual([
      {
        type: 'PodScheduled',
        status: 'False',
        lastProbeTime: null,
        lastTransitionTime: 't1',
        reason: 'Unschedulable',
        message: 'm2',
      },
    ]);
  });
});
