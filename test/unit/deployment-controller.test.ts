// The Deployment and ReplicaSet controllers together over the real API path (ApiStorage on
// in-memory SQLite), with a fake kubelet that makes pods Running and Ready. Covers rollouts,
// scaling, undo, pause/resume, Recreate, adoption, history cleanup and the deadline.
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiStorage, rfc3339 } from '../../controlplane/api/storage.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { controllerContext } from '../../controlplane/controllers/context.js';
import * as deploymentController from '../../controlplane/controllers/deployment-controller.js';
import * as replicaSetController from '../../controlplane/controllers/replica-set-controller.js';
import type { Controller } from '../../controlplane/controllers/types.js';
import { findResource } from '../../controlplane/resources/index.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import type { KubeObject } from '../../proto/meta.js';

const podDef = findResource('', 'v1', 'pods')!;
const rsDef = findResource('apps', 'v1', 'replicasets')!;
const dDef = findResource('apps', 'v1', 'deployments')!;
const eventDef = findResource('', 'v1', 'events')!;

let store: SqliteStore;
let storage: ApiStorage;
let controllers: Controller[] = [];
let stopInformers: () => void = () => {};
let kubelet: { stop(): void; ready: (p: KubeObject) => boolean; creates: Map<string, number> } | undefined;

async function startAll(): Promise<void> {
  const ctx = controllerContext(storage, pino({ level: 'silent' }));
  controllers = [replicaSetController.create(ctx), deploymentController.create(ctx)];
  for (const c of controllers) await c.start();
  await ctx.informers.startAll();
  stopInformers = () => ctx.informers.stopAll();
}

/** Marks pods Running and (if `ready` says so) Ready; counts creations per name to catch doubles. */
function startKubelet(): NonNullable<typeof kubelet> {
  let stopped = false;
  const k = {
    stop: () => {
      stopped = true;
    },
    ready: (_p: KubeObject) => true,
    creates: new Map<string, number>(),
  };
  void (async () => {
    while (!stopped) {
      try {
        const pods = (await storage.list(podDef, 'default')).items;
        for (const p of pods) {
          if (p.metadata.deletionTimestamp) continue;
          const want = k.ready(p) ? 'True' : 'False';
          const cur = (p.status?.conditions ?? []).find((c: any) => c.type === 'Ready')?.status;
          if (p.status?.phase === 'Running' && cur === want) continue;
          await storage
            .guaranteedUpdate(
              podDef,
              'default',
              p.metadata.name!,
              {},
              (o) => {
                o.status = {
                  ...o.status,
                  phase: 'Running',
                  conditions: [
                    { type: 'Ready', status: want, lastProbeTime: null, lastTransitionTime: rfc3339(new Date()) },
                  ],
                };
                return o;
              },
              'status',
            )
            .catch(() => undefined);
        }
      } catch {
        /* store closed */
      }
      await new Promise((r) => setTimeout(r, 15));
    }
  })();
  return k;
}

beforeEach(async () => {
  store = new SqliteStore(':memory:');
  storage = new ApiStorage(store);
  await seedNamespaces(storage);
  await startAll();
  kubelet = startKubelet();
});

afterEach(async () => {
  kubelet?.stop();
  for (const c of controllers) c.stop();
  stopInformers();
  await new Promise((r) => setTimeout(r, 30));
  await store.close();
});

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 8000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function deployment(name: string, replicas: number, image: string, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image }] } },
      ...extra,
    },
  };
}

const getD = (name: string) => storage.get(dDef, 'default', name);
const listRS = async () => (await storage.list(rsDef, 'default')).items;
const livePods = async () => (await storage.list(podDef, 'default')).items.filter((p) => !p.metadata.deletionTimestamp);
const cond = (d: KubeObject, type: string) => (d.status?.conditions ?? []).find((c: any) => c.type === type);

/** kubectl rollout status's notion of done */
async function rolledOut(name: string, ms = 8000): Promise<KubeObject> {
  return until(
    `${name} rolled out`,
    async () => {
      const d = await getD(name);
      const st = d.status ?? {};
      const r = d.spec.replicas;
      return (
        d.metadata.generation! <= (st.observedGeneration ?? 0) &&
        (st.updatedReplicas ?? 0) === r &&
        (st.replicas ?? 0) === r &&
        (st.availableReplicas ?? 0) === r &&
        cond(d, 'Progressing')?.reason === 'NewReplicaSetAvailable' &&
        d
      );
    },
    ms,
  );
}

async function patchD(name: string, f: (d: KubeObject) => void): Promise<KubeObject> {
  return storage.guaranteedUpdate(dDef, 'default', name, {}, (cur) => {
    f(cur);
    return cur;
  });
}

async function events(name: string): Promise<string[]> {
  return (await storage.list(eventDef, 'default')).items
    .filter((e) => e.involvedObject.name === name)
    .map((e) => `${e.reason}: ${e.message}`);
}

describe('Deployment + ReplicaSet controllers', () => {
  it('creates <name>-<hash> with the pod-template-hash label, pods owned by it, status and conditions', async () => {
    await storage.create(dDef, 'default', deployment('web', 3, 'busybox:1'));
    const d = await rolledOut('web');
    const rss = await listRS();
    expect(rss).toHaveLength(1);
    const rs = rss[0]!;
    const hash = rs.metadata.labels!['pod-template-hash']!;
    expect(rs.metadata.name).toBe(`web-${hash}`);
    expect(rs.spec.selector.matchLabels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(rs.spec.template.metadata.labels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(rs.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: 'web',
        uid: d.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(rs.metadata.annotations).toMatchObject({
      'deployment.kubernetes.io/revision': '1',
      'deployment.kubernetes.io/desired-replicas': '3',
      'deployment.kubernetes.io/max-replicas': '4',
    });
    expect(d.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('1');
    expect(d.status).toMatchObject({
      observedGeneration: 1,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
    });
    expect(d.status.unavailableReplicas).toBeUndefined();
    expect(cond(d, 'Available')).toMatchObject({
      status: 'True',
      reason: 'MinimumReplicasAvailable',
      message: 'Deployment has minimum availability.',
    });
    expect(cond(d, 'Progressing')).toMatchObject({
      status: 'True',
      reason: 'NewReplicaSetAvailable',
      message: `ReplicaSet "web-${hash}" has successfully progressed.`,
    });
    const pods = await livePods();
    expect(pods).toHaveLength(3);
    for (const p of pods) {
      expect(p.metadata.name).toMatch(new RegExp(`^web-${hash}-[a-z0-9]{5}$`));
      expect(p.metadata.generateName).toBe(`web-${hash}-`);
      expect(p.metadata.labels).toEqual({ app: 'web', 'pod-template-hash': hash });
      expect(p.metadata.ownerReferences).toEqual([
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: rs.metadata.name,
          uid: rs.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
    await until('rs status', async () => {
      const r = await storage.get(rsDef, 'default', rs.metadata.name!);
      return (
        r.status.replicas === 3 &&
        r.status.readyReplicas === 3 &&
        r.status.availableReplicas === 3 &&
        r.status.fullyLabeledReplicas === 3 &&
        r.status.observedGeneration === 1
      );
    });
    expect(await events('web')).toContain(`ScalingReplicaSet: Scaled up replica set web-${hash} from 0 to 3`);
    await until(
      'create events',
      async () =>
        (await events(rs.metadata.name!)).filter((e) => e.startsWith('SuccessfulCreate: Created pod: ')).length === 3,
    );
  });

  it('rolls out a new template within maxSurge/maxUnavailable and undoes to the old RS (revision 3)', async () => {
    await storage.create(
      dDef,
      'default',
      deployment('web', 4, 'busybox:1', {
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } },
      }),
    );
    await rolledOut('web');
    const [first] = await listRS();
    // watch the pod count never exceed replicas + surge, nor availability drop below replicas - unavailable
    let maxPods = 0;
    let minReady = Infinity;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const pods = await livePods().catch(() => []);
        maxPods = Math.max(maxPods, pods.length);
        const ready = pods.filter((p) =>
          (p.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True'),
        ).length;
        minReady = Math.min(minReady, ready);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await patchD('web', (d) => {
      d.spec.template.spec.containers[0].image = 'busybox:2';
    });
    const d2 = await rolledOut('web');
    watching = false;
    await watcher;
    expect(maxPods).toBeLessThanOrEqual(5);
    expect(minReady).toBeGreaterThanOrEqual(3);
    const rss = await listRS();
    expect(rss).toHaveLength(2);
    const second = rss.find((r) => r.metadata.uid !== first!.metadata.uid)!;
    expect(second.metadata.annotations!['deployment.kubernetes.io/revision']).toBe('2');
    expect(d2.metadata.annotations!['deployment.kubernetes.io/revision']).toBe('2');
    expect((await storage.get(rsDef, 'default', first!.metadata.name!)).spec.replicas).toBe(0);

    // kubectl rollout undo: the old RS's template minus the hash label, as a JSON patch
    const tpl = structuredClone(first!.spec.template);
    delete tpl.metadata.labels['pod-template-hash'];
    await storage.patch(dDef, 'default', 'web', 'json', [{ op: 'replace', path: '/spec/template', value: tpl }]);
    const d3 = await rolledOut('web');
    const after = await listRS();
    expect(after).toHaveLength(2);
    const back = await storage.get(rsDef, 'default', first!.metadata.name!);
    expect(back.metadata.uid).toBe(first!.metadata.uid);
    expect(back.spec.replicas).toBe(4);
    expect(back.metadata.annotations!['deployment.kubernetes.io/revision']).toBe('3');
    expect(back.metadata.annotations!['deployment.kubernetes.io/revision-history']).toBe('1');
    expect(d3.metadata.annotations!['deployment.kubernetes.io/revision']).toBe('3');
  });

  it('scales an idle Deployment through its single ReplicaSet', async () => {
    await storage.create(dDef, 'default', deployment('web', 2, 'busybox:1'));
    await rolledOut('web');
    await patchD('web', (d) => {
      d.spec.replicas = 5;
    });
    await rolledOut('web');
    const [rs] = await listRS();
    expect(rs!.spec.replicas).toBe(5);
    expect(rs!.metadata.annotations!['deployment.kubernetes.io/desired-replicas']).toBe('5');
    expect(await livePods()).toHaveLength(5);
    await patchD('web', (d) => {
      d.spec.replicas = 1;
    });
    await rolledOut('web');
    await until('1 pod', async () => (await livePods()).length === 1);
    expect(await events('web')).toEqual(
      expect.arrayContaining([
        `ScalingReplicaSet: Scaled up replica set ${rs!.metadata.name} from 2 to 5`,
        `ScalingReplicaSet: Scaled down replica set ${rs!.metadata.name} from 5 to 1`,
      ]),
    );
    expect(
      (await events(rs!.metadata.name!)).filter((e) => e.startsWith('SuccessfulDelete: Deleted pod: ')),
    ).toHaveLength(4);
  });

  it('never creates more pods than replicas while the pod cache lags (expectations)', async () => {
    // a second controller set whose pod watch delivers 150 ms late
    for (const c of controllers) c.stop();
    stopInformers();
    const lagging = Object.create(storage) as ApiStorage;
    lagging.watch = (async (def, ns, q, sink) =>
      storage.watch(
        def,
        ns,
        q,
        def.kind === 'Pod'
          ? (ev) => {
              setTimeout(() => sink(ev), 150);
            }
          : sink,
      )) as ApiStorage['watch'];
    const ctx = controllerContext(lagging, pino({ level: 'silent' }));
    controllers = [replicaSetController.create(ctx)];
    await controllers[0]!.start();
    await ctx.informers.startAll();
    stopInformers = () => ctx.informers.stopAll();

    let created = 0;
    const origCreate = storage.create.bind(storage);
    storage.create = (async (def, ns, body, opts) => {
      const o = await origCreate(def, ns, body, opts);
      if (def.kind === 'Pod') created++;
      return o;
    }) as typeof storage.create;
    await storage.create(rsDef, 'default', {
      metadata: { name: 'plain' },
      spec: {
        replicas: 6,
        selector: { matchLabels: { app: 'plain' } },
        template: { metadata: { labels: { app: 'plain' } }, spec: { containers: [{ name: 'c', image: 'busybox:1' }] } },
      },
    });
    await until('6 ready', async () => (await storage.get(rsDef, 'default', 'plain')).status?.readyReplicas === 6);
    await new Promise((r) => setTimeout(r, 400));
    expect(created).toBe(6);
    // scale down: each pod is deleted once although its deletion shows up late
    await storage.guaranteedUpdate(rsDef, 'default', 'plain', {}, (rs) => {
      rs.spec.replicas = 2;
      return rs;
    });
    await until('2 left', async () => (await livePods()).length === 2);
    await new Promise((r) => setTimeout(r, 400));
    expect(await livePods()).toHaveLength(2);
    expect(created).toBe(6);
  });

  it('adopts matching orphan pods and ReplicaSets, releases pods whose labels no longer match', async () => {
    await storage.create(podDef, 'default', {
      metadata: { name: 'orphan', labels: { app: 'solo' } },
      spec: { containers: [{ name: 'c', image: 'busybox:1' }] },
    });
    await storage.create(rsDef, 'default', {
      metadata: { name: 'solo', labels: { app: 'solo' } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'solo' } },
        template: { metadata: { labels: { app: 'solo' } }, spec: { containers: [{ name: 'c', image: 'busybox:1' }] } },
      },
    });
    const rs = await until('rs ready', async () => {
      const r = await storage.get(rsDef, 'default', 'solo');
      return r.status?.readyReplicas === 2 && r;
    });
    const orphan = await storage.get(podDef, 'default', 'orphan');
    expect(orphan.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        name: 'solo',
        uid: rs.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(await livePods()).toHaveLength(2);
    // relabel the orphan away: released, and replaced
    await storage.guaranteedUpdate(podDef, 'default', 'orphan', {}, (p) => {
      p.metadata.labels = { app: 'other' };
      return p;
    });
    await until('released', async () => !(await storage.get(podDef, 'default', 'orphan')).metadata.ownerReferences);
    await until('replaced', async () => (await livePods()).length === 3);

    // a Deployment adopts the matching RS; its template is equal, so it is the new RS (revision 1)
    await storage.create(dDef, 'default', deployment('solo', 2, 'busybox:1'));
    await until(
      'rs adopted',
      async () => controllerOf(await storage.get(rsDef, 'default', 'solo'))?.kind === 'Deployment',
    );
    const d = await rolledOut('solo');
    expect(await listRS()).toHaveLength(1);
    expect(
      (await storage.get(rsDef, 'default', 'solo')).metadata.annotations?.['deployment.kubernetes.io/revision'],
    ).toBe('1');
    expect(d.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('1');
  });

  it('Recreate scales the old RS to zero and waits for its pods before starting the new one', async () => {
    await storage.create(dDef, 'default', deployment('re', 2, 'busybox:1', { strategy: { type: 'Recreate' } }));
    await rolledOut('re');
    const [old] = await listRS();
    let overlap = false;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const pods = (await storage.list(podDef, 'default').catch(() => ({ items: [] as KubeObject[] }))).items;
        const hashes = new Set(pods.map((p) => p.metadata.labels?.['pod-template-hash']));
        if (hashes.size > 1) overlap = true;
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await patchD('re', (d) => {
      d.spec.template.spec.containers[0].image = 'busybox:2';
    });
    await rolledOut('re');
    watching = false;
    await watcher;
    expect(overlap).toBe(false);
    expect((await storage.get(rsDef, 'default', old!.metadata.name!)).spec.replicas).toBe(0);
  });

  it('pause holds a template change back; resume rolls it out; conditions say so', async () => {
    await storage.create(dDef, 'default', deployment('p', 2, 'busybox:1'));
    await rolledOut('p');
    await patchD('p', (d) => {
      d.spec.paused = true;
    });
    await until('paused condition', async () => cond(await getD('p'), 'Progressing')?.reason === 'DeploymentPaused');
    expect(cond(await getD('p'), 'Progressing')).toMatchObject({ status: 'Unknown', message: 'Deployment is paused' });
    await patchD('p', (d) => {
      d.spec.template.spec.containers[0].image = 'busybox:2';
    });
    await until('observed', async () => {
      const d = await getD('p');
      return d.status.observedGeneration === d.metadata.generation;
    });
    await new Promise((r) => setTimeout(r, 150));
    expect(await listRS()).toHaveLength(1);
    await patchD('p', (d) => {
      delete d.spec.paused;
    });
    const d = await rolledOut('p');
    expect(await listRS()).toHaveLength(2);
    expect(d.metadata.annotations!['deployment.kubernetes.io/revision']).toBe('2');
  });

  it('keeps only revisionHistoryLimit old ReplicaSets', async () => {
    await storage.create(dDef, 'default', deployment('h', 1, 'busybox:1', { revisionHistoryLimit: 1 }));
    await rolledOut('h');
    for (const tag of ['2', '3', '4']) {
      await patchD('h', (d) => {
        d.spec.template.spec.containers[0].image = `busybox:${tag}`;
      });
      await rolledOut('h');
    }
    await until('history pruned', async () => (await listRS()).length === 2);
    const revs = (await listRS()).map((r) => r.metadata.annotations!['deployment.kubernetes.io/revision']).sort();
    expect(revs).toEqual(['3', '4']);
  });

  it('reports ProgressDeadlineExceeded when new pods never become ready', async () => {
    kubelet!.ready = (p) => p.spec.containers[0].image !== 'busybox:bad';
    await storage.create(dDef, 'default', deployment('slow', 2, 'busybox:1', { progressDeadlineSeconds: 1 }));
    await rolledOut('slow');
    await patchD('slow', (d) => {
      d.spec.template.spec.containers[0].image = 'busybox:bad';
    });
    const d = await until(
      'deadline exceeded',
      async () => {
        const x = await getD('slow');
        return cond(x, 'Progressing')?.reason === 'ProgressDeadlineExceeded' && x;
      },
      8000,
    );
    expect(cond(d, 'Progressing')).toMatchObject({
      status: 'False',
      message: expect.stringMatching(/^ReplicaSet "slow-[a-z0-9]+" has timed out progressing\.$/),
    });
    expect(cond(d, 'Available')?.status).toBe('True');
  });

  it('counts pods available only after minReadySeconds', async () => {
    await storage.create(dDef, 'default', deployment('mr', 2, 'busybox:1', { minReadySeconds: 2 }));
    await until('ready', async () => (await getD('mr')).status?.readyReplicas === 2);
    const d = await getD('mr');
    expect(d.status.availableReplicas ?? 0).toBe(0);
    expect(cond(d, 'Available')?.status).toBe('False');
    const rs = (await listRS())[0]!;
    expect(rs.spec.minReadySeconds).toBe(2);
    await rolledOut('mr', 6000);
  });
});

function controllerOf(o: KubeObject) {
  return o.metadata.ownerReferences?.find((r) => r.controller);
}
