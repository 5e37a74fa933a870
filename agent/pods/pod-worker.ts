// One worker per pod (kubelet's pod worker): a sync observes the pod's containers and
// returns when to come back and why (SyncResult); the worker keeps one timer per pod, set
// from the latest result. A running pod's sync (syncPod) sets up its volumes, plans
// (plan.ts: actions, then the volume and network gates), acts through the runtime
// (lifecycle hooks around starts and kills), hands the running containers to the probe
// manager and reports status if it changed. A deleted pod is stopped (syncTerminatingPod),
// then cleaned up (syncTerminatedPod); an evicted one is stopped and reported Failed.
// Syncs of one pod never overlap; a trigger during a sync runs one more afterwards.
// Map of the code base: ARCHITECTURE.md, "The flow of one pod".
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { totalmem } from 'node:os';
import type { Logger } from 'pino';
import type { KubeObject } from '../../proto/meta.js';
import type { Container } from '../../proto/api/types.gen.js';
import { canonicalJson } from '../../proto/canonical.js';
import { rfc3339 } from '../../proto/api/time.js';
import type { NetService } from '../../proto/agent-protocol.js';
import type { Runtime, RuntimeContainer } from '../runtime/types.js';
import type { BackOff } from './backoff.js';
import {
  backOffRequeue,
  CLAIM_RETRY_MIN_MS,
  computePodActions,
  garbageContainers,
  gateOnNetwork,
  gateOnVolumes,
  soonest,
  SYNCED,
  type StartAction,
  type SyncResult,
} from './plan.js';
import { computePodStatus, type Waiting } from './status.js';
import { ContainerConfigError, envReferences, resolveEnv, type EnvContext } from './env.js';
import { memoryVolumes, resolveMounts } from './volumes.js';
import { PodVolumes } from './pod-volumes.js';
import type { TokenManager } from './token-manager.js';
import { ObjectError, type ObjectKind, type ObjectSource } from './object-cache.js';
import { serviceEnvMap } from './service-env.js';
import { getPodQOS } from '../cgroups/qos.js';
import type { AgentMetrics } from '../metrics.js';
import type { ProbeManager } from '../probes/probe-manager.js';
import { runLifecycleHandler } from '../probes/handlers.js';
import { resolvConf, type PodDns } from '../network/pod-dns.js';
import { ImageManager } from '../images/image-manager.js';
import { poolIneligibility } from './sandbox-pool-plan.js';

export { VOLUME_REFRESH_MS } from './pod-volumes.js';

/** kubelet's minimumGracePeriodInSeconds, applied after a preStop hook used up the grace period */
const MIN_GRACE_AFTER_PRESTOP_SECONDS = 2;
/** a sync that threw comes back after this */
const SYNC_ERROR_RETRY_MS = 2000;
/** a node that just joined sets its network up within a second: wait up to this long before calling it an error */
const NETWORK_WAIT_STEPS = 30;
const NETWORK_WAIT_STEP_MS = 100;
const SANDBOX_RETRY_MS = 5000;
const CONFIG_ERROR_RETRY_MS = 10_000;
const RUN_ERROR_RETRY_MS = 5000;

export interface WorkerDeps {
  runtime: Runtime;
  node: string;
  hostIP: () => string;
  dataDir: string;
  pauseImage: string;
  network?: string;
  /** the pod's resolver settings (cluster DNS), undefined for the runtime's default */
  dns?: (pod: KubeObject) => PodDns | undefined;
  /** why pod networking is not ready yet (no pod subnet, bridge not created), undefined once it is */
  networkNotReady?: () => string | undefined;
  /** the node's ready sandboxes (--sandbox-pool): take() gives one away */
  sandboxPool?: { take(): string | undefined };
  backoff: BackOff;
  log: Logger;
  report(pod: KubeObject, status: Record<string, unknown>): void;
  event(pod: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string, fieldPath?: string): void;
  /** everything of a deleted pod is gone: tell the server */
  terminated(pod: KubeObject): void;
  cleanupCgroups(pod: KubeObject): Promise<void>;
  metrics?: AgentMetrics;
  /** liveness/readiness/startup probes; none in tests that do not need them */
  probes?: ProbeManager;
  /** ConfigMaps and Secrets through the server (object-cache.ts); without it pods that need them cannot start */
  objects?: ObjectSource;
  /**
   * the cluster's Services for service link variables, waiting a little for the first network
   * state; undefined when none has arrived (kubelet: "services have not yet been read").
   * Without this dependency containers get no service variables.
   */
  services?: () => Promise<readonly NetService[] | undefined>;
  /** re-read period of mounted ConfigMaps/Secrets (default VOLUME_REFRESH_MS) */
  volumeRefreshMs?: number;
  /** ServiceAccount tokens for projected serviceAccountToken sources (token-manager.ts); without it they are skipped with an event */
  tokens?: TokenManager;
  /** the node's allocatable memory: the size of a memory-backed emptyDir without a smaller limit (default: the machine's memory) */
  nodeAllocatableMemoryBytes?: () => number;
  /** the node's image pulls (shared in-flight pulls, pull secrets); default: one of the worker's own */
  images?: ImageManager;
}

const ref = (pod: KubeObject<'Pod'>) => `${pod.metadata.namespace}/${pod.metadata.name}`;
const errText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** a container start that did not get the container running: its waiting state, and when to try again */
interface StartOutcome {
  waiting?: Waiting;
  requeue?: SyncResult;
}

export class PodWorker {
  private running = false;
  private again = false;
  private stopped = false;
  private waiting: Record<string, Waiting> = {};
  private lastStatus = '';
  private startTime: string;
  /** the one timer of this pod: the latest sync's requeueAfter */
  private timer?: NodeJS.Timeout;
  /** what the latest sync returned */
  private last: SyncResult = SYNCED;
  /** the next wait before resolving an unbound claim again */
  private claimRetryMs = CLAIM_RETRY_MIN_MS;
  private done = false;
  private pulledOnce = new Set<string>();
  /** aborted when the pod is being deleted: a hanging postStart must not block the kill */
  private hooks = new AbortController();
  private podIP?: string;
  private readonly volumes: PodVolumes;
  /** the pod was evicted by this agent (emptyDir over its sizeLimit): kubelet's message */
  private evictedMessage?: string;

  private readonly images: ImageManager;

  constructor(
    public pod: KubeObject<'Pod'>,
    private readonly d: WorkerDeps,
  ) {
    this.images =
      d.images ??
      new ImageManager({
        runtime: d.runtime,
        backoff: d.backoff,
        log: d.log,
        event: d.event,
        ...(d.objects ? { objects: d.objects } : {}),
      });
    this.volumes = new PodVolumes(d);
    this.startTime = pod.status?.startTime ?? rfc3339();
  }

  get uid(): string {
    return this.pod.metadata.uid;
  }
  get finished(): boolean {
    return this.done;
  }
  /** what the latest sync returned: when the worker comes back by itself, and why */
  get lastResult(): SyncResult {
    return this.last;
  }

  update(pod: KubeObject<'Pod'>): void {
    this.pod = pod;
    if (pod.metadata.deletionTimestamp) this.hooks.abort();
    this.trigger();
  }

  trigger(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.again = false;
        let result: SyncResult;
        const end = this.d.metrics?.syncDuration.startTimer();
        try {
          result = await this.sync();
        } catch (err) {
          this.d.log.error({ err, pod: ref(this.pod) }, 'pod sync failed');
          result = { requeueAfter: SYNC_ERROR_RETRY_MS, reason: 'SyncError' };
        } finally {
          end?.();
        }
        this.wrapUp(result);
      } while (this.again && !this.stopped);
    } finally {
      this.running = false;
    }
  }

  /** kubelet's completeWork: the pod comes back when its latest sync asked, one timer per pod */
  private wrapUp(result: SyncResult): void {
    this.last = result;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (result.requeueAfter === undefined || this.stopped) return;
    this.timer = setTimeout(() => this.trigger(), result.requeueAfter);
    this.timer.unref();
  }

  private async observe(): Promise<RuntimeContainer[]> {
    return this.d.runtime.listPodContainers(this.d.node, this.uid);
  }

  /** one sync of the pod, by where it is in its life (kubelet's SyncPod / SyncTerminatingPod / SyncTerminatedPod) */
  async sync(): Promise<SyncResult> {
    const observed = await this.observe();
    this.podIP = this.podIPOf(observed);
    if (this.pod.metadata.deletionTimestamp) {
      await this.syncTerminatingPod(observed);
      await this.syncTerminatedPod();
      return { reason: 'Terminated' };
    }
    if (this.evictedMessage) return this.syncEvictedPod(observed);
    return this.syncPod(observed);
  }

  /** the deletion's grace period, else the pod's terminationGracePeriodSeconds */
  private gracePeriod(): number {
    return this.pod.metadata.deletionGracePeriodSeconds ?? this.pod.spec.terminationGracePeriodSeconds ?? 30;
  }

  /** the pod is being deleted: stop every container (grace period, preStop hooks) and remove them and the sandbox */
  private async syncTerminatingPod(observed: RuntimeContainer[]): Promise<void> {
    this.d.probes?.removePod(this.uid);
    await this.killAll(observed, this.gracePeriod(), true);
  }

  /** nothing of the pod runs any more: its cgroups, memory volumes and directory go, then the server is told */
  private async syncTerminatedPod(): Promise<void> {
    const pod = this.pod;
    await this.d.cleanupCgroups(pod).catch((err) => this.d.log.warn({ err, pod: ref(pod) }, 'cgroup cleanup failed'));
    await this.d.runtime
      .removePodVolumes?.(this.d.node, this.uid)
      .catch((err) => this.d.log.warn({ err, pod: ref(pod) }, 'memory volume removal failed'));
    rmSync(join(this.d.dataDir, 'pods', this.uid), { recursive: true, force: true });
    this.done = true;
    this.d.terminated(pod);
  }

  /** evicted: everything stopped at once (kubelet's eviction uses no grace period), never restarted, reported Failed */
  private async syncEvictedPod(observed: RuntimeContainer[]): Promise<SyncResult> {
    for (const id of garbageContainers(observed)) await this.d.runtime.removeContainer(id).catch(() => undefined);
    await this.killAll(observed, 0, false);
    this.reportStatus(await this.observe());
    return SYNCED;
  }

  /** a pod that should run: plan, gate, act, report */
  private async syncPod(observed: RuntimeContainer[]): Promise<SyncResult> {
    const pod = this.pod;
    const now = Date.now();
    const actions = computePodActions(pod, observed, this.d.backoff, now, this.d.probes?.snapshot(this.uid));
    const grace = this.gracePeriod();
    let result = SYNCED;

    for (const id of actions.remove) await this.d.runtime.removeContainer(id).catch(() => undefined);
    if (actions.killPod) {
      // finished pod (or a restartPolicy=Never pod whose sandbox died): stop what still runs, keep containers for logs
      await this.killAll(observed, grace, false);
    }
    for (const k of actions.kill) {
      const c = observed.find((x) => x.id === k.id);
      if (!c) continue;
      // kubelet's Killing message: the reason when it names the container ("Container app failed liveness probe, will be restarted")
      await this.killContainer(
        c,
        k.gracePeriodSeconds ?? grace,
        k.reason.startsWith(`Container ${k.name} `) ? k.reason : undefined,
      );
    }

    // configMap/secret/downwardAPI/projected volumes, claims and emptyDirs: set up before anything starts, refreshed while the pod runs
    const volumes = actions.killPod ? this.volumes.pending() : await this.volumes.sync(pod, this.podIP);
    result = soonest(result, volumes.tokenRefresh);
    const gated = gateOnVolumes(actions, { ...volumes, claimRetryMs: this.claimRetryMs });
    this.claimRetryMs = gated.claimRetryMs;
    result = soonest(result, gated.requeue);

    let sandboxId = gated.sandboxId;
    if (gated.createSandbox) {
      const made = await this.makeSandbox(observed, actions.sandboxAttempt);
      sandboxId = made.sandboxId;
      result = soonest(result, made.requeue);
    }

    const waiting: Record<string, Waiting> = {};
    for (const [name, msg] of Object.entries(actions.backingOff))
      waiting[name] = { reason: 'CrashLoopBackOff', message: msg };
    const backOff = backOffRequeue(this.uid, actions.backingOff, observed, this.d.backoff, now);
    if (backOff) {
      result = soonest(result, backOff);
      for (const name of Object.keys(actions.backingOff))
        this.d.event(pod, 'Warning', 'BackOff', 'Back-off restarting failed container', `spec.containers{${name}}`);
    }

    if (sandboxId) {
      const sandbox = (await this.observe()).find((c) => c.id === sandboxId);
      for (const s of gated.start) {
        const o = await this.startContainer(pod, sandboxId, sandbox?.ip, s, now);
        if (o.waiting) waiting[s.name] = o.waiting;
        result = soonest(result, o.requeue);
      }
    }
    this.waiting = waiting;
    const after = await this.observe();
    this.podIP = this.podIPOf(after);
    this.d.probes?.sync(pod, after, this.podIP);
    this.reportStatus(after);
    return result;
  }

  /**
   * A new sandbox for the pod (the old one removed): once the pod network is ready (the
   * plan's network gate), from the node's pool when the pod needs nothing a pooled one
   * lacks, else a fresh one. Undefined sandboxId: none this sync, requeue says when to try again.
   */
  private async makeSandbox(
    observed: RuntimeContainer[],
    attempt: number,
  ): Promise<{ sandboxId?: string; requeue?: SyncResult }> {
    const pod = this.pod;
    for (const s of observed.filter((c) => c.type === 'sandbox'))
      await this.d.runtime.removeContainer(s.id).catch(() => undefined);
    let notReady = pod.spec.hostNetwork ? undefined : this.d.networkNotReady?.();
    // a node that just joined sets its network up within a second: wait a little before calling it an error
    for (let i = 0; notReady && i < NETWORK_WAIT_STEPS; i++) {
      await new Promise((r) => setTimeout(r, NETWORK_WAIT_STEP_MS));
      notReady = this.d.networkNotReady?.();
    }
    const blocked = gateOnNetwork(pod, notReady);
    if (blocked) {
      this.d.event(pod, 'Warning', 'NetworkNotReady', blocked.message);
      return { requeue: blocked.requeue };
    }
    try {
      await this.d.runtime.ensureImage(this.d.pauseImage, 'IfNotPresent');
      const dns = this.d.dns?.(pod);
      const sbOpts = {
        node: this.d.node,
        attempt,
        pauseImage: this.d.pauseImage,
        network: this.d.network,
        memoryVolumes: memoryVolumes(pod, this.nodeMemory()).map(({ name, sizeBytes }) => ({ name, sizeBytes })),
        ...(dns
          ? { dns: { servers: dns.servers, searches: dns.searches, options: dns.options }, resolvConf: resolvConf(dns) }
          : {}),
      };
      const pooled =
        this.d.sandboxPool && this.d.runtime.adoptSandbox && !poolIneligibility(pod)
          ? this.d.sandboxPool.take()
          : undefined;
      if (pooled && this.d.runtime.adoptSandbox) {
        try {
          return { sandboxId: (await this.d.runtime.adoptSandbox(pooled, pod, sbOpts)).id };
        } catch (err) {
          this.d.log.warn({ err, pod: ref(pod), sandbox: pooled }, 'adopting a pooled sandbox failed: making one');
          await this.d.runtime.removeContainer(pooled).catch(() => undefined);
        }
      }
      return { sandboxId: (await this.d.runtime.createSandbox(pod, sbOpts)).id };
    } catch (err) {
      this.d.event(pod, 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${errText(err)}`);
      return { requeue: { requeueAfter: SANDBOX_RETRY_MS, reason: 'FailedCreatePodSandBox' } };
    }
  }

  private podIPOf(observed: RuntimeContainer[]): string | undefined {
    const sandbox = observed
      .filter((c) => c.type === 'sandbox' && c.state === 'running')
      .sort((a, b) => b.attempt - a.attempt)[0];
    if (!sandbox) return undefined;
    return sandbox.ip ?? (this.pod.spec.hostNetwork ? this.d.hostIP() : undefined);
  }

  private specOf(name: string): { spec?: Container; fieldPath: string } {
    const app = this.pod.spec.containers.find((c) => c.name === name);
    if (app) return { spec: app, fieldPath: `spec.containers{${name}}` };
    const init = (this.pod.spec.initContainers ?? []).find((c) => c.name === name);
    return { spec: init, fieldPath: init ? `spec.initContainers{${name}}` : `spec.containers{${name}}` };
  }

  private podRef(): string {
    return `${this.pod.metadata.name}_${this.pod.metadata.namespace}(${this.uid})`;
  }

  /**
   * kubelet killContainer: the Killing event, then the preStop hook, whose time counts
   * against the grace period, then SIGTERM, and SIGKILL when what is left of the grace
   * period (at least 2 s after a preStop hook, as kubelet) has passed.
   */
  private async killContainer(c: RuntimeContainer, graceSeconds: number, message?: string): Promise<void> {
    const { spec, fieldPath } = this.specOf(c.containerName);
    this.d.event(this.pod, 'Normal', 'Killing', message ?? `Stopping container ${c.containerName}`, fieldPath);
    let grace = graceSeconds;
    const preStop = spec?.lifecycle?.preStop;
    if (preStop && spec && grace > 0 && c.state === 'running') {
      const t0 = Date.now();
      try {
        await runLifecycleHandler(
          preStop,
          { runtime: this.d.runtime, containerId: c.id, container: spec, podIP: this.podIP, podRef: this.podRef() },
          { timeoutMs: grace * 1000 },
        );
      } catch (err) {
        if (Date.now() - t0 >= grace * 1000) {
          this.d.log.info(
            { pod: ref(this.pod), container: c.containerName, grace },
            'preStop hook did not complete within the grace period',
          );
        } else {
          this.d.log.warn(
            { pod: ref(this.pod), container: c.containerName, err: (err as Error).message },
            'preStop hook failed',
          );
          // kubelet keeps the hook's output out of the event (it may hold secrets)
          this.d.event(this.pod, 'Warning', 'FailedPreStopHook', 'PreStopHook failed', fieldPath);
        }
      }
      grace = Math.max(MIN_GRACE_AFTER_PRESTOP_SECONDS, grace - Math.floor((Date.now() - t0) / 1000));
    }
    await this.d.runtime.stopContainer(c.id, grace);
  }

  private async startContainer(
    pod: KubeObject<'Pod'>,
    sandboxId: string,
    podIP: string | undefined,
    s: StartAction,
    now: number,
  ): Promise<StartOutcome> {
    const { name, attempt, init } = s;
    const spec = (init ? pod.spec.initContainers : pod.spec.containers)?.find((c) => c.name === name);
    if (!spec) return {};
    const fieldPath = `spec.${init ? 'initContainers' : 'containers'}{${name}}`;
    const image = spec.image ?? '';
    // present per pull policy, or pulled with the pod's imagePullSecrets (agent/images)
    const img = await this.images.ensureImageExists(
      pod,
      { name, image, imagePullPolicy: spec.imagePullPolicy },
      fieldPath,
    );
    if (!img.ok)
      return {
        waiting: { reason: img.reason, message: img.message },
        requeue: { requeueAfter: img.retryMs, reason: img.reason },
      };
    if (!img.pulled && !this.pulledOnce.has(name))
      this.d.event(pod, 'Normal', 'Pulled', `Container image "${image}" already present on machine`, fieldPath);
    this.pulledOnce.add(name);
    let env: Record<string, string>;
    let mounts;
    try {
      env = await this.containerEnv(
        pod,
        spec,
        { podIP: podIP ?? '', hostIP: this.d.hostIP(), nodeName: this.d.node },
        fieldPath,
      );
      mounts = resolveMounts(pod, spec, this.d.dataDir, this.volumes.claimPaths, this.nodeMemory());
      for (const m of mounts) if (m.create) mkdirSync(m.hostPath, { recursive: true });
    } catch (err) {
      const msg = errText(err);
      this.d.event(pod, 'Warning', 'Failed', `Error: ${msg}`, fieldPath);
      return {
        waiting: { reason: 'CreateContainerConfigError', message: msg },
        requeue: { requeueAfter: CONFIG_ERROR_RETRY_MS, reason: 'CreateContainerConfigError' },
      };
    }
    let id: string;
    try {
      if (attempt > 0) this.d.backoff.next(`${this.uid}/${name}`, now);
      id = await this.d.runtime.createContainer(sandboxId, pod, { ...spec }, attempt, env, {
        node: this.d.node,
        mounts: mounts.map(({ create: _c, ...m }) => m),
      });
      this.d.event(pod, 'Normal', 'Created', `Created container ${name}`, fieldPath);
      await this.d.runtime.startContainer(id);
      this.d.metrics?.containerStarts.inc();
      if (attempt > 0) this.d.metrics?.containerRestarts.inc();
      this.d.event(pod, 'Normal', 'Started', `Started container ${name}`, fieldPath);
    } catch (err) {
      const msg = errText(err);
      this.d.event(pod, 'Warning', 'Failed', `Error: ${msg}`, fieldPath);
      return {
        waiting: { reason: 'RunContainerError', message: msg },
        requeue: { requeueAfter: RUN_ERROR_RETRY_MS, reason: 'RunContainerError' },
      };
    }
    const postStart = spec.lifecycle?.postStart;
    if (!postStart) return {};
    try {
      await runLifecycleHandler(
        postStart,
        {
          runtime: this.d.runtime,
          containerId: id,
          container: spec,
          podIP: podIP ?? this.podIP,
          podRef: this.podRef(),
        },
        { signal: this.hooks.signal },
      );
      return {};
    } catch (err) {
      // kubelet: the event says only "PostStartHook failed"; the container is killed and restarts per restartPolicy
      const msg = errText(err);
      this.d.log.warn({ pod: ref(pod), container: name, err: msg }, 'postStart hook failed');
      this.d.event(pod, 'Warning', 'FailedPostStartHook', 'PostStartHook failed', fieldPath);
      if (!this.hooks.signal.aborted) {
        const c = await this.d.runtime.inspect(id).catch(() => undefined);
        const grace = pod.spec.terminationGracePeriodSeconds ?? 30;
        if (c)
          await this.killContainer(c, grace, 'FailedPostStartHook').catch((e) =>
            this.d.log.warn({ err: e, id }, 'stop failed'),
          );
      }
      return { waiting: { reason: 'PostStartHookError', message: msg } };
    }
  }

  /** read what the container's environment references (fresh, cached only when the server cannot be asked), then resolve it */
  private async containerEnv(
    pod: KubeObject<'Pod'>,
    spec: Container,
    ctx: EnvContext,
    fieldPath: string,
  ): Promise<Record<string, string>> {
    const ns = pod.metadata.namespace ?? 'default';
    const refs = envReferences(spec);
    const read = async (kind: ObjectKind, names: Set<string>) => {
      const m = new Map<string, KubeObject | null>();
      for (const name of names) {
        if (!this.d.objects)
          throw new ContainerConfigError(
            `cannot read ${kind.toLowerCase()} "${name}": the agent has no connection to the API`,
          );
        try {
          m.set(name, await this.d.objects.get(kind, ns, name, 0));
        } catch (e) {
          throw new ContainerConfigError(e instanceof ObjectError ? e.message : String(e));
        }
      }
      return m;
    };
    const configMaps = await read('ConfigMap', refs.configMaps);
    const secrets = await read('Secret', refs.secrets);
    let services: Record<string, string> | undefined;
    if (this.d.services) {
      const list = await this.d.services();
      if (!list)
        throw new ContainerConfigError('services have not yet been read at least once, cannot construct envvars');
      services = serviceEnvMap(list, ns, pod.spec.enableServiceLinks !== false);
    }
    const r = resolveEnv(pod, spec, ctx, { configMaps, secrets, services });
    for (const w of r.warnings) this.d.event(pod, 'Warning', w.reason, w.message, fieldPath);
    return r.env;
  }

  private nodeMemory(): number {
    return this.d.nodeAllocatableMemoryBytes?.() ?? totalmem();
  }

  /** the eviction manager's verdict: stop everything now and report the pod Failed/Evicted */
  evict(message: string): void {
    if (this.evictedMessage || this.stopped) return;
    this.evictedMessage = message;
    this.d.log.warn({ pod: ref(this.pod), message }, 'evicting pod');
    this.d.event(this.pod, 'Warning', 'Evicted', message);
    this.trigger();
  }

  get evicted(): boolean {
    return this.evictedMessage !== undefined;
  }

  private async killAll(observed: RuntimeContainer[], grace: number, remove: boolean): Promise<void> {
    const containers = observed.filter((c) => c.type === 'container');
    await Promise.all(
      containers
        .filter((c) => c.state === 'running')
        .map((c) => this.killContainer(c, grace).catch((err) => this.d.log.warn({ err, id: c.id }, 'stop failed'))),
    );
    for (const s of observed.filter((c) => c.type === 'sandbox' && c.state === 'running'))
      await this.d.runtime.stopContainer(s.id, 0).catch(() => undefined);
    if (remove) for (const c of observed) await this.d.runtime.removeContainer(c.id).catch(() => undefined);
  }

  private reportStatus(observed: RuntimeContainer[]): void {
    const pod = this.pod;
    const status = computePodStatus({
      pod,
      observed,
      hostIP: this.d.hostIP(),
      waiting: this.waiting,
      startTime: this.startTime,
      qosClass: pod.status?.qosClass ?? getPodQOS(pod),
      now: rfc3339(),
      previous: pod.status,
      probes: this.d.probes?.snapshot(this.uid),
    });
    if (this.evictedMessage) {
      // kubelet's evictPod: phase Failed, reason Evicted, and the DisruptionTarget condition
      status.phase = 'Failed';
      status.reason = 'Evicted';
      status.message = this.evictedMessage;
      const now = rfc3339();
      const prev = (pod.status?.conditions ?? []).find((c: { type: string }) => c.type === 'DisruptionTarget');
      const conditions = status.conditions.filter((c) => c.type !== 'DisruptionTarget');
      conditions.push({
        type: 'DisruptionTarget',
        status: 'True',
        lastProbeTime: null,
        lastTransitionTime: prev?.status === 'True' ? prev.lastTransitionTime : now,
        reason: 'TerminationByKubelet',
        message: this.evictedMessage,
      });
      for (const c of conditions)
        if ((c.type === 'Ready' || c.type === 'ContainersReady') && c.status === 'True') {
          c.status = 'False';
          c.reason = 'PodFailed';
          c.lastTransitionTime = now;
        }
      status.conditions = conditions;
    }
    const key = canonicalJson(status);
    if (key === this.lastStatus) return;
    this.lastStatus = key;
    this.d.report(pod, status);
  }

  /** forget the last report so the next sync sends status again (resync / reconnect) */
  resetReported(): void {
    this.lastStatus = '';
  }
}
