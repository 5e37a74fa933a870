// ReplicationController: SetDefaults_ReplicationController and ValidateReplicationController*
// as tables, the kind through the real write path (422 causes, status, generation, the
// table row, the field selector), quota counting, and the ReplicaSet controller logic run
// over ReplicationControllers (pods with a v1 ReplicationController controllerRef, status,
// scaling, replacement, adoption and release; a pod another controller owns left alone), and
// the disruption controller reading an RC's scale.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import { ApiError } from '../../controlplane/api/errors.js';
import { rfc3339 } from '../../controlplane/api/storage.js';
import { findResource } from '../../controlplane/resources/index.js';
import {
  defaultReplicationController,
  replicationController,
  validateReplicationControllerStatus,
} from '../../controlplane/resources/replication-controller.js';
import { evaluatorFor } from '../../controlplane/quota/evaluators.js';
import { calculateUsage } from '../../controlplane/quota/usage.js';
import * as rcController from '../../controlplane/controllers/replication-controller.js';
import * as disruption from '../../controlplane/controllers/disruption-controller.js';
import { startController, until, type ControllerHarness } from './controller-harness.js';

const rcDef = findResource('', 'v1', 'replicationcontrollers')!;
const podDef = findResource('', 'v1', 'pods')!;

function rc(name: string, spec: Record<string, unknown>, labels?: Record<string, string>): KubeObject {
  return { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name, ...(labels ? { labels } : {}) }, spec };
}
const tpl = (labels: Record<string, string> | undefined, spec: Record<string, unknown> = {}) => ({
  metadata: labels ? { labels } : {},
  spec: { containers: [{ name: 'web', image: 'nginx' }], ...spec },
});

describe('SetDefaults_ReplicationController', () => {
  const cases: Array<[string, KubeObject, { selector?: unknown; labels?: unknown; replicas: number }]> = [
    [
      'selector, labels and replicas from the template',
      rc('a', { template: tpl({ app: 'web' }) }),
      { selector: { app: 'web' }, labels: { app: 'web' }, replicas: 1 },
    ],
    [
      'an explicit selector and labels stay',
      rc('a', { selector: { app: 'web' }, template: tpl({ app: 'web', v: '1' }), replicas: 0 }, { team: 'x' }),
      { selector: { app: 'web' }, labels: { team: 'x' }, replicas: 0 },
    ],
    [
      'an empty selector is defaulted',
      rc('a', { selector: {}, template: tpl({ app: 'web' }) }),
      { selector: { app: 'web' }, labels: { app: 'web' }, replicas: 1 },
    ],
    ['no template: nothing to default from', rc('a', {}), { selector: undefined, labels: undefined, replicas: 1 }],
  ];
  it.each(cases)('%s', (_n, obj, want) => {
    defaultReplicationController(obj);
    expect(obj.spec.selector).toEqual(want.selector);
    expect(obj.metadata.labels).toEqual(want.labels);
    expect(obj.spec.replicas).toBe(want.replicas);
  });

  it('defaults the template like a pod template (restartPolicy Always, creationTimestamp null)', () => {
    const obj = rc('a', { template: tpl({ app: 'web' }) });
    defaultReplicationController(obj);
    expect(obj.spec.template.spec.restartPolicy).toBe('Always');
    expect(obj.spec.template.metadata.creationTimestamp).toBeNull();
  });
});

describe('ValidateReplicationController', () => {
  const causes = (obj: KubeObject) => {
    defaultReplicationController(obj);
    obj.metadata.namespace = 'default';
    return replicationController.validate(obj).map((c) => `${c.field}: ${c.message}`);
  };
  const cases: Array<[string, KubeObject, string[]]> = [
    [
      'a valid old-style manifest',
      rc('web', { replicas: 2, selector: { app: 'web' }, template: tpl({ app: 'web' }) }),
      [],
    ],
    [
      'selector does not match the template labels',
      rc('web', { selector: { app: 'other' }, template: tpl({ app: 'web' }) }),
      [
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`',
      ],
    ],
    ['no selector and no template labels', rc('web', { template: tpl(undefined) }), ['spec.selector: Required value']],
    ['no template', rc('web', { selector: { app: 'web' } }), ['spec.template: Required value']],
    [
      'negative replicas and minReadySeconds',
      rc('web', { replicas: -1, minReadySeconds: -2, template: tpl({ app: 'web' }) }),
      [
        'spec.minReadySeconds: Invalid value: -2: must be greater than or equal to 0',
        'spec.replicas: Invalid value: -1: must be greater than or equal to 0',
      ],
    ],
    [
      'restartPolicy must be Always',
      rc('web', { template: tpl({ app: 'web' }, { restartPolicy: 'OnFailure' }) }),
      ['spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"'],
    ],
    [
      'activeDeadlineSeconds is forbidden',
      rc('web', { template: tpl({ app: 'web' }, { activeDeadlineSeconds: 30 }) }),
      [
        'spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicationController is not Supported',
      ],
    ],
    [
      'a writable GCE PD with more than one replica',
      rc('web', {
        replicas: 2,
        template: tpl({ app: 'web' }, { volumes: [{ name: 'd', gcePersistentDisk: { pdName: 'x' } }] }),
      }),
      [
        'spec.template.spec.volumes[0].gcePersistentDisk.readOnly: Invalid value: false: must be true for replicated pods > 1; GCE PD can only be mounted on multiple machines if it is read-only',
      ],
    ],
    [
      'a bad name',
      rc('Web_1', { template: tpl({ app: 'web' }) }),
      [
        "metadata.name: Invalid value: \"Web_1\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      ],
    ],
  ];
  it.each(cases)('%s', (_n, obj, want) => expect(causes(obj)).toEqual(want));

  it('ValidateReplicationControllerStatus', () => {
    const v = (st: Record<string, number>) =>
      validateReplicationControllerStatus(st).map((c) => `${c.field}: ${c.message}`);
    expect(v({ replicas: 2, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 1 })).toEqual([]);
    expect(v({ replicas: 1, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 2 })).toEqual([
      'status.fullyLabeledReplicas: Invalid value: 2: cannot be greater than status.replicas',
      'status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas',
      'status.availableReplicas: Invalid value: 2: cannot be greater than status.replicas',
    ]);
    expect(v({ replicas: 3, readyReplicas: 1, availableReplicas: 2, observedGeneration: -1 })).toEqual([
      'status.observedGeneration: Invalid value: -1: must be greater than or equal to 0',
      'status.availableReplicas: Invalid value: 2: cannot be greater than readyReplicas',
    ]);
  });

  it('the wide Selector cell is the label map sorted (labels.FormatLabels)', () => {
    const obj = rc('web', {
      replicas: 2,
      selector: { tier: 'fe', app: 'web' },
      template: tpl({ app: 'web', tier: 'fe' }),
    });
    expect(replicationController.row(obj, Date.now()).filter((_c, i) => i !== 4)).toEqual([
      'web',
      2,
      0,
      0,
      'web',
      'nginx',
      'app=web,tier=fe',
    ]);
    expect(replicationController.row(rc('x', {}), Date.now())[7]).toBe('<none>');
  });

  it('quota counts it as replicationcontrollers and count/replicationcontrollers', () => {
    const e = evaluatorFor('', 'replicationcontrollers');
    expect(e.usage(rc('web', {}), Date.now())).toEqual({
      replicationcontrollers: '1',
      'count/replicationcontrollers': '1',
    });
  });

  it("a ResourceQuota's used counts the namespace's RCs under both names", async () => {
    const quota: KubeObject = {
      metadata: { name: 'q', namespace: 'default' },
      spec: { hard: { replicationcontrollers: '2', 'count/replicationcontrollers': '3', pods: '5' } },
    };
    const list = async (group: string, resource: string) =>
      group === '' && resource === 'replicationcontrollers' ? [rc('a', {}), rc('b', {})] : [];
    expect(await calculateUsage(quota, list, Date.now())).toEqual({
      replicationcontrollers: '2',
      'count/replicationcontrollers': '2',
      pods: '0',
    });
  });
});

describe('ReplicationControllers through the write path and the controller', () => {
  let h: ControllerHarness;

  beforeEach(async () => {
    h = await startController(rcController.create);
  });
  afterEach(async () => {
    await h.stop();
  });

  const pods = async (): Promise<KubeObject[]> =>
    (await h.storage.list(podDef, 'default')).items.filter((p) => !p.metadata.deletionTimestamp);
  const ownedBy = (uid: string) => async () =>
    (await pods()).filter((p) => p.metadata.ownerReferences?.some((r) => r.uid === uid && r.controller));
  const count = (uid: string, n: number) => async () => {
    const ps = await ownedBy(uid)();
    return ps.length === n ? ps : undefined;
  };

  it('refuses an invalid RC with 422 and field causes, nothing stored', async () => {
    const err = await h.storage
      .create(rcDef, 'default', rc('bad', { selector: { app: 'x' }, template: tpl({ app: 'web' }) }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    const e = err as ApiError;
    expect(e.code).toBe(422);
    expect(e.message).toBe(
      'ReplicationController "bad" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`',
    );
    expect(e.details?.causes).toEqual([
      {
        reason: 'FieldValueInvalid',
        message: 'Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`',
        field: 'spec.template.metadata.labels',
      },
    ]);
    expect((await h.storage.list(rcDef, 'default')).items).toHaveLength(0);
  });

  it('creates pods owned by the RC, writes status, scales, replaces, adopts and releases', async () => {
    const created = await h.storage.create(
      rcDef,
      'default',
      rc('web', { replicas: 2, selector: { app: 'web' }, template: tpl({ app: 'web' }) }),
    );
    expect(created.metadata.generation).toBe(1);
    expect(created.status).toEqual({ replicas: 0 });
    expect(created.metadata.labels).toEqual({ app: 'web' });
    const uid = created.metadata.uid!;
    const two = await until('2 pods', count(uid, 2));
    expect(two[0]!.metadata.ownerReferences).toEqual([
      { apiVersion: 'v1', kind: 'ReplicationController', name: 'web', uid, controller: true, blockOwnerDeletion: true },
    ]);
    expect(two[0]!.metadata.generateName).toBe('web-');

    // a kubelet's word: one pod Running and Ready
    await h.storage.guaranteedUpdate(
      podDef,
      'default',
      two[0]!.metadata.name!,
      {},
      (p) => {
        p.status = {
          ...p.status,
          phase: 'Running',
          conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: rfc3339(new Date()) }],
        };
        return p;
      },
      'status',
    );
    const st = await until('status', async () => {
      const o = await h.storage.get(rcDef, 'default', 'web');
      return o.status?.readyReplicas === 1 && o.status?.replicas === 2 ? o.status : undefined;
    });
    expect(st).toEqual({
      replicas: 2,
      fullyLabeledReplicas: 2,
      readyReplicas: 1,
      availableReplicas: 1,
      observedGeneration: 1,
    });
    expect(
      replicationController.row(await h.storage.get(rcDef, 'default', 'web'), Date.now()).filter((_c, i) => i !== 4),
    ).toEqual(['web', 2, 2, 1, 'web', 'nginx', 'app=web']);
    expect((await h.storage.list(rcDef, 'default', { fieldSelector: 'status.replicas=2' })).items).toHaveLength(1);

    // scale up through spec.replicas: generation and observedGeneration follow
    await h.storage.guaranteedUpdate(rcDef, 'default', 'web', {}, (o) => {
      o.spec.replicas = 3;
      return o;
    });
    await until('3 pods', count(uid, 3));
    await until(
      'observedGeneration 2',
      async () => (await h.storage.get(rcDef, 'default', 'web')).status?.observedGeneration === 2,
    );

    // a deleted pod is replaced
    const victim = (await ownedBy(uid)())[0]!;
    await h.storage.delete(podDef, 'default', victim.metadata.name!, { gracePeriodSeconds: 0 });
    await until('a replacement', async () => {
      const ps = await ownedBy(uid)();
      return ps.length === 3 && ps.every((p) => p.metadata.name !== victim.metadata.name);
    });

    // an orphan that matches is adopted (and one too many is deleted); a relabelled pod is released
    await h.storage.create(podDef, 'default', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'stray', labels: { app: 'web' } },
      spec: { containers: [{ name: 'c', image: 'nginx' }] },
    });
    await until('stray adopted or removed, 3 owned', async () => {
      const ps = await ownedBy(uid)();
      const stray = (await pods()).find((p) => p.metadata.name === 'stray');
      return ps.length === 3 && (!stray || stray.metadata.ownerReferences?.[0]?.uid === uid);
    });
    const mine = (await ownedBy(uid)())[0]!;
    await h.storage.guaranteedUpdate(podDef, 'default', mine.metadata.name!, {}, (p) => {
      p.metadata.labels = { app: 'gone' };
      return p;
    });
    await until('released and replaced', async () => {
      const released = (await pods()).find((p) => p.metadata.name === mine.metadata.name);
      const ps = await ownedBy(uid)();
      return (
        !released?.metadata.ownerReferences?.length &&
        ps.length === 3 &&
        !ps.some((p) => p.metadata.name === mine.metadata.name)
      );
    });
    // the events name the RC and come from replication-controller
    const events = (await h.storage.list(findResource('', 'v1', 'events')!, 'default')).items;
    expect(
      events.some(
        (e) =>
          e.involvedObject?.kind === 'ReplicationController' &&
          e.reason === 'SuccessfulCreate' &&
          e.source?.component === 'replication-controller',
      ),
    ).toBe(true);
  });

  it('reports a refused create as the ReplicaFailure condition and a FailedCreate event', async () => {
    await h.storage.create(
      rcDef,
      'default',
      rc('prio', { replicas: 1, template: tpl({ app: 'prio' }, { priorityClassName: 'nope' }) }),
    );
    const cond = await until(
      'ReplicaFailure',
      async () => (await h.storage.get(rcDef, 'default', 'prio')).status?.conditions?.[0],
      10_000,
    );
    expect(cond).toMatchObject({ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate' });
    expect(cond.message).toContain('no PriorityClass with name nope was found');
    const events = (await h.storage.list(findResource('', 'v1', 'events')!, 'default')).items;
    expect(
      events.some((e) => e.involvedObject?.name === 'prio' && e.reason === 'FailedCreate' && e.type === 'Warning'),
    ).toBe(true);
  });

  it('leaves a pod controlled by something else alone, even when its labels match', async () => {
    const foreign = await h.storage.create(podDef, 'default', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'rs-pod',
        labels: { app: 'back' },
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'front', uid: 'rs-uid', controller: true },
        ],
      },
      spec: { containers: [{ name: 'c', image: 'nginx' }] },
    });
    const rcObj = await h.storage.create(rcDef, 'default', rc('back', { replicas: 1, template: tpl({ app: 'back' }) }));
    await until('1 RC pod of its own', count(rcObj.metadata.uid!, 1));
    // status counts only its own pod, the foreign one keeps its controller
    await until('status replicas 1', async () => {
      const st = (await h.storage.get(rcDef, 'default', 'back')).status;
      return st?.observedGeneration === 1 && st.replicas === 1;
    });
    expect((await h.storage.get(podDef, 'default', 'rs-pod')).metadata.ownerReferences).toEqual(
      foreign.metadata.ownerReferences,
    );
  });
});

describe("the disruption controller counts a ReplicationController's scale", () => {
  let h: ControllerHarness;
  beforeEach(async () => {
    h = await startController(disruption.create);
  });
  afterEach(async () => {
    await h.stop();
  });

  it("expectedPods follows spec.replicas of the pods' RC (getPodReplicationController)", async () => {
    const pdbDef = findResource('policy', 'v1', 'poddisruptionbudgets')!;
    const owner = await h.storage.create(rcDef, 'default', rc('web', { replicas: 2, template: tpl({ app: 'web' }) }));
    const ref = {
      apiVersion: 'v1',
      kind: 'ReplicationController',
      name: 'web',
      uid: owner.metadata.uid!,
      controller: true,
      blockOwnerDeletion: true,
    };
    for (const name of ['web-a', 'web-b']) {
      await h.storage.create(podDef, 'default', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, labels: { app: 'web' }, ownerReferences: [ref] },
        spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'nginx' }] },
      });
      await h.storage.guaranteedUpdate(
        podDef,
        'default',
        name,
        {},
        (p) => {
          p.status = { ...p.status, phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] };
          return p;
        },
        'status',
      );
    }
    await h.storage.create(pdbDef, 'default', {
      metadata: { name: 'budget' },
      spec: { selector: { matchLabels: { app: 'web' } }, maxUnavailable: '50%' },
    });
    const status = (want: Record<string, number>) => async () => {
      const st = (await h.storage.get(pdbDef, 'default', 'budget')).status ?? {};
      return Object.entries(want).every(([k, v]) => st[k] === v) ? st : undefined;
    };
    await until(
      'expectedPods 2',
      status({ expectedPods: 2, desiredHealthy: 1, currentHealthy: 2, disruptionsAllowed: 1 }),
    );
    await h.storage.guaranteedUpdate(rcDef, 'default', 'web', {}, (o) => {
      o.spec.replicas = 4;
      return o;
    });
    await until('expectedPods 4', status({ expectedPods: 4, desiredHealthy: 2, disruptionsAllowed: 0 }));
  });
});
