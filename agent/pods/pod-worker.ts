// One worker per pod: each sync observes the pod's containers, plans (plan.ts) with the
// probe results, acts through the runtime (lifecycle hooks around starts and kills),
// hands the running containers to the probe manager, then reports status if it
// changed. Syncs of one pod never overlap; a trigger during a sync runs one more afterwards.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { KubeObject } from '../../proto/meta.js';
import { canonicalJson } from '../../proto/canonical.js';
import type { Runtime, RuntimeContainer } from '../runtime/types.js';
import { BackOff } from './backoff.js';
import { computePodActions, latestPerName } from './plan.js';
import { computePodStatus, type Waiting } from './status.js';
import { ContainerConfigError, envReferences, resolveEnv, type EnvContext } from './env.js';
import { memoryVolumes, resolveMounts, serviceAccountTokenKey, setUpEmptyDirs, setUpVolumes, tokenReferences, volumeReferences, type ClaimPath, type VolumeSources } from './volumes.js';
import type { TokenManager } from './token-manager.js';
import { claimVolumes, resolveClaim } from './claims.js';
import { setVolumeOwnership } from '../storage/ownership.js';
import { totalmem } from 'node:os';
import { ObjectError, type ObjectKind, type ObjectSource } from './object-cache.js';
import { serviceEnvMap } from './service-env.js';
import type { NetService } from '../../proto/agent-protocol.js';
import { getPodQOS } from '../cgroups/qos.js';
import type { AgentMetrics } from '../metrics.js';
import type { ProbeManager } from '../probes/probe-manager.js';
import { runLifecycleHandler } from '../probes/handlers.js';
import type { ProbedContainer } from '../probes/types.js';
import { resolvConf, type PodDns } from '../network/pod-dns.js';
import { ImageManager } from '../images/image-manager.js';
import { poolIneligibility } from './sandbox-pool-plan.js';
import { rfc3339 } from '../../proto/api/time.js';

/** how stale the ConfigMaps/Secrets behind mounted volumes may get before a sync re-reads them */
export const VOLUME_REFRESH_MS = 30_000;
/** retries of a pod whose claims are not bound yet: 200 ms doubling to 2 s */
const CLAIM_RETRY_MIN_MS = 200;
const CLAIM_RETRY_MAX_MS = 2000;
/** a repeated FailedMount event for the same volume and message at most this often */
const MOUNT_EVENT_INTERVAL_MS = 60_000;

/** kubelet's minimumGracePeriodInSeconds, applied after a preStop hook used up the grace period */
const MIN_GRACE_AFTER_PRESTOP_SECONDS = 2;

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

const ref = (pod: KubeObject) => `${pod.metadata.namespace}/${pod.metadata.name}`;

export class PodWorker {
  private running = false;
  private again = false;
  private stopped = false;
  private waiting: Record<string, Waiting> = {};
  private lastStatus = '';
  private startTime: string;
  private retryTimer?: NodeJS.Timeout;
  /** the next wait before resolving an unbound claim again */
  private claimRetryMs = CLAIM_RETRY_MIN_MS;
  private done = false;
  private pulledOnce = new Set<string>();
  /** aborted when the pod is being deleted: a hanging postStart must not block the kill */
  private hooks = new AbortController();
  private podIP?: string;
  /** configMap/secret/... volumes have been set up once (later syncs refresh them) */
  private volumesSetUp = false;
  /** volumes never set up yet: none of the pod's containers starts until they are (kubelet's WaitForAttachAndMount) */
  private volumesNotReady = new Set<string>();
  private mountEvents = new Map<string, { message: string; at: number }>();
  private volumeWarnings = new Set<string>();
  /** persistentVolumeClaim volumes resolved to their PV's directory (kept for the pod's life, as kubelet keeps a mount) */
  private claimPaths = new Map<string, ClaimPath>();
  /** claims not resolved yet: the pod's containers wait for them */
  private claimsNotReady = new Set<string>();
  /** the pod was evicted by this agent (emptyDir over its sizeLimit): kubelet's message */
  private evictedMessage?: string;

  private readonly images: ImageManager;

  constructor(public pod: KubeObject, private readonly d: WorkerDeps) {
    this.images = d.images ?? new ImageManager({ runtime: d.runtime, backoff: d.backoff, log: d.log, event: d.event, ...(d.objects ? { objects: d.objects } : {}) });
    this.startTime = pod.status?.startTime ?? rfc3339();
  }

  get uid(): string { return this.pod.metadata.uid!; }
  get finished(): boolean { return this.done; }

  update(pod: KubeObject): void {
    this.pod = pod;
    if (pod.metadata.deletionTimestamp) this.hooks.abort();
    this.trigger();
  }

  trigger(): void {
    if (this.stopped) return;
    if (this.running) { this.again = true; return; }
    this.running = true;
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.tokenTimer);
  }

  /** wake up when the first projected token is due for renewal (80 % of its life) */
  private tokenTimer?: NodeJS.Timeout;
  private scheduleTokenRefresh(at: number): void {
    clearTimeout(this.tokenTimer);
    this.tokenTimer = setTimeout(() => this.trigger(), Math.max(1000, at - Date.now()));
    this.tokenTimer.unref();
  }

  /** the tokens of the pod's projected serviceAccountToken sources, by serviceAccountTokenKey */
  private async readTokens(pod: KubeObject): Promise<Map<string, string | Error> | undefined> {
    const refs = tokenReferences(pod);
    const tm = this.d.tokens;
    if (!refs.length || !tm) return undefined;
    const out = new Map<string, string | Error>();
    let next = Infinity;
    for (const t of refs) {
      const spec = {
        namespace: pod.metadata.namespace ?? 'default', serviceAccountName: String(pod.spec?.serviceAccountName ?? 'default'),
        podName: pod.metadata.name!, podUid: pod.metadata.uid!, audience: t.audience, expirationSeconds: t.expirationSeconds,
      };
      try {
        out.set(serviceAccountTokenKey(t), await tm.get(spec));
        next = Math.min(next, tm.refreshAt(spec) ?? Infinity);
      } catch (e) {
        out.set(serviceAccountTokenKey(t), e instanceof Error ? e : new Error(String(e)));
      }
    }
    if (next !== Infinity) this.scheduleTokenRefresh(next);
    return out;
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.again = false;
        try {
          const end = this.d.metrics?.syncDuration.startTimer();
          try {
            await this.sync();
          } finally {
            end?.();
          }
        } catch (err) {
          this.d.log.error({ err, pod: ref(this.pod) }, 'pod sync failed');
          this.scheduleRetry(2000);
        }
      } while (this.again && !this.stopped);
    } finally {
      this.running = false;
    }
  }

  private scheduleRetry(ms: number): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.trigger(), ms);
    this.retryTimer.unref();
  }

  private async observe(): Promise<RuntimeContainer[]> {
    return this.d.runtime.listPodContainers(this.d.node, this.uid);
  }

  async sync(): Promise<void> {
    const pod = this.pod;
    const now = Date.now();
    let observed = await this.observe();
    this.podIP = this.podIPOf(observed);
    const actions = computePodActions(pod as never, observed, this.d.backoff, now, this.d.probes?.snapshot(this.uid));
    const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;

    for (const id of actions.remove) await this.d.runtime.removeContainer(id).catch(() => undefined);

    if (pod.metadata.deletionTimestamp) {
      this.d.probes?.removePod(this.uid);
      await this.killAll(observed, grace, true);
      await this.d.cleanupCgroups(pod).catch((err) => this.d.log.warn({ err, pod: ref(pod) }, 'cgroup cleanup failed'));
      await this.d.runtime.removePodVolumes?.(this.d.node, this.uid).catch((err) => this.d.log.warn({ err, pod: ref(pod) }, 'memory volume removal failed'));
      rmSync(join(this.d.dataDir, 'pods', this.uid), { recursive: true, force: true });
      this.done = true;
      this.d.terminated(pod);
      return;
    }
    if (this.evictedMessage) {
      // evicted: everything stopped at once (kubelet's eviction uses no grace period), never restarted
      await this.killAll(observed, 0, false);
      this.reportStatus(await this.observe());
      return;
    }
    if (actions.killPod) {
      // finished pod (or a restartPolicy=Never pod whose sandbox died): stop what still runs, keep containers for logs
      await this.killAll(observed, grace, false);
    }

    for (const k of actions.kill) {
      const c = observed.find((x) => x.id === k.id);
      if (!c) continue;
      // kubelet's Killing message: the reason when it names the container ("Container app failed liveness probe, will be restarted")
      await this.killContainer(c, k.gracePeriodSeconds ?? grace, k.reason.startsWith(`Container ${k.name} `) ? k.reason : undefined);
    }

    // configMap/secret/downwardAPI/projected volumes: set up before anything starts, refreshed while the pod runs
    // (kubelet's WaitForAttachAndMount: no sandbox, no container until every volume is set up;
    // the containers stay waiting with the default reason, ContainerCreating or PodInitializing)
    if (!actions.killPod) {
      await this.syncVolumes(pod);
      await this.syncClaims(pod);
      try {
        setUpEmptyDirs(pod, this.d.dataDir);
      } catch (err) {
        this.d.log.warn({ err, pod: ref(pod) }, 'emptyDir set-up failed');
      }
    }
    const volumesBlocked = (this.volumesNotReady.size > 0 || this.claimsNotReady.size > 0) && actions.start.length > 0;
    if (volumesBlocked) {
      actions.start = [];
      // a claim is usually bound moments after its pod lands here (the provisioner runs once
      // the scheduler picked this node): look again soon, then less often (kubelet's volume
      // manager polls every 100-300 ms)
      if (this.claimsNotReady.size > 0) {
        this.scheduleRetry(this.claimRetryMs);
        this.claimRetryMs = Math.min(CLAIM_RETRY_MAX_MS, this.claimRetryMs * 2);
      } else this.scheduleRetry(5000);
    } else this.claimRetryMs = CLAIM_RETRY_MIN_MS;

    let sandboxId = actions.sandboxId;
    if (volumesBlocked && actions.createSandbox) {
      sandboxId = undefined;
    } else if (actions.createSandbox && actions.start.length + actions.kill.length > 0) {
      for (const s of observed.filter((c) => c.type === 'sandbox')) await this.d.runtime.removeContainer(s.id).catch(() => undefined);
      let notReady = pod.spec.hostNetwork ? undefined : this.d.networkNotReady?.();
      // a node that just joined sets its network up within a second: wait a little before
      // calling it an error
      for (let i = 0; notReady && i < 30; i++) {
        await new Promise((r) => setTimeout(r, 100));
        notReady = this.d.networkNotReady?.();
      }
      if (notReady) {
        // kubelet: pods other than host-network ones wait for the network plugin
        this.d.event(pod, 'Warning', 'NetworkNotReady', `network is not ready: ${notReady}`);
        for (const c of pod.spec.containers) this.waiting[c.name] = { reason: 'ContainerCreating' };
        this.scheduleRetry(1000);
        sandboxId = undefined;
      } else try {
        await this.d.runtime.ensureImage(this.d.pauseImage, 'IfNotPresent');
        const dns = this.d.dns?.(pod);
        const sbOpts = {
          node: this.d.node, attempt: actions.sandboxAttempt, pauseImage: this.d.pauseImage, network: this.d.network,
          memoryVolumes: memoryVolumes(pod, this.nodeMemory()).map(({ name, sizeBytes }) => ({ name, sizeBytes })),
          ...(dns ? { dns: { servers: dns.servers, searches: dns.searches, options: dns.options }, resolvConf: resolvConf(dns) } : {}),
        };
        // a ready sandbox from the node's pool when the pod needs nothing it lacks; a fresh one otherwise
        let adopted: string | undefined;
        const pooled = this.d.sandboxPool && this.d.runtime.adoptSandbox && !poolIneligibility(pod) ? this.d.sandboxPool.take() : undefined;
        if (pooled) {
          try {
            adopted = (await this.d.runtime.adoptSandbox!(pooled, pod as never, sbOpts)).id;
          } catch (err) {
            this.d.log.warn({ err, pod: ref(pod), sandbox: pooled }, 'adopting a pooled sandbox failed: making one');
            await this.d.runtime.removeContainer(pooled).catch(() => undefined);
          }
        }
        sandboxId = adopted ?? (await this.d.runtime.createSandbox(pod as never, sbOpts)).id;
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        this.d.event(pod, 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${msg}`);
        for (const c of pod.spec.containers) this.waiting[c.name] = { reason: 'ContainerCreating' };
        this.scheduleRetry(5000);
        sandboxId = undefined;
      }
    }

    const waiting: Record<string, Waiting> = {};
    for (const [name, message] of Object.entries(actions.backingOff)) waiting[name] = { reason: 'CrashLoopBackOff', message };
    if (Object.keys(actions.backingOff).length) {
      const key = Object.keys(actions.backingOff)[0]!;
      const latest = latestPerName(observed).get(key)?.[0];
      const finished = Date.parse(latest?.finishedAt ?? '') || now;
      this.scheduleRetry(Math.max(200, this.d.backoff.remainingMs(`${this.uid}/${key}`, finished, now) + 50));
      for (const name of Object.keys(actions.backingOff)) this.d.event(pod, 'Warning', 'BackOff', 'Back-off restarting failed container', `spec.containers{${name}}`);
    }

    if (sandboxId) {
      const sandbox = (await this.observe()).find((c) => c.id === sandboxId);
      for (const s of actions.start) {
        const w = await this.startContainer(pod, sandboxId, sandbox?.ip, s.name, s.attempt, s.init, now);
        if (w) waiting[s.name] = w;
      }
    }
    this.waiting = waiting;
    observed = await this.observe();
    this.podIP = this.podIPOf(observed);
    this.d.probes?.sync(pod, observed, this.podIP);
    this.reportStatus(observed);
  }

  private podIPOf(observed: RuntimeContainer[]): string | undefined {
    const sandbox = observed.filter((c) => c.type === 'sandbox' && c.state === 'running').sort((a, b) => b.attempt - a.attempt)[0];
    if (!sandbox) return undefined;
    return sandbox.ip ?? (this.pod.spec?.hostNetwork ? this.d.hostIP() : undefined);
  }

  private specOf(name: string): { spec?: ProbedContainer; fieldPath: string } {
    const app = (this.pod.spec?.containers ?? []).find((c: { name: string }) => c.name === name);
    if (app) return { spec: app, fieldPath: `spec.containers{${name}}` };
    const init = (this.pod.spec?.initContainers ?? []).find((c: { name: string }) => c.name === name);
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
        await runLifecycleHandler(preStop, { runtime: this.d.runtime, containerId: c.id, container: spec, podIP: this.podIP, podRef: this.podRef() }, { timeoutMs: grace * 1000 });
      } catch (err) {
        if (Date.now() - t0 >= grace * 1000) {
          this.d.log.info({ pod: ref(this.pod), container: c.containerName, grace }, 'preStop hook did not complete within the grace period');
        } else {
          this.d.log.warn({ pod: ref(this.pod), container: c.containerName, err: (err as Error).message }, 'preStop hook failed');
          // kubelet keeps the hook's output out of the event (it may hold secrets)
          this.d.event(this.pod, 'Warning', 'FailedPreStopHook', 'PreStopHook failed', fieldPath);
        }
      }
      grace = Math.max(MIN_GRACE_AFTER_PRESTOP_SECONDS, grace - Math.floor((Date.now() - t0) / 1000));
    }
    await this.d.runtime.stopContainer(c.id, grace);
  }

  private async startContainer(pod: KubeObject, sandboxId: string, podIP: string | undefined, name: string, attempt: number, init: boolean, now: number): Promise<Waiting | undefined> {
    const spec = (init ? pod.spec.initContainers : pod.spec.containers)?.find((c: { name: string }) => c.name === name);
    if (!spec) return undefined;
    const fieldPath = `spec.${init ? 'initContainers' : 'containers'}{${name}}`;
    const image: string = spec.image;
    // present per pull policy, or pulled with the pod's imagePullSecrets (agent/images)
    const img = await this.images.ensureImageExists(pod, { name, image, imagePullPolicy: spec.imagePullPolicy }, fieldPath);
    if (!img.ok) {
      this.scheduleRetry(img.retryMs);
      return { reason: img.reason, message: img.message };
    }
    if (!img.pulled && !this.pulledOnce.has(name)) this.d.event(pod, 'Normal', 'Pulled', `Container image "${image}" already present on machine`, fieldPath);
    this.pulledOnce.add(name);
    let env: Record<string, string>;
    let mounts;
    try {
      env = await this.containerEnv(pod, spec, { podIP: podIP ?? '', hostIP: this.d.hostIP(), nodeName: this.d.node }, fieldPath);
      mounts = resolveMounts(pod, spec, this.d.dataDir, this.claimPaths, this.nodeMemory());
      for (const m of mounts) if (m.create) mkdirSync(m.hostPath, { recursive: true });
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      this.d.event(pod, 'Warning', 'Failed', `Error: ${msg}`, fieldPath);
      this.scheduleRetry(10_000);
      return { reason: 'CreateContainerConfigError', message: msg };
    }
    let id: string;
    try {
      if (attempt > 0) this.d.backoff.next(`${this.uid}/${name}`, now);
      id = await this.d.runtime.createContainer(sandboxId, pod as never, spec, attempt, env, { node: this.d.node, mounts: mounts.map(({ create: _c, ...m }) => m) });
      this.d.event(pod, 'Normal', 'Created', `Created container ${name}`, fieldPath);
      await this.d.runtime.startContainer(id);
      this.d.metrics?.containerStarts.inc();
      if (attempt > 0) this.d.metrics?.containerRestarts.inc();
      this.d.event(pod, 'Normal', 'Started', `Started container ${name}`, fieldPath);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      this.d.event(pod, 'Warning', 'Failed', `Error: ${msg}`, fieldPath);
      this.scheduleRetry(5000);
      return { reason: 'RunContainerError', message: msg };
    }
    const postStart = (spec as ProbedContainer).lifecycle?.postStart;
    if (!postStart) return undefined;
    try {
      await runLifecycleHandler(postStart, { runtime: this.d.runtime, containerId: id, container: spec, podIP: podIP ?? this.podIP, podRef: this.podRef() }, { signal: this.hooks.signal });
      return undefined;
    } catch (err) {
      // kubelet: the event says only "PostStartHook failed"; the container is killed and restarts per restartPolicy
      const msg = err instanceof Error ? err.message : String(err);
      this.d.log.warn({ pod: ref(pod), container: name, err: msg }, 'postStart hook failed');
      this.d.event(pod, 'Warning', 'FailedPostStartHook', 'PostStartHook failed', fieldPath);
      if (!this.hooks.signal.aborted) {
        const c = await this.d.runtime.inspect(id).catch(() => undefined);
        const grace = pod.spec?.terminationGracePeriodSeconds ?? 30;
        if (c) await this.killContainer(c, grace, 'FailedPostStartHook').catch((e) => this.d.log.warn({ err: e, id }, 'stop failed'));
      }
      return { reason: 'PostStartHookError', message: msg };
    }
  }

  /** read what the container's environment references (fresh, cached only when the server cannot be asked), then resolve it */
  private async containerEnv(pod: KubeObject, spec: any, ctx: EnvContext, fieldPath: string): Promise<Record<string, string>> {
    const ns = pod.metadata.namespace ?? 'default';
    const refs = envReferences(spec);
    const read = async (kind: ObjectKind, names: Set<string>) => {
      const m = new Map<string, KubeObject | null>();
      for (const name of names) {
        if (!this.d.objects) throw new ContainerConfigError(`cannot read ${kind.toLowerCase()} "${name}": the agent has no connection to the API`);
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
      if (!list) throw new ContainerConfigError('services have not yet been read at least once, cannot construct envvars');
      services = serviceEnvMap(list, ns, pod.spec?.enableServiceLinks !== false);
    }
    const r = resolveEnv(pod, spec, ctx, { configMaps, secrets, services });
    for (const w of r.warnings) this.d.event(pod, 'Warning', w.reason, w.message, fieldPath);
    return r.env;
  }

  /**
   * Set up or refresh the pod's configMap/secret/downwardAPI/projected volumes: the first
   * time with freshly read objects, then re-reading them when older than the refresh period.
   * Failures are FailedMount events (kubelet's "MountVolume.SetUp failed for volume ...").
   */
  private async syncVolumes(pod: KubeObject): Promise<void> {
    const written = (pod.spec?.volumes ?? []).filter((v: any) => v?.configMap || v?.secret || v?.downwardAPI || v?.projected);
    if (!written.length) return;
    const now = Date.now();
    // first set-up: fresh objects; afterwards the cache re-reads those older than the refresh period
    const maxAge = this.volumesSetUp && !this.volumesNotReady.size ? (this.d.volumeRefreshMs ?? VOLUME_REFRESH_MS) : 0;
    const ns = pod.metadata.namespace ?? 'default';
    const refs = volumeReferences(pod);
    const read = async (kind: ObjectKind, names: Set<string>) => {
      const m = new Map<string, KubeObject | null | Error>();
      await Promise.all([...names].map(async (name) => {
        if (!this.d.objects) { m.set(name, new Error(`cannot read ${kind.toLowerCase()} "${name}": the agent has no connection to the API`)); return; }
        try { m.set(name, await this.d.objects.get(kind, ns, name, maxAge)); } catch (e) { m.set(name, e instanceof Error ? e : new Error(String(e))); }
      }));
      return m;
    };
    const tokens = await this.readTokens(pod);
    const sources: VolumeSources = { configMaps: await read('ConfigMap', refs.configMaps), secrets: await read('Secret', refs.secrets), ...(tokens ? { tokens } : {}) };
    const r = setUpVolumes(pod, this.d.dataDir, sources, { podIP: this.podIP ?? '', hostIP: this.d.hostIP(), nodeName: this.d.node });
    this.volumesNotReady = new Set(r.notReady);
    if (r.written.length && this.volumesSetUp) this.d.log.info({ pod: ref(pod), volumes: r.written }, 'volumes updated');
    this.volumesSetUp = true;
    for (const e of r.errors) {
      const key = e.volume;
      const last = this.mountEvents.get(key);
      if (last && last.message === e.message && now - last.at < MOUNT_EVENT_INTERVAL_MS) continue;
      this.mountEvents.set(key, { message: e.message, at: now });
      this.d.event(pod, 'Warning', 'FailedMount', `MountVolume.SetUp failed for volume "${e.volume}" : ${e.message}`);
    }
    for (const v of r.written) this.mountEvents.delete(v);
    for (const w of r.warnings) {
      if (this.volumeWarnings.has(w.message)) continue;
      this.volumeWarnings.add(w.message);
      this.d.event(pod, 'Warning', w.reason, w.message);
    }
  }

  private nodeMemory(): number {
    return this.d.nodeAllocatableMemoryBytes?.() ?? totalmem();
  }

  /**
   * Resolve the pod's persistentVolumeClaim volumes (claim -> bound PV -> directory) until
   * each is; then set the volume's ownership for the pod's fsGroup (local PVs, as kubelet's
   * local plugin; not hostPath ones). Unresolved claims keep the pod's containers waiting,
   * with kubelet's FailedMount event.
   */
  private async syncClaims(pod: KubeObject): Promise<void> {
    const claims = claimVolumes(pod).filter((c) => !this.claimPaths.has(c.volume));
    this.claimsNotReady = new Set(claims.map((c) => c.volume));
    if (!claims.length) return;
    const ns = pod.metadata.namespace ?? 'default';
    const errors: string[] = [];
    for (const c of claims) {
      try {
        if (!this.d.objects) throw new Error(`error processing PVC ${ns}/${c.claimName}: the agent has no connection to the API`);
        const objects = this.d.objects;
        const r = await resolveClaim(ns, c.claimName, (kind, namespace, name) => objects.get(kind, namespace, name, 0));
        const fsGroup = pod.spec?.securityContext?.fsGroup;
        if (r.create) mkdirSync(r.path, { recursive: true });
        if (typeof fsGroup === 'number' && r.source === 'local') {
          // bounded: the walk is synchronous, a volume of millions of files must not stall the agent
          const o = setVolumeOwnership(r.path, fsGroup, { policy: pod.spec?.securityContext?.fsGroupChangePolicy, maxEntries: 100_000 });
          if (!o.complete) this.d.log.warn({ pod: ref(pod), volume: c.volume, changed: o.changed }, 'fsGroup ownership: volume too large, walk stopped');
        }
        this.claimPaths.set(c.volume, { path: r.path, create: false });
        this.claimsNotReady.delete(c.volume);
        this.mountEvents.delete(`claim/${c.volume}`);
      } catch (e) {
        errors.push(e instanceof Error ? e.message : String(e));
      }
    }
    if (!errors.length) return;
    const pending = [...this.claimsNotReady].sort();
    // kubelet's WaitForAttachAndMount error, with the populator's reason
    const message = `Unable to attach or mount volumes: unmounted volumes=[${pending.join(' ')}], unattached volumes=[], failed to process volumes=[${pending.join(' ')}]: ${errors.join('; ')}`;
    const key = `claim/${pending.join(',')}`;
    const now = Date.now();
    const last = this.mountEvents.get(key);
    if (last && last.message === message && now - last.at < MOUNT_EVENT_INTERVAL_MS) return;
    this.mountEvents.set(key, { message, at: now });
    this.d.event(pod, 'Warning', 'FailedMount', message);
  }

  /** the eviction manager's verdict: stop everything now and report the pod Failed/Evicted */
  evict(message: string): void {
    if (this.evictedMessage || this.stopped) return;
    this.evictedMessage = message;
    this.d.log.warn({ pod: ref(this.pod), message }, 'evicting pod');
    this.d.event(this.pod, 'Warning', 'Evicted', message);
    this.trigger();
  }

  get evicted(): boolean { return this.evictedMessage !== undefined; }

  private async killAll(observed: RuntimeContainer[], grace: number, remove: boolean): Promise<void> {
    const containers = observed.filter((c) => c.type === 'container');
    await Promise.all(containers.filter((c) => c.state === 'running').map((c) =>
      this.killContainer(c, grace).catch((err) => this.d.log.warn({ err, id: c.id }, 'stop failed'))));
    for (const s of observed.filter((c) => c.type === 'sandbox' && c.state === 'running')) await this.d.runtime.stopContainer(s.id, 0).catch(() => undefined);
    if (remove) for (const c of observed) await this.d.runtime.removeContainer(c.id).catch(() => undefined);
  }

  private reportStatus(observed: RuntimeContainer[]): void {
    const pod = this.pod;
    const status = computePodStatus({
      pod: pod as never, observed, hostIP: this.d.hostIP(), waiting: this.waiting, startTime: this.startTime,
      qosClass: pod.status?.qosClass ?? getPodQOS(pod as never), now: rfc3339(), previous: pod.status,
      probes: this.d.probes?.snapshot(this.uid),
    });
    if (this.evictedMessage) {
      // kubelet's evictPod: phase Failed, reason Evicted, and the DisruptionTarget condition
      status.phase = 'Failed';
      status.reason = 'Evicted';
      status.message = this.evictedMessage;
      const now = rfc3339();
      const prev = (pod.status?.conditions ?? []).find((c: { type: string }) => c.type === 'DisruptionTarget');
      const conditions = (status.conditions as Array<Record<string, unknown>>).filter((c) => c.type !== 'DisruptionTarget');
      conditions.push({ type: 'DisruptionTarget', status: 'True', lastProbeTime: null, lastTransitionTime: prev?.status === 'True' ? prev.lastTransitionTime : now, reason: 'TerminationByKubelet', message: this.evictedMessage });
      for (const c of conditions) if ((c.type === 'Ready' || c.type === 'ContainersReady') && c.status === 'True') { c.status = 'False'; c.reason = 'PodFailed'; c.lastTransitionTime = now; }
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
