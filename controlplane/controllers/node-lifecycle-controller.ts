// Node lifecycle (kube-controller-manager's nodelifecycle + taint manager, tuned for a
// small cluster).
// - Health is judged by what this controller has observed since it started: every node
//   gets a fresh grace period at start-up (and when the cluster leaves master disruption
//   mode), measured on the controller's own clock from the last time it saw the node's
//   Lease renewed or its Ready heartbeat change; never from a renewTime written before an
//   outage of the control plane.
// - A node silent for the grace period becomes Ready=Unknown; its pods are marked not
//   ready. NoSchedule taints (unreachable / not-ready) follow the Ready condition at once.
// - NoExecute taints, which make the taint manager evict pods once their toleration runs
//   out, go through a per-zone rate-limited queue whose rate depends on the zone's
//   disruption state (node-lifecycle/zones.ts). When every zone is fully disrupted — all
//   nodes not Ready, as when the server itself was cut off — NoExecute taints are removed
//   and nothing is evicted until some node is Ready again. A single-node cluster
//   therefore never evicts its only node's pods.
// - Pods whose toleration ran out are evicted and, since a dead node cannot confirm,
//   removed from the API so their controllers replace them elsewhere.
import type { Counter, Gauge } from 'prom-client';
import type { KubeObject } from '../../proto/meta.js';
import {
  TAINT_NOT_READY,
  TAINT_UNREACHABLE,
  toleratesTaint,
  type Taint,
  type Toleration,
} from '../../proto/api/taints.js';
import { ApiError } from '../api/errors.js';
import { rfc3339 } from '../api/storage.js';
import type { ControllerContext } from './context.js';
import {
  DEFAULT_DISRUPTION,
  LABEL_EXCLUDE_DISRUPTION,
  ZoneRateLimiter,
  computeZoneState,
  zoneEvictionRate,
  zoneKey,
  zoneLabel,
  type DisruptionOptions,
  type ZoneState,
} from './node-lifecycle/zones.js';
import type { Controller } from './types.js';

const LIFECYCLE_TAINTS = new Set([TAINT_UNREACHABLE, TAINT_NOT_READY]);

export interface NodeLifecycleOptions extends DisruptionOptions {
  /** heartbeats may stop this long before the node is Unknown (--node-grace-period) */
  gracePeriodMs: number;
  monitorPeriodMs: number;
  metrics?: NodeLifecycleMetrics;
}

/** kube-controller-manager's node_collector_* metrics, fed by this controller */
export interface NodeLifecycleMetrics {
  /** percentage of Ready nodes per zone */
  zoneHealth: Gauge<'zone'>;
  zoneSize: Gauge<'zone'>;
  unhealthyNodes: Gauge<'zone'>;
  /** nodes NoExecute-tainted (their pods then evicted) since start, per zone */
  evictions: Counter<'zone'>;
  /** 1 while every zone is fully disrupted (master disruption mode: no evictions) */
  fullDisruption: Gauge;
}

/** the lifecycle taint for a Ready status: unreachable (Unknown), not-ready (False), none (True, or no condition yet) */
export function lifecycleTaintKey(readyStatus: string | undefined): string | undefined {
  if (readyStatus === 'Unknown') return TAINT_UNREACHABLE;
  if (readyStatus === 'False') return TAINT_NOT_READY;
  return undefined;
}

/**
 * The node's taints with exactly `key` (or none) as its lifecycle taint of this effect;
 * a taint already there keeps its timeAdded, a new NoExecute one is stamped `now`.
 * Undefined when nothing changes.
 */
export function withLifecycleTaint(
  taints: Taint[] | undefined,
  effect: 'NoSchedule' | 'NoExecute',
  key: string | undefined,
  now: string,
): Taint[] | undefined {
  const have = taints ?? [];
  const isLife = (t: Taint) => t.effect === effect && LIFECYCLE_TAINTS.has(t.key);
  const life = have.filter(isLife);
  if (key ? life.length === 1 && life[0]!.key === key : life.length === 0) return undefined;
  const out = have.filter((t) => !isLife(t) || t.key === key);
  if (key && !out.some((t) => isLife(t)))
    out.push(effect === 'NoExecute' ? { key, effect, timeAdded: now } : { key, effect });
  return out;
}

/**
 * When the taint manager evicts a pod from a node with these NoExecute taints:
 * `now` (an untolerated taint), a time (the shortest tolerationSeconds), or never.
 */
export function evictionTime(
  tolerations: Toleration[] | undefined,
  taints: Taint[],
  nowMs: number,
): number | undefined {
  let at: number | undefined;
  let never = true;
  for (const taint of taints) {
    if (taint.effect !== 'NoExecute') continue;
    never = false;
    const matching = (tolerations ?? []).filter((t) => toleratesTaint(t, taint));
    if (!matching.length) return nowMs;
    if (matching.some((t) => t.tolerationSeconds === undefined || t.tolerationSeconds === null)) continue;
    const secs = Math.min(...matching.map((t) => Math.max(0, t.tolerationSeconds!)));
    const added = taint.timeAdded ? Date.parse(taint.timeAdded) : nowMs;
    const when = added + secs * 1000;
    at = at === undefined ? when : Math.min(at, when);
  }
  return never ? undefined : at;
}

function readyCondition(node: KubeObject): { status?: string; lastHeartbeatTime?: string } | undefined {
  return (node.status?.conditions as { type: string; status?: string; lastHeartbeatTime?: string }[] | undefined)?.find(
    (c) => c.type === 'Ready',
  );
}

/** what this controller has seen of one node: when, by its own clock, and what it saw */
interface NodeHealth {
  probeMs: number;
  renewTime?: string;
  heartbeat?: string;
}

/** the controller, and how many monitor passes it has finished (tests wait on it) */
export interface NodeLifecycleController extends Controller {
  readonly passes: number;
}

export function create(ctx: ControllerContext, options: Partial<NodeLifecycleOptions> = {}): NodeLifecycleController {
  const given = Object.fromEntries(
    Object.entries(options).filter(([, v]) => v !== undefined),
  ) as Partial<NodeLifecycleOptions>;
  const o: NodeLifecycleOptions = { gracePeriodMs: 15_000, monitorPeriodMs: 1000, ...DEFAULT_DISRUPTION, ...given };
  const nodes = ctx.informers.get('', 'v1', 'nodes');
  const leases = ctx.informers.get('coordination.k8s.io', 'v1', 'leases');
  const pods = ctx.informers.get('', 'v1', 'pods');
  const nodeDef = ctx.def('', 'v1', 'nodes');
  const podDef = ctx.def('', 'v1', 'pods');
  const nowMs = () => ctx.now().getTime();
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let passes = 0;
  const health = new Map<string, NodeHealth>();
  const zoneStates = new Map<string, ZoneState>();
  /** per zone: nodes waiting for their NoExecute taint (FIFO) and the zone's rate */
  const tainters = new Map<string, { limiter: ZoneRateLimiter; queue: Set<string> }>();

  /**
   * When this controller last saw the node alive: now for a node it has not seen before
   * (so every node gets a fresh grace period when the controller starts), and now again
   * whenever its Lease renewTime or its Ready heartbeat changes.
   */
  function observe(node: KubeObject): number {
    const name = node.metadata.name!;
    const renewTime = leases.get('kube-node-lease', name)?.spec?.renewTime as string | undefined;
    const heartbeat = readyCondition(node)?.lastHeartbeatTime;
    const h = health.get(name);
    if (!h) {
      const fresh = { probeMs: nowMs(), renewTime, heartbeat };
      health.set(name, fresh);
      return fresh.probeMs;
    }
    if ((renewTime && renewTime !== h.renewTime) || (heartbeat && heartbeat !== h.heartbeat)) h.probeMs = nowMs();
    h.renewTime = renewTime ?? h.renewTime;
    h.heartbeat = heartbeat ?? h.heartbeat;
    return h.probeMs;
  }

  function tainter(zone: string): { limiter: ZoneRateLimiter; queue: Set<string> } {
    let t = tainters.get(zone);
    if (!t) {
      t = { limiter: new ZoneRateLimiter(o.nodeEvictionRate, nowMs), queue: new Set() };
      tainters.set(zone, t);
      zoneStates.set(zone, 'Initial');
    }
    return t;
  }

  async function markUnknown(node: KubeObject): Promise<void> {
    const now = rfc3339(ctx.now());
    await ctx.storage.guaranteedUpdate(
      nodeDef,
      undefined,
      node.metadata.name!,
      {},
      (cur) => {
        const conds = cur.status?.conditions ?? [];
        for (const t of ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure']) {
          let c = conds.find((x) => x.type === t);
          if (!c) {
            c = { type: t, status: '' };
            conds.push(c);
          }
          if (c.status !== 'Unknown') c.lastTransitionTime = now;
          c.status = 'Unknown';
          c.reason = 'NodeStatusUnknown';
          c.message = 'Kubelet stopped posting node status.';
        }
        cur.status = { ...(cur.status ?? {}), conditions: conds };
        return cur;
      },
      'status',
    );
    await nodeEvent(
      node.metadata.name!,
      'Normal',
      'NodeNotReady',
      `Node ${node.metadata.name} status is now: NodeNotReady`,
    );
  }

  function nodeEvent(name: string, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    return ctx.event({
      involvedObject: { kind: 'Node', name, uid: name },
      type,
      reason,
      message,
      component: 'node-controller',
    });
  }

  /** give the node exactly `key` (or no) lifecycle taint of this effect */
  async function setLifecycleTaint(
    name: string,
    effect: 'NoSchedule' | 'NoExecute',
    key: string | undefined,
  ): Promise<boolean> {
    const cached = nodes.get(undefined, name);
    if (cached && !withLifecycleTaint(cached.spec?.taints, effect, key, '')) return false;
    let changed = false;
    await ctx.storage.guaranteedUpdate(nodeDef, undefined, name, {}, (cur) => {
      const taints = withLifecycleTaint(cur.spec?.taints, effect, key, rfc3339(ctx.now()));
      if (!taints) return cur;
      changed = true;
      cur.spec = { ...(cur.spec ?? {}) };
      if (taints.length) cur.spec.taints = taints;
      else delete cur.spec.taints;
      return cur;
    });
    return changed;
  }

  /** processTaintBaseEviction: NoExecute taints follow Ready through the zone's queue */
  async function queueNoExecute(node: KubeObject, key: string | undefined, zone: string): Promise<void> {
    const name = node.metadata.name!;
    const t = tainter(zone);
    if (!key) {
      // markNodeAsReachable: Ready again, no NoExecute taint and nothing queued
      t.queue.delete(name);
      await setLifecycleTaint(name, 'NoExecute', undefined);
      return;
    }
    const have = ((node.spec?.taints ?? []) as Taint[]).filter(
      (x) => x.effect === 'NoExecute' && LIFECYCLE_TAINTS.has(x.key),
    );
    // unreachable <-> not-ready swap at once; a first NoExecute taint waits for the zone's rate
    if (have.length && !have.some((x) => x.key === key)) await setLifecycleTaint(name, 'NoExecute', key);
    else if (!have.length) t.queue.add(name);
  }

  async function markPodsNotReady(nodeName: string): Promise<void> {
    for (const p of pods.list()) {
      if (p.spec?.nodeName !== nodeName) continue;
      const ready = p.status?.conditions?.find((c: { type: string }) => c.type === 'Ready');
      if (!ready || ready.status === 'False') continue;
      await ctx.storage
        .guaranteedUpdate(
          podDef,
          p.metadata.namespace,
          p.metadata.name!,
          {},
          (cur) => {
            const now = rfc3339(ctx.now());
            const conds = cur.status?.conditions ?? [];
            cur.status = {
              ...(cur.status ?? {}),
              conditions: conds.map((c) =>
                (c.type === 'Ready' || c.type === 'ContainersReady') && c.status !== 'False'
                  ? { ...c, status: 'False', lastTransitionTime: now, reason: 'NodeNotReady' }
                  : c,
              ),
            };
            return cur;
          },
          'status',
        )
        .catch(ignoreGone);
    }
  }

  /** the taint manager: pods whose toleration of the node's NoExecute taints ran out */
  async function evictPods(node: KubeObject): Promise<void> {
    const taints: Taint[] = node.spec?.taints ?? [];
    if (!taints.some((t) => t.effect === 'NoExecute')) return;
    const now = nowMs();
    const unreachable = readyCondition(node)?.status !== 'True';
    for (const p of pods.list()) {
      if (p.spec?.nodeName !== node.metadata.name) continue;
      const at = evictionTime(p.spec?.tolerations, taints, now);
      if (at === undefined || at > now) continue;
      const ref = `${p.metadata.namespace}/${p.metadata.name}`;
      if (!p.metadata.deletionTimestamp) {
        await ctx.event({
          involvedObject: {
            kind: 'Pod',
            apiVersion: 'v1',
            namespace: p.metadata.namespace,
            name: p.metadata.name!,
            uid: p.metadata.uid!,
          },
          type: 'Normal',
          reason: 'TaintManagerEviction',
          message: `Marking for deletion Pod ${ref}`,
          component: 'taint-eviction-controller',
        });
        ctx.log.info({ pod: ref, node: node.metadata.name }, 'evicting pod from tainted node');
      }
      // a node that does not answer cannot confirm the deletion: remove the pod now
      await ctx.storage
        .delete(podDef, p.metadata.namespace, p.metadata.name!, {
          gracePeriodSeconds: unreachable ? 0 : undefined,
          preconditions: { uid: p.metadata.uid },
        })
        .catch(ignoreGone);
    }
  }

  /** handleDisruption: zone states, their tainting rates, and master disruption mode */
  async function handleDisruption(zoneReady: Map<string, (string | undefined)[]>, names: string[]): Promise<void> {
    const m = o.metrics;
    const newStates = new Map<string, ZoneState>();
    let allAreFullyDisrupted = true;
    for (const [zone, statuses] of zoneReady) {
      const { unhealthy, state } = computeZoneState(statuses, o.unhealthyZoneThreshold);
      const label = { zone: zoneLabel(zone) };
      m?.zoneSize.set(label, statuses.length);
      m?.zoneHealth.set(label, statuses.length ? (100 * (statuses.length - unhealthy)) / statuses.length : 100);
      m?.unhealthyNodes.set(label, unhealthy);
      if (state !== 'FullDisruption') allAreFullyDisrupted = false;
      newStates.set(zone, state);
    }
    let allWasFullyDisrupted = true;
    for (const [zone, state] of [...zoneStates]) {
      if (!zoneReady.has(zone)) {
        zoneStates.delete(zone);
        tainters.delete(zone);
        m?.zoneSize.set({ zone: zoneLabel(zone) }, 0);
        m?.zoneHealth.set({ zone: zoneLabel(zone) }, 100);
        m?.unhealthyNodes.set({ zone: zoneLabel(zone) }, 0);
        continue;
      }
      if (state !== 'FullDisruption') allWasFullyDisrupted = false;
    }
    if (allAreFullyDisrupted && allWasFullyDisrupted) return;
    if (allAreFullyDisrupted) {
      ctx.log.warn(
        { nodes: names.length },
        'Controller detected that all Nodes are not-Ready. Entering master disruption mode',
      );
      for (const t of tainters.values()) {
        t.limiter.swap(0);
        t.queue.clear();
      }
      for (const zone of zoneStates.keys()) zoneStates.set(zone, 'FullDisruption');
      for (const name of names) {
        await setLifecycleTaint(name, 'NoExecute', undefined).catch((err) =>
          ctx.log.warn({ err, node: name }, 'could not remove taints from Node'),
        );
        await nodeEvent(
          name,
          'Warning',
          'FullDisruption',
          'All nodes are not Ready: the node controller assumes the control plane is cut off and evicts no pods (master disruption mode)',
        );
      }
      m?.fullDisruption.set(1);
      return;
    }
    if (allWasFullyDisrupted) {
      ctx.log.info('Controller detected that some Nodes are Ready. Exiting master disruption mode');
      m?.fullDisruption.set(0);
      // every node gets a fresh grace period, as at start-up
      const now = nowMs();
      for (const h of health.values()) h.probeMs = now;
      for (const zone of zoneStates.keys()) {
        const state = newStates.get(zone) ?? 'Normal';
        tainter(zone).limiter.swap(zoneEvictionRate(state, zoneReady.get(zone)?.length ?? 0, o));
        zoneStates.set(zone, state);
      }
      for (const name of names)
        await nodeEvent(
          name,
          'Normal',
          'FullDisruptionEnded',
          'Some nodes are Ready again: evictions resume, every node with a fresh grace period',
        );
      return;
    }
    for (const [zone, state] of zoneStates) {
      const next = newStates.get(zone);
      if (!next || next === state) continue;
      ctx.log.info({ zone: zoneLabel(zone), state: next }, 'Controller detected that zone is now in new state');
      tainter(zone).limiter.swap(zoneEvictionRate(next, zoneReady.get(zone)?.length ?? 0, o));
      zoneStates.set(zone, next);
    }
  }

  /** doNoExecuteTaintingPass: queued nodes get their NoExecute taint as each zone's rate allows */
  async function taintingPass(readyNow: Map<string, string | undefined>): Promise<void> {
    for (const [zone, t] of tainters) {
      for (const name of [...t.queue]) {
        const key = readyNow.has(name) ? lifecycleTaintKey(readyNow.get(name)) : undefined;
        if (!key) {
          t.queue.delete(name);
          continue;
        }
        if (!t.limiter.tryAccept()) break;
        try {
          await setLifecycleTaint(name, 'NoExecute', key);
          t.queue.delete(name);
          o.metrics?.evictions.inc({ zone: zoneLabel(zone) });
        } catch (err) {
          if (err instanceof ApiError && err.code === 404) t.queue.delete(name);
          else ctx.log.warn({ err, node: name }, 'cannot taint node');
        }
      }
    }
  }

  async function tick(): Promise<void> {
    if (running) return;
    running = true;
    try {
      const list = nodes.list();
      const names = list.map((n) => n.metadata.name!);
      for (const name of [...health.keys()]) if (!names.includes(name)) health.delete(name);
      const zoneReady = new Map<string, (string | undefined)[]>();
      const readyNow = new Map<string, string | undefined>();
      for (const node of list) {
        const name = node.metadata.name!;
        try {
          const zone = zoneKey(node.metadata.labels);
          tainter(zone);
          const stale = nowMs() - observe(node) > o.gracePeriodMs;
          let ready = readyCondition(node)?.status;
          if (stale && ready !== 'Unknown') {
            await markUnknown(node);
            ready = 'Unknown';
          }
          readyNow.set(name, ready);
          if (!zoneReady.has(zone)) zoneReady.set(zone, []);
          if (node.metadata.labels?.[LABEL_EXCLUDE_DISRUPTION] === undefined) zoneReady.get(zone)!.push(ready);
          if (stale) await markPodsNotReady(name);
          const key = lifecycleTaintKey(ready);
          await setLifecycleTaint(name, 'NoSchedule', key);
          await queueNoExecute(nodes.get(undefined, name) ?? node, key, zone);
        } catch (err) {
          if (!(err instanceof ApiError && err.code === 404))
            ctx.log.warn({ err, node: name }, 'node lifecycle sync failed');
        }
      }
      for (const t of tainters.values()) for (const n of t.queue) if (!readyNow.has(n)) t.queue.delete(n);
      await handleDisruption(zoneReady, names);
      await taintingPass(readyNow);
      for (const node of nodes.list()) {
        try {
          await evictPods(node);
        } catch (err) {
          ctx.log.warn({ err, node: node.metadata.name }, 'taint eviction failed');
        }
      }
    } catch (err) {
      ctx.log.warn({ err }, 'node lifecycle pass failed');
    } finally {
      running = false;
      passes++;
    }
  }

  return {
    name: 'node-lifecycle-controller',
    get passes() {
      return passes;
    },
    async start() {
      timer = setInterval(() => void tick(), o.monitorPeriodMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}

function ignoreGone(err: unknown): void {
  if (err instanceof ApiError && (err.code === 404 || err.code === 409)) return;
  throw err;
}
