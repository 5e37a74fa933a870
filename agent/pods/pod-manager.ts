// The agent's pods: the desired set from the server (full set on connect, then
// upserts and deletes), one PodWorker each, Docker events and a periodic relist
// (PLEG safety net) to wake them, and clean-up of containers no pod owns any more.
// One ProbeManager for all pods: a changed probe result wakes that pod's worker.
import type { Logger } from 'pino';
import type { KubeObject } from '../../proto/meta.js';
import type { Runtime } from '../runtime/types.js';
import { PodWorker, type WorkerDeps } from './pod-worker.js';
import { ProbeManager } from '../probes/probe-manager.js';
import { enforceEmptyDirLimits } from './emptydir-eviction.js';
import { ImageManager } from '../images/image-manager.js';

export interface PodManagerOptions extends Omit<WorkerDeps, 'terminated' | 'probes'> {
  relistIntervalMs?: number;
  /** least time between two runtime-event wake-ups of one pod's worker (default 1 s) */
  eventWakeIntervalMs?: number;
  statusResyncMs?: number;
  terminated(pod: KubeObject): void;
  /** remove cgroups of a pod uid whose spec we no longer have */
  cleanupOrphanCgroups(uid: string): Promise<void>;
  /** how often emptyDir sizeLimits are checked (kubelet's eviction housekeeping, default 10 s; 0: never) */
  emptyDirCheckIntervalMs?: number;
}

export class PodManager {
  private workers = new Map<string, PodWorker>();
  private haveFullSet = false;
  private timers: NodeJS.Timeout[] = [];
  private eventsSub?: { stop(): void };
  private readonly log: Logger;
  readonly probes: ProbeManager;
  /** one for the node: identical concurrent pulls of its pods share one Docker pull */
  readonly images: ImageManager;

  constructor(
    private readonly runtime: Runtime,
    private readonly o: PodManagerOptions,
  ) {
    this.log = o.log;
    this.probes = new ProbeManager({
      runtime,
      log: o.log,
      event: o.event,
      onChange: (uid) => this.workers.get(uid)?.trigger(),
    });
    this.images =
      o.images ??
      new ImageManager({
        runtime,
        backoff: o.backoff,
        log: o.log,
        event: o.event,
        ...(o.objects ? { objects: o.objects } : {}),
      });
  }

  start(): void {
    this.eventsSub = this.runtime.events(
      this.o.node,
      (e) => {
        if (e.podUid) this.wake(e.podUid);
      },
      { onReconnect: () => this.relist() },
    );
    const relist = setInterval(() => this.relist(), this.o.relistIntervalMs ?? 10_000);
    const resync = setInterval(() => {
      for (const w of this.workers.values()) {
        w.resetReported();
        w.trigger();
      }
    }, this.o.statusResyncMs ?? 300_000);
    relist.unref();
    resync.unref();
    this.timers.push(relist, resync);
    const every = this.o.emptyDirCheckIntervalMs ?? 10_000;
    if (every > 0) {
      let checking = false;
      const check = setInterval(() => {
        if (checking) return;
        checking = true;
        enforceEmptyDirLimits(this.workers.values(), this.o.dataDir)
          .catch((err) => this.log.warn({ err }, 'emptyDir usage check failed'))
          .finally(() => {
            checking = false;
          });
      }, every);
      check.unref();
      this.timers.push(check);
    }
  }

  stop(): void {
    this.eventsSub?.stop();
    for (const t of this.timers) clearInterval(t);
    for (const w of this.wakes.values()) clearTimeout(w.timer);
    for (const w of this.workers.values()) w.stop();
    this.probes.stop();
  }

  get size(): number {
    return this.workers.size;
  }
  worker(uid: string): PodWorker | undefined {
    return this.workers.get(uid);
  }
  podByRef(namespace: string, name: string, uid: string): KubeObject<'Pod'> | undefined {
    const w = this.workers.get(uid);
    return w && w.pod.metadata.namespace === namespace && w.pod.metadata.name === name ? w.pod : undefined;
  }

  /** the full set bound to this node: pods missing from it were deleted while we were away */
  setPods(pods: KubeObject<'Pod'>[]): void {
    const uids = new Set(pods.map((p) => p.metadata.uid));
    for (const [uid, w] of this.workers) if (!uids.has(uid)) this.deleted(w.pod);
    for (const p of pods) this.upsert(p);
    for (const w of this.workers.values()) w.resetReported();
    this.haveFullSet = true;
    this.relist();
  }

  upsert(pod: KubeObject<'Pod'>): void {
    if (pod.spec.nodeName !== this.o.node) return;
    const uid = pod.metadata.uid;
    const w = this.workers.get(uid);
    if (w) {
      w.update(pod);
      return;
    }
    const worker = new PodWorker(pod, {
      ...this.o,
      probes: this.probes,
      images: this.images,
      terminated: (p) => this.onTerminated(p),
    });
    this.workers.set(uid, worker);
    worker.trigger();
  }

  /** the pod object is gone from the API (force delete, or deleted while we were away) */
  deleted(pod: KubeObject<'Pod'>): void {
    const w = this.workers.get(pod.metadata.uid);
    if (!w) return;
    const p = { ...w.pod, metadata: { ...w.pod.metadata } };
    p.metadata.deletionTimestamp ??= new Date().toISOString();
    p.metadata.deletionGracePeriodSeconds ??= 0;
    w.update(p);
  }

  deleteByRef(ref: { namespace: string; name: string; uid: string }): void {
    const w = this.workers.get(ref.uid);
    if (w) this.deleted(w.pod);
  }

  /**
   * A runtime event wakes its pod's worker at once, then at most once a second (kubelet's
   * PLEG relists every second): the events a sync causes itself (create, die, destroy of a
   * sandbox that fails to start, e.g. while Docker shuts down) must not spin the worker
   * past the retry delay it chose.
   */
  private wakes = new Map<string, { last: number; timer?: NodeJS.Timeout }>();
  private wake(uid: string): void {
    if (!this.workers.has(uid)) return;
    let s = this.wakes.get(uid);
    if (!s) {
      s = { last: 0 };
      this.wakes.set(uid, s);
    }
    if (s.timer) return;
    const st = s;
    const fire = () => {
      st.timer = undefined;
      st.last = Date.now();
      this.workers.get(uid)?.trigger();
    };
    const wait = st.last + (this.o.eventWakeIntervalMs ?? 1000) - Date.now();
    if (wait <= 0) {
      fire();
      return;
    }
    st.timer = setTimeout(fire, wait);
    st.timer.unref();
  }

  private onTerminated(pod: KubeObject): void {
    const uid = pod.metadata.uid!;
    const w = this.workers.get(uid);
    if (w) {
      w.stop();
      this.workers.delete(uid);
    }
    clearTimeout(this.wakes.get(uid)?.timer);
    this.wakes.delete(uid);
    this.probes.removePod(uid);
    this.o.backoff.forgetPrefix(`${uid}/`);
    this.images.forgetPod(uid);
    this.o.tokens?.forgetPod(uid);
    this.o.terminated(pod);
  }

  private relisting = false;
  relist(): void {
    if (this.relisting) return;
    this.relisting = true;
    void (async () => {
      try {
        for (const w of this.workers.values()) w.trigger();
        if (!this.haveFullSet) return;
        const all = await this.runtime.listPodContainers(this.o.node);
        const orphans = all.filter((c) => !this.workers.has(c.podUid));
        const uids = new Set(orphans.map((c) => c.podUid));
        for (const c of orphans) {
          this.log.info(
            { id: c.id, pod: `${c.namespace}/${c.podName}` },
            'removing container of a pod no longer bound here',
          );
          if (c.state === 'running')
            await this.runtime.stopContainer(c.id, c.type === 'sandbox' ? 0 : 10).catch(() => undefined);
          await this.runtime.removeContainer(c.id).catch(() => undefined);
        }
        for (const uid of uids) {
          await this.o.cleanupOrphanCgroups(uid).catch(() => undefined);
          await this.runtime.removePodVolumes?.(this.o.node, uid).catch(() => undefined);
        }
      } catch (err) {
        this.log.warn({ err }, 'relist failed');
      } finally {
        this.relisting = false;
      }
    })();
  }
}

/** the Pods of a pod set from the server that are Pods (isStoredPod) */
export function storedPods(list: readonly unknown[]): KubeObject<'Pod'>[] {
  const out: KubeObject<'Pod'>[] = [];
  for (const p of list) if (isStoredPod(p)) out.push(p);
  return out;
}

/** a Pod as the server sends it: an object with a spec listing its containers */
export function isStoredPod(o: unknown): o is KubeObject<'Pod'> {
  if (typeof o !== 'object' || o === null || !('spec' in o)) return false;
  const spec = o.spec;
  return typeof spec === 'object' && spec !== null && 'containers' in spec && Array.isArray(spec.containers);
}
