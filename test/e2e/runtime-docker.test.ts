// The Docker runtime against the real engine: sandboxes and shared localhost, limits read
// back from the cgroup filesystem, QoS parents, OOMKilled, logs, exec, graceful stop,
// events, and cgroup clean-up. Every container carries this run's node label and is
// removed afterwards.

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { createConnection, createServer, type Socket } from 'node:net';
import { dockerAvailable } from './harness.js';
import { DockerRuntime } from '../../agent/runtime/docker-runtime.js';
import { ErrImageNeverPull, ErrImagePull, RuntimeError } from '../../agent/runtime/errors.js';
import type { RuntimeContainer, RuntimeEvent } from '../../agent/runtime/types.js';
import type { Container as ContainerSpec, Pod } from '../../proto/api/types.gen.js';

type PodLike = Pod & { metadata: NonNullable<Pod['metadata']> };
import { detectCgroupSetup, type CgroupSetup } from '../../agent/cgroups/detect.js';
import { readContainerLimits, readLimitsForPid, containerCgroupDirs } from '../../agent/cgroups/read-limits.js';
import { removePodCgroups } from '../../agent/cgroups/cleanup.js';
import { podCgroupPath } from '../../agent/cgroups/cgroup-parents.js';
import { cpuSharesToWeight } from '../../agent/cgroups/resources.js';
import { containerHash } from '../../agent/runtime/labels.js';

const BUSYBOX = 'skiff.local/busybox:latest';
const PAUSE = 'skiff.local/pause:3.10';
const HAVE_DOCKER = dockerAvailable();
const NODE = `rt-e2e-${process.pid}-${Date.now().toString(36)}`;
const rt = new DockerRuntime({ pauseImage: PAUSE });

const createdIds = new Set<string>();
const podUids: string[] = [];
const extraTags: string[] = [];
const tmpDirs: string[] = [];
const events: RuntimeEvent[] = [];
let eventSub: { stop(): void } | undefined;
let setup: CgroupSetup;
const startLatenciesMs: number[] = [];

function docker(...args: string[]): string {
  const r = spawnSync('docker', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

function makePod(name: string, containers: ContainerSpec[], spec: Record<string, unknown> = {}): PodLike {
  const uid = randomUUID();
  podUids.push(uid);
  return {
    metadata: { name, namespace: 'rt-e2e', uid },
    spec: { containers, terminationGracePeriodSeconds: 5, ...spec },
  };
}

async function runSandbox(pod: PodLike) {
  const sb = await rt.createSandbox(pod, { node: NODE });
  createdIds.add(sb.id);
  return sb;
}

async function runContainer(
  sandboxId: string,
  pod: PodLike,
  c: ContainerSpec,
  env: Record<string, string> = {},
  mounts = [] as Array<{ hostPath: string; containerPath: string; readOnly?: boolean }>,
) {
  const t0 = performance.now();
  const id = await rt.createContainer(sandboxId, pod, c, 0, env, { node: NODE, mounts });
  createdIds.add(id);
  await rt.startContainer(id);
  startLatenciesMs.push(performance.now() - t0);
  return id;
}

async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

async function waitExited(id: string, timeoutMs = 20_000): Promise<RuntimeContainer> {
  return waitFor(
    `${id} to exit`,
    async () => {
      const c = await rt.inspect(id);
      return c.state === 'exited' ? c : undefined;
    },
    timeoutMs,
  );
}

async function readAll(s: Readable): Promise<string> {
  let out = '';
  for await (const chunk of s) out += chunk.toString();
  return out;
}

/** Every directory named pod<uid> in any mounted hierarchy (bounded depth). */
function podDirsAnywhere(uid: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 4) return;
    let ents;
    try {
      ents = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of ents) {
      if (!e.isDirectory()) continue;
      const p = join(dir, e.name);
      if (e.name.includes(uid) || e.name.includes(uid.replace(/-/g, '_'))) found.push(p);
      else if (e.name.startsWith('kubepods') || e.name === 'burstable' || e.name === 'besteffort') walk(p, depth + 1);
    }
  };
  for (const h of setup.layout.hierarchies) walk(h.mountPoint, 0);
  return found;
}

describe.skipIf(!HAVE_DOCKER)('Docker runtime (real engine)', () => {
  beforeAll(async () => {
    setup = await detectCgroupSetup(rt);
    eventSub = rt.events(NODE, (e) => events.push(e));
    // Give the events stream a moment to attach before the first container appears.
    await new Promise((r) => setTimeout(r, 300));
  });

  afterAll(async () => {
    eventSub?.stop();
    // Everything this run labelled, whatever a failed test left behind.
    const ids = spawnSync('docker', ['ps', '-aq', '--filter', `label=io.skiff.node=${NODE}`], {
      encoding: 'utf8',
    }).stdout.trim();
    if (ids) spawnSync('docker', ['rm', '-f', ...ids.split(/\s+/)]);
    if (setup) for (const uid of podUids) await removePodCgroups(setup.layout, setup.driver, uid);
    for (const t of extraTags) spawnSync('docker', ['rmi', t]);
    for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
    if (startLatenciesMs.length) {
      const sorted = [...startLatenciesMs].sort((a, b) => a - b);
      console.log(
        `[runtime-docker] busybox create+start: median ${sorted[Math.floor(sorted.length / 2)].toFixed(0)} ms over ${sorted.length} containers`,
      );
    }
  });

  it('reports Docker facts', async () => {
    const info = await rt.info();
    expect(info.runtimeName).toBe('docker');
    expect(info.version).toMatch(/^\d+\.\d+/);
    expect(['cgroupfs', 'systemd']).toContain(info.cgroupDriver);
    expect(String(setup.layout.version)).toBe(info.cgroupVersion);
    expect(info.kernelVersion).not.toBe('');
  });

  it('ensureImage: local images, normalisation, pull policies, typed errors', async () => {
    const id = docker('image', 'inspect', '-f', '{{.Id}}', BUSYBOX);
    expect(await rt.ensureImage(BUSYBOX, 'IfNotPresent')).toBe(id);
    expect(await rt.ensureImage('skiff.local/busybox', 'IfNotPresent')).toBe(id);
    expect(await rt.ensureImage(BUSYBOX, 'Never')).toBe(id);
    // A plain local tag, as Docker Hub names normalise (docker.io/library/<name>:latest).
    const plain = `skiffrte2e${process.pid}`;
    docker('tag', BUSYBOX, plain);
    extraTags.push(plain);
    expect(await rt.ensureImage(plain, 'IfNotPresent')).toBe(id);
    expect(await rt.ensureImage(`${plain}:latest`, 'Never')).toBe(id);
    expect(await rt.ensureImage(`docker.io/library/${plain}:latest`, 'IfNotPresent')).toBe(id);

    await expect(rt.ensureImage('skiff.local/absent:1', 'Never')).rejects.toBeInstanceOf(ErrImageNeverPull);
    await expect(rt.ensureImage('skiff.local/absent:1', 'Never')).rejects.toThrow(
      'Container image "skiff.local/absent:1" is not present with pull policy of Never',
    );
    // No registry is reachable: a pull fails with Docker's message, typed.
    const err = await rt.ensureImage('skiff.local/absent:1', 'IfNotPresent').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErrImagePull);
    expect((err as ErrImagePull).reason).toBe('ErrImagePull');
    expect((err as Error).message).toMatch(/skiff\.local/);
    // Always pulls even when present (kubelet semantics): fails offline.
    await expect(rt.ensureImage(BUSYBOX, 'Always')).rejects.toBeInstanceOf(ErrImagePull);
    await expect(rt.ensureImage('Bad Name', 'IfNotPresent')).rejects.toMatchObject({ reason: 'InvalidImageName' });
  });

  it('sandbox + two containers share localhost; hostPort reaches the pod', async () => {
    const hostPort = 20000 + (process.pid % 10000);
    const httpd: ContainerSpec = {
      name: 'web',
      image: BUSYBOX,
      command: ['httpd', '-f', '-p', '8080', '-h', '/var/www'],
      ports: [{ containerPort: 8080, hostPort, protocol: 'TCP' }],
    };
    const client: ContainerSpec = {
      name: 'client',
      image: BUSYBOX,
      command: ['sh', '-c', 'while :; do wget -qO- http://127.0.0.1:8080/ && sleep 1 || sleep 0.2; done'],
    };
    const pod = makePod('shared', [httpd, client]);
    const sb = await runSandbox(pod);
    expect(sb.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(sb.name).toBe(`k8s_POD_shared_rt-e2e_${pod.metadata.uid}_0`);
    const webId = await runContainer(sb.id, pod, httpd);
    const clientId = await runContainer(sb.id, pod, client);

    await waitFor('client to fetch from localhost', async () =>
      (await readAll(await rt.logs(clientId))).includes('hello from skiff'),
    );
    // The pod IP and the sandbox's host port serve the same httpd.
    const viaIp = await waitFor('pod IP', async () => (await fetch(`http://${sb.ip}:8080/`)).text());
    expect(viaIp).toContain('hello from skiff');
    const viaHostPort = await waitFor('host port', async () => (await fetch(`http://127.0.0.1:${hostPort}/`)).text());
    expect(viaHostPort).toContain('hello from skiff');

    const web = await rt.inspect(webId);
    expect(web).toMatchObject({
      type: 'container',
      name: `k8s_web_shared_rt-e2e_${pod.metadata.uid}_0`,
      podUid: pod.metadata.uid,
      podName: 'shared',
      namespace: 'rt-e2e',
      containerName: 'web',
      attempt: 0,
      hash: containerHash(httpd),
      sandboxId: sb.id,
      state: 'running',
      oomKilled: false,
      image: BUSYBOX,
    });
    expect(web.imageID).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(web.startedAt).toMatch(/^\d{4}-/);
    expect(web.labels['io.kubernetes.pod.terminationGracePeriod']).toBe('5');
    const sandbox = await rt.inspect(sb.id);
    expect(sandbox).toMatchObject({ type: 'sandbox', containerName: 'POD', state: 'running', ip: sb.ip });
    expect(sandbox.labels['io.kubernetes.docker.type']).toBe('podsandbox');
    // Docker's own view of the namespaces.
    expect(docker('inspect', '-f', '{{.HostConfig.NetworkMode}} {{.HostConfig.IpcMode}}', webId)).toBe(
      `container:${sb.id} container:${sb.id}`,
    );
  });

  it('Burstable: limits land in the cgroup filesystem under /kubepods/burstable/pod<uid>', async () => {
    const c: ContainerSpec = {
      name: 'limited',
      image: BUSYBOX,
      command: ['sleep', '3600'],
      resources: { limits: { memory: '64Mi', cpu: '500m' }, requests: { cpu: '250m' } },
    };
    const pod = makePod('burstable', [c]);
    const uid = pod.metadata.uid!;
    const sb = await runSandbox(pod);
    const id = await runContainer(sb.id, pod, c);
    const info = await rt.inspect(id);
    const parent =
      setup.driver === 'systemd'
        ? `kubepods-burstable-pod${uid.replace(/-/g, '_')}.slice`
        : `/kubepods/burstable/pod${uid}`;
    expect(info.cgroupParent).toBe(parent);

    const lim = await readContainerLimits(setup.layout, setup.driver, parent, id);
    const byPid = await readLimitsForPid(setup.layout, info.pid!);
    expect(byPid).toEqual(lim);
    expect(lim.memoryLimitBytes).toBe(67108864);
    expect(lim.cpuQuotaUs).toBe(50000);
    expect(lim.cpuPeriodUs).toBe(100000);
    if (setup.layout.version === 1) {
      expect(lim.cpuShares).toBe(256);
    } else {
      expect(lim.cpuWeight).toBe(cpuSharesToWeight(256));
    }

    // And straight from the files, without the helper.
    if (setup.layout.version === 1 && setup.driver === 'cgroupfs') {
      const mem = `/sys/fs/cgroup/memory/kubepods/burstable/pod${uid}/${id}`;
      const cpu = `/sys/fs/cgroup/cpu/kubepods/burstable/pod${uid}/${id}`;
      const memDir = existsSync(mem) ? mem : containerCgroupDirs(setup.layout, setup.driver, parent, id).memoryDir;
      const cpuDir = existsSync(cpu) ? cpu : containerCgroupDirs(setup.layout, setup.driver, parent, id).cpuDir;
      expect(readFileSync(join(memDir, 'memory.limit_in_bytes'), 'utf8').trim()).toBe('67108864');
      expect(readFileSync(join(cpuDir, 'cpu.cfs_quota_us'), 'utf8').trim()).toBe('50000');
      expect(readFileSync(join(cpuDir, 'cpu.cfs_period_us'), 'utf8').trim()).toBe('100000');
      expect(readFileSync(join(cpuDir, 'cpu.shares'), 'utf8').trim()).toBe('256');
    } else {
      const { memoryDir, cpuDir } = containerCgroupDirs(setup.layout, setup.driver, parent, id);
      if (setup.layout.version === 2) {
        expect(readFileSync(join(memoryDir, 'memory.max'), 'utf8').trim()).toBe('67108864');
        expect(readFileSync(join(cpuDir, 'cpu.max'), 'utf8').trim()).toBe('50000 100000');
      } else {
        expect(readFileSync(join(memoryDir, 'memory.limit_in_bytes'), 'utf8').trim()).toBe('67108864');
        expect(readFileSync(join(cpuDir, 'cpu.shares'), 'utf8').trim()).toBe('256');
      }
    }

    const st = await rt.stats(id);
    expect(st.cpuUsageNanoseconds).toBeGreaterThan(0);
    expect(st.memoryUsageBytes).toBeGreaterThan(0);
    expect(st.memoryWorkingSetBytes).toBeLessThanOrEqual(st.memoryUsageBytes);
  });

  it('Guaranteed pods go under /kubepods/pod<uid>, BestEffort under /kubepods/besteffort/pod<uid>', async () => {
    const g: ContainerSpec = {
      name: 'g',
      image: BUSYBOX,
      command: ['sleep', '3600'],
      resources: { limits: { memory: '32Mi', cpu: '100m' }, requests: { memory: '32Mi', cpu: '100m' } },
    };
    const gPod = makePod('guaranteed', [g]);
    const gSb = await runSandbox(gPod);
    const gId = await runContainer(gSb.id, gPod, g);

    const b: ContainerSpec = { name: 'b', image: BUSYBOX, command: ['sleep', '3600'] };
    const bPod = makePod('besteffort', [b]);
    const bSb = await runSandbox(bPod);
    const bId = await runContainer(bSb.id, bPod, b);

    for (const [qos, pod, id, sbId] of [
      ['Guaranteed', gPod, gId, gSb.id],
      ['BestEffort', bPod, bId, bSb.id],
    ] as const) {
      const podPath = podCgroupPath(qos, pod.metadata.uid!, setup.driver);
      const mem = setup.layout.hierarchies.find((h) =>
        setup.layout.version === 2 ? h.version === 2 : h.controllers.includes('memory'),
      )!;
      expect(statSync(join(mem.mountPoint, podPath)).isDirectory()).toBe(true);
      // Sandbox and container both sit in the pod's cgroup.
      expect((await rt.inspect(id)).cgroupParent).toBe((await rt.inspect(sbId)).cgroupParent);
    }
    if (setup.layout.version === 1 && setup.driver === 'cgroupfs') {
      expect(existsSync(`/sys/fs/cgroup/memory/kubepods/pod${gPod.metadata.uid}/${gId}/memory.limit_in_bytes`)).toBe(
        true,
      );
      expect(
        readFileSync(`/sys/fs/cgroup/cpu/kubepods/besteffort/pod${bPod.metadata.uid}/${bId}/cpu.shares`, 'utf8').trim(),
      ).toBe('2');
    }
    // kubelet's OOM policy: BestEffort dies first; Guaranteed is protected (-997, or 0 where the
    // daemon may not lower scores).
    const oomAdj = async (id: string) =>
      Number(readFileSync(`/proc/${(await rt.inspect(id)).pid}/oom_score_adj`, 'utf8'));
    expect(await oomAdj(bId)).toBe(1000);
    expect([-997, 0]).toContain(await oomAdj(gId));
    const gLim = await readContainerLimits(setup.layout, setup.driver, (await rt.inspect(gId)).cgroupParent!, gId);
    expect(gLim.memoryLimitBytes).toBe(32 * 1024 * 1024);
    expect(gLim.cpuQuotaUs).toBe(10000);
    const bLim = await readContainerLimits(setup.layout, setup.driver, (await rt.inspect(bId)).cgroupParent!, bId);
    expect(bLim.memoryLimitBytes).toBeNull();
    expect(bLim.cpuQuotaUs).toBeNull();
  });

  it('a container over its memory limit is OOMKilled with exit 137', async () => {
    const c: ContainerSpec = {
      name: 'hog',
      image: BUSYBOX,
      command: ['sh', '-c', 'x=a; while :; do x=$x$x; done'],
      resources: { limits: { memory: '16Mi' } },
    };
    const pod = makePod('oom', [c]);
    const sb = await runSandbox(pod);
    const id = await runContainer(sb.id, pod, c);
    const st = await waitExited(id);
    expect(st.exitCode).toBe(137);
    expect(st.oomKilled).toBe(true);
    expect(st.finishedAt).toMatch(/^\d{4}-/);
    await waitFor(
      'oom and die events',
      async () =>
        events.some((e) => e.id === id && e.type === 'oom') &&
        events.some((e) => e.id === id && e.type === 'die' && e.exitCode === 137),
    );
    const die = events.find((e) => e.id === id && e.type === 'die')!;
    expect(die.podUid).toBe(pod.metadata.uid);
    expect(die.containerName).toBe('hog');
  });

  it('command/args as Kubernetes, $(VAR) expansion, env, workingDir, mounts; logs with timestamps and tail', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-rt-e2e-'));
    tmpDirs.push(dir);
    writeFileSync(join(dir, 'in.txt'), 'from host\n');
    const c: ContainerSpec = {
      name: 'printer',
      image: BUSYBOX,
      command: ['sh', '-c'],
      args: [
        'for i in 1 2 3 4 5; do echo line$i; done; echo oops >&2; echo "$(GREETING)" $$HOME \'$(MISSING)\'; pwd; cat /data/in.txt; echo out > /data/out.txt; touch /ro/x 2>/dev/null || echo read-only',
      ],
      workingDir: '/tmp',
    };
    const pod = makePod('printer', [c], { restartPolicy: 'Never' });
    const sb = await runSandbox(pod);
    const id = await runContainer(sb.id, pod, c, { GREETING: 'hi' }, [
      { hostPath: dir, containerPath: '/data' },
      { hostPath: dir, containerPath: '/ro', readOnly: true },
    ]);
    const st = await waitExited(id);
    expect(st.exitCode).toBe(0);
    const all = await readAll(await rt.logs(id));
    // Docker copies stdout and stderr separately: their relative order is not kept.
    expect(all.split('\n')).toContain('oops'); // stderr merged
    const stdout = all.replace('oops\n', '');
    expect(stdout).toBe('line1\nline2\nline3\nline4\nline5\nhi /root $(MISSING)\n/tmp\nfrom host\nread-only\n');
    expect(readFileSync(join(dir, 'out.txt'), 'utf8')).toBe('out\n');

    const tail = (await readAll(await rt.logs(id, { tailLines: 2, timestamps: true }))).trimEnd().split('\n');
    expect(tail).toHaveLength(2);
    for (const line of tail) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{1,9}Z /);
    expect(tail.some((l) => l.endsWith(' read-only'))).toBe(true);
    const limited = await readAll(await rt.logs(id, { limitBytes: 8 }));
    expect(limited).toHaveLength(8);
    expect(all.startsWith(limited)).toBe(true);
    expect(await readAll(await rt.logs(id, { sinceTime: new Date(Date.now() + 60_000).toISOString() }))).toBe('');

    // command without args: the image's CMD (/bin/sh) is not appended; args alone keep the image's ENTRYPOINT.
    const echo: ContainerSpec = { name: 'echo', image: BUSYBOX, command: ['echo', 'only-command'] };
    const echoId = await runContainer(sb.id, pod, echo);
    await waitExited(echoId);
    expect(await readAll(await rt.logs(echoId))).toBe('only-command\n');
    const argsOnly: ContainerSpec = { name: 'argsonly', image: PAUSE, args: ['ignored'] };
    const argsId = await runContainer(sb.id, pod, argsOnly);
    expect((await rt.inspect(argsId)).state).toBe('running'); // pause's ENTRYPOINT still runs
  });

  it('follows logs until the reader stops', async () => {
    const c: ContainerSpec = {
      name: 'ticker',
      image: BUSYBOX,
      command: ['sh', '-c', 'i=0; while :; do i=$((i+1)); echo tick$i; sleep 0.2; done'],
    };
    const pod = makePod('ticker', [c]);
    const sb = await runSandbox(pod);
    const id = await runContainer(sb.id, pod, c);
    const stream = await rt.logs(id, { follow: true });
    let seen = '';
    await new Promise<void>((resolve) => {
      stream.on('data', (d: Buffer) => {
        seen += d.toString();
        if (seen.includes('tick3\n')) resolve();
      });
    });
    stream.destroy();
    expect(seen).toMatch(/^tick1\ntick2\ntick3\n/);
  });

  it('exec: exit codes, separate streams, stdin, tty', async () => {
    const c: ContainerSpec = { name: 'shell', image: BUSYBOX, command: ['sleep', '3600'] };
    const pod = makePod('exec', [c]);
    const sb = await runSandbox(pod);
    const id = await runContainer(sb.id, pod, c);

    const e1 = await rt.exec(id, ['sh', '-c', 'echo out; echo err >&2; exit 3']);
    const [o1, err1, code1] = await Promise.all([readAll(e1.stdout), readAll(e1.stderr), e1.wait()]);
    expect({ o1, err1, code1 }).toEqual({ o1: 'out\n', err1: 'err\n', code1: 3 });

    const e2 = await rt.exec(id, ['sh', '-c', 'cat; echo done'], { stdin: true });
    e2.stdin!.write('hello ');
    e2.stdin!.end('stdin\n');
    const [o2, code2] = await Promise.all([readAll(e2.stdout), e2.wait()]);
    expect(o2).toBe('hello stdin\ndone\n');
    expect(code2).toBe(0);

    const e3 = await rt.exec(id, ['sh', '-c', 'stty size; echo tty-ok'], { tty: true });
    await e3.resize(100, 40).catch(() => undefined); // may race with a short-lived process
    const [o3, code3] = await Promise.all([readAll(e3.stdout), e3.wait()]);
    expect(o3).toContain('tty-ok');
    expect(code3).toBe(0);

    await expect(rt.exec('no-such-container-skiff', ['true'])).rejects.toMatchObject({ reason: 'NotFound' });
  });

  it('stop honours the grace period: TERM handled exits early, TERM ignored is killed after grace', async () => {
    const polite: ContainerSpec = {
      name: 'polite',
      image: BUSYBOX,
      command: ['sh', '-c', 'trap "echo bye; exit 0" TERM; while :; do sleep 0.1; done'],
    };
    const stubborn: ContainerSpec = {
      name: 'stubborn',
      image: BUSYBOX,
      command: ['sh', '-c', 'trap "" TERM; while :; do sleep 0.1; done'],
    };
    const pod = makePod('stopper', [polite, stubborn]);
    const sb = await runSandbox(pod);
    const pId = await runContainer(sb.id, pod, polite);
    const sId = await runContainer(sb.id, pod, stubborn);
    await new Promise((r) => setTimeout(r, 300)); // let the traps be installed

    let t0 = performance.now();
    await rt.stopContainer(pId, 10);
    const politeMs = performance.now() - t0;
    const p = await rt.inspect(pId);
    expect(p.exitCode).toBe(0);
    expect(politeMs).toBeLessThan(5000);
    expect(await readAll(await rt.logs(pId))).toContain('bye');

    t0 = performance.now();
    await rt.stopContainer(sId, 2);
    const stubbornMs = performance.now() - t0;
    const s = await rt.inspect(sId);
    expect(s.exitCode).toBe(137);
    expect(s.oomKilled).toBe(false);
    expect(stubbornMs).toBeGreaterThanOrEqual(1900);
    expect(stubbornMs).toBeLessThan(10_000);

    // Idempotent on stopped containers.
    await rt.stopContainer(sId, 1);
  });

  it("hostNetwork pods use the node's network and hostname; a taken sandbox name is a Conflict", async () => {
    const c: ContainerSpec = { name: 'h', image: BUSYBOX, command: ['sh', '-c', 'hostname; sleep 3600'] };
    const pod = makePod('hostnet', [c], { hostNetwork: true });
    const sb = await runSandbox(pod);
    expect(sb.ip).toBeUndefined();
    const id = await runContainer(sb.id, pod, c);
    const hostHostname = readFileSync('/proc/sys/kernel/hostname', 'utf8').trim();
    await waitFor('hostname in logs', async () => (await readAll(await rt.logs(id))).trim() === hostHostname);
    expect((await rt.inspect(sb.id)).ip).toBeUndefined();
    // Same pod, same attempt, sandbox still running: refused, not replaced.
    await expect(rt.createSandbox(pod, { node: NODE })).rejects.toMatchObject({ reason: 'Conflict' });
    // A stopped leftover with the same name is replaced.
    await rt.stopContainer(sb.id, 1);
    const again = await runSandbox(pod);
    expect(again.id).not.toBe(sb.id);
    createdIds.delete(sb.id);
    await expect(rt.inspect(sb.id)).rejects.toMatchObject({ reason: 'NotFound' });
  });

  it('events survive a broken stream: reconnect, report it, keep delivering', async () => {
    // A socket proxy in front of dockerd whose connections the test can cut.
    const dir = mkdtempSync(join(tmpdir(), 'skiff-rt-proxy-'));
    tmpDirs.push(dir);
    const proxyPath = join(dir, 'docker.sock');
    const conns = new Set<Socket>();
    const proxy = createServer((client) => {
      const upstream = createConnection('/var/run/docker.sock');
      conns.add(client);
      client.on('close', () => conns.delete(client));
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((r) => proxy.listen(proxyPath, r));
    const viaProxy = new DockerRuntime({ socketPath: proxyPath, pauseImage: PAUSE });
    const seen: RuntimeEvent[] = [];
    let reconnects = 0;
    const sub = viaProxy.events(NODE, (e) => seen.push(e), { onReconnect: () => reconnects++ });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const c: ContainerSpec = { name: 'blip', image: BUSYBOX, command: ['true'] };
      const pod = makePod('events', [c]);
      const sb = await runSandbox(pod);
      const first = await runContainer(sb.id, pod, c);
      await waitFor('die of the first container', async () => seen.some((e) => e.id === first && e.type === 'die'));
      for (const s of conns) s.destroy();
      await waitFor('a reconnect', async () => reconnects > 0, 5000);
      await new Promise((r) => setTimeout(r, 1200)); // back-off, then the stream is open again
      const second = await runContainer(sb.id, pod, { ...c, name: 'blip2' });
      await waitFor('events after the reconnect', async () => seen.some((e) => e.id === second && e.type === 'die'));
      // Replay from the last second seen must not duplicate.
      expect(seen.filter((e) => e.id === first && e.type === 'die')).toHaveLength(1);
    } finally {
      sub.stop();
      for (const s of conns) s.destroy();
      proxy.close();
    }
  });

  it("listPodContainers returns exactly this run's containers", async () => {
    const list = await rt.listPodContainers(NODE);
    expect(new Set(list.map((c) => c.id))).toEqual(createdIds);
    expect(list.filter((c) => c.type === 'sandbox').every((c) => c.containerName === 'POD')).toBe(true);
    expect(list.every((c) => podUids.includes(c.podUid))).toBe(true);
    // Another node's view is empty.
    expect(await rt.listPodContainers(`${NODE}-other`)).toEqual([]);
  });

  it('remove + cgroup clean-up leaves no pod<uid> directory in any hierarchy', async () => {
    const list = await rt.listPodContainers(NODE);
    // Containers first, then sandboxes, as the pod worker does.
    for (const c of list.filter((x) => x.type === 'container')) await rt.removeContainer(c.id);
    for (const c of list.filter((x) => x.type === 'sandbox')) await rt.removeContainer(c.id);
    await rt.removeContainer(list[0].id); // idempotent
    expect(await rt.listPodContainers(NODE)).toEqual([]);
    await expect(rt.inspect(list[0].id)).rejects.toBeInstanceOf(RuntimeError);
    await expect(rt.inspect(list[0].id)).rejects.toMatchObject({ reason: 'NotFound' });

    for (const uid of podUids) {
      expect(podDirsAnywhere(uid).length).toBeGreaterThan(0);
      const res = await removePodCgroups(setup.layout, setup.driver, uid);
      expect(res.failed).toEqual([]);
      expect(podDirsAnywhere(uid)).toEqual([]);
    }
    await waitFor(
      'destroy events',
      async () => list.every((c) => events.some((e) => e.id === c.id && e.type === 'destroy')),
      5000,
    );
  });
});
