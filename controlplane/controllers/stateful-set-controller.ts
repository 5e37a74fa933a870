// StatefulSet controller (pkg/controller/statefulset): pods with stable names
// `<set>-<ordinal>`, hostname/subdomain for the headless service, one PVC per
// volumeClaimTemplate and ordinal, ordered (OrderedReady) or Parallel management and
// RollingUpdate from the highest ordinal down to the partition. stateful-set/plan.ts
// decides, this file reads the caches, carries the plan out and writes the status.
//
// Revisions are ControllerRevisions as upstream keeps them (getStatefulSetRevisions,
// truncateHistory): the update revision holds the set's template, the current one the
// template pods below the partition are re-created from; pods carry the revision's name in
// `controller-revision-hash`; `kubectl rollout undo` patches an old revision's template back.
import type { KubeObject } from '../../proto/meta.js';
import { controllerRefOf } from '../../proto/api/owner.js';
import { ApiError } from '../api/errors.js';
import { selectorMatches } from '../resources/label-selector.js';
import type { ControllerContext } from './context.js';
import { keyOf, splitKey, type Informer } from './informer.js';
import type { Controller } from './types.js';
import { WorkQueue } from './work-queue.js';
import {
  POD_INDEX_LABEL,
  POD_NAME_LABEL,
  claimOwnerUpToDate,
  claimsForOrdinal,
  desiredClaimOwnerRefs,
  newStatefulSetPod,
  ordinalOf,
  revisionName,
  revisionOf,
  setControllerRef,
} from './stateful-set/identity.js';
import { planStatefulSet, type StatefulSetAction, type StatefulSetStatus } from './stateful-set/plan.js';
import { templateOfRevision } from './history/controller-history.js';
import { HistoryClient } from './history/history-client.js';
import { claimRevisions, planStatefulSetRevisions, statefulSetHistoryToDelete } from './history/plan.js';

const COMPONENT = 'statefulset-controller';

export function create(ctx: ControllerContext): Controller {
  return new StatefulSetController(ctx);
}

class StatefulSetController implements Controller {
  readonly name = 'stateful-set-controller';
  private readonly queue = new WorkQueue();
  private readonly setDef;
  private readonly podDef;
  private readonly claimDef;
  private sets!: Informer<'StatefulSet'>;
  private pods!: Informer<'Pod'>;
  private claims!: Informer<'PersistentVolumeClaim'>;
  private history!: HistoryClient;

  constructor(private readonly ctx: ControllerContext) {
    this.setDef = ctx.def('apps', 'v1', 'statefulsets');
    this.podDef = ctx.def('', 'v1', 'pods');
    this.claimDef = ctx.def('', 'v1', 'persistentvolumeclaims');
  }

  async start(): Promise<void> {
    this.sets = this.ctx.informers.get('apps', 'v1', 'statefulsets');
    this.pods = this.ctx.informers.get('', 'v1', 'pods');
    this.claims = this.ctx.informers.get('', 'v1', 'persistentvolumeclaims');
    this.history = new HistoryClient(this.ctx);
    this.sets.on({
      add: (s) => this.queue.add(keyOf(s)),
      update: (_o, s) => this.queue.add(keyOf(s)),
      delete: (s) => this.queue.add(keyOf(s)),
    });
    this.pods.on({
      add: (p) => this.podChanged(p),
      update: (o, p) => {
        this.podChanged(p);
        if (controllerRefOf(o)?.uid !== controllerRefOf(p)?.uid) this.podChanged(o);
      },
      delete: (p) => this.podChanged(p),
    });
    this.claims.on({
      update: (_o, c) => this.claimChanged(c),
      delete: (c) => this.claimChanged(c),
    });
    this.queue.run(
      (k) => this.syncStatefulSet(k),
      2,
      (key, err) => this.ctx.log.warn({ err, key, controller: COMPONENT }, 'sync failed'),
    );
  }

  stop(): void {
    this.queue.stop();
  }

  private podChanged(p: KubeObject): void {
    const ns = p.metadata.namespace!;
    const ref = controllerRefOf(p);
    if (ref) {
      if (ref.kind === 'StatefulSet' && ref.apiVersion.startsWith('apps/')) this.queue.add(`${ns}/${ref.name}`);
      return;
    }
    // An orphan: every set whose selector matches may adopt it.
    if (p.metadata.deletionTimestamp) return;
    for (const s of this.sets.list(ns))
      if (selectorMatches(s.spec?.selector, p.metadata.labels)) this.queue.add(keyOf(s));
  }

  /** A claim our pod is waiting on changed (e.g. a stale claim went away). */
  private claimChanged(c: KubeObject): void {
    const ns = c.metadata.namespace!;
    const name = c.metadata.name ?? '';
    for (const s of this.sets.list(ns)) {
      const ours = (s.spec?.volumeClaimTemplates ?? []).some((t) => {
        const prefix = `${t.metadata?.name}-${s.metadata.name}-`;
        return name.startsWith(prefix) && /^[0-9]+$/.test(name.slice(prefix.length));
      });
      if (ours) this.queue.add(keyOf(s));
    }
  }

  // ---- sync ---------------------------------------------------------------------------------

  private async syncStatefulSet(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const set = await this.ctx.storage.tryGet(this.setDef, namespace, name);
    if (!set) return;
    if (!this.history.informer.synced) {
      this.queue.addAfter(key, 200);
      return;
    }
    const revisions = await this.revisionsFor(set);
    const pods = await this.podsFor(set);
    const { current, update, collisionCount } = await this.statefulSetRevisions(set, revisions);
    const currentRevision = current.metadata.name!;
    const updateRevision = update.metadata.name!;
    const template = templateOfRevision(update) ?? set.spec?.template ?? {};
    const currentTemplate = templateOfRevision(current) ?? template;
    const claims = new Map<string, KubeObject>();
    for (const c of this.claims.list(namespace)) claims.set(c.metadata.name!, c);
    const now = this.ctx.now().getTime();
    const plan = planStatefulSet({ set, pods, claims, currentRevision, updateRevision, collisionCount, now });
    if (plan.waitingFor) this.ctx.log.debug({ statefulset: key, waitingFor: plan.waitingFor }, 'statefulset waiting');

    let error: unknown;
    for (const action of plan.actions) {
      try {
        await this.act(set, action, {
          current: [currentRevision, currentTemplate],
          update: [updateRevision, template],
        });
      } catch (e) {
        error = e;
        break;
      }
    }
    await this.writeStatus(set, plan.status);
    // truncateHistory: the revisions listed before this sync, minus the live ones
    const live = new Set([currentRevision, updateRevision, ...pods.map(revisionOf)]);
    for (const cr of statefulSetHistoryToDelete(revisions, live, Number(set.spec?.revisionHistoryLimit ?? 10)))
      await this.history.delete(cr);
    if (plan.requeueAfterMs !== undefined) this.queue.addAfter(key, plan.requeueAfterMs + 50);
    if (error) throw error;
  }

  /** ListRevisions + adoptOrphanRevisions: the revisions matching the selector, owned by the set or adopted now */
  private async revisionsFor(set: KubeObject): Promise<KubeObject[]> {
    const claim = claimRevisions(set, this.history.list(set.metadata.namespace), (cr) =>
      selectorMatches(set.spec?.selector, cr.metadata.labels),
    );
    const out = [...claim.owned];
    for (const cr of claim.adopt) {
      const adopted = await this.history.adopt(set, 'StatefulSet', cr);
      if (adopted) out.push(adopted);
    }
    return out;
  }

  /** getStatefulSetRevisions: find, re-number (a rollback) or create the update revision */
  private async statefulSetRevisions(
    set: KubeObject,
    revisions: KubeObject[],
  ): Promise<{ current: KubeObject; update: KubeObject; collisionCount: number }> {
    // (the pre-ControllerRevision name matters only while the set has no revision yet)
    const plan = planStatefulSetRevisions(
      set,
      revisions,
      revisions.length ? undefined : revisionName(set, set.spec?.template),
    );
    let collisionCount = plan.collisionCount;
    let update: KubeObject;
    switch (plan.update.type) {
      case 'existing':
        update = plan.update.revision;
        break;
      case 'bump':
        update = await this.history.setRevision(plan.update.revision, plan.update.to);
        break;
      case 'create':
        ({ revision: update, collisionCount } = await this.history.createWithCollisions(
          set,
          plan.update.revision,
          collisionCount,
          plan.update.preferredName,
        ));
        break;
    }
    return { current: plan.current ?? update, update, collisionCount };
  }

  private async act(
    set: KubeObject,
    a: StatefulSetAction,
    revs: Record<'current' | 'update', [string, unknown]>,
  ): Promise<void> {
    switch (a.type) {
      case 'create': {
        const [revision, template] = revs[a.revision];
        const pod = newStatefulSetPod(set, template, a.ordinal, revision);
        await this.createClaims(set, pod, a.ordinal);
        let created: KubeObject;
        // the cluster-wide creation rate (--controllers-qps/--controllers-burst)
        await this.ctx.createLimiter.wait();
        try {
          created = await this.ctx.storage.create(this.podDef, set.metadata.namespace, pod);
        } catch (e) {
          // AlreadyExists means our cache is behind: retry quietly, as Kubernetes does.
          if (!(e instanceof ApiError && e.code === 409))
            this.event(
              set,
              'Warning',
              'FailedCreate',
              `create Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${msg(e)}`,
            );
          throw e;
        }
        this.event(
          set,
          'Normal',
          'SuccessfulCreate',
          `create Pod ${created.metadata.name} in StatefulSet ${set.metadata.name} successful`,
        );
        await this.fixClaimOwners(set, created);
        return;
      }
      case 'delete': {
        const p = a.pod;
        if (a.reason === 'Failed')
          this.event(
            set,
            'Warning',
            'RecreatingFailedPod',
            `StatefulSet ${set.metadata.namespace}/${set.metadata.name} is recreating failed Pod ${p.metadata.name}`,
          );
        if (a.reason === 'Succeeded')
          this.event(
            set,
            'Normal',
            'RecreatingTerminatedPod',
            `StatefulSet ${set.metadata.namespace}/${set.metadata.name} is recreating terminated Pod ${p.metadata.name}`,
          );
        try {
          await this.ctx.storage.delete(this.podDef, p.metadata.namespace, p.metadata.name!, {
            preconditions: { uid: p.metadata.uid },
          });
          this.event(
            set,
            'Normal',
            'SuccessfulDelete',
            `delete Pod ${p.metadata.name} in StatefulSet ${set.metadata.name} successful`,
          );
        } catch (e) {
          if (e instanceof ApiError && (e.code === 404 || e.code === 409)) return;
          this.event(
            set,
            'Warning',
            'FailedDelete',
            `delete Pod ${p.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${msg(e)}`,
          );
          throw e;
        }
        return;
      }
      case 'createClaims':
        await this.createClaims(set, a.pod, ordinalOf(a.pod, set.metadata.name!));
        return;
      case 'update': {
        const p = a.pod;
        const ord = ordinalOf(p, set.metadata.name!);
        if (
          p.metadata.labels?.[POD_NAME_LABEL] !== p.metadata.name ||
          p.metadata.labels?.[POD_INDEX_LABEL] !== String(ord)
        ) {
          try {
            await this.ctx.storage.guaranteedUpdate(this.podDef, p.metadata.namespace, p.metadata.name!, {}, (cur) => {
              cur.metadata.labels = {
                ...(cur.metadata.labels ?? {}),
                [POD_NAME_LABEL]: cur.metadata.name!,
                [POD_INDEX_LABEL]: String(ord),
              };
              return cur;
            });
          } catch (e) {
            this.event(
              set,
              'Warning',
              'FailedUpdate',
              `update Pod ${p.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${msg(e)}`,
            );
            throw e;
          }
        }
        await this.fixClaimOwners(set, p);
        return;
      }
    }
  }

  /** createPersistentVolumeClaims: each missing claim of the pod; a claim being deleted blocks. */
  private async createClaims(set: KubeObject, pod: KubeObject, ordinal: number): Promise<void> {
    for (const claim of claimsForOrdinal(set, ordinal)) {
      const cur = await this.ctx.storage.tryGet(this.claimDef, set.metadata.namespace, claim.metadata.name!);
      if (cur) {
        if (cur.metadata.deletionTimestamp) throw new Error(`pvc ${claim.metadata.name} is being deleted`);
        continue;
      }
      try {
        await this.ctx.storage.create(this.claimDef, set.metadata.namespace, claim);
        this.event(
          set,
          'Normal',
          'SuccessfulCreate',
          `create Claim ${claim.metadata.name} Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} success`,
        );
      } catch (e) {
        if (e instanceof ApiError && e.code === 409) continue;
        this.event(
          set,
          'Warning',
          'FailedCreate',
          `create Claim ${claim.metadata.name} for Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${msg(e)}`,
        );
        throw e;
      }
    }
  }

  /** UpdatePodClaimForRetentionPolicy: owner references per persistentVolumeClaimRetentionPolicy. */
  private async fixClaimOwners(set: KubeObject, pod: KubeObject): Promise<void> {
    for (const claim of claimsForOrdinal(set, ordinalOf(pod, set.metadata.name!))) {
      const cur = await this.ctx.storage.tryGet(this.claimDef, set.metadata.namespace, claim.metadata.name!);
      if (!cur || claimOwnerUpToDate(cur, set, pod)) continue;
      await this.ctx.storage.guaranteedUpdate(this.claimDef, set.metadata.namespace, claim.metadata.name!, {}, (c) => {
        const refs = desiredClaimOwnerRefs(c, set, pod);
        if (refs.length) c.metadata.ownerReferences = refs;
        else delete c.metadata.ownerReferences;
        return c;
      });
    }
  }

  /** The pods this set controls, adopting orphans that match its selector and name (ClaimPods). */
  private async podsFor(set: KubeObject): Promise<KubeObject[]> {
    const out: KubeObject[] = [];
    for (const p of this.pods.list(set.metadata.namespace)) {
      const ref = controllerRefOf(p);
      if (ref) {
        if (ref.uid === set.metadata.uid) out.push(p);
        continue;
      }
      if (set.metadata.deletionTimestamp || p.metadata.deletionTimestamp) continue;
      if (!selectorMatches(set.spec?.selector, p.metadata.labels) || ordinalOf(p, set.metadata.name!) < 0) continue;
      try {
        out.push(
          await this.ctx.storage.guaranteedUpdate(this.podDef, p.metadata.namespace, p.metadata.name!, {}, (cur) => {
            if (cur.metadata.uid !== p.metadata.uid || controllerRefOf(cur) || cur.metadata.deletionTimestamp)
              throw new ApiError(409, 'Conflict', 'pod changed');
            cur.metadata.ownerReferences = [...(cur.metadata.ownerReferences ?? []), setControllerRef(set)];
            return cur;
          }),
        );
      } catch (e) {
        if (!(e instanceof ApiError && (e.code === 404 || e.code === 409))) throw e;
      }
    }
    return out;
  }

  private async writeStatus(set: KubeObject, status: StatefulSetStatus): Promise<void> {
    try {
      await this.ctx.storage.guaranteedUpdate(
        this.setDef,
        set.metadata.namespace,
        set.metadata.name!,
        {},
        (cur) => {
          if (cur.metadata.uid !== set.metadata.uid) throw new ApiError(404, 'NotFound', 'statefulset replaced');
          cur.status = { ...(cur.status ?? {}), ...status };
          return cur;
        },
        'status',
      );
    } catch (e) {
      if (e instanceof ApiError && e.code === 404) return;
      throw e;
    }
  }

  private event(set: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    void this.ctx.event({
      component: COMPONENT,
      type,
      reason,
      message,
      involvedObject: {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        namespace: set.metadata.namespace,
        name: set.metadata.name!,
        uid: set.metadata.uid!,
      },
    });
  }
}

function msg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
