// Storage on the agent, end to end: a real server and agent, real Docker, the real kubectl.
// A static hostPath PV and a claim bound by hand (claimRef and volumeName set here, so the
// test does not depend on the PV controller) mounted by a pod that writes a file and a
// second, read-only pod that reads it back; a pod whose claim is missing or unbound waits
// in ContainerCreating with FailedMount; an emptyDir with medium Memory is a tmpfs of its
// sizeLimit inside the containers, shared between them and removed with the pod; a pod
// writing past its emptyDir sizeLimit is Evicted; fsGroup owns the volumes.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUSYBOX,
  dockerAvailable,
  eventually,
  k,
  kubectl,
  kubectlAvailable,
  removeNodeContainers,
  startAgent,
  startServer,
  type AgentProc,
  type ServerProc,
} from './harness.js';

const enabled = dockerAvailable() && kubectlAvailable();

describe.skipIf(!enabled)('storage on the agent', () => {
  let s: ServerProc;
  let a: AgentProc;
  let hostDir: string;
  const pod = (name: string) => JSON.parse(k(s, ['get', 'pod', name, '-o', 'json']));
  const waitPhase = (name: string, phase: string, ms = 60_000) =>
    eventually(
      () => {
        const p = pod(name);
        expect(p.status?.phase).toBe(phase);
        return p;
      },
      ms,
      250,
    );
  const waitRunning = (name: string, ms = 60_000) =>
    eventually(
      () => {
        const p = pod(name);
        expect(p.status.phase).toBe('Running');
        expect(p.status.containerStatuses?.every((c: any) => c.state?.running)).toBe(true);
        return p;
      },
      ms,
      250,
    );
  const sh = (name: string, script: string, container?: string) =>
    kubectl(s, ['exec', name, ...(container ? ['-c', container] : []), '--', 'sh', '-c', script]);

  beforeAll(async () => {
    s = await startServer();
    a = startAgent(s);
    hostDir = mkdtempSync(join(tmpdir(), 'skiff-e2e-pv-'));
    await eventually(() => expect(k(s, ['get', 'node', a.node])).toMatch(/\sReady\s/), 20_000, 200);
  });
  afterAll(async () => {
    await a?.kill('SIGKILL');
    if (a) {
      removeNodeContainers(a.node);
      const vols = spawnSync('docker', ['volume', 'ls', '-q', '--filter', `label=io.skiff.node=${a.node}`], {
        encoding: 'utf8',
      }).stdout.trim();
      if (vols) spawnSync('docker', ['volume', 'rm', '-f', ...vols.split('\n')]);
    }
    await s?.cleanup();
    if (hostDir) rmSync(hostDir, { recursive: true, force: true });
  });

  it('a static hostPath PV bound by hand: a pod writes, another reads it back read-only; an unbound claim waits with FailedMount', async () => {
    // the pod comes first: its claim does not exist yet
    k(
      s,
      ['apply', '-f', '-'],
      `apiVersion: v1
kind: Pod
metadata: {name: writer}
spec:
  nodeName: ${a.node}
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: ${BUSYBOX}
    command: ["sh", "-c", "echo written-by-writer > /data/hello && sleep 3600"]
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: data}
`,
    );
    await eventually(
      () =>
        expect(
          k(s, [
            'get',
            'events',
            '--field-selector',
            'involvedObject.name=writer,reason=FailedMount',
            '-o',
            'jsonpath={.items[*].message}',
          ]),
        ).toContain(
          'Unable to attach or mount volumes: unmounted volumes=[data], unattached volumes=[], failed to process volumes=[data]: error processing PVC default/data: failed to fetch PVC from API server: persistentvolumeclaims "data" not found',
        ),
      30_000,
      500,
    );
    expect(pod('writer').status.containerStatuses[0].state.waiting.reason).toBe('ContainerCreating');

    // the claim, unbound: still waiting, now because it is not bound
    k(
      s,
      ['apply', '-f', '-'],
      `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  storageClassName: manual
  volumeName: static-pv
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
`,
    );
    const claimUid = JSON.parse(k(s, ['get', 'pvc', 'data', '-o', 'json'])).metadata.uid;
    k(
      s,
      ['apply', '-f', '-'],
      `apiVersion: v1
kind: PersistentVolume
metadata: {name: static-pv}
spec:
  storageClassName: manual
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: ${hostDir}}
  claimRef: {apiVersion: v1, kind: PersistentVolumeClaim, namespace: default, name: data, uid: ${claimUid}}
`,
    );
    // bound by hand (the PV controller, when it runs, comes to the same: both sides name each other)
    await eventually(
      () => {
        if (JSON.parse(k(s, ['get', 'pvc', 'data', '-o', 'json'])).status?.phase !== 'Bound') {
          k(s, [
            'patch',
            'pvc',
            'data',
            '--subresource=status',
            '--type=merge',
            '-p',
            '{"status":{"phase":"Bound","accessModes":["ReadWriteOnce"],"capacity":{"storage":"1Gi"}}}',
          ]);
        }
        expect(JSON.parse(k(s, ['get', 'pvc', 'data', '-o', 'json'])).status.phase).toBe('Bound');
      },
      15_000,
      500,
    );

    await waitRunning('writer');
    await eventually(
      () => expect(readFileSync(join(hostDir, 'hello'), 'utf8')).toBe('written-by-writer\n'),
      15_000,
      200,
    );
    expect(sh('writer', 'grep " /data " /proc/mounts').stdout).toMatch(/ \/data \S+ rw[, ]/);

    // a second pod, read-only claim: reads the file, cannot write
    k(
      s,
      ['apply', '-f', '-'],
      `apiVersion: v1
kind: Pod
metadata: {name: reader}
spec:
  nodeName: ${a.node}
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: ${BUSYBOX}
    command: ["sleep", "3600"]
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: data, readOnly: true}
`,
    );
    await waitRunning('reader');
    expect(k(s, ['exec', 'reader', '--', 'cat', '/data/hello'])).toBe('written-by-writer\n');
    const w = sh('reader', 'echo x > /data/other');
    expect(w.code).not.toBe(0);
    expect(w.stderr).toMatch(/Read-only file system/);
    k(s, ['delete', 'pod', 'writer', 'reader', '--wait=true', '--timeout=60s']);
    // the data stays on the node
    expect(readFileSync(join(hostDir, 'hello'), 'utf8')).toBe('written-by-writer\n');
  }, 150_000);

  it('emptyDir medium Memory is a tmpfs of its sizeLimit, shared by the containers, gone with the pod', async () => {
    k(
      s,
      ['apply', '-f', '-'],
      `apiVersion: v1
kind: Pod
metadata: {name: ram}
spec:
  nodeName: ${a.node}
  terminationGracePeriodSeconds: 1
  containers:
  - name: a
    image: ${BUSYBOX}
    command: ["sh", "-c", "echo from-a > /cache/shared && sleep 3600"]
    volumeMounts: [{name: cache, mountPath: /cache}]
  - name: b
    image: ${BUSYBOX}
    command: ["sleep", "3600"]
    volumeMounts: [{name: cache, mountPath: /cache}]
  volumes:
  - name: cache
    emptyDir: {medium: Memory, sizeLimit: 16Mi}
`,
    );
    const p = await waitRunning('ram');
    const line = sh('ram', 'grep " /cache " /proc/mounts', 'b').stdout.trim();
    expect(line).toMatch(/^tmpfs \/cache tmpfs rw,.*size=16384k/);
    await eventually(() => expect(sh('ram', 'cat /cache/shared', 'b').stdout).toBe('from-a\n'), 10_000, 250);
    // the tmpfs refuses writes past its size
    const dd = sh('ram', 'dd if=/dev/zero of=/cache/big bs=1M count=32', 'b');
    expect(dd.code).not.toBe(0);
    expect(dd.stderr).toMatch(/No space left on device/);
    // a container restart keeps the content (the sandbox holds the volume)
    const idA = pod('ram')
      .status.containerStatuses.find((c: any) => c.name === 'a')
      .containerID.replace('docker://', '');
    spawnSync('docker', ['kill', idA]);
    await eventually(
      () =>
        expect(pod('ram').status.containerStatuses.find((c: any) => c.name === 'a').restartCount).toBeGreaterThan(0),
      30_000,
      250,
    );
    expect(sh('ram', 'cat /cache/shared', 'b').stdout).toBe('from-a\n');
    const volumes = () =>
      spawnSync('docker', ['volume', 'ls', '-q', '--filter', `label=io.kubernetes.pod.uid=${p.metadata.uid}`], {
        encoding: 'utf8',
      }).stdout.trim();
    expect(volumes()).toBe(`skiff_${p.metadata.uid}_cache`);
    k(s, ['delete', 'pod', 'ram', '--wait=true', '--timeout=60s']);
    await eventually(() => expect(volumes()).toBe(''), 15_000, 250);
  }, 120_000);

  it('a pod writing past its emptyDir sizeLimit is Evicted', async () => {
    k(
      s,
      ['apply', '-f', '-'],
      `apiVersion: v1
kind: Pod
metadata: {name: hog}
spec:
  nodeName: ${a.node}
  terminationGracePeriodSeconds: 30
  containers:
  - name: app
    image: ${BUSYBOX}
    command: ["sh", "-c", "dd if=/dev/urandom of=/scratch/blob bs=1M count=3 && sleep 3600"]
    volumeMounts: [{name: scratch, mountPath: /scratch}]
  volumes:
  - name: scratch
    emptyDir: {sizeLimit: 1Mi}
`,
    );
    const p = await waitPhase('hog', 'Failed', 60_000);
    expect(p.status.reason).toBe('Evicted');
    expect(p.status.message).toBe('Usage of EmptyDir volume "scratch" exceeds the limit "1Mi". ');
    expect(p.status.conditions.find((c: any) => c.type === 'DisruptionTarget')).toMatchObject({
      status: 'True',
      reason: 'TerminationByKubelet',
    });
    // the container's own status follows once the kill has finished
    await eventually(() => expect(pod('hog').status.containerStatuses[0].state.terminated).toBeTruthy(), 20_000, 250);
    await eventually(
      () =>
        expect(
          k(s, [
            'get',
            'events',
            '--field-selector',
            'involvedObject.name=hog,reason=Evicted',
            '-o',
            'jsonpath={.items[*].message}',
          ]),
        ).toContain('Usage of EmptyDir volume "scratch" exceeds the limit "1Mi".'),
      15_000,
      500,
    );
    // and it is not restarted
    await new Promise((r) => setTimeout(r, 1500));
    expect(pod('hog').status.containerStatuses[0].restartCount).toBe(0);
    k(s, ['delete', 'pod', 'hog', '--wait=true', '--timeout=60s']);
  }, 120_000);

  it('fsGroup: emptyDir and configMap volumes are group-owned with setgid, the container has the group', async () => {
    k(
      s,
      ['apply', '-f', '-'],
      `apiVersion: v1
kind: ConfigMap
metadata: {name: fsg}
data: {k: v}
---
apiVersion: v1
kind: Pod
metadata: {name: fsgroup}
spec:
  nodeName: ${a.node}
  terminationGracePeriodSeconds: 1
  securityContext: {runAsUser: 1000, runAsGroup: 3000, fsGroup: 2000}
  containers:
  - name: app
    image: ${BUSYBOX}
    command: ["sleep", "3600"]
    volumeMounts: [{name: scratch, mountPath: /scratch}, {name: cfg, mountPath: /cfg}]
  volumes:
  - name: scratch
    emptyDir: {}
  - name: cfg
    configMap: {name: fsg, defaultMode: 0400}
`,
    );
    await waitRunning('fsgroup');
    expect(k(s, ['exec', 'fsgroup', '--', 'id']).trim()).toMatch(/^uid=1000 gid=3000 groups=.*2000/);
    expect(k(s, ['exec', 'fsgroup', '--', 'stat', '-c', '%g %a', '/scratch']).trim()).toBe('2000 2777');
    expect(sh('fsgroup', 'touch /scratch/f && stat -c "%u %g" /scratch/f').stdout.trim()).toBe('1000 2000');
    // a 0400 configMap file becomes 0440 group fsGroup: the container (not its owner) can read it
    expect(k(s, ['exec', 'fsgroup', '--', 'stat', '-L', '-c', '%g %a', '/cfg/k']).trim()).toBe('2000 440');
    expect(k(s, ['exec', 'fsgroup', '--', 'cat', '/cfg/k'])).toBe('v');
    k(s, ['delete', 'pod', 'fsgroup', '--wait=true', '--timeout=60s']);
  }, 120_000);
});
