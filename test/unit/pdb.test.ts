// PodDisruptionBudgets: the disruption controller's status arithmetic (pure), the
// controller itself and the eviction admission over the real API storage (in-memory
// SQLite): decrement through the status CAS, 429 with the Kubernetes message, the
// bypass for pods that are not running, several PDBs (500), unready pods, and
// concurrent evictions that must not both spend the last disruption.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiError } from '../../controlplane/api/errors.js';
import {
  EVICTION_REFUSED,
  MULTIPLE_PDBS,
  checkAndDecrement,
  evictionAdmission,
} from '../../controlplane/api/eviction-admission.js';
import { rfc3339 } from '../../controlplane/api/storage.js';
import * as disruption from '../../controlplane/controllers/disruption-controller.js';
import {
  DELETION_TIMEOUT_MS,
  computePdbStatus,
  scaledValue,
  type ScaleFinder,
} from '../../controlplane/controllers/disruption-controller.js';
import { findResource } from '../../controlplane/resources/index.js';
import type { KubeObject } from '../../proto/meta.js';
import {
  defs,
  deploymentBody,
  eventually,
  nodeBody,
  ownerRef,
  podBody,
  replicaSetBody,
  startCluster,
  type TestCluster,
} from './gc-fixtures.js';

const pdbDef = findResource('policy', 'v1', 'poddisruptionbudgets')!;
const NOW = new Date('2026-03-01T12:00:00Z');

function pod(
  name: string,
  o: {
    ready?: boolean;
    phase?: string;
    deleting?: boolean;
    owner?: { kind: string; name: string; uid: string; apiVersion?: string };
    labels?: Record<string, string>;
  } = {},
): KubeObject {
  return {
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      labels: o.labels ?? { app: 'web' },
      ...(o.deleting ? { deletionTimestamp: rfc3339(NOW) } : {}),
      ...(o.owner
        ? { ownerReferences: [{ apiVersion: o.owner.apiVersion ?? 'apps/v1', controller: true, ...o.owner }] }
        : {}),
    },
    spec: {},
    status: {
      phase: o.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
    },
  };
}

function pdb(spec: Record<string, unknown>, status: Record<string, unknown> = {}, generation = 1): KubeObject {
  return {
    metadata: { name: 'budget', namespace: 'default', uid: 'pdb-uid', generation },
    spec: { selector: { matchLabels: { app: 'web' } }, ...spec },
    status,
  };
}

const owner = { kind: 'ReplicaSet', name: 'web-1', uid: 'rs-uid' };
const finder =
  (replicas: number): ScaleFinder =>
  (ref) =>
    ref.uid === 'rs-uid' ? { uid: 'dep-uid', replicas } : undefined;

describe('disruption controller arithmetic', () => {
  it('scales percentages rounding up', () => {
    expect(scaledValue(3, 10, true)).toBe(3);
    expect(scaledValue('50%', 3, true)).toBe(2);
    expect(scaledValue('34%', 3, true)).toBe(2);
    expect(scaledValue('50%', 3, false)).toBe(1);
    expect(() => scaledValue('x', 3, true)).toThrow(/invalid value/);
  });

  it('integer minAvailable: expected is the number of selected pods', () => {
    const pods = [pod('a', { owner }), pod('b', { owner })];
    const r = computePdbStatus(pdb({ minAvailable: 1 }), pods, finder(5), NOW);
    expect(r.status).toMatchObject({
      expectedPods: 2,
      desiredHealthy: 1,
      currentHealthy: 2,
      disruptionsAllowed: 1,
      observedGeneration: 1,
    });
    expect(r.status.conditions).toEqual([
      {
        type: 'DisruptionAllowed',
        status: 'True',
        reason: 'SufficientPods',
        message: '',
        observedGeneration: 1,
        lastTransitionTime: rfc3339(NOW),
      },
    ]);
  });

  it("percentage minAvailable and maxUnavailable use the controllers' scale", () => {
    const pods = [pod('a', { owner }), pod('b', { owner }), pod('c', { owner, ready: false })];
    // 4 replicas wanted, 50% must be available -> 2; 2 healthy -> 0 allowed
    expect(computePdbStatus(pdb({ minAvailable: '50%' }), pods, finder(4), NOW).status).toMatchObject({
      expectedPods: 4,
      desiredHealthy: 2,
      currentHealthy: 2,
      disruptionsAllowed: 0,
    });
    // maxUnavailable 25% of 4 -> 1 -> desired 3
    expect(computePdbStatus(pdb({ maxUnavailable: '25%' }), pods, finder(4), NOW).status).toMatchObject({
      expectedPods: 4,
      desiredHealthy: 3,
      disruptionsAllowed: 0,
    });
    // maxUnavailable 1 of 2 (rounded-up 34% of 2 = 1)
    expect(computePdbStatus(pdb({ maxUnavailable: '34%' }), pods.slice(0, 2), finder(2), NOW).status).toMatchObject({
      expectedPods: 2,
      desiredHealthy: 1,
      currentHealthy: 2,
      disruptionsAllowed: 1,
    });
    const s = computePdbStatus(pdb({ maxUnavailable: 5 }), pods, finder(2), NOW).status;
    expect(s).toMatchObject({ desiredHealthy: 0, disruptionsAllowed: 2 });
  });

  it('counts pods without a controller one each, and fails when a controller is missing', () => {
    const pods = [pod('a'), pod('b'), pod('c', { owner })];
    expect(computePdbStatus(pdb({ maxUnavailable: 1 }), pods, finder(3), NOW).status).toMatchObject({
      expectedPods: 5,
      desiredHealthy: 4,
      currentHealthy: 3,
      disruptionsAllowed: 0,
    });
    expect(() =>
      computePdbStatus(
        pdb({ maxUnavailable: 1 }),
        [pod('x', { owner: { kind: 'ReplicaSet', name: 'gone', uid: 'nope' } })],
        finder(1),
        NOW,
      ),
    ).toThrow('found no controllers for pod "x"');
  });

  it('excludes deleting and recently disrupted pods; expired entries are dropped and a recheck is due', () => {
    const pods = [pod('a'), pod('b'), pod('c', { deleting: true }), pod('d')];
    const recent = rfc3339(new Date(NOW.getTime() - 30_000));
    const old = rfc3339(new Date(NOW.getTime() - DELETION_TIMEOUT_MS - 1000));
    const r = computePdbStatus(
      pdb({ minAvailable: 1 }, { disruptedPods: { a: recent, b: old, c: recent, zz: recent } }),
      pods,
      finder(1),
      NOW,
    );
    expect(r.status.disruptedPods).toEqual({ a: recent });
    expect(r.status.currentHealthy).toBe(2); // b and d
    expect(r.recheckAt).toBe(Date.parse(recent) + DELETION_TIMEOUT_MS);
  });

  it('allows nothing while no pods are expected, and marks InsufficientPods', () => {
    const r = computePdbStatus(pdb({ maxUnavailable: 1 }), [], finder(1), NOW);
    expect(r.status).toMatchObject({ expectedPods: 0, disruptionsAllowed: 0 });
    expect(r.status.conditions?.[0]).toMatchObject({ status: 'False', reason: 'InsufficientPods' });
  });

  it('checkAndDecrement: 429 at zero, 429 while the generation is unobserved, decrement otherwise', () => {
    const zero = pdb(
      { minAvailable: 2 },
      { disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 2, observedGeneration: 1 },
    );
    try {
      checkAndDecrement(zero, 'a', NOW);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ApiError);
      const s = (e as ApiError).toStatus();
      expect(s).toMatchObject({ code: 429, reason: 'TooManyRequests', message: EVICTION_REFUSED });
      expect(s.details).toEqual({
        causes: [
          {
            reason: 'DisruptionBudget',
            message: 'The disruption budget budget needs 2 healthy pods and has 2 currently',
          },
        ],
      });
    }
    const stale = pdb({ minAvailable: 1 }, { disruptionsAllowed: 1, observedGeneration: 1 }, 2);
    expect(() => checkAndDecrement(stale, 'a', NOW)).toThrow(EVICTION_REFUSED);
    const ok = checkAndDecrement(pdb({ minAvailable: 1 }, { disruptionsAllowed: 1, observedGeneration: 1 }), 'a', NOW);
    expect(ok.status).toMatchObject({ disruptionsAllowed: 0, disruptedPods: { a: rfc3339(NOW) } });
    expect(ok.status.conditions[0]).toMatchObject({
      type: 'DisruptionAllowed',
      status: 'False',
      reason: 'InsufficientPods',
    });
    expect(() =>
      checkAndDecrement(pdb({ minAvailable: 1 }, { disruptionsAllowed: -1, observedGeneration: 1 }), 'a', NOW),
    ).toThrow(/negative/);
  });
});

describe('disruption controller and eviction admission on the API storage', () => {
  let c: TestCluster;
  beforeEach(async () => {
    c = await startCluster([disruption]);
  });
  afterEach(async () => {
    await c.stop();
  });

  const getPdb = (name = 'budget') => c.storage.get(pdbDef, 'default', name);

  async function runningPod(
    name: string,
    owners: ReturnType<typeof ownerRef>[] = [],
    ready = true,
    labels = { app: 'web' },
  ): Promise<KubeObject> {
    await c.storage.create(defs.pods, 'default', podBody(name, owners, { nodeName: 'n1', labels }));
    return c.storage.guaranteedUpdate(
      defs.pods,
      'default',
      name,
      {},
      (p) => {
        p.status = { ...p.status, phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] };
        return p;
      },
      'status',
    );
  }

  async function createPdb(spec: Record<string, unknown>, name = 'budget'): Promise<void> {
    await c.storage.create(pdbDef, 'default', {
      metadata: { name },
      spec: { selector: { matchLabels: { app: 'web' } }, ...spec },
    });
  }

  async function evictOutcome(admit: ReturnType<typeof evictionAdmission>, name: string): Promise<number> {
    try {
      await admit(await c.storage.get(defs.pods, 'default', name));
      return 201;
    } catch (e) {
      return (e as ApiError).code;
    }
  }

  it("maintains the status from the Deployment's replicas and the pods' readiness", async () => {
    const d = await c.storage.create(defs.deployments, 'default', deploymentBody('web'));
    const rs = await c.storage.create(
      defs.replicasets,
      'default',
      replicaSetBody('web-1', [ownerRef(d, defs.deployments)]),
    );
    await runningPod('web-1-a', [ownerRef(rs, defs.replicasets)]);
    await runningPod('web-1-b', [ownerRef(rs, defs.replicasets)]);
    await createPdb({ maxUnavailable: '50%' });
    await eventually(async () =>
      expect((await getPdb()).status).toMatchObject({
        expectedPods: 2,
        desiredHealthy: 1,
        currentHealthy: 2,
        disruptionsAllowed: 1,
        observedGeneration: 1,
      }),
    );
    // scaling the Deployment changes the expectation
    await c.storage.guaranteedUpdate(defs.deployments, 'default', 'web', {}, (o) => {
      o.spec.replicas = 4;
      return o;
    });
    await eventually(async () =>
      expect((await getPdb()).status).toMatchObject({
        expectedPods: 4,
        desiredHealthy: 2,
        currentHealthy: 2,
        disruptionsAllowed: 0,
      }),
    );
    const cond = (await getPdb()).status.conditions.find((x: { type: string }) => x.type === 'DisruptionAllowed');
    expect(cond).toMatchObject({ status: 'False', reason: 'InsufficientPods' });
    // a spec change bumps the generation; the controller observes it
    await c.storage.guaranteedUpdate(pdbDef, 'default', 'budget', {}, (o) => {
      o.spec.maxUnavailable = 3;
      return o;
    });
    await eventually(async () =>
      expect((await getPdb()).status).toMatchObject({
        observedGeneration: 2,
        desiredHealthy: 1,
        disruptionsAllowed: 1,
      }),
    );
  });

  it('a PDB whose controller cannot be found fails safe and says why', async () => {
    await runningPod('lost', [
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'nope', uid: 'nope', controller: true },
    ]);
    await createPdb({ maxUnavailable: 1 });
    await eventually(async () => {
      const p = await getPdb();
      expect(p.status.disruptionsAllowed).toBe(0);
      expect(p.status.conditions).toContainEqual(
        expect.objectContaining({
          type: 'DisruptionAllowed',
          status: 'False',
          reason: 'SyncFailed',
          message: 'found no controllers for pod "lost"',
        }),
      );
    });
    const evs = (await c.storage.list(defs.events, 'default')).items;
    expect(
      evs.some(
        (e) => e.reason === 'CalculateExpectedPodCountFailed' && e.involvedObject.kind === 'PodDisruptionBudget',
      ),
    ).toBe(true);
  });

  it('evicts while the budget allows, then refuses with 429 until the controller sees healthy pods again', async () => {
    const admit = evictionAdmission(c.storage);
    await runningPod('a');
    await runningPod('b');
    await runningPod('c');
    await createPdb({ minAvailable: 2 });
    await eventually(async () => expect((await getPdb()).status.disruptionsAllowed).toBe(1));

    expect(await evictOutcome(admit, 'a')).toBe(201);
    let st = (await getPdb()).status;
    expect(st.disruptionsAllowed).toBe(0);
    expect(Object.keys(st.disruptedPods)).toEqual(['a']);
    const a = await c.storage.get(defs.pods, 'default', 'a');
    expect(a.status.conditions).toContainEqual(
      expect.objectContaining({
        type: 'DisruptionTarget',
        status: 'True',
        reason: 'EvictionByEvictionAPI',
        message: 'Eviction API: evicting',
      }),
    );

    // the controller recounts with pod a as disrupted (the eviction itself leaves currentHealthy at 3) ...
    await eventually(async () =>
      expect((await getPdb()).status).toMatchObject({ disruptionsAllowed: 0, currentHealthy: 2 }),
    );
    // ... and does not hand the spent disruption back while pod a has not gone (a slow
    // machine can only make this negative check pass falsely, never fail falsely)
    await new Promise((r) => setTimeout(r, 200));
    st = (await getPdb()).status;
    expect(st).toMatchObject({ disruptionsAllowed: 0, currentHealthy: 2 });

    const err = await c.storage
      .get(defs.pods, 'default', 'b')
      .then(admit)
      .catch((e) => e as ApiError);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).toStatus()).toMatchObject({
      code: 429,
      reason: 'TooManyRequests',
      message: "Cannot evict pod as it would violate the pod's disruption budget.",
    });

    // pod a goes (graceful delete), and a replacement becomes ready: one disruption again
    await c.storage.delete(defs.pods, 'default', 'a');
    await runningPod('d');
    await eventually(async () => {
      const s = (await getPdb()).status;
      expect(s).toMatchObject({ currentHealthy: 3, disruptionsAllowed: 1 });
      expect(s.disruptedPods).toBeUndefined();
    });
    expect(await evictOutcome(admit, 'b')).toBe(201);
  });

  it('two evictions racing for the last disruption: exactly one wins', async () => {
    const admit = evictionAdmission(c.storage);
    await runningPod('a');
    await runningPod('b');
    await createPdb({ minAvailable: 1 });
    await eventually(async () => expect((await getPdb()).status.disruptionsAllowed).toBe(1));
    const codes = await Promise.all([evictOutcome(admit, 'a'), evictOutcome(admit, 'b')]);
    expect(codes.sort()).toEqual([201, 429]);
    expect((await getPdb()).status.disruptionsAllowed).toBe(0);
  });

  it('pods that are not running bypass the budget; unready pods are free while the budget holds', async () => {
    const admit = evictionAdmission(c.storage);
    await runningPod('a');
    await runningPod('b');
    await runningPod('sick', [], false);
    await c.storage.create(defs.pods, 'default', podBody('pending', [], { labels: { app: 'web' } }));
    await createPdb({ minAvailable: 2 });
    await eventually(async () =>
      expect((await getPdb()).status).toMatchObject({ currentHealthy: 2, desiredHealthy: 2, disruptionsAllowed: 0 }),
    );
    expect(await evictOutcome(admit, 'pending')).toBe(201);
    expect(await evictOutcome(admit, 'sick')).toBe(201);
    expect(await evictOutcome(admit, 'a')).toBe(429);
    expect((await getPdb()).status.disruptionsAllowed).toBe(0);
    // a dry run admits nothing it could not do for real, and spends nothing
    await c.storage.guaranteedUpdate(pdbDef, 'default', 'budget', {}, (o) => {
      o.spec.minAvailable = 1;
      return o;
    });
    await eventually(async () => expect((await getPdb()).status.disruptionsAllowed).toBe(1));
    await admit(await c.storage.get(defs.pods, 'default', 'a'), { dryRun: true });
    expect((await getPdb()).status.disruptionsAllowed).toBe(1);
  });

  it('a pod covered by two PDBs cannot be evicted (500); pods no PDB covers always can', async () => {
    const admit = evictionAdmission(c.storage);
    await runningPod('a');
    await runningPod('free', [], true, { app: 'other' });
    await createPdb({ minAvailable: 0 }, 'one');
    await createPdb({ minAvailable: 0 }, 'two');
    const err = await c.storage
      .get(defs.pods, 'default', 'a')
      .then(admit)
      .catch((e) => e as ApiError);
    expect((err as ApiError).code).toBe(500);
    expect((err as ApiError).message).toBe(MULTIPLE_PDBS);
    expect(await evictOutcome(admit, 'free')).toBe(201);
  });

  it('records NodeNotSchedulable / NodeSchedulable events for cordon and uncordon (uid = node name)', async () => {
    await c.storage.create(defs.nodes, undefined, nodeBody('n1'));
    // the controller must see the schedulable node first: the event is for the transition
    await eventually(() => expect(c.ctx.informers.get('', 'v1', 'nodes').get(undefined, 'n1')).toBeDefined());
    await c.storage.guaranteedUpdate(defs.nodes, undefined, 'n1', {}, (n) => {
      n.spec.unschedulable = true;
      return n;
    });
    await eventually(async () => {
      const evs = (
        await c.storage.list(defs.events, 'default', {
          fieldSelector: 'involvedObject.kind=Node,involvedObject.uid=n1',
        })
      ).items;
      expect(evs.map((e) => e.reason)).toEqual(['NodeNotSchedulable']);
      expect(evs[0]!.message).toBe('Node n1 status is now: NodeNotSchedulable');
    });
    await c.storage.guaranteedUpdate(defs.nodes, undefined, 'n1', {}, (n) => {
      delete n.spec.unschedulable;
      return n;
    });
    await eventually(async () => {
      const evs = (await c.storage.list(defs.events, 'default', { fieldSelector: 'involvedObject.kind=Node' })).items;
      expect(evs.map((e) => e.reason).sort()).toEqual(['NodeNotSchedulable', 'NodeSchedulable']);
    });
  });
});
