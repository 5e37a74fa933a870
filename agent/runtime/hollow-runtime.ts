// A container runtime that runs nothing (kubemark's fake runtime): sandboxes and
// containers are records in memory, a sandbox "starts" after a configurable delay,
// containers run until stopped, events and stats are made up. Behind the same Runtime
// interface as docker-runtime.ts, so a hollow agent (scripts/bench/hollow.mjs) drives
// the real pod manager and workers and the server sees what real agents send. It
// touches nothing of the host: no images, processes, network or cgroups. exec answers
// exit code 0 with empty output; HTTP and TCP probes (against made-up pod IPs) fail.
import { PassThrough, Readable } from 'node:stream';
import { containerHash } from './labels.js';
import { containerName, sandboxName } from './names.js';
import type { Container, Pod } from '../../proto/api/types.gen.js';
import { RuntimeError } from './errors.js';
import type {
  ContainerOptions,
  ContainerStats,
  ExecSession,
  ImageStatus,
  Runtime,
  RuntimeContainer,
  RuntimeEvent,
  RuntimeEventType,
  RuntimeInfo,
  Sandbox,
  SandboxOptions,
} from './types.js';

export interface HollowRuntimeOptions {
  /** how long a sandbox takes to start (the pod's fake start delay), ms */
  startDelayMs?: number;
  /** this node's number among the hollow nodes: its pod IPs are 10.<64 + n / 256>.<n % 256>.x */
  index?: number;
  /** what info() reports: cpus and memory of the made-up machine */
  ncpu?: number;
  memTotalBytes?: number;
}

const now = () => new Date().toISOString();

export class HollowRuntime implements Runtime {
  private containers = new Map<string, RuntimeContainer>();
  private listeners = new Set<{ node: string; onEvent: (e: RuntimeEvent) => void }>();
  private nextId = 0;
  private nextIp = 0;
  private readonly startDelayMs: number;

  constructor(private readonly o: HollowRuntimeOptions = {}) {
    this.startDelayMs = o.startDelayMs ?? 0;
  }

  async info(): Promise<RuntimeInfo> {
    return {
      runtimeName: 'hollow',
      version: '0.0.0-hollow',
      apiVersion: '1.43',
      cgroupDriver: 'cgroupfs',
      cgroupVersion: '2',
      operatingSystem: 'Hollow Linux',
      osType: 'linux',
      kernelVersion: '6.1.0-hollow',
      architecture: 'x86_64',
      ncpu: this.o.ncpu ?? 4,
      memTotalBytes: this.o.memTotalBytes ?? 16 * 1024 ** 3,
      dockerRootDir: '/var/lib/hollow',
    };
  }

  async ensureImage(image: string): Promise<string> {
    if (!image) throw new RuntimeError('InvalidImageName', 'empty image reference');
    return imageId(image);
  }

  async imageStatus(image: string): Promise<ImageStatus | undefined> {
    return { imageRef: imageId(image), size: 1024 * 1024 };
  }

  async pullImage(image: string): Promise<ImageStatus> {
    return { imageRef: imageId(image), size: 1024 * 1024 };
  }

  async createSandbox(pod: Pod, opts: SandboxOptions): Promise<Sandbox> {
    const m = pod.metadata ?? {};
    const attempt = opts.attempt ?? 0;
    const name = sandboxName(m.name!, m.namespace!, m.uid!, attempt);
    const hostNetwork = pod.spec?.hostNetwork === true;
    const ip = hostNetwork ? undefined : this.podIp();
    const c = this.record({
      name,
      type: 'sandbox',
      podUid: m.uid!,
      podName: m.name!,
      namespace: m.namespace!,
      containerName: 'POD',
      attempt,
      state: 'created',
      image: opts.pauseImage ?? 'skiff.local/pause:3.10',
      imageID: imageId(opts.pauseImage ?? 'pause'),
      ...(ip ? { ip } : {}),
      labels: { 'io.skiff.node': opts.node },
    });
    this.emit(c, 'create');
    if (this.startDelayMs > 0) await new Promise((r) => setTimeout(r, this.startDelayMs));
    if (!this.containers.has(c.id)) throw new RuntimeError('NotFound', `sandbox ${name} was removed while starting`);
    c.state = 'running';
    c.startedAt = now();
    this.emit(c, 'start');
    return { id: c.id, name, ...(ip ? { ip } : {}) };
  }

  async ensurePodNetwork(): Promise<void> {
    /* nothing to set up */
  }

  async createContainer(
    sandboxId: string,
    pod: Pod,
    container: Container,
    attempt: number,
    _env: Record<string, string>,
    opts: ContainerOptions,
  ): Promise<string> {
    const sb = this.containers.get(sandboxId);
    if (!sb) throw new RuntimeError('NotFound', `no such sandbox: ${sandboxId}`);
    const m = pod.metadata ?? {};
    const image = container.image ?? '';
    const c = this.record({
      name: containerName(container.name, m.name!, m.namespace!, m.uid!, attempt),
      type: 'container',
      podUid: m.uid!,
      podName: m.name!,
      namespace: m.namespace!,
      containerName: container.name,
      attempt,
      hash: containerHash(container),
      sandboxId,
      state: 'created',
      image,
      imageID: imageId(opts.image ?? image),
      labels: { 'io.skiff.node': opts.node },
    });
    this.emit(c, 'create');
    return c.id;
  }

  async startContainer(id: string): Promise<void> {
    const c = this.get(id);
    c.state = 'running';
    c.startedAt = now();
    this.emit(c, 'start');
  }

  async stopContainer(id: string): Promise<void> {
    const c = this.containers.get(id);
    if (!c || c.state !== 'running') return;
    c.state = 'exited';
    c.exitCode = c.type === 'sandbox' ? 0 : 137;
    c.finishedAt = now();
    this.emit(c, 'die');
  }

  async removeContainer(id: string): Promise<void> {
    const c = this.containers.get(id);
    if (!c) return;
    this.containers.delete(id);
    this.emit(c, 'destroy');
  }

  async listPodContainers(node: string, podUid?: string): Promise<RuntimeContainer[]> {
    const out: RuntimeContainer[] = [];
    for (const c of this.containers.values()) {
      if (c.labels['io.skiff.node'] === node && (podUid === undefined || c.podUid === podUid)) out.push({ ...c });
    }
    return out;
  }

  async inspect(id: string): Promise<RuntimeContainer> {
    return { ...this.get(id) };
  }

  async logs(id: string): Promise<Readable> {
    this.get(id);
    return Readable.from([]);
  }

  async exec(id: string): Promise<ExecSession> {
    if (this.get(id).state !== 'running') throw new RuntimeError('Conflict', `container ${id} is not running`);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    stdout.end();
    stderr.end();
    return { stdin: null, stdout, stderr, resize: async () => {}, wait: async () => 0, close: () => {} };
  }

  events(node: string, onEvent: (e: RuntimeEvent) => void): { stop(): void } {
    const l = { node, onEvent };
    this.listeners.add(l);
    return {
      stop: () => {
        this.listeners.delete(l);
      },
    };
  }

  async stats(id: string): Promise<ContainerStats> {
    const c = this.get(id);
    const ranMs = c.startedAt ? Date.now() - Date.parse(c.startedAt) : 0;
    // a hundredth of a core and 4 MiB
    return {
      timestamp: Date.now(),
      cpuUsageNanoseconds: ranMs * 10_000,
      memoryUsageBytes: 4 * 1024 * 1024,
      memoryWorkingSetBytes: 4 * 1024 * 1024,
    };
  }

  async removePodVolumes(): Promise<void> {
    /* no volumes */
  }

  private get(id: string): RuntimeContainer {
    const c = this.containers.get(id);
    if (!c) throw new RuntimeError('NotFound', `No such container: ${id}`);
    return c;
  }

  private record(c: Omit<RuntimeContainer, 'id' | 'oomKilled' | 'createdAt'>): RuntimeContainer {
    const id = `hollow${(++this.nextId).toString(16).padStart(10, '0')}`;
    const full: RuntimeContainer = { id, oomKilled: false, createdAt: now(), ...c };
    this.containers.set(id, full);
    return full;
  }

  private podIp(): string {
    const n = this.o.index ?? 0;
    const host = 2 + (this.nextIp++ % 252);
    return `10.${64 + ((n >> 8) & 127)}.${n & 255}.${host}`;
  }

  private emit(c: RuntimeContainer, type: RuntimeEventType): void {
    if (this.listeners.size === 0) return;
    const e: RuntimeEvent = {
      type,
      id: c.id,
      podUid: c.podUid,
      containerName: c.containerName,
      timeNano: Date.now() * 1e6,
      ...(type === 'die' && c.exitCode !== undefined ? { exitCode: c.exitCode } : {}),
    };
    // after the caller's await, as Docker's event stream would
    for (const l of this.listeners) if (c.labels['io.skiff.node'] === l.node) queueMicrotask(() => l.onEvent(e));
  }
}

function imageId(image: string): string {
  let h = 0;
  for (let i = 0; i < image.length; i++) h = (Math.imul(h, 31) + image.charCodeAt(i)) >>> 0;
  return `sha256:${h.toString(16).padStart(8, '0').repeat(8)}`;
}
