// The event TTL controller (--event-ttl) with an injected clock, over the real API
// storage on in-memory SQLite: Events go one TTL after their last occurrence
// (lastTimestamp, else eventTime, else creationTimestamp), a repeat keeps them, and an
// Event changed since the cache saw it is not deleted on a stale view.
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiStorage, rfc3339 } from '../../controlplane/api/storage.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { controllerContext } from '../../controlplane/controllers/context.js';
import * as eventTtl from '../../controlplane/controllers/event-ttl-controller.js';
import {
  isExpired,
  lastOccurrence,
  type EventTtlController,
} from '../../controlplane/controllers/event-ttl-controller.js';
import { keyOf, type Informer } from '../../controlplane/controllers/informer.js';
import { recordEvent } from '../../controlplane/events.js';
import { findResource } from '../../controlplane/resources/index.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import type { KubeObject } from '../../proto/meta.js';

const eventDef = findResource('', 'v1', 'events')!;
const HOUR = 60 * 60_000;
const T0 = Date.parse('2026-03-01T12:00:00Z');

let clock = T0;
let store: SqliteStore;
let storage: ApiStorage;
let ttl: EventTtlController;
let eventsInformer: Informer<'Event'>;
let stopInformers = () => {};

beforeEach(async () => {
  clock = T0;
  store = new SqliteStore(':memory:');
  const now = () => new Date(clock);
  storage = new ApiStorage(store, now);
  await seedNamespaces(storage);
  const ctx = controllerContext(storage, pino({ enabled: false }), now);
  ttl = eventTtl.create(ctx, { ttlMs: HOUR, sweepIntervalMs: 3_600_000 });
  eventsInformer = ctx.informers.get('', 'v1', 'events');
  await ttl.start();
  await ctx.informers.startAll();
  stopInformers = () => ctx.informers.stopAll();
});

afterEach(async () => {
  ttl.stop();
  stopInformers();
  await store.close();
});

const at = (ms: number) => rfc3339(new Date(ms));

async function event(
  name: string,
  times: { last?: number; eventTime?: number; first?: number } = {},
): Promise<KubeObject> {
  const body: Record<string, unknown> = {
    metadata: { name },
    involvedObject: { kind: 'Pod', namespace: 'default', name: 'p', uid: 'u1' },
    reason: 'Started',
    message: `m ${name}`,
    type: 'Normal',
    source: { component: 'kubelet' },
    count: 1,
  };
  if (times.first !== undefined) body.firstTimestamp = at(times.first);
  if (times.last !== undefined) body.lastTimestamp = at(times.last);
  if (times.eventTime !== undefined) {
    body.eventTime = new Date(times.eventTime).toISOString().replace('Z', '000Z');
    body.reportingComponent = 'kubelet';
    body.action = 'Start';
  }
  return storage.create(eventDef, 'default', body);
}

const names = async () => (await storage.list(eventDef, 'default')).items.map((e) => e.metadata.name).sort();

/** poll (every 5 ms, up to 10 s) until check() holds */
async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after 10 s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** let the informer catch up with the writes made so far: its cache mirrors the stored Events */
const settle = () =>
  waitFor('the events informer to catch up with the store', async () => {
    const stored = (await storage.list(eventDef, undefined)).items;
    const cached = new Map(eventsInformer.list().map((e) => [keyOf(e), e.metadata.resourceVersion]));
    return stored.length === cached.size && stored.every((e) => cached.get(keyOf(e)) === e.metadata.resourceVersion);
  });

describe('event TTL', () => {
  it('reads the last occurrence from lastTimestamp, eventTime, then creationTimestamp', () => {
    const meta = { name: 'x', creationTimestamp: at(T0) };
    expect(lastOccurrence({ metadata: meta, lastTimestamp: at(T0 + 5000), eventTime: at(T0 + 9000) })).toBe(T0 + 5000);
    expect(lastOccurrence({ metadata: meta, lastTimestamp: null, eventTime: '2026-03-01T12:00:07.000000Z' })).toBe(
      T0 + 7000,
    );
    expect(
      lastOccurrence({
        metadata: meta,
        lastTimestamp: null,
        series: { count: 2, lastObservedTime: at(T0 + 8000) },
        eventTime: at(T0),
      }),
    ).toBe(T0 + 8000);
    expect(lastOccurrence({ metadata: meta })).toBe(T0);
    expect(lastOccurrence({ metadata: { name: 'x' } })).toBeUndefined();
    expect(isExpired({ metadata: meta }, HOUR, T0 + HOUR)).toBe(false);
    expect(isExpired({ metadata: meta }, HOUR, T0 + HOUR + 1)).toBe(true);
  });

  it('deletes Events one TTL after their last occurrence and keeps younger ones', async () => {
    await event('old', { first: T0, last: T0 });
    await event('recent', { first: T0, last: T0 + 30 * 60_000 });
    await event('new-style', { eventTime: T0 });
    await event('bare'); // only creationTimestamp (T0, the storage clock)
    await settle();

    clock = T0 + HOUR - 1000;
    expect(await ttl.sweep()).toBe(0);
    expect(await names()).toEqual(['bare', 'new-style', 'old', 'recent']);

    clock = T0 + HOUR + 1000;
    expect(await ttl.sweep()).toBe(3);
    expect(await names()).toEqual(['recent']);

    clock = T0 + 90 * 60_000 + 1000;
    expect(await ttl.sweep()).toBe(1);
    expect(await names()).toEqual([]);
  });

  it('a repeat of an Event (count/lastTimestamp bump) keeps it another TTL', async () => {
    await recordEvent(storage, {
      involvedObject: { kind: 'Node', name: 'n1', uid: 'n1' },
      type: 'Normal',
      reason: 'NodeNotSchedulable',
      message: 'Node n1 status is now: NodeNotSchedulable',
      source: { component: 'node-controller' },
    });
    const [ev] = (await storage.list(eventDef, 'default')).items;
    // recordEvent stamps with the wall clock; line the fake clock up with it
    clock = Date.parse(ev!.lastTimestamp);
    await recordEvent(storage, {
      involvedObject: { kind: 'Node', name: 'n1', uid: 'n1' },
      type: 'Normal',
      reason: 'NodeNotSchedulable',
      message: 'Node n1 status is now: NodeNotSchedulable',
      source: { component: 'node-controller' },
    });
    const bumped = await storage.get(eventDef, 'default', ev!.metadata.name!);
    expect(bumped.count).toBe(2);
    // pretend the repeat came 50 minutes after the first occurrence
    await storage.guaranteedUpdate(eventDef, 'default', ev!.metadata.name!, {}, (o) => {
      o.lastTimestamp = at(clock + 50 * 60_000);
      return o;
    });
    await settle();
    clock += HOUR + 1000;
    expect(await ttl.sweep()).toBe(0);
    clock += 50 * 60_000;
    expect(await ttl.sweep()).toBe(1);
    expect(await names()).toEqual([]);
  });

  it('does not delete on a stale view: an Event updated since the cache saw it survives that sweep', async () => {
    await event('racy', { first: T0, last: T0 });
    await settle();
    // a repeat lands just before the sweep: whether or not the cache has seen it yet, the
    // Event stays (a stale cached resourceVersion makes the delete's precondition fail)
    await storage.guaranteedUpdate(eventDef, 'default', 'racy', {}, (o) => {
      o.lastTimestamp = at(T0 + 2 * HOUR);
      o.count = 2;
      return o;
    });
    clock = T0 + HOUR + 1000;
    await ttl.sweep();
    await settle();
    expect(await names()).toEqual(['racy']);
    expect(await ttl.sweep()).toBe(0);
    clock = T0 + 3 * HOUR + 1000;
    expect(await ttl.sweep()).toBe(1);
  });

  it('sweeps on its own timer', async () => {
    ttl.stop();
    const ctx = controllerContext(storage, pino({ enabled: false }), () => new Date(clock));
    const fast = eventTtl.create(ctx, { ttlMs: HOUR, sweepIntervalMs: 20 });
    await fast.start();
    await ctx.informers.startAll();
    await event('soon', { last: T0 });
    clock = T0 + 2 * HOUR;
    try {
      await waitFor('the timed sweep to delete the Event', async () => (await names()).length === 0);
    } finally {
      fast.stop();
      ctx.informers.stopAll();
    }
    expect(await names()).toEqual([]);
  });
});
