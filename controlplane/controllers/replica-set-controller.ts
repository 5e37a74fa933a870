// The ReplicaSet controller (pkg/controller/replicaset/replica_set.go): watches ReplicaSets
// and pods, claims matching pods (adopting orphans, releasing pods that stopped matching),
// creates or deletes pods until the active count equals spec.replicas, and writes status.
// Expectations keep it from acting twice on writes the cache has not shown yet.
// One implementation serves both kinds (replica-set/kind.ts): core/v1 ReplicationControllers
// run through it as pkg/controller/replication does through its conversion.
import type { KubeObject } from '../../proto/meta.js';
import { clone, deepEqual } from '../../proto/canonical.js';
import { controllerRefOf } from '../../proto/api/owner.js';
import { isPodReady } from '../../proto/api/pod.js';
import { matchLabels, type LabelRequirement } from '../../proto/selectors.js';
import { ApiError } from '../api/errors.js';
import type { ResourceDef } from '../resources/types.js';
import type { ControllerContext, DefOf } from './context.js';
import { keyOf, runWhenSynced, splitKey, type Informer } from './informer.js';
import type { Controller } from './types.js';
import { WorkQueue } from './work-queue.js';
import { planClaim } from './replica-set/claim.js';
import { ControllerExpectations } from './replica-set/expectations.js';
import { isPodActive, newControllerRef, podFromTemplate, podKey } from './replica-set/pods.js';
import { getPodsToDelete } from './replica-set/pods-to-delete.js';
import { REPLICA_SET, type ReplicaKind } from './replica-set/kind.js';
import { calculateReplicaSetStatus, replicaSetStatusUpdate } from './replica-set/status.js';
import { BURST_REPLICAS, SLOW_START_INITIAL_BATCH_SIZE, slowStartBatch } from './slow-start.js';

const RESYNC_MS = 30_000;

export { slowStartBatch };

function isNotFound(e: unknown): boolean {
  return e instanceof ApiError && e.code === 404;
}

export class ReplicaSetController implements Controller {
  readonly name: string;
  private readonly queue = new WorkQueue();
  readonly expectations = new ControllerExpectations();
  private readonly rsDef: ResourceDef;
  private readonly podDef: DefOf<'', 'pods'>;
  private rsInf!: Informer;
  private podInf!: Informer<'Pod'>;
  private loop?: { stop(): void };

  constructor(
    private readonly ctx: ControllerContext,
    private readonly kind: ReplicaKind = REPLICA_SET,
  ) {
    this.name = kind.controllerName;
    this.rsDef = ctx.def(kind.group, kind.version, kind.resource);
    this.podDef = ctx.def('', 'v1', 'pods');
  }

  async start(): Promise<void> {
    this.rsInf = this.ctx.informers.get(this.kind.group, this.kind.version, this.kind.resource);
    this.podInf = this.ctx.informers.get('', 'v1', 'pods');
    this.rsInf.on({
      add: (rs) => this.enqueue(rs),
      update: (_old, rs) => this.enqueue(rs),
      delete: (rs) => {
        this.expectations.delete(keyOf(rs));
        this.enqueue(rs);
      },
    });
    this.podInf.on({
      add: (p) => this.addPod(p),
      update: (o, p) => this.updatePod(o, p),
      delete: (p) => this.deletePod(p),
    });
    // WaitForCacheSync: never act on a half-listed cache (that would create pods twice)
    this.loop = runWhenSynced({
      informers: [this.rsInf, this.podInf],
      queue: this.queue,
      workers: 2,
      sync: (key) => this.syncReplicaSet(key),
      onError: (key, err) =>
        this.ctx.log.warn({ err, [this.kind.logKey]: key }, `${this.kind.logKey} sync failed; will retry`),
      resyncMs: RESYNC_MS,
      resync: () => this.rsInf.list(),
      enqueue: (rs) => this.enqueue(rs),
    });
  }

  stop(): void {
    this.loop?.stop();
    this.queue.stop();
  }

  private enqueue(rs: KubeObject): void {
    this.queue.add(keyOf(rs));
  }

  // ---------- pod events (addPod / updatePod / deletePod) ----------

  private resolveControllerRef(
    namespace: string | undefined,
    ref: { kind: string; name: string; uid: string },
  ): KubeObject | undefined {
    if (ref.kind !== this.kind.kind) return undefined;
    const rs = this.rsInf.get(namespace, ref.name);
    return rs && rs.metadata.uid === ref.uid ? rs : undefined;
  }

  /** ReplicaSets whose selector matches an orphan pod. */
  private replicaSetsForPod(pod: KubeObject): KubeObject[] {
    const out: KubeObject[] = [];
    for (const rs of this.rsInf.list(pod.metadata.namespace)) {
      const sel = this.kind.selector(rs);
      if (sel && sel.length > 0 && matchLabels(sel, pod.metadata.labels)) out.push(rs);
    }
    return out;
  }

  private addPod(pod: KubeObject): void {
    if (pod.metadata.deletionTimestamp) {
      // seen for the first time already being deleted (e.g. after a relist)
      this.deletePod(pod);
      return;
    }
    const ref = controllerRefOf(pod);
    if (ref) {
      const rs = this.resolveControllerRef(pod.metadata.namespace, ref);
      if (!rs) return;
      this.expectations.creationObserved(keyOf(rs));
      this.enqueue(rs);
      return;
    }
    for (const rs of this.replicaSetsForPod(pod)) this.enqueue(rs);
  }

  private updatePod(old: KubeObject, cur: KubeObject): void {
    if (cur.metadata.resourceVersion === old.metadata.resourceVersion) return;
    const labelsChanged = !deepEqual(cur.metadata.labels ?? {}, old.metadata.labels ?? {});
    if (cur.metadata.deletionTimestamp) {
      // graceful deletion: count it now, the final delete will not count again
      this.deletePod(cur);
      if (labelsChanged) this.deletePod(old);
      return;
    }
    const curRef = controllerRefOf(cur);
    const oldRef = controllerRefOf(old);
    const refChanged = !deepEqual(curRef ?? null, oldRef ?? null);
    if (refChanged && oldRef) {
      const rs = this.resolveControllerRef(old.metadata.namespace, oldRef);
      if (rs) this.enqueue(rs);
    }
    if (curRef) {
      const rs = this.resolveControllerRef(cur.metadata.namespace, curRef);
      if (!rs) return;
      this.enqueue(rs);
      // a pod that just became ready becomes available minReadySeconds later
      const minReady = Number(rs.spec?.minReadySeconds ?? 0);
      if (minReady > 0 && !isPodReady(old) && isPodReady(cur)) this.queue.addAfter(keyOf(rs), minReady * 1000 + 1000);
      return;
    }
    if (labelsChanged || refChanged) for (const rs of this.replicaSetsForPod(cur)) this.enqueue(rs);
  }

  private deletePod(pod: KubeObject): void {
    const ref = controllerRefOf(pod);
    if (!ref) return;
    const rs = this.resolveControllerRef(pod.metadata.namespace, ref);
    if (!rs) return;
    this.expectations.deletionObserved(keyOf(rs), podKey(pod));
    this.enqueue(rs);
  }

  // ---------- sync ----------

  async syncReplicaSet(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const cached = this.rsInf.get(namespace, name);
    if (!cached) {
      this.expectations.delete(key);
      return;
    }
    const rs = clone(cached);
    const needsSync = this.expectations.satisfied(key);
    const selector = this.kind.selector(rs);
    if (!selector) {
      this.ctx.log.warn({ [this.kind.logKey]: key }, `${this.kind.logKey} has an invalid selector; skipping`);
      return;
    }
    const active = this.podInf.list(namespace).filter(isPodActive);
    const pods = await this.claimPods(rs, selector, active);

    let manageError: Error | undefined;
    if (needsSync && !rs.metadata.deletionTimestamp) {
      try {
        await this.manageReplicas(key, pods, rs);
      } catch (e) {
        manageError = e instanceof Error ? e : new Error(String(e));
      }
    }
    const now = this.ctx.now();
    const next = replicaSetStatusUpdate(rs, calculateReplicaSetStatus(rs, pods, manageError, now));
    let status = rs.status ?? {};
    if (next) {
      try {
        const written = await this.ctx.storage.guaranteedUpdate(
          this.rsDef,
          namespace,
          name,
          {},
          (cur) => {
            if (cur.metadata.uid !== rs.metadata.uid)
              throw new ApiError(404, 'NotFound', `${this.kind.logKey} replaced`);
            cur.status = next;
            return cur;
          },
          'status',
        );
        status = written.status ?? {};
      } catch (e) {
        if (!isNotFound(e)) throw e;
        return;
      }
    }
    // Last line of defence against missed readiness events: look again once pods may be available.
    const minReady = Number(rs.spec?.minReadySeconds ?? 0);
    const replicas = Number(rs.spec?.replicas ?? 0);
    if (
      !manageError &&
      minReady > 0 &&
      (status.readyReplicas ?? 0) === replicas &&
      (status.availableReplicas ?? 0) !== replicas
    ) {
      this.queue.addAfter(key, minReady * 1000);
    }
    if (manageError) throw manageError;
  }

  /** ClaimPods: adopt matching orphans, release ours that stopped matching; returns the pods we own. */
  private async claimPods(rs: KubeObject, selector: LabelRequirement[], pods: KubeObject[]): Promise<KubeObject[]> {
    const plan = planClaim(rs, pods, (p) => matchLabels(selector, p.metadata.labels));
    const owned = [...plan.owned];
    let canAdopt: boolean | undefined;
    const ref = newControllerRef(rs, this.kind.apiVersion, this.kind.kind);
    for (const pod of plan.adopt) {
      // RecheckDeletionTimestamp: adopt only if the ReplicaSet is still there and not going away
      if (canAdopt === undefined) {
        const fresh = await this.ctx.storage.tryGet(this.rsDef, rs.metadata.namespace, rs.metadata.name!);
        canAdopt = !!fresh && fresh.metadata.uid === rs.metadata.uid && !fresh.metadata.deletionTimestamp;
      }
      if (!canAdopt) break;
      try {
        const adopted = await this.ctx.storage.guaranteedUpdate(
          this.podDef,
          pod.metadata.namespace,
          pod.metadata.name!,
          { fieldValidation: 'Ignore' },
          (cur) => {
            if (cur.metadata.uid !== pod.metadata.uid || cur.metadata.deletionTimestamp || controllerRefOf(cur))
              throw new ApiError(409, 'Conflict', 'pod changed');
            cur.metadata.ownerReferences = [...(cur.metadata.ownerReferences ?? []), { ...ref }];
            return cur;
          },
        );
        owned.push(adopted);
      } catch (e) {
        if (!(e instanceof ApiError && (e.code === 404 || e.code === 409))) throw e;
      }
    }
    for (const pod of plan.release) {
      try {
        await this.ctx.storage.guaranteedUpdate(
          this.podDef,
          pod.metadata.namespace,
          pod.metadata.name!,
          { fieldValidation: 'Ignore' },
          (cur) => {
            if (cur.metadata.uid !== pod.metadata.uid) throw new ApiError(404, 'NotFound', 'pod replaced');
            const refs = (cur.metadata.ownerReferences ?? []).filter((r) => r.uid !== rs.metadata.uid);
            if (refs.length) cur.metadata.ownerReferences = refs;
            else delete cur.metadata.ownerReferences;
            return cur;
          },
        );
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    return owned;
  }

  private async manageReplicas(key: string, pods: KubeObject[], rs: KubeObject): Promise<void> {
    const want = Number(rs.spec?.replicas ?? 0);
    const diff = pods.length - want;
    const ns = rs.metadata.namespace!;
    const involved = {
      kind: this.kind.kind,
      apiVersion: this.kind.apiVersion,
      namespace: ns,
      name: rs.metadata.name!,
      uid: rs.metadata.uid!,
    };
    if (diff < 0) {
      const n = Math.min(-diff, BURST_REPLICAS);
      this.expectations.expectCreations(key, n);
      const ref = newControllerRef(rs, this.kind.apiVersion, this.kind.kind);
      let refused = 0;
      const { ok, error } = await slowStartBatch(n, SLOW_START_INITIAL_BATCH_SIZE, async () => {
        // the cluster-wide creation rate (--controllers-qps/--controllers-burst)
        await this.ctx.createLimiter.wait();
        try {
          const pod = await this.ctx.storage.create(
            this.podDef,
            ns,
            podFromTemplate(rs.spec.template, rs.metadata.name!, ref),
            { fieldValidation: 'Ignore' },
          );
          void this.ctx.event({
            component: this.kind.component,
            involvedObject: involved,
            type: 'Normal',
            reason: 'SuccessfulCreate',
            message: `Created pod: ${pod.metadata.name}`,
          });
        } catch (e) {
          // a terminating namespace refuses every create: nothing to report
          if (e instanceof ApiError && e.code === 403 && /being terminated/.test(e.message)) {
            refused++;
            return;
          }
          void this.ctx.event({
            component: this.kind.component,
            involvedObject: involved,
            type: 'Warning',
            reason: 'FailedCreate',
            message: `Error creating: ${(e as Error).message}`,
          });
          throw e;
        }
      });
      // creations never attempted (or refused) will never be observed
      for (let i = ok - refused; i < n; i++) this.expectations.creationObserved(key);
      if (error) throw error;
      return;
    }
    if (diff > 0) {
      const n = Math.min(diff, BURST_REPLICAS);
      const victims = getPodsToDelete(pods, this.relatedPods(rs), n, this.ctx.now().getTime());
      this.expectations.expectDeletions(key, victims.map(podKey));
      const errors: Error[] = [];
      await Promise.all(
        victims.map(async (pod) => {
          try {
            await this.ctx.storage.delete(this.podDef, ns, pod.metadata.name!, {
              preconditions: { uid: pod.metadata.uid },
            });
            void this.ctx.event({
              component: this.kind.component,
              involvedObject: involved,
              type: 'Normal',
              reason: 'SuccessfulDelete',
              message: `Deleted pod: ${pod.metadata.name}`,
            });
          } catch (e) {
            this.expectations.deletionObserved(key, podKey(pod));
            if (isNotFound(e) || (e instanceof ApiError && e.code === 409)) return;
            void this.ctx.event({
              component: this.kind.component,
              involvedObject: involved,
              type: 'Warning',
              reason: 'FailedDelete',
              message: `Error deleting: ${(e as Error).message}`,
            });
            errors.push(e as Error);
          }
        }),
      );
      if (errors.length) throw errors[0];
    }
  }

  /** Active pods of this ReplicaSet and its siblings under the same controller (getIndirectlyRelatedPods). */
  private relatedPods(rs: KubeObject): KubeObject[] {
    const owner = controllerRefOf(rs);
    const siblings = new Set<string>([rs.metadata.uid!]);
    if (owner) {
      for (const other of this.rsInf.list(rs.metadata.namespace)) {
        if (controllerRefOf(other)?.uid === owner.uid) siblings.add(other.metadata.uid!);
      }
    }
    return this.podInf.list(rs.metadata.namespace).filter((p) => {
      const ref = controllerRefOf(p);
      return !!ref && siblings.has(ref.uid) && isPodActive(p);
    });
  }
}

export function create(ctx: ControllerContext): Controller {
  return new ReplicaSetController(ctx);
}
