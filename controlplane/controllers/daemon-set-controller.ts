// The DaemonSet controller (pkg/controller/daemon): one daemon pod on every eligible
// node. Pods are created with a required node affinity `metadata.name In [node]` so the
// scheduler places them, carry the current ControllerRevision's hash in
// `controller-revision-hash` (daemon-set/history.ts keeps the revisions `kubectl rollout
// history/undo` read), are replaced by RollingUpdate (maxUnavailable or maxSurge) or only
// when deleted (OnDelete), and the status numbers are what `kubectl get ds` prints. Handlers
// only enqueue namespace/name keys; syncDaemonSet reads the caches and makes the world match.
import type { Logger } from 'pino';
import type { KubeObject } from '../../proto/meta.js';
import { controllerRefOf } from '../../proto/api/owner.js';
import { ApiError } from '../api/errors.js';
import { isEmptySelector, selectorMatches } from '../resources/label-selector.js';
import type { DaemonSetStatus } from '../../proto/api/types.gen.js';
import type { ControllerContext, DefOf } from './context.js';
import { keyOf, splitKey, type Informer } from './informer.js';
import type { Controller } from './types.js';
import { WorkQueue } from './work-queue.js';
import { SLOW_START_INITIAL_BATCH_SIZE, slowStartBatch } from './slow-start.js';
import { nodeShouldRunDaemonPod, targetNodeName, type NodeDecision } from './daemon-set/eligibility.js';
import { Expectations } from './daemon-set/expectations.js';
import { newControllerRef, newDaemonPod, TEMPLATE_GENERATION_ANNOTATION } from './daemon-set/pods.js';
import { DaemonSetHistory } from './daemon-set/history.js';
import { HistoryClient } from './history/history-client.js';
import { daemonSetRevisionHash } from './history/plan.js';
import {
  computeCounts,
  planRollingUpdate,
  podsShouldBeOnNode,
  type DaemonSetCounts,
  type PlanOptions,
} from './daemon-set/plan.js';

const COMPONENT = 'daemonset-controller';
/** at most this many creations or deletions per sync (burstReplicas) */
const BURST = 250;
/** failed daemon pods are replaced with a per-node back-off, 1 s doubling to 15 min */
const FAILED_BACKOFF_INITIAL_MS = 1_000;
const FAILED_BACKOFF_MAX_MS = 15 * 60_000;
const OMITEMPTY_STATUS = [
  'numberAvailable',
  'numberUnavailable',
  'updatedNumberScheduled',
  'observedGeneration',
] as const;

export function create(ctx: ControllerContext): Controller {
  return new DaemonSetController(ctx);
}

export class DaemonSetController implements Controller {
  readonly name = 'daemon-set-controller';
  private readonly queue = new WorkQueue(100, 60_000);
  private readonly expectations = new Expectations();
  private readonly failedBackoff = new Map<string, { delayMs: number; at: number }>();
  private readonly log: Logger;
  private readonly podDef: DefOf<'', 'pods'>;
  private readonly dsDef: DefOf<'apps', 'daemonsets'>;
  private readonly nodeDef: DefOf<'', 'nodes'>;
  private dsInf!: Informer<'DaemonSet'>;
  private podInf!: Informer<'Pod'>;
  private nodeInf!: Informer<'Node'>;
  private historyClient!: HistoryClient;
  private history!: DaemonSetHistory;

  constructor(private readonly ctx: ControllerContext) {
    this.log = ctx.log.child({ controller: this.name });
    this.podDef = ctx.def('', 'v1', 'pods');
    this.dsDef = ctx.def('apps', 'v1', 'daemonsets');
    this.nodeDef = ctx.def('', 'v1', 'nodes');
  }

  async start(): Promise<void> {
    const inf = this.ctx.informers;
    this.dsInf = inf.get('apps', 'v1', 'daemonsets').on({
      add: (ds) => this.queue.add(keyOf(ds)),
      update: (_o, ds) => this.queue.add(keyOf(ds)),
      delete: (ds) => this.expectations.delete(keyOf(ds)),
    });
    this.podInf = inf.get('', 'v1', 'pods').on({
      add: (p) => this.onPodAdd(p),
      update: (o, p) => this.onPodUpdate(o, p),
      delete: (p) => this.onPodDelete(p),
    });
    this.nodeInf = inf.get('', 'v1', 'nodes').on({
      add: (n) => this.onNodeChange(undefined, n),
      update: (o, n) => this.onNodeChange(o, n),
      // pods bound to a node that is gone are removed here (kube leaves that to the pod GC)
      delete: () => {
        for (const ds of this.dsInf.list()) this.queue.add(keyOf(ds));
      },
    });
    this.historyClient = new HistoryClient(this.ctx);
    this.history = new DaemonSetHistory(this.ctx, this.historyClient, this.dsDef, this.podDef);
    this.historyClient.informer.on({
      add: (cr) => this.onHistoryChange(cr),
      update: (o, cr) => {
        this.onHistoryChange(cr);
        if (controllerRefOf(o)?.uid !== controllerRefOf(cr)?.uid) this.onHistoryChange(o);
      },
      delete: (cr) => this.onHistoryChange(cr),
    });
    this.queue.run(
      (key) => this.syncDaemonSet(key),
      2,
      (key, err) => {
        this.log.warn(
          { daemonset: key, err: err instanceof Error ? err.message : String(err) },
          'daemonset sync failed, will retry',
        );
      },
    );
  }

  stop(): void {
    this.queue.stop();
  }

  // ---------- event handlers: enqueue only ----------

  private resolve(
    namespace: string | undefined,
    ref: { kind?: string; name?: string; uid?: string } | undefined,
  ): KubeObject | undefined {
    if (!ref || ref.kind !== 'DaemonSet' || !ref.name) return undefined;
    const ds = this.dsInf.get(namespace, ref.name);
    return ds && ds.metadata.uid === ref.uid ? ds : undefined;
  }

  private selecting(pod: KubeObject): KubeObject[] {
    return this.dsInf
      .list(pod.metadata.namespace)
      .filter((ds) => selectorMatches(ds.spec?.selector, pod.metadata.labels));
  }

  private onPodAdd(pod: KubeObject): void {
    if (pod.metadata.deletionTimestamp) {
      this.onPodDelete(pod);
      return;
    }
    const ref = controllerRefOf(pod);
    if (ref) {
      const ds = this.resolve(pod.metadata.namespace, ref);
      if (!ds) return;
      const key = keyOf(ds);
      this.expectations.creationObserved(key);
      this.queue.add(key);
      return;
    }
    for (const ds of this.selecting(pod)) this.queue.add(keyOf(ds));
  }

  private onPodUpdate(old: KubeObject, pod: KubeObject): void {
    if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
    const ref = controllerRefOf(pod);
    const oldRef = controllerRefOf(old);
    if (oldRef && oldRef.uid !== ref?.uid) {
      const prev = this.resolve(old.metadata.namespace, oldRef);
      if (prev) this.queue.add(keyOf(prev));
    }
    if (ref) {
      const ds = this.resolve(pod.metadata.namespace, ref);
      if (!ds) return;
      const key = keyOf(ds);
      if (pod.metadata.deletionTimestamp) this.expectations.deletionObserved(key, pod.metadata.uid!);
      this.queue.add(key);
      return;
    }
    const labelsChanged = JSON.stringify(old.metadata.labels ?? {}) !== JSON.stringify(pod.metadata.labels ?? {});
    if (labelsChanged || oldRef) for (const ds of this.selecting(pod)) this.queue.add(keyOf(ds));
  }

  private onPodDelete(pod: KubeObject): void {
    const ds = this.resolve(pod.metadata.namespace, controllerRefOf(pod));
    if (!ds) return;
    const key = keyOf(ds);
    this.expectations.deletionObserved(key, pod.metadata.uid!);
    this.queue.add(key);
  }

  /** addHistory/updateHistory/deleteHistory: the controlling DaemonSet, or every one an orphan matches */
  private onHistoryChange(cr: KubeObject): void {
    const ref = controllerRefOf(cr);
    if (ref) {
      const ds = this.resolve(cr.metadata.namespace, ref);
      if (ds) this.queue.add(keyOf(ds));
      return;
    }
    if (cr.metadata.deletionTimestamp) return;
    for (const ds of this.selecting(cr)) this.queue.add(keyOf(ds));
  }

  private onNodeChange(old: KubeObject | undefined, node: KubeObject): void {
    for (const ds of this.dsInf.list()) {
      const now = nodeShouldRunDaemonPod(node, ds);
      if (!old) {
        if (now.shouldRun) this.queue.add(keyOf(ds));
        continue;
      }
      const before = nodeShouldRunDaemonPod(old, ds);
      if (before.shouldRun !== now.shouldRun || before.shouldContinueRunning !== now.shouldContinueRunning)
        this.queue.add(keyOf(ds));
    }
  }

  // ---------- sync ----------

  private synced(): boolean {
    return this.dsInf.synced && this.podInf.synced && this.nodeInf.synced && this.historyClient.informer.synced;
  }

  async syncDaemonSet(key: string): Promise<void> {
    if (!this.synced()) {
      this.queue.addAfter(key, 200);
      return;
    }
    const { namespace, name } = splitKey(key);
    const ds = this.dsInf.get(namespace, name);
    if (!ds) {
      this.expectations.delete(key);
      return;
    }
    if (isEmptySelector(ds.spec?.selector)) {
      await this.event(
        ds,
        'Warning',
        'SelectingAll',
        'This daemon set is selecting all pods. A non-empty selector is required.',
      );
      return;
    }
    // Being deleted (foreground or orphan): leave the pods to the garbage collector.
    if (ds.metadata.deletionTimestamp) return;
    // the current ControllerRevision (created if missing) names the hash pods must carry
    const { cur, old } = await this.history.construct(ds, {
      canAdopt: () => this.notBeingDeleted(ds),
      pods: () => this.ownedPods(ds),
    });
    const hash = daemonSetRevisionHash(cur);
    const nodes = this.nodeInf.list();
    if (!this.expectations.satisfied(key)) {
      await this.updateStatus(ds, nodes, hash, false);
      return;
    }
    await this.manage(ds, key, nodes, hash);
    if (this.expectations.satisfied(key) && ds.spec?.updateStrategy?.type !== 'OnDelete') {
      await this.rollingUpdate(ds, key, nodes, hash);
    }
    await this.history.cleanup(ds, old, this.ownedPods(ds));
    await this.updateStatus(ds, nodes, hash, true);
  }

  /** every pod the DaemonSet controls (terminal and terminating ones too) */
  private ownedPods(ds: KubeObject): KubeObject[] {
    return this.podInf.list(ds.metadata.namespace).filter((p) => controllerRefOf(p)?.uid === ds.metadata.uid);
  }

  private planOptions(ds: KubeObject, hash: string): PlanOptions {
    const ru = ds.spec?.updateStrategy?.rollingUpdate;
    const surge =
      ds.spec?.updateStrategy?.type !== 'OnDelete' &&
      ru?.maxSurge !== undefined &&
      ru.maxSurge !== 0 &&
      ru.maxSurge !== '0%';
    return {
      hash,
      templateGeneration: ds.metadata.annotations?.[TEMPLATE_GENERATION_ANNOTATION],
      allowsSurge: surge,
      minReadySeconds: Number(ds.spec?.minReadySeconds ?? 0) || 0,
      now: this.ctx.now().getTime(),
    };
  }

  /** the DaemonSet's pods grouped by the node they are for (claim=true adopts orphans and releases strays) */
  private async nodesToDaemonPods(ds: KubeObject, claim: boolean): Promise<Map<string, KubeObject[]>> {
    const pods = claim
      ? await this.claimPods(ds)
      : this.podInf
          .list(ds.metadata.namespace)
          .filter(
            (p) => controllerRefOf(p)?.uid === ds.metadata.uid && selectorMatches(ds.spec?.selector, p.metadata.labels),
          );
    const out = new Map<string, KubeObject[]>();
    for (const pod of pods) {
      const node = targetNodeName(pod);
      if (!node) continue;
      let list = out.get(node);
      if (!list) out.set(node, (list = []));
      list.push(pod);
    }
    return out;
  }

  /** ControllerRefManager.ClaimPods: adopt matching orphans, release owned pods that stopped matching */
  private async claimPods(ds: KubeObject): Promise<KubeObject[]> {
    const sel = ds.spec?.selector;
    const out: KubeObject[] = [];
    let canAdopt: boolean | undefined;
    for (const pod of this.podInf.list(ds.metadata.namespace)) {
      const ref = controllerRefOf(pod);
      const matches = selectorMatches(sel, pod.metadata.labels);
      if (ref) {
        if (ref.uid !== ds.metadata.uid) continue;
        if (matches) {
          out.push(pod);
          continue;
        }
        if (!ds.metadata.deletionTimestamp)
          await this.patchOwnerRefs(pod, (refs) => refs.filter((r) => r.uid !== ds.metadata.uid));
        continue;
      }
      if (ds.metadata.deletionTimestamp || !matches || pod.metadata.deletionTimestamp) continue;
      // Re-check with a fresh read that the DaemonSet is not being deleted before adopting (kube #42639).
      canAdopt ??= await this.notBeingDeleted(ds);
      if (!canAdopt) continue;
      const adopted = await this.patchOwnerRefs(pod, (refs) =>
        refs.some((r) => r.controller) ? refs : [...refs, newControllerRef(ds)],
      );
      if (adopted && controllerRefOf(adopted)?.uid === ds.metadata.uid) out.push(adopted);
    }
    return out;
  }

  private async notBeingDeleted(ds: KubeObject): Promise<boolean> {
    const fresh = await this.ctx.storage.tryGet(this.dsDef, ds.metadata.namespace, ds.metadata.name!);
    return !!fresh && fresh.metadata.uid === ds.metadata.uid && !fresh.metadata.deletionTimestamp;
  }

  private async patchOwnerRefs(
    pod: KubeObject,
    f: (
      refs: NonNullable<KubeObject['metadata']['ownerReferences']>,
    ) => NonNullable<KubeObject['metadata']['ownerReferences']>,
  ): Promise<KubeObject | undefined> {
    try {
      return await this.ctx.storage.guaranteedUpdate(
        this.podDef,
        pod.metadata.namespace,
        pod.metadata.name!,
        {},
        (cur) => {
          if (cur.metadata.uid !== pod.metadata.uid) throw new ApiError(404, 'NotFound', 'pod was replaced');
          const refs = f(cur.metadata.ownerReferences ?? []);
          if (refs.length) cur.metadata.ownerReferences = refs;
          else delete cur.metadata.ownerReferences;
          return cur;
        },
      );
    } catch (e) {
      if (e instanceof ApiError && (e.code === 404 || e.code === 409)) return undefined;
      throw e;
    }
  }

  private async manage(ds: KubeObject, key: string, nodes: KubeObject[], hash: string): Promise<void> {
    const nodeToPods = await this.nodesToDaemonPods(ds, true);
    const opts = this.planOptions(ds, hash);
    const creates: string[] = [];
    const deletes: KubeObject[] = [];
    const forceDeletes: KubeObject[] = [];
    for (const node of nodes) {
      const nodeName = node.metadata.name!;
      const plan = podsShouldBeOnNode(nodeShouldRunDaemonPod(node, ds), nodeToPods.get(nodeName) ?? [], opts);
      if (plan.create) creates.push(nodeName);
      deletes.push(...plan.delete);
      for (const pod of plan.failed) {
        const wait = this.failedBackoffWait(`${key}/${nodeName}`, opts.now);
        if (wait > 0) {
          this.queue.addAfter(key, wait);
          continue;
        }
        await this.event(
          ds,
          'Warning',
          'FailedDaemonPod',
          `Found failed daemon pod ${pod.metadata.namespace}/${pod.metadata.name} on node ${nodeName}, will try to kill it`,
        );
        deletes.push(pod);
      }
    }
    // Pods for nodes that no longer exist: unscheduled ones are deleted (as kube does); bound
    // ones no agent will ever confirm, so they are force-deleted once a fresh read confirms
    // the node is gone (kube's pod GC does this).
    const known = new Set(nodes.map((n) => n.metadata.name!));
    for (const [nodeName, pods] of nodeToPods) {
      if (known.has(nodeName)) continue;
      const unbound = pods.filter((p) => !p.spec?.nodeName && !p.metadata.deletionTimestamp);
      deletes.push(...unbound);
      const bound = pods.filter((p) => p.spec?.nodeName);
      if (bound.length && !(await this.ctx.storage.tryGet(this.nodeDef, undefined, nodeName)))
        forceDeletes.push(...bound);
    }
    await this.syncNodes(ds, key, deletes, creates, hash, forceDeletes);
  }

  private async rollingUpdate(ds: KubeObject, key: string, nodes: KubeObject[], hash: string): Promise<void> {
    const nodeToPods = await this.nodesToDaemonPods(ds, false);
    const decisions = new Map<string, NodeDecision>(
      nodes.map((n) => [n.metadata.name!, nodeShouldRunDaemonPod(n, ds)]),
    );
    for (const [n, d] of decisions) if (d.shouldRun && !nodeToPods.has(n)) nodeToPods.set(n, []);
    const ru = ds.spec?.updateStrategy?.rollingUpdate ?? {};
    const plan = planRollingUpdate(
      {
        nodeToPods,
        shouldRun: (n) => decisions.get(n)?.shouldRun ?? false,
        maxUnavailable: ru.maxUnavailable ?? 1,
        maxSurge: ru.maxSurge ?? 0,
      },
      this.planOptions(ds, hash),
    );
    if (plan.podsToDelete.length || plan.nodesToCreate.length) {
      this.log.info(
        { daemonset: key, delete: plan.podsToDelete.map((p) => p.metadata.name), create: plan.nodesToCreate },
        'rolling update step',
      );
    }
    await this.syncNodes(ds, key, plan.podsToDelete, plan.nodesToCreate, hash, []);
  }

  /** create daemon pods for `nodes` and delete `pods`, with expectations set first */
  private async syncNodes(
    ds: KubeObject,
    key: string,
    pods: KubeObject[],
    nodes: string[],
    hash: string,
    forceDeletes: KubeObject[],
  ): Promise<void> {
    const creates = nodes.slice(0, BURST);
    const deletes = dedupe([...pods, ...forceDeletes]).slice(0, BURST);
    const force = new Set(forceDeletes.map((p) => p.metadata.uid));
    this.expectations.expect(
      key,
      creates.length,
      deletes.map((p) => p.metadata.uid!),
    );
    const errors: string[] = [];

    // slow start: batches of 1, 2, 4, ... stop after a batch with a failure; creations never
    // tried will never be observed (createPod lowers the expectations of failed ones itself)
    let tried = 0;
    const { error } = await slowStartBatch(creates.length, SLOW_START_INITIAL_BATCH_SIZE, async (i) => {
      tried++;
      const failed = await this.createPod(ds, key, creates[i]!, hash);
      if (failed !== undefined) {
        errors.push(failed);
        throw new Error(failed);
      }
    });
    if (error) for (let i = tried; i < creates.length; i++) this.expectations.creationObserved(key);

    await Promise.all(
      deletes.map(async (pod) => {
        try {
          await this.ctx.storage.delete(this.podDef, pod.metadata.namespace, pod.metadata.name!, {
            preconditions: { uid: pod.metadata.uid },
            ...(force.has(pod.metadata.uid) ? { gracePeriodSeconds: 0 } : {}),
          });
          await this.event(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
        } catch (e) {
          this.expectations.deletionObserved(key, pod.metadata.uid!);
          if (e instanceof ApiError && (e.code === 404 || e.code === 409)) return;
          const msg = e instanceof Error ? e.message : String(e);
          await this.event(ds, 'Warning', 'FailedDelete', `Error deleting: ${msg}`);
          errors.push(msg);
        }
      }),
    );
    if (errors.length) throw new Error(errors.join('; '));
  }

  /** undefined on success (or when the namespace is terminating), else the error message */
  private async createPod(ds: KubeObject, key: string, nodeName: string, hash: string): Promise<string | undefined> {
    try {
      // the cluster-wide creation rate (--controllers-qps/--controllers-burst)
      await this.ctx.createLimiter.wait();
      const pod = await this.ctx.storage.create(this.podDef, ds.metadata.namespace, newDaemonPod(ds, nodeName, hash), {
        fieldValidation: 'Ignore',
      });
      await this.event(ds, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`);
      return undefined;
    } catch (e) {
      this.expectations.creationObserved(key);
      const msg = e instanceof Error ? e.message : String(e);
      if (e instanceof ApiError && e.code === 403 && msg.includes('being terminated')) return undefined;
      await this.event(ds, 'Warning', 'FailedCreate', `Error creating: ${msg}`);
      return msg;
    }
  }

  private failedBackoffWait(k: string, now: number): number {
    const e = this.failedBackoff.get(k);
    if (e && now - e.at < e.delayMs) return e.delayMs - (now - e.at);
    const delayMs =
      !e || now - e.at > 2 * FAILED_BACKOFF_MAX_MS
        ? FAILED_BACKOFF_INITIAL_MS
        : Math.min(e.delayMs * 2, FAILED_BACKOFF_MAX_MS);
    this.failedBackoff.set(k, { delayMs, at: now });
    return 0;
  }

  private async updateStatus(
    ds: KubeObject,
    nodes: KubeObject[],
    hash: string,
    updateObservedGen: boolean,
  ): Promise<void> {
    const nodeToPods = await this.nodesToDaemonPods(ds, false);
    const opts = this.planOptions(ds, hash);
    const counts = computeCounts(
      nodes.map((n) => ({ name: n.metadata.name!, shouldRun: nodeShouldRunDaemonPod(n, ds).shouldRun })),
      nodeToPods,
      opts,
    );
    const generation = ds.metadata.generation ?? 0;
    const st = ds.status ?? {};
    const same = (Object.keys(counts) as (keyof DaemonSetCounts)[]).every((k) => (st[k] ?? 0) === counts[k]);
    if (!(same && (st.observedGeneration ?? 0) >= generation)) {
      try {
        await this.ctx.storage.guaranteedUpdate(
          this.dsDef,
          ds.metadata.namespace,
          ds.metadata.name!,
          {},
          (cur) => {
            if (cur.metadata.uid !== ds.metadata.uid) return cur;
            const next: DaemonSetStatus = { ...(cur.status ?? {}), ...counts };
            if (updateObservedGen) next.observedGeneration = generation;
            for (const f of OMITEMPTY_STATUS) if (!next[f]) delete next[f];
            cur.status = next;
            return cur;
          },
          'status',
        );
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
      }
    }
    // re-check once pods that are ready may have become available
    if (opts.minReadySeconds > 0 && counts.numberReady !== counts.numberAvailable)
      this.queue.addAfter(keyOf(ds), opts.minReadySeconds * 1000);
  }

  private async event(ds: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    await this.ctx.event({
      component: COMPONENT,
      involvedObject: {
        kind: 'DaemonSet',
        apiVersion: 'apps/v1',
        namespace: ds.metadata.namespace,
        name: ds.metadata.name!,
        uid: ds.metadata.uid!,
        resourceVersion: ds.metadata.resourceVersion,
      },
      type,
      reason,
      message,
    });
  }
}

function dedupe(pods: KubeObject[]): KubeObject[] {
  const seen = new Set<string>();
  return pods.filter((p) => (seen.has(p.metadata.uid!) ? false : (seen.add(p.metadata.uid!), true)));
}
