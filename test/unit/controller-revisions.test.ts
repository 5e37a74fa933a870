// DaemonSet and StatefulSet controllers keeping ControllerRevisions, in process over the
// real write path (SQLite in memory), with a stand-in scheduler/kubelet: revisions created
// and numbered, pods labelled with their hash, a rollback by the revision's strategic merge
// patch (what kubectl rollout undo sends) re-numbers the old revision and rolls pods back,
// revisionHistoryLimit, hash collisions, adoption, garbage collection, upgrade names.
import { afterEach, describe, expect, it } from 'vitest';
import * as dsc from '../../controlplane/controllers/daemon-set-controller.js';
import * as ssc from '../../controlplane/controllers/stateful-set-controller.js';
import * as gc from '../../controlplane/controllers/garbage-collector.js';
import { targetNodeName } from '../../controlplane/controllers/daemon-set/eligibility.js';
import { computeHash } from '../../controlplane/controllers/daemon-set/pods.js';
import { revisionName } from '../../controlplane/controllers/stateful-set/identity.js';
import { newStatefulSetRevision } from '../../controlplane/controllers/history/controller-history.js';
import { findResource } from '../../controlplane/resources/index.js';
import type { KubeObject } from '../../proto/meta.js';
import { defs, eventually, nodeBody, startCluster, type TestCluster } from './gc-fixtures.js';
import { pino } from 'pino';
import { ApiStorage, rfc3339 } from '../../controlplane/api/storage.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { controllerContext } from '../../controlplane/controllers/context.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';

const crDef = findResource('apps', 'v1', 'controllerrevisions')!;
const stsDef = findResource('apps', 'v1', 'statefulsets')!;

let c: TestCluster | undefined;
let kubelet: NodeJS.Timeout | undefined;

/** scheduler + kubelet: bind daemon pods to their node, run every pod, confirm deletions */
function fakeNodes(cl: TestCluster): void {
  let busy = false;
  kubelet = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      for (const p of (await cl.storage.list(defs.pods, undefined)).items) {
        const ns = p.metadata.namespace!;
        const name = p.metadata.name!;
        try {
          if (p.metadata.deletionTimestamp) {
            await cl.storage.delete(defs.pods, ns, name, { gracePeriodSeconds: 0 });
            continue;
          }
          if (!p.spec.nodeName) {
            const node = targetNodeName(p) ?? 'n1';
            await cl.storage.guaranteedUpdate(
              defs.pods,
              ns,
              name,
              {},
              (cur) => {
                cur.spec.nodeName = node;
                return cur;
              },
              'binding',
            );
            continue;
          }
          if (p.status?.phase !== 'Running') {
            await cl.storage.guaranteedUpdate(
              defs.pods,
              ns,
              name,
              {},
              (cur) => {
                cur.status = {
                  ...cur.status,
                  phase: 'Running',
                  conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: rfc3339(new Date()) }],
                };
                return cur;
              },
              'status',
            );
          }
        } catch {
          /* raced: next round */
        }
      }
    } finally {
      busy = false;
    }
  }, 15);
}

async function start(mods: Parameters<typeof startCluster>[0], nodes = ['n1', 'n2']): Promise<TestCluster> {
  c = await startCluster(mods);
  for (const n of nodes) await c.storage.create(defs.nodes, undefined, nodeBody(n));
  fakeNodes(c);
  return c;
}

afterEach(async () => {
  clearInterval(kubelet);
  kubelet = undefined;
  await new Promise((r) => setTimeout(r, 30));
  await c?.stop();
  c = undefined;
});

const tpl = (app: string, env: string) => ({
  metadata: { labels: { app } },
  spec: {
    containers: [{ name: 'c', image: 'skiff.local/busybox:1.36', env: [{ name: 'V', value: env }] }],
    terminationGracePeriodSeconds: 1,
  },
});

const revisions = async (cl: TestCluster) =>
  (await cl.storage.list(crDef, 'default')).items.sort((a, b) => Number(a.revision) - Number(b.revision));
const livePods = async (cl: TestCluster) =>
  (await cl.storage.list(defs.pods, 'default')).items.filter((p) => !p.metadata.deletionTimestamp);
const envOf = (p: KubeObject) => p.spec.containers[0].env[0].value;

describe('DaemonSet ControllerRevisions', () => {
  const dsBody = (env: string, extra: Record<string, unknown> = {}) => ({
    metadata: { name: 'agent' },
    spec: { selector: { matchLabels: { app: 'agent' } }, template: tpl('agent', env), ...extra },
  });

  async function allPodsAt(cl: TestCluster, env: string, hash: string): Promise<void> {
    await eventually(async () => {
      const ps = await livePods(cl);
      expect(ps.length).toBe(2);
      for (const p of ps) {
        expect(envOf(p)).toBe(env);
        expect(p.metadata.labels?.['controller-revision-hash']).toBe(hash);
      }
    }, 10_000);
  }

  it('snapshots each template, rolls pods by the revision hash, and a rollback re-numbers the old revision', async () => {
    const cl = await start([dsc]);
    const ds = await cl.storage.create(defs.daemonsets, 'default', dsBody('one'));
    const r1 = await eventually(async () => {
      const rs = await revisions(cl);
      expect(rs.length).toBe(1);
      return rs[0]!;
    });
    const hash1 = computeHash((await cl.storage.get(defs.daemonsets, 'default', 'agent')).spec.template);
    expect(r1.metadata.name).toBe(`agent-${hash1}`);
    expect(r1.revision).toBe(1);
    expect(r1.metadata.labels).toEqual({ app: 'agent', 'controller-revision-hash': hash1 });
    expect(r1.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        name: 'agent',
        uid: ds.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(r1.data.spec.template.$patch).toBe('replace');
    await allPodsAt(cl, 'one', hash1);

    await cl.storage.patch(defs.daemonsets, 'default', 'agent', 'strategic', {
      spec: { template: { spec: { containers: [{ name: 'c', env: [{ name: 'V', value: 'two' }] }] } } },
    });
    const r2 = await eventually(async () => {
      const rs = await revisions(cl);
      expect(rs.map((r) => r.revision)).toEqual([1, 2]);
      return rs[1]!;
    });
    const hash2 = r2.metadata.labels!['controller-revision-hash']!;
    expect(hash2).not.toBe(hash1);
    await allPodsAt(cl, 'two', hash2);

    // kubectl rollout undo: the old revision's data as a strategic merge patch
    await cl.storage.patch(defs.daemonsets, 'default', 'agent', 'strategic', r1.data);
    await eventually(async () => {
      const rs = await revisions(cl);
      expect(rs.map((r) => [r.metadata.name, r.revision])).toEqual([
        [r2.metadata.name, 2],
        [r1.metadata.name, 3],
      ]);
    });
    await allPodsAt(cl, 'one', hash1);
  });

  it('keeps revisionHistoryLimit old revisions, never one a pod still runs', async () => {
    const cl = await start([dsc]);
    await cl.storage.create(defs.daemonsets, 'default', dsBody('v0', { revisionHistoryLimit: 1 }));
    for (const v of ['v1', 'v2', 'v3']) {
      await eventually(async () => expect((await livePods(cl)).every((p) => envOf(p) !== v)).toBe(true));
      await cl.storage.patch(defs.daemonsets, 'default', 'agent', 'strategic', {
        spec: { template: { spec: { containers: [{ name: 'c', env: [{ name: 'V', value: v }] }] } } },
      });
      await eventually(async () => {
        const ps = await livePods(cl);
        expect(ps.length).toBe(2);
        expect(ps.every((p) => envOf(p) === v)).toBe(true);
      }, 10_000);
    }
    await eventually(async () => {
      const rs = await revisions(cl);
      expect(rs.map((r) => r.revision)).toEqual([3, 4]);
      expect(rs[1]!.data.spec.template.spec.containers[0].env[0].value).toBe('v3');
    });
  });

  it('a name collision with other data raises status.collisionCount and snapshots under the next hash', async () => {
    const cl = await start([dsc], []);
    // the name the DaemonSet's first snapshot would take (its defaulted template's hash), holding other data
    const dry = await cl.storage.create(defs.daemonsets, 'default', dsBody('one'), { dryRun: true });
    const hash0 = computeHash(dry.spec.template);
    await cl.storage.create(crDef, 'default', {
      metadata: { name: `agent-${hash0}`, labels: { app: 'other' } },
      data: { foreign: true },
      revision: 7,
    });
    await cl.storage.create(defs.daemonsets, 'default', dsBody('one'));
    const got = await eventually(async () => {
      const ds = await cl.storage.get(defs.daemonsets, 'default', 'agent');
      expect(ds.status?.collisionCount).toBe(1);
      const rs = (await revisions(cl)).filter((r) => r.metadata.ownerReferences?.[0]?.uid === ds.metadata.uid);
      expect(rs.length).toBe(1);
      return rs[0]!;
    });
    expect(got.metadata.name).toBe(`agent-${computeHash(dry.spec.template, 1)}`);
    expect((await cl.storage.get(crDef, 'default', `agent-${hash0}`)).data).toEqual({ foreign: true });
    expect(got.revision).toBe(1);
  });

  it('adopts a matching orphan revision, and the garbage collector deletes revisions with their DaemonSet', async () => {
    const cl = await start([dsc, gc], []);
    await cl.storage.create(crDef, 'default', {
      metadata: { name: 'agent-old', labels: { app: 'agent' } },
      data: { spec: { template: { $patch: 'replace' } } },
      revision: 1,
    });
    const ds = await cl.storage.create(defs.daemonsets, 'default', dsBody('one'));
    await eventually(async () => {
      const rs = await revisions(cl);
      expect(rs.map((r) => [r.revision, r.metadata.ownerReferences?.[0]?.uid])).toEqual([
        [1, ds.metadata.uid],
        [2, ds.metadata.uid],
      ]);
      // the adopted revision got the unique label, its name
      expect(rs[0]!.metadata.labels?.['controller-revision-hash']).toBe('agent-old');
    });
    await cl.storage.delete(defs.daemonsets, 'default', 'agent');
    await eventually(async () => expect(await revisions(cl)).toEqual([]), 10_000);
  });
});

describe('StatefulSet ControllerRevisions', () => {
  const setBody = (env: string, spec: Record<string, unknown> = {}) => ({
    metadata: { name: 'web' },
    spec: {
      replicas: 2,
      serviceName: 'web',
      selector: { matchLabels: { app: 'web' } },
      template: tpl('web', env),
      ...spec,
    },
  });
  const getSet = (cl: TestCluster) => cl.storage.get(stsDef, 'default', 'web');

  async function settled(cl: TestCluster, env: string): Promise<KubeObject> {
    return eventually(async () => {
      const s = await getSet(cl);
      const ps = await livePods(cl);
      expect(ps.map(envOf).sort()).toEqual([env, env]);
      expect(s.status.updatedReplicas).toBe(2);
      expect(s.status.currentRevision).toBe(s.status.updateRevision);
      for (const p of ps) expect(p.metadata.labels?.['controller-revision-hash']).toBe(s.status.updateRevision);
      return s;
    }, 10_000);
  }

  it('names revisions by the data hash, drives current/update revision, and rolls back by the revision patch', async () => {
    const cl = await start([ssc]);
    const set = await cl.storage.create(stsDef, 'default', setBody('one'));
    const s1 = await settled(cl, 'one');
    const [r1] = await revisions(cl);
    expect(r1!.metadata.name).toBe(s1.status.updateRevision);
    expect(r1!.metadata.name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]+$/);
    expect(r1!.metadata.labels).toEqual({ app: 'web', 'controller.kubernetes.io/hash': r1!.metadata.name!.slice(4) });
    expect(r1!.metadata.ownerReferences?.[0]).toMatchObject({
      kind: 'StatefulSet',
      name: 'web',
      uid: set.metadata.uid,
      controller: true,
    });
    expect(s1.status.collisionCount).toBe(0);

    await cl.storage.patch(stsDef, 'default', 'web', 'strategic', {
      spec: { template: { spec: { containers: [{ name: 'c', env: [{ name: 'V', value: 'two' }] }] } } },
    });
    const s2 = await settled(cl, 'two');
    expect(s2.status.updateRevision).not.toBe(r1!.metadata.name);
    expect((await revisions(cl)).map((r) => [r.metadata.name, r.revision])).toEqual([
      [r1!.metadata.name, 1],
      [s2.status.updateRevision, 2],
    ]);

    await cl.storage.patch(stsDef, 'default', 'web', 'strategic', r1!.data);
    const s3 = await settled(cl, 'one');
    expect(s3.status.updateRevision).toBe(r1!.metadata.name);
    expect((await revisions(cl)).map((r) => [r.metadata.name, r.revision])).toEqual([
      [s2.status.updateRevision, 2],
      [r1!.metadata.name, 3],
    ]);
  });

  it('a name collision with other data counts in status.collisionCount and the revision takes the next name', async () => {
    const cl = await start([ssc]);
    const dry = await cl.storage.create(stsDef, 'default', setBody('one'), { dryRun: true });
    const taken = newStatefulSetRevision(dry, 1, 0).metadata.name!;
    await cl.storage.create(crDef, 'default', {
      metadata: { name: taken, labels: { app: 'other' } },
      data: { foreign: true },
      revision: 1,
    });
    await cl.storage.create(stsDef, 'default', setBody('one'));
    const s = await settled(cl, 'one');
    expect(s.status.collisionCount).toBe(1);
    expect(s.status.updateRevision).toBe(newStatefulSetRevision(dry, 1, 1).metadata.name);
    expect(s.status.updateRevision).not.toBe(taken);
  });

  it("with a partition, a deleted pod below it comes back from the current revision's template", async () => {
    const cl = await start([ssc]);
    await cl.storage.create(
      stsDef,
      'default',
      setBody('one', { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } } }),
    );
    const s1 = await settled(cl, 'one');
    await cl.storage.patch(stsDef, 'default', 'web', 'strategic', {
      spec: { template: { spec: { containers: [{ name: 'c', env: [{ name: 'V', value: 'two' }] }] } } },
    });
    await eventually(
      async () =>
        expect((await cl.storage.get(defs.pods, 'default', 'web-1')).spec.containers[0].env[0].value).toBe('two'),
      10_000,
    );
    const old = await cl.storage.get(defs.pods, 'default', 'web-0');
    await cl.storage.delete(defs.pods, 'default', 'web-0');
    await eventually(async () => {
      const p = await cl.storage.get(defs.pods, 'default', 'web-0');
      expect(p.metadata.uid).not.toBe(old.metadata.uid);
      expect(envOf(p)).toBe('one');
      expect(p.metadata.labels?.['controller-revision-hash']).toBe(s1.status.updateRevision);
    }, 10_000);
    const s = await getSet(cl);
    expect(s.status.currentRevision).toBe(s1.status.updateRevision);
    expect(s.status.updateRevision).not.toBe(s1.status.updateRevision);
  });

  it('truncates history to revisionHistoryLimit', async () => {
    const cl = await start([ssc]);
    await cl.storage.create(stsDef, 'default', setBody('v0', { revisionHistoryLimit: 1 }));
    await settled(cl, 'v0');
    for (const v of ['v1', 'v2', 'v3']) {
      await cl.storage.patch(stsDef, 'default', 'web', 'strategic', {
        spec: { template: { spec: { containers: [{ name: 'c', env: [{ name: 'V', value: v }] }] } } },
      });
      await settled(cl, v);
    }
    await eventually(async () => expect((await revisions(cl)).map((r) => r.revision)).toEqual([3, 4]));
  });

  it('a set running under a pre-ControllerRevision name keeps it for its first revision: no pod is replaced', async () => {
    // as an older skiff left it: pods labelled with the legacy revision name, status naming it
    const store = new SqliteStore(':memory:');
    const storage = new ApiStorage(store);
    await seedNamespaces(storage);
    const set = await storage.create(stsDef, 'default', setBody('one'));
    const legacy = revisionName(set, set.spec.template);
    await storage.guaranteedUpdate(
      stsDef,
      'default',
      'web',
      {},
      (cur) => {
        cur.status = { ...cur.status, currentRevision: legacy, updateRevision: legacy };
        return cur;
      },
      'status',
    );
    for (const i of [0, 1]) {
      await storage.create(defs.pods, 'default', {
        metadata: {
          name: `web-${i}`,
          labels: {
            app: 'web',
            'controller-revision-hash': legacy,
            'statefulset.kubernetes.io/pod-name': `web-${i}`,
            'apps.kubernetes.io/pod-index': String(i),
          },
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: 'StatefulSet',
              name: 'web',
              uid: set.metadata.uid!,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: { ...set.spec.template.spec, hostname: `web-${i}`, subdomain: 'web', nodeName: 'n1' },
      });
    }
    const before = (await storage.list(defs.pods, 'default')).items.map((p) => p.metadata.uid).sort();
    // the upgraded controller starts over that store
    const ctx = controllerContext(storage, pino({ enabled: false }));
    const ctl = ssc.create(ctx);
    await ctl.start();
    await ctx.informers.startAll();
    try {
      await eventually(async () => {
        const rs = (await storage.list(crDef, 'default')).items;
        expect(rs.map((r) => r.metadata.name)).toEqual([legacy]);
        expect((await storage.get(stsDef, 'default', 'web')).status.updateRevision).toBe(legacy);
      });
      await new Promise((r) => setTimeout(r, 200));
      expect(
        (await storage.list(defs.pods, 'default')).items
          .filter((p) => !p.metadata.deletionTimestamp)
          .map((p) => p.metadata.uid)
          .sort(),
      ).toEqual(before);
    } finally {
      ctl.stop();
      ctx.informers.stopAll();
      await store.close();
    }
  });
});
