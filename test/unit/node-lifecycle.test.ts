import { afterEach, describe, expect, it } from 'vitest';
import { rfc3339 } from '../../controlplane/api/storage.js';
import {
  create,
  evictionTime,
  lifecycleTaintKey,
  withLifecycleTaint,
  type NodeLifecycleController,
} from '../../controlplane/controllers/node-lifecycle-controller.js';
import { TAINT_NOT_READY, TAINT_UNREACHABLE } from '../../proto/api/taints.js';
import {
  DEFAULT_DISRUPTION,
  ZoneRateLimiter,
  computeZoneState,
  zoneEvictionRate,
  zoneKey,
} from '../../controlplane/controllers/node-lifecycle/zones.js';
import { ServerMetrics } from '../../controlplane/metrics.js';
import { findResource } from '../../controlplane/resources/index.js';
import type { KubeObject } from '../../proto/meta.js';
import { startController, until, type ControllerHarness } from './controller-harness.js';

const def = (group: string, version: string, plural: string) => findResource(group, version, plural)!;

const T0 = Date.parse('2026-11-22T10:00:00Z');
const unreachable = [
  { key: TAINT_UNREACHABLE, effect: 'NoExecute', timeAdded: '2026-11-22T10:00:00Z' },
  { key: TAINT_UNREACHABLE, effect: 'NoSchedule' },
];

describe('node lifecycle decisions', () => {
  it.each([
    ['True', undefined],
    [undefined, undefined],
    ['Unknown', TAINT_UNREACHABLE],
    ['False', TAINT_NOT_READY],
  ])('Ready=%s -> lifecycle taint %s', (ready, key) => {
    expect(lifecycleTaintKey(ready)).toBe(key);
  });

  const now = '2026-11-22T10:00:05Z';
  it.each([
    [
      'adds a NoExecute taint stamped now',
      [],
      'NoExecute',
      TAINT_UNREACHABLE,
      [{ key: TAINT_UNREACHABLE, effect: 'NoExecute', timeAdded: now }],
    ],
    [
      'adds a NoSchedule taint without a time',
      [],
      'NoSchedule',
      TAINT_UNREACHABLE,
      [{ key: TAINT_UNREACHABLE, effect: 'NoSchedule' }],
    ],
    ['keeps a present taint and its time', unreachable, 'NoExecute', TAINT_UNREACHABLE, undefined],
    [
      'swaps unreachable for not-ready',
      unreachable,
      'NoExecute',
      TAINT_NOT_READY,
      [
        { key: TAINT_UNREACHABLE, effect: 'NoSchedule' },
        { key: TAINT_NOT_READY, effect: 'NoExecute', timeAdded: now },
      ],
    ],
    [
      'removes only its own effect',
      unreachable,
      'NoExecute',
      undefined,
      [{ key: TAINT_UNREACHABLE, effect: 'NoSchedule' }],
    ],
    [
      'leaves other taints alone',
      [{ key: 'dedicated', value: 'x', effect: 'NoExecute' }],
      'NoExecute',
      undefined,
      undefined,
    ],
  ] as const)('%s', (_what, taints, effect, key, want) => {
    expect(withLifecycleTaint([...taints], effect, key, now)).toEqual(want);
  });

  it('evicts at once without a matching toleration', () => {
    expect(evictionTime([], unreachable, T0 + 1000)).toBe(T0 + 1000);
  });

  it('evicts after the toleration seconds, counted from when the taint was added', () => {
    const tol = [{ key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 10 }];
    expect(evictionTime(tol, unreachable, T0 + 1000)).toBe(T0 + 10_000);
  });

  it('never evicts a pod tolerating forever, or from a node without NoExecute taints', () => {
    expect(evictionTime([{ operator: 'Exists' }], unreachable, T0)).toBeUndefined();
    expect(evictionTime([], [{ key: TAINT_UNREACHABLE, effect: 'NoSchedule' }], T0)).toBeUndefined();
  });

  it('the shortest matching toleration wins', () => {
    const tol = [
      { key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 },
      { operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 },
    ];
    expect(evictionTime(tol, unreachable, T0)).toBe(T0 + 5000);
  });
});

describe('zone disruption (ComputeZoneState, setLimiterInZone)', () => {
  it.each([
    [['True'], 'Normal', 0],
    [['Unknown'], 'FullDisruption', 1],
    [['False', 'Unknown'], 'FullDisruption', 2],
    [['True', 'Unknown'], 'Normal', 1],
    [['True', 'Unknown', 'Unknown'], 'Normal', 2],
    // more than two not Ready, and at least 55 %
    [['True', 'Unknown', 'Unknown', 'False'], 'PartialDisruption', 3],
    [['True', 'True', 'True', 'Unknown', 'Unknown', 'Unknown'], 'Normal', 3],
    [['True', 'True', 'Unknown', 'Unknown', 'Unknown'], 'PartialDisruption', 3],
    [[undefined, 'True'], 'Normal', 1],
    [[], 'Normal', 0],
  ] as const)('%j -> %s (%i unhealthy)', (statuses, state, unhealthy) => {
    expect(computeZoneState([...statuses], 0.55)).toEqual({ state, unhealthy });
  });

  it.each([
    ['Normal', 3, 0.1],
    ['Initial', 3, 0.1],
    ['FullDisruption', 3, 0.1],
    ['PartialDisruption', 50, 0],
    ['PartialDisruption', 51, 0.01],
  ] as const)('%s zone of %i nodes: %f nodes/s', (state, size, rate) => {
    expect(zoneEvictionRate(state, size, DEFAULT_DISRUPTION)).toBe(rate);
  });

  it.each([
    [{}, ''],
    [{ 'topology.kubernetes.io/zone': 'a' }, ':\x00:a'],
    [{ 'topology.kubernetes.io/region': 'r', 'topology.kubernetes.io/zone': 'a' }, 'r:\x00:a'],
    [{ 'failure-domain.beta.kubernetes.io/zone': 'b' }, ':\x00:b'],
  ])('zone key of %j', (labels, key) => {
    expect(zoneKey(labels)).toBe(key);
  });

  it('rate limiter: burst of one, refilled at qps, never with qps 0', () => {
    let t = 0;
    const l = new ZoneRateLimiter(0.1, () => t);
    expect(l.tryAccept()).toBe(true);
    expect(l.tryAccept()).toBe(false);
    t = 9_999;
    expect(l.tryAccept()).toBe(false);
    t = 10_000;
    expect(l.tryAccept()).toBe(true);
    l.swap(0);
    t = 100_000;
    expect(l.tryAccept()).toBe(false);
    l.swap(0.1);
    expect(l.tryAccept()).toBe(false); // it was empty when stopped
    t = 110_000;
    expect(l.tryAccept()).toBe(true);
  });
});

/**
 * The controller over the real API write path with a fake clock: nodes whose Lease was
 * renewed long before the controller started (the control plane was down), live nodes
 * renewed by the test, dead ones left alone.
 */
describe('node lifecycle controller', () => {
  const nodeDef = def('', 'v1', 'nodes');
  const leaseDef = def('coordination.k8s.io', 'v1', 'leases');
  const podDef = def('', 'v1', 'pods');
  let h: ControllerHarness | undefined;
  let now = T0;
  let metrics: ServerMetrics;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  async function start(): Promise<ControllerHarness> {
    metrics = new ServerMetrics();
    h = await startController(
      (ctx) =>
        create(ctx, {
          gracePeriodMs: 15_000,
          monitorPeriodMs: 10,
          ...DEFAULT_DISRUPTION,
          metrics: {
            zoneHealth: metrics.zoneHealth,
            zoneSize: metrics.zoneSize,
            unhealthyNodes: metrics.unhealthyNodes,
            evictions: metrics.nodeEvictions,
            fullDisruption: metrics.fullDisruption,
          },
        }),
      () => now,
    );
    return h;
  }

  async function addNode(
    s: ControllerHarness,
    name: string,
    lastSeen: number,
    labels: Record<string, string> = {},
  ): Promise<void> {
    const t = rfc3339(new Date(lastSeen));
    await s.storage.create(nodeDef, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name, labels } });
    await s.storage.guaranteedUpdate(
      nodeDef,
      undefined,
      name,
      {},
      (cur) => {
        cur.status = {
          conditions: [
            { type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: t, lastTransitionTime: t },
          ],
        };
        return cur;
      },
      'status',
    );
    await s.storage.create(leaseDef, 'kube-node-lease', {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace: 'kube-node-lease' },
      spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: t },
    });
  }

  /** what an agent's heartbeat does: renew the Lease (and report Ready) */
  async function heartbeat(s: ControllerHarness, name: string): Promise<void> {
    const t = new Date(now).toISOString().replace('Z', '000Z');
    await s.storage.guaranteedUpdate(leaseDef, 'kube-node-lease', name, {}, (cur) => {
      cur.spec = { ...cur.spec, renewTime: t };
      return cur;
    });
    await s.storage.guaranteedUpdate(
      nodeDef,
      undefined,
      name,
      {},
      (cur) => {
        cur.status = {
          ...cur.status,
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'KubeletReady',
              lastHeartbeatTime: rfc3339(new Date(now)),
              lastTransitionTime: rfc3339(new Date(now)),
            },
          ],
        };
        return cur;
      },
      'status',
    );
  }

  async function addPod(s: ControllerHarness, name: string, node: string): Promise<string> {
    const p = await s.storage.create(podDef, 'default', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default' },
      // tolerating 0 s: evicted as soon as the node carries a NoExecute taint
      spec: {
        nodeName: node,
        containers: [{ name: 'c', image: 'busybox' }],
        tolerations: [TAINT_UNREACHABLE, TAINT_NOT_READY].map((key) => ({
          key,
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 0,
        })),
      },
    });
    return p.metadata.uid!;
  }

  const node = async (s: ControllerHarness, name: string): Promise<KubeObject> =>
    s.storage.get(nodeDef, undefined, name);
  const ready = async (s: ControllerHarness, name: string) =>
    (await node(s, name)).status?.conditions?.find((c: { type: string }) => c.type === 'Ready')?.status as string;
  const taints = async (s: ControllerHarness, name: string) =>
    ((await node(s, name)).spec?.taints ?? [])
      .map((t: { key: string; effect: string }) => `${t.key}:${t.effect}`)
      .sort();
  const podExists = async (s: ControllerHarness, name: string) => !!(await s.storage.tryGet(podDef, 'default', name));
  /**
   * let the controller see everything written so far at the current fake time: its
   * informers caught up with the store, then `n` whole monitor passes after that
   */
  const passes = async (s: ControllerHarness, n = 2) => {
    const caughtUp = async (group: string, plural: string, ns?: string) => {
      const inf = s.ctx.informers.get(group, 'v1', plural);
      const items = (await s.storage.list(def(group, 'v1', plural), ns)).items;
      return items.every(
        (o) => inf.get(o.metadata.namespace, o.metadata.name!)?.metadata.resourceVersion === o.metadata.resourceVersion,
      );
    };
    await until(
      'informers caught up',
      async () => (await caughtUp('', 'nodes')) && (await caughtUp('coordination.k8s.io', 'leases', 'kube-node-lease')),
    );
    const from = controller().passes;
    await until(`${n} passes`, async () => controller().passes >= from + n + 1);
  };
  const controller = () => h!.controller as NodeLifecycleController;
  const eventReasons = async (s: ControllerHarness) =>
    (await s.storage.list(def('', 'v1', 'events'), 'default')).items.map((e) => e.reason as string);

  it('gives every node a fresh grace period at start-up: a Lease renewed before an outage evicts nothing', async () => {
    now = T0;
    const s = await start();
    // the last heartbeat is 60 s older than the controller's start
    await addNode(s, 'solo', T0 - 60_000);
    await addPod(s, 'bare', 'solo');
    await passes(s);
    expect(await ready(s, 'solo')).toBe('True');
    expect(await taints(s, 'solo')).toEqual([]);
    now = T0 + 10_000;
    await heartbeat(s, 'solo'); // the agent is back
    await passes(s);
    now = T0 + 20_000;
    await passes(s);
    expect(await ready(s, 'solo')).toBe('True');
    expect(await podExists(s, 'bare')).toBe(true);
  });

  it("a single-node cluster never evicts its only node's pods (master disruption mode)", async () => {
    now = T0;
    const s = await start();
    await addNode(s, 'solo', T0);
    await addPod(s, 'bare', 'solo');
    await passes(s);
    now = T0 + 16_000;
    await until('Unknown', async () => (await ready(s, 'solo')) === 'Unknown');
    await until('NoSchedule taint', async () => (await taints(s, 'solo')).includes(`${TAINT_UNREACHABLE}:NoSchedule`));
    now = T0 + 120_000;
    await passes(s, 10);
    expect(await taints(s, 'solo')).toEqual([`${TAINT_UNREACHABLE}:NoSchedule`]);
    expect(await podExists(s, 'bare')).toBe(true);
    expect(await eventReasons(s)).not.toContain('TaintManagerEviction');
    expect((await metrics.fullDisruption.get()).values[0]?.value).toBe(1);
  });

  it("evicts a dead node's pods after the grace period while another node is alive", async () => {
    now = T0;
    const s = await start();
    await addNode(s, 'live', T0 - 600_000);
    await addNode(s, 'dead', T0 - 600_000);
    await addPod(s, 'on-live', 'live');
    await addPod(s, 'on-dead', 'dead');
    await passes(s);
    for (const t of [5_000, 10_000, 14_000]) {
      now = T0 + t;
      await heartbeat(s, 'live');
      await passes(s);
    }
    expect(await podExists(s, 'on-dead')).toBe(true); // still within its fresh grace period
    now = T0 + 16_000;
    await heartbeat(s, 'live');
    await until('dead Unknown', async () => (await ready(s, 'dead')) === 'Unknown');
    await until('dead NoExecute', async () => (await taints(s, 'dead')).includes(`${TAINT_UNREACHABLE}:NoExecute`));
    await until('pod evicted', async () => !(await podExists(s, 'on-dead')));
    expect(await podExists(s, 'on-live')).toBe(true);
    expect(await ready(s, 'live')).toBe('True');
    expect(await taints(s, 'live')).toEqual([]);
    expect((await metrics.nodeEvictions.get()).values[0]?.value).toBe(1);
    const zoneHealth = (await metrics.zoneHealth.get()).values[0]?.value;
    expect(zoneHealth).toBe(50);
  });

  it('stops evicting when every node is unreachable, and resumes with fresh grace periods when one returns', async () => {
    now = T0;
    const s = await start();
    await addNode(s, 'a', T0);
    await addNode(s, 'b', T0);
    await addPod(s, 'on-a', 'a');
    await addPod(s, 'on-b', 'b');
    await passes(s);
    now = T0 + 16_000;
    await until('both Unknown', async () => (await ready(s, 'a')) === 'Unknown' && (await ready(s, 'b')) === 'Unknown');
    now = T0 + 60_000;
    await passes(s, 10);
    expect(await taints(s, 'a')).toEqual([`${TAINT_UNREACHABLE}:NoSchedule`]);
    expect(await taints(s, 'b')).toEqual([`${TAINT_UNREACHABLE}:NoSchedule`]);
    expect(await podExists(s, 'on-a')).toBe(true);
    expect(await podExists(s, 'on-b')).toBe(true);
    expect(await eventReasons(s)).toContain('FullDisruption');
    expect((await metrics.fullDisruption.get()).values[0]?.value).toBe(1);

    // a comes back; b stays silent: b is tainted NoExecute now (stamped now), so its pod
    // goes once the toleration counted from now runs out — here at once, it has none
    await heartbeat(s, 'a');
    await until('a untainted', async () => (await taints(s, 'a')).length === 0);
    await until('b NoExecute', async () => (await taints(s, 'b')).includes(`${TAINT_UNREACHABLE}:NoExecute`));
    expect((await metrics.fullDisruption.get()).values[0]?.value).toBe(0);
    expect(await eventReasons(s)).toContain('FullDisruptionEnded');
    await until('on-b evicted', async () => !(await podExists(s, 'on-b')));
    expect(await podExists(s, 'on-a')).toBe(true);
  });

  it('taints no more than --node-eviction-rate nodes per second in a healthy zone, none in a partially disrupted small one', async () => {
    now = T0;
    const s = await start();
    for (const n of ['n1', 'n2', 'n3', 'n4', 'n5']) await addNode(s, n, T0);
    await passes(s);
    // n4 and n5 die: 2 of 5, the zone stays Normal
    now = T0 + 16_000;
    for (const n of ['n1', 'n2', 'n3']) await heartbeat(s, n);
    await until(
      'n4, n5 Unknown',
      async () => (await ready(s, 'n4')) === 'Unknown' && (await ready(s, 'n5')) === 'Unknown',
    );
    await passes(s);
    const tainted = async () =>
      (
        await Promise.all(
          ['n4', 'n5'].map(async (n) => (await taints(s, n)).includes(`${TAINT_UNREACHABLE}:NoExecute`)),
        )
      ).filter(Boolean).length;
    expect(await tainted()).toBe(1);
    now = T0 + 26_500;
    for (const n of ['n1', 'n2', 'n3']) await heartbeat(s, n);
    await until('second taint after 10 s', async () => (await tainted()) === 2);

    // n3 dies too: 3 of 5 not Ready (>2 and >= 55 %): PartialDisruption, and a small
    // cluster stops tainting altogether
    now = T0 + 43_000;
    for (const n of ['n1', 'n2']) await heartbeat(s, n);
    await passes(s);
    now = T0 + 60_000;
    for (const n of ['n1', 'n2']) await heartbeat(s, n);
    await until('n3 Unknown', async () => (await ready(s, 'n3')) === 'Unknown');
    now = T0 + 100_000;
    for (const n of ['n1', 'n2']) await heartbeat(s, n);
    await passes(s, 10);
    expect(await taints(s, 'n3')).toEqual([`${TAINT_UNREACHABLE}:NoSchedule`]);
  });
});
