// Docker daemon restart, end to end: a real server and agent, the real kubectl, and a
// private dockerd (private-dockerd.ts: the host's engine is shared by the other e2e files
// running in parallel, so this test stops and starts its own). While Docker is gone the
// agent reports the node Ready=False ("container runtime is down"); when Docker returns the
// node is Ready again and the pod, whose containers the daemon stopped on its way down, is
// brought back per its restartPolicy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUSYBOX,
  PAUSE,
  dockerAvailable,
  eventually,
  k,
  kubectl,
  kubectlAvailable,
  startAgent,
  startServer,
  type AgentProc,
  type ServerProc,
} from './harness.js';
import { privateDockerdAvailable, startPrivateDockerd, type PrivateDockerd } from './private-dockerd.js';

const enabled = dockerAvailable() && kubectlAvailable() && privateDockerdAvailable();

describe.skipIf(!enabled)('skiff-agent across a Docker daemon restart', () => {
  let d: PrivateDockerd;
  let s: ServerProc;
  let a: AgentProc;
  const pod = (name: string) => JSON.parse(k(s, ['get', 'pod', name, '-o', 'json']));
  const readyCondition = () =>
    JSON.parse(k(s, ['get', 'node', a.node, '-o', 'json'])).status.conditions.find(
      (c: { type: string }) => c.type === 'Ready',
    );
  /** running containers of a pod on the private daemon, by io.kubernetes.container.name */
  const runningInDocker = (uid: string): string[] => {
    const r = d.docker([
      'ps',
      '--filter',
      `label=io.kubernetes.pod.uid=${uid}`,
      '--filter',
      'status=running',
      '--format',
      '{{.Label "io.kubernetes.container.name"}}',
    ]);
    if (r.status !== 0) throw new Error(`docker ps: ${r.stderr}`);
    return r.stdout.trim().split('\n').filter(Boolean).sort();
  };
  const t0 = Date.now();
  const mark = (what: string) => console.log(`[docker-restart] +${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`);

  beforeAll(async () => {
    d = await startPrivateDockerd({ images: [BUSYBOX, PAUSE] });
    mark(`private dockerd ${d.name} up at ${d.host}`);
    // A node whose agent reports Ready=False gets node.kubernetes.io/not-ready taints; in a
    // cluster with other Ready nodes the taint manager would evict its pods once their
    // toleration (skiff's default: 10 s) runs out. Here it is the only node (no eviction
    // at all), and a 5-minute toleration (Kubernetes' default) keeps eviction out of this
    // test anyway: it is about the agent's recovery.
    s = await startServer(['--default-unreachable-toleration-seconds', '300']);
    a = startAgent(s, { args: ['--docker-host', d.host] });
    await eventually(() => expect(k(s, ['get', 'node', a.node])).toMatch(/\sReady\s/), 20_000, 200);
    mark('node Ready');
  });

  afterAll(async () => {
    // let the agent remove the pod (containers, cgroups) while it and Docker still run
    if (s && a && d?.running)
      kubectl(s, ['delete', 'pod', '--all', '--grace-period=1', '--timeout=20s'], { timeoutMs: 25_000 });
    mark('pod deleted');
    await a?.kill('SIGKILL');
    await d?.cleanup();
    await s?.cleanup();
    mark('cleaned up');
  });

  it('reports NotReady while Docker is down, and Ready with the pod running again once it is back', async ({
    onTestFailed,
  }) => {
    onTestFailed(() => {
      const tail = (t: string, n: number) => t.trim().split('\n').slice(-n).join('\n');
      console.error(
        `--- agent (last lines) ---\n${tail(a.output(), 40)}\n--- private dockerd (last lines) ---\n${tail(d.log(), 40)}\n--- docker ps -a ---\n${d.running ? d.docker(['ps', '-a']).stdout : '(dockerd down)'}`,
      );
    });
    k(
      s,
      ['apply', '-f', '-'],
      `apiVersion: v1
kind: Pod
metadata: {name: survivor}
spec:
  nodeSelector: {kubernetes.io/hostname: ${a.node}}
  restartPolicy: Always
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    image: ${BUSYBOX}
    command: ["sh", "-c", "trap 'exit 0' TERM; echo up; while :; do sleep 1; done"]
`,
    );
    await eventually(
      () => {
        const p = pod('survivor');
        expect(p.status.phase).toBe('Running');
        expect(p.status.containerStatuses[0].ready).toBe(true);
      },
      30_000,
      250,
    );
    const before = pod('survivor');
    const uid: string = before.metadata.uid;
    expect(before.spec.tolerations).toContainEqual(
      expect.objectContaining({ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute', tolerationSeconds: 300 }),
    );
    expect(runningInDocker(uid)).toEqual(['POD', 'main']);
    const restartsBefore: number = before.status.containerStatuses[0].restartCount;
    const idBefore: string = before.status.containerStatuses[0].containerID;
    mark('pod Running');

    // Docker goes away (systemctl stop docker): the daemon stops the pod's containers and exits
    await d.stop();
    mark('dockerd stopped');
    const down = Date.now();
    await eventually(
      () => {
        const c = readyCondition();
        expect(c.status).toBe('False');
        expect(c.message).toMatch(/container runtime is down/);
      },
      15_000,
      250,
    );
    mark(`node Ready=False after ${((Date.now() - down) / 1000).toFixed(1)}s`);
    expect(k(s, ['get', 'node', a.node])).toMatch(/\sNotReady\s/);
    // nothing new is scheduled here; and as the only node of the cluster is not Ready, the
    // node controller is in master disruption mode: no NoExecute taint, no eviction
    await eventually(
      () =>
        expect(JSON.parse(k(s, ['get', 'node', a.node, '-o', 'json'])).spec.taints).toContainEqual(
          expect.objectContaining({ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }),
        ),
      10_000,
      250,
    );
    expect(JSON.parse(k(s, ['get', 'node', a.node, '-o', 'json'])).spec.taints).not.toContainEqual(
      expect.objectContaining({ effect: 'NoExecute' }),
    );
    // Stay down past skiff's default 10 s toleration (and long enough for the agent's
    // Docker events stream to be in reconnect back-off): still NotReady, and the pod is
    // still bound here, not evicted (see the toleration above).
    await new Promise((r) => setTimeout(r, Math.max(0, down + 12_000 - Date.now())));
    expect(readyCondition().status).toBe('False');
    expect(pod('survivor').metadata.uid).toBe(uid);
    expect(pod('survivor').metadata.deletionTimestamp).toBeUndefined();

    // Docker returns, on the same data root: the pod's containers are there, but exited
    await d.start();
    mark('dockerd started again');
    const up = Date.now();
    await eventually(
      () => {
        const p = pod('survivor');
        expect(p.status.phase).toBe('Running');
        const cs = p.status.containerStatuses[0];
        expect(cs.ready).toBe(true);
        expect(cs.state.running).toBeDefined();
        // a new container: the old one was stopped with the daemon
        expect(cs.containerID).not.toBe(idBefore);
        expect(cs.restartCount).toBeGreaterThan(restartsBefore);
        expect(runningInDocker(uid)).toEqual(['POD', 'main']);
      },
      30_000,
      250,
    );
    mark(`pod Running again after ${((Date.now() - up) / 1000).toFixed(1)}s`);
    // the health check runs every 5 s
    await eventually(() => expect(readyCondition().status).toBe('True'), 20_000, 250);
    mark(`node Ready after ${((Date.now() - up) / 1000).toFixed(1)}s`);
    expect(k(s, ['get', 'node', a.node])).toMatch(/\sReady\s/);
    expect(pod('survivor').metadata.uid).toBe(uid);
    expect(k(s, ['get', 'pod', 'survivor'])).toMatch(/survivor\s+1\/1\s+Running\s+[1-9]/);
  }, 90_000);
});
