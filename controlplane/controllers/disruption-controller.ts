// The disruption controller (pkg/controller/disruption/disruption.go): keeps every
// PodDisruptionBudget's status current so the eviction subresource can decide.
//   expectedPods    with maxUnavailable or a percentage minAvailable: the sum of the scale
//                   (spec.replicas) of the pods' controllers — a ReplicaSet's owning
//                   Deployment, else the ReplicaSet, a ReplicationController or a
//                   StatefulSet — plus one for every
//                   selected pod that has no controller; with an integer minAvailable:
//                   the number of selected pods
//   desiredHealthy  minAvailable (a percentage of expectedPods, rounded up), or
//                   expectedPods - maxUnavailable (a percentage rounded up), at least 0
//   currentHealthy  selected pods that are Ready, not being deleted, and not recently
//                   evicted (status.disruptedPods, written by the eviction handler,
//                   entries dropped once the pod is going or after 2 minutes)
//   disruptionsAllowed = max(0, currentHealthy - desiredHealthy), 0 while expectedPods is 0
// plus observedGeneration and the DisruptionAllowed condition (SufficientPods /
// InsufficientPods; SyncFailed with disruptionsAllowed 0 when the count cannot be made).
// The status is computed inside the storage compare-and-swap from the current PDB, so
// it never overwrites a decrement an eviction made in the meantime.
//
// It also records NodeNotSchedulable/NodeSchedulable events when a node is cordoned or
// uncordoned (kubelet records these upstream; skiff's agent does not), so that
// `kubectl describe node` shows the drain's cordon.
import type { KubeObject, OwnerReference } from '../../proto/meta.js';
import { controllerRefOf } from '../../proto/api/owner.js';
import { deepEqual } from '../../proto/canonical.js';
import { isPodReady } from '../../proto/api/pod.js';
import { ApiError } from '../api/errors.js';
import { updateDisruptionAllowedCondition } from '../api/eviction-admission.js';
import { setStatusCondition } from '../../proto/api/conditions.js';
import type { PodDisruptionBudgetStatus } from '../../proto/api/types.gen.js';
import { selectorMatches } from '../resources/label-selector.js';
import type { ControllerContext, DefOf } from './context.js';
import { keyOf, splitKey, type Informer } from './informer.js';
import type { Controller } from './types.js';
import { WorkQueue } from './work-queue.js';

/** how long an evicted pod may take to show a deletionTimestamp before it counts again */
export const DELETION_TIMEOUT_MS = 2 * 60_000;
const COMPONENT = 'controllermanager';
const PERCENT = /^[0-9]+%$/;

/** intstr.GetScaledValueFromIntOrPercent */
export function scaledValue(v: unknown, total: number, roundUp: boolean): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && PERCENT.test(v)) {
    const x = (Number(v.slice(0, -1)) * total) / 100;
    return roundUp ? Math.ceil(x) : Math.floor(x);
  }
  throw new Error(`invalid value for IntOrString: invalid value ${JSON.stringify(v)}`);
}

/** A controller's identity and scale, or undefined when it is not (or no longer) there. */
export type ScaleFinder = (ref: OwnerReference, namespace: string) => { uid: string; replicas: number } | undefined;

export interface PdbComputation {
  status: PodDisruptionBudgetStatus;
  /** when a disruptedPods entry expires and the PDB must be looked at again (ms since epoch) */
  recheckAt?: number;
  pods: number;
}

/** getExpectedScale: the sum of the controllers' scales, plus the pods no controller owns. */
function expectedScale(pods: KubeObject[], find: ScaleFinder): number {
  const scales = new Map<string, number>();
  let unmanaged = 0;
  for (const p of pods) {
    const ref = controllerRefOf(p);
    if (!ref) {
      unmanaged++;
      continue;
    }
    if (scales.has(ref.uid)) continue;
    const found = find(ref, p.metadata.namespace!);
    if (!found) throw new Error(`found no controllers for pod "${p.metadata.name}"`);
    scales.set(found.uid, found.replicas);
  }
  let sum = unmanaged;
  for (const n of scales.values()) sum += n;
  return sum;
}

/** The status a PDB should have over `pods` (those its selector matches) at `now`; throws when it cannot be computed. */
export function computePdbStatus(pdb: KubeObject, pods: KubeObject[], find: ScaleFinder, now: Date): PdbComputation {
  const spec = pdb.spec ?? {};
  let expected = 0;
  let desired = 0;
  if (spec.maxUnavailable !== undefined && spec.maxUnavailable !== null) {
    expected = expectedScale(pods, find);
    desired = Math.max(0, expected - scaledValue(spec.maxUnavailable, expected, true));
  } else if (spec.minAvailable !== undefined && spec.minAvailable !== null) {
    if (typeof spec.minAvailable === 'number') {
      desired = spec.minAvailable;
      expected = pods.length;
    } else {
      expected = expectedScale(pods, find);
      desired = scaledValue(spec.minAvailable, expected, true);
    }
  }

  // buildDisruptedPodMap: keep entries for pods still present, not yet going, and not timed out
  const t = now.getTime();
  const old: Record<string, string> = pdb.status?.disruptedPods ?? {};
  const disrupted: Record<string, string> = {};
  let recheckAt: number | undefined;
  for (const p of pods) {
    if (p.metadata.deletionTimestamp) continue;
    const at = old[p.metadata.name!];
    if (at === undefined) continue;
    const expires = Date.parse(at) + DELETION_TIMEOUT_MS;
    if (Number.isNaN(expires) || expires < t) continue;
    disrupted[p.metadata.name!] = at;
    if (recheckAt === undefined || expires < recheckAt) recheckAt = expires;
  }

  let healthy = 0;
  for (const p of pods) {
    if (p.metadata.deletionTimestamp) continue;
    if (disrupted[p.metadata.name!] !== undefined) continue;
    if (isPodReady(p)) healthy++;
  }

  let allowed = healthy - desired;
  if (expected <= 0 || allowed <= 0) allowed = 0;
  const status: PodDisruptionBudgetStatus = {
    ...(Object.keys(disrupted).length ? { disruptedPods: disrupted } : {}),
    disruptionsAllowed: allowed,
    currentHealthy: healthy,
    desiredHealthy: desired,
    expectedPods: expected,
    observedGeneration: pdb.metadata.generation ?? 1,
    conditions: pdb.status?.conditions ?? [],
  };
  updateDisruptionAllowedCondition(status, now);
  return { status, recheckAt, pods: pods.length };
}

/** The pods a PDB selects (LabelSelectorAsSelector: nil selects nothing, {} everything). */
export function podsForPdb(pdb: KubeObject, pods: KubeObject[]): KubeObject[] {
  return pods.filter((p) => selectorMatches(pdb.spec?.selector, p.metadata.labels));
}

function groupOf(apiVersion: string | undefined): string {
  const v = apiVersion ?? '';
  return v.includes('/') ? v.slice(0, v.indexOf('/')) : '';
}

class DisruptionController implements Controller {
  readonly name = 'disruption-controller';
  private readonly queue = new WorkQueue();
  private readonly pdbDef: DefOf<'policy', 'poddisruptionbudgets'>;
  private pdbInf!: Informer<'PodDisruptionBudget'>;
  private podInf!: Informer<'Pod'>;
  private rsInf!: Informer<'ReplicaSet'>;
  private dInf!: Informer<'Deployment'>;
  private ssInf!: Informer<'StatefulSet'>;
  private rcInf!: Informer<'ReplicationController'>;

  constructor(private readonly ctx: ControllerContext) {
    this.pdbDef = ctx.def('policy', 'v1', 'poddisruptionbudgets');
  }

  async start(): Promise<void> {
    const inf = this.ctx.informers;
    this.pdbInf = inf.get('policy', 'v1', 'poddisruptionbudgets');
    this.podInf = inf.get('', 'v1', 'pods');
    this.rsInf = inf.get('apps', 'v1', 'replicasets');
    this.dInf = inf.get('apps', 'v1', 'deployments');
    this.ssInf = inf.get('apps', 'v1', 'statefulsets');
    this.rcInf = inf.get('', 'v1', 'replicationcontrollers');
    const enqueue = (o: KubeObject) => this.queue.add(keyOf(o));
    this.pdbInf.on({ add: enqueue, update: (_o, n) => enqueue(n), delete: enqueue });
    this.podInf.on({
      add: (p) => this.enqueueForPod(p),
      update: (o, n) => {
        this.enqueueForPod(n);
        if (!deepEqual(o.metadata.labels, n.metadata.labels)) this.enqueueForPod(o);
      },
      delete: (p) => this.enqueueForPod(p),
    });
    // a controller's scale is the denominator of percentages and maxUnavailable
    const scaleChanged = (o: KubeObject, n: KubeObject) => {
      if (o.spec?.replicas !== n.spec?.replicas) for (const pdb of this.pdbInf.list(n.metadata.namespace)) enqueue(pdb);
    };
    for (const i of [this.rsInf, this.dInf, this.ssInf, this.rcInf]) i.on({ update: scaleChanged });

    inf.get('', 'v1', 'nodes').on({
      update: (o, n) => {
        const was = o.spec?.unschedulable === true;
        const is = n.spec?.unschedulable === true;
        if (was === is) return;
        const name = n.metadata.name!;
        const reason = is ? 'NodeNotSchedulable' : 'NodeSchedulable';
        void this.ctx.event({
          involvedObject: { kind: 'Node', name, uid: name },
          type: 'Normal',
          reason,
          message: `Node ${name} status is now: ${reason}`,
          component: 'node-controller',
        });
      },
    });

    this.queue.run(
      (key) => this.sync(key),
      1,
      (key, err) => this.ctx.log.warn({ err, pdb: key }, 'syncing PodDisruptionBudget failed'),
    );
  }

  stop(): void {
    this.queue.stop();
  }

  private enqueueForPod(pod: KubeObject): void {
    for (const pdb of this.pdbInf.list(pod.metadata.namespace)) {
      if (selectorMatches(pdb.spec?.selector, pod.metadata.labels)) this.queue.add(keyOf(pdb));
    }
  }

  private readonly findScale: ScaleFinder = (ref, ns) => {
    const group = groupOf(ref.apiVersion);
    if (ref.kind === 'ReplicaSet' && (group === 'apps' || group === 'extensions')) {
      const rs = this.rsInf.get(ns, ref.name);
      if (!rs || rs.metadata.uid !== ref.uid) return undefined;
      const owner = controllerRefOf(rs);
      if (owner?.kind === 'Deployment') {
        const d = this.dInf.get(ns, owner.name);
        if (!d || d.metadata.uid !== owner.uid) return undefined;
        return { uid: d.metadata.uid!, replicas: d.spec?.replicas ?? 1 };
      }
      return { uid: rs.metadata.uid!, replicas: rs.spec?.replicas ?? 1 };
    }
    if (ref.kind === 'StatefulSet' && group === 'apps') {
      const ss = this.ssInf.get(ns, ref.name);
      if (!ss || ss.metadata.uid !== ref.uid) return undefined;
      return { uid: ss.metadata.uid!, replicas: ss.spec?.replicas ?? 1 };
    }
    // getPodReplicationController
    if (ref.kind === 'ReplicationController' && group === '') {
      const rc = this.rcInf.get(ns, ref.name);
      if (!rc || rc.metadata.uid !== ref.uid) return undefined;
      return { uid: rc.metadata.uid!, replicas: rc.spec?.replicas ?? 1 };
    }
    return undefined;
  };

  private async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    if (!this.pdbInf.get(namespace, name)) return;
    let result: PdbComputation | undefined;
    try {
      await this.ctx.storage.guaranteedUpdate(
        this.pdbDef,
        namespace,
        name,
        {},
        (cur) => {
          result = computePdbStatus(cur, podsForPdb(cur, this.podInf.list(namespace)), this.findScale, this.ctx.now());
          cur.status = result.status;
          return cur;
        },
        'status',
      );
    } catch (e) {
      if (e instanceof ApiError) {
        if (e.code === 404) return;
        throw e;
      }
      await this.failSafe(namespace!, name, e as Error);
      return;
    }
    const pdb = this.pdbInf.get(namespace, name);
    if (pdb && result && result.pods === 0) await this.event(pdb, 'Normal', 'NoPods', 'No matching pods found');
    if (result?.recheckAt !== undefined)
      this.queue.addAfter(key, Math.max(0, result.recheckAt - this.ctx.now().getTime()) + 50);
  }

  /** failSafe: when the status cannot be computed, allow no disruptions. */
  private async failSafe(namespace: string, name: string, err: Error): Promise<void> {
    const pdb = this.pdbInf.get(namespace, name);
    if (pdb)
      await this.event(
        pdb,
        'Warning',
        'CalculateExpectedPodCountFailed',
        `Failed to calculate the number of expected pods: ${err.message}`,
      );
    await this.ctx.storage
      .guaranteedUpdate(
        this.pdbDef,
        namespace,
        name,
        {},
        (cur) => {
          const st = { ...(cur.status ?? {}), disruptionsAllowed: 0 };
          st.conditions = setStatusCondition(
            Array.isArray(st.conditions) ? st.conditions : [],
            {
              type: 'DisruptionAllowed',
              status: 'False',
              reason: 'SyncFailed',
              message: err.message,
              observedGeneration: st.observedGeneration ?? 0,
            },
            this.ctx.now(),
          );
          cur.status = st as PodDisruptionBudgetStatus;
          return cur;
        },
        'status',
      )
      .catch((e) => {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
      });
  }

  private event(pdb: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    return this.ctx.event({
      involvedObject: {
        kind: 'PodDisruptionBudget',
        apiVersion: 'policy/v1',
        namespace: pdb.metadata.namespace,
        name: pdb.metadata.name!,
        uid: pdb.metadata.uid!,
      },
      type,
      reason,
      message,
      component: COMPONENT,
    });
  }
}

export function create(ctx: ControllerContext): Controller {
  return new DisruptionController(ctx);
}
