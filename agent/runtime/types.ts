// What a container runtime is to the agent: the Runtime interface and the values its
// methods take and return. The pod worker plans against it, docker-runtime.ts (and
// hollow-runtime.ts) carry it out. Kept small, like kubelet's CRI: no Docker types cross
// it, pods are the generated API types, every failure is a RuntimeError (./errors.ts).
// Map of the code base: ARCHITECTURE.md, "The parts".

import type { Readable, Writable } from 'node:stream';
import type { Container, Pod } from '../../proto/api/types.gen.js';
import type { RuntimeError } from './errors.js';

// ---------------------------------------------------------------------------------------
// Runtime-neutral results.

export type PullPolicy = 'Always' | 'IfNotPresent' | 'Never';

export interface RuntimeInfo {
  /** "docker"; nodeInfo.containerRuntimeVersion is `${runtimeName}://${version}`. */
  runtimeName: string;
  version: string;
  apiVersion: string;
  cgroupDriver: 'cgroupfs' | 'systemd';
  cgroupVersion: '1' | '2';
  operatingSystem: string;
  osType: string;
  kernelVersion: string;
  architecture: string;
  ncpu: number;
  memTotalBytes: number;
  dockerRootDir: string;
}

export interface PullProgress {
  status: string;
  id?: string;
  current?: number;
  total?: number;
}

/** Registry credentials for one pull (the runtime API's AuthConfig as pull secrets fill it). */
export interface PullAuth {
  username: string;
  password: string;
  email?: string;
}

/** An image present on the node: its imageID (as ensureImage returns) and size in bytes. */
export interface ImageStatus {
  imageRef: string;
  size: number;
}

export type ContainerState = 'created' | 'running' | 'exited' | 'unknown';

/** One sandbox or container as the runtime sees it: what `listPodContainers` and `inspect` return. */
export interface RuntimeContainer {
  id: string;
  /** Without Docker's leading "/": k8s_<container>_<pod>_<ns>_<uid>_<attempt>. */
  name: string;
  type: 'sandbox' | 'container';
  podUid: string;
  podName: string;
  namespace: string;
  /** "POD" for sandboxes. */
  containerName: string;
  /** The restartCount label (the sandbox's own attempt for sandboxes). */
  attempt: number;
  /** io.skiff.container.hash, compared with containerHash(spec) to detect spec changes. */
  hash?: string;
  /** Sandbox id a container joined (its NetworkMode), if any. */
  sandboxId?: string;
  state: ContainerState;
  exitCode?: number;
  /** RFC 3339; absent when never started / not finished. */
  createdAt?: string;
  startedAt?: string;
  finishedAt?: string;
  oomKilled: boolean;
  /** Docker's State.Error (e.g. why a start failed). */
  error?: string;
  /** The image as requested (spec image). */
  image: string;
  /** docker-pullable://repo@digest or sha256:..., as in containerStatuses[].imageID. */
  imageID: string;
  /** Pod IP, sandboxes only (absent for hostNetwork sandboxes: the pod uses the node IP). */
  ip?: string;
  pid?: number;
  cgroupParent?: string;
  labels: Record<string, string>;
}

export interface PodNetworkSpec {
  name: string;
  subnet: string;
  gateway: string;
  /** Linux bridge device name */
  bridge: string;
  node: string;
}

export interface SandboxOptions {
  /** Node that owns it (label io.skiff.node). */
  node: string;
  /** Sandbox attempt: a new sandbox for the same pod gets the next number. */
  attempt?: number;
  /** Pause image; default skiff.local/pause:3.10. */
  pauseImage?: string;
  /** Docker network to join (default "bridge"); ignored with hostNetwork. */
  network?: string;
  dns?: { servers?: string[]; searches?: string[]; options?: string[] };
  /** Exact /etc/resolv.conf for the pod, written over the runtime's own after the sandbox starts (as dockershim did). */
  resolvConf?: string;
  /** Extra /etc/hosts lines "ip name...". */
  extraHosts?: string[];
  /** Override the QoS-derived cgroup parent. */
  cgroupParent?: string;
  /** The pod's memory-backed emptyDirs: made with the sandbox, which keeps them mounted for the pod's life. */
  memoryVolumes?: MemoryVolume[];
}

/** A sandbox made ahead of its pod (the node's pool, --sandbox-pool): started on the pod network, no pod yet. */
export interface PooledSandboxOptions {
  node: string;
  pauseImage?: string;
  /** Docker network to join (default: the runtime's). */
  network?: string;
}

export interface Sandbox {
  id: string;
  name: string;
  /** Undefined with hostNetwork. */
  ip?: string;
}

export interface Mount {
  hostPath: string;
  containerPath: string;
  readOnly?: boolean;
  /**
   * emptyDir medium Memory: a tmpfs of this size (hostPath unused), one per pod volume and
   * shared by the pod's containers; it lives while the pod's sandbox does.
   */
  tmpfs?: { volume: string; sizeBytes: number };
}

/** a memory-backed emptyDir of the pod: the runtime's volume name and the tmpfs size */
export interface MemoryVolume {
  name: string;
  sizeBytes: number;
}

export interface ContainerOptions {
  node: string;
  /** Resolved by the pod worker: emptyDir dirs under the data dir, hostPath as given. */
  mounts?: Mount[];
  /** Override the QoS-derived cgroup parent. */
  cgroupParent?: string;
  /** Image to run if not container.image (e.g. the id ensureImage returned). */
  image?: string;
}

export interface LogOptions {
  follow?: boolean;
  tailLines?: number;
  timestamps?: boolean;
  sinceSeconds?: number;
  /** RFC 3339. */
  sinceTime?: string;
  limitBytes?: number;
}

export interface ExecOptions {
  stdin?: boolean;
  tty?: boolean;
  /** Default true. */
  stdout?: boolean;
  /** Default true (merged into stdout with tty). */
  stderr?: boolean;
}

export interface ExecSession {
  /** Present with stdin; end() closes the process's stdin. */
  stdin: Writable | null;
  stdout: Readable;
  /** Empty with tty: a terminal has one stream. */
  stderr: Readable;
  resize(width: number, height: number): Promise<void>;
  /** Resolves with the exit code once the process ended. */
  wait(): Promise<number>;
  /** Drop the connection (the process may keep running, as with kubectl exec). */
  close(): void;
}

export type RuntimeEventType = 'create' | 'start' | 'die' | 'oom' | 'stop' | 'kill' | 'destroy';

export interface RuntimeEvent {
  type: RuntimeEventType;
  id: string;
  podUid?: string;
  containerName?: string;
  /** For die. */
  exitCode?: number;
  /** Unix nanoseconds. */
  timeNano: number;
}

export interface EventSubscriptionOptions {
  /** Called once the stream is open again after it broke: events may have been missed, relist. */
  onReconnect?: (error?: RuntimeError) => void;
}

export interface ContainerStats {
  /** Unix ms when Docker read them. */
  timestamp: number;
  cpuUsageNanoseconds: number;
  memoryUsageBytes: number;
  /** usage - inactive_file, floored at 0, as kubelet/cAdvisor compute it. */
  memoryWorkingSetBytes: number;
}

// ---------------------------------------------------------------------------------------

export interface Runtime {
  info(): Promise<RuntimeInfo>;

  /** Make the image present per pull policy; returns its imageID. Throws ErrImagePull / ErrImageNeverPull. */
  ensureImage(image: string, pullPolicy: PullPolicy, onProgress?: (p: PullProgress) => void): Promise<string>;

  /** The image if present (undefined when not). Throws InvalidImageName for a bad reference. */
  imageStatus(image: string): Promise<ImageStatus | undefined>;

  /** Pull the image (with credentials when given), then report it. Throws ErrImagePull with the registry's / Docker's message. */
  pullImage(image: string, auth?: PullAuth, onProgress?: (p: PullProgress) => void): Promise<ImageStatus>;

  /** Create and start the pod's sandbox (network namespace holder, pod cgroup parent, host ports). */
  createSandbox(pod: Pod, opts: SandboxOptions): Promise<Sandbox>;

  /**
   * The node's pod network: a bridge network on the node's pod subnet, gateway at its first
   * address, no runtime masquerade (the agent's own rules decide). Kept when it already
   * matches; recreated on a new subnet when no container is attached; an error otherwise.
   */
  ensurePodNetwork(spec: PodNetworkSpec): Promise<void>;

  /** Create (not start) a container in the sandbox. env is already resolved. Returns its id. */
  createContainer(
    sandboxId: string,
    pod: Pod,
    container: Container,
    attempt: number,
    env: Record<string, string>,
    opts: ContainerOptions,
  ): Promise<string>;

  startContainer(id: string): Promise<void>;

  /** SIGTERM (or the image's stop signal), SIGKILL after graceSeconds. No-op if not running. */
  stopContainer(id: string, graceSeconds: number): Promise<void>;

  /** Force-remove with anonymous volumes. No-op if already gone. */
  removeContainer(id: string): Promise<void>;

  /** Every sandbox and container of this node (label io.skiff.node), stopped ones too; only one pod's with podUid. */
  listPodContainers(node: string, podUid?: string): Promise<RuntimeContainer[]>;

  /** Throws RuntimeError NotFound when gone. */
  inspect(id: string): Promise<RuntimeContainer>;

  /** stdout+stderr as plain text; with timestamps each line starts with RFC3339Nano + " ". */
  logs(id: string, opts?: LogOptions): Promise<Readable>;

  exec(id: string, cmd: string[], opts?: ExecOptions): Promise<ExecSession>;

  /** Container lifecycle events of this node's containers; reconnects by itself. */
  events(node: string, onEvent: (e: RuntimeEvent) => void, opts?: EventSubscriptionOptions): { stop(): void };

  stats(id: string): Promise<ContainerStats>;

  /** Remove the pod's memory-backed emptyDir volumes (once its containers are gone). */
  removePodVolumes?(node: string, podUid: string): Promise<void>;

  /** The sandbox pool (optional): make and start a sandbox that no pod owns yet. */
  createPooledSandbox?(opts: PooledSandboxOptions): Promise<Sandbox>;

  /** The node's pooled sandboxes that no pod adopted (any state). */
  listPooledSandboxes?(node: string): Promise<RuntimeContainer[]>;

  /**
   * Give a running pooled sandbox to a pod (one that agent/pods/sandbox-pool-plan.ts lets adopt): the pod's
   * /etc/hostname, /etc/hosts and resolv.conf, then its sandbox name, which from then on
   * says whose it is. Throws when the sandbox is not a running pooled one of this node.
   */
  adoptSandbox?(id: string, pod: Pod, opts: SandboxOptions): Promise<Sandbox>;
}
