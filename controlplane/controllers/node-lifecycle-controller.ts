// Node lifecycle (kube-controller-manager's nodelifecycle + taint manager, tuned for a
// small cluster): a node whose Lease is not renewed for the grace period becomes
// Ready=Unknown with the unreachable NoExecute/NoSchedule taints (not-ready when its
// agent reports Ready=False); pods there are marked not ready, and once their
// toleration runs out they are evicted — and, since a dead node cannot confirm,
// removed from the API so their controllers replace them elsewhere.
import type { KubeObject } from '../../proto/meta.js';
import { ApiError } from '../api/errors.js';
import { rfc3339 } from '../api/storage.js';
import type { ControllerContext } from './context.js';
import type { Controller } from './types.js';

export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
const LIFECYCLE_TAINTS = new Set([TAINT_UNREACHABLE, TAINT_NOT_READY]);

export interface NodeLifecycleOptions {
  /** heartbeats may stop this long before the node is Unknown */
  gracePeriodMs: number;
  monitorPeriodMs: number;
}

interface Taint { key: string; value?: string; effect: string; timeAdded?: string }
interface Toleration { key?: string; operator?: string; value?: string; effect?: string; tolerationSeconds?: number }

/** the lifecycle taints a node should carry, given its Ready condition */
export function desiredLifecycleTaints(readyStatus: string | undefined): { key: string; effect: string }[] {
  if (readyStatus === 'Unknown') return [{ key: TAINT_UNREACHABLE, effect: 'NoExecute' }, { key: TAINT_UNREACHABLE, effect: 'NoSchedule' }];
  if (readyStatus === 'False') return [{ key: TAINT_NOT_READY, effect: 'NoExecute' }, { key: TAINT_NOT_READY, effect: 'NoSchedule' }];
  return [];
}

function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.operator === 'Exists') return !t.key || t.key === taint.key;
  return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
}

/**
 * When the taint manager evicts a pod from a node with these NoExecute taints:
 * `now` (an untolerated taint), a time (the shortest tolerationSeconds), or never.
 */
export function evictionTime(tolerations: Toleration[] | undefined, taints: Taint[], nowMs: number): number | undefined {
  let at: number | undefined = undefined;
  let never = true;
  for (const taint of taints) {
    if (taint.effect !== 'NoExecute') continue;
    never = false;
    const matching = (tolerations ?? []).filter((t) => tolerates(t, taint));
    if (!matching.length) return nowMs;
    if (matching.some((t) => t.tolerationSeconds === undefined || t.tolerationSeconds === null)) continue;
    const secs = Math.min(...matching.map((t) => Math.max(0, t.tolerationSeconds!)));
    const added = taint.timeAdded ? Date.parse(taint.timeAdded) : nowMs;
    const when = added + secs * 1000;
    at = at === undefined ? when : Math.min(at, when);
  }
  return never ? undefined : at;
}

export function create(ctx: ControllerContext, opts: NodeLifecycleOptions = { gracePeriodMs: 15_000, monitorPeriodMs: 1000 }): Controller {
  const nodes = ctx.informers.get('', 'v1', 'nodes');
  const leases = ctx.informers.get('coordination.k8s.io', 'v1', 'leases');
  const pods = ctx.informers.get('', 'v1', 'pods');
  const nodeDef = ctx.def('', 'v1', 'nodes');
  const podDef = ctx.def('', 'v1', 'pods');
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  const firstSeen = new Map<string, number>();

  const lastHeartbeat = (node: KubeObject): number => {
    const lease = leases.get('kube-node-lease', node.metadata.name!);
    const renew = lease?.spec?.renewTime ? Date.parse(lease.spec.renewTime) : NaN;
    if (!Number.isNaN(renew)) return renew;
    const hb = node.status?.conditions?.find((c: { type: string }) => c.type === 'Ready')?.lastHeartbeatTime;
    if (hb) return Date.parse(hb);
    // never heard from: count from when we first saw it
    if (!firstSeen.has(node.metadata.name!)) firstSeen.set(node.metadata.name!, ctx.now().getTime());
    return firstSeen.get(node.metadata.name!)!;
  };

  async function markUnknown(node: KubeObject): Promise<void> {
    const now = rfc3339(ctx.now());
    await ctx.storage.guaranteedUpdate(nodeDef, undefined, node.metadata.name!, {}, (cur) => {
      const conds = (cur.status?.conditions ?? []) as any[];
      for (const t of ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure']) {
        let c = conds.find((x) => x.type === t);
        if (!c) { c = { type: t }; conds.push(c); }
        if (c.status !== 'Unknown') c.lastTransitionTime = now;
        c.status = 'Unknown';
        c.reason = 'NodeStatusUnknown';
        c.message = 'Kubelet stopped posting node status.';
      }
      cur.status = { ...(cur.status ?? {}), conditions: conds };
      return cur;
    }, 'status');
    await ctx.event({ involvedObject: { kind: 'Node', name: node.metadata.name!, uid: node.metadata.name! }, type: 'Normal', reason: 'NodeNotReady', message: `Node ${node.metadata.name} status is now: NodeNotReady`, component: 'node-controller' });
  }

  async function syncTaints(node: KubeObject): Promise<void> {
    const ready = node.status?.conditions?.find((c: { type: string }) => c.type === 'Ready')?.status;
    const want = desiredLifecycleTaints(ready);
    const have: Taint[] = node.spec?.taints ?? [];
    const haveLife = have.filter((t) => LIFECYCLE_TAINTS.has(t.key));
    const same = want.length === haveLife.length && want.every((w) => haveLife.some((h) => h.key === w.key && h.effect === w.effect));
    if (same) return;
    const now = rfc3339(ctx.now());
    await ctx.storage.guaranteedUpdate(nodeDef, undefined, node.metadata.name!, {}, (cur) => {
      const others = (cur.spec?.taints ?? []).filter((t: Taint) => !LIFECYCLE_TAINTS.has(t.key));
      const kept = (cur.spec?.taints ?? []).filter((t: Taint) => want.some((w) => w.key === t.key && w.effect === t.effect));
      const added = want.filter((w) => !kept.some((k: Taint) => k.key === w.key && k.effect === w.effect)).map((w) => ({ ...w, timeAdded: now }));
      const taints = [...others, ...kept, ...added];
      cur.spec = { ...(cur.spec ?? {}) };
      if (taints.length) cur.spec.taints = taints; else delete cur.spec.taints;
      return cur;
    });
  }

  async function markPodsNotReady(nodeName: string): Promise<void> {
    for (const p of pods.list()) {
      if (p.spec?.nodeName !== nodeName) continue;
      const ready = p.status?.conditions?.find((c: { type: string }) => c.type === 'Ready');
      if (!ready || ready.status === 'False') continue;
      await ctx.storage.guaranteedUpdate(podDef, p.metadata.namespace, p.metadata.name!, {}, (cur) => {
        const now = rfc3339(ctx.now());
        cur.status = { ...(cur.status ?? {}), conditions: (cur.status?.conditions ?? []).map((c: any) => (c.type === 'Ready' || c.type === 'ContainersReady') && c.status !== 'False' ? { ...c, status: 'False', lastTransitionTime: now, reason: 'NodeNotReady' } : c) };
        return cur;
      }, 'status').catch(ignoreGone);
    }
  }

  async function evictPods(node: KubeObject): Promise<void> {
    const taints: Taint[] = node.spec?.taints ?? [];
    if (!taints.some((t) => t.effect === 'NoExecute')) return;
    const nowMs = ctx.now().getTime();
    const unreachable = node.status?.conditions?.find((c: { type: string }) => c.type === 'Ready')?.status !== 'True';
    for (const p of pods.list()) {
      if (p.spec?.nodeName !== node.metadata.name) continue;
      const at = evictionTime(p.spec?.tolerations, taints, nowMs);
      if (at === undefined || at > nowMs) continue;
      const ref = `${p.metadata.namespace}/${p.metadata.name}`;
      if (!p.metadata.deletionTimestamp) {
        await ctx.event({ involvedObject: { kind: 'Pod', apiVersion: 'v1', namespace: p.metadata.namespace, name: p.metadata.name!, uid: p.metadata.uid! }, type: 'Normal', reason: 'TaintManagerEviction', message: `Marking for deletion Pod ${ref}`, component: 'taint-eviction-controller' });
        ctx.log.info({ pod: ref, node: node.metadata.name }, 'evicting pod from tainted node');
      }
      // a node that does not answer cannot confirm the deletion: remove the pod now
      await ctx.storage.delete(podDef, p.metadata.namespace, p.metadata.name!, { gracePeriodSeconds: unreachable ? 0 : undefined, preconditions: { uid: p.metadata.uid } }).catch(ignoreGone);
    }
  }

  async function tick(): Promise<void> {
    if (running) return;
    running = true;
    try {
      const now = ctx.now().getTime();
      for (const node of nodes.list()) {
        try {
          const ready = node.status?.conditions?.find((c: { type: string }) => c.type === 'Ready');
          const stale = now - lastHeartbeat(node) > opts.gracePeriodMs;
          if (stale && ready?.status !== 'Unknown') await markUnknown(node);
          const fresh = nodes.get(undefined, node.metadata.name!) ?? node;
          await syncTaints(fresh);
          if (stale) await markPodsNotReady(node.metadata.name!);
          await evictPods(nodes.get(undefined, node.metadata.name!) ?? fresh);
        } catch (err) {
          if (!(err instanceof ApiError && err.code === 404)) ctx.log.warn({ err, node: node.metadata.name }, 'node lifecycle sync failed');
        }
      }
    } finally {
      running = false;
    }
  }

  return {
    name: 'node-lifecycle-controller',
    async start() {
      timer = setInterval(() => void tick(), opts.monitorPeriodMs);
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
