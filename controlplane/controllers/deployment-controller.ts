// The Deployment controller (pkg/controller/deployment): owns ReplicaSets named
// `<deployment>-<pod-template-hash>`, one per distinct pod template. A sync claims the
// matching ReplicaSets, finds the new one (semantically equal template) or creates it, then
// does one rollout step (RollingUpdate within maxSurge/maxUnavailable, or Recreate), or just
// scales when only spec.replicas changed or the Deployment is paused, prunes old
// ReplicaSets beyond revisionHistoryLimit, and writes status and conditions.
// Decisions are pure functions under ./deployment/; this file reads the cache and writes.
import type { KubeObject } from '../../proto/meta.js';
import { controllerRefOf } from '../../proto/api/owner.js';
import { clone, deepEqual } from '../../proto/canonical.js';
import { labelSelectorFromObject, matchLabels, type LabelRequirement } from '../../proto/selectors.js';
import { ApiError, STALE_OBJECT, conflict } from '../api/errors.js';
import type { ControllerContext, DefOf } from './context.js';
import { keyOf, runWhenSynced, splitKey, type Informer } from './informer.js';
import type { Controller } from './types.js';
import { WorkQueue } from './work-queue.js';
import { planClaim } from './replica-set/claim.js';
import { newControllerRef } from './replica-set/pods.js';
import {
  REVISION_ANNOTATION,
  byRevision,
  desiredReplicasAnnotation,
  filterActive,
  findNewReplicaSet,
  findOldReplicaSets,
  maxRevision,
  replicasAnnotationsNeedUpdate,
  setNewReplicaSetAnnotations,
  setReplicasAnnotations,
} from './deployment/replica-sets.js';
import { maxSurge, newRSNewReplicas, replicasOf } from './deployment/rollout-math.js';
import {
  oldPodsRunning,
  planNewReplicaSetScale,
  planOldReplicaSetsScaleDown,
  planRecreateScaleDown,
  planScale,
} from './deployment/rolling.js';
import {
  REASON,
  applyPausedCondition,
  calculateStatus,
  deploymentComplete,
  getCondition,
  hasProgressDeadline,
  newCondition,
  rolloutStatus,
  setCondition,
  stuckRecheckDelay,
  type DeploymentStatus,
} from './deployment/status.js';
import { POD_TEMPLATE_HASH_LABEL, computeHash, equalIgnoreHash } from './deployment/template-hash.js';

const COMPONENT = 'deployment-controller';
const RESYNC_MS = 30_000;

/** overwrite `target` in place with `src`, so every list holding it sees the written version */
function refresh(target: KubeObject, src: KubeObject): void {
  for (const k of Object.keys(target)) delete target[k];
  Object.assign(target, clone(src));
}

function isCode(e: unknown, ...codes: number[]): boolean {
  return e instanceof ApiError && codes.includes(e.code);
}

class DeploymentController implements Controller {
  readonly name = 'deployment-controller';
  private readonly queue = new WorkQueue();
  private readonly dDef: DefOf<'apps', 'deployments'>;
  private readonly rsDef: DefOf<'apps', 'replicasets'>;
  private dInf!: Informer<'Deployment'>;
  private rsInf!: Informer<'ReplicaSet'>;
  private podInf!: Informer<'Pod'>;
  private loop?: { stop(): void };
  /** when each key's next progress-deadline check is due (one timer per key, not one per sync) */
  private deadlineChecks = new Map<string, number>();

  constructor(private readonly ctx: ControllerContext) {
    this.dDef = ctx.def('apps', 'v1', 'deployments');
    this.rsDef = ctx.def('apps', 'v1', 'replicasets');
  }

  async start(): Promise<void> {
    this.dInf = this.ctx.informers.get('apps', 'v1', 'deployments');
    this.rsInf = this.ctx.informers.get('apps', 'v1', 'replicasets');
    this.podInf = this.ctx.informers.get('', 'v1', 'pods');
    this.dInf.on({ add: (d) => this.enqueue(d), update: (_o, d) => this.enqueue(d), delete: (d) => this.enqueue(d) });
    this.rsInf.on({
      add: (rs) => this.addReplicaSet(rs),
      update: (o, rs) => this.updateReplicaSet(o, rs),
      delete: (rs) => this.deleteReplicaSet(rs),
    });
    this.podInf.on({ delete: (p) => this.deletePod(p) });
    this.loop = runWhenSynced({
      informers: [this.dInf, this.rsInf, this.podInf],
      queue: this.queue,
      workers: 2,
      sync: (key) => this.syncDeployment(key),
      onError: (key, err) => {
        const conflictOnly = isCode(err, 409);
        this.ctx.log[conflictOnly ? 'debug' : 'warn']({ err, deployment: key }, 'deployment sync failed; will retry');
      },
      resyncMs: RESYNC_MS,
      resync: () => this.dInf.list(),
      enqueue: (d) => this.enqueue(d),
    });
  }

  stop(): void {
    this.loop?.stop();
    this.queue.stop();
  }

  private enqueue(d: KubeObject): void {
    this.queue.add(keyOf(d));
  }

  // ---------- event handlers ----------

  private resolveDeployment(
    namespace: string | undefined,
    ref: { kind: string; name: string; uid: string },
  ): KubeObject | undefined {
    if (ref.kind !== 'Deployment') return undefined;
    const d = this.dInf.get(namespace, ref.name);
    return d && d.metadata.uid === ref.uid ? d : undefined;
  }

  /** Deployments whose selector matches an orphan ReplicaSet. */
  private deploymentsForReplicaSet(rs: KubeObject): KubeObject[] {
    return this.dInf.list(rs.metadata.namespace).filter((d) => {
      const sel = selectorOf(d);
      return !!sel && sel.length > 0 && matchLabels(sel, rs.metadata.labels);
    });
  }

  private addReplicaSet(rs: KubeObject): void {
    if (rs.metadata.deletionTimestamp) {
      this.deleteReplicaSet(rs);
      return;
    }
    const ref = controllerRefOf(rs);
    if (ref) {
      const d = this.resolveDeployment(rs.metadata.namespace, ref);
      if (d) this.enqueue(d);
      return;
    }
    for (const d of this.deploymentsForReplicaSet(rs)) this.enqueue(d);
  }

  private updateReplicaSet(old: KubeObject, cur: KubeObject): void {
    if (cur.metadata.resourceVersion === old.metadata.resourceVersion) return;
    const curRef = controllerRefOf(cur);
    const oldRef = controllerRefOf(old);
    const refChanged = !deepEqual(curRef ?? null, oldRef ?? null);
    if (refChanged && oldRef) {
      const d = this.resolveDeployment(old.metadata.namespace, oldRef);
      if (d) this.enqueue(d);
    }
    if (curRef) {
      const d = this.resolveDeployment(cur.metadata.namespace, curRef);
      if (d) this.enqueue(d);
      return;
    }
    if (refChanged || !deepEqual(cur.metadata.labels ?? {}, old.metadata.labels ?? {})) {
      for (const d of this.deploymentsForReplicaSet(cur)) this.enqueue(d);
    }
  }

  private deleteReplicaSet(rs: KubeObject): void {
    const ref = controllerRefOf(rs);
    if (!ref) return;
    const d = this.resolveDeployment(rs.metadata.namespace, ref);
    if (d) this.enqueue(d);
  }

  /** Recreate waits for the old pods to be gone: look again when one goes. */
  private deletePod(pod: KubeObject): void {
    const ref = controllerRefOf(pod);
    if (!ref || ref.kind !== 'ReplicaSet') return;
    const rs = this.rsInf.get(pod.metadata.namespace, ref.name);
    if (!rs || rs.metadata.uid !== ref.uid) return;
    const dref = controllerRefOf(rs);
    const d = dref && this.resolveDeployment(rs.metadata.namespace, dref);
    if (d && d.spec?.strategy?.type === 'Recreate') this.enqueue(d);
  }

  // ---------- writes ----------

  private involved(d: KubeObject) {
    return {
      kind: 'Deployment',
      apiVersion: 'apps/v1',
      namespace: d.metadata.namespace,
      name: d.metadata.name!,
      uid: d.metadata.uid!,
    };
  }

  private event(d: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    void this.ctx.event({ component: COMPONENT, involvedObject: this.involved(d), type, reason, message });
  }

  /** An Update of the Deployment as this sync saw it (resourceVersion precondition). */
  private async writeDeployment(d: KubeObject, subresource?: 'status'): Promise<void> {
    const written = await this.ctx.storage.guaranteedUpdate(
      this.dDef,
      d.metadata.namespace,
      d.metadata.name!,
      {},
      (cur) => {
        if (cur.metadata.uid !== d.metadata.uid || cur.metadata.resourceVersion !== d.metadata.resourceVersion) {
          throw conflict('deployments', d.metadata.name!, STALE_OBJECT, 'apps');
        }
        if (subresource) cur.status = clone(d.status);
        else cur.metadata.annotations = clone(d.metadata.annotations);
        return cur;
      },
      subresource,
    );
    d.metadata = written.metadata;
    d.status = written.status;
  }

  /** Update a ReplicaSet whose spec is still the one this sync saw (uid and generation preconditions). */
  private async updateReplicaSetObject(rs: KubeObject, mutate: (cur: KubeObject) => void): Promise<KubeObject> {
    const written = await this.ctx.storage.guaranteedUpdate(
      this.rsDef,
      rs.metadata.namespace,
      rs.metadata.name!,
      { fieldValidation: 'Ignore' },
      (cur) => {
        if (cur.metadata.uid !== rs.metadata.uid || cur.metadata.generation !== rs.metadata.generation) {
          throw conflict('replicasets', rs.metadata.name!, STALE_OBJECT, 'apps');
        }
        mutate(cur);
        return cur;
      },
    );
    refresh(rs, written);
    return rs;
  }

  /** scaleReplicaSet: size and desired/max-replicas annotations; the ScalingReplicaSet event. */
  private async scaleReplicaSet(rs: KubeObject, to: number, d: KubeObject): Promise<boolean> {
    const from = replicasOf(rs);
    const desired = replicasOf(d);
    const max = desired + maxSurge(d);
    const sizeChanges = from !== to;
    if (!sizeChanges && !replicasAnnotationsNeedUpdate(rs, desired, max)) return false;
    await this.updateReplicaSetObject(rs, (cur) => {
      cur.spec.replicas = to;
      setReplicasAnnotations(cur, desired, max);
    });
    if (sizeChanges)
      this.event(
        d,
        'Normal',
        'ScalingReplicaSet',
        `Scaled ${to > from ? 'up' : 'down'} replica set ${rs.metadata.name} from ${from} to ${to}`,
      );
    return sizeChanges;
  }

  private async scaleReplicaSetAndRecordEvent(rs: KubeObject, to: number, d: KubeObject): Promise<boolean> {
    if (replicasOf(rs) === to) return false;
    return this.scaleReplicaSet(rs, to, d);
  }

  // ---------- sync ----------

  async syncDeployment(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const cached = this.dInf.get(namespace, name);
    if (!cached) return;
    const d = clone(cached);
    const selector = selectorOf(d);
    if (!selector) {
      this.ctx.log.warn({ deployment: key }, 'deployment has an invalid selector; skipping');
      return;
    }
    if (selector.length === 0) {
      this.event(
        d,
        'Warning',
        'SelectingAll',
        'This deployment is selecting all pods. A non-empty selector is required.',
      );
      if (Number(d.status?.observedGeneration ?? 0) < Number(d.metadata.generation ?? 0)) {
        d.status = { ...(d.status ?? {}), observedGeneration: d.metadata.generation };
        await this.writeDeployment(d, 'status');
      }
      return;
    }

    const rsList = await this.getReplicaSetsForDeployment(d, selector);
    const podMap = this.getPodMapForDeployment(d, selector, rsList);

    if (d.metadata.deletionTimestamp) return this.syncStatusOnly(d, rsList);

    if (applyPausedCondition(d, this.ctx.now())) await this.writeDeployment(d, 'status');
    if (d.spec.paused) return this.sync(d, rsList);

    if (await this.isScalingEvent(d, rsList)) return this.sync(d, rsList);

    switch (d.spec.strategy?.type) {
      case 'Recreate':
        return this.rolloutRecreate(d, rsList, podMap);
      case 'RollingUpdate':
        return this.rolloutRolling(d, rsList);
      default:
        throw new Error(`unexpected deployment strategy type: ${d.spec.strategy?.type}`);
    }
  }

  /** ReplicaSets this Deployment controls, after adopting matching orphans and releasing non-matching ones. */
  private async getReplicaSetsForDeployment(d: KubeObject, selector: LabelRequirement[]): Promise<KubeObject[]> {
    const all = this.rsInf.list(d.metadata.namespace).map((rs) => clone(rs));
    const plan = planClaim(d, all, (rs) => matchLabels(selector, rs.metadata.labels));
    const owned = plan.owned;
    let canAdopt: boolean | undefined;
    const ref = newControllerRef(d, 'apps/v1', 'Deployment');
    for (const rs of plan.adopt) {
      if (canAdopt === undefined) {
        const fresh = await this.ctx.storage.tryGet(this.dDef, d.metadata.namespace, d.metadata.name!);
        canAdopt = !!fresh && fresh.metadata.uid === d.metadata.uid && !fresh.metadata.deletionTimestamp;
      }
      if (!canAdopt) break;
      try {
        const adopted = await this.ctx.storage.guaranteedUpdate(
          this.rsDef,
          rs.metadata.namespace,
          rs.metadata.name!,
          { fieldValidation: 'Ignore' },
          (cur) => {
            if (cur.metadata.uid !== rs.metadata.uid || cur.metadata.deletionTimestamp || controllerRefOf(cur))
              throw conflict('replicasets', rs.metadata.name!, STALE_OBJECT, 'apps');
            cur.metadata.ownerReferences = [...(cur.metadata.ownerReferences ?? []), { ...ref }];
            return cur;
          },
        );
        owned.push(clone(adopted));
      } catch (e) {
        if (!isCode(e, 404, 409)) throw e;
      }
    }
    for (const rs of plan.release) {
      try {
        await this.ctx.storage.guaranteedUpdate(
          this.rsDef,
          rs.metadata.namespace,
          rs.metadata.name!,
          { fieldValidation: 'Ignore' },
          (cur) => {
            if (cur.metadata.uid !== rs.metadata.uid)
              throw conflict('replicasets', rs.metadata.name!, STALE_OBJECT, 'apps');
            const refs = (cur.metadata.ownerReferences ?? []).filter((r) => r.uid !== d.metadata.uid);
            if (refs.length) cur.metadata.ownerReferences = refs;
            else delete cur.metadata.ownerReferences;
            return cur;
          },
        );
      } catch (e) {
        if (!isCode(e, 404, 409)) throw e;
      }
    }
    return owned;
  }

  /** Pods of this Deployment's ReplicaSets by RS uid, terminating ones included (Recreate waits for them). */
  private getPodMapForDeployment(
    d: KubeObject,
    selector: LabelRequirement[],
    rsList: KubeObject[],
  ): Map<string, KubeObject[]> {
    const map = new Map<string, KubeObject[]>(rsList.map((rs) => [rs.metadata.uid!, []]));
    for (const pod of this.podInf.list(d.metadata.namespace)) {
      if (!matchLabels(selector, pod.metadata.labels)) continue;
      const ref = controllerRefOf(pod);
      if (ref) map.get(ref.uid)?.push(pod);
    }
    return map;
  }

  /** The new RS (found, annotated, or created) and the old ones, with the Deployment's revision in step. */
  private async getAllReplicaSetsAndSyncRevision(
    d: KubeObject,
    rsList: KubeObject[],
    create: boolean,
  ): Promise<{ newRS?: KubeObject; oldRSs: KubeObject[] }> {
    const existing = findNewReplicaSet(d, rsList);
    const oldRSs = findOldReplicaSets(d, rsList, existing);
    const newRS = await this.getNewReplicaSet(d, rsList, oldRSs, existing, create);
    return { newRS, oldRSs };
  }

  private async getNewReplicaSet(
    d: KubeObject,
    rsList: KubeObject[],
    oldRSs: KubeObject[],
    existing: KubeObject | undefined,
    create: boolean,
  ): Promise<KubeObject | undefined> {
    const newRevision = maxRevision(oldRSs) + 1;
    const surge = maxSurge(d);
    const now = this.ctx.now();
    if (existing) {
      const probe = clone(existing);
      const annotationsChange = setNewReplicaSetAnnotations(d, probe, newRevision, true, surge);
      const minReady = Number(d.spec.minReadySeconds ?? 0);
      if (annotationsChange || Number(existing.spec?.minReadySeconds ?? 0) !== minReady) {
        await this.updateReplicaSetObject(existing, (cur) => {
          setNewReplicaSetAnnotations(d, cur, newRevision, true, surge);
          if (minReady) cur.spec.minReadySeconds = minReady;
          else delete cur.spec.minReadySeconds;
        });
      }
      const metaChange = this.setDeploymentRevision(d, existing.metadata.annotations?.[REVISION_ANNOTATION]);
      let statusChange = false;
      if (hasProgressDeadline(d) && !getCondition(d.status, 'Progressing')) {
        setCondition(
          (d.status ??= {}),
          newCondition(
            'Progressing',
            'True',
            REASON.FoundNewRS,
            `Found new replica set "${existing.metadata.name}"`,
            now,
          ),
        );
        statusChange = true;
      }
      if (metaChange) await this.writeDeployment(d);
      if (statusChange) await this.writeDeployment(d, 'status');
      return existing;
    }
    if (!create) return undefined;

    const template = clone(d.spec.template ?? {});
    const hash = computeHash(template, d.status?.collisionCount);
    template.metadata ??= {};
    template.metadata.labels = { ...(template.metadata.labels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
    const selector = clone(d.spec.selector ?? {});
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
    const rsName = `${d.metadata.name}-${hash}`;
    const rs: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: rsName,
        namespace: d.metadata.namespace,
        ownerReferences: [newControllerRef(d, 'apps/v1', 'Deployment')],
        labels: { ...template.metadata.labels },
      },
      spec: { replicas: 0, selector, template },
    };
    if (d.spec.minReadySeconds) rs.spec.minReadySeconds = d.spec.minReadySeconds;
    const replicas = newRSNewReplicas(d, [...oldRSs, rs], rs);
    rs.spec.replicas = replicas;
    setNewReplicaSetAnnotations(d, rs, newRevision, false, surge);

    let created: KubeObject;
    let alreadyExists = false;
    try {
      created = await this.ctx.storage.create(this.rsDef, d.metadata.namespace, rs, { fieldValidation: 'Ignore' });
    } catch (e) {
      if (e instanceof ApiError && e.reason === 'AlreadyExists') {
        // a slow cache, or a hash collision with a ReplicaSet that is not ours
        const found = await this.ctx.storage.tryGet(this.rsDef, d.metadata.namespace, rsName);
        if (
          found &&
          controllerRefOf(found)?.uid === d.metadata.uid &&
          equalIgnoreHash(d.spec.template, found.spec?.template)
        ) {
          created = found;
          alreadyExists = true;
        } else {
          d.status = { ...(d.status ?? {}), collisionCount: Number(d.status?.collisionCount ?? 0) + 1 };
          await this.writeDeployment(d, 'status');
          throw e;
        }
      } else if (e instanceof ApiError && e.code === 403 && /being terminated/.test(e.message)) {
        throw e;
      } else {
        const msg = `Failed to create new replica set "${rsName}": ${(e as Error).message}`;
        if (hasProgressDeadline(d)) {
          setCondition((d.status ??= {}), newCondition('Progressing', 'False', REASON.FailedRSCreate, msg, now));
          await this.writeDeployment(d, 'status').catch(() => undefined);
        }
        this.event(d, 'Warning', REASON.FailedRSCreate, msg);
        throw e;
      }
    }
    if (!alreadyExists && replicas > 0)
      this.event(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${rsName} from 0 to ${replicas}`);
    const metaChange = this.setDeploymentRevision(d, String(newRevision));
    let statusChange = false;
    if (!alreadyExists && hasProgressDeadline(d)) {
      setCondition(
        (d.status ??= {}),
        newCondition('Progressing', 'True', REASON.NewReplicaSet, `Created new replica set "${rsName}"`, now),
      );
      statusChange = true;
    }
    if (metaChange) await this.writeDeployment(d);
    if (statusChange) await this.writeDeployment(d, 'status');
    const out = clone(created);
    if (!rsList.some((x) => x.metadata.uid === out.metadata.uid)) rsList.push(out);
    return out;
  }

  private setDeploymentRevision(d: KubeObject, revision: string | undefined): boolean {
    if (revision === undefined) return false;
    const a = (d.metadata.annotations ??= {});
    if (a[REVISION_ANNOTATION] === revision) return false;
    a[REVISION_ANNOTATION] = revision;
    return true;
  }

  /** A replicas change outside a rollout: an active RS was sized for another spec.replicas. */
  private async isScalingEvent(d: KubeObject, rsList: KubeObject[]): Promise<boolean> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(d, rsList, false);
    for (const rs of filterActive([...oldRSs, newRS])) {
      const desired = desiredReplicasAnnotation(rs);
      if (desired !== undefined && desired !== replicasOf(d)) return true;
    }
    return false;
  }

  /** Scaling and paused Deployments: resize, no rollout step. */
  private async sync(d: KubeObject, rsList: KubeObject[]): Promise<void> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(d, rsList, false);
    for (const step of planScale(d, newRS, oldRSs)) {
      if (step.force) await this.scaleReplicaSet(step.rs, step.to, d);
      else await this.scaleReplicaSetAndRecordEvent(step.rs, step.to, d);
    }
    if (d.spec.paused) await this.cleanupDeployment(oldRSs, d);
    await this.syncDeploymentStatus(present([...oldRSs, newRS]), newRS, d);
  }

  private async syncStatusOnly(d: KubeObject, rsList: KubeObject[]): Promise<void> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(d, rsList, false);
    await this.syncDeploymentStatus(present([...oldRSs, newRS]), newRS, d);
  }

  private async rolloutRolling(d: KubeObject, rsList: KubeObject[]): Promise<void> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(d, rsList, true);
    if (!newRS) throw new Error('no new replica set');
    const allRSs = [...oldRSs, newRS];

    const next = planNewReplicaSetScale(d, allRSs, newRS);
    if (next !== undefined && (await this.scaleReplicaSetAndRecordEvent(newRS, next, d))) {
      return this.syncRolloutStatus(allRSs, newRS, d);
    }
    const steps = planOldReplicaSetsScaleDown(d, allRSs, filterActive(oldRSs), newRS);
    if (steps.length) {
      for (const s of steps) await this.scaleReplicaSetAndRecordEvent(s.rs, s.to, d);
      return this.syncRolloutStatus(allRSs, newRS, d);
    }
    if (deploymentComplete(d, (d.status ?? {}) as DeploymentStatus)) await this.cleanupDeployment(oldRSs, d);
    return this.syncRolloutStatus(allRSs, newRS, d);
  }

  private async rolloutRecreate(d: KubeObject, rsList: KubeObject[], podMap: Map<string, KubeObject[]>): Promise<void> {
    // no new RS yet: never scale up before the old pods are gone
    let { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(d, rsList, false);
    let allRSs = present([...oldRSs, newRS]);
    let scaledDown = false;
    for (const s of planRecreateScaleDown(oldRSs)) {
      if (await this.scaleReplicaSetAndRecordEvent(s.rs, s.to, d)) scaledDown = true;
    }
    if (scaledDown || oldPodsRunning(newRS, oldRSs, podMap)) return this.syncRolloutStatus(allRSs, newRS, d);
    if (!newRS) {
      ({ newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(d, rsList, true));
      allRSs = present([...oldRSs, newRS]);
    }
    if (newRS) await this.scaleReplicaSetAndRecordEvent(newRS, replicasOf(d), d);
    if (deploymentComplete(d, (d.status ?? {}) as DeploymentStatus)) await this.cleanupDeployment(oldRSs, d);
    return this.syncRolloutStatus(allRSs, newRS, d);
  }

  /** Delete the oldest fully scaled-down ReplicaSets beyond revisionHistoryLimit. */
  private async cleanupDeployment(oldRSs: KubeObject[], d: KubeObject): Promise<void> {
    const limit = d.spec.revisionHistoryLimit;
    if (typeof limit !== 'number') return;
    const alive = oldRSs.filter((rs) => !rs.metadata.deletionTimestamp);
    const diff = alive.length - limit;
    if (diff <= 0) return;
    alive.sort(byRevision);
    for (const rs of alive.slice(0, diff)) {
      if (Number(rs.status?.replicas ?? 0) !== 0 || replicasOf(rs) !== 0) continue;
      if (Number(rs.metadata.generation ?? 0) > Number(rs.status?.observedGeneration ?? 0)) continue;
      try {
        await this.ctx.storage.delete(this.rsDef, rs.metadata.namespace, rs.metadata.name!, {
          preconditions: { uid: rs.metadata.uid },
        });
      } catch (e) {
        if (!isCode(e, 404, 409)) throw e;
      }
    }
  }

  private async syncDeploymentStatus(
    allRSs: KubeObject[],
    newRS: KubeObject | undefined,
    d: KubeObject,
  ): Promise<void> {
    const st = calculateStatus(allRSs, newRS, d, this.ctx.now());
    if (deepEqual(d.status ?? {}, st)) return;
    d.status = st;
    await this.writeDeployment(d, 'status');
  }

  private checkDeadlineAfter(key: string, delay: number): void {
    if (delay === 0) {
      this.queue.addRateLimited(key);
      return;
    }
    const due = Date.now() + delay;
    const pending = this.deadlineChecks.get(key);
    if (pending !== undefined && pending > Date.now() && pending <= due) return;
    this.deadlineChecks.set(key, due);
    this.queue.addAfter(key, delay);
  }

  private async syncRolloutStatus(allRSs: KubeObject[], newRS: KubeObject | undefined, d: KubeObject): Promise<void> {
    const now = this.ctx.now();
    const st = rolloutStatus(allRSs, newRS, d, now);
    if (deepEqual(d.status ?? {}, st)) {
      // nothing new: make sure the progress deadline gets checked in time
      const delay = stuckRecheckDelay(d, st, now);
      if (delay !== undefined) this.checkDeadlineAfter(keyOf(d), delay);
      return;
    }
    d.status = st;
    await this.writeDeployment(d, 'status');
  }
}

function present(rss: Array<KubeObject | undefined>): KubeObject[] {
  return rss.filter((rs): rs is KubeObject => !!rs);
}

function selectorOf(o: KubeObject): LabelRequirement[] | null {
  try {
    return labelSelectorFromObject(o.spec?.selector);
  } catch {
    return null;
  }
}

export function create(ctx: ControllerContext): Controller {
  return new DeploymentController(ctx);
}
