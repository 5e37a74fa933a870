// LimitRanger and ResourceQuota admission on the real write path (SQLite in memory):
// defaults, Kubernetes' 403 messages, the quota charged in status.used, concurrent creates
// against the last slot, and the quota controller recounting on release.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import { ApiError } from '../../controlplane/api/errors.js';
import type { ApiStorage } from '../../controlplane/api/storage.js';
import { findResource } from '../../controlplane/resources/index.js';
import type { ResourceDef } from '../../controlplane/resources/types.js';
import { create as createQuotaController } from '../../controlplane/controllers/resource-quota-controller.js';
import { startController, until, type ControllerHarness } from './controller-harness.js';

const def = (plural: string, group = '', version = 'v1'): ResourceDef => findResource(group, version, plural)!;
const pods = def('pods');
const quotas = def('resourcequotas');
const limits = def('limitranges');

function podBody(name: string, resources?: Record<string, unknown>, extra: Record<string, unknown> = {}): KubeObject {
  return {
    metadata: { name },
    spec: { containers: [{ name: 'app', image: 'busybox', ...(resources ? { resources } : {}) }], ...extra },
  } as KubeObject;
}

async function refusal(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

let h: ControllerHarness;
let storage: ApiStorage;

beforeEach(async () => {
  h = await startController((ctx) => createQuotaController(ctx, { resyncMs: 60_000 }));
  storage = h.storage;
});
afterEach(async () => {
  await h.stop();
});

async function quotaReady(name: string, ns = 'default'): Promise<KubeObject> {
  return until(`quota ${name} status`, async () => {
    const q = await storage.get(quotas, ns, name);
    return q.status?.used ? q : undefined;
  });
}

describe('ResourceQuota admission', () => {
  it("refuses the pod past the quota with Kubernetes' message, and the controller releases a deleted pod's slot", async () => {
    await storage.create(quotas, 'default', { metadata: { name: 'pods-2' }, spec: { hard: { pods: '2' } } });
    const q0 = await quotaReady('pods-2');
    expect(q0.status).toEqual({ hard: { pods: '2' }, used: { pods: '0' } });
    await storage.create(pods, 'default', podBody('a'));
    await storage.create(pods, 'default', podBody('b'));
    expect((await storage.get(quotas, 'default', 'pods-2')).status!.used).toEqual({ pods: '2' });
    const e = await refusal(storage.create(pods, 'default', podBody('c')));
    expect(e.code).toBe(403);
    expect(e.message).toBe(
      'pods "c" is forbidden: exceeded quota: pods-2, requested: pods=1, used: pods=2, limited: pods=2',
    );
    expect(e.details).toEqual({ name: 'c', kind: 'pods' });
    // a dry run is checked but not charged
    await storage.delete(pods, 'default', 'a', { gracePeriodSeconds: 0 });
    await until(
      'slot released',
      async () => (await storage.get(quotas, 'default', 'pods-2')).status!.used.pods === '1',
    );
    await storage.create(pods, 'default', podBody('c'), { dryRun: true });
    expect((await storage.get(quotas, 'default', 'pods-2')).status!.used.pods).toBe('1');
    await storage.create(pods, 'default', podBody('c'));
  });

  it('two parallel creates against the last slot: exactly one succeeds', async () => {
    await storage.create(quotas, 'default', { metadata: { name: 'one' }, spec: { hard: { pods: '1' } } });
    await quotaReady('one');
    const results = await Promise.allSettled([
      storage.create(pods, 'default', podBody('x')),
      storage.create(pods, 'default', podBody('y')),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((rejected.reason as ApiError).message).toMatch(
      /^pods "[xy]" is forbidden: exceeded quota: one, requested: pods=1, used: pods=1, limited: pods=1$/,
    );
    expect((await storage.get(quotas, 'default', 'one')).status!.used).toEqual({ pods: '1' });
  });

  it('compute quotas need requests and limits stated, and count them', async () => {
    await storage.create(quotas, 'default', {
      metadata: { name: 'compute' },
      spec: { hard: { 'requests.cpu': '1', 'limits.memory': '1Gi' } },
    });
    await quotaReady('compute');
    const e = await refusal(storage.create(pods, 'default', podBody('bare')));
    expect(e.message).toBe(
      'pods "bare" is forbidden: failed quota: compute: must specify limits.memory for: app; requests.cpu for: app',
    );
    await storage.create(pods, 'default', podBody('ok', { requests: { cpu: '600m' }, limits: { memory: '512Mi' } }));
    const e2 = await refusal(
      storage.create(pods, 'default', podBody('big', { requests: { cpu: '600m' }, limits: { memory: '512Mi' } })),
    );
    expect(e2.message).toBe(
      'pods "big" is forbidden: exceeded quota: compute, requested: requests.cpu=600m, used: requests.cpu=600m, limited: requests.cpu=1',
    );
    expect((await storage.get(quotas, 'default', 'compute')).status!.used).toEqual({
      'limits.memory': '512Mi',
      'requests.cpu': '600m',
    });
  });

  it('object counts for configmaps and count/<resource>.<group>; the quota is recounted when it changes', async () => {
    await storage.create(quotas, 'default', {
      metadata: { name: 'objects' },
      spec: { hard: { configmaps: '1', 'count/deployments.apps': '0' } },
    });
    const q = await quotaReady('objects');
    expect(q.status!.used).toEqual({ configmaps: '0', 'count/deployments.apps': '0' });
    await storage.create(def('configmaps'), 'default', { metadata: { name: 'cm1' } });
    const e = await refusal(storage.create(def('configmaps'), 'default', { metadata: { name: 'cm2' } }));
    expect(e.message).toBe(
      'configmaps "cm2" is forbidden: exceeded quota: objects, requested: configmaps=1, used: configmaps=1, limited: configmaps=1',
    );
    const dep = {
      metadata: { name: 'd' },
      spec: {
        selector: { matchLabels: { a: 'b' } },
        template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
      },
    };
    const e2 = await refusal(storage.create(def('deployments', 'apps'), 'default', dep));
    expect(e2.message).toBe(
      'deployments.apps "d" is forbidden: exceeded quota: objects, requested: count/deployments.apps=1, used: count/deployments.apps=0, limited: count/deployments.apps=0',
    );
    expect(e2.details).toEqual({ name: 'd', group: 'apps', kind: 'deployments' });
    await storage.guaranteedUpdate(quotas, 'default', 'objects', {}, (cur) => ({
      ...cur,
      spec: { hard: { configmaps: '3', secrets: '2' } },
    }));
    await until('status follows spec', async () => {
      const s = (await storage.get(quotas, 'default', 'objects')).status;
      return s?.hard?.secrets === '2' && s.used?.secrets !== undefined ? s : undefined;
    });
    const s = (await storage.get(quotas, 'default', 'objects')).status!;
    expect(s.hard).toEqual({ configmaps: '3', secrets: '2' });
    expect(s.used.configmaps).toBe('1');
  });
});

describe('LimitRanger admission', () => {
  it('fills container defaults and annotates the pod', async () => {
    await storage.create(limits, 'default', {
      metadata: { name: 'defaults' },
      spec: {
        limits: [{ type: 'Container', default: { cpu: '500m', memory: '256Mi' }, defaultRequest: { cpu: '100m' } }],
      },
    });
    const lr = await storage.get(limits, 'default', 'defaults');
    // SetDefaults_LimitRangeItem: defaultRequest from default
    expect((lr.spec as any).limits[0].defaultRequest).toEqual({ cpu: '100m', memory: '256Mi' });
    const p = await storage.create(pods, 'default', podBody('p', { limits: { cpu: '200m' } }));
    // the pod's own defaulting (request from limit) came first, as kube-apiserver decodes before admission
    expect((p.spec as any).containers[0].resources).toEqual({
      limits: { cpu: '200m', memory: '256Mi' },
      requests: { cpu: '200m', memory: '256Mi' },
    });
    expect(p.metadata.annotations?.['kubernetes.io/limit-ranger']).toBe(
      'LimitRanger plugin set: memory request for container app; memory limit for container app',
    );
    const q = await storage.create(pods, 'default', podBody('q'));
    expect((q.spec as any).containers[0].resources).toEqual({
      limits: { cpu: '500m', memory: '256Mi' },
      requests: { cpu: '100m', memory: '256Mi' },
    });
    expect(q.metadata.annotations?.['kubernetes.io/limit-ranger']).toBe(
      'LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit for container app',
    );
    expect(p.status?.qosClass).toBe('Burstable');
  });

  it("refuses pods and claims outside min/max with upstream's messages", async () => {
    await storage.create(limits, 'default', {
      metadata: { name: 'bounds' },
      spec: {
        limits: [
          { type: 'Container', max: { cpu: '500m' }, min: { cpu: '50m' } },
          { type: 'PersistentVolumeClaim', max: { storage: '2Gi' } },
        ],
      },
    });
    const e = await refusal(storage.create(pods, 'default', podBody('x', { limits: { cpu: '1' } })));
    expect(e.code).toBe(403);
    expect(e.message).toBe('pods "x" is forbidden: maximum cpu usage per Container is 500m, but limit is 1');
    const e2 = await refusal(
      storage.create(pods, 'default', podBody('y', { requests: { cpu: '10m' }, limits: { cpu: '20m' } })),
    );
    expect(e2.message).toBe('pods "y" is forbidden: minimum cpu usage per Container is 50m, but request is 10m');
    const e4 = await refusal(
      storage.create(pods, 'default', {
        metadata: { name: 'two' },
        spec: {
          containers: [
            { name: 'a', image: 'x', resources: { limits: { cpu: '2' } } },
            { name: 'b', image: 'x', resources: { limits: { cpu: '3' } } },
          ],
        },
      } as KubeObject),
    );
    expect(e4.message).toBe(
      'pods "two" is forbidden: [maximum cpu usage per Container is 500m, but limit is 2, maximum cpu usage per Container is 500m, but limit is 3]',
    );
    const claim = {
      metadata: { name: 'big' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '5Gi' } } },
    };
    const e3 = await refusal(storage.create(def('persistentvolumeclaims'), 'default', claim));
    expect(e3.message).toBe(
      'persistentvolumeclaims "big" is forbidden: maximum storage usage per PersistentVolumeClaim is 2Gi, but request is 5Gi',
    );
    // a pod with no cpu stated gets the max as its default limit and request, and is admitted
    const p = await storage.create(pods, 'default', podBody('dflt'));
    expect((p.spec as any).containers[0].resources).toEqual({ limits: { cpu: '500m' }, requests: { cpu: '500m' } });
  });

  it('validates LimitRanges as Kubernetes does', async () => {
    const e = await refusal(
      storage.create(limits, 'default', {
        metadata: { name: 'bad' },
        spec: { limits: [{ type: 'Container', min: { cpu: '1' }, max: { cpu: '500m' } }] },
      }),
    );
    expect(e.code).toBe(422);
    expect(e.message).toContain(
      'spec.limits[0].min[cpu]: Invalid value: "1": min value 1 is greater than max value 500m',
    );
    const e2 = await refusal(
      storage.create(quotas, 'default', { metadata: { name: 'bad' }, spec: { hard: { pods: '1.5', foo: '1' } } }),
    );
    expect(e2.message).toContain('spec.hard[pods]: Invalid value: "1500m": must be an integer');
    expect(e2.message).toContain('spec.hard[foo]: Invalid value: "foo": must be a standard resource for quota');
  });
});

describe('resource quota controller', () => {
  it('counts only what a scoped quota selects, and releases a pod that finished', async () => {
    await storage.create(pods, 'default', podBody('be'));
    await storage.create(pods, 'default', podBody('burst', { requests: { cpu: '100m' } }));
    await storage.create(quotas, 'default', {
      metadata: { name: 'best-effort' },
      spec: { hard: { pods: '5' }, scopes: ['BestEffort'] },
    });
    await storage.create(quotas, 'default', {
      metadata: { name: 'not-best-effort' },
      spec: { hard: { pods: '5', 'requests.cpu': '2' }, scopes: ['NotBestEffort'] },
    });
    expect((await quotaReady('best-effort')).status!.used).toEqual({ pods: '1' });
    expect((await quotaReady('not-best-effort')).status!.used).toEqual({ pods: '1', 'requests.cpu': '100m' });
    await storage.update(
      pods,
      'default',
      'burst',
      { ...(await storage.get(pods, 'default', 'burst')), status: { phase: 'Succeeded' } },
      {},
      'status',
    );
    await until(
      'finished pod released',
      async () => (await storage.get(quotas, 'default', 'not-best-effort')).status!.used.pods === '0',
    );
    expect((await storage.get(quotas, 'default', 'not-best-effort')).status!.used).toEqual({
      pods: '0',
      'requests.cpu': '0',
    });
  });

  it('charges claims by storage (also per class) and services by node ports', async () => {
    await storage.create(quotas, 'default', {
      metadata: { name: 'storage' },
      spec: {
        hard: {
          'requests.storage': '3Gi',
          'gold.storageclass.storage.k8s.io/requests.storage': '1Gi',
          'services.nodeports': '1',
        },
      },
    });
    await quotaReady('storage');
    const claim = (name: string, size: string, cls?: string) => ({
      metadata: { name },
      spec: {
        accessModes: ['ReadWriteOnce'],
        ...(cls ? { storageClassName: cls } : {}),
        resources: { requests: { storage: size } },
      },
    });
    const pvcs = def('persistentvolumeclaims');
    await storage.create(pvcs, 'default', claim('a', '2Gi'));
    const e = await refusal(storage.create(pvcs, 'default', claim('b', '2Gi', 'gold')));
    expect(e.message).toBe(
      'persistentvolumeclaims "b" is forbidden: exceeded quota: storage, requested: gold.storageclass.storage.k8s.io/requests.storage=2Gi,requests.storage=2Gi, used: gold.storageclass.storage.k8s.io/requests.storage=0,requests.storage=2Gi, limited: gold.storageclass.storage.k8s.io/requests.storage=1Gi,requests.storage=3Gi',
    );
    const svc = (name: string, type: string) => ({
      metadata: { name },
      spec: {
        type,
        selector: { a: 'b' },
        ports: [{ port: 80 }, { port: 81, name: 'x' }].map((p, i) => ({ ...p, name: `p${i}` })),
      },
    });
    const services = def('services');
    const e2 = await refusal(storage.create(services, 'default', svc('np', 'NodePort')));
    expect(e2.message).toBe(
      'services "np" is forbidden: exceeded quota: storage, requested: services.nodeports=2, used: services.nodeports=0, limited: services.nodeports=1',
    );
    await storage.create(services, 'default', svc('plain', 'ClusterIP'));
    expect((await storage.get(quotas, 'default', 'storage')).status!.used).toEqual({
      'requests.storage': '2Gi',
      'gold.storageclass.storage.k8s.io/requests.storage': '0',
      'services.nodeports': '0',
    });
  });
});
