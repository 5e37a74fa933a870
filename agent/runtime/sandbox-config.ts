// A pod's sandbox as Docker creates it, decided purely from the pod: the pause container
// that holds the pod's network, IPC and (with hostPID) PID namespaces, its hostname, host
// ports, sysctls, DNS and /etc/hosts lines, its QoS cgroup parent and oom_score_adj, and
// the memory-backed emptyDirs it keeps mounted. Also the pool's sandbox (no pod yet) and
// the /etc/hosts rewrite that gives a pooled sandbox to its pod. docker-runtime.ts acts.

import type Docker from 'dockerode';
import type { Container, Pod } from '../../proto/api/types.gen.js';
import {
  cgroupfsName,
  podCgroupParent,
  qosCgroupName,
  systemdSliceName,
  type CgroupDriver,
} from '../cgroups/cgroup-parents.js';
import { getPodQOS, POD_INFRA_OOM_ADJ } from '../cgroups/qos.js';
import { MIN_SHARES } from '../cgroups/resources.js';
import {
  DOCKER_TYPE_SANDBOX,
  LABEL_CONTAINER_NAME,
  LABEL_DOCKER_TYPE,
  LABEL_NETWORK,
  LABEL_NODE,
  LABEL_POD_NAME,
  LABEL_POD_NAMESPACE,
  LABEL_POD_UID,
  LABEL_POOL,
  LABEL_SANDBOX_ATTEMPT,
  SANDBOX_CONTAINER_NAME,
} from './labels.js';
import { podHostname, podIdentity, pooledSandboxName, sandboxName } from './names.js';
import type { PooledSandboxOptions, SandboxOptions } from './types.js';

export interface LogConfig {
  Type: string;
  Config: Record<string, string>;
}

/** What the translation needs of the runtime and the node (not of the pod). */
export interface RuntimeSettings {
  logConfig: LogConfig;
  /** Set kubelet's oom_score_adj (negative ones are clamped by the caller where refused). */
  oomScoreAdj: boolean;
  /** The daemon's cgroup driver: the form of CgroupParent. */
  driver: CgroupDriver;
}

export interface SandboxConfig {
  /** Docker's container name (k8s_POD_...). */
  name: string;
  /** The network it joins ("host" with hostNetwork). */
  network: string;
  hostNetwork: boolean;
  config: Docker.ContainerCreateOptions;
}

export type PortBindings = Record<string, Array<{ HostIp?: string; HostPort: string }>>;

/** The pod's host ports as Docker's PortBindings (only ports with a hostPort, as dockershim). */
export function hostPortBindings(containers: Container[] | undefined): PortBindings {
  const bindings: PortBindings = {};
  for (const c of containers ?? []) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort) continue;
      const key = `${p.containerPort}/${(p.protocol ?? 'TCP').toLowerCase()}`;
      (bindings[key] ??= []).push({ HostIp: p.hostIP || undefined, HostPort: String(p.hostPort) });
    }
  }
  return bindings;
}

/** Where the memory-backed emptyDir `volume` is mounted in the sandbox (which keeps it mounted). */
export function sandboxVolumeTarget(volume: string): string {
  return `/.skiff/volumes/${volume}`;
}

/** A Docker volume mount of the named (tmpfs) volume, not copying the image's files into it. */
export function volumeMount(source: string, target: string, readOnly?: boolean): Docker.MountSettings {
  return {
    Type: 'volume',
    Source: source,
    Target: target,
    ...(readOnly === undefined ? {} : { ReadOnly: readOnly }),
    VolumeOptions: { NoCopy: true } as Docker.MountSettings['VolumeOptions'],
  };
}

/**
 * `image`: the pause image; `network`: the one to join unless hostNetwork (opts.network or
 * the runtime's default).
 */
export function sandboxConfig(
  pod: Pod,
  opts: SandboxOptions,
  image: string,
  network: string,
  settings: RuntimeSettings,
): SandboxConfig {
  const { name, namespace, uid } = podIdentity(pod);
  const spec = pod.spec;
  const attempt = opts.attempt ?? 0;
  const cgroupParent = opts.cgroupParent ?? podCgroupParent(getPodQOS(pod), uid, settings.driver);
  const hostNetwork = spec?.hostNetwork === true;
  const joined = hostNetwork ? 'host' : network;

  // The sandbox owns the pod's host ports.
  const bindings = hostNetwork ? {} : hostPortBindings(spec?.containers);
  const exposed: Record<string, object> = {};
  for (const key of Object.keys(bindings)) exposed[key] = {};
  const sysctls: Record<string, string> = {};
  for (const s of spec?.securityContext?.sysctls ?? []) sysctls[s.name] = s.value;
  // memory-backed emptyDirs: the sandbox holds each mounted for the pod's life, so what a
  // container wrote survives its restarts and is seen by the pod's other containers
  const volumeMounts = (opts.memoryVolumes ?? []).map((v) => volumeMount(v.name, sandboxVolumeTarget(v.name)));

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
      [LABEL_NETWORK]: joined,
      [LABEL_SANDBOX_ATTEMPT]: String(attempt),
    },
    ExposedPorts: Object.keys(exposed).length ? exposed : undefined,
    HostConfig: {
      NetworkMode: joined,
      UTSMode: hostNetwork ? 'host' : undefined,
      // Containers join the sandbox's IPC namespace, which Docker only allows when shareable.
      IpcMode: spec?.hostIPC ? 'host' : 'shareable',
      PidMode: spec?.hostPID ? 'host' : undefined,
      PortBindings: Object.keys(bindings).length ? bindings : undefined,
      CgroupParent: cgroupParent,
      CpuShares: MIN_SHARES,
      OomScoreAdj: settings.oomScoreAdj ? POD_INFRA_OOM_ADJ : undefined,
      Dns: opts.dns?.servers,
      DnsSearch: opts.dns?.searches,
      DnsOptions: opts.dns?.options,
      ExtraHosts: opts.extraHosts,
      Sysctls: Object.keys(sysctls).length ? sysctls : undefined,
      Mounts: volumeMounts.length ? volumeMounts : undefined,
      RestartPolicy: { Name: 'no' },
      LogConfig: settings.logConfig,
    },
  };
  return { name: dockerName, network: joined, hostNetwork, config };
}

/**
 * A sandbox for no pod yet: the pause container on the pod network with the node's and the
 * pool's labels and none of a pod's (Docker cannot add labels later). It sits in the
 * BestEffort QoS cgroup (its pod is not known; pods' containers get their own pod cgroup
 * parent, and skiff sets no pod-level limits the pause would have to be in).
 */
export function pooledSandboxConfig(
  opts: PooledSandboxOptions,
  image: string,
  network: string,
  suffix: string,
  settings: RuntimeSettings,
): SandboxConfig {
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
      CgroupParent: settings.driver === 'systemd' ? systemdSliceName(qosParent) : cgroupfsName(qosParent),
      CpuShares: MIN_SHARES,
      OomScoreAdj: settings.oomScoreAdj ? POD_INFRA_OOM_ADJ : undefined,
      RestartPolicy: { Name: 'no' },
      LogConfig: settings.logConfig,
    },
  };
  return { name: dockerName, network, hostNetwork: false, config };
}

/** /etc/hosts with the host's own name `from` (as Docker wrote it: "ip\tname") replaced by `to`. */
export function renameHost(hosts: string, from: string, to: string): string {
  if (!from) return hosts;
  return hosts
    .split('\n')
    .map((line) => {
      if (line.trimStart().startsWith('#')) return line;
      // tokens and the whitespace between them; the first token is the address
      const parts = line.split(/(\s+)/);
      const first = parts.findIndex((p) => p !== '' && !/^\s+$/.test(p));
      return parts.map((p, k) => (k > first && p === from ? to : p)).join('');
    })
    .join('\n');
}
