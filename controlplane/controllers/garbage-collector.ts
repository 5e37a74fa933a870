// The garbage collector (pkg/controller/garbagecollector): watches every kind into an
// owner -> dependents graph and makes ownerReferences mean something. Background:
// a dependent whose owners are all gone is deleted. Orphan: an owner deleted with the
// `orphan` finalizer is first removed from its dependents' ownerReferences. Foreground:
// an owner with the `foregroundDeletion` finalizer waits until its dependents that
// block owner deletion are gone. Keys are object uids; every decision re-reads the API.
import type { Logger } from 'pino';
import type { KubeObject, OwnerReference } from '../../proto/meta.js';
import { canonicalJson } from '../../proto/canonical.js';
import { ApiError } from '../api/errors.js';
import { findByKind, resources } from '../resources/index.js';
import type { ResourceDef } from '../resources/types.js';
import type { ControllerContext } from './context.js';
import { Informer } from './informer.js';
import { customResourceStorageDefs, onRegistryChange } from '../crd/registry.js';
import type { Controller } from './types.js';
import { WorkQueue } from './work-queue.js';
import { DependencyGraph, type GraphNode } from './gc/graph.js';
import {
  FINALIZER_ORPHAN,
  classifyReferences,
  groupOf,
  isDeletingDependents,
  isOrphaningDependents,
  planDependent,
  planOwner,
  unblocked,
  withoutOwners,
  type OwnerState,
  type Policy,
} from './gc/plan.js';

const WORKERS = 5;
/** level-triggered safety net: re-examine pending owners and dangling references this often */
const RESYNC_MS = 30_000;
const ABSENT_CACHE_SIZE = 10_000;
/** Events never own anything and churn; the collector does not watch them. */
const NOT_WATCHED = new Set(['events']);

export interface GarbageCollectorOptions {
  resyncMs?: number;
}

export function create(ctx: ControllerContext, opts: GarbageCollectorOptions = {}): Controller {
  return new GarbageCollector(ctx, opts);
}

export class GarbageCollector implements Controller {
  readonly name = 'garbage-collector';
  readonly graph = new DependencyGraph();
  private readonly queue = new WorkQueue(100, 30_000);
  private readonly absent = new Map<string, true>();
  private readonly informers: Informer[] = [];
  private readonly log: Logger;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly opts: GarbageCollectorOptions = {},
  ) {
    this.log = ctx.log.child({ controller: this.name });
  }

  /** custom resources (served CRDs) are watched too, from when their CRD is served until it goes */
  private readonly customInformers = new Map<string, Informer>();
  private unsubscribe?: () => void;

  private syncCustomKinds(): void {
    const want = new Map(customResourceStorageDefs().map((d) => [`${d.group}/${d.resource}`, d]));
    for (const [key, inf] of this.customInformers) {
      if (want.has(key)) continue;
      inf.stop();
      this.customInformers.delete(key);
      this.informers.splice(this.informers.indexOf(inf), 1);
    }
    for (const [key, def] of want) {
      if (this.customInformers.has(key)) continue;
      const inf = new Informer(this.ctx.storage, def, this.log);
      inf.on({
        add: (o) => this.onUpsert(def, o),
        update: (_old, o) => this.onUpsert(def, o),
        delete: (o) => this.onDelete(o),
      });
      this.customInformers.set(key, inf);
      this.informers.push(inf);
      inf
        .start()
        .catch((err: unknown) =>
          this.log.warn({ err: errText(err), resource: key }, 'custom resource informer failed'),
        );
    }
  }

  async start(): Promise<void> {
    this.unsubscribe = onRegistryChange(() => this.syncCustomKinds());
    this.syncCustomKinds();
    for (const def of resources) {
      if (NOT_WATCHED.has(def.resource)) continue;
      const inf = this.ctx.informers.get(def.group, def.version, def.resource);
      inf.on({
        add: (o) => this.onUpsert(def, o),
        update: (_old, o) => this.onUpsert(def, o),
        delete: (o) => this.onDelete(o),
      });
      this.informers.push(inf);
    }
    this.queue.run(
      (uid) => this.syncItem(uid),
      WORKERS,
      (uid, err) => {
        this.log.warn({ err: errText(err), uid }, 'garbage collection failed, will retry');
      },
    );
    this.timer = setInterval(() => this.resync(), this.opts.resyncMs ?? RESYNC_MS);
    this.timer.unref();
  }

  stop(): void {
    this.unsubscribe?.();
    for (const inf of this.customInformers.values()) inf.stop();
    if (this.timer) clearInterval(this.timer);
    this.queue.stop();
  }

  // ---------- graph changes (handlers only update the graph and enqueue uids) ----------

  private onUpsert(def: ResourceDef, obj: KubeObject): void {
    const r = this.graph.upsert(def, obj);
    if (!r) return;
    const n = r.node;
    if (r.ownersChanged) {
      if (n.owners.length) this.queue.add(n.uid);
      // an owner waiting in the foreground may have lost a blocking dependent
      for (const o of r.old?.owners ?? []) this.enqueueIfDeletingDependents(o.uid);
      for (const o of n.owners) this.enqueueIfDeletingDependents(o.uid);
    }
    if (r.deletionChanged) {
      if (isOrphaningDependents(n) || isDeletingDependents(n)) this.queue.add(n.uid);
      else if (!n.deletionTimestamp && n.owners.length) this.queue.add(n.uid);
    }
  }

  private onDelete(obj: KubeObject): void {
    const uid = obj.metadata.uid;
    if (!uid) return;
    const n = this.graph.remove(uid);
    this.markAbsent(uid);
    // its dependents have lost an owner; its owners may be waiting for it
    for (const d of this.graph.dependentsOf(uid)) this.queue.add(d.uid);
    for (const o of n?.owners ?? []) this.enqueueIfDeletingDependents(o.uid);
  }

  private enqueueIfDeletingDependents(uid: string): void {
    const o = this.graph.get(uid);
    if (o && isDeletingDependents(o)) this.queue.add(uid);
  }

  private resync(): void {
    for (const n of this.graph.all()) {
      if (isOrphaningDependents(n) || isDeletingDependents(n)) this.queue.add(n.uid);
      else if (
        !n.deletionTimestamp &&
        n.owners.some(
          (o) => this.absent.has(o.uid) || !this.graph.get(o.uid) || isDeletingDependents(this.graph.get(o.uid)!),
        )
      ) {
        this.queue.add(n.uid);
      }
    }
  }

  private synced(): boolean {
    return this.informers.every((i) => i.synced);
  }

  private markAbsent(uid: string): void {
    this.absent.set(uid, true);
    if (this.absent.size > ABSENT_CACHE_SIZE) this.absent.delete(this.absent.keys().next().value!);
  }

  // ---------- sync ----------

  /** attemptToDeleteItem / attemptToOrphan for one object, by uid */
  async syncItem(uid: string): Promise<void> {
    if (!this.synced()) {
      this.queue.addAfter(uid, 200);
      return;
    }
    const node = this.graph.get(uid);
    if (!node) return;
    if (node.deletionTimestamp) return this.syncOwnerBeingDeleted(node);
    if (!node.owners.length) return;

    const latest = await this.ctx.storage.tryGet(node.def, node.namespace, node.name);
    if (!latest || latest.metadata.uid !== uid || latest.metadata.deletionTimestamp) return; // the watch will tell
    const refs = latest.metadata.ownerReferences ?? [];
    if (!refs.length) return;
    const states = new Map<string, OwnerState>();
    for (const r of refs) states.set(r.uid, await this.ownerState(r, node));
    const classified = classifyReferences(refs, (r) => states.get(r.uid)!);
    const deps = this.graph.dependentsOf(uid);
    const action = planDependent({
      ...classified,
      finalizers: latest.metadata.finalizers,
      hasDependents: deps.length > 0,
      dependentDeletingDependents: deps.some(isDeletingDependents),
    });
    switch (action.type) {
      case 'none':
        return;
      case 'removeOwnerRefs':
        this.log.info(
          { item: describe(node), owners: action.uids },
          'removing references to absent or foreground-deleting owners',
        );
        await this.removeOwnerRefs(node, action.uids);
        return;
      case 'delete':
        if (action.unblock) await this.updateOwnerRefs(node, (refs) => unblocked(refs));
        this.log.info({ item: describe(node), policy: action.policy }, 'deleting object whose owners are gone');
        await this.deleteItem(node, latest, action.policy);
        return;
    }
  }

  /** the orphan and foreground halves: the object itself is being deleted */
  private async syncOwnerBeingDeleted(node: GraphNode): Promise<void> {
    const deps = this.graph.dependentsOf(node.uid);
    const action = planOwner(
      node,
      deps.map((d) => ({
        uid: d.uid,
        blocking: d.owners.some((r) => r.uid === node.uid && r.blockOwnerDeletion === true),
      })),
    );
    switch (action.type) {
      case 'none':
        return;
      case 'orphan':
        for (const d of deps) await this.removeOwnerRefs(d, [node.uid]);
        this.log.info({ owner: describe(node), dependents: deps.length }, 'orphaned dependents');
        await this.removeFinalizer(node, FINALIZER_ORPHAN);
        return;
      case 'removeFinalizer':
        await this.removeFinalizer(node, action.finalizer);
        return;
      case 'deleteDependents':
        // each dependent sees this owner as "waiting" and is deleted (foreground if it has dependents itself);
        // this owner is re-queued when they go
        for (const uid of action.dependents) this.queue.add(uid);
        return;
    }
  }

  private async ownerState(ref: OwnerReference, item: GraphNode): Promise<OwnerState> {
    const def = findByKind(groupOf(String(ref.apiVersion ?? '')), String(ref.kind ?? ''));
    if (!def) {
      // A kind skiff does not serve: never collect an object because of it.
      this.log.debug({ item: describe(item), owner: ref }, 'owner reference to an unknown kind');
      return 'solid';
    }
    if (def.namespaced && !item.namespace) return 'solid'; // cluster-scoped dependent of a namespaced owner: invalid, ignored
    if (this.absent.has(ref.uid)) return 'dangling';
    const owner = await this.ctx.storage.tryGet(def, def.namespaced ? item.namespace : undefined, ref.name);
    if (!owner || owner.metadata.uid !== ref.uid) {
      this.markAbsent(ref.uid);
      return 'dangling';
    }
    return isDeletingDependents(owner.metadata) ? 'waiting' : 'solid';
  }

  // ---------- writes (all through the API storage) ----------

  private async deleteItem(node: GraphNode, latest: KubeObject, policy: Policy): Promise<void> {
    const { storage } = this.ctx;
    try {
      await storage.delete(node.def, node.namespace, node.name, {
        propagationPolicy: policy,
        preconditions: { uid: node.uid, resourceVersion: latest.metadata.resourceVersion },
      });
    } catch (e) {
      if (isCode(e, 404)) return;
      if (!isCode(e, 409)) throw e;
      // Changed since we looked: delete anyway if its owners did not change (as kube's GC does).
      const fresh = await storage.tryGet(node.def, node.namespace, node.name);
      if (!fresh || fresh.metadata.uid !== node.uid) return;
      if (
        canonicalJson(fresh.metadata.ownerReferences ?? []) !== canonicalJson(latest.metadata.ownerReferences ?? [])
      ) {
        this.queue.add(node.uid);
        return;
      }
      try {
        await storage.delete(node.def, node.namespace, node.name, {
          propagationPolicy: policy,
          preconditions: { uid: node.uid },
        });
      } catch (e2) {
        if (!isCode(e2, 404)) throw e2;
      }
    }
  }

  private removeOwnerRefs(node: GraphNode, uids: string[]): Promise<void> {
    return this.updateOwnerRefs(node, (refs) => withoutOwners(refs, uids));
  }

  private async updateOwnerRefs(
    node: GraphNode,
    f: (refs: OwnerReference[] | undefined) => OwnerReference[] | undefined,
  ): Promise<void> {
    try {
      await this.ctx.storage.guaranteedUpdate(node.def, node.namespace, node.name, {}, (cur) => {
        if (cur.metadata.uid !== node.uid) return cur;
        const refs = f(cur.metadata.ownerReferences);
        if (refs) cur.metadata.ownerReferences = refs;
        else delete cur.metadata.ownerReferences;
        return cur;
      });
    } catch (e) {
      if (!isCode(e, 404)) throw e;
    }
  }

  private async removeFinalizer(node: GraphNode, finalizer: string): Promise<void> {
    try {
      await this.ctx.storage.guaranteedUpdate(node.def, node.namespace, node.name, {}, (cur) => {
        if (cur.metadata.uid !== node.uid) return cur;
        cur.metadata.finalizers = (cur.metadata.finalizers ?? []).filter((f) => f !== finalizer);
        return cur;
      });
      this.log.debug({ item: describe(node), finalizer }, 'removed finalizer');
    } catch (e) {
      if (!isCode(e, 404)) throw e;
    }
  }
}

function describe(n: GraphNode): string {
  return `${n.def.resource}${n.def.group ? `.${n.def.group}` : ''} ${n.namespace ? `${n.namespace}/` : ''}${n.name}`;
}

function isCode(e: unknown, code: number): boolean {
  return e instanceof ApiError && e.code === code;
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
