// The Runtime on Docker's Engine API (dockerode): the only file in skiff that knows Docker.
// Sandboxes are pause containers holding the pod's network namespace; containers join it.
// Every Docker failure is rethrown as a RuntimeError; no Docker stream can crash the agent.

import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { PassThrough, Readable } from 'node:stream';
import { getPodQOS, containerOOMScoreAdjust, POD_INFRA_OOM_ADJ, type QOSClass } from '../cgroups/qos.js';
import { cgroupfsName, podCgroupParent, qosCgroupName, systemdSliceName, type CgroupDriver } from '../cgroups/cgroup-parents.js';
import { linuxResources, MIN_SHARES } from '../cgroups/resources.js';
import { entrypointAndCmd } from './command.js';
import { familiarRepository, parseImageRef, type ImageRef } from './image-ref.js';
import {
  containerHash,
  DOCKER_TYPE_CONTAINER,
  DOCKER_TYPE_SANDBOX,
  LABEL_CONTAINER_HASH,
  LABEL_CONTAINER_NAME,
  LABEL_DOCKER_TYPE,
  LABEL_NETWORK,
  LABEL_NODE,
  LABEL_POD_NAME,
  LABEL_POOL,
  LABEL_POD_NAMESPACE,
  LABEL_POD_UID,
  LABEL_RESTART_COUNT,
  LABEL_SANDBOX_ATTEMPT,
  LABEL_SANDBOX_ID,
  LABEL_TERMINATION_GRACE,
  nodeLabelFilter,
  SANDBOX_CONTAINER_NAME,
} from './labels.js';
import { containerName, parseName, pooledSandboxName, sandboxName } from './names.js';
import {
  ErrImageNeverPull,
  ErrImagePull,
  RuntimeError,
  type ContainerOptions,
  type ContainerSpec,
  type ContainerState,
  type ContainerStats,
  type EventSubscriptionOptions,
  type ExecOptions,
  type ExecSession,
  type ImageStatus,
  type LogOptions,
  type PodLike,
  type PullAuth,
  type PullPolicy,
  type PullProgress,
  type Runtime,
  type RuntimeContainer,
  type RuntimeEvent,
  type RuntimeEventType,
  type RuntimeInfo,
  type PooledSandboxOptions,
  type Sandbox,
  type SandboxOptions,
  type PodNetworkSpec,
} from './types.js';

export const DEFAULT_PAUSE_IMAGE = 'skiff.local/pause:3.10';
export const DEFAULT_NETWORK = 'bridge';

export interface DockerRuntimeOptions {
  /** Docker socket; default DOCKER_HOST or /var/run/docker.sock (dockerode's defaults). */
  socketPath?: string;
  pauseImage?: string;
  /** Network sandboxes join unless told otherwise. */
  defaultNetwork?: string;
  /** Per-container json-file log rotation, kubelet's defaults (containerLogMaxSize 10Mi, 5 files). */
  logMaxSize?: string;
  logMaxFiles?: number;
  /** Inspect calls in flight at once while listing. */
  listConcurrency?: number;
  /** Set kubelet's oom_score_adj per QoS class (default true). */
  oomScoreAdj?: boolean;
}

const EVENT_TYPES: RuntimeEventType[] = ['create', 'start', 'die', 'oom', 'stop', 'kill', 'destroy'];
const ZERO_TIME = '0001-01-01T00:00:00Z';

// ---------------------------------------------------------------------------------------
// Errors

interface DockerError {
  statusCode?: number;
  json?: unknown;
  message?: string;
  code?: string;
}

/** Docker's own message, without docker-modem's "(HTTP code 404) no such container - " prefix. */
function dockerMessage(e: unknown): string {
  const err = (e ?? {}) as DockerError;
  const j = err.json;
  if (j && typeof j === 'object' && !Buffer.isBuffer(j) && typeof (j as { message?: unknown }).message === 'string') {
    return ((j as { message: string }).message).trim();
  }
  if (typeof j === 'string' && j.trim()) return j.trim();
  const msg = typeof err.message === 'string' ? err.message : String(e);
  const m = /^\(HTTP code \d+\) [^-]*- ([\s\S]*)$/.exec(msg);
  return (m ? m[1] : msg).trim();
}

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'EPIPE', 'ECONNRESET', 'EACCES', 'ETIMEDOUT', 'EHOSTUNREACH']);

export function toRuntimeError(e: unknown, context?: string): RuntimeError {
  if (e instanceof RuntimeError) return e;
  const err = (e ?? {}) as DockerError;
  const msg = dockerMessage(e);
  const withContext = (m: string) => (context ? `${context}: ${m}` : m);
  switch (err.statusCode) {
    case 404:
      return new RuntimeError('NotFound', msg, 404, { cause: e });
    case 409:
      return new RuntimeError('Conflict', msg, 409, { cause: e });
    case 400:
      return new RuntimeError('InvalidArgument', msg, 400, { cause: e });
  }
  if (err.code && UNAVAILABLE_CODES.has(err.code)) {
    return new RuntimeError('Unavailable', withContext(`cannot reach Docker: ${msg}`), undefined, { cause: e });
  }
  return new RuntimeError('RuntimeError', withContext(msg), err.statusCode, { cause: e });
}

async function call<T>(context: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toRuntimeError(e, context);
  }
}

/** End a stream with an error only if someone listens for errors; an unheard 'error' would crash the process. */
function failStream(s: PassThrough, err: Error): void {
  if (s.destroyed) return;
  if (s.listenerCount('error') > 0) s.destroy(err);
  else s.end();
}

function dockerTime(t: string | undefined): string | undefined {
  return !t || t.startsWith('0001-01-01') || t === ZERO_TIME ? undefined : t;
}

function dockerState(status: string | undefined): ContainerState {
  switch (status) {
    case 'created':
      return 'created';
    case 'running':
    case 'paused':
    case 'restarting':
      return 'running';
    case 'exited':
    case 'dead':
    case 'removing':
      return 'exited';
    default:
      return 'unknown';
  }
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function podIdentity(pod: PodLike): { name: string; namespace: string; uid: string } {
  const { name, namespace, uid } = pod.metadata ?? {};
  if (typeof name !== 'string' || !name || typeof uid !== 'string' || !uid) {
    throw new RuntimeError('InvalidArgument', 'pod needs metadata.name and metadata.uid');
  }
  return { name, namespace: typeof namespace === 'string' && namespace ? namespace : 'default', uid };
}

// kubelet truncates hostnames to 63 characters and trims trailing '-' and '.'.
function podHostname(pod: PodLike, podName: string): string {
  const h = (typeof pod.spec?.hostname === 'string' && pod.spec.hostname) || podName;
  return h.length > 63 ? h.slice(0, 63).replace(/[-.]+$/, '') : h;
}

// ---------------------------------------------------------------------------------------

export class DockerRuntime implements Runtime {
  private readonly docker: Docker;
  private readonly pauseImage: string;
  private readonly defaultNetwork: string;
  private readonly logConfig: { Type: string; Config: Record<string, string> };
  private readonly listConcurrency: number;
  private hostFacts?: Promise<{ driver: CgroupDriver; memTotal: number }>;
  private readonly imageIdCache = new Map<string, { value: string; until: number }>();
  private readonly oomScoreAdj: boolean;
  private negativeOomProbe?: Promise<boolean>;

  constructor(opts: DockerRuntimeOptions = {}) {
    this.docker = opts.socketPath ? new Docker({ socketPath: opts.socketPath }) : new Docker();
    this.pauseImage = opts.pauseImage ?? DEFAULT_PAUSE_IMAGE;
    this.defaultNetwork = opts.defaultNetwork ?? DEFAULT_NETWORK;
    this.logConfig = {
      Type: 'json-file',
      Config: { 'max-size': opts.logMaxSize ?? '10m', 'max-file': String(opts.logMaxFiles ?? 5) },
    };
    this.listConcurrency = opts.listConcurrency ?? 8;
    this.oomScoreAdj = opts.oomScoreAdj ?? true;
  }

  // ----- node -------------------------------------------------------------------------

  async info(): Promise<RuntimeInfo> {
    const [info, version] = await call('docker info', () => Promise.all([this.docker.info(), this.docker.version()]));
    const i = info as Record<string, unknown>;
    return {
      runtimeName: 'docker',
      version: String(version.Version ?? i.ServerVersion ?? ''),
      apiVersion: String(version.ApiVersion ?? ''),
      cgroupDriver: i.CgroupDriver === 'systemd' ? 'systemd' : 'cgroupfs',
      cgroupVersion: String(i.CgroupVersion ?? '1') === '2' ? '2' : '1',
      operatingSystem: String(i.OperatingSystem ?? ''),
      osType: String(i.OSType ?? 'linux'),
      kernelVersion: String(i.KernelVersion ?? ''),
      architecture: String(i.Architecture ?? ''),
      ncpu: Number(i.NCPU ?? 0),
      memTotalBytes: Number(i.MemTotal ?? 0),
      dockerRootDir: String(i.DockerRootDir ?? ''),
    };
  }

  /** Cgroup driver and memory size, read once (retried after a failure). */
  private facts(): Promise<{ driver: CgroupDriver; memTotal: number }> {
    if (!this.hostFacts) {
      this.hostFacts = this.info().then(
        (i) => ({ driver: i.cgroupDriver, memTotal: i.memTotalBytes }),
        (e) => {
          this.hostFacts = undefined;
          throw e;
        },
      );
    }
    return this.hostFacts;
  }

  /** The CgroupParent Docker gets for a pod: by QoS class, in the daemon's driver's form. */
  async podCgroupParent(pod: PodLike): Promise<string> {
    const { uid } = podIdentity(pod);
    const { driver } = await this.facts();
    return podCgroupParent(getPodQOS(pod), uid, driver);
  }

  /**
   * The oom_score_adj to ask for. Lowering it below 0 needs CAP_SYS_RESOURCE in the daemon;
   * where Docker lacks it (some sandboxes and nested setups) runc fails the start with
   * "can't get final child's PID from pipe", so negative values are probed once and, if
   * refused, clamped to 0 (which keeps kubelet's order: Guaranteed < Burstable < BestEffort).
   */
  /** `image`: one that is present (the probe must not depend on a registry) */
  private async oomScore(wanted: number, image: string): Promise<number | undefined> {
    if (!this.oomScoreAdj) return undefined;
    if (wanted >= 0) return wanted;
    this.negativeOomProbe ??= this.probeNegativeOom(image);
    return (await this.negativeOomProbe) ? wanted : 0;
  }

  /**
   * Can this engine give containers a negative oom_score_adj? Not without CAP_SYS_RESOURCE
   * (unprivileged or sandboxed dockerd): then runc fails every such start.
   */
  private async probeNegativeOom(image: string): Promise<boolean> {
    let id: string | undefined;
    try {
      const c = await this.docker.createContainer({
        Image: image,
        Labels: { 'io.skiff.probe': 'oom-score-adj' },
        HostConfig: { OomScoreAdj: POD_INFRA_OOM_ADJ, NetworkMode: 'none', RestartPolicy: { Name: 'no' } },
      });
      id = c.id;
      await c.start();
      return true;
    } catch (e) {
      if (id === undefined) {
        // Could not even create the probe: say nothing and retry next time.
        this.negativeOomProbe = undefined;
        return true;
      }
      return false;
    } finally {
      if (id) await this.docker.getContainer(id).remove({ force: true }).catch(() => undefined);
    }
  }

  // ----- images -----------------------------------------------------------------------

  private parseImage(image: string): ImageRef {
    try {
      return parseImageRef(image);
    } catch (e) {
      throw new RuntimeError('InvalidImageName', `Failed to apply default image tag "${image}": ${(e as Error).message}`);
    }
  }

  async imageStatus(image: string): Promise<ImageStatus | undefined> {
    const ref = this.parseImage(image);
    const local = await this.findLocalImage(image, ref);
    return local ? { imageRef: this.imageIdOf(local, ref), size: local.Size ?? 0 } : undefined;
  }

  async pullImage(image: string, auth?: PullAuth, onProgress?: (p: PullProgress) => void): Promise<ImageStatus> {
    const ref = this.parseImage(image);
    await this.pull(ref, onProgress, auth);
    const pulled = await this.findLocalImage(image, ref);
    if (!pulled) throw new ErrImagePull(`image ${ref.normalized} is not present after pulling it`);
    return { imageRef: this.imageIdOf(pulled, ref), size: pulled.Size ?? 0 };
  }

  async ensureImage(image: string, pullPolicy: PullPolicy, onProgress?: (p: PullProgress) => void): Promise<string> {
    const ref = this.parseImage(image);
    if (pullPolicy !== 'Always') {
      const local = await this.findLocalImage(image, ref);
      if (local) return this.imageIdOf(local, ref);
      if (pullPolicy === 'Never') throw new ErrImageNeverPull(image);
    }
    await this.pull(ref, onProgress);
    const pulled = await this.findLocalImage(image, ref);
    if (!pulled) throw new ErrImagePull(`image ${ref.normalized} is not present after pulling it`);
    return this.imageIdOf(pulled, ref);
  }

  private async findLocalImage(image: string, ref: ImageRef): Promise<Docker.ImageInspectInfo | undefined> {
    // The daemon normalises names itself; the normalised form is the fallback for odd inputs.
    for (const name of image === ref.normalized ? [image] : [image, ref.normalized]) {
      try {
        return await this.docker.getImage(name).inspect();
      } catch (e) {
        const re = toRuntimeError(e, `inspect image ${name}`);
        if (re.reason !== 'NotFound') throw re;
      }
    }
    return undefined;
  }

  private imageIdOf(img: Docker.ImageInspectInfo, ref?: ImageRef): string {
    const digests = img.RepoDigests ?? [];
    if (digests.length === 0) return img.Id;
    const wanted = ref ? [ref.repository, familiarRepository(ref)] : [];
    const match = digests.find((d) => wanted.includes(d.slice(0, d.indexOf('@')))) ?? digests[0];
    return `docker-pullable://${match}`;
  }

  private async pull(ref: ImageRef, onProgress?: (p: PullProgress) => void, auth?: PullAuth): Promise<void> {
    let stream: NodeJS.ReadableStream;
    try {
      // credentials travel in the X-Registry-Auth header, never in the URL
      stream = (await this.docker.createImage({
        fromImage: ref.repository,
        tag: ref.digest ?? ref.tag ?? 'latest',
        ...(auth ? { authconfig: { username: auth.username, password: auth.password, ...(auth.email ? { email: auth.email } : {}) } } : {}),
      })) as NodeJS.ReadableStream;
    } catch (e) {
      throw new ErrImagePull(dockerMessage(e), (e as DockerError).statusCode, { cause: e });
    }
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      let failed: string | undefined;
      let settled = false;
      const finish = (err?: string) => {
        if (settled) return;
        settled = true;
        if (err) reject(new ErrImagePull(err));
        else resolve();
      };
      stream.on('data', (chunk: Buffer | string) => {
        buf += chunk.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          let msg: Record<string, unknown>;
          try {
            msg = JSON.parse(line) as Record<string, unknown>;
          } catch {
            continue;
          }
          // Pull failures arrive in-band, with HTTP 200.
          if (typeof msg.error === 'string') failed ??= msg.error;
          else if (msg.errorDetail && typeof (msg.errorDetail as { message?: unknown }).message === 'string') {
            failed ??= (msg.errorDetail as { message: string }).message;
          } else if (onProgress && typeof msg.status === 'string') {
            const detail = (msg.progressDetail ?? {}) as { current?: number; total?: number };
            try {
              onProgress({ status: msg.status, id: typeof msg.id === 'string' ? msg.id : undefined, current: detail.current, total: detail.total });
            } catch {
              // a progress callback must not break the pull
            }
          }
        }
      });
      stream.on('error', (e: Error) => finish(dockerMessage(e)));
      stream.on('end', () => finish(failed));
      stream.on('close', () => finish(failed));
    });
  }

  /**
   * imageID for a container's image id (sha256:...). Cached: a digest answer never changes;
   * a bare id may gain a RepoDigest when the image is pulled by name later, so it expires.
   */
  private async imageIdForId(imageId: string): Promise<string> {
    const hit = this.imageIdCache.get(imageId);
    if (hit && hit.until > Date.now()) return hit.value;
    let value = imageId;
    try {
      value = this.imageIdOf(await this.docker.getImage(imageId).inspect());
    } catch {
      // image gone: its id is still the best answer
    }
    const until = value.startsWith('docker-pullable://') ? Infinity : Date.now() + 60_000;
    if (this.imageIdCache.size > 1000) this.imageIdCache.clear();
    this.imageIdCache.set(imageId, { value, until });
    return value;
  }

  // ----- sandboxes --------------------------------------------------------------------

  async ensurePodNetwork(spec: PodNetworkSpec): Promise<void> {
    const nets = await call('list networks', () => this.docker.listNetworks({ filters: { name: [spec.name] } }));
    const existing = nets.find((n) => n.Name === spec.name);
    if (existing) {
      const cfg = existing.IPAM?.Config?.[0];
      if (cfg?.Subnet === spec.subnet && existing.Driver === 'bridge') return;
      const full = await call(`inspect network ${spec.name}`, () => this.docker.getNetwork(existing.Id).inspect());
      if (Object.keys(full.Containers ?? {}).length) {
        throw new RuntimeError('Conflict', `Docker network ${spec.name} is on ${cfg?.Subnet ?? '?'} with containers attached; this node's pod subnet is now ${spec.subnet}`);
      }
      await call(`remove network ${spec.name}`, () => this.docker.getNetwork(existing.Id).remove());
    }
    await call(`create network ${spec.name}`, () => this.docker.createNetwork({
      Name: spec.name,
      Driver: 'bridge',
      CheckDuplicate: true,
      IPAM: { Driver: 'default', Config: [{ Subnet: spec.subnet, Gateway: spec.gateway }] },
      Options: {
        'com.docker.network.bridge.name': spec.bridge,
        // pod traffic is masqueraded by the agent only when it leaves the cluster network
        'com.docker.network.bridge.enable_ip_masquerade': 'false',
      },
      Labels: { [LABEL_NODE]: spec.node },
    }));
  }

  async createSandbox(pod: PodLike, opts: SandboxOptions): Promise<Sandbox> {
    const { name, namespace, uid } = podIdentity(pod);
    const spec = pod.spec ?? {};
    const attempt = opts.attempt ?? 0;
    const image = opts.pauseImage ?? this.pauseImage;
    await this.ensureImage(image, 'IfNotPresent');
    const cgroupParent = opts.cgroupParent ?? (await this.podCgroupParent(pod));
    const hostNetwork = spec.hostNetwork === true;
    const network = hostNetwork ? 'host' : opts.network ?? this.defaultNetwork;

    // The sandbox owns the pod's host ports (only ports with a hostPort get a binding, as dockershim).
    const exposed: Record<string, {}> = {};
    const bindings: Record<string, Array<{ HostIp?: string; HostPort: string }>> = {};
    if (!hostNetwork) {
      for (const c of spec.containers ?? []) {
        for (const p of c.ports ?? []) {
          if (!p.hostPort) continue;
          const key = `${p.containerPort}/${(p.protocol ?? 'TCP').toLowerCase()}`;
          exposed[key] = {};
          (bindings[key] ??= []).push({ HostIp: p.hostIP || undefined, HostPort: String(p.hostPort) });
        }
      }
    }
    const sysctls: Record<string, string> = {};
    for (const s of spec.securityContext?.sysctls ?? []) sysctls[s.name] = s.value;
    // memory-backed emptyDirs: the sandbox holds each mounted for the pod's life, so what a
    // container wrote survives its restarts and is seen by the pod's other containers
    const volumeMounts: Docker.MountSettings[] = [];
    for (const v of opts.memoryVolumes ?? []) {
      await this.ensureMemoryVolume(v.name, v.sizeBytes, uid, opts.node);
      volumeMounts.push({ Type: 'volume', Source: v.name, Target: `/.skiff/volumes/${v.name}`, VolumeOptions: { NoCopy: true } as Docker.MountSettings['VolumeOptions'] });
    }

    const dockerName = sandboxName(name, namespace, uid, attempt);
    const config: Docker.ContainerCreateOptions = {
      name: dockerName,
      Image: image,
      Hostname: hostNetwork ? undefined : podHostname(pod, name),
      Labels: {
        [LABEL_POD_NAME]: name,
        [LABEL_POD_NAMESPACE]: namespace,
        [LABEL_POD_UID]: uid,
        [LABEL_CONTAINER_NAME]: SANDBOX_CONTAINER_NAME,
        [LABEL_DOCKER_TYPE]: DOCKER_TYPE_SANDBOX,
        [LABEL_NODE]: opts.node,
        [LABEL_NETWORK]: network,
        [LABEL_SANDBOX_ATTEMPT]: String(attempt),
      },
      ExposedPorts: Object.keys(exposed).length ? exposed : undefined,
      HostConfig: {
        NetworkMode: network,
        UTSMode: hostNetwork ? 'host' : undefined,
        // Containers join the sandbox's IPC namespace, which Docker only allows when shareable.
        IpcMode: spec.hostIPC ? 'host' : 'shareable',
        PidMode: spec.hostPID ? 'host' : undefined,
        PortBindings: Object.keys(bindings).length ? bindings : undefined,
        CgroupParent: cgroupParent,
        CpuShares: MIN_SHARES,
        OomScoreAdj: await this.oomScore(POD_INFRA_OOM_ADJ, image),
        Dns: opts.dns?.servers,
        DnsSearch: opts.dns?.searches,
        DnsOptions: opts.dns?.options,
        ExtraHosts: opts.extraHosts,
        Sysctls: Object.keys(sysctls).length ? sysctls : undefined,
        Mounts: volumeMounts.length ? volumeMounts : undefined,
        RestartPolicy: { Name: 'no' },
        LogConfig: this.logConfig,
      },
    };
    const id = await this.createWithConflictRecovery(dockerName, config);
    try {
      await call(`start sandbox ${dockerName}`, () => this.docker.getContainer(id).start());
      const info = await call(`inspect sandbox ${dockerName}`, () => this.docker.getContainer(id).inspect());
      // dockershim's rewriteResolvFile: Docker's embedded resolver (127.0.0.11 on user networks)
      // would hide the search path; the file is only reachable when the engine is local, and
      // Docker's Dns/DnsSearch/DnsOptions above remain the fallback
      if (opts.resolvConf && info.ResolvConfPath) await writeFile(info.ResolvConfPath, opts.resolvConf).catch(() => undefined);
      return { id, name: dockerName, ip: hostNetwork ? undefined : sandboxIp(info, network) };
    } catch (e) {
      await this.removeContainer(id).catch(() => undefined);
      throw toRuntimeError(e);
    }
  }

  // ----- the sandbox pool (--sandbox-pool) ---------------------------------------------

  /**
   * A sandbox for no pod yet: the pause container started on the pod network with the
   * node's and the pool's labels and none of a pod's (Docker cannot add labels later). It
   * sits in the BestEffort QoS cgroup (its pod is not known; pods' containers get their own
   * pod cgroup parent, and skiff sets no pod-level limits the pause would have to be in).
   */
  async createPooledSandbox(opts: PooledSandboxOptions): Promise<Sandbox> {
    const image = opts.pauseImage ?? this.pauseImage;
    await this.ensureImage(image, 'IfNotPresent');
    const { driver } = await this.facts();
    const network = opts.network ?? this.defaultNetwork;
    const suffix = randomBytes(5).toString('hex');
    const dockerName = pooledSandboxName(opts.node, suffix);
    const qosParent = qosCgroupName('BestEffort');
    const config: Docker.ContainerCreateOptions = {
      name: dockerName,
      Image: image,
      Hostname: `skiff-pool-${suffix}`,
      Labels: {
        [LABEL_CONTAINER_NAME]: SANDBOX_CONTAINER_NAME,
        [LABEL_DOCKER_TYPE]: DOCKER_TYPE_SANDBOX,
        [LABEL_NODE]: opts.node,
        [LABEL_NETWORK]: network,
        [LABEL_POOL]: opts.node,
      },
      HostConfig: {
        NetworkMode: network,
        IpcMode: 'shareable',
        CgroupParent: driver === 'systemd' ? systemdSliceName(qosParent) : cgroupfsName(qosParent),
        CpuShares: MIN_SHARES,
        OomScoreAdj: await this.oomScore(POD_INFRA_OOM_ADJ, image),
        RestartPolicy: { Name: 'no' },
        LogConfig: this.logConfig,
      },
    };
    const id = await this.createWithConflictRecovery(dockerName, config);
    try {
      await call(`start sandbox ${dockerName}`, () => this.docker.getContainer(id).start());
      const info = await call(`inspect sandbox ${dockerName}`, () => this.docker.getContainer(id).inspect());
      return { id, name: dockerName, ip: sandboxIp(info, network) };
    } catch (e) {
      await this.removeContainer(id).catch(() => undefined);
      throw toRuntimeError(e);
    }
  }

  async listPooledSandboxes(node: string): Promise<RuntimeContainer[]> {
    const list = await call('list containers', () => this.docker.listContainers({ all: true, filters: { label: [`${LABEL_POOL}=${node}`] } }));
    const idle = list.filter((c) => !parseName(c.Names?.[0] ?? ''));
    const out = await mapLimit(idle, this.listConcurrency, (c) => this.inspect(c.Id).catch(() => undefined));
    return out.filter((c): c is RuntimeContainer => c !== undefined);
  }

  /**
   * A pooled sandbox becomes the pod's: its hostname file, its own line in /etc/hosts and
   * resolv.conf as a sandbox made for the pod would have them (these files, kept by Docker
   * under the container's directory, are shared by every container joining it), then the
   * pod's sandbox name; the rename commits the adoption (a restarted agent finds the pod's
   * sandbox by it). Not changeable: the kernel hostname the pod's containers get (Docker
   * gives every container joining a sandbox's network namespace the hostname the sandbox
   * was created with, and refuses both a Hostname and the kernel.hostname sysctl there).
   */
  async adoptSandbox(id: string, pod: PodLike, opts: SandboxOptions): Promise<Sandbox> {
    const { name, namespace, uid } = podIdentity(pod);
    const info = await call(`inspect sandbox ${id}`, () => this.docker.getContainer(id).inspect());
    const labels = info.Config?.Labels ?? {};
    const network = opts.network ?? this.defaultNetwork;
    if (labels[LABEL_POOL] !== opts.node || parseName(info.Name ?? '') || !info.State?.Running || labels[LABEL_NETWORK] !== network) {
      throw new RuntimeError('Conflict', `${info.Name} is not a running pooled sandbox of node ${opts.node} on network ${network}`);
    }
    if (opts.dns && !opts.resolvConf) throw new RuntimeError('InvalidArgument', 'a pooled sandbox needs the pod\'s resolv.conf text, not resolver settings');
    if (opts.extraHosts?.length || opts.memoryVolumes?.length) throw new RuntimeError('InvalidArgument', 'a pooled sandbox cannot take extra hosts or memory volumes');
    if (!info.HostnamePath || !info.HostsPath || !info.ResolvConfPath) throw new RuntimeError('RuntimeError', `${info.Name} has no hostname, hosts or resolv.conf file`);
    const hostname = podHostname(pod, name);
    const old = info.Config?.Hostname ?? '';
    const hosts = await call(`read ${info.HostsPath}`, () => readFile(info.HostsPath, 'utf8'));
    await call(`write ${info.HostnamePath}`, () => writeFile(info.HostnamePath, `${hostname}\n`));
    await call(`write ${info.HostsPath}`, () => writeFile(info.HostsPath, renameHost(hosts, old, hostname)));
    if (opts.resolvConf) await call(`write ${info.ResolvConfPath}`, () => writeFile(info.ResolvConfPath, opts.resolvConf!));
    const dockerName = sandboxName(name, namespace, uid, opts.attempt ?? 0);
    await call(`rename ${info.Name} to ${dockerName}`, () => this.docker.getContainer(id).rename({ name: dockerName }));
    return { id, name: dockerName, ip: sandboxIp(info, network) };
  }

  /**
   * Create; when the name is taken by a leftover of ours that is not running (e.g. the agent
   * died between create and start), remove it and try once more, as dockershim recovered.
   */
  private async createWithConflictRecovery(name: string, config: Docker.ContainerCreateOptions): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      try {
        const c = await this.docker.createContainer(config);
        return c.id;
      } catch (e) {
        const re = toRuntimeError(e, `create ${name}`);
        if (re.reason !== 'Conflict' || attempt > 0) throw re;
        let existing: Docker.ContainerInspectInfo;
        try {
          existing = await this.docker.getContainer(name).inspect();
        } catch {
          continue; // removed meanwhile: retry
        }
        if (existing.State?.Running) throw re;
        await this.removeContainer(existing.Id);
      }
    }
  }

  // ----- containers -------------------------------------------------------------------

  async createContainer(
    sandboxId: string,
    pod: PodLike,
    container: ContainerSpec,
    attempt: number,
    env: Record<string, string>,
    opts: ContainerOptions,
  ): Promise<string> {
    const { name, namespace, uid } = podIdentity(pod);
    const spec = pod.spec ?? {};
    const image = opts.image ?? container.image;
    if (!image) throw new RuntimeError('InvalidArgument', `container ${container.name} has no image`);
    const qos: QOSClass = getPodQOS(pod);
    const { driver, memTotal } = await this.facts();
    const cgroupParent = opts.cgroupParent ?? podCgroupParent(qos, uid, driver);

    let resources;
    try {
      resources = linuxResources(container.resources);
    } catch (e) {
      throw new RuntimeError('CreateContainerConfigError', `invalid resources: ${(e as Error).message}`);
    }
    const { entrypoint, cmd } = entrypointAndCmd(container.command, container.args, env);

    const sc = container.securityContext ?? {};
    const psc = spec.securityContext ?? {};
    const runAsUser = sc.runAsUser ?? psc.runAsUser;
    const runAsGroup = sc.runAsGroup ?? psc.runAsGroup;
    const runAsNonRoot = sc.runAsNonRoot ?? (psc as { runAsNonRoot?: boolean }).runAsNonRoot;
    if (runAsNonRoot) await this.verifyRunAsNonRoot(image, runAsUser);
    const user = runAsUser !== undefined ? (runAsGroup !== undefined ? `${runAsUser}:${runAsGroup}` : String(runAsUser)) : undefined;

    const binds: string[] = [];
    const mounts: Docker.MountSettings[] = [];
    for (const m of opts.mounts ?? []) {
      if (m.tmpfs) {
        await this.ensureMemoryVolume(m.tmpfs.volume, m.tmpfs.sizeBytes, uid, opts.node);
        mounts.push({ Type: 'volume', Source: m.tmpfs.volume, Target: m.containerPath, ReadOnly: !!m.readOnly, VolumeOptions: { NoCopy: true } as Docker.MountSettings['VolumeOptions'] });
        continue;
      }
      // Binds create a missing host dir (dockershim's hostPath behaviour) but cannot carry ':'.
      if (m.hostPath.includes(':') || m.containerPath.includes(':')) {
        mounts.push({ Type: 'bind', Source: m.hostPath, Target: m.containerPath, ReadOnly: !!m.readOnly });
      } else {
        binds.push(`${m.hostPath}:${m.containerPath}${m.readOnly ? ':ro' : ''}`);
      }
    }

    const grace = spec.terminationGracePeriodSeconds ?? 30;
    const dockerName = containerName(container.name, name, namespace, uid, attempt);
    const ns = `container:${sandboxId}`;
    const config: Docker.ContainerCreateOptions = {
      name: dockerName,
      Image: image,
      Entrypoint: entrypoint,
      Cmd: cmd,
      // HOSTNAME as a CRI runtime sets it (the pod's hostname; the pod's own env wins): Docker
      // would give the sandbox's creation-time hostname, a pool name for an adopted one
      Env: [...(spec.hostNetwork || 'HOSTNAME' in env ? [] : [`HOSTNAME=${podHostname(pod, name)}`]), ...Object.entries(env).map(([k, v]) => `${k}=${v}`)],
      WorkingDir: container.workingDir || undefined,
      User: user,
      Tty: !!container.tty,
      OpenStdin: !!container.stdin,
      StdinOnce: !!container.stdinOnce,
      Labels: {
        [LABEL_POD_NAME]: name,
        [LABEL_POD_NAMESPACE]: namespace,
        [LABEL_POD_UID]: uid,
        [LABEL_CONTAINER_NAME]: container.name,
        [LABEL_DOCKER_TYPE]: DOCKER_TYPE_CONTAINER,
        [LABEL_SANDBOX_ID]: sandboxId,
        [LABEL_RESTART_COUNT]: String(attempt),
        [LABEL_TERMINATION_GRACE]: String(grace),
        [LABEL_CONTAINER_HASH]: containerHash(container),
        [LABEL_NODE]: opts.node,
      },
      HostConfig: {
        NetworkMode: ns,
        IpcMode: spec.hostIPC ? 'host' : ns,
        PidMode: spec.hostPID ? 'host' : spec.shareProcessNamespace ? ns : undefined,
        CgroupParent: cgroupParent,
        Memory: resources.memoryLimitBytes,
        // Equal to Memory: no swap on top of the limit.
        MemorySwap: resources.memoryLimitBytes,
        CpuShares: resources.cpuShares,
        CpuQuota: resources.cpuQuotaUs,
        CpuPeriod: resources.cpuPeriodUs,
        OomScoreAdj: await this.oomScore(containerOOMScoreAdjust(qos, container, memTotal), image),
        Privileged: !!sc.privileged,
        ReadonlyRootfs: !!sc.readOnlyRootFilesystem,
        CapAdd: sc.capabilities?.add ?? undefined,
        CapDrop: sc.capabilities?.drop ?? undefined,
        SecurityOpt: sc.allowPrivilegeEscalation === false ? ['no-new-privileges'] : undefined,
        // kubelet: the pod's fsGroup is a supplemental group of every container
        GroupAdd: groupAdd(psc.supplementalGroups, psc.fsGroup),
        Binds: binds.length ? binds : undefined,
        Mounts: mounts.length ? mounts : undefined,
        RestartPolicy: { Name: 'no' },
        LogConfig: this.logConfig,
      },
    };
    return this.createWithConflictRecovery(dockerName, config);
  }

  // kubelet's verifyRunAsNonRoot: refuse root by uid, or an image that runs as root by default.
  private async verifyRunAsNonRoot(image: string, runAsUser: number | undefined): Promise<void> {
    if (runAsUser !== undefined) {
      if (runAsUser === 0) {
        throw new RuntimeError('CreateContainerConfigError', "container's runAsUser breaks non-root policy");
      }
      return;
    }
    const img = await call(`inspect image ${image}`, () => this.docker.getImage(image).inspect());
    const u = (img.Config?.User ?? '').split(':')[0];
    if (u === '' || u === '0' || u === 'root') {
      throw new RuntimeError('CreateContainerConfigError', 'container has runAsNonRoot and image will run as root');
    }
    if (!/^\d+$/.test(u)) {
      throw new RuntimeError('CreateContainerConfigError', `container has runAsNonRoot and image has non-numeric user (${u}), cannot verify user is non-root`);
    }
  }

  async startContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).start();
    } catch (e) {
      if ((e as DockerError).statusCode === 304) return; // already started
      throw toRuntimeError(e, `start ${id}`);
    }
  }

  async stopContainer(id: string, graceSeconds: number): Promise<void> {
    try {
      await this.docker.getContainer(id).stop({ t: Math.max(0, Math.floor(graceSeconds)) });
    } catch (e) {
      if ((e as DockerError).statusCode === 304) return; // not running
      throw toRuntimeError(e, `stop ${id}`);
    }
  }

  /**
   * A memory-backed emptyDir: a local-driver volume of type tmpfs (dockerd mounts it on the
   * node while a container of the pod uses it), labelled with the pod so it can be removed.
   */
  private async ensureMemoryVolume(name: string, sizeBytes: number, podUid: string, node: string): Promise<void> {
    await call(`create volume ${name}`, () => this.docker.createVolume({
      Name: name, Driver: 'local',
      DriverOpts: { type: 'tmpfs', device: 'tmpfs', o: `size=${Math.max(4096, Math.floor(sizeBytes))},mode=1777` },
      Labels: { [LABEL_POD_UID]: podUid, [LABEL_NODE]: node },
    }));
  }

  async removePodVolumes(node: string, podUid: string): Promise<void> {
    const list = await call('list volumes', () => this.docker.listVolumes({ filters: { label: [`${LABEL_POD_UID}=${podUid}`, `${LABEL_NODE}=${node}`] } }));
    for (const v of list.Volumes ?? []) {
      try {
        await this.docker.getVolume(v.Name).remove();
      } catch (e) {
        if (toRuntimeError(e).reason !== 'NotFound') throw toRuntimeError(e, `remove volume ${v.Name}`);
      }
    }
  }

  async removeContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (e) {
      const re = toRuntimeError(e, `remove ${id}`);
      if (re.reason === 'NotFound') return;
      // "removal of container ... is already in progress"
      if (re.reason === 'Conflict' && /already in progress/i.test(re.message)) return;
      throw re;
    }
  }

  async listPodContainers(node: string, podUid?: string): Promise<RuntimeContainer[]> {
    let list: Docker.ContainerInfo[];
    if (!podUid) {
      list = await call('list containers', () => this.docker.listContainers({ all: true, filters: { label: [nodeLabelFilter(node)] } }));
    } else {
      // a sandbox the pod adopted from the pool has no pod labels: its name says whose it is
      const [own, pooled] = await call('list containers', () => Promise.all([
        this.docker.listContainers({ all: true, filters: { label: [nodeLabelFilter(node), `${LABEL_POD_UID}=${podUid}`] } }),
        this.docker.listContainers({ all: true, filters: { label: [nodeLabelFilter(node), LABEL_POOL] } }),
      ]));
      list = [...own, ...pooled.filter((c) => !c.Labels?.[LABEL_POD_UID] && parseName(c.Names?.[0] ?? '')?.podUid === podUid)];
    }
    // pooled sandboxes no pod adopted yet are the pool's, not pods' (nor orphans)
    list = list.filter((c) => !(c.Labels?.[LABEL_POOL] !== undefined && !parseName(c.Names?.[0] ?? '')));
    const out = await mapLimit(list, this.listConcurrency, async (c) => {
      try {
        return await this.inspect(c.Id);
      } catch (e) {
        if (e instanceof RuntimeError && e.reason === 'NotFound') return undefined; // removed meanwhile
        throw e;
      }
    });
    return out.filter((c): c is RuntimeContainer => c !== undefined);
  }

  async inspect(id: string): Promise<RuntimeContainer> {
    const info = await call(`inspect ${id}`, () => this.docker.getContainer(id).inspect());
    return this.toRuntimeContainer(info);
  }

  private async toRuntimeContainer(info: Docker.ContainerInspectInfo): Promise<RuntimeContainer> {
    const labels = info.Config?.Labels ?? {};
    const dockerName = (info.Name ?? '').replace(/^\//, '');
    const parsed = parseName(dockerName);
    const isSandbox = labels[LABEL_DOCKER_TYPE] === DOCKER_TYPE_SANDBOX;
    const attemptLabel = isSandbox ? labels[LABEL_SANDBOX_ATTEMPT] : labels[LABEL_RESTART_COUNT];
    const attempt = Number(attemptLabel ?? parsed?.attempt ?? 0);
    const state = dockerState(info.State?.Status);
    const out: RuntimeContainer = {
      id: info.Id,
      name: dockerName,
      type: isSandbox ? 'sandbox' : 'container',
      podUid: labels[LABEL_POD_UID] ?? parsed?.podUid ?? '',
      podName: labels[LABEL_POD_NAME] ?? parsed?.podName ?? '',
      namespace: labels[LABEL_POD_NAMESPACE] ?? parsed?.namespace ?? '',
      containerName: labels[LABEL_CONTAINER_NAME] ?? parsed?.containerName ?? '',
      attempt: Number.isFinite(attempt) ? attempt : 0,
      hash: labels[LABEL_CONTAINER_HASH],
      sandboxId: labels[LABEL_SANDBOX_ID],
      state,
      exitCode: state === 'exited' ? info.State.ExitCode : undefined,
      createdAt: dockerTime(info.Created),
      startedAt: dockerTime(info.State?.StartedAt),
      finishedAt: state === 'exited' ? dockerTime(info.State?.FinishedAt) : undefined,
      oomKilled: !!info.State?.OOMKilled,
      error: info.State?.Error || undefined,
      image: info.Config?.Image ?? '',
      imageID: await this.imageIdForId(info.Image),
      pid: info.State?.Pid || undefined,
      cgroupParent: info.HostConfig?.CgroupParent || undefined,
      labels,
    };
    if (isSandbox && labels[LABEL_NETWORK] !== 'host') out.ip = sandboxIp(info, labels[LABEL_NETWORK]);
    return out;
  }

  // ----- logs, exec -------------------------------------------------------------------

  async logs(id: string, opts: LogOptions = {}): Promise<Readable> {
    const c = this.docker.getContainer(id);
    const info = await call(`inspect ${id}`, () => c.inspect());
    let since: number | undefined;
    if (opts.sinceTime) {
      const t = Date.parse(opts.sinceTime);
      if (Number.isNaN(t)) throw new RuntimeError('InvalidArgument', `invalid sinceTime ${opts.sinceTime}`);
      since = t / 1000;
    } else if (opts.sinceSeconds !== undefined) {
      since = Date.now() / 1000 - opts.sinceSeconds;
    }
    const query = {
      stdout: true,
      stderr: true,
      follow: !!opts.follow,
      timestamps: !!opts.timestamps,
      tail: opts.tailLines !== undefined && opts.tailLines >= 0 ? String(opts.tailLines) : 'all',
      since,
    };
    // docker-modem returns a stream when following and a Buffer otherwise.
    const logsFn = c.logs as unknown as (this: Docker.Container, o: object) => Promise<NodeJS.ReadableStream | Buffer>;
    const raw = await call(`logs ${id}`, () => logsFn.call(c, query));
    const src: Readable = Buffer.isBuffer(raw) ? Readable.from([raw]) : (raw as Readable);

    const out = new PassThrough();
    let written = 0;
    const limit = opts.limitBytes && opts.limitBytes > 0 ? opts.limitBytes : Infinity;
    const sink = {
      write: (chunk: Buffer): boolean => {
        if (out.writableEnded || out.destroyed) return false;
        if (written + chunk.length >= limit) {
          out.end(chunk.subarray(0, limit - written));
          written = limit;
          src.destroy();
          return false;
        }
        written += chunk.length;
        return out.write(chunk);
      },
    };
    if (info.Config?.Tty) src.on('data', (chunk: Buffer) => sink.write(chunk));
    else this.docker.modem.demuxStream(src, sink as unknown as NodeJS.WritableStream, sink as unknown as NodeJS.WritableStream);
    src.on('end', () => {
      if (!out.writableEnded) out.end();
    });
    src.on('close', () => {
      if (!out.writableEnded) out.end();
    });
    src.on('error', (e: Error) => failStream(out, toRuntimeError(e, `logs ${id}`)));
    // The reader went away (e.g. kubectl logs -f interrupted): stop following.
    out.on('close', () => src.destroy());
    return out;
  }

  async exec(id: string, cmd: string[], opts: ExecOptions = {}): Promise<ExecSession> {
    const tty = !!opts.tty;
    const wantStdin = !!opts.stdin;
    const c = this.docker.getContainer(id);
    const ex = await call(`exec in ${id}`, () =>
      c.exec({
        Cmd: cmd,
        AttachStdin: wantStdin,
        AttachStdout: opts.stdout !== false,
        AttachStderr: opts.stderr !== false,
        Tty: tty,
      }),
    );
    const sock = (await call(`exec in ${id}`, () =>
      ex.start({ hijack: true, stdin: wantStdin, Detach: false, Tty: tty }),
    )) as unknown as import('node:stream').Duplex;

    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let streamError: RuntimeError | undefined;
    const ended = new Promise<void>((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        if (!stdout.writableEnded) stdout.end();
        if (!stderr.writableEnded) stderr.end();
        resolve();
      };
      sock.on('end', finish);
      sock.on('close', finish);
      sock.on('error', (e: Error) => {
        streamError = toRuntimeError(e, `exec in ${id}`);
        finish();
      });
    });
    if (tty) {
      sock.on('data', (chunk: Buffer) => stdout.write(chunk));
      stderr.end();
    } else {
      this.docker.modem.demuxStream(sock, stdout, stderr);
    }

    let stdin: PassThrough | null = null;
    if (wantStdin) {
      stdin = new PassThrough();
      stdin.on('data', (chunk: Buffer) => {
        if (!sock.destroyed && sock.writable) sock.write(chunk);
      });
      // Closing stdin half-closes the hijacked connection: the process sees EOF.
      stdin.on('end', () => {
        if (!sock.destroyed && sock.writable) sock.end();
      });
      stdin.on('error', () => undefined);
    }

    return {
      stdin,
      stdout,
      stderr,
      resize: async (width: number, height: number) => {
        if (!tty) return;
        await call(`resize exec in ${id}`, () => ex.resize({ w: width, h: height }));
      },
      wait: async () => {
        await ended;
        // The exec may be marked finished a moment after the stream closes.
        for (let i = 0; ; i++) {
          const st = await call(`inspect exec in ${id}`, () => ex.inspect());
          if (!st.Running && st.ExitCode !== null && st.ExitCode !== undefined) return st.ExitCode;
          if (streamError && i >= 5) throw streamError;
          if (i >= 100) throw new RuntimeError('RuntimeError', `exec in ${id} did not report an exit code`);
          await new Promise((r) => setTimeout(r, 50));
        }
      },
      close: () => {
        sock.destroy();
      },
    };
  }

  // ----- events, stats ----------------------------------------------------------------

  events(node: string, onEvent: (e: RuntimeEvent) => void, opts: EventSubscriptionOptions = {}): { stop(): void } {
    let stopped = false;
    let current: Readable | undefined;
    let timer: NodeJS.Timeout | undefined;
    let backoffMs = 500;
    let lastNano = 0;
    let lastKeys = new Set<string>();

    const deliver = (raw: Record<string, unknown>) => {
      const action = String(raw.Action ?? raw.status ?? '');
      if (!(EVENT_TYPES as string[]).includes(action)) return;
      const actor = (raw.Actor ?? {}) as { ID?: string; Attributes?: Record<string, string> };
      const attrs = actor.Attributes ?? {};
      const timeNano = Number(raw.timeNano ?? Number(raw.time ?? 0) * 1e9);
      const id = String(actor.ID ?? raw.id ?? '');
      // A reconnect replays from the last second seen: drop what was delivered already.
      const key = `${id}/${action}/${timeNano}`;
      if (timeNano < lastNano || lastKeys.has(key)) return;
      if (timeNano > lastNano) {
        lastNano = timeNano;
        lastKeys = new Set();
      }
      lastKeys.add(key);
      const ev: RuntimeEvent = {
        type: action as RuntimeEventType,
        id,
        // an adopted pooled sandbox has no pod labels: its name says whose it is
        podUid: attrs[LABEL_POD_UID] ?? (attrs.name ? parseName(attrs.name)?.podUid : undefined),
        containerName: attrs[LABEL_CONTAINER_NAME],
        exitCode: attrs.exitCode !== undefined ? Number(attrs.exitCode) : undefined,
        timeNano,
      };
      try {
        onEvent(ev);
      } catch {
        // a consumer's bug must not stop the event stream
      }
    };

    // The stream broke: tell the consumer (relist) once it is open again, not while Docker
    // is still away (a relist then fails, or races a daemon that is shutting down).
    let broken: { err?: RuntimeError } | undefined;

    const reconnect = (err?: RuntimeError) => {
      if (stopped || timer) return;
      current?.destroy();
      current = undefined;
      broken ??= { err };
      timer = setTimeout(() => {
        timer = undefined;
        void connect();
      }, backoffMs);
      // capped low: reconnecting to a local socket is cheap, and after a Docker restart
      // events should flow again within seconds, not after a long back-off
      backoffMs = Math.min(backoffMs * 2, 5_000);
    };

    const connect = async () => {
      if (stopped) return;
      let stream: Readable;
      try {
        stream = (await this.docker.getEvents({
          since: lastNano ? Math.floor(lastNano / 1e9) : undefined,
          filters: { type: ['container'], label: [nodeLabelFilter(node)], event: EVENT_TYPES },
        } as Docker.GetEventsOptions)) as unknown as Readable;
      } catch (e) {
        reconnect(toRuntimeError(e, 'docker events'));
        return;
      }
      if (stopped) {
        stream.destroy();
        return;
      }
      current = stream;
      if (broken) {
        const { err } = broken;
        broken = undefined;
        try {
          opts.onReconnect?.(err);
        } catch {
          // ignore
        }
      }
      let buf = '';
      stream.on('data', (chunk: Buffer | string) => {
        backoffMs = 500;
        buf += chunk.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          try {
            deliver(JSON.parse(line) as Record<string, unknown>);
          } catch {
            // a malformed line is skipped
          }
        }
      });
      stream.on('error', (e: Error) => {
        if (current === stream) reconnect(toRuntimeError(e, 'docker events'));
      });
      stream.on('end', () => {
        if (current === stream) reconnect(new RuntimeError('Unavailable', 'docker events stream ended'));
      });
      stream.on('close', () => {
        if (current === stream) reconnect(new RuntimeError('Unavailable', 'docker events stream closed'));
      });
    };

    void connect();
    return {
      stop: () => {
        stopped = true;
        if (timer) clearTimeout(timer);
        timer = undefined;
        const s = current;
        current = undefined;
        s?.destroy();
      },
    };
  }

  async stats(id: string): Promise<ContainerStats> {
    const s = await call(`stats ${id}`, () => this.docker.getContainer(id).stats({ stream: false, 'one-shot': true }));
    const mem = (s.memory_stats ?? {}) as { usage?: number; stats?: Record<string, number> };
    const usage = Number(mem.usage ?? 0);
    const inactive = Number(mem.stats?.total_inactive_file ?? mem.stats?.inactive_file ?? 0);
    return {
      timestamp: Date.parse(s.read) || Date.now(),
      cpuUsageNanoseconds: Number(s.cpu_stats?.cpu_usage?.total_usage ?? 0),
      memoryUsageBytes: usage,
      memoryWorkingSetBytes: Math.max(0, usage - inactive),
    };
  }
}

/** /etc/hosts with the host's own name `from` (as Docker wrote it: "ip\tname") replaced by `to`. */
export function renameHost(hosts: string, from: string, to: string): string {
  if (!from) return hosts;
  return hosts.split('\n').map((line) => {
    if (line.trimStart().startsWith('#')) return line;
    // tokens and the whitespace between them; the first token is the address
    const parts = line.split(/(\s+)/);
    const first = parts.findIndex((p) => p !== '' && !/^\s+$/.test(p));
    return parts.map((p, k) => (k > first && p === from ? to : p)).join('');
  }).join('\n');
}

function sandboxIp(info: Docker.ContainerInspectInfo, network: string | undefined): string | undefined {
  const nets = (info.NetworkSettings?.Networks ?? {}) as Record<string, { IPAddress?: string }>;
  if (network && nets[network]?.IPAddress) return nets[network].IPAddress;
  for (const n of Object.values(nets)) if (n?.IPAddress) return n.IPAddress;
  return undefined;
}

/** the supplemental groups of a container: the pod's, and its fsGroup (kubelet adds it) */
export function groupAdd(supplemental: number[] | undefined, fsGroup: number | undefined): string[] | undefined {
  const all = [...(supplemental ?? [])];
  if (typeof fsGroup === 'number' && !all.includes(fsGroup)) all.push(fsGroup);
  return all.length ? all.map(String) : undefined;
}
