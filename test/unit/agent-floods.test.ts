// Floods from one agent (issue 10, item 8): its messages queue only so far (then 1008),
// heartbeats and pod statuses coalesce, events are rate limited, a closed connection's
// backlog is dropped, and repeated log lines are limited per connection.
import { afterEach, describe, expect, it } from 'vitest';
import type { ApiStorage } from '../../controlplane/api/storage.js';
import { CloseCode } from '../../proto/agent-protocol.js';
import {
  eventDef,
  leaseDef,
  newCredential,
  podDef,
  register,
  secretDef,
  startGateway,
  until,
  type GatewayHarness,
  type TestAgent,
} from './agent-harness.js';

/** the storage, with `slow` (list) made slow and every call counted by method name */
function instrumented(delayListMs: number, calls: Map<string, number>, slow = 'list'): (s: ApiStorage) => ApiStorage {
  return (s) =>
    new Proxy(s, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        if (typeof v !== 'function' || typeof prop !== 'string') return v;
        return async (...args: unknown[]) => {
          calls.set(prop, (calls.get(prop) ?? 0) + 1);
          if (prop === slow && delayListMs > 0) await new Promise((r) => setTimeout(r, delayListMs));
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
}

async function registered(h: GatewayHarness, name: string): Promise<TestAgent> {
  const r = await register(h.port, name, newCredential());
  expect(r.first.type).toBe('registered');
  expect((await r.agent.next()).type).toBe('pods');
  return r.agent;
}

/** count the writes of one kind of object from now on */
async function countWrites(
  h: GatewayHarness,
  def: typeof leaseDef,
  namespace: string,
): Promise<{ count: () => number; cancel(): void }> {
  let n = 0;
  const rv = await h.store.currentRevision();
  const w = await h.storage.watch(def, namespace, { resourceVersion: String(rv) }, (ev) => {
    if (ev.type === 'ADDED' || ev.type === 'MODIFIED') n++;
  });
  return { count: () => n, cancel: () => w.cancel() };
}

describe('one agent flooding the gateway', () => {
  let h: GatewayHarness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it('20,000 heartbeats make at most one Lease renewal per gap, and none after the agent left', async () => {
    h = await startGateway({ limits: { minHeartbeatGapMs: 1000 } });
    const agent = await registered(h, 'n1');
    const leases = await countWrites(h, leaseDef, 'kube-node-lease');
    const frame = JSON.stringify({ type: 'heartbeat', conditions: [{ type: 'Ready', status: 'True' }] });
    const started = Date.now();
    for (let i = 0; i < 20_000; i++) agent.ws.send(frame);
    await agent.close();
    await until('the session to end', () => !h!.gateway.connected('n1'));
    const atClose = leases.count();
    // one renewal per 1 s gap while the flood was handled (a loaded machine takes longer over it)
    const gaps = Math.ceil((Date.now() - started) / 1000);
    // what was queued is dropped with the connection: nothing more is written
    await new Promise((r) => setTimeout(r, 1500));
    expect(leases.count()).toBe(atClose);
    expect(atClose).toBeLessThanOrEqual(1 + gaps);
    leases.cancel();
  });

  it('heartbeats keep renewing the Lease once per gap while they come', async () => {
    h = await startGateway({ limits: { minHeartbeatGapMs: 200 } });
    const agent = await registered(h, 'n1');
    const leases = await countWrites(h, leaseDef, 'kube-node-lease');
    const started = Date.now();
    const timer = setInterval(() => {
      for (let i = 0; i < 200; i++) agent.ws.send(JSON.stringify({ type: 'heartbeat' }));
    }, 20);
    await until('three renewals', () => leases.count() >= 3, 5000);
    clearInterval(timer);
    // 200 ms apart at least: three renewals cannot come sooner than 400 ms
    expect(Date.now() - started).toBeGreaterThanOrEqual(380);
    leases.cancel();
    await agent.close();
  });

  it('a queue past its bound closes the connection with 1008', async () => {
    const calls = new Map<string, number>();
    h = await startGateway({ limits: { maxQueuedMessages: 50 }, wrap: instrumented(20, calls) });
    const agent = await registered(h, 'n1');
    for (let i = 0; i < 2000; i++)
      agent.send({ type: 'getObject', id: `q${i}`, kind: 'Secret', namespace: 'default', name: 'x' });
    const closed = await agent.closed;
    expect(closed.code).toBe(CloseCode.policyViolation);
    expect(closed.reason).toBe('message queue full');
    expect(h.logLines.filter((l) => l.includes('queue full')).length).toBe(1);
  });

  it("a closed connection's backlog is dropped, not processed after it left", async () => {
    const calls = new Map<string, number>();
    h = await startGateway({ wrap: instrumented(20, calls, 'tryGet') });
    const agent = await registered(h, 'n1');
    // a pod of the node references Secret x: each getObject reads it (slowly)
    await h.storage.create(podDef, 'default', {
      metadata: { name: 'p' },
      spec: {
        nodeName: 'n1',
        containers: [{ name: 'c', image: 'busybox' }],
        volumes: [{ name: 'v', secret: { secretName: 'x' } }],
      },
    });
    expect((await agent.next()).type).toBe('podUpsert');
    const before = calls.get('tryGet') ?? 0;
    for (let i = 0; i < 300; i++)
      agent.send({ type: 'getObject', id: `q${i}`, kind: 'Secret', namespace: 'default', name: 'x' });
    await until('the first to be processed', () => (calls.get('tryGet') ?? 0) > before);
    await agent.close();
    await until('the session to end', () => !h!.gateway.connected('n1'));
    const atClose = calls.get('tryGet') ?? 0;
    await new Promise((r) => setTimeout(r, 500));
    // at most the one in flight finishes: 300 x 20 ms would take 6 s more
    expect((calls.get('tryGet') ?? 0) - atClose).toBeLessThanOrEqual(1);
    expect(atClose - before).toBeLessThan(50);
  });

  it('statuses of one pod coalesce to the latest', async () => {
    h = await startGateway();
    const agent = await registered(h, 'n1');
    const pod = await h.storage.create(podDef, 'default', {
      metadata: { name: 'p' },
      spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }] },
    });
    const ref = { namespace: 'default', name: 'p', uid: pod.metadata.uid };
    const writes = await countWrites(h, podDef, 'default');
    for (let i = 0; i < 5000; i++)
      agent.send({ type: 'podStatus', pod: ref, status: { phase: 'Running', message: `m${i}` } });
    await until(
      'the last status',
      async () => (await h!.storage.tryGet(podDef, 'default', 'p'))?.status?.message === 'm4999',
    );
    expect(writes.count()).toBeLessThan(100);
    writes.cancel();
    await agent.close();
  });

  it("the writes one agent asks for are paced (kubelet's --kube-api-qps), none lost", async () => {
    h = await startGateway({ limits: { requestsPerSecond: 10, requestBurst: 5 } });
    const agent = await registered(h, 'n1');
    const refs = [];
    for (let i = 0; i < 20; i++) {
      const p = await h.storage.create(podDef, 'default', {
        metadata: { name: `p${i}` },
        spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }] },
      });
      refs.push({ namespace: 'default', name: `p${i}`, uid: p.metadata.uid });
    }
    const started = Date.now();
    for (const ref of refs) agent.send({ type: 'podStatus', pod: ref, status: { phase: 'Running', message: 'up' } });
    await until(
      'every status written',
      async () =>
        (await h!.storage.list(podDef, 'default')).items.filter((p) => p.status?.message === 'up').length === 20,
      10_000,
    );
    // 5 at once, then 15 at 10/s
    expect(Date.now() - started).toBeGreaterThanOrEqual(1300);
    await agent.close();
  });

  it("events are rate limited as kubelet's --event-qps/--event-burst", async () => {
    h = await startGateway({ limits: { eventsPerSecond: 1, eventBurst: 20 } });
    const agent = await registered(h, 'n1');
    for (let i = 0; i < 500; i++) {
      agent.send({
        type: 'event',
        involvedObject: { kind: 'Node', name: 'n1', uid: 'n1' },
        eventType: 'Normal',
        reason: 'Flood',
        message: `e${i}`,
      });
    }
    // a message after them: when its answer comes, the events before it were handled
    agent.send({ type: 'getObject', id: 'fence', kind: 'Secret', namespace: 'default', name: 'x' });
    expect((await agent.next()).id).toBe('fence');
    const events = (await h.storage.list(eventDef, 'default')).items.filter((e) => e.reason === 'Flood');
    expect(events.length).toBeGreaterThanOrEqual(20);
    expect(events.length).toBeLessThanOrEqual(25);
    await agent.close();
  });

  it('an agent that does not read what it is sent is disconnected once its backlog passes the bound', async () => {
    h = await startGateway({ limits: { maxBufferedBytes: 1_000_000 } });
    const agent = await registered(h, 'n1');
    await h.storage.create(secretDef, 'default', {
      metadata: { name: 'big' },
      data: { k: Buffer.alloc(300_000, 7).toString('base64') },
    });
    await h.storage.create(podDef, 'default', {
      metadata: { name: 'p' },
      spec: {
        nodeName: 'n1',
        containers: [{ name: 'c', image: 'busybox', envFrom: [{ secretRef: { name: 'big' } }] }],
      },
    });
    // stop reading, and ask for the big Secret again and again
    (agent.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    for (let i = 0; i < 300; i++)
      agent.send({ type: 'getObject', id: `q${i}`, kind: 'Secret', namespace: 'default', name: 'big' });
    await until('the session to end', () => !h!.gateway.connected('n1'), 10_000);
    expect(h.logLines.some((l) => l.includes('does not read its messages'))).toBe(true);
  });

  it('invalid messages are all answered but logged only a few times per connection', async () => {
    h = await startGateway();
    const agent = await registered(h, 'n1');
    let errors = 0;
    agent.ws.on('message', (d) => {
      if (JSON.parse(String(d)).type === 'error') errors++;
    });
    for (let i = 0; i < 5000; i++) agent.send(`{"type":"podStatus","junk":${i}}`);
    await until('every answer', () => errors >= 5000, 10_000);
    const rejected = h.logLines.filter((l) => l.includes('rejected agent message'));
    expect(rejected.length).toBeLessThanOrEqual(11);
    await agent.close();
    // the count of what was not logged, when the connection ends
    await until('the summary line', () =>
      h!.logLines.some((l) => l.includes('more like it not logged') && l.includes('"suppressed":4990')),
    );
  });
});
