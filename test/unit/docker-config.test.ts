// The pure pod -> Docker translation (agent/runtime/sandbox-config.ts, container-config.ts):
// what Docker is asked to create for a pod's sandbox and containers, as tables.
import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import type { Container, Pod, PodSpec } from '../../proto/api/types.gen.js';
import {
  containerConfig,
  dockerMounts,
  dockerUser,
  effectiveUser,
  groupAdd,
  runAsNonRootViolation,
} from '../../agent/runtime/container-config.js';
import { RuntimeError } from '../../agent/runtime/errors.js';
import { containerHash } from '../../agent/runtime/labels.js';
import {
  hostPortBindings,
  pooledSandboxConfig,
  renameHost,
  sandboxConfig,
  type RuntimeSettings,
} from '../../agent/runtime/sandbox-config.js';
import type { ContainerOptions, SandboxOptions } from '../../agent/runtime/types.js';

const UID = '0b9d2c1e-1111-4222-8333-444455556666';
const LOG = { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '5' } };
const cgroupfs: RuntimeSettings = { logConfig: LOG, oomScoreAdj: true, driver: 'cgroupfs' };
const systemd: RuntimeSettings = { ...cgroupfs, driver: 'systemd' };
const GiB = 1024 ** 3;

const c = (over: Partial<Container> = {}): Container => ({ name: 'app', image: 'busybox', ...over });
const pod = (spec: Partial<PodSpec> = {}, extra: Partial<Pod> = {}): Pod => ({
  metadata: { name: 'web', namespace: 'shop', uid: UID },
  spec: { containers: [c()], ...spec },
  ...extra,
});
const guaranteed = { resources: { limits: { cpu: '500m', memory: '64Mi' } } };
const burstable = { resources: { requests: { memory: '1Gi' } } };

function sandbox(p: Pod, opts: Partial<SandboxOptions> = {}, settings = cgroupfs) {
  return sandboxConfig(p, { node: 'n1', ...opts }, 'pause:1', 'skiff-pods', settings);
}
function container(
  p: Pod,
  ctr: Container = p.spec!.containers[0],
  opts: Partial<ContainerOptions> = {},
  env: Record<string, string> = {},
  settings = cgroupfs,
) {
  return containerConfig('sb1', p, ctr, 2, env, { node: 'n1', ...opts }, settings, 4 * GiB);
}
const host = (cfg: Docker.ContainerCreateOptions) => cfg.HostConfig ?? {};

describe('sandbox config: what is translated from the pod', () => {
  const table: Array<
    [string, Pod, Partial<SandboxOptions>, RuntimeSettings, (cfg: Docker.ContainerCreateOptions) => unknown, unknown]
  > = [
    ['name', pod(), {}, cgroupfs, (cfg) => cfg.name, `k8s_POD_web_shop_${UID}_0`],
    ['name with the attempt', pod(), { attempt: 3 }, cgroupfs, (cfg) => cfg.name, `k8s_POD_web_shop_${UID}_3`],
    ['image', pod(), {}, cgroupfs, (cfg) => cfg.Image, 'pause:1'],
    ['hostname: the pod name', pod(), {}, cgroupfs, (cfg) => cfg.Hostname, 'web'],
    ['hostname: spec.hostname', pod({ hostname: 'db-0' }), {}, cgroupfs, (cfg) => cfg.Hostname, 'db-0'],
    [
      'hostname: 63 characters, trailing - and . trimmed',
      pod({ hostname: `${'a'.repeat(61)}-.x` }),
      {},
      cgroupfs,
      (cfg) => cfg.Hostname,
      'a'.repeat(61),
    ],
    ['hostname: none with hostNetwork', pod({ hostNetwork: true }), {}, cgroupfs, (cfg) => cfg.Hostname, undefined],
    ['network: the given one', pod(), {}, cgroupfs, (cfg) => host(cfg).NetworkMode, 'skiff-pods'],
    [
      'network: host with hostNetwork',
      pod({ hostNetwork: true }),
      {},
      cgroupfs,
      (cfg) => [host(cfg).NetworkMode, host(cfg).UTSMode],
      ['host', 'host'],
    ],
    ['IPC: shareable (containers join it)', pod(), {}, cgroupfs, (cfg) => host(cfg).IpcMode, 'shareable'],
    ['IPC: hostIPC', pod({ hostIPC: true }), {}, cgroupfs, (cfg) => host(cfg).IpcMode, 'host'],
    ['PID: own namespace', pod(), {}, cgroupfs, (cfg) => host(cfg).PidMode, undefined],
    ['PID: hostPID', pod({ hostPID: true }), {}, cgroupfs, (cfg) => host(cfg).PidMode, 'host'],
    [
      'cgroup parent: BestEffort, cgroupfs',
      pod(),
      {},
      cgroupfs,
      (cfg) => host(cfg).CgroupParent,
      `/kubepods/besteffort/pod${UID}`,
    ],
    [
      'cgroup parent: Burstable, cgroupfs',
      pod({ containers: [c(burstable)] }),
      {},
      cgroupfs,
      (cfg) => host(cfg).CgroupParent,
      `/kubepods/burstable/pod${UID}`,
    ],
    [
      'cgroup parent: Guaranteed, cgroupfs',
      pod({ containers: [c(guaranteed)] }),
      {},
      cgroupfs,
      (cfg) => host(cfg).CgroupParent,
      `/kubepods/pod${UID}`,
    ],
    [
      'cgroup parent: Guaranteed, systemd',
      pod({ containers: [c(guaranteed)] }),
      {},
      systemd,
      (cfg) => host(cfg).CgroupParent,
      `kubepods-pod${UID.replace(/-/g, '_')}.slice`,
    ],
    [
      'cgroup parent: status.qosClass wins',
      pod({ containers: [c(guaranteed)] }, { status: { qosClass: 'BestEffort' } }),
      {},
      cgroupfs,
      (cfg) => host(cfg).CgroupParent,
      `/kubepods/besteffort/pod${UID}`,
    ],
    [
      'cgroup parent: the override',
      pod(),
      { cgroupParent: '/custom' },
      cgroupfs,
      (cfg) => host(cfg).CgroupParent,
      '/custom',
    ],
    ['CPU shares: the minimum', pod({ containers: [c(guaranteed)] }), {}, cgroupfs, (cfg) => host(cfg).CpuShares, 2],
    ["OOM score: the pause container's", pod(), {}, cgroupfs, (cfg) => host(cfg).OomScoreAdj, -998],
    [
      'OOM score: unset when turned off',
      pod(),
      {},
      { ...cgroupfs, oomScoreAdj: false },
      (cfg) => host(cfg).OomScoreAdj,
      undefined,
    ],
    [
      'host ports: none',
      pod(),
      {},
      cgroupfs,
      (cfg) => [cfg.ExposedPorts, host(cfg).PortBindings],
      [undefined, undefined],
    ],
    [
      'host ports: only ports with a hostPort, protocol lower-cased',
      pod({
        containers: [
          c({
            ports: [
              { containerPort: 80, hostPort: 8080 },
              { containerPort: 81 },
              { containerPort: 53, hostPort: 5353, protocol: 'UDP', hostIP: '127.0.0.1' },
            ],
          }),
        ],
      }),
      {},
      cgroupfs,
      (cfg) => [cfg.ExposedPorts, host(cfg).PortBindings],
      [
        { '80/tcp': {}, '53/udp': {} },
        { '80/tcp': [{ HostIp: undefined, HostPort: '8080' }], '53/udp': [{ HostIp: '127.0.0.1', HostPort: '5353' }] },
      ],
    ],
    [
      'host ports: none with hostNetwork',
      pod({ hostNetwork: true, containers: [c({ ports: [{ containerPort: 80, hostPort: 80 }] })] }),
      {},
      cgroupfs,
      (cfg) => host(cfg).PortBindings,
      undefined,
    ],
    [
      'sysctls',
      pod({ securityContext: { sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }] } }),
      {},
      cgroupfs,
      (cfg) => host(cfg).Sysctls,
      { 'net.ipv4.ip_unprivileged_port_start': '0' },
    ],
    ['sysctls: none', pod({ securityContext: { sysctls: [] } }), {}, cgroupfs, (cfg) => host(cfg).Sysctls, undefined],
    [
      'DNS',
      pod(),
      { dns: { servers: ['10.0.0.10'], searches: ['shop.svc.cluster.local'], options: ['ndots:5'] } },
      cgroupfs,
      (cfg) => [host(cfg).Dns, host(cfg).DnsSearch, host(cfg).DnsOptions],
      [['10.0.0.10'], ['shop.svc.cluster.local'], ['ndots:5']],
    ],
    [
      'extra /etc/hosts lines',
      pod(),
      { extraHosts: ['10.0.0.1 a b'] },
      cgroupfs,
      (cfg) => host(cfg).ExtraHosts,
      ['10.0.0.1 a b'],
    ],
    [
      'memory emptyDirs: kept mounted by the sandbox',
      pod(),
      { memoryVolumes: [{ name: 'skiff-mem-1', sizeBytes: 1 << 20 }] },
      cgroupfs,
      (cfg) => host(cfg).Mounts,
      [
        {
          Type: 'volume',
          Source: 'skiff-mem-1',
          Target: '/.skiff/volumes/skiff-mem-1',
          VolumeOptions: { NoCopy: true },
        },
      ],
    ],
    [
      'restart policy: never (the agent restarts)',
      pod(),
      {},
      cgroupfs,
      (cfg) => host(cfg).RestartPolicy,
      { Name: 'no' },
    ],
    ['log rotation', pod(), {}, cgroupfs, (cfg) => host(cfg).LogConfig, LOG],
    [
      'labels',
      pod(),
      { attempt: 1 },
      cgroupfs,
      (cfg) => cfg.Labels,
      {
        'io.kubernetes.pod.name': 'web',
        'io.kubernetes.pod.namespace': 'shop',
        'io.kubernetes.pod.uid': UID,
        'io.kubernetes.container.name': 'POD',
        'io.kubernetes.docker.type': 'podsandbox',
        'io.skiff.node': 'n1',
        'io.skiff.network': 'skiff-pods',
        'io.skiff.sandbox.attempt': '1',
      },
    ],
    [
      'labels: network host with hostNetwork',
      pod({ hostNetwork: true }),
      {},
      cgroupfs,
      (cfg) => cfg.Labels?.['io.skiff.network'],
      'host',
    ],
  ];
  for (const [name, p, opts, settings, get, want] of table) {
    it(name, () => expect(get(sandbox(p, opts, settings).config)).toEqual(want));
  }

  it('says where it joined and whether it is on the host network', () => {
    expect(sandbox(pod())).toMatchObject({
      name: `k8s_POD_web_shop_${UID}_0`,
      network: 'skiff-pods',
      hostNetwork: false,
    });
    expect(sandbox(pod({ hostNetwork: true }))).toMatchObject({ network: 'host', hostNetwork: true });
  });

  it('the namespace defaults to "default"; a pod without name or uid is refused', () => {
    expect(sandbox({ metadata: { name: 'p', uid: UID }, spec: { containers: [c()] } }).name).toBe(
      `k8s_POD_p_default_${UID}_0`,
    );
    expect(() => sandbox({ metadata: { name: 'p' }, spec: { containers: [c()] } })).toThrow(RuntimeError);
    expect(() => sandbox({ spec: { containers: [c()] } })).toThrow('pod needs metadata.name and metadata.uid');
  });
});

describe('pooled sandbox config', () => {
  it.each<[string, RuntimeSettings, string]>([
    ['cgroupfs', cgroupfs, '/kubepods/besteffort'],
    ['systemd', systemd, 'kubepods-besteffort.slice'],
  ])('%s: BestEffort cgroup, pool labels and no pod labels', (_n, settings, parent) => {
    const sb = pooledSandboxConfig({ node: 'n1' }, 'pause:1', 'skiff-pods', 'abc123', settings);
    expect(sb).toMatchObject({ name: 'skiff-pool_n1_abc123', network: 'skiff-pods', hostNetwork: false });
    expect(sb.config).toEqual({
      name: 'skiff-pool_n1_abc123',
      Image: 'pause:1',
      Hostname: 'skiff-pool-abc123',
      Labels: {
        'io.kubernetes.container.name': 'POD',
        'io.kubernetes.docker.type': 'podsandbox',
        'io.skiff.node': 'n1',
        'io.skiff.network': 'skiff-pods',
        'io.skiff.sandbox.pool': 'n1',
      },
      HostConfig: {
        NetworkMode: 'skiff-pods',
        IpcMode: 'shareable',
        CgroupParent: parent,
        CpuShares: 2,
        OomScoreAdj: -998,
        RestartPolicy: { Name: 'no' },
        LogConfig: LOG,
      },
    });
  });
});

describe('container config: what is translated from the pod and the container', () => {
  type Row = [
    string,
    Pod,
    Partial<ContainerOptions>,
    Record<string, string>,
    (cfg: Docker.ContainerCreateOptions) => unknown,
    unknown,
  ];
  const one = (ctr: Partial<Container>, spec: Partial<PodSpec> = {}): Pod => pod({ ...spec, containers: [c(ctr)] });
  const table: Row[] = [
    ['name', pod(), {}, {}, (cfg) => cfg.name, `k8s_app_web_shop_${UID}_2`],
    ["image: the spec's", pod(), {}, {}, (cfg) => cfg.Image, 'busybox'],
    ['image: the resolved id', pod(), { image: 'sha256:abc' }, {}, (cfg) => cfg.Image, 'sha256:abc'],
    [
      'command replaces entrypoint and drops CMD',
      one({ command: ['sh', '-c'], args: ['echo $(X)'] }),
      {},
      { X: 'hi' },
      (cfg) => [cfg.Entrypoint, cfg.Cmd],
      [['sh', '-c'], ['echo hi']],
    ],
    ['args only replace CMD', one({ args: ['a'] }), {}, {}, (cfg) => [cfg.Entrypoint, cfg.Cmd], [undefined, ['a']]],
    [
      'env: HOSTNAME first, then the resolved env',
      pod(),
      {},
      { A: '1', B: 'x=y' },
      (cfg) => cfg.Env,
      ['HOSTNAME=web', 'A=1', 'B=x=y'],
    ],
    ["env: the pod's own HOSTNAME wins", pod(), {}, { HOSTNAME: 'mine' }, (cfg) => cfg.Env, ['HOSTNAME=mine']],
    ['env: no HOSTNAME with hostNetwork', pod({ hostNetwork: true }), {}, { A: '1' }, (cfg) => cfg.Env, ['A=1']],
    ['env: HOSTNAME is spec.hostname', pod({ hostname: 'db-0' }), {}, {}, (cfg) => cfg.Env, ['HOSTNAME=db-0']],
    ['working dir', one({ workingDir: '/srv' }), {}, {}, (cfg) => cfg.WorkingDir, '/srv'],
    ["working dir: the image's", one({ workingDir: '' }), {}, {}, (cfg) => cfg.WorkingDir, undefined],
    [
      'tty and stdin',
      one({ tty: true, stdin: true, stdinOnce: true }),
      {},
      {},
      (cfg) => [cfg.Tty, cfg.OpenStdin, cfg.StdinOnce],
      [true, true, true],
    ],
    ['no tty, no stdin', pod(), {}, {}, (cfg) => [cfg.Tty, cfg.OpenStdin, cfg.StdinOnce], [false, false, false]],
    [
      "joins the sandbox's network and IPC",
      pod(),
      {},
      {},
      (cfg) => [host(cfg).NetworkMode, host(cfg).IpcMode, host(cfg).PidMode],
      ['container:sb1', 'container:sb1', undefined],
    ],
    [
      'hostIPC, hostPID',
      pod({ hostIPC: true, hostPID: true }),
      {},
      {},
      (cfg) => [host(cfg).IpcMode, host(cfg).PidMode],
      ['host', 'host'],
    ],
    [
      "shareProcessNamespace: the sandbox's PID namespace",
      pod({ shareProcessNamespace: true }),
      {},
      {},
      (cfg) => host(cfg).PidMode,
      'container:sb1',
    ],
    ['cgroup parent: BestEffort', pod(), {}, {}, (cfg) => host(cfg).CgroupParent, `/kubepods/besteffort/pod${UID}`],
    ['cgroup parent: Guaranteed', one(guaranteed), {}, {}, (cfg) => host(cfg).CgroupParent, `/kubepods/pod${UID}`],
    ['cgroup parent: the override', pod(), { cgroupParent: '/x' }, {}, (cfg) => host(cfg).CgroupParent, '/x'],
    [
      'limits: none (minimum shares, no quota, no memory limit)',
      pod(),
      {},
      {},
      (cfg) => [host(cfg).Memory, host(cfg).MemorySwap, host(cfg).CpuShares, host(cfg).CpuQuota, host(cfg).CpuPeriod],
      [undefined, undefined, 2, undefined, undefined],
    ],
    [
      'limits: memory and cpu, no swap on top',
      one(guaranteed),
      {},
      {},
      (cfg) => [host(cfg).Memory, host(cfg).MemorySwap, host(cfg).CpuShares, host(cfg).CpuQuota, host(cfg).CpuPeriod],
      [64 * 1024 * 1024, 64 * 1024 * 1024, 512, 50_000, 100_000],
    ],
    [
      'limits: cpu request only',
      one({ resources: { requests: { cpu: '250m' } } }),
      {},
      {},
      (cfg) => [host(cfg).CpuShares, host(cfg).CpuQuota],
      [256, undefined],
    ],
    ['OOM score: Guaranteed', one(guaranteed), {}, {}, (cfg) => host(cfg).OomScoreAdj, -997],
    ['OOM score: BestEffort', pod(), {}, {}, (cfg) => host(cfg).OomScoreAdj, 1000],
    [
      'OOM score: Burstable, by memory request (1Gi of 4Gi)',
      one(burstable),
      {},
      {},
      (cfg) => host(cfg).OomScoreAdj,
      750,
    ],
    ["user: none (the image's)", pod(), {}, {}, (cfg) => cfg.User, undefined],
    ["user: the pod's uid", pod({ securityContext: { runAsUser: 1000 } }), {}, {}, (cfg) => cfg.User, '1000'],
    [
      "user: the container's uid and gid over the pod's",
      one(
        { securityContext: { runAsUser: 2000, runAsGroup: 3000 } },
        { securityContext: { runAsUser: 1000, runAsGroup: 1 } },
      ),
      {},
      {},
      (cfg) => cfg.User,
      '2000:3000',
    ],
    [
      'groups: supplemental and fsGroup',
      pod({ securityContext: { supplementalGroups: [5, 6], fsGroup: 7 } }),
      {},
      {},
      (cfg) => host(cfg).GroupAdd,
      ['5', '6', '7'],
    ],
    ['groups: none', pod(), {}, {}, (cfg) => host(cfg).GroupAdd, undefined],
    [
      'privileged, read-only root',
      one({ securityContext: { privileged: true, readOnlyRootFilesystem: true } }),
      {},
      {},
      (cfg) => [host(cfg).Privileged, host(cfg).ReadonlyRootfs],
      [true, true],
    ],
    [
      'not privileged, writable root',
      pod(),
      {},
      {},
      (cfg) => [host(cfg).Privileged, host(cfg).ReadonlyRootfs],
      [false, false],
    ],
    [
      'capabilities',
      one({ securityContext: { capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] } } }),
      {},
      {},
      (cfg) => [host(cfg).CapAdd, host(cfg).CapDrop],
      [['NET_ADMIN'], ['ALL']],
    ],
    ['capabilities: none', pod(), {}, {}, (cfg) => [host(cfg).CapAdd, host(cfg).CapDrop], [undefined, undefined]],
    [
      'allowPrivilegeEscalation false: no-new-privileges',
      one({ securityContext: { allowPrivilegeEscalation: false } }),
      {},
      {},
      (cfg) => host(cfg).SecurityOpt,
      ['no-new-privileges'],
    ],
    [
      'allowPrivilegeEscalation true: nothing',
      one({ securityContext: { allowPrivilegeEscalation: true } }),
      {},
      {},
      (cfg) => host(cfg).SecurityOpt,
      undefined,
    ],
    [
      'mounts: binds, bind mounts for paths with ":", tmpfs volumes',
      pod(),
      {
        mounts: [
          { hostPath: '/data/a', containerPath: '/a' },
          { hostPath: '/data/b', containerPath: '/b', readOnly: true },
          { hostPath: '/data/c:d', containerPath: '/c' },
          { hostPath: '', containerPath: '/m', tmpfs: { volume: 'skiff-mem-1', sizeBytes: 1 << 20 } },
        ],
      },
      {},
      (cfg) => [host(cfg).Binds, host(cfg).Mounts],
      [
        ['/data/a:/a', '/data/b:/b:ro'],
        [
          { Type: 'bind', Source: '/data/c:d', Target: '/c', ReadOnly: false },
          { Type: 'volume', Source: 'skiff-mem-1', Target: '/m', ReadOnly: false, VolumeOptions: { NoCopy: true } },
        ],
      ],
    ],
    ['mounts: none', pod(), {}, {}, (cfg) => [host(cfg).Binds, host(cfg).Mounts], [undefined, undefined]],
    ['restart policy: never (the agent restarts)', pod(), {}, {}, (cfg) => host(cfg).RestartPolicy, { Name: 'no' }],
    ['log rotation', pod(), {}, {}, (cfg) => host(cfg).LogConfig, LOG],
    [
      'termination grace: the default 30 s',
      pod(),
      {},
      {},
      (cfg) => cfg.Labels?.['io.kubernetes.pod.terminationGracePeriod'],
      '30',
    ],
    [
      "termination grace: the pod's",
      pod({ terminationGracePeriodSeconds: 5 }),
      {},
      {},
      (cfg) => cfg.Labels?.['io.kubernetes.pod.terminationGracePeriod'],
      '5',
    ],
    [
      'labels',
      pod(),
      {},
      {},
      (cfg) => cfg.Labels,
      {
        'io.kubernetes.pod.name': 'web',
        'io.kubernetes.pod.namespace': 'shop',
        'io.kubernetes.pod.uid': UID,
        'io.kubernetes.container.name': 'app',
        'io.kubernetes.docker.type': 'container',
        'io.kubernetes.sandbox.id': 'sb1',
        'io.kubernetes.container.restartCount': '2',
        'io.kubernetes.pod.terminationGracePeriod': '30',
        'io.skiff.container.hash': containerHash(c()),
        'io.skiff.node': 'n1',
      },
    ],
  ];
  for (const [name, p, opts, env, get, want] of table) {
    it(name, () => expect(get(container(p, p.spec!.containers[0], opts, env).config)).toEqual(want));
  }

  it('systemd cgroup parent, OOM score off', () => {
    const cfg = container(pod(), c(), {}, {}, { ...systemd, oomScoreAdj: false }).config;
    expect(host(cfg).CgroupParent).toBe(`kubepods-besteffort-pod${UID.replace(/-/g, '_')}.slice`);
    expect(host(cfg).OomScoreAdj).toBeUndefined();
  });

  it('lists the memory volumes to make and whether runAsNonRoot applies', () => {
    const m = { hostPath: '', containerPath: '/m', tmpfs: { volume: 'v1', sizeBytes: 10 } };
    expect(container(pod(), c(), { mounts: [m] })).toMatchObject({
      image: 'busybox',
      memoryVolumes: [{ name: 'v1', sizeBytes: 10 }],
      nonRoot: undefined,
    });
    expect(container(pod({ securityContext: { runAsNonRoot: true } })).nonRoot).toEqual({ runAsUser: undefined });
    expect(container(one({ securityContext: { runAsNonRoot: true, runAsUser: 5 } })).nonRoot).toEqual({ runAsUser: 5 });
    expect(
      container(one({ securityContext: { runAsNonRoot: false } }, { securityContext: { runAsNonRoot: true } })).nonRoot,
    ).toBeUndefined();
  });

  it('refuses a container without an image and bad resources', () => {
    expect(() => container(pod(), { name: 'x' })).toThrow(
      expect.objectContaining({ reason: 'InvalidArgument', message: 'container x has no image' }),
    );
    expect(() => container(one({ resources: { limits: { memory: 'lots' } } }))).toThrow(
      expect.objectContaining({ reason: 'CreateContainerConfigError' }),
    );
  });
});

describe('security context helpers', () => {
  it.each<[string, Partial<PodSpec>, Partial<Container>, ReturnType<typeof effectiveUser>]>([
    ['nothing set', {}, {}, { runAsUser: undefined, runAsGroup: undefined, runAsNonRoot: undefined }],
    [
      "the pod's",
      { securityContext: { runAsUser: 1, runAsGroup: 2, runAsNonRoot: true } },
      {},
      { runAsUser: 1, runAsGroup: 2, runAsNonRoot: true },
    ],
    [
      "the container's wins",
      { securityContext: { runAsUser: 1, runAsNonRoot: true } },
      { securityContext: { runAsUser: 0, runAsNonRoot: false } },
      { runAsUser: 0, runAsGroup: undefined, runAsNonRoot: false },
    ],
  ])('effective user: %s', (_n, spec, ctr, want) => {
    expect(effectiveUser(pod(spec), c(ctr))).toEqual(want);
  });

  it.each<[number | undefined, number | undefined, string | undefined]>([
    [undefined, undefined, undefined],
    [undefined, 5, undefined],
    [0, undefined, '0'],
    [1000, 100, '1000:100'],
  ])('docker user of uid %s gid %s is %s', (u, g, want) => expect(dockerUser(u, g)).toBe(want));

  it.each<[string, number | undefined, string | undefined, string | undefined]>([
    ['uid 0', 0, undefined, "container's runAsUser breaks non-root policy"],
    ['uid 1000', 1000, 'root', undefined],
    ['image without USER', undefined, '', 'container has runAsNonRoot and image will run as root'],
    ['image USER root', undefined, 'root', 'container has runAsNonRoot and image will run as root'],
    ['image USER 0:0', undefined, '0:0', 'container has runAsNonRoot and image will run as root'],
    ['image USER 1000:1000', undefined, '1000:1000', undefined],
    [
      'image USER nobody',
      undefined,
      'nobody',
      'container has runAsNonRoot and image has non-numeric user (nobody), cannot verify user is non-root',
    ],
  ])('runAsNonRoot: %s', (_n, uid, imageUser, want) => expect(runAsNonRootViolation(uid, imageUser)).toBe(want));

  it.each<[number[] | undefined, number | undefined, string[] | undefined]>([
    [undefined, undefined, undefined],
    [[], undefined, undefined],
    [[1, 2], undefined, ['1', '2']],
    [undefined, 3, ['3']],
    [[3, 4], 3, ['3', '4']],
  ])('groups %j with fsGroup %s', (sup, fs, want) => expect(groupAdd(sup, fs)).toEqual(want));
});

describe('host ports, mounts, /etc/hosts', () => {
  it('host ports of several containers on one port key', () => {
    expect(
      hostPortBindings([
        c({ ports: [{ containerPort: 80, hostPort: 1 }] }),
        c({ name: 'b', ports: [{ containerPort: 80, hostPort: 2, protocol: 'TCP' }] }),
      ]),
    ).toEqual({
      '80/tcp': [
        { HostIp: undefined, HostPort: '1' },
        { HostIp: undefined, HostPort: '2' },
      ],
    });
    expect(hostPortBindings(undefined)).toEqual({});
  });

  it('mounts with ":" in the container path are bind mounts', () => {
    expect(dockerMounts([{ hostPath: '/a', containerPath: '/b:c', readOnly: true }])).toEqual({
      binds: [],
      mounts: [{ Type: 'bind', Source: '/a', Target: '/b:c', ReadOnly: true }],
      memoryVolumes: [],
    });
  });

  it.each<[string, string, string, string, string]>([
    [
      'the host line renamed',
      '127.0.0.1\tlocalhost\n172.17.0.2\tskiff-pool-1\n',
      'skiff-pool-1',
      'web',
      '127.0.0.1\tlocalhost\n172.17.0.2\tweb\n',
    ],
    [
      'comments and addresses kept',
      '# skiff-pool-1\nskiff-pool-1 skiff-pool-1 x\n',
      'skiff-pool-1',
      'web',
      '# skiff-pool-1\nskiff-pool-1 web x\n',
    ],
    ['nothing to rename', 'a b\n', '', 'web', 'a b\n'],
  ])('renameHost: %s', (_n, hosts, from, to, want) => expect(renameHost(hosts, from, to)).toBe(want));
});
