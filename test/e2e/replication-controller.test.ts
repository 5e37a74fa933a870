// ReplicationControllers end to end: a real server and agent, real Docker, the real
// kubectl 1.32. An old-style manifest (selector as a map) created with `kubectl create -f`,
// its pods Running, `kubectl get rc` (and -o wide), `kubectl scale rc`, a deleted pod
// replaced, describe, expose and a dry-run drain (RC pods are managed), `kubectl delete rc`
// removing its pods, `--cascade=orphan` and a bare DELETE (v1's default) keeping them.
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

const rc = (name: string, replicas: number) => `apiVersion: v1
kind: ReplicationController
metadata:
  name: ${name}
spec:
  replicas: ${replicas}
  selector:
    app: ${name}
  template:
    metadata:
      labels:
        app: ${name}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: c
        image: ${BUSYBOX}
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
`;

describe.skipIf(!enabled)('ReplicationControllers on real Docker with the real kubectl', () => {
  let s: ServerProc;
  let a: AgentProc;
  const json = (args: string[]) => JSON.parse(k(s, [...args, '-o', 'json']));
  const pods = (app: string) =>
    (json(['get', 'pods', '-l', `app=${app}`]).items as any[]).filter((p) => !p.metadata.deletionTimestamp);
  const running = (app: string, n: number) =>
    eventually(
      () => {
        const ps = pods(app).filter((p) => p.status.phase === 'Running');
        expect(ps).toHaveLength(n);
        return ps;
      },
      60_000,
      250,
    );

  beforeAll(async () => {
    s = await startServer();
    a = startAgent(s);
    await eventually(() => expect(k(s, ['get', 'node', a.node])).toMatch(/\sReady\s/), 20_000, 200);
  }, 60_000);
  afterAll(async () => {
    if (s && a) kubectl(s, ['delete', 'pods', '--all', '--grace-period=1', '--ignore-not-found', '--wait=false']);
    await a?.kill('SIGKILL');
    if (a) removeNodeContainers(a.node);
    await s?.cleanup();
  });

  it('creates, lists, scales, heals and deletes an old-style RC', async () => {
    expect(k(s, ['create', '-f', '-'], rc('web', 2))).toContain('replicationcontroller/web created');
    expect(k(s, ['create', '-f', '-'], rc('keep', 1))).toContain('replicationcontroller/keep created');
    expect(k(s, ['create', '-f', '-'], rc('raw', 1))).toContain('replicationcontroller/raw created');
    const rcObj = json(['get', 'rc', 'web']);
    expect(rcObj.metadata.labels).toEqual({ app: 'web' }); // defaulted from the template
    const first = await running('web', 2);
    for (const p of first) {
      expect(p.metadata.ownerReferences).toEqual([
        {
          apiVersion: 'v1',
          kind: 'ReplicationController',
          name: 'web',
          uid: rcObj.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }

    const table = await eventually(
      () => {
        const out = k(s, ['get', 'rc', 'web']);
        expect(out).toMatch(/^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\n/);
        expect(out).toMatch(/\nweb\s+2\s+2\s+2\s+\d+s\n/);
        return out;
      },
      30_000,
      250,
    );
    expect(table.trim().split('\n')).toHaveLength(2);
    const wide = k(s, ['get', 'rc', 'web', '-o', 'wide']);
    expect(wide).toMatch(/^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR\n/);
    expect(wide).toMatch(/\nweb\s+2\s+2\s+2\s+\S+\s+c\s+skiff\.local\/busybox:1\.36\s+app=web\n/);
    expect(
      k(s, [
        'get',
        'rc',
        'web',
        '-o',
        'jsonpath={.status.observedGeneration} {.status.fullyLabeledReplicas} {.status.availableReplicas}',
      ]),
    ).toBe('1 2 2');

    // kubectl scale goes through the /scale subresource (autoscaling/v1 Scale)
    expect(k(s, ['scale', 'rc', 'web', '--replicas=3'])).toContain('replicationcontroller/web scaled');
    const three = await running('web', 3);
    expect(k(s, ['get', '--raw', '/api/v1/namespaces/default/replicationcontrollers/web/scale'])).toMatch(
      /"spec":\{"replicas":3\}.*"selector":"app=web"/,
    );

    // a deleted pod is replaced
    const victim = three[0].metadata.name as string;
    k(s, ['delete', 'pod', victim, '--wait=false']);
    await eventually(
      () => {
        const ps = pods('web').filter((p) => p.status.phase === 'Running');
        expect(ps.map((p) => p.metadata.name)).not.toContain(victim);
        expect(ps).toHaveLength(3);
      },
      60_000,
      250,
    );
    await eventually(
      () => expect(k(s, ['get', 'rc', 'web', '--no-headers'])).toMatch(/^web\s+3\s+3\s+3\s/),
      30_000,
      250,
    );
    // describe counts every pod the selector matches, a terminating one too: wait until the victim is gone
    await eventually(
      () => expect((json(['get', 'pods', '-l', 'app=web']).items as unknown[]).length).toBe(3),
      60_000,
      250,
    );

    const described = k(s, ['describe', 'rc', 'web']);
    expect(described).toMatch(/Selector:\s+app=web\n/);
    expect(described).toMatch(/Replicas:\s+3 current \/ 3 desired\n/);
    expect(described).toMatch(/Pods Status:\s+3 Running \/ 0 Waiting \/ 0 Succeeded \/ 0 Failed\n/);
    expect(described).toMatch(
      /Normal\s+SuccessfulCreate\s+\S+\s+replication-controller\s+Created pod: web-[a-z0-9]{5}\n/,
    );
    // kubectl expose reads the map selector; drain counts RC pods as managed
    expect(k(s, ['expose', 'rc', 'web', '--port=80', '--target-port=8080'])).toContain('service/web exposed');
    expect(k(s, ['get', 'svc', 'web', '-o', 'jsonpath={.spec.selector}'])).toBe('{"app":"web"}');
    const drain = kubectl(s, ['drain', a.node, '--dry-run=server', '--ignore-daemonsets']);
    expect(drain.stderr + drain.stdout).toContain('(server dry run)');
    expect(drain.code).toBe(0);
    expect(drain.stdout).toMatch(/evicting pod default\/web-/);

    // --cascade=orphan keeps the pod and drops its ownerReference
    const [kept] = await running('keep', 1);
    expect(k(s, ['delete', 'rc', 'keep', '--cascade=orphan'])).toContain('replicationcontroller "keep" deleted');
    await eventually(
      () => {
        expect(kubectl(s, ['get', 'rc', 'keep']).code).not.toBe(0);
        expect(json(['get', 'pod', kept.metadata.name]).metadata.ownerReferences).toBeUndefined();
      },
      30_000,
      250,
    );

    // a DELETE without options orphans too: core/v1 RCs default to OrphanDependents
    const [rawPod] = await running('raw', 1);
    k(s, ['delete', '--raw', '/api/v1/namespaces/default/replicationcontrollers/raw']);
    await eventually(
      () => {
        expect(kubectl(s, ['get', 'rc', 'raw']).code).not.toBe(0);
        expect(json(['get', 'pod', rawPod.metadata.name]).metadata.ownerReferences).toBeUndefined();
      },
      30_000,
      250,
    );

    expect(k(s, ['get', 'all'])).toMatch(/\nreplicationcontroller\/web\s+3\s+3\s+3\s/);

    // kubectl delete rc (background cascade): the garbage collector removes its pods
    expect(k(s, ['delete', 'rc', 'web'])).toContain('replicationcontroller "web" deleted');
    await eventually(() => expect(pods('web')).toHaveLength(0), 60_000, 250);
    expect(pods('keep')).toHaveLength(1);
  }, 180_000);
});
