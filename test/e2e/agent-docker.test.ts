// skiff-agent end to end: a real server and agent process, real Docker, real kubectl.
// Node registration and lease, pods with cgroup limits read back from the cgroup
// filesystem, shared localhost, logs and exec, OOMKilled, clean deletion, scheduling
// failures, and the agent protocol's security (join token, NodeRestriction, garbage).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultRouteIPv4 } from '../../controlplane/host-address.js';
import {
  BUSYBOX,
  dockerAvailable,
  eventually,
  freePort,
  httpsRequest,
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
const CG = '/sys/fs/cgroup';
const cgroupV1 = existsSync(join(CG, 'memory', 'memory.limit_in_bytes')) || existsSync(join(CG, 'memory'));

function podYaml(name: string, node: string, spec: string, extraMeta = ''): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}${extraMeta}}
spec:
  nodeSelector: {kubernetes.io/hostname: ${node}}
  terminationGracePeriodSeconds: 2
${spec}`;
}

function readCg(...p: string[]): string {
  return readFileSync(join(CG, ...p), 'utf8').trim();
}

describe.skipIf(!enabled)('skiff-agent on real Docker', () => {
  let s: ServerProc;
  let a: AgentProc;
  let metricsPort = 0;
  const pod = (name: string) => JSON.parse(k(s, ['get', 'pod', name, '-o', 'json']));
  const waitPhase = (name: string, phase: string, ms = 30_000) =>
    eventually(
      () => {
        const p = pod(name);
        expect(p.status.phase).toBe(phase);
        return p;
      },
      ms,
      250,
    );

  beforeAll(async () => {
    s = await startServer();
    metricsPort = await freePort();
    a = startAgent(s, { args: ['--metrics-bind-address', `127.0.0.1:${metricsPort}`] });
    await eventually(() => expect(k(s, ['get', 'node', a.node])).toMatch(/\sReady\s/), 20_000, 200);
  });
  afterAll(async () => {
    await a?.kill('SIGKILL');
    if (a) removeNodeContainers(a.node);
    await s?.cleanup();
  });

  it('registers the node Ready with its real capacity, and renews its lease', async () => {
    const n = JSON.parse(k(s, ['get', 'node', a.node, '-o', 'json']));
    expect(n.status.capacity.cpu).toBe(String(cpus().length));
    expect(n.status.capacity.memory).toBe(`${Math.floor(totalmem() / 1024)}Ki`);
    expect(n.status.capacity.pods).toBe('110');
    expect(n.status.nodeInfo.containerRuntimeVersion).toMatch(/^docker:\/\/\d+\./);
    expect(n.status.nodeInfo.kubeletVersion).toMatch(/^skiff\//);
    // the server is on loopback here: the node reports the machine's default-route address
    expect(n.status.addresses).toContainEqual({ type: 'InternalIP', address: defaultRouteIPv4() ?? '127.0.0.1' });
    const types = n.status.conditions.map((c: { type: string; status: string }) => `${c.type}=${c.status}`);
    expect(types).toEqual(
      expect.arrayContaining(['Ready=True', 'MemoryPressure=False', 'DiskPressure=False', 'PIDPressure=False']),
    );
    expect(n.metadata.labels['kubernetes.io/hostname']).toBe(a.node);
    const lease1 = JSON.parse(k(s, ['get', 'lease', '-n', 'kube-node-lease', a.node, '-o', 'json'])).spec.renewTime;
    await eventually(
      () => {
        const lease2 = JSON.parse(k(s, ['get', 'lease', '-n', 'kube-node-lease', a.node, '-o', 'json'])).spec.renewTime;
        expect(Date.parse(lease2)).toBeGreaterThan(Date.parse(lease1));
      },
      10_000,
      300,
    );
  });

  it('runs a Burstable pod with its limits in the cgroup filesystem; two containers share localhost', async () => {
    k(
      s,
      ['apply', '-f', '-'],
      podYaml(
        'limits',
        a.node,
        `  containers:
  - name: main
    image: ${BUSYBOX}
    command: ["sh", "-c", "trap 'exit 0' TERM; echo started; while :; do sleep 1; done"]
    resources:
      requests: {cpu: 250m}
      limits: {memory: 64Mi, cpu: 500m}
  - name: web
    image: ${BUSYBOX}
    command: ["httpd", "-f", "-p", "8080", "-h", "/var/www"]
`,
      ),
    );
    const p = await waitPhase('limits', 'Running');
    await eventually(
      () => expect(pod('limits').status.containerStatuses.every((c: { ready: boolean }) => c.ready)).toBe(true),
      15_000,
    );
    expect(p.status.qosClass).toBe('Burstable');
    expect(p.spec.nodeName).toBe(a.node);
    const cs = pod('limits').status.containerStatuses.find((c: { name: string }) => c.name === 'main');
    expect(cs.containerID).toMatch(/^docker:\/\/[0-9a-f]{64}$/);
    expect(cs.restartCount).toBe(0);
    expect(pod('limits').status.podIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const id = cs.containerID.slice('docker://'.length);
    const uid = p.metadata.uid;
    if (cgroupV1) {
      const dir = ['kubepods', 'burstable', `pod${uid}`, id];
      expect(readCg('memory', ...dir, 'memory.limit_in_bytes')).toBe('67108864');
      expect(readCg('cpu', ...dir, 'cpu.cfs_quota_us')).toBe('50000');
      expect(readCg('cpu', ...dir, 'cpu.cfs_period_us')).toBe('100000');
      expect(readCg('cpu', ...dir, 'cpu.shares')).toBe('256');
    } else {
      const dir = readdirSync(CG).includes('kubepods.slice')
        ? [
            'kubepods.slice',
            'kubepods-burstable.slice',
            `kubepods-burstable-pod${uid.replace(/-/g, '_')}.slice`,
            `docker-${id}.scope`,
          ]
        : ['kubepods', 'burstable', `pod${uid}`, id];
      expect(readCg(...dir, 'memory.max')).toBe('67108864');
      expect(readCg(...dir, 'cpu.max')).toBe('50000 100000');
    }
    // containers of one pod share the sandbox's network namespace
    expect(k(s, ['exec', 'limits', '-c', 'main', '--', 'wget', '-qO-', 'http://127.0.0.1:8080/'])).toBe(
      'hello from skiff\n',
    );
  });

  it('puts Guaranteed and BestEffort pods under their QoS cgroup parents', async () => {
    k(
      s,
      ['apply', '-f', '-'],
      podYaml(
        'guaranteed',
        a.node,
        `  containers:
  - name: c
    image: ${BUSYBOX}
    command: ["sleep", "3600"]
    resources: {limits: {memory: 32Mi, cpu: 100m}}
`,
      ),
    );
    k(
      s,
      ['apply', '-f', '-'],
      podYaml(
        'besteffort',
        a.node,
        `  containers:
  - name: c
    image: ${BUSYBOX}
    command: ["sleep", "3600"]
`,
      ),
    );
    const g = await waitPhase('guaranteed', 'Running');
    const b = await waitPhase('besteffort', 'Running');
    expect(g.status.qosClass).toBe('Guaranteed');
    expect(b.status.qosClass).toBe('BestEffort');
    if (cgroupV1) {
      expect(existsSync(join(CG, 'memory', 'kubepods', `pod${g.metadata.uid}`))).toBe(true);
      expect(existsSync(join(CG, 'memory', 'kubepods', 'besteffort', `pod${b.metadata.uid}`))).toBe(true);
      expect(
        readCg(
          'memory',
          'kubepods',
          `pod${g.metadata.uid}`,
          g.status.containerStatuses[0].containerID.slice(9),
          'memory.limit_in_bytes',
        ),
      ).toBe(String(32 * 1024 * 1024));
    }
    k(s, ['delete', 'pod', 'guaranteed', 'besteffort', '--grace-period=1']);
  });

  it('serves logs (tail, timestamps, follow) and exec (exit codes, stdin) through kubectl', async () => {
    k(
      s,
      ['apply', '-f', '-'],
      podYaml(
        'talker',
        a.node,
        `  containers:
  - name: c
    image: ${BUSYBOX}
    command: ["sh", "-c", "trap 'exit 0' TERM; i=0; while :; do echo line $i; i=$((i+1)); sleep 0.2; done"]
`,
      ),
    );
    await waitPhase('talker', 'Running');
    await eventually(() => expect(k(s, ['logs', 'talker', '--tail', '2']).trim().split('\n')).toHaveLength(2), 10_000);
    expect(k(s, ['logs', 'talker', '--tail', '1', '--timestamps'])).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z line \d+\n$/,
    );
    const r = kubectl(s, ['logs', '-f', 'talker', '--tail', '1'], { timeoutMs: 1500 });
    expect(r.stdout.trim().split('\n').length).toBeGreaterThan(2); // kept streaming until killed
    expect(k(s, ['exec', 'talker', '--', 'sh', '-c', 'echo out; echo err >&2'])).toBe('out\n');
    const fail = kubectl(s, ['exec', 'talker', '--', 'sh', '-c', 'exit 3']);
    expect(fail.code).toBe(3);
    expect(fail.stderr).toContain('command terminated with exit code 3');
    expect(kubectl(s, ['exec', '-i', 'talker', '--', 'cat'], { input: 'from stdin\n' }).stdout).toBe('from stdin\n');
    const bad = kubectl(s, ['logs', 'talker', '-c', 'nope']);
    expect(bad.stderr).toContain('container nope is not valid for pod talker');
  });

  it('kubectl top nodes and pods show usage sampled from Docker stats', async () => {
    await eventually(
      () => {
        const nodes = k(s, ['top', 'nodes']);
        expect(nodes).toMatch(new RegExp(`${a.node}\\s+\\d+m\\s+\\d+%\\s+\\d+Mi\\s+\\d+%`));
      },
      25_000,
      1000,
    );
    await eventually(() => expect(k(s, ['top', 'pod', 'talker'])).toMatch(/talker\s+\d+m\s+\d+Mi/), 25_000, 1000);
    expect(k(s, ['top', 'pod', 'talker', '--containers'])).toMatch(/talker\s+c\s+\d+m\s+\d+Mi/);
  });

  it('serves agent metrics in Prometheus format', async () => {
    await eventually(
      async () => {
        const body = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        expect(body).toMatch(/skiff_agent_container_starts_total [1-9]\d*/);
        expect(body).toMatch(/skiff_agent_pods [1-9]\d*/);
        expect(body).toContain('skiff_agent_server_connected 1');
        expect(body).toMatch(/skiff_agent_pod_sync_duration_seconds_count [1-9]/);
        expect(body).toContain('process_resident_memory_bytes');
      },
      10_000,
      500,
    );
  });

  it('reports an OOM kill as OOMKilled', async () => {
    k(
      s,
      ['apply', '-f', '-'],
      podYaml(
        'oom',
        a.node,
        `  restartPolicy: Never
  containers:
  - name: hog
    image: ${BUSYBOX}
    command: ["sh", "-c", "x=a; while :; do x=$x$x; done"]
    resources: {limits: {memory: 16Mi}}
`,
      ),
    );
    await waitPhase('oom', 'Failed');
    // Docker can learn of the OOM kill just after the exit (containerd's TaskOOM after its
    // TaskExit): State.OOMKilled turns true a moment later, and the agent's next look at the
    // container (its 'oom' event wakes the pod's worker) reports it
    await eventually(
      () =>
        expect(pod('oom').status.containerStatuses[0].state.terminated).toMatchObject({
          exitCode: 137,
          reason: 'OOMKilled',
        }),
      15_000,
      200,
    );
    expect(k(s, ['get', 'pod', 'oom'])).toMatch(/oom\s+0\/1\s+OOMKilled/);
  });

  it('restarts crashing containers with restartPolicy Always and counts restarts', async () => {
    k(
      s,
      ['apply', '-f', '-'],
      podYaml(
        'crasher',
        a.node,
        `  containers:
  - name: c
    image: ${BUSYBOX}
    command: ["sh", "-c", "echo crash; exit 1"]
`,
      ),
    );
    await eventually(
      () => {
        const cs = pod('crasher').status.containerStatuses[0];
        expect(cs.restartCount).toBeGreaterThanOrEqual(1);
        expect(cs.lastState.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
      },
      30_000,
      300,
    );
    await eventually(
      () => expect(pod('crasher').status.containerStatuses[0].state.waiting?.reason).toBe('CrashLoopBackOff'),
      30_000,
      300,
    );
    expect(k(s, ['logs', 'crasher', '--previous'])).toBe('crash\n');
  });

  it('deletes gracefully: no container, sandbox or cgroup directory is left', async () => {
    const p = pod('limits');
    const uid = p.metadata.uid;
    k(s, ['delete', 'pod', 'limits', 'talker', 'oom', 'crasher']);
    expect(kubectl(s, ['get', 'pod', 'limits']).stderr).toContain('not found');
    const left = (await import('node:child_process'))
      .spawnSync('docker', ['ps', '-aq', '--filter', `label=io.kubernetes.pod.uid=${uid}`], { encoding: 'utf8' })
      .stdout.trim();
    expect(left).toBe('');
    if (cgroupV1) {
      for (const h of ['memory', 'cpu', 'pids', 'cpuset'])
        expect(existsSync(join(CG, h, 'kubepods', 'burstable', `pod${uid}`))).toBe(false);
    }
  });

  it("an unschedulable pod gets PodScheduled=False, Unschedulable, with kube-scheduler's message", async () => {
    k(
      s,
      ['apply', '-f', '-'],
      `apiVersion: v1
kind: Pod
metadata: {name: huge}
spec:
  containers:
  - name: c
    image: ${BUSYBOX}
    resources: {requests: {cpu: "500", memory: 1Mi}}
`,
    );
    await eventually(
      () => {
        const c = pod('huge').status.conditions.find((x: { type: string }) => x.type === 'PodScheduled');
        expect(c).toMatchObject({ status: 'False', reason: 'Unschedulable' });
        expect(c.message).toBe(
          '0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod..',
        );
      },
      15_000,
      250,
    );
    expect(k(s, ['describe', 'pod', 'huge'])).toContain('FailedScheduling');
    k(s, ['delete', 'pod', 'huge']);
  });

  it('an agent restart adopts running containers without restarting them', async () => {
    k(
      s,
      ['apply', '-f', '-'],
      podYaml(
        'survivor',
        a.node,
        `  containers:
  - name: c
    image: ${BUSYBOX}
    command: ["sleep", "3600"]
`,
      ),
    );
    const before = (await waitPhase('survivor', 'Running')).status.containerStatuses[0];
    await a.restart();
    await eventually(() => expect(a.output()).toContain('registered with server'), 15_000);
    await new Promise((r) => setTimeout(r, 2000));
    const after = pod('survivor').status.containerStatuses[0];
    expect(after.containerID).toBe(before.containerID);
    expect(after.restartCount).toBe(0);
    expect(after.state.running.startedAt).toBe(before.state.running.startedAt);
    k(s, ['delete', 'pod', 'survivor', '--grace-period=1']);
  });

  describe('agent protocol security', () => {
    const connect = (token: string): Promise<{ ws: WebSocket; next: () => Promise<any>; status?: number }> =>
      new Promise((resolve) => {
        const ws = new WebSocket(`wss://127.0.0.1:${s.port}/agent/v1/connect`, {
          headers: { Authorization: `Bearer ${token}` },
          ca: s.caPem,
          servername: 'localhost',
        } as WebSocket.ClientOptions);
        const queue: any[] = [];
        const waiters: ((m: any) => void)[] = [];
        // the network state arrives after registration and on every cluster change: not what these checks are about
        ws.on('message', (d) => {
          const m = JSON.parse(String(d));
          if (m.type === 'network') return;
          const w = waiters.shift();
          if (w) w(m);
          else queue.push(m);
        });
        const next = () =>
          new Promise<any>((r) => {
            const m = queue.shift();
            if (m) r(m);
            else waiters.push(r);
          });
        ws.on('open', () => resolve({ ws, next }));
        ws.on('unexpected-response', (_req, res) => resolve({ ws, next, status: res.statusCode }));
        ws.on('error', () => undefined);
      });
    const token = () => readFileSync(join(s.dataDir, 'token'), 'utf8').trim();

    it('refuses a wrong join token (and an agent started with one never registers)', async () => {
      const c = await connect('K10' + '0'.repeat(64) + '::node:wrong');
      expect(c.status).toBe(401);
      // the right CA hash (so TLS is trusted) with the wrong secret
      const bad = startAgent(s, { token: token().replace(/::node:.*$/, '::node:wrong-secret') });
      await eventually(() => expect(bad.output()).toContain('server refused the join token'), 15_000);
      expect(kubectl(s, ['get', 'node', bad.node]).stderr).toContain('not found');
      await bad.kill('SIGKILL');
    });

    it('answers malformed messages with an error and keeps serving', async () => {
      const c = await connect(token());
      c.ws.send('{not json');
      expect(await c.next()).toMatchObject({ type: 'error' });
      c.ws.send(JSON.stringify({ type: 'podStatus', pod: { namespace: 'default' } }));
      expect(await c.next()).toMatchObject({ type: 'error' });
      c.ws.send(JSON.stringify({ type: 'heartbeat' }));
      expect((await c.next()).message).toContain('register first');
      c.ws.send(Buffer.from([0xff, 0x00, 0x13]));
      expect(await c.next()).toMatchObject({ type: 'error' });
      c.ws.close();
      expect((await httpsRequest(s, 'GET', '/readyz', undefined, {}, null)).status).toBe(200);
    });

    it("NodeRestriction: an agent cannot write another node's pods or events", async () => {
      k(
        s,
        ['apply', '-f', '-'],
        podYaml(
          'victim',
          a.node,
          `  containers:
  - name: c
    image: ${BUSYBOX}
    command: ["sleep", "3600"]
`,
        ),
      );
      const victim = await waitPhase('victim', 'Running');
      const c = await connect(token());
      c.ws.send(
        JSON.stringify({
          type: 'register',
          protocol: 1,
          node: {
            name: 'intruder',
            capacity: { cpu: '1' },
            allocatable: { cpu: '1' },
            nodeInfo: {},
            addresses: [],
            conditions: [{ type: 'Ready', status: 'True' }],
          },
          credential: 'forged-agent-credential-0123456789abcdef',
        }),
      );
      let m = await c.next();
      expect(m.type).toBe('registered');
      expect((await c.next()).type).toBe('pods');
      const ref = { namespace: 'default', name: 'victim', uid: victim.metadata.uid };
      c.ws.send(JSON.stringify({ type: 'podStatus', pod: ref, status: { phase: 'Failed' } }));
      m = await c.next();
      expect(m.type).toBe('error');
      expect(m.message).toContain('may not write pod default/victim');
      c.ws.send(JSON.stringify({ type: 'podTerminated', pod: ref }));
      c.ws.send(
        JSON.stringify({
          type: 'event',
          involvedObject: { kind: 'Node', name: a.node, uid: a.node },
          eventType: 'Warning',
          reason: 'Forged',
          message: 'x',
        }),
      );
      expect((await c.next()).type).toBe('error');
      c.ws.close();
      const after = pod('victim');
      expect(after.status.phase).toBe('Running');
      expect(after.metadata.deletionTimestamp).toBeUndefined();
      k(s, ['delete', 'pod', 'victim', '--grace-period=1']);
      k(s, ['delete', 'node', 'intruder']);
    });
  });
});
