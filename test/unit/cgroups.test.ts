// QoS classes, cgroup parent names for both drivers, kubelet's cpu arithmetic, and the
// parsing of v1/v2 limit files (fake cgroup trees in temp dirs).

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtemp, mkdir, writeFile, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computePodQOS, getPodQOS, containerOOMScoreAdjust, type QOSPod } from '../../agent/cgroups/qos.js';
import {
  podCgroupParent,
  podCgroupPath,
  containerCgroupPath,
  expandSlice,
  systemdSliceName,
  cgroupParentToPath,
} from '../../agent/cgroups/cgroup-parents.js';
import { milliCPUToShares, milliCPUToQuota, cpuSharesToWeight, linuxResources } from '../../agent/cgroups/resources.js';
import { parseMountInfo, layoutFromHierarchies, hierarchyFor, type CgroupLayout } from '../../agent/cgroups/detect.js';
import {
  parseV1MemoryLimit,
  parseV1CpuQuota,
  parseV2MemoryMax,
  parseV2CpuMax,
  parseProcCgroup,
  readContainerLimits,
  readLimitsForPid,
  hostDir,
} from '../../agent/cgroups/read-limits.js';
import { removePodCgroups, listPodCgroupUids } from '../../agent/cgroups/cleanup.js';
import { entrypointAndCmd, expandVars } from '../../agent/runtime/command.js';
import { parseImageRef } from '../../agent/runtime/image-ref.js';
import { containerName, parseName, sandboxName } from '../../agent/runtime/names.js';
import { containerHash } from '../../agent/runtime/labels.js';

type Res = { limits?: Record<string, string>; requests?: Record<string, string> };
const pod = (...resources: Res[]): QOSPod => ({ spec: { containers: resources.map((r) => ({ resources: r })) } });

describe('QoS class (kubelet ComputePodQOS)', () => {
  it.each<[string, QOSPod, string]>([
    ['no resources', pod({}), 'BestEffort'],
    ['zero quantities only', pod({ requests: { cpu: '0', memory: '0' } }), 'BestEffort'],
    [
      'limits equal requests for cpu and memory',
      pod({ limits: { cpu: '500m', memory: '64Mi' }, requests: { cpu: '0.5', memory: '67108864' } }),
      'Guaranteed',
    ],
    ['limits only (requests default to limits)', pod({ limits: { cpu: '1', memory: '1Gi' } }), 'Guaranteed'],
    [
      'cpu request below limit',
      pod({ limits: { memory: '64Mi', cpu: '500m' }, requests: { cpu: '250m' } }),
      'Burstable',
    ],
    ['memory limit only', pod({ limits: { memory: '64Mi' } }), 'Burstable'],
    ['request only', pod({ requests: { cpu: '100m' } }), 'Burstable'],
    ['one guaranteed and one besteffort container', pod({ limits: { cpu: '1', memory: '1Gi' } }, {}), 'Burstable'],
    [
      'two guaranteed containers',
      pod({ limits: { cpu: '1', memory: '1Gi' } }, { limits: { cpu: '100m', memory: '10Mi' } }),
      'Guaranteed',
    ],
    ['non-compute resources ignored', pod({ limits: { 'ephemeral-storage': '1Gi' } }), 'BestEffort'],
  ])('%s', (_name, p, want) => {
    expect(computePodQOS(p)).toBe(want);
  });

  it('counts init containers', () => {
    const p: QOSPod = { spec: { containers: [{}], initContainers: [{ resources: { requests: { memory: '1Mi' } } }] } };
    expect(computePodQOS(p)).toBe('Burstable');
  });

  it('status.qosClass wins once set', () => {
    expect(getPodQOS({ ...pod({}), status: { qosClass: 'Guaranteed' } })).toBe('Guaranteed');
  });

  it('OOM score adjust as kubelet policy', () => {
    const c = { resources: { requests: { memory: '1Gi' } } };
    expect(containerOOMScoreAdjust('Guaranteed', c, 4 * 2 ** 30)).toBe(-997);
    expect(containerOOMScoreAdjust('BestEffort', c, 4 * 2 ** 30)).toBe(1000);
    expect(containerOOMScoreAdjust('Burstable', c, 4 * 2 ** 30)).toBe(750);
    expect(containerOOMScoreAdjust('Burstable', { resources: { requests: { memory: '4Gi' } } }, 4 * 2 ** 30)).toBe(3);
    expect(containerOOMScoreAdjust('Burstable', {}, 4 * 2 ** 30)).toBe(999);
  });
});

describe('cgroup parents', () => {
  const uid = '6a4f6c1e-1b2c-4d5e-8f90-0123456789ab';
  it('cgroupfs driver', () => {
    expect(podCgroupParent('Guaranteed', uid, 'cgroupfs')).toBe(`/kubepods/pod${uid}`);
    expect(podCgroupParent('Burstable', uid, 'cgroupfs')).toBe(`/kubepods/burstable/pod${uid}`);
    expect(podCgroupParent('BestEffort', uid, 'cgroupfs')).toBe(`/kubepods/besteffort/pod${uid}`);
    expect(podCgroupPath('Burstable', uid, 'cgroupfs')).toBe(`/kubepods/burstable/pod${uid}`);
  });

  it('systemd driver: slice names with dashes escaped, expanded paths', () => {
    const u = uid.replace(/-/g, '_');
    expect(podCgroupParent('Guaranteed', uid, 'systemd')).toBe(`kubepods-pod${u}.slice`);
    expect(podCgroupParent('Burstable', uid, 'systemd')).toBe(`kubepods-burstable-pod${u}.slice`);
    expect(podCgroupParent('BestEffort', uid, 'systemd')).toBe(`kubepods-besteffort-pod${u}.slice`);
    expect(podCgroupPath('Burstable', uid, 'systemd')).toBe(
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${u}.slice`,
    );
    expect(expandSlice('kubepods.slice')).toBe('/kubepods.slice');
    expect(expandSlice('-.slice')).toBe('/');
    expect(systemdSliceName(['kubepods'])).toBe('kubepods.slice');
  });

  it('container paths', () => {
    expect(containerCgroupPath(`/kubepods/pod${uid}`, 'abc', 'cgroupfs')).toBe(`/kubepods/pod${uid}/abc`);
    expect(containerCgroupPath('kubepods-besteffort-podx.slice', 'abc', 'systemd')).toBe(
      '/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podx.slice/docker-abc.scope',
    );
    expect(cgroupParentToPath('kubepods', 'cgroupfs')).toBe('/kubepods');
  });

  it('refuses uids that would walk the tree', () => {
    expect(() => podCgroupParent('Burstable', '../etc', 'cgroupfs')).toThrow();
    expect(() => podCgroupParent('Burstable', 'a/b', 'cgroupfs')).toThrow();
  });
});

describe('cpu arithmetic (kubelet helpers_linux.go)', () => {
  it('shares', () => {
    expect(milliCPUToShares(0)).toBe(2);
    expect(milliCPUToShares(1)).toBe(2);
    expect(milliCPUToShares(250)).toBe(256);
    expect(milliCPUToShares(1000)).toBe(1024);
    expect(milliCPUToShares(1500)).toBe(1536);
    expect(milliCPUToShares(1_000_000)).toBe(262144);
  });
  it('quota', () => {
    expect(milliCPUToQuota(0)).toBe(0);
    expect(milliCPUToQuota(500)).toBe(50000);
    expect(milliCPUToQuota(1)).toBe(1000);
    expect(milliCPUToQuota(2500)).toBe(250000);
  });
  it('v2 weight from shares (runc)', () => {
    expect(cpuSharesToWeight(2)).toBe(1);
    expect(cpuSharesToWeight(256)).toBe(10);
    expect(cpuSharesToWeight(1024)).toBe(39);
    expect(cpuSharesToWeight(262144)).toBe(10000);
  });
  it('container resources', () => {
    expect(linuxResources({ limits: { memory: '64Mi', cpu: '500m' }, requests: { cpu: '250m' } })).toEqual({
      memoryLimitBytes: 67108864,
      cpuShares: 256,
      cpuQuotaUs: 50000,
      cpuPeriodUs: 100000,
    });
    // No request: shares from the limit (what defaulting would have set).
    expect(linuxResources({ limits: { cpu: '2' } })).toEqual({
      cpuShares: 2048,
      cpuQuotaUs: 200000,
      cpuPeriodUs: 100000,
    });
    expect(linuxResources(undefined)).toEqual({ cpuShares: 2 });
    expect(linuxResources({ requests: { memory: '1Gi' } })).toEqual({ cpuShares: 2 });
  });
});

describe('limit files', () => {
  it('v1 parsing', () => {
    expect(parseV1MemoryLimit('67108864\n')).toBe(67108864);
    expect(parseV1MemoryLimit('9223372036854771712\n')).toBeNull();
    expect(parseV1CpuQuota('-1\n')).toBeNull();
    expect(parseV1CpuQuota('50000\n')).toBe(50000);
  });
  it('v2 parsing', () => {
    expect(parseV2MemoryMax('max\n')).toBeNull();
    expect(parseV2MemoryMax('16777216\n')).toBe(16777216);
    expect(parseV2CpuMax('max 100000\n')).toEqual({ quotaUs: null, periodUs: 100000 });
    expect(parseV2CpuMax('50000 100000\n')).toEqual({ quotaUs: 50000, periodUs: 100000 });
  });
  it('/proc/<pid>/cgroup parsing', () => {
    const cg = parseProcCgroup('9:name=systemd:/a\n4:memory:/kubepods/x\n2:cpu,cpuacct:/kubepods/y\n0::/kubepods/z\n');
    expect(cg.v1.get('memory')).toBe('/kubepods/x');
    expect(cg.v1.get('cpu')).toBe('/kubepods/y');
    expect(cg.v1.get('cpuacct')).toBe('/kubepods/y');
    expect(cg.v1.get('name=systemd')).toBe('/a');
    expect(cg.unified).toBe('/kubepods/z');
  });
});

describe('mountinfo', () => {
  it('hybrid v1 with separate and combined controllers', () => {
    const text = [
      '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
      '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct',
      '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
      '40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd',
      '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
      '99 31 0:32 / /mnt/again rw,relatime - cgroup cgroup rw,memory',
    ].join('\n');
    const layout = layoutFromHierarchies(parseMountInfo(text));
    expect(layout.version).toBe(1);
    expect(layout.hierarchies.map((h) => h.mountPoint)).toEqual([
      '/sys/fs/cgroup/cpu,cpuacct',
      '/sys/fs/cgroup/memory',
      '/sys/fs/cgroup/systemd',
      '/sys/fs/cgroup/unified',
    ]);
    expect(hierarchyFor(layout, 'cpu')?.mountPoint).toBe('/sys/fs/cgroup/cpu,cpuacct');
    expect(hierarchyFor(layout, 'memory')?.controllers).toEqual(['memory']);
  });
  it('unified v2', () => {
    const layout = layoutFromHierarchies(
      parseMountInfo(
        '29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot',
      ),
    );
    expect(layout.version).toBe(2);
    expect(hierarchyFor(layout, 'memory')?.mountPoint).toBe('/sys/fs/cgroup');
  });
  it('a mount whose root is not "/" maps paths under it', () => {
    const [h] = parseMountInfo('50 1 0:40 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory');
    expect(hostDir(h, '/docker/abc/kubepods/x')).toBe('/sys/fs/cgroup/memory/kubepods/x');
  });
});

describe('reading limits from fake cgroup trees', () => {
  let dir: string;
  const uid = '11111111-2222-3333-4444-555555555555';
  const id = 'c0ffee';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skiff-cgroups-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  // A real cgroup dir's files are virtual and do not stop rmdir; fake ones do, so they go first.
  async function dropFiles(base: string): Promise<void> {
    for (const ent of await readdir(base, { withFileTypes: true })) {
      if (ent.isDirectory()) await dropFiles(join(base, ent.name));
      else await rm(join(base, ent.name));
    }
  }

  async function files(base: string, content: Record<string, string>) {
    await mkdir(base, { recursive: true });
    for (const [f, v] of Object.entries(content)) await writeFile(join(base, f), v);
  }

  it('v1 cgroupfs', async () => {
    const root = join(dir, 'v1');
    const layout: CgroupLayout = {
      version: 1,
      hierarchies: [
        { version: 1, mountPoint: join(root, 'memory'), root: '/', controllers: ['memory'] },
        { version: 1, mountPoint: join(root, 'cpu'), root: '/', controllers: ['cpu'] },
        { version: 2, mountPoint: join(root, 'unified'), root: '/', controllers: [] },
      ],
    };
    const rel = `kubepods/burstable/pod${uid}/${id}`;
    await files(join(root, 'memory', rel), { 'memory.limit_in_bytes': '67108864\n' });
    await files(join(root, 'cpu', rel), {
      'cpu.cfs_quota_us': '50000\n',
      'cpu.cfs_period_us': '100000\n',
      'cpu.shares': '256\n',
    });
    await mkdir(join(root, 'unified', rel), { recursive: true });
    const lim = await readContainerLimits(layout, 'cgroupfs', `/kubepods/burstable/pod${uid}`, id);
    expect(lim).toMatchObject({
      version: 1,
      memoryLimitBytes: 67108864,
      cpuQuotaUs: 50000,
      cpuPeriodUs: 100000,
      cpuShares: 256,
    });

    // The same through a fake /proc/<pid>/cgroup.
    await files(join(dir, 'proc', '42'), { cgroup: `4:memory:/${rel}\n1:cpu:/${rel}\n0::/${rel}\n` });
    expect(await readLimitsForPid(layout, 42, join(dir, 'proc'))).toMatchObject({
      memoryLimitBytes: 67108864,
      cpuShares: 256,
    });

    expect(await listPodCgroupUids(layout, 'cgroupfs')).toEqual([uid]);
    // Cleanup: the pod dir goes in every hierarchy, leftover container dirs with it.
    await dropFiles(root);
    const res = await removePodCgroups(layout, 'cgroupfs', uid, 'Burstable');
    expect(res.failed).toEqual([]);
    for (const h of ['memory', 'cpu', 'unified']) {
      expect(await readdir(join(root, h, 'kubepods', 'burstable'))).toEqual([]);
    }
  });

  it('v2 systemd', async () => {
    const root = join(dir, 'v2');
    const layout: CgroupLayout = {
      version: 2,
      hierarchies: [{ version: 2, mountPoint: root, root: '/', controllers: [] }],
    };
    const u = uid.replace(/-/g, '_');
    const rel = `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${u}.slice/docker-${id}.scope`;
    await files(join(root, rel), { 'memory.max': 'max\n', 'cpu.max': 'max 100000\n', 'cpu.weight': '1\n' });
    const lim = await readContainerLimits(layout, 'systemd', `kubepods-besteffort-pod${u}.slice`, id);
    expect(lim).toMatchObject({
      version: 2,
      memoryLimitBytes: null,
      cpuQuotaUs: null,
      cpuPeriodUs: 100000,
      cpuWeight: 1,
    });
    expect(await listPodCgroupUids(layout, 'systemd')).toEqual([uid]);
    // Without a QoS class every location is tried.
    await dropFiles(root);
    const res = await removePodCgroups(layout, 'systemd', uid);
    expect(res.failed).toEqual([]);
    expect(await readdir(join(root, 'kubepods.slice', 'kubepods-besteffort.slice'))).toEqual([]);
  });

  it('v2 cgroupfs with limits', async () => {
    const root = join(dir, 'v2fs');
    const layout: CgroupLayout = {
      version: 2,
      hierarchies: [{ version: 2, mountPoint: root, root: '/', controllers: [] }],
    };
    await files(join(root, `kubepods/pod${uid}/${id}`), {
      'memory.max': '16777216\n',
      'cpu.max': '50000 100000\n',
      'cpu.weight': '10\n',
    });
    const lim = await readContainerLimits(layout, 'cgroupfs', `/kubepods/pod${uid}`, id);
    expect(lim).toMatchObject({ memoryLimitBytes: 16777216, cpuQuotaUs: 50000, cpuWeight: 10 });
  });
});

describe('runtime helpers', () => {
  it('$(VAR) expansion as Kubernetes', () => {
    const env = { A: 'x', EMPTY: '' };
    expect(expandVars('$(A)-$(B)-$$(A)-$$-$(EMPTY)|', env)).toBe('x-$(B)-$(A)-$-|');
    expect(expandVars('$(A', env)).toBe('$(A');
    expect(expandVars('cost $5', env)).toBe('cost $5');
  });
  it('command/args -> Entrypoint/Cmd', () => {
    expect(entrypointAndCmd(['sh'], undefined, {})).toEqual({ entrypoint: ['sh'] });
    expect(entrypointAndCmd(undefined, ['-c', 'x'], {})).toEqual({ cmd: ['-c', 'x'] });
    expect(entrypointAndCmd(['a'], ['$(A)'], { A: '1' })).toEqual({ entrypoint: ['a'], cmd: ['1'] });
    expect(entrypointAndCmd([], [], {})).toEqual({});
  });
  it('image references normalise as Docker', () => {
    expect(parseImageRef('busybox').normalized).toBe('docker.io/library/busybox:latest');
    expect(parseImageRef('user/app:1').normalized).toBe('docker.io/user/app:1');
    expect(parseImageRef('skiff.local/busybox').normalized).toBe('skiff.local/busybox:latest');
    expect(parseImageRef('localhost:5000/a/b:v2').normalized).toBe('localhost:5000/a/b:v2');
    expect(parseImageRef('index.docker.io/library/nginx:1.25').normalized).toBe('docker.io/library/nginx:1.25');
    const d = 'sha256:' + 'a'.repeat(64);
    expect(parseImageRef(`nginx:1.25@${d}`).normalized).toBe(`docker.io/library/nginx@${d}`);
    expect(() => parseImageRef('Busybox')).toThrow();
    expect(() => parseImageRef('')).toThrow();
  });
  it('names round-trip', () => {
    expect(sandboxName('web', 'default', 'u1', 0)).toBe('k8s_POD_web_default_u1_0');
    expect(containerName('app', 'web', 'ns', 'u1', 3)).toBe('k8s_app_web_ns_u1_3');
    expect(parseName('/k8s_app_web_ns_u1_3')).toEqual({
      containerName: 'app',
      podName: 'web',
      namespace: 'ns',
      podUid: 'u1',
      attempt: 3,
    });
    expect(parseName('random_name')).toBeUndefined();
  });
  it('container hash ignores key order and sees changes', () => {
    const a = containerHash({ name: 'a', image: 'x', args: ['1'] });
    expect(containerHash({ args: ['1'], image: 'x', name: 'a' })).toBe(a);
    expect(containerHash({ name: 'a', image: 'y', args: ['1'] })).not.toBe(a);
  });
});
