// The Runtime on Docker's Engine API (dockerode). Sandboxes are pause containers holding
// the pod's network namespace; containers join it. This file is the plumbing that acts:
// what to create is decided purely in sandbox-config.ts and container-config.ts; images,
// events and log/exec streams are in docker-images.ts, docker-events.ts, docker-streams.ts;
// reading inspect/info in docker-inspect.ts, the oom_score_adj probe in docker-oom-probe.ts.
// Only agent/runtime knows Docker. Every Docker failure is rethrown as a RuntimeError
// (docker-errors.ts); no Docker stream can crash the agent.
// Map of the code base: ARCHITECTURE.md, "The parts".

import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Container, Pod } from '../../proto/api/types.gen.js';
import type { CgroupDriver } from '../cgroups/cgroup-parents.js';
import { containerConfig, runAsNonRootViolation } from './container-config.js';
import { call, dockerStatus, toRuntimeError } from './docker-errors.js';
import { subscribeEvents } from './docker-events.js';
import { DockerImages } from './docker-images.js';
import { sandboxIp, toRuntimeContainer, toRuntimeInfo } from './docker-inspect.js';
import { NegativeOomProbe } from './docker-oom-probe.js';
import { containerLogs, execSession } from './docker-streams.js';
import { mapLimit } from './map-limit.js';
import { RuntimeError, isNotFound } from './errors.js';
import { LABEL_NETWORK, LABEL_NODE, LABEL_POD_UID, LABEL_POOL, nodeLabelFilter } from './labels.js';
import { parseName, podHostname, podIdentity, sandboxName } from './names.js';
import {
  pooledSandboxConfig,
  renameHost,
  sandboxConfig,
  type LogConfig,
  type RuntimeSettings,
  type SandboxConfig,
} from './sandbox-config.js';
import type {
  ContainerOptions,
  ContainerStats,
  EventSubscriptionOptions,
  ExecOptions,
  ExecSession,
  ImageStatus,
  LogOptions,
  MemoryVolume,
  PodNetworkSpec,
  PooledSandboxOptions,
  PullAuth,
  PullPolicy,
  PullProgress,
  Runtime,
  RuntimeContainer,
  RuntimeEvent,
  RuntimeInfo,
  Sandbox,
  SandboxOptions,
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

export class DockerRuntime implements Runtime {
  private readonly docker: Docker;
  private readonly images: DockerImages;
  private readonly pauseImage: string;
  private readonly defaultNetwork: string;
  private readonly logConfig: LogConfig;
  private readonly listConcurrency: number;
  private hostFacts?: Promise<{ driver: CgroupDriver; memTotal: number }>;
  private readonly oomScoreAdj: boolean;
  private readonly oomProbe: NegativeOomProbe;

  constructor(opts: DockerRuntimeOptions = {}) {
    this.docker = opts.socketPath ? new Docker({ socketPath: opts.socketPath }) : new Docker();
    this.images = new DockerImages(this.docker);
    this.pauseImage = opts.pauseImage ?? DEFAULT_PAUSE_IMAGE;
    this.defaultNetwork = opts.defaultNetwork ?? DEFAULT_NETWORK;
    this.logConfig = {
      Type: 'json-file',
      Config: { 'max-size': opts.logMaxSize ?? '10m', 'max-file': String(opts.logMaxFiles ?? 5) },
    };
    this.listConcurrency = opts.listConcurrency ?? 8;
    this.oomScoreAdj = opts.oomScoreAdj ?? true;
    this.oomProbe = new NegativeOomProbe(this.docker);
  }

  // ----- node -------------------------------------------------------------------------

  async info(): Promise<RuntimeInfo> {
    const [info, version] = await call('docker info', () => Promise.all([this.docker.info(), this.docker.version()]));
    return toRuntimeInfo(info, version);
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

  private async settings(): Promise<RuntimeSettings & { memTotal: number }> {
    const { driver, memTotal } = await this.facts();
    return { logConfig: this.logConfig, oomScoreAdj: this.oomScoreAdj, driver, memTotal };
  }

  // ----- images (docker-images.ts) ------------------------------------------------------

  imageStatus(image: string): Promise<ImageStatus | undefined> {
    return this.images.status(image);
  }

  pullImage(image: string, auth?: PullAuth, onProgress?: (p: PullProgress) => void): Promise<ImageStatus> {
    return this.images.pullImage(image, auth, onProgress);
  }

  ensureImage(image: string, pullPolicy: PullPolicy, onProgress?: (p: PullProgress) => void): Promise<string> {
    return this.images.ensure(image, pullPolicy, onProgress);
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
        throw new RuntimeError(
          'Conflict',
          `Docker network ${spec.name} is on ${cfg?.Subnet ?? '?'} with containers attached; this node's pod subnet is now ${spec.subnet}`,
        );
      }
      await call(`remove network ${spec.name}`, () => this.docker.getNetwork(existing.Id).remove());
    }
    await call(`create network ${spec.name}`, () =>
      this.docker.createNetwork({
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
      }),
    );
  }

  async createSandbox(pod: Pod, opts: SandboxOptions): Promise<Sandbox> {
    const { uid } = podIdentity(pod);
    const image = opts.pauseImage ?? this.pauseImage;
    await this.ensureImage(image, 'IfNotPresent');
    const sb = sandboxConfig(pod, opts, image, opts.network ?? this.defaultNetwork, await this.settings());
    await this.ensureMemoryVolumes(opts.memoryVolumes ?? [], uid, opts.node);
    const { id, info } = await this.startSandbox(sb, image);
    // dockershim's rewriteResolvFile: Docker's embedded resolver (127.0.0.11 on user networks)
    // would hide the search path; the file is only reachable when the engine is local, and
    // Docker's Dns/DnsSearch/DnsOptions remain the fallback
    if (opts.resolvConf && info.ResolvConfPath)
      await writeFile(info.ResolvConfPath, opts.resolvConf).catch(() => undefined);
    return { id, name: sb.name, ip: sb.hostNetwork ? undefined : sandboxIp(info, sb.network) };
  }

  /** Create and start a sandbox; it is removed again when it cannot start. */
  private async startSandbox(
    sb: SandboxConfig,
    image: string,
  ): Promise<{ id: string; info: Docker.ContainerInspectInfo }> {
    await this.oomProbe.clamp(sb.config, image);
    const id = await this.createWithConflictRecovery(sb.name, sb.config);
    try {
      await call(`start sandbox ${sb.name}`, () => this.docker.getContainer(id).start());
      const info = await call(`inspect sandbox ${sb.name}`, () => this.docker.getContainer(id).inspect());
      return { id, info };
    } catch (e) {
      await this.removeContainer(id).catch(() => undefined);
      throw toRuntimeError(e);
    }
  }

  // ----- the sandbox pool (--sandbox-pool) ---------------------------------------------

  async createPooledSandbox(opts: PooledSandboxOptions): Promise<Sandbox> {
    const image = opts.pauseImage ?? this.pauseImage;
    await this.ensureImage(image, 'IfNotPresent');
    const suffix = randomBytes(5).toString('hex');
    const sb = pooledSandboxConfig(opts, image, opts.network ?? this.defaultNetwork, suffix, await this.settings());
    const { id, info } = await this.startSandbox(sb, image);
    return { id, name: sb.name, ip: sandboxIp(info, sb.network) };
  }

  async listPooledSandboxes(node: string): Promise<RuntimeContainer[]> {
    const list = await call('list containers', () =>
      this.docker.listContainers({ all: true, filters: { label: [`${LABEL_POOL}=${node}`] } }),
    );
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
  async adoptSandbox(id: string, pod: Pod, opts: SandboxOptions): Promise<Sandbox> {
    const { name, namespace, uid } = podIdentity(pod);
    const info = await call(`inspect sandbox ${id}`, () => this.docker.getContainer(id).inspect());
    const labels = info.Config?.Labels ?? {};
    const network = opts.network ?? this.defaultNetwork;
    if (
      labels[LABEL_POOL] !== opts.node ||
      parseName(info.Name ?? '') ||
      !info.State?.Running ||
      labels[LABEL_NETWORK] !== network
    ) {
      throw new RuntimeError(
        'Conflict',
        `${info.Name} is not a running pooled sandbox of node ${opts.node} on network ${network}`,
      );
    }
    if (opts.dns && !opts.resolvConf)
      throw new RuntimeError(
        'InvalidArgument',
        "a pooled sandbox needs the pod's resolv.conf text, not resolver settings",
      );
    if (opts.extraHosts?.length || opts.memoryVolumes?.length)
      throw new RuntimeError('InvalidArgument', 'a pooled sandbox cannot take extra hosts or memory volumes');
    if (!info.HostnamePath || !info.HostsPath || !info.ResolvConfPath)
      throw new RuntimeError('RuntimeError', `${info.Name} has no hostname, hosts or resolv.conf file`);
    const hostname = podHostname(pod, name);
    const old = info.Config?.Hostname ?? '';
    const hosts = await call(`read ${info.HostsPath}`, () => readFile(info.HostsPath, 'utf8'));
    await call(`write ${info.HostnamePath}`, () => writeFile(info.HostnamePath, `${hostname}\n`));
    await call(`write ${info.HostsPath}`, () => writeFile(info.HostsPath, renameHost(hosts, old, hostname)));
    const resolvConf = opts.resolvConf;
    if (resolvConf) await call(`write ${info.ResolvConfPath}`, () => writeFile(info.ResolvConfPath, resolvConf));
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
    pod: Pod,
    container: Container,
    attempt: number,
    env: Record<string, string>,
    opts: ContainerOptions,
  ): Promise<string> {
    const settings = await this.settings();
    const c = containerConfig(sandboxId, pod, container, attempt, env, opts, settings, settings.memTotal);
    if (c.nonRoot) {
      const refused = runAsNonRootViolation(
        c.nonRoot.runAsUser,
        c.nonRoot.runAsUser === undefined ? await this.images.user(c.image) : undefined,
      );
      if (refused) throw new RuntimeError('CreateContainerConfigError', refused);
    }
    await this.ensureMemoryVolumes(c.memoryVolumes, podIdentity(pod).uid, opts.node);
    await this.oomProbe.clamp(c.config, c.image);
    return this.createWithConflictRecovery(c.name, c.config);
  }

  async startContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).start();
    } catch (e) {
      if (dockerStatus(e) === 304) return; // already started
      throw toRuntimeError(e, `start ${id}`);
    }
  }

  async stopContainer(id: string, graceSeconds: number): Promise<void> {
    try {
      await this.docker.getContainer(id).stop({ t: Math.max(0, Math.floor(graceSeconds)) });
    } catch (e) {
      if (dockerStatus(e) === 304) return; // not running
      throw toRuntimeError(e, `stop ${id}`);
    }
  }

  /**
   * Memory-backed emptyDirs: local-driver volumes of type tmpfs (dockerd mounts one on the
   * node while a container of the pod uses it), labelled with the pod so they can be removed.
   */
  private async ensureMemoryVolumes(volumes: MemoryVolume[], podUid: string, node: string): Promise<void> {
    for (const { name, sizeBytes } of volumes) {
      await call(`create volume ${name}`, () =>
        this.docker.createVolume({
          Name: name,
          Driver: 'local',
          DriverOpts: { type: 'tmpfs', device: 'tmpfs', o: `size=${Math.max(4096, Math.floor(sizeBytes))},mode=1777` },
          Labels: { [LABEL_POD_UID]: podUid, [LABEL_NODE]: node },
        }),
      );
    }
  }

  async removePodVolumes(node: string, podUid: string): Promise<void> {
    const list = await call('list volumes', () =>
      this.docker.listVolumes({ filters: { label: [`${LABEL_POD_UID}=${podUid}`, `${LABEL_NODE}=${node}`] } }),
    );
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
      list = await call('list containers', () =>
        this.docker.listContainers({ all: true, filters: { label: [nodeLabelFilter(node)] } }),
      );
    } else {
      // a sandbox the pod adopted from the pool has no pod labels: its name says whose it is
      const [own, pooled] = await call('list containers', () =>
        Promise.all([
          this.docker.listContainers({
            all: true,
            filters: { label: [nodeLabelFilter(node), `${LABEL_POD_UID}=${podUid}`] },
          }),
          this.docker.listContainers({ all: true, filters: { label: [nodeLabelFilter(node), LABEL_POOL] } }),
        ]),
      );
      list = [
        ...own,
        ...pooled.filter((c) => !c.Labels?.[LABEL_POD_UID] && parseName(c.Names?.[0] ?? '')?.podUid === podUid),
      ];
    }
    // pooled sandboxes no pod adopted yet are the pool's, not pods' (nor orphans)
    list = list.filter((c) => !(c.Labels?.[LABEL_POOL] !== undefined && !parseName(c.Names?.[0] ?? '')));
    const out = await mapLimit(list, this.listConcurrency, async (c) => {
      try {
        return await this.inspect(c.Id);
      } catch (e) {
        if (isNotFound(e)) return undefined; // removed meanwhile
        throw e;
      }
    });
    return out.filter((c): c is RuntimeContainer => c !== undefined);
  }

  async inspect(id: string): Promise<RuntimeContainer> {
    const info = await call(`inspect ${id}`, () => this.docker.getContainer(id).inspect());
    return toRuntimeContainer(info, await this.images.idForId(info.Image));
  }

  // ----- logs, exec, events (docker-streams.ts, docker-events.ts), stats ----------------

  logs(id: string, opts: LogOptions = {}): Promise<Readable> {
    return containerLogs(this.docker, id, opts);
  }

  exec(id: string, cmd: string[], opts: ExecOptions = {}): Promise<ExecSession> {
    return execSession(this.docker, id, cmd, opts);
  }

  events(node: string, onEvent: (e: RuntimeEvent) => void, opts: EventSubscriptionOptions = {}): { stop(): void } {
    return subscribeEvents(this.docker, node, onEvent, opts);
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
