// Deployments end to end: a real server and agent, real Docker, the real kubectl. Apply,
// rollout status, scale, set image (a rolling update), rollout history / undo (back to the
// first ReplicaSet as revision 3), rollout restart, pause / resume, and the get/describe
// output users read.
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
// The offline image script builds :latest and :1.36 from the same rootfs. An explicit
// IfNotPresent survives `kubectl set image`, so switching tags never pulls.
const V2 = BUSYBOX.replace(/:[^:/]+$/, ':latest');

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: c
        image: ${BUSYBOX}
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
`;

describe.skipIf(!enabled)('Deployments on real Docker with the real kubectl', () => {
  let s: ServerProc;
  let a: AgentProc;
  const timings: Record<string, number> = {};
  const json = (args: string[]) => JSON.parse(k(s, [...args, '-o', 'json']));
  const replicaSets = () =>
    (json(['get', 'rs', '-l', 'app=web']).items as any[]).sort(
      (x, y) =>
        Number(x.metadata.annotations['deployment.kubernetes.io/revision']) -
        Number(y.metadata.annotations['deployment.kubernetes.io/revision']),
    );
  const runningPods = () =>
    (json(['get', 'pods', '-l', 'app=web']).items as any[]).filter(
      (p) => !p.metadata.deletionTimestamp && p.status.phase === 'Running',
    );
  const rolloutStatus = (what: string) => {
    const t0 = Date.now();
    const r = kubectl(s, ['rollout', 'status', 'deployment/web', '--timeout=60s'], { timeoutMs: 70_000 });
    timings[what] = Date.now() - t0;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('deployment "web" successfully rolled out');
  };
  const revisions = () =>
    k(s, ['rollout', 'history', 'deployment/web'])
      .trim()
      .split('\n')
      .slice(2)
      .map((l) => l.trim().split(/\s+/)[0]);

  beforeAll(async () => {
    s = await startServer();
    a = startAgent(s);
    await eventually(() => expect(k(s, ['get', 'node', a.node])).toMatch(/\sReady\s/), 20_000, 200);
  });
  afterAll(async () => {
    if (s && a) {
      kubectl(s, ['delete', 'deployment', 'web', '--ignore-not-found', '--wait=false']);
      kubectl(s, ['delete', 'rs', '-l', 'app=web', '--ignore-not-found', '--wait=false']);
      kubectl(s, ['delete', 'pods', '-l', 'app=web', '--grace-period=1', '--ignore-not-found', '--wait=false']);
    }
    await a?.kill('SIGKILL');
    if (a) removeNodeContainers(a.node);
    await s?.cleanup();
    console.log('deployment e2e timings (ms):', JSON.stringify(timings));
  });

  it('apply: 3 pods Running from web-<hash>, rollout status succeeds, get/describe read right', async () => {
    const t0 = Date.now();
    expect(k(s, ['apply', '-f', '-'], DEPLOYMENT)).toContain('deployment.apps/web created');
    rolloutStatus('initial');
    timings['apply→available'] = Date.now() - t0;
    const [rs] = replicaSets();
    const hash = rs.metadata.labels['pod-template-hash'];
    expect(rs.metadata.name).toBe(`web-${hash}`);
    expect(rs.spec.selector.matchLabels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(rs.metadata.ownerReferences[0]).toMatchObject({ kind: 'Deployment', name: 'web', controller: true });
    const pods = runningPods();
    expect(pods).toHaveLength(3);
    for (const p of pods) {
      expect(p.metadata.name).toMatch(new RegExp(`^web-${hash}-[a-z0-9]{5}$`));
      expect(p.metadata.labels['pod-template-hash']).toBe(hash);
      expect(p.spec.nodeName).toBe(a.node);
    }
    expect(k(s, ['get', 'rs'])).toMatch(
      new RegExp(`^NAME\\s+DESIRED\\s+CURRENT\\s+READY\\s+AGE\\n(web-${hash})\\s+3\\s+3\\s+3\\s+\\d+s\\n$`),
    );
    expect(k(s, ['get', 'deploy', 'web'])).toMatch(
      /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nweb\s+3\/3\s+3\s+3\s+\d+s\n$/,
    );
    const d = json(['get', 'deploy', 'web']);
    expect(d.metadata.annotations['deployment.kubernetes.io/revision']).toBe('1');
    expect(d.status).toMatchObject({
      observedGeneration: 1,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
    });
    const conds = Object.fromEntries(d.status.conditions.map((c: any) => [c.type, c.reason]));
    expect(conds).toEqual({ Available: 'MinimumReplicasAvailable', Progressing: 'NewReplicaSetAvailable' });
    const describe = k(s, ['describe', 'deploy', 'web']);
    expect(describe).toMatch(new RegExp(`NewReplicaSet:\\s+web-${hash} \\(3/3 replicas created\\)`));
    expect(describe).toContain(`Scaled up replica set web-${hash} from 0 to 3`);
    await eventually(
      () =>
        expect(k(s, ['get', 'events', '--field-selector', `involvedObject.name=web-${hash}`])).toMatch(
          /SuccessfulCreate\s+replicaset\/web-\w+\s+Created pod: web-\w+-\w{5}/,
        ),
      10_000,
      250,
    );
  });

  it('kubectl scale --replicas=5 → 5 pods', () => {
    expect(k(s, ['scale', 'deployment/web', '--replicas=5'])).toContain('deployment.apps/web scaled');
    rolloutStatus('scale 3→5');
    expect(runningPods()).toHaveLength(5);
    expect(replicaSets()).toHaveLength(1);
  });

  it('kubectl set image rolls out a second ReplicaSet; history shows 2 revisions', () => {
    const [first] = replicaSets();
    k(s, ['set', 'image', 'deployment/web', `c=${V2}`]);
    rolloutStatus('set image');
    const rss = replicaSets();
    expect(rss).toHaveLength(2);
    expect(rss[0].metadata.name).toBe(first.metadata.name);
    expect(rss[0].spec.replicas).toBe(0);
    expect(rss[1].spec.replicas).toBe(5);
    expect(rss[1].spec.template.spec.containers[0].image).toBe(V2);
    expect(revisions()).toEqual(['1', '2']);
    const images = new Set(runningPods().map((p) => p.spec.containers[0].image));
    expect(images).toEqual(new Set([V2]));
    const table = k(s, ['get', 'rs']);
    expect(table).toMatch(new RegExp(`${first.metadata.name}\\s+0\\s+0\\s+0\\s`));
    expect(table).toMatch(new RegExp(`${rss[1].metadata.name}\\s+5\\s+5\\s+5\\s`));
  });

  it('kubectl rollout undo returns to the first ReplicaSet (same name, revision 3), no new RS', () => {
    const [first, second] = replicaSets();
    expect(k(s, ['rollout', 'undo', 'deployment/web'])).toContain('deployment.apps/web rolled back');
    rolloutStatus('undo');
    const rss = replicaSets();
    expect(rss.map((r) => r.metadata.name)).toEqual([second.metadata.name, first.metadata.name]);
    expect(rss[1].metadata.uid).toBe(first.metadata.uid);
    expect(rss[1].metadata.annotations['deployment.kubernetes.io/revision']).toBe('3');
    expect(rss[1].spec.replicas).toBe(5);
    expect(revisions()).toEqual(['2', '3']);
    expect(json(['get', 'deploy', 'web']).metadata.annotations['deployment.kubernetes.io/revision']).toBe('3');
    expect(new Set(runningPods().map((p) => p.spec.containers[0].image))).toEqual(new Set([BUSYBOX]));
    // undoing to the template in use is a no-op
    expect(k(s, ['rollout', 'undo', 'deployment/web', '--to-revision=3'])).toContain(
      'skipped rollback (current template already matches revision 3)',
    );
  });

  it('kubectl rollout restart creates a new ReplicaSet', () => {
    const before = replicaSets().map((r) => r.metadata.name);
    expect(k(s, ['rollout', 'restart', 'deployment/web'])).toContain('deployment.apps/web restarted');
    rolloutStatus('restart');
    const rss = replicaSets();
    expect(rss).toHaveLength(3);
    const newest = rss[2];
    expect(before).not.toContain(newest.metadata.name);
    expect(newest.spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt']).toBeTruthy();
    expect(newest.metadata.annotations['deployment.kubernetes.io/revision']).toBe('4');
    expect(
      runningPods().every(
        (p) => p.metadata.labels['pod-template-hash'] === newest.metadata.labels['pod-template-hash'],
      ),
    ).toBe(true);
  });

  it('pause holds a change back (DeploymentPaused); resume rolls it out', async () => {
    expect(k(s, ['rollout', 'pause', 'deployment/web'])).toContain('deployment.apps/web paused');
    await eventually(
      () =>
        expect(json(['get', 'deploy', 'web']).status.conditions.find((c: any) => c.type === 'Progressing').reason).toBe(
          'DeploymentPaused',
        ),
      10_000,
      200,
    );
    k(s, ['set', 'image', 'deployment/web', `c=${V2}`]);
    await eventually(
      () => {
        const d = json(['get', 'deploy', 'web']);
        expect(d.status.observedGeneration).toBe(d.metadata.generation);
      },
      10_000,
      200,
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(replicaSets()).toHaveLength(3);
    expect(kubectl(s, ['rollout', 'undo', 'deployment/web']).stderr).toContain(
      'you cannot rollback a paused deployment',
    );
    expect(k(s, ['rollout', 'resume', 'deployment/web'])).toContain('deployment.apps/web resumed');
    rolloutStatus('resume');
    const rss = replicaSets();
    expect(rss).toHaveLength(4);
    expect(rss[3].spec.template.spec.containers[0].image).toBe(V2);
    const conds = json(['get', 'deploy', 'web']).status.conditions;
    expect(conds.find((c: any) => c.type === 'Progressing').reason).toBe('NewReplicaSetAvailable');
    expect(revisions()).toEqual(['2', '3', '4', '5']);
  });

  it('deleting the Deployment and its ReplicaSets by hand leaves no pods', async () => {
    k(s, ['delete', 'deployment', 'web', '--wait=false']);
    kubectl(s, ['delete', 'rs', '-l', 'app=web', '--ignore-not-found', '--wait=false']);
    kubectl(s, ['delete', 'pods', '-l', 'app=web', '--grace-period=1', '--ignore-not-found', '--wait=false']);
    await eventually(() => expect(json(['get', 'pods', '-l', 'app=web']).items).toEqual([]), 30_000, 500);
  });
});
