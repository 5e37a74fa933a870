// A pod's container as Docker creates it, decided purely from the pod and the container's
// spec: command and args, env (with the pod's HOSTNAME), the sandbox's namespaces it joins,
// resources as cgroup limits, its QoS cgroup parent and oom_score_adj, user and groups,
// privileges, capabilities and read-only root, mounts, and the labels a restarted agent
// reads back. Plus kubelet's runAsNonRoot rule. docker-runtime.ts acts.

import type Docker from 'dockerode';
import type { Container, Pod } from '../../proto/api/types.gen.js';
import { podCgroupParent } from '../cgroups/cgroup-parents.js';
import { containerOOMScoreAdjust, getPodQOS } from '../cgroups/qos.js';
import { linuxResources, type LinuxResources } from '../cgroups/resources.js';
import { entrypointAndCmd } from './command.js';
import { RuntimeError } from './errors.js';
import {
  containerHash,
  DOCKER_TYPE_CONTAINER,
  LABEL_CONTAINER_HASH,
  LABEL_CONTAINER_NAME,
  LABEL_DOCKER_TYPE,
  LABEL_NODE,
  LABEL_POD_NAME,
  LABEL_POD_NAMESPACE,
  LABEL_POD_UID,
  LABEL_RESTART_COUNT,
  LABEL_SANDBOX_ID,
  LABEL_TERMINATION_GRACE,
} from './labels.js';
import { containerName, podHostname, podIdentity } from './names.js';
import { volumeMount, type RuntimeSettings } from './sandbox-config.js';
import type { ContainerOptions, MemoryVolume, Mount } from './types.js';

export interface ContainerConfig {
  /** Docker's container name (k8s_<container>_...). */
  name: string;
  image: string;
  config: Docker.ContainerCreateOptions;
  /** Memory-backed emptyDir volumes to make before creating it. */
  memoryVolumes: MemoryVolume[];
  /** runAsNonRoot applies: the uid asked for, if any (else the image's user decides). */
  nonRoot?: { runAsUser?: number };
}

/** The user, group and runAsNonRoot in effect: the container's securityContext over the pod's. */
export function effectiveUser(
  pod: Pod,
  container: Container,
): { runAsUser?: number; runAsGroup?: number; runAsNonRoot?: boolean } {
  const sc = container.securityContext ?? {};
  const psc = pod.spec?.securityContext ?? {};
  return {
    runAsUser: sc.runAsUser ?? psc.runAsUser,
    runAsGroup: sc.runAsGroup ?? psc.runAsGroup,
    runAsNonRoot: sc.runAsNonRoot ?? psc.runAsNonRoot,
  };
}

/** Docker's User: "uid" or "uid:gid", undefined to keep the image's. */
export function dockerUser(runAsUser: number | undefined, runAsGroup: number | undefined): string | undefined {
  if (runAsUser === undefined) return undefined;
  return runAsGroup !== undefined ? `${runAsUser}:${runAsGroup}` : String(runAsUser);
}

/**
 * kubelet's verifyRunAsNonRoot: refuse root by uid, or (no uid asked for) an image that runs
 * as root by default; `imageUser` is the image's USER. The CreateContainerConfigError's message.
 */
export function runAsNonRootViolation(
  runAsUser: number | undefined,
  imageUser: string | undefined,
): string | undefined {
  if (runAsUser !== undefined) return runAsUser === 0 ? "container's runAsUser breaks non-root policy" : undefined;
  const u = (imageUser ?? '').split(':')[0];
  if (u === '' || u === '0' || u === 'root') return 'container has runAsNonRoot and image will run as root';
  if (!/^\d+$/.test(u))
    return `container has runAsNonRoot and image has non-numeric user (${u}), cannot verify user is non-root`;
  return undefined;
}

/** the supplemental groups of a container: the pod's, and its fsGroup (kubelet adds it) */
export function groupAdd(supplemental: number[] | undefined, fsGroup: number | undefined): string[] | undefined {
  const all = [...(supplemental ?? [])];
  if (typeof fsGroup === 'number' && !all.includes(fsGroup)) all.push(fsGroup);
  return all.length ? all.map(String) : undefined;
}

/** The pod worker's mounts as Docker Binds, bind Mounts (paths with ':') and tmpfs volume Mounts. */
export function dockerMounts(list: Mount[] | undefined): {
  binds: string[];
  mounts: Docker.MountSettings[];
  memoryVolumes: MemoryVolume[];
} {
  const binds: string[] = [];
  const mounts: Docker.MountSettings[] = [];
  const memoryVolumes: MemoryVolume[] = [];
  for (const m of list ?? []) {
    if (m.tmpfs) {
      memoryVolumes.push({ name: m.tmpfs.volume, sizeBytes: m.tmpfs.sizeBytes });
      mounts.push(volumeMount(m.tmpfs.volume, m.containerPath, !!m.readOnly));
      continue;
    }
    // Binds create a missing host dir (dockershim's hostPath behaviour) but cannot carry ':'.
    if (m.hostPath.includes(':') || m.containerPath.includes(':')) {
      mounts.push({ Type: 'bind', Source: m.hostPath, Target: m.containerPath, ReadOnly: !!m.readOnly });
    } else {
      binds.push(`${m.hostPath}:${m.containerPath}${m.readOnly ? ':ro' : ''}`);
    }
  }
  return { binds, mounts, memoryVolumes };
}

function resourcesOf(container: Container): LinuxResources {
  try {
    return linuxResources(container.resources);
  } catch (e) {
    throw new RuntimeError('CreateContainerConfigError', `invalid resources: ${(e as Error).message}`);
  }
}

/**
 * `env` is already resolved; `memTotal` is the node's memory (Burstable OOM scores scale
 * with it). Throws InvalidArgument (no name, uid or image) or CreateContainerConfigError.
 */
export function containerConfig(
  sandboxId: string,
  pod: Pod,
  container: Container,
  attempt: number,
  env: Record<string, string>,
  opts: ContainerOptions,
  settings: RuntimeSettings,
  memTotal: number,
): ContainerConfig {
  const { name, namespace, uid } = podIdentity(pod);
  const spec = pod.spec;
  const image = opts.image ?? container.image;
  if (!image) throw new RuntimeError('InvalidArgument', `container ${container.name} has no image`);
  const qos = getPodQOS(pod);
  const cgroupParent = opts.cgroupParent ?? podCgroupParent(qos, uid, settings.driver);
  const resources = resourcesOf(container);
  const { entrypoint, cmd } = entrypointAndCmd(container.command, container.args, env);
  const sc = container.securityContext ?? {};
  const psc = spec?.securityContext ?? {};
  const { runAsUser, runAsGroup, runAsNonRoot } = effectiveUser(pod, container);
  const { binds, mounts, memoryVolumes } = dockerMounts(opts.mounts);

  const grace = spec?.terminationGracePeriodSeconds ?? 30;
  const dockerName = containerName(container.name, name, namespace, uid, attempt);
  const ns = `container:${sandboxId}`;
  const config: Docker.ContainerCreateOptions = {
    name: dockerName,
    Image: image,
    Entrypoint: entrypoint,
    Cmd: cmd,
    // HOSTNAME as a CRI runtime sets it (the pod's hostname; the pod's own env wins): Docker
    // would give the sandbox's creation-time hostname, a pool name for an adopted one
    Env: [
      ...(spec?.hostNetwork || 'HOSTNAME' in env ? [] : [`HOSTNAME=${podHostname(pod, name)}`]),
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
    ],
    WorkingDir: container.workingDir || undefined,
    User: dockerUser(runAsUser, runAsGroup),
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
      IpcMode: spec?.hostIPC ? 'host' : ns,
      PidMode: spec?.hostPID ? 'host' : spec?.shareProcessNamespace ? ns : undefined,
      CgroupParent: cgroupParent,
      Memory: resources.memoryLimitBytes,
      // Equal to Memory: no swap on top of the limit.
      MemorySwap: resources.memoryLimitBytes,
      CpuShares: resources.cpuShares,
      CpuQuota: resources.cpuQuotaUs,
      CpuPeriod: resources.cpuPeriodUs,
      OomScoreAdj: settings.oomScoreAdj ? containerOOMScoreAdjust(qos, container, memTotal) : undefined,
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
      LogConfig: settings.logConfig,
    },
  };
  return { name: dockerName, image, config, memoryVolumes, nonRoot: runAsNonRoot ? { runAsUser } : undefined };
}
