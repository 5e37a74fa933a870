// cordon / drain / uncordon and Events, end to end: a real server, two agents sharing
// the Docker engine under different node names, and the real kubectl. A Deployment's
// two pods (with an emptyDir, next to a DaemonSet) run on node A, guarded by a
// PodDisruptionBudget that allows one disruption at a time. Draining A evicts through
// the policy/v1 eviction subresource, meets the budget's 429 at least once (kubectl
// retries every 5 s) and still completes with the pods Running on B. Then: the 429 of a
// direct eviction POST, the 201 Status of an allowed one, `kubectl get events` (columns,
// --sort-by) and the Events sections of describe node|pod|deployment.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUSYBOX,
  dockerAvailable,
  eventually,
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

const workloads = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: c
        image: ${BUSYBOX}
        command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
        volumeMounts: [{name: scratch, mountPath: /scratch}]
      volumes: [{name: scratch, emptyDir: {}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: web}}
`;

const daemonSet = `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agentd}
spec:
  selector: {matchLabels: {app: agentd}}
  template:
    metadata: {labels: {app: agentd}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: c
        image: ${BUSYBOX}
        command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
`;

describe.skipIf(!enabled)('cordon, drain, evictions with PodDisruptionBudgets, and events', () => {
  let s: ServerProc;
  let a: AgentProc;
  let b: AgentProc | undefined;

  const json = (args: string[]) => JSON.parse(k(s, [...args, '-o', 'json']));
  const webPods = () =>
    (json(['get', 'pods', '-l', 'app=web']).items as any[]).filter((p) => !p.metadata.deletionTimestamp);
  const ready = (p: any) =>
    p.status?.phase === 'Running' &&
    (p.status.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
  const pdbStatus = () => json(['get', 'pdb', 'web']).status;

  beforeAll(async () => {
    s = await startServer();
    a = startAgent(s);
    await eventually(() => expect(k(s, ['get', 'node', a.node])).toMatch(/\sReady\s/), 20_000, 200);
  });
  afterAll(async () => {
    await a?.kill('SIGKILL');
    await b?.kill('SIGKILL');
    if (a) removeNodeContainers(a.node);
    if (b) removeNodeContainers(b.node);
    await s?.cleanup();
  });

  it('drain evicts through the PDB (429 met and retried) and the pods land Running on the other node', async () => {
    k(s, ['apply', '-f', '-'], workloads);
    k(s, ['apply', '-f', '-'], daemonSet);
    // both replicas on A: it is the only node so far
    await eventually(
      () => {
        const pods = webPods();
        expect(pods).toHaveLength(2);
        for (const p of pods) {
          expect(p.spec.nodeName).toBe(a.node);
          expect(ready(p)).toBe(true);
        }
      },
      40_000,
      250,
    );
    await eventually(
      () =>
        expect(pdbStatus()).toMatchObject({
          currentHealthy: 2,
          desiredHealthy: 1,
          expectedPods: 2,
          disruptionsAllowed: 1,
        }),
      10_000,
      200,
    );
    expect(k(s, ['get', 'pdb', 'web'])).toMatch(/^web\s+1\s+N\/A\s+1\s+/m);

    b = startAgent(s);
    await eventually(() => expect(k(s, ['get', 'node', b!.node])).toMatch(/\sReady\s/), 20_000, 200);

    expect(k(s, ['cordon', a.node])).toContain(`node/${a.node} cordoned`);
    expect(k(s, ['get', 'nodes', a.node])).toMatch(new RegExp(`^${a.node}\\s+Ready,SchedulingDisabled\\s`, 'm'));
    expect(k(s, ['get', 'nodes', b.node])).toMatch(new RegExp(`^${b.node}\\s+Ready\\s`, 'm'));

    const before = webPods()
      .map((p) => p.metadata.name)
      .sort();
    const t0 = Date.now();
    const drain = kubectl(s, ['drain', a.node, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=60s'], {
      timeoutMs: 75_000,
    });
    const out = drain.stdout + drain.stderr;
    expect(drain.code, out).toBe(0);
    expect(out).toContain(`node/${a.node} already cordoned`);
    expect(out).toMatch(/Warning: ignoring DaemonSet-managed Pods: default\/agentd-/);
    for (const name of before) {
      expect(out).toContain(`evicting pod default/${name}`);
      expect(out).toContain(`pod/${name} evicted`);
    }
    // both evictions were sent at once; the budget let one through and refused the other
    expect(out).toMatch(
      /error when evicting pods\/"web-[^"]+" -n "default" \(will retry after 5s\): Cannot evict pod as it would violate the pod's disruption budget\./,
    );
    expect(out).toContain(`node/${a.node} drained`);
    expect(Date.now() - t0).toBeLessThan(60_000);

    await eventually(
      () => {
        const pods = webPods();
        expect(pods).toHaveLength(2);
        for (const p of pods) {
          expect(p.spec.nodeName).toBe(b!.node);
          expect(ready(p)).toBe(true);
          expect(before).not.toContain(p.metadata.name);
        }
      },
      30_000,
      250,
    );
    // the DaemonSet pod on A was left alone
    const ds = json(['get', 'pods', '-l', 'app=agentd']).items as any[];
    expect(ds.map((p) => p.spec.nodeName).sort()).toEqual([a.node, b.node].sort());
    await eventually(
      () => expect(pdbStatus()).toMatchObject({ currentHealthy: 2, disruptionsAllowed: 1 }),
      10_000,
      200,
    );
    expect(pdbStatus().disruptedPods).toBeUndefined();

    expect(k(s, ['uncordon', a.node])).toContain(`node/${a.node} uncordoned`);
    expect(k(s, ['get', 'nodes', a.node])).toMatch(new RegExp(`^${a.node}\\s+Ready\\s`, 'm'));
  });

  it('a direct eviction POST: 429 with the Kubernetes message when the budget allows nothing, 201 Status when it allows', async () => {
    k(s, ['patch', 'pdb', 'web', '--type=merge', '-p', '{"spec":{"minAvailable":2}}']);
    await eventually(
      () => expect(pdbStatus()).toMatchObject({ desiredHealthy: 2, disruptionsAllowed: 0, observedGeneration: 2 }),
      10_000,
      200,
    );
    const victim = webPods()[0].metadata.name;
    const evict = () =>
      httpsRequest(s, 'POST', `/api/v1/namespaces/default/pods/${victim}/eviction`, {
        kind: 'Eviction',
        apiVersion: 'policy/v1',
        metadata: { name: victim, namespace: 'default' },
        deleteOptions: {},
      });
    const refused = await evict();
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBeUndefined();
    expect(refused.json).toMatchObject({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      code: 429,
      reason: 'TooManyRequests',
      message: "Cannot evict pod as it would violate the pod's disruption budget.",
      details: {
        causes: [
          { reason: 'DisruptionBudget', message: 'The disruption budget web needs 2 healthy pods and has 2 currently' },
        ],
      },
    });
    expect(json(['get', 'pod', victim]).metadata.deletionTimestamp).toBeUndefined();
    // kubectl's own 404 for a pod that is not there
    const missing = await httpsRequest(s, 'POST', '/api/v1/namespaces/default/pods/nope/eviction', {
      kind: 'Eviction',
      apiVersion: 'policy/v1',
      metadata: { name: 'nope' },
    });
    expect(missing.status).toBe(404);

    k(s, ['patch', 'pdb', 'web', '--type=merge', '-p', '{"spec":{"minAvailable":1}}']);
    await eventually(
      () => expect(pdbStatus()).toMatchObject({ disruptionsAllowed: 1, observedGeneration: 3 }),
      10_000,
      200,
    );
    const ok = await evict();
    expect(ok.status).toBe(201);
    expect(ok.json).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
    const gone = json(['get', 'pod', victim]);
    expect(gone.metadata.deletionTimestamp).toBeDefined();
    expect(gone.status.conditions).toContainEqual(
      expect.objectContaining({ type: 'DisruptionTarget', status: 'True', reason: 'EvictionByEvictionAPI' }),
    );
  });

  it("kubectl get events: the columns kubectl expects, the drain's events, and --sort-by=.lastTimestamp", async () => {
    await eventually(() => expect(k(s, ['get', 'events'])).toMatch(/NodeSchedulable/), 10_000, 250);
    const out = k(s, ['get', 'events']);
    const [header, ...rows] = out.trimEnd().split('\n');
    expect(header!.split(/\s{2,}/)).toEqual(['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE']);
    const row = (reason: string, object: RegExp) =>
      rows.find((r) => r.split(/\s{2,}/)[2] === reason && object.test(r.split(/\s{2,}/)[3]!));
    expect(row('NodeNotSchedulable', new RegExp(`^node/${a.node}$`))).toContain(
      `Node ${a.node} status is now: NodeNotSchedulable`,
    );
    expect(row('NodeSchedulable', new RegExp(`^node/${a.node}$`))).toBeDefined();
    expect(row('Killing', /^pod\/web-/)).toContain('Stopping container c');
    // scheduled onto A first, the replacements onto B
    const scheduled = rows.filter(
      (r) => r.split(/\s{2,}/)[2] === 'Scheduled' && /^pod\/web-/.test(r.split(/\s{2,}/)[3]!),
    );
    expect(scheduled.some((r) => r.endsWith(`to ${a.node}`))).toBe(true);
    expect(scheduled.some((r) => r.endsWith(`to ${b!.node}`))).toBe(true);
    expect(row('SuccessfulCreate', /^replicaset\/web-/)).toBeDefined();
    expect(row('ScalingReplicaSet', /^deployment\/web$/)).toBeDefined();
    expect(rows.every((r) => /^(\d+m)?\d+s\s|^\d+m\s|^<unknown>\s/.test(r))).toBe(true);

    const sorted = kubectl(s, ['get', 'events', '--sort-by=.lastTimestamp']);
    expect(sorted.code, sorted.stderr).toBe(0);
    expect(sorted.stdout.split('\n')[0]).toMatch(/^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/);
    expect(sorted.stdout.trim().split('\n').length).toBeGreaterThanOrEqual(rows.length + 1); // the evicted pod's replacement may still be reporting
    const times = k(s, [
      'get',
      'events',
      '--sort-by=.lastTimestamp',
      '-o',
      'custom-columns=T:.lastTimestamp',
      '--no-headers',
    ])
      .trim()
      .split('\n')
      .map((t) => Date.parse(t));
    expect(times.every((t, i) => i === 0 || t >= times[i - 1]!)).toBe(true);

    // the events are deduplicated: one object per distinct occurrence, with count
    const evs = json(['get', 'events']).items as any[];
    for (const e of evs) {
      expect(e.count).toBeGreaterThanOrEqual(1);
      expect(e.lastTimestamp).toBeTruthy();
      expect(e.firstTimestamp).toBeTruthy();
    }
    const wide = k(s, ['get', 'events', '-o', 'wide']);
    expect(wide.split('\n')[0]).toMatch(
      /^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+SUBOBJECT\s+SOURCE\s+MESSAGE\s+FIRST SEEN\s+COUNT\s+NAME$/,
    );
    expect(k(s, ['get', 'events', '-A']).split('\n')[0]).toMatch(
      /^NAMESPACE\s+LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/,
    );
  });

  it('describe node|pod|deployment has an Events section with the right events', async () => {
    const node = k(s, ['describe', 'node', a.node]);
    const nodeEvents = node.slice(node.indexOf('\nEvents:'));
    expect(nodeEvents).toMatch(/Type\s+Reason\s+Age\s+From\s+Message/);
    expect(nodeEvents).toMatch(
      new RegExp(
        `Normal\\s+NodeNotSchedulable\\s+\\S+\\s+node-controller\\s+Node ${a.node} status is now: NodeNotSchedulable`,
      ),
    );
    expect(nodeEvents).toMatch(/NodeSchedulable/);

    const p = await eventually(
      () => {
        const r = webPods().find(ready);
        expect(r).toBeDefined();
        return r;
      },
      20_000,
      250,
    );
    const pod = p.metadata.name;
    const podOut = k(s, ['describe', 'pod', pod]);
    const podEvents = podOut.slice(podOut.indexOf('\nEvents:'));
    expect(podEvents).toMatch(
      new RegExp(
        `Normal\\s+Scheduled\\s+\\S+\\s+default-scheduler\\s+Successfully assigned default/${pod} to ${p.spec.nodeName}`,
      ),
    );
    expect(podEvents).toMatch(/Normal\s+Started\s+\S+\s+kubelet\s+Started container c/);

    const dep = k(s, ['describe', 'deployment', 'web']);
    const depEvents = dep.slice(dep.indexOf('\nEvents:'));
    expect(depEvents).toMatch(
      /Normal\s+ScalingReplicaSet\s+\S+\s+deployment-controller\s+Scaled up replica set web-\S+ from 0 to 2/,
    );
  });
});
