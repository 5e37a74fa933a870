// kill -9 the server in the middle of a 20-replica rollout: pods keep running while it
// is down; after it comes back the agent reconnects and resyncs, the rollout finishes,
// and no container is restarted or duplicated.
import { spawnSync } from 'node:child_process';
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

function running(node: string): { id: string; uid: string; name: string }[] {
  const out = spawnSync(
    'docker',
    [
      'ps',
      '--filter',
      `label=io.skiff.node=${node}`,
      '--filter',
      'label=io.kubernetes.docker.type=container',
      '--format',
      '{{.ID}} {{.Label "io.kubernetes.pod.uid"}} {{.Label "io.kubernetes.container.name"}}',
    ],
    { encoding: 'utf8' },
  ).stdout.trim();
  return out
    ? out.split('\n').map((l) => {
        const [id, uid, name] = l.split(' ');
        return { id: id!, uid: uid!, name: name! };
      })
    : [];
}

describe.skipIf(!enabled)('server restart mid-rollout', () => {
  let s: ServerProc;
  let a: AgentProc;
  beforeAll(async () => {
    s = await startServer();
    a = startAgent(s);
    await eventually(() => expect(k(s, ['get', 'node', a.node])).toMatch(/\sReady\s/), 20_000, 200);
  });
  afterAll(async () => {
    await a?.kill('SIGKILL');
    if (a) removeNodeContainers(a.node);
    await s?.cleanup();
  });

  it('finishes the rollout after kill -9 of the server, with no duplicate containers', async () => {
    k(
      s,
      ['apply', '-f', '-'],
      `apiVersion: apps/v1
kind: Deployment
metadata: {name: big}
spec:
  replicas: 20
  selector: {matchLabels: {app: big}}
  template:
    metadata: {labels: {app: big}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: c
        image: ${BUSYBOX}
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
`,
    );
    const r = kubectl(s, ['rollout', 'status', 'deployment/big', '--timeout=120s'], { timeoutMs: 130_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(running(a.node)).toHaveLength(20);

    // a pod outside the rollout must keep its container through the outage
    k(s, ['run', 'steady', `--image=${BUSYBOX}`, '--image-pull-policy=IfNotPresent', '--', 'sleep', '3600']);
    await eventually(
      () => expect(JSON.parse(k(s, ['get', 'pod', 'steady', '-o', 'json'])).status.phase).toBe('Running'),
      30_000,
      250,
    );
    const steadyUid = JSON.parse(k(s, ['get', 'pod', 'steady', '-o', 'json'])).metadata.uid;
    const steadyBefore = running(a.node)
      .filter((c) => c.uid === steadyUid)
      .map((c) => c.id);
    expect(steadyBefore).toHaveLength(1);

    k(s, ['set', 'env', 'deployment/big', 'ROLL=2']);
    await new Promise((res) => setTimeout(res, 1500));
    await s.kill('SIGKILL');
    // while the control plane is gone the agent keeps running pods (it may finish work it
    // was already given, such as terminating old replicas, but starts nothing new on its own)
    await new Promise((res) => setTimeout(res, 3000));
    expect(
      running(a.node)
        .filter((c) => c.uid === steadyUid)
        .map((c) => c.id),
    ).toEqual(steadyBefore);
    expect(running(a.node).length).toBeGreaterThan(0);
    await s.restart();

    const done = kubectl(s, ['rollout', 'status', 'deployment/big', '--timeout=120s'], { timeoutMs: 130_000 });
    expect(done.code, done.stderr).toBe(0);
    const pods = JSON.parse(k(s, ['get', 'pods', '-l', 'app=big', '-o', 'json'])).items.filter(
      (p: any) => !p.metadata.deletionTimestamp,
    );
    expect(pods).toHaveLength(20);
    await eventually(
      () => {
        const cs = running(a.node).filter((c) => c.uid !== steadyUid);
        // exactly one running container per live pod, none for pods that are gone
        expect(cs).toHaveLength(20);
        expect(new Set(cs.map((c) => c.uid))).toEqual(new Set(pods.map((p: any) => p.metadata.uid)));
      },
      30_000,
      500,
    );
    expect(
      running(a.node)
        .filter((c) => c.uid === steadyUid)
        .map((c) => c.id),
    ).toEqual(steadyBefore);
    for (const p of pods) {
      expect(p.spec.containers[0].env).toEqual([{ name: 'ROLL', value: '2' }]);
      expect(p.status.containerStatuses[0].restartCount).toBe(0);
    }
    k(s, ['delete', 'deployment', 'big']);
  });
});
