// What Docker's inspect says, as the runtime's RuntimeContainer: state, times, exit code,
// the pod and container it belongs to (labels first, its name as the fallback: a sandbox
// adopted from the pool has no pod labels) and a sandbox's IP. Pure.

import type Docker from 'dockerode';
import {
  DOCKER_TYPE_SANDBOX,
  LABEL_CONTAINER_HASH,
  LABEL_CONTAINER_NAME,
  LABEL_DOCKER_TYPE,
  LABEL_NETWORK,
  LABEL_POD_NAME,
  LABEL_POD_NAMESPACE,
  LABEL_POD_UID,
  LABEL_RESTART_COUNT,
  LABEL_SANDBOX_ATTEMPT,
  LABEL_SANDBOX_ID,
} from './labels.js';
import { parseName } from './names.js';
import type { ContainerState, RuntimeContainer, RuntimeInfo } from './types.js';

const ZERO_TIME = '0001-01-01T00:00:00Z';

/** An RFC 3339 time, or undefined for Docker's zero time ("never"). */
export function dockerTime(t: string | undefined): string | undefined {
  return !t || t.startsWith('0001-01-01') || t === ZERO_TIME ? undefined : t;
}

export function dockerState(status: string | undefined): ContainerState {
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

/** The sandbox's address on `network` (the one it joined), else on any network. */
export function sandboxIp(
  info: Pick<Docker.ContainerInspectInfo, 'NetworkSettings'>,
  network: string | undefined,
): string | undefined {
  const nets: Record<string, { IPAddress?: string } | undefined> = info.NetworkSettings?.Networks ?? {};
  if (network && nets[network]?.IPAddress) return nets[network].IPAddress;
  for (const n of Object.values(nets)) if (n?.IPAddress) return n.IPAddress;
  return undefined;
}

/** `imageID`: what the image's id resolves to (DockerImages.idForId). */
export function toRuntimeContainer(info: Docker.ContainerInspectInfo, imageID: string): RuntimeContainer {
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
    imageID,
    pid: info.State?.Pid || undefined,
    cgroupParent: info.HostConfig?.CgroupParent || undefined,
    labels,
  };
  if (isSandbox && labels[LABEL_NETWORK] !== 'host') out.ip = sandboxIp(info, labels[LABEL_NETWORK]);
  return out;
}

/** `docker info` and `docker version` as the runtime's RuntimeInfo. */
export function toRuntimeInfo(info: unknown, version: Docker.DockerVersion): RuntimeInfo {
  const i = (info ?? {}) as Record<string, unknown>;
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
