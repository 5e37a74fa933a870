// The DaemonSet controller against the real API storage, with a tiny stand-in for the
// scheduler and the agents (bind pods to their affinity node, report them Ready,
// confirm graceful deletions): one pod per eligible node, nodes joining and leaving,
// taints, RollingUpdate and OnDelete, adoption, status numbers and events.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as dsc from '../../controlplane/controllers/daemon-set-controller.js';
import * as gc from '../../controlplane/controllers/garbage-collector.js';
import { targetNodeName } from '../../controlplane/controllers/daemon-set/eligibility.js';
import { rfc3339 } from '../../controlplane/api/storage.js';
import { defs, eventually, nodeBody, sleep, startCluster, type TestCluster } from './gc-fixtures.js';

let c: TestCluster;
let kubelet: NodeJS.Timeout | undefined;
const stopped = new Set<string>(); // nodes whose "agent" is down

/** scheduler + agents in one loop: bind, run, confirm deletion */
function fakeNodes(): void {
  let busy = false;
  kubelet = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      for (const p of (await c.storage.list(defs.pods, undefined)).items) {
        const ns = p.metadata.namespace!;
        const name = p.metadata.name!;
        try {
          if (!p.spec.nodeName) {
            const node = targetNodeName(p);
            if (node && (await c.storage.tryGet(defs.nodes, undefined, node))) {
              await c.storage.guaranteedUpdate(
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
            }
            continue;
          }
          if (stopped.has(p.spec.nodeName)) continue;
          if (p.metadata.deletionTimestamp) {
            await c.storage.delete(defs.pods, ns, name, { gracePeriodSeconds: 0 });
            continue;
          }
          if (p.status?.phase !== 'Running') {
            await c.storage.guaranteedUpdate(
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

beforeEach(async () => {
  stopped.clear();
  c = await startCluster([dsc, gc]);
  fakeNodes();
});
afterEach(async () => {
  clearInterval(kubelet);
  await sleep(30);
  await c.stop();
});

const dsBody = (extra: Record<string, unknown> = {}, image = 'skiff.local/busybox:1.36', strategy?: unknown) => ({
  metadata: { name: 'agent' },
  spec: {
    selector: { matchLabels: { app: 'agent' } },
    ...(strategy ? { updateStrategy: strategy } : {}),
    template: {
      metadata: { labels: { app: 'agent' } },
      spec: { containers: [{ name: 'c', image }], terminationGracePeriodSeconds: 1, ...extra },
    },
  },
});

const pods = async () => (await c.storage.list(defs.pods, 'default')).items;
const live = async () => (await pods()).filter((p) => !p.metadata.deletionTimestamp);
const byNode = async () => Object.fromEntries((await live()).map((p) => [p.spec.nodeName ?? targetNodeName(p), p]));
const status = async () => (await c.storage.get(defs.daemonsets, 'default', 'agent')).status;

async function addNode(name: string, opts: Parameters<typeof nodeBody>[1] = {}): Promise<void> {
  await c.storage.create(defs.nodes, undefined, nodeBody(name, opts));
}

describe('daemon set controller', () => {
  it("runs one pod per node, follows nodes joining and leaving, and reports kubectl's numbers", async () => {
    await addNode('n1');
    await addNode('n2');
    const ds = await c.storage.create(defs.daemonsets, 'default', dsBody());
    await eventually(async () => {
      expect(Object.keys(await byNode()).sort()).toEqual(['n1', 'n2']);
      expect(await status()).toMatchObject({
        desiredNumberScheduled: 2,
        currentNumberScheduled: 2,
        numberReady: 2,
        numberAvailable: 2,
        updatedNumberScheduled: 2,
        numberMisscheduled: 0,
        observedGeneration: 1,
      });
    });
    const p = (await live())[0]!;
    expect(p.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        name: 'agent',
        uid: ds.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(p.metadata.labels?.['controller-revision-hash']).toMatch(/^[a-z0-9]+$/);
    expect(
      p.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0],
    ).toMatchObject({ key: 'metadata.name', operator: 'In' });
    expect(p.spec.tolerations.map((t: { key: string }) => t.key)).toContain('node.kubernetes.io/unschedulable');
    expect((await pods()).length).toBe(2); // no duplicates from a lagging cache

    // a new node gets its pod
    await addNode('n3');
    await eventually(async () => {
      expect(Object.keys(await byNode()).sort()).toEqual(['n1', 'n2', 'n3']);
      expect((await status()).numberAvailable).toBe(3);
    });

    // a node that is gone (agent dead, node object deleted): its pod is force-deleted
    stopped.add('n3');
    await c.storage.delete(defs.nodes, undefined, 'n3');
    await eventually(async () => {
      expect((await pods()).map((x) => x.spec.nodeName).sort()).toEqual(['n1', 'n2']);
      expect(await status()).toMatchObject({ desiredNumberScheduled: 2, currentNumberScheduled: 2 });
    });

    const events = (await c.storage.list(defs.events, 'default')).items.filter(
      (e) => e.involvedObject.name === 'agent',
    );
    expect(events.map((e) => e.reason)).toEqual(expect.arrayContaining(['SuccessfulCreate', 'SuccessfulDelete']));
    expect(events.find((e) => e.reason === 'SuccessfulCreate')!.message).toMatch(/^Created pod: agent-[a-z0-9]{5}$/);
  });

  it('honours node selectors and taints; an untolerated NoExecute taint evicts, NoSchedule does not', async () => {
    await addNode('ssd1', { labels: { disk: 'ssd' } });
    await addNode('ssd2', { labels: { disk: 'ssd' } });
    await addNode('hdd', { labels: { disk: 'hdd' } });
    await addNode('cordoned', { labels: { disk: 'ssd' }, unschedulable: true });
    await c.storage.create(defs.daemonsets, 'default', dsBody({ nodeSelector: { disk: 'ssd' } }));
    await eventually(async () => expect(Object.keys(await byNode()).sort()).toEqual(['cordoned', 'ssd1', 'ssd2']));

    const taint = (name: string, effect: string) =>
      c.storage.guaranteedUpdate(defs.nodes, undefined, name, {}, (cur) => {
        cur.spec.taints = [{ key: 'dedicated', value: 'db', effect }];
        return cur;
      });
    await taint('ssd1', 'NoSchedule');
    await taint('ssd2', 'NoExecute');
    await eventually(async () => {
      expect(Object.keys(await byNode()).sort()).toEqual(['cordoned', 'ssd1']);
      expect(await status()).toMatchObject({
        desiredNumberScheduled: 1,
        currentNumberScheduled: 1,
        numberMisscheduled: 1,
      });
    });
  });

  it('rolling update replaces pods one node at a time (maxUnavailable 1)', async () => {
    for (const n of ['n1', 'n2', 'n3']) await addNode(n);
    await c.storage.create(defs.daemonsets, 'default', dsBody());
    await eventually(async () => expect((await status()).numberAvailable).toBe(3));
    const oldHash = (await live())[0]!.metadata.labels!['controller-revision-hash'];

    await c.storage.guaranteedUpdate(defs.daemonsets, 'default', 'agent', {}, (cur) => {
      cur.spec.template.spec.containers[0].image = 'skiff.local/busybox:1.37';
      return cur;
    });
    // never more than one node without an available pod
    let maxDown = 0;
    await eventually(
      async () => {
        const all = await pods();
        const availableNodes = new Set(
          all.filter((p) => !p.metadata.deletionTimestamp && p.status?.phase === 'Running').map((p) => p.spec.nodeName),
        );
        maxDown = Math.max(maxDown, 3 - availableNodes.size);
        const st = await status();
        expect(st).toMatchObject({ updatedNumberScheduled: 3, numberAvailable: 3, observedGeneration: 2 });
        expect(all.every((p) => p.spec.containers[0].image === 'skiff.local/busybox:1.37')).toBe(true);
      },
      10_000,
      5,
    );
    expect(maxDown).toBeLessThanOrEqual(1);
    const newHash = (await live())[0]!.metadata.labels!['controller-revision-hash'];
    expect(newHash).not.toBe(oldHash);
  });

  it('OnDelete: a template change replaces a pod only when it is deleted', async () => {
    await addNode('n1');
    await addNode('n2');
    await c.storage.create(defs.daemonsets, 'default', dsBody({}, 'skiff.local/busybox:1.36', { type: 'OnDelete' }));
    await eventually(async () => expect((await status()).numberAvailable).toBe(2));
    await c.storage.guaranteedUpdate(defs.daemonsets, 'default', 'agent', {}, (cur) => {
      cur.spec.template.spec.containers[0].image = 'skiff.local/busybox:1.37';
      return cur;
    });
    await eventually(async () => {
      const st = await status();
      expect(st.observedGeneration).toBe(2);
      expect(st.updatedNumberScheduled).toBeUndefined(); // 0, omitted as the Go struct's omitempty does
    });
    await sleep(200);
    expect((await live()).map((p) => p.spec.containers[0].image)).toEqual([
      'skiff.local/busybox:1.36',
      'skiff.local/busybox:1.36',
    ]);
    const victim = (await byNode()).n1!;
    await c.storage.delete(defs.pods, 'default', victim.metadata.name!);
    await eventually(async () => {
      const m = await byNode();
      expect(m.n1?.spec.containers[0].image).toBe('skiff.local/busybox:1.37');
      expect(m.n2?.spec.containers[0].image).toBe('skiff.local/busybox:1.36');
      expect((await status()).updatedNumberScheduled).toBe(1);
    });
  });

  it('adopts a matching orphan pod instead of creating a second one; deleting the DaemonSet removes its pods', async () => {
    await addNode('n1');
    await c.storage.create(defs.pods, 'default', {
      metadata: { name: 'orphan', labels: { app: 'agent' } }, // OnDelete: an adopted pod without the hash label is not rolled
      spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'skiff.local/busybox:1.36' }] },
    });
    const ds = await c.storage.create(
      defs.daemonsets,
      'default',
      dsBody({}, 'skiff.local/busybox:1.36', { type: 'OnDelete' }),
    );
    await eventually(async () => {
      const all = await pods();
      expect(all.map((p) => p.metadata.name)).toEqual(['orphan']);
      expect(all[0]!.metadata.ownerReferences?.[0]?.uid).toBe(ds.metadata.uid);
    });
    await c.storage.delete(defs.daemonsets, 'default', 'agent', { propagationPolicy: 'Background' });
    await eventually(async () => expect(await pods()).toEqual([]));
  });
});
