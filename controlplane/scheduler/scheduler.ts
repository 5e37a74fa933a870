// The scheduler loop (kube-scheduler's scheduleOne): watches Nodes and Pods into a
// cache; handlers only enqueue pod keys; one worker pops a key, runs a cycle over a
// snapshot (framework.schedule), binds through the binding subresource and assumes the
// pod onto its node, or records why it fits nowhere (PodScheduled=False/Unschedulable
// and a FailedScheduling Event) and parks it until the cluster changes. A pod that fits
// nowhere may preempt (PostFilter DefaultPreemption, preemption.ts): lower-priority victims
// get DisruptionTarget and are deleted, the pod is nominated to the node and placed there
// once they are gone.
// Map of the code base: ARCHITECTURE.md, "The parts".
import { pino, type Logger } from 'pino';
import { canonicalJson } from '../../proto/canonical.js';
import type { KubeObject } from '../../proto/meta.js';
import type { NodeCondition, PodCondition } from '../../proto/api/types.gen.js';
import { findCondition } from '../../proto/api/conditions.js';
import { ApiError } from '../api/errors.js';
import { rfc3339, type ApiStorage, type WatchEvent } from '../api/storage.js';
import { bindPod } from '../registry/binding.js';
import { findResource } from '../resources/index.js';
import { podKey, SchedulerCache } from './cache.js';
import { EventRecorder } from './events.js';
import { podPriority, schedule, type FitError, type NodeInfo, type NodeSampling, type Profile } from './framework.js';
import { lowerPriorityNominatedPods, planPreemption, preemptionCondition, type Candidate } from './preemption.js';
import { defaultProfile, type Strategy } from './profile.js';
import { SchedulingQueue } from './queue.js';
import { isTerminal } from './resources.js';
import { claimsToAnnotate } from './plugins/volume-binding.js';
import { VolumeCache } from './volume-cache.js';
import { ANN_SELECTED_NODE } from '../storage/match.js';

export const SCHEDULER_NAME = 'default-scheduler';
/** kube-scheduler flushes parked pods periodically; we retry them all every 30 s */
const FLUSH_INTERVAL_MS = 30_000;
/** bindings written at once while the loop goes on scheduling (kube-scheduler runs each in a goroutine) */
const MAX_BINDINGS_IN_FLIGHT = 256;

export interface SchedulerOptions {
  /** the default profile's (default-scheduler) */
  strategy: Strategy;
  /**
   * more profiles (KubeSchedulerConfiguration's profiles): pods whose spec.schedulerName is
   * one of these names are scheduled by this scheduler with that profile's strategy
   */
  profiles?: readonly { schedulerName: string; strategy: Strategy }[];
  log?: Logger;
  now?: () => Date;
  /** tie-breaking among equally good nodes (tests pass a fixed one) */
  random?: () => number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  flushIntervalMs?: number;
  /** each preemption's victim count (scheduler_preemption_victims) */
  onPreemption?: (victims: number) => void;
  /** percentageOfNodesToScore: 0 (default) = adaptive, 100 = filter and score every node */
  percentageOfNodesToScore?: number;
}

/** For Prometheus later: scheduler_schedule_attempts_total and friends. */
export interface SchedulerCounters {
  attempts: number;
  scheduled: number;
  unschedulable: number;
  errors: number;
  lastLatencyMs: number;
  /** PostFilter runs (scheduler_preemption_attempts_total) */
  preemptionAttempts: number;
  /** pods preempted, summed */
  preemptionVictims: number;
}

export type SyncOutcome = 'scheduled' | 'unschedulable' | 'skipped';

/** a cycle's outcome; 'scheduled' carries its binding cycle, still being written */
type CycleOutcome =
  | { outcome: 'unschedulable' | 'skipped' }
  | { outcome: 'scheduled'; binding: Promise<'scheduled' | 'skipped'> };

export class Scheduler {
  readonly counters: SchedulerCounters = {
    attempts: 0,
    scheduled: 0,
    unschedulable: 0,
    errors: 0,
    lastLatencyMs: 0,
    preemptionAttempts: 0,
    preemptionVictims: 0,
  };
  private readonly cache = new SchedulerCache();
  private readonly queue: SchedulingQueue;
  /** the profiles by schedulerName, default-scheduler's first */
  private readonly profiles = new Map<string, { profile: Profile; events: EventRecorder }>();
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly podDef = findResource('', 'v1', 'pods')!;
  private readonly nodeDef = findResource('', 'v1', 'nodes')!;
  private readonly pvcDef = findResource('', 'v1', 'persistentvolumeclaims')!;
  private readonly pdbDef = findResource('policy', 'v1', 'poddisruptionbudgets')!;
  /** PodDisruptionBudgets by namespace/name, for preemption (its PDB lister) */
  private readonly pdbs = new Map<string, KubeObject>();
  private readonly volumes = new VolumeCache();
  private watches: Array<{ cancel(): void }> = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private running = false;
  /** where the next cycle starts filtering (nextStartNodeIndex) */
  private readonly sampling: NodeSampling;
  private readonly bindings = new Set<Promise<unknown>>();

  constructor(
    private readonly storage: ApiStorage,
    private readonly opts: SchedulerOptions,
  ) {
    this.log = opts.log ?? pino({ enabled: false });
    this.now = opts.now ?? (() => new Date());
    this.profiles.set(SCHEDULER_NAME, {
      profile: defaultProfile(opts.strategy),
      events: new EventRecorder(storage, SCHEDULER_NAME, this.now),
    });
    for (const p of opts.profiles ?? []) {
      if (!this.profiles.has(p.schedulerName))
        this.profiles.set(p.schedulerName, {
          profile: defaultProfile(p.strategy),
          events: new EventRecorder(storage, p.schedulerName, this.now),
        });
    }
    this.queue = new SchedulingQueue({
      now: () => Date.now(),
      initialBackoffMs: opts.initialBackoffMs,
      maxBackoffMs: opts.maxBackoffMs,
      priorityOf: (key) => {
        const p = this.cache.getPod(key);
        return p ? podPriority(p) : 0;
      },
    });
    this.sampling = { percentageOfNodesToScore: opts.percentageOfNodesToScore ?? 0, nextStartNodeIndex: 0 };
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    // Nodes first, so the first pods are tried against a full node list. Nodes and pods are
    // the objects every in-process reader shares (read-only; assume copies the pod).
    this.watches.push(
      await this.storage.watch(this.nodeDef, undefined, { resourceVersion: '0', shared: true }, (ev) =>
        this.guard(() => this.onNodeEvent(ev)),
      ),
    );
    // claims, volumes and classes (VolumeBinding): a change may make parked pods fit
    const volumeWatch = (kind: 'claim' | 'volume' | 'class', def: typeof this.nodeDef) =>
      this.storage.watch(def, undefined, { resourceVersion: '0' }, (ev) =>
        this.guard(() => {
          if (this.volumes.apply(kind, ev) && ev.type !== 'DELETED') this.queue.moveAllToActive();
        }),
      );
    this.watches.push(await volumeWatch('class', findResource('storage.k8s.io', 'v1', 'storageclasses')!));
    this.watches.push(await volumeWatch('volume', findResource('', 'v1', 'persistentvolumes')!));
    this.watches.push(await volumeWatch('claim', this.pvcDef));
    this.watches.push(
      await this.storage.watch(this.pdbDef, undefined, { resourceVersion: '0' }, (ev) =>
        this.guard(() => {
          const o = ev.object as KubeObject;
          if (ev.type !== 'ADDED' && ev.type !== 'MODIFIED' && ev.type !== 'DELETED') return;
          const key = podKey(o);
          if (ev.type === 'DELETED') this.pdbs.delete(key);
          else this.pdbs.set(key, o);
        }),
      ),
    );
    this.watches.push(
      await this.storage.watch(this.podDef, undefined, { resourceVersion: '0', shared: true }, (ev) =>
        this.guard(() => this.onPodEvent(ev)),
      ),
    );
    this.flushTimer = setInterval(() => this.queue.moveAllToActive(), this.opts.flushIntervalMs ?? FLUSH_INTERVAL_MS);
    this.flushTimer.unref?.();
    void this.run();
    this.log.info({ strategy: this.opts.strategy }, 'scheduler started');
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    for (const w of this.watches.splice(0)) w.cancel();
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = undefined;
    this.queue.close();
  }

  /** One attempt for one pod, read from the cache, binding included. Throws on API errors (the caller backs off). */
  async syncPod(key: string): Promise<SyncOutcome> {
    const r = await this.scheduleOne(key);
    return r.outcome === 'scheduled' ? r.binding : r.outcome;
  }

  /**
   * The scheduling cycle: pick a node and assume the pod there; the binding cycle (PreBind,
   * Bind, the Scheduled Event) is returned as a promise so the next cycle need not wait
   * for the write, as kube-scheduler binds in a goroutine.
   */
  private async scheduleOne(key: string): Promise<CycleOutcome> {
    const pod = this.cache.getPod(key);
    if (!pod || !this.responsibleFor(pod) || this.cache.isAssumed(key)) return { outcome: 'skipped' };
    const { namespace: ns, name } = pod.metadata as { namespace: string; name: string };
    this.counters.attempts++;
    const started = performance.now();
    const snapshot = this.cache.snapshot();
    const nominated = this.cache.nominated();
    const result = schedule(pod, snapshot, this.profileOf(pod).profile, {
      random: this.opts.random,
      volumes: this.volumes,
      nominated,
      sampling: this.sampling,
    });
    if ('error' in result) {
      // PostFilter: preemption; undefined keeps the nomination as it is, '' clears it
      const nomination = snapshot.length ? await this.preempt(pod, snapshot, nominated, result.error) : undefined;
      this.counters.unschedulable++;
      this.counters.lastLatencyMs = performance.now() - started;
      const message = result.error.message;
      this.log.info({ pod: key, reason: message, nominatedNode: nomination }, 'unable to schedule pod');
      await this.recordUnschedulable(pod, message, nomination);
      return { outcome: 'unschedulable' };
    }
    const claims = claimsToAnnotate(pod, this.volumes, result.node);
    if (claims.length) {
      // the next pod using these claims must see the node chosen: bind before the next cycle
      const outcome = await this.bind(pod, result.node, claims, started);
      return { outcome: 'scheduled', binding: Promise.resolve(outcome) };
    }
    this.cache.assume(pod, result.node);
    const binding = this.bind(pod, result.node, [], started);
    return { outcome: 'scheduled', binding };
  }

  /** The binding cycle: PreBind (claims), Bind, FinishBinding in the cache, the Scheduled Event. */
  private async bind(
    pod: KubeObject,
    node: string,
    claims: readonly KubeObject[],
    started: number,
  ): Promise<'scheduled' | 'skipped'> {
    const key = podKey(pod);
    const { namespace: ns, name } = pod.metadata as { namespace: string; name: string };
    const result = { node };
    let bound: KubeObject | undefined;
    try {
      bound = await this.writeBinding(pod, ns, name, result.node, claims);
      return bound ? 'scheduled' : 'skipped';
    } finally {
      this.cache.finishBinding(pod, bound);
      if (bound) {
        this.counters.scheduled++;
        this.counters.lastLatencyMs = performance.now() - started;
        this.log.debug({ pod: key, node: result.node }, 'bound pod');
        await this.recordEvent(bound, 'Normal', 'Scheduled', `Successfully assigned ${ns}/${name} to ${result.node}`);
      }
    }
  }

  /** PreBind and Bind; undefined when the pod is gone, already bound or going away. */
  private async writeBinding(
    pod: KubeObject,
    ns: string,
    name: string,
    node: string,
    claims: readonly KubeObject[],
  ): Promise<KubeObject | undefined> {
    const result = { node };
    // PreBind (VolumeBinding): record the node on the WaitForFirstConsumer claims it decided
    for (const claim of claims) {
      const updated = await this.storage.guaranteedUpdate(this.pvcDef, ns, claim.metadata.name!, {}, (cur) => {
        if (cur.spec?.volumeName) return cur;
        cur.metadata.annotations = { ...(cur.metadata.annotations ?? {}), [ANN_SELECTED_NODE]: result.node };
        return cur;
      });
      // assume it, as the pod: the next pod using this claim must follow before the watch shows it
      this.volumes.apply('claim', { type: 'MODIFIED', object: updated });
    }
    try {
      return await bindPod(this.storage, ns, name, result.node);
    } catch (e) {
      if (e instanceof ApiError && e.code === 404) return undefined;
      if (e instanceof ApiError && e.code === 409) {
        // Already bound or being deleted: nothing to do. Anything else: retry later.
        const cur = await this.storage.tryGet(this.podDef, ns, name);
        if (!cur || cur.spec?.nodeName || cur.metadata.deletionTimestamp) return undefined;
      }
      throw e;
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      const key = await this.queue.pop();
      if (key === undefined) return;
      const failed = (e: unknown) => {
        this.counters.errors++;
        this.log.error({ err: e, pod: key }, 'error scheduling pod; retrying after back-off');
        this.queue.addBackoff(key);
      };
      try {
        const r = await this.scheduleOne(key);
        if (r.outcome === 'unschedulable') this.queue.addUnschedulable(key);
        else if (r.outcome === 'skipped') this.queue.forget(key);
        if (r.outcome === 'scheduled') {
          // the binding goes on while the next pod is scheduled; the key stays in
          // processing until it ends, so the pod is not tried twice at once
          const p = r.binding
            .then(() => this.queue.forget(key), failed)
            .finally(() => {
              this.bindings.delete(p);
              this.queue.done(key);
            });
          this.bindings.add(p);
          if (this.bindings.size >= MAX_BINDINGS_IN_FLIGHT) await Promise.race(this.bindings);
          continue;
        }
      } catch (e) {
        failed(e);
      }
      this.queue.done(key);
    }
  }

  private onNodeEvent(ev: WatchEvent): void {
    if (ev.type !== 'ADDED' && ev.type !== 'MODIFIED' && ev.type !== 'DELETED') return;
    const node = ev.object as KubeObject;
    if (ev.type === 'DELETED') {
      this.cache.deleteNode(node.metadata.name!);
      return;
    }
    const r = this.cache.upsertNode(node);
    if (r.stale) return;
    if (!r.prev || nodeSchedulingProps(r.prev) !== nodeSchedulingProps(node)) this.queue.moveAllToActive();
  }

  private onPodEvent(ev: WatchEvent): void {
    if (ev.type !== 'ADDED' && ev.type !== 'MODIFIED' && ev.type !== 'DELETED') return;
    const pod = ev.object as KubeObject;
    const key = podKey(pod);
    if (ev.type === 'DELETED') {
      const prev = this.cache.deletePod(pod);
      this.queue.forget(key);
      if (prev?.spec?.nodeName && !isTerminal(prev)) this.queue.moveAllToActive(); // room freed
      return;
    }
    const r = this.cache.upsertPod(pod);
    if (r.stale) return;
    const prev = r.prev;
    if (pod.spec?.nodeName) {
      if (prev?.spec?.nodeName && !isTerminal(prev) && isTerminal(pod)) this.queue.moveAllToActive();
      return;
    }
    // Our own status writes come back as MODIFIED: only spec/metadata changes re-queue.
    if (this.responsibleFor(pod) && (!prev || podSchedulingProps(prev) !== podSchedulingProps(pod)))
      this.queue.add(key);
  }

  /**
   * DefaultPreemption's PostFilter (Evaluator.Preempt): plan, then prepareCandidate — each
   * victim gets DisruptionTarget, is deleted gracefully and gets a Preempted Event; pods of
   * lower priority nominated to the node lose their nomination. Returns the nomination to
   * write (undefined: leave it), and puts what preemption said into the FitError's message.
   */
  private async preempt(
    pod: KubeObject,
    nodeInfos: readonly NodeInfo[],
    nominated: ReadonlyMap<string, readonly KubeObject[]>,
    fitError: FitError,
  ): Promise<string | undefined> {
    this.counters.preemptionAttempts++;
    const plan = planPreemption({
      pod,
      nodeInfos,
      profile: this.profileOf(pod).profile,
      fitError,
      pdbs: [...this.pdbs.values()],
      volumes: this.volumes,
      nominated,
      now: this.now().getTime(),
    });
    if (plan.kind !== 'preempt') {
      fitError.setPostFilterMsg(`preemption: ${plan.message}`);
      return plan.kind === 'none' ? '' : undefined;
    }
    const c = plan.candidate;
    this.log.info(
      { pod: podKey(pod), node: c.node, victims: c.victims.pods.map(podKey) },
      'preempting lower-priority pods',
    );
    for (const victim of c.victims.pods) {
      if (victim.metadata.deletionTimestamp) continue; // graceful deletion already under way
      await this.preemptPod(pod, c, victim);
    }
    this.counters.preemptionVictims += c.victims.pods.length;
    this.opts.onPreemption?.(c.victims.pods.length);
    for (const np of lowerPriorityNominatedPods(pod, c.node, nominated)) {
      try {
        const updated = await this.storage.guaranteedUpdate(
          this.podDef,
          np.metadata.namespace,
          np.metadata.name!,
          {},
          (obj) => {
            if (obj.metadata.uid !== np.metadata.uid || !obj.status?.nominatedNodeName) return obj;
            delete obj.status.nominatedNodeName;
            return obj;
          },
          'status',
        );
        this.cache.upsertPod(updated);
        this.queue.add(podKey(np)); // let it find another place sooner
      } catch (e) {
        this.log.warn({ err: e, pod: podKey(np) }, "cannot clear 'NominatedNodeName' field");
      }
    }
    return c.node;
  }

  /** Evaluator.PreemptPod: DisruptionTarget condition, delete, Event. */
  private async preemptPod(preemptor: KubeObject, c: Candidate, victim: KubeObject): Promise<void> {
    const { namespace: ns, name, uid } = victim.metadata;
    const schedulerName = String(preemptor.spec?.schedulerName ?? SCHEDULER_NAME);
    try {
      await this.storage.guaranteedUpdate(
        this.podDef,
        ns,
        name!,
        {},
        (obj) => {
          if (obj.metadata.uid !== uid) return obj;
          obj.status ??= {};
          const conds: Array<Record<string, unknown>> = Array.isArray(obj.status.conditions)
            ? obj.status.conditions
            : [];
          const prev = conds.find((x) => x?.type === 'DisruptionTarget') as
            | { status?: string; reason?: string; message?: string; lastTransitionTime?: string }
            | undefined;
          const next = preemptionCondition(schedulerName, rfc3339(this.now()), prev);
          if (prev && prev.status === next.status && prev.reason === next.reason && prev.message === next.message)
            return obj;
          obj.status.conditions = [...conds.filter((x) => x?.type !== 'DisruptionTarget'), next];
          return obj;
        },
        'status',
      );
      await this.storage.delete(this.podDef, ns, name!, { preconditions: { uid } });
    } catch (e) {
      if (e instanceof ApiError && (e.code === 404 || e.code === 409)) return; // already gone
      throw e;
    }
    await this.recordEvent(
      victim,
      'Normal',
      'Preempted',
      `Preempted by pod ${preemptor.metadata.uid} on node ${c.node}`,
    );
  }

  private async recordUnschedulable(pod: KubeObject, message: string, nomination?: string): Promise<void> {
    const { namespace: ns, name, uid } = pod.metadata;
    const cur = findCondition<PodCondition>(pod.status?.conditions, 'PodScheduled');
    const nominationChanges = nomination !== undefined && (pod.status?.nominatedNodeName ?? '') !== nomination;
    if (nominationChanges || !(cur?.status === 'False' && cur.reason === 'Unschedulable' && cur.message === message)) {
      try {
        const updated = await this.storage.guaranteedUpdate(
          this.podDef,
          ns,
          name!,
          {},
          (obj) => {
            if (obj.spec?.nodeName || obj.metadata.uid !== uid) return obj;
            setUnschedulableCondition(obj, message, rfc3339(this.now()));
            if (nomination) obj.status.nominatedNodeName = nomination;
            else if (nomination === '') delete obj.status.nominatedNodeName;
            return obj;
          },
          'status',
        );
        // the nomination counts for the next cycles (PodNominator) before the watch shows it
        if (nominationChanges) this.cache.upsertPod(updated);
      } catch (e) {
        if (e instanceof ApiError && e.code === 404) return;
        this.log.warn({ err: e, pod: podKey(pod) }, 'failed to update PodScheduled condition');
      }
    }
    await this.recordEvent(pod, 'Warning', 'FailedScheduling', message);
  }

  /** needsScheduling, for any of this scheduler's profiles */
  private responsibleFor(pod: KubeObject): boolean {
    return needsScheduling(pod, this.profiles);
  }

  /** the profile of the pod's spec.schedulerName (default-scheduler's when it names none of them) */
  private profileOf(pod: KubeObject): { profile: Profile; events: EventRecorder } {
    return this.profiles.get(String(pod.spec?.schedulerName ?? SCHEDULER_NAME)) ?? this.profiles.get(SCHEDULER_NAME)!;
  }

  private async recordEvent(
    pod: KubeObject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    try {
      await this.profileOf(pod).events.record(pod, type, reason, message);
    } catch (e) {
      this.log.warn({ err: e, pod: podKey(pod), reason }, 'failed to record event');
    }
  }

  /** A watch callback must never throw into the store's broadcaster. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.log.error({ err: e }, 'scheduler event handler failed');
    }
  }
}

/** Unbound, ours (its schedulerName one of ours: default-scheduler unless told), not going away, not finished, not gated. */
export function needsScheduling(
  pod: KubeObject,
  schedulerNames: { has(name: string): boolean } = new Set([SCHEDULER_NAME]),
): boolean {
  const spec = pod.spec ?? {};
  if (spec.nodeName || pod.metadata.deletionTimestamp || isTerminal(pod)) return false;
  if (!schedulerNames.has(String(spec.schedulerName ?? SCHEDULER_NAME))) return false;
  return !(Array.isArray(spec.schedulingGates) && spec.schedulingGates.length > 0);
}

/** podutil.UpdatePodCondition: lastTransitionTime moves only when the status does. */
export function setUnschedulableCondition(pod: KubeObject, message: string, now: string): void {
  pod.status ??= {};
  const conds: unknown[] = Array.isArray(pod.status.conditions) ? pod.status.conditions : [];
  const old = findCondition<PodCondition>(conds, 'PodScheduled');
  const i = old ? conds.indexOf(old) : -1;
  const next = {
    type: 'PodScheduled',
    status: 'False',
    lastProbeTime: null,
    lastTransitionTime: old?.status === 'False' && old.lastTransitionTime ? old.lastTransitionTime : now,
    reason: 'Unschedulable',
    message,
  };
  if (i >= 0) conds[i] = next;
  else conds.push(next);
  pod.status.conditions = conds;
}

/** What can change a node's fitness (not heartbeats): kube's nodeSchedulingPropertiesChange. */
function nodeSchedulingProps(n: KubeObject): string {
  const conds = (Array.isArray(n.status?.conditions) ? n.status.conditions : []).map(
    (c: Partial<NodeCondition> | null | undefined) => [c?.type, c?.status],
  );
  return canonicalJson({
    unschedulable: n.spec?.unschedulable ?? false,
    taints: n.spec?.taints ?? [],
    labels: n.metadata.labels ?? {},
    allocatable: n.status?.allocatable ?? {},
    conds,
  });
}

function podSchedulingProps(p: KubeObject): string {
  const m = p.metadata;
  return canonicalJson({
    spec: p.spec ?? {},
    labels: m.labels ?? {},
    annotations: m.annotations ?? {},
    owners: m.ownerReferences ?? [],
    deleting: m.deletionTimestamp ?? '',
  });
}
