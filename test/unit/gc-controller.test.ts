// The garbage collector against the real API storage (in-memory SQLite): background,
// orphan and foreground propagation through ownerReferences, several owners, uid
// mismatches, and graceful pod deletion holding up a foreground delete.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as gc from '../../controlplane/controllers/garbage-collector.js';
import type { KubeObject } from '../../proto/meta.js';
import {
  defs,
  deploymentBody,
  eventually,
  nodeBody,
  ownerRef,
  podBody,
  replicaSetBody,
  sleep,
  startCluster,
  type TestCluster,
} from './gc-fixtures.js';

let c: TestCluster;
beforeEach(async () => {
  c = await startCluster([gc]);
});
afterEach(async () => {
  await c.stop();
});

const get = (def: typeof defs.pods, name: string, ns = 'default') =>
  c.storage.tryGet(def, def.namespaced ? ns : undefined, name);
const gone = async (def: typeof defs.pods, name: string) => expect(await get(def, name)).toBeUndefined();

/** Deployment web -> ReplicaSet web-1 -> pods web-1-a, web-1-b (controller refs, blockOwnerDeletion) */
async function tree(
  name = 'web',
  podExtra: { nodeName?: string } = {},
): Promise<{ d: KubeObject; rs: KubeObject; pods: KubeObject[] }> {
  const d = await c.storage.create(defs.deployments, 'default', deploymentBody(name));
  const rs = await c.storage.create(
    defs.replicasets,
    'default',
    replicaSetBody(`${name}-1`, [ownerRef(d, defs.deployments)]),
  );
  const pods = [];
  for (const s of ['a', 'b'])
    pods.push(
      await c.storage.create(
        defs.pods,
        'default',
        podBody(`${name}-1-${s}`, [ownerRef(rs, defs.replicasets)], podExtra),
      ),
    );
  return { d, rs, pods };
}

describe('garbage collector', () => {
  it('background: deleting a Deployment removes its ReplicaSet and pods', async () => {
    await tree();
    await c.storage.delete(defs.deployments, 'default', 'web', { propagationPolicy: 'Background' });
    await eventually(async () => {
      await gone(defs.replicasets, 'web-1');
      await gone(defs.pods, 'web-1-a');
      await gone(defs.pods, 'web-1-b');
    });
  });

  it('keeps a dependent with a live owner and drops only the dangling reference', async () => {
    const a = await c.storage.create(defs.replicasets, 'default', replicaSetBody('a'));
    const b = await c.storage.create(defs.replicasets, 'default', replicaSetBody('b'));
    await c.storage.create(defs.configmaps, 'default', {
      metadata: {
        name: 'shared',
        ownerReferences: [ownerRef(a, defs.replicasets, {}), ownerRef(b, defs.replicasets, {})],
      },
      data: { k: 'v' },
    });
    await c.storage.delete(defs.replicasets, 'default', 'a', { propagationPolicy: 'Background' });
    await eventually(async () => {
      const cm = await get(defs.configmaps, 'shared');
      expect(cm?.metadata.ownerReferences?.map((r) => r.name)).toEqual(['b']);
    });
    await c.storage.delete(defs.replicasets, 'default', 'b', { propagationPolicy: 'Background' });
    await eventually(() => gone(defs.configmaps, 'shared'));
  });

  it('deletes a dependent whose owner was replaced by a new object of the same name (uid mismatch)', async () => {
    const rs = await c.storage.create(defs.replicasets, 'default', replicaSetBody('re'));
    const stale = { ...ownerRef(rs, defs.replicasets), uid: '00000000-0000-0000-0000-000000000001' };
    await c.storage.create(defs.pods, 'default', podBody('stray', [stale]));
    await eventually(() => gone(defs.pods, 'stray'));
    expect(await get(defs.replicasets, 're')).toBeDefined();
  });

  it('never collects an object because of an owner kind it does not know', async () => {
    await c.storage.create(defs.configmaps, 'default', {
      metadata: {
        name: 'crd-owned',
        ownerReferences: [{ apiVersion: 'example.com/v1', kind: 'Widget', name: 'w', uid: 'u-1' }],
      },
    });
    await sleep(300);
    expect(await get(defs.configmaps, 'crd-owned')).toBeDefined();
  });

  it('orphan: dependents stay, with the owner removed from their ownerReferences', async () => {
    const rs = await c.storage.create(defs.replicasets, 'default', replicaSetBody('orph'));
    const other = await c.storage.create(defs.replicasets, 'default', replicaSetBody('other'));
    await c.storage.create(defs.pods, 'default', podBody('orph-a', [ownerRef(rs, defs.replicasets)]));
    await c.storage.create(
      defs.pods,
      'default',
      podBody('orph-b', [ownerRef(rs, defs.replicasets), ownerRef(other, defs.replicasets, {})]),
    );
    const r = await c.storage.delete(defs.replicasets, 'default', 'orph', { propagationPolicy: 'Orphan' });
    expect(r.deleted).toBe(false);
    expect(r.object.metadata.finalizers).toEqual(['orphan']);
    await eventually(() => gone(defs.replicasets, 'orph'));
    const a = await get(defs.pods, 'orph-a');
    const b = await get(defs.pods, 'orph-b');
    expect(a?.metadata.ownerReferences).toBeUndefined();
    expect(b?.metadata.ownerReferences?.map((x) => x.name)).toEqual(['other']);
    await sleep(200); // and nothing collects them later
    expect(await get(defs.pods, 'orph-a')).toBeDefined();
    expect(await get(defs.pods, 'orph-b')).toBeDefined();
  });

  it('foreground: the owner stays until its blocking dependents are gone, deepest first', async () => {
    await c.storage.create(defs.nodes, undefined, nodeBody('n1'));
    await tree('fg', { nodeName: 'n1' }); // bound pods terminate gracefully: an agent must confirm
    const r = await c.storage.delete(defs.deployments, 'default', 'fg', { propagationPolicy: 'Foreground' });
    expect(r.object.metadata.finalizers).toEqual(['foregroundDeletion']);
    // the RS is deleted in the foreground too (it has dependents), the pods get deletionTimestamps
    await eventually(async () => {
      const rs = await get(defs.replicasets, 'fg-1');
      expect(rs?.metadata.finalizers).toEqual(['foregroundDeletion']);
      for (const p of ['fg-1-a', 'fg-1-b']) expect((await get(defs.pods, p))?.metadata.deletionTimestamp).toBeDefined();
    });
    await sleep(200);
    expect(await get(defs.deployments, 'fg')).toBeDefined();
    expect(await get(defs.replicasets, 'fg-1')).toBeDefined();
    // the "agent" confirms one pod: still waiting for the other
    await c.storage.delete(defs.pods, 'default', 'fg-1-a', { gracePeriodSeconds: 0 });
    await sleep(200);
    expect(await get(defs.replicasets, 'fg-1')).toBeDefined();
    await c.storage.delete(defs.pods, 'default', 'fg-1-b', { gracePeriodSeconds: 0 });
    await eventually(async () => {
      await gone(defs.replicasets, 'fg-1');
      await gone(defs.deployments, 'fg');
    });
  });

  it('foreground does not wait for dependents that do not block owner deletion, but still deletes them', async () => {
    const rs = await c.storage.create(defs.replicasets, 'default', replicaSetBody('nb'));
    await c.storage.create(defs.nodes, undefined, nodeBody('n2'));
    await c.storage.create(
      defs.pods,
      'default',
      podBody('nb-a', [ownerRef(rs, defs.replicasets, { controller: true })], { nodeName: 'n2' }),
    );
    await c.storage.delete(defs.replicasets, 'default', 'nb', { propagationPolicy: 'Foreground' });
    await eventually(() => gone(defs.replicasets, 'nb'));
    await eventually(async () => expect((await get(defs.pods, 'nb-a'))?.metadata.deletionTimestamp).toBeDefined());
  });

  it('collects dependents whose owner was deleted while the collector was not running', async () => {
    await c.stop();
    c = await startCluster([]);
    const rs = await c.storage.create(defs.replicasets, 'default', replicaSetBody('late'));
    await c.storage.create(defs.pods, 'default', podBody('late-a', [ownerRef(rs, defs.replicasets)]));
    await c.storage.delete(defs.replicasets, 'default', 'late', { propagationPolicy: 'Background' });
    await sleep(100);
    expect(await get(defs.pods, 'late-a')).toBeDefined(); // nobody collected it
    const ctl = gc.create(c.ctx);
    await ctl.start();
    c.controllers.push(ctl);
    // informers registered after startAll start at once
    await eventually(() => gone(defs.pods, 'late-a'));
  });
});
