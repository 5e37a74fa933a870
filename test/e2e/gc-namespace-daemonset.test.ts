// Garbage collection, namespace deletion and DaemonSets end to end: a real server, two
// (then three) real agents sharing the Docker engine under distinct node names, the real
// kubectl. DaemonSet pods follow nodes joining and leaving and roll; `kubectl delete`
// cascades through ownerReferences (background, orphan, foreground) down to the
// containers; `kubectl delete namespace` empties the namespace, then removes it.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUSYBOX,
  ROOT,
  dockerAvailable,
  eventually,
  k,
  kubectl,
  kubectlAvailable,
  kubectlBg,
  removeNodeContainers,
  startAgent,
  startServer,
  type AgentProc,
  type ServerProc,
} from './harness.js';

const enabled = dockerAvailable() && kubectlAvailable();

/** a container that exits at once on TERM */
const QUICK = ['sh', '-c', "trap 'exit 0' TERM; while :; do sleep 1; done"];
/** PID 1 without a TERM handler: killed only when the grace period ends (pods stay Terminating) */
const SLOW = ['sleep', '3600'];

/** whether another engineer's controller is still the scaffold placeholder in the built server */
function placeholder(file: string): boolean {
  return readFileSync(join(ROOT, 'dist', 'controlplane', 'controllers', `${file}.js`), 'utf8').includes('PLACEHOLDER');
}

function containersOf(podUid: string): string[] {
  const out = spawnSync('docker', ['ps', '-aq', '--filter', `label=io.kubernetes.pod.uid=${podUid}`], {
    encoding: 'utf8',
  }).stdout.trim();
  return out ? out.split('\n') : [];
}

function podSpec(command: string[], grace = 2): Record<string, unknown> {
  return { terminationGracePeriodSeconds: grace, containers: [{ name: 'main', image: BUSYBOX, command }] };
}

describe.skipIf(!enabled)('garbage collector, namespace and DaemonSet controllers on real Docker', () => {
  let s: ServerProc;
  const agents: AgentProc[] = [];
  const json = (args: string[]) => JSON.parse(k(s, [...args, '-o', 'json']));
  const apply = (obj: unknown) => k(s, ['apply', '-f', '-'], JSON.stringify(obj));
  const podsWith = (selector: string, ns = 'default'): any[] => json(['get', 'pods', '-n', ns, '-l', selector]).items;
  const ownedBy = (items: any[], uid: string) =>
    items.filter((o) => (o.metadata.ownerReferences ?? []).some((r: { uid: string }) => r.uid === uid));
  const waitNodeReady = (node: string) =>
    eventually(() => expect(k(s, ['get', 'node', node])).toMatch(/\sReady\s/), 20_000, 200);
  const running = (p: any) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp;

  beforeAll(async () => {
    s = await startServer();
    agents.push(startAgent(s), startAgent(s));
    for (const a of agents) await waitNodeReady(a.node);
  });
  afterAll(async () => {
    for (const a of agents) await a.kill('SIGKILL');
    for (const a of agents) removeNodeContainers(a.node);
    await s?.cleanup();
  });

  /** a ReplicaSet with `replicas` running pods, made by the controllers when they exist, by hand otherwise */
  async function replicaSetWithPods(
    name: string,
    replicas: number,
    command: string[],
    owner?: any,
  ): Promise<{ rs: any; pods: any[] }> {
    let rs: any;
    if (owner && !placeholder('deployment-controller')) {
      rs = await eventually(
        () => {
          const found = ownedBy(json(['get', 'rs', '-l', `app=${owner.metadata.name}`]).items, owner.metadata.uid);
          expect(found).toHaveLength(1);
          return found[0];
        },
        15_000,
        200,
      );
    } else {
      apply({
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name,
          labels: { app: name },
          ...(owner
            ? {
                ownerReferences: [
                  {
                    apiVersion: 'apps/v1',
                    kind: 'Deployment',
                    name: owner.metadata.name,
                    uid: owner.metadata.uid,
                    controller: true,
                    blockOwnerDeletion: true,
                  },
                ],
              }
            : {}),
        },
        spec: {
          replicas,
          selector: { matchLabels: { app: name } },
          template: { metadata: { labels: { app: name } }, spec: podSpec(command) },
        },
      });
      rs = json(['get', 'rs', name]);
    }
    const selector = Object.entries(rs.spec.selector.matchLabels)
      .map(([kk, v]) => `${kk}=${v}`)
      .join(',');
    if (placeholder('replica-set-controller')) {
      for (let i = 0; i < replicas; i++) {
        apply({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            name: `${rs.metadata.name}-${i}`,
            labels: rs.spec.template.metadata.labels,
            ownerReferences: [
              {
                apiVersion: 'apps/v1',
                kind: 'ReplicaSet',
                name: rs.metadata.name,
                uid: rs.metadata.uid,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          },
          spec: rs.spec.template.spec,
        });
      }
    }
    const pods = await eventually(
      () => {
        const ps = ownedBy(podsWith(selector), rs.metadata.uid);
        expect(ps.filter(running)).toHaveLength(replicas);
        return ps;
      },
      30_000,
      250,
    );
    for (const p of pods) expect(containersOf(p.metadata.uid).length).toBeGreaterThan(0);
    return { rs, pods };
  }

  describe('DaemonSet', () => {
    const dsRow = () => k(s, ['get', 'ds', 'node-agent', '--no-headers']).trim().split(/\s+/).slice(1, 6).map(Number);

    it('runs one Running pod per node, pinned by node affinity, and kubectl get ds shows the numbers', async () => {
      apply({
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        metadata: { name: 'node-agent' },
        spec: {
          selector: { matchLabels: { app: 'node-agent' } },
          template: { metadata: { labels: { app: 'node-agent' } }, spec: podSpec(QUICK, 1) },
        },
      });
      await eventually(
        () => {
          const ps = podsWith('app=node-agent');
          expect(
            ps
              .filter(running)
              .map((p) => p.spec.nodeName)
              .sort(),
          ).toEqual(agents.map((a) => a.node).sort());
          expect(dsRow()).toEqual([2, 2, 2, 2, 2]); // DESIRED CURRENT READY UP-TO-DATE AVAILABLE
        },
        30_000,
        250,
      );
      const ds = json(['get', 'ds', 'node-agent']);
      expect(ds.status).toMatchObject({
        desiredNumberScheduled: 2,
        currentNumberScheduled: 2,
        numberReady: 2,
        numberAvailable: 2,
        updatedNumberScheduled: 2,
        numberMisscheduled: 0,
        observedGeneration: 1,
      });
      const p = podsWith('app=node-agent')[0];
      expect(p.metadata.labels['controller-revision-hash']).toMatch(/^[a-z0-9]+$/);
      expect(p.metadata.ownerReferences).toEqual([
        {
          apiVersion: 'apps/v1',
          kind: 'DaemonSet',
          name: 'node-agent',
          uid: ds.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      expect(p.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toEqual([
        { matchFields: [{ key: 'metadata.name', operator: 'In', values: [p.spec.nodeName] }] },
      ]);
      expect(p.spec.tolerations).toEqual(
        expect.arrayContaining([
          { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
          { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
          { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
          { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
          { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
          { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
        ]),
      );
      const events = json(['get', 'events']).items.filter((e: any) => e.involvedObject.name === 'node-agent');
      expect(events.filter((e: any) => e.reason === 'SuccessfulCreate').map((e: any) => e.message)).toEqual(
        expect.arrayContaining([expect.stringMatching(/^Created pod: node-agent-[a-z0-9]{5}$/)]),
      );
    });

    it('a new node gets a daemon pod; a node that leaves loses it', async () => {
      const third = startAgent(s);
      agents.push(third);
      await waitNodeReady(third.node);
      await eventually(
        () => {
          expect(
            podsWith('app=node-agent')
              .filter(running)
              .map((p) => p.spec.nodeName),
          ).toContain(third.node);
          expect(dsRow()).toEqual([3, 3, 3, 3, 3]);
        },
        30_000,
        250,
      );
      const gonePod = podsWith('app=node-agent').find((p) => p.spec.nodeName === third.node);

      // the agent stops and its Node object is deleted: the pod goes with it
      await third.kill('SIGKILL');
      removeNodeContainers(third.node);
      k(s, ['delete', 'node', third.node]);
      await eventually(
        () => {
          const ps = podsWith('app=node-agent');
          expect(ps.map((p) => p.metadata.uid)).not.toContain(gonePod.metadata.uid);
          expect(ps.map((p) => p.spec.nodeName).sort()).toEqual(
            agents
              .slice(0, 2)
              .map((a) => a.node)
              .sort(),
          );
          expect(dsRow().slice(0, 2)).toEqual([2, 2]);
        },
        20_000,
        250,
      );
    });

    it('rolls a template change out node by node (RollingUpdate, maxUnavailable 1)', async () => {
      const before = podsWith('app=node-agent');
      const oldHash = before[0].metadata.labels['controller-revision-hash'];
      k(s, [
        'patch',
        'ds',
        'node-agent',
        '--type=merge',
        '-p',
        JSON.stringify({ spec: { template: { metadata: { annotations: { rev: '2' } } } } }),
      ]);
      const r = kubectl(s, ['rollout', 'status', 'ds/node-agent', '--timeout=60s'], { timeoutMs: 70_000 });
      expect(r.stdout).toContain('daemon set "node-agent" successfully rolled out');
      await eventually(
        () => {
          const after = podsWith('app=node-agent');
          expect(after.filter(running)).toHaveLength(2);
          const hashes = [...new Set(after.map((p) => p.metadata.labels['controller-revision-hash']))];
          expect(hashes).toHaveLength(1);
          expect(hashes[0]).not.toBe(oldHash);
          expect(after.every((p) => p.metadata.annotations?.rev === '2')).toBe(true);
          expect(dsRow()).toEqual([2, 2, 2, 2, 2]);
        },
        20_000,
        250,
      );
      for (const p of before) expect(containersOf(p.metadata.uid)).toEqual([]);
      const reasons = json(['get', 'events'])
        .items.filter((e: any) => e.involvedObject.name === 'node-agent')
        .map((e: any) => e.reason);
      expect(reasons).toContain('SuccessfulDelete');
    });

    it('kubectl delete ds removes its pods and their containers', async () => {
      const pods = podsWith('app=node-agent');
      k(s, ['delete', 'ds', 'node-agent']);
      await eventually(
        () => {
          expect(podsWith('app=node-agent')).toEqual([]);
          for (const p of pods) expect(containersOf(p.metadata.uid)).toEqual([]);
        },
        20_000,
        250,
      );
    });
  });

  describe('garbage collection', () => {
    it('kubectl delete deployment removes its ReplicaSets, pods and containers', async () => {
      apply({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', labels: { app: 'web' } },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'web' } },
          template: { metadata: { labels: { app: 'web' } }, spec: podSpec(QUICK) },
        },
      });
      const d = json(['get', 'deployment', 'web']);
      const { rs, pods } = await replicaSetWithPods('web-manual', 2, QUICK, d);
      k(s, ['delete', 'deployment', 'web']);
      await eventually(
        () => {
          expect(kubectl(s, ['get', 'rs', rs.metadata.name]).stderr).toContain('not found');
          expect(ownedBy(json(['get', 'pods']).items, rs.metadata.uid)).toEqual([]);
          for (const p of pods) expect(containersOf(p.metadata.uid)).toEqual([]);
        },
        30_000,
        250,
      );
    });

    it('--cascade=orphan keeps the pods and removes the owner from their ownerReferences', async () => {
      const { pods } = await replicaSetWithPods('orph', 1, QUICK);
      k(s, ['delete', 'rs', 'orph', '--cascade=orphan']);
      expect(kubectl(s, ['get', 'rs', 'orph']).stderr).toContain('not found');
      await eventually(
        () => {
          const p = json(['get', 'pod', pods[0].metadata.name]);
          expect(p.metadata.ownerReferences).toBeUndefined();
          expect(running(p)).toBe(true);
        },
        10_000,
        200,
      );
      await new Promise((r) => setTimeout(r, 1000));
      const p = json(['get', 'pod', pods[0].metadata.name]); // still there: nothing collects an orphan
      expect(p.metadata.uid).toBe(pods[0].metadata.uid);
      expect(containersOf(p.metadata.uid).length).toBeGreaterThan(0);
      k(s, ['delete', 'pod', p.metadata.name, '--grace-period=1']);
    });

    it('--cascade=foreground deletes the dependents first: the ReplicaSet waits, Terminating pods block it', async () => {
      const { rs, pods } = await replicaSetWithPods('fg', 2, SLOW);
      // kubectl waits until the ReplicaSet is gone; meanwhile it is visibly waiting for its pods
      const del = kubectlBg(s, ['delete', 'rs', 'fg', '--cascade=foreground', '--timeout=40s']);
      const exited = new Promise<number | null>((r) => del.proc.on('exit', r));
      const during = await eventually(
        () => {
          const cur = json(['get', 'rs', 'fg']);
          expect(cur.metadata.finalizers).toEqual(['foregroundDeletion']);
          expect(cur.metadata.deletionTimestamp).toBeDefined();
          const ps = ownedBy(json(['get', 'pods']).items, rs.metadata.uid);
          expect(ps.length).toBeGreaterThan(0);
          expect(ps.every((p) => p.metadata.deletionTimestamp)).toBe(true);
          return cur;
        },
        10_000,
        100,
      );
      expect(during.metadata.uid).toBe(rs.metadata.uid);
      expect(await exited).toBe(0);
      expect(del.out()).toContain('replicaset.apps "fg" deleted');
      // by the time the ReplicaSet is gone, every pod and container is gone
      expect(ownedBy(json(['get', 'pods']).items, rs.metadata.uid)).toEqual([]);
      for (const p of pods) expect(containersOf(p.metadata.uid)).toEqual([]);
    });
  });

  describe('namespace deletion', () => {
    it('kubectl delete namespace: Terminating, contents deleted (containers too), then the namespace is gone', async () => {
      apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
      apply({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'settings', namespace: 'team' },
        data: { a: 'b' },
      });
      apply({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'token', namespace: 'team' },
        stringData: { t: 'x' },
      });
      apply({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'worker', namespace: 'team', labels: { app: 'worker' } },
        spec: podSpec(SLOW),
      });
      const pod = await eventually(
        () => {
          const p = json(['get', 'pod', 'worker', '-n', 'team']);
          expect(running(p)).toBe(true);
          return p;
        },
        30_000,
        250,
      );
      expect(containersOf(pod.metadata.uid).length).toBeGreaterThan(0);

      // kubectl delete waits for the namespace to disappear; meanwhile it is Terminating
      const del = kubectlBg(s, ['delete', 'namespace', 'team', '--timeout=60s']);
      const exited = new Promise<number | null>((r) => del.proc.on('exit', r));
      await eventually(
        () => expect(k(s, ['get', 'namespace', 'team', '--no-headers'])).toMatch(/^team\s+Terminating\s/),
        10_000,
        100,
      );
      const refused = kubectl(s, ['apply', '-f', '-'], {
        input: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'late', namespace: 'team' } }),
      });
      expect(refused.stderr).toContain('because it is being terminated');
      expect(await exited).toBe(0);
      expect(del.out()).toContain('namespace "team" deleted');
      expect(kubectl(s, ['get', 'namespace', 'team']).stderr).toContain('not found');
      expect(containersOf(pod.metadata.uid)).toEqual([]);
      for (const kind of ['pods', 'configmaps', 'secrets']) expect(json(['get', kind, '-n', 'team']).items).toEqual([]);
    });
  });
});
