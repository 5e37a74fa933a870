// Quota evaluators, ResourceList arithmetic and the pure admission check, as tables.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import { checkRequest } from '../../controlplane/quota/check.js';
import { evaluatorFor, podEvaluator, pvcEvaluator, serviceEvaluator } from '../../controlplane/quota/evaluators.js';
import { add, canonical, prettyPrint, subtractNonNegative } from '../../controlplane/quota/resource-list.js';

const pod = (
  containers: Array<{ name?: string; requests?: Record<string, string>; limits?: Record<string, string> }>,
  extra: Record<string, unknown> = {},
  status: Record<string, unknown> = {},
): KubeObject => ({
  metadata: { name: 'p', namespace: 'ns' },
  spec: {
    containers: containers.map((c, i) => ({
      name: c.name ?? `c${i}`,
      image: 'x',
      resources: { requests: c.requests, limits: c.limits },
    })),
    ...extra,
  },
  status,
});

const quota = (
  name: string,
  hard: Record<string, string>,
  used: Record<string, string> | undefined,
  spec: Record<string, unknown> = {},
): KubeObject => ({
  metadata: { name, namespace: 'ns', resourceVersion: '1' },
  spec: { hard, ...spec },
  status: { hard, ...(used ? { used } : {}) },
});

describe('ResourceList arithmetic', () => {
  it.each([
    ['1000m', '1'],
    ['0.5', '500m'],
    ['1024Mi', '1Gi'],
    ['1.5Gi', '1536Mi'],
    ['100M', '100M'],
    ['1000k', '1M'],
    ['512', '512'],
    ['1e3', '1e3'],
    ['0', '0'],
  ])('canonical(%s) = %s', (q, want) => expect(canonical(q)).toBe(want));

  it('a sum keeps the first non-zero format', () => {
    expect(add({ memory: '128Mi' }, { memory: '64Mi' })).toEqual({ memory: '192Mi' });
    expect(add({ cpu: '0' }, { cpu: '250m' })).toEqual({ cpu: '250m' });
    expect(add({ cpu: '500m' }, { cpu: '500m' })).toEqual({ cpu: '1' });
    expect(subtractNonNegative({ cpu: '1' }, { cpu: '2' })).toEqual({ cpu: '0' });
    expect(prettyPrint({ pods: '1', 'limits.cpu': '2' })).toBe('limits.cpu=2,pods=1');
  });
});

describe('pod evaluator (pods.go)', () => {
  const now = Date.now();
  it.each<[string, KubeObject, Record<string, string>]>([
    ['best effort', pod([{}]), { 'count/pods': '1', pods: '1' }],
    [
      'requests and limits summed',
      pod([{ requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '200m' } }, { requests: { cpu: '150m' } }]),
      {
        'count/pods': '1',
        pods: '1',
        cpu: '250m',
        'requests.cpu': '250m',
        memory: '64Mi',
        'requests.memory': '64Mi',
        'limits.cpu': '200m',
      },
    ],
    [
      'init container is a floor',
      pod([{ requests: { cpu: '100m' } }], {
        initContainers: [{ name: 'i', image: 'x', resources: { requests: { cpu: '1' } } }],
      }),
      { 'count/pods': '1', pods: '1', cpu: '1', 'requests.cpu': '1' },
    ],
    [
      'terminal pods only count as objects',
      pod([{ requests: { cpu: '1' } }], {}, { phase: 'Succeeded' }),
      { 'count/pods': '1' },
    ],
    [
      'extended resources as requests.*',
      pod([{ requests: { 'example.com/gpu': '1' } }]),
      { 'count/pods': '1', pods: '1', 'requests.example.com/gpu': '1' },
    ],
  ])('%s', (_name, p, want) => expect(podEvaluator.usage(p, now)).toEqual(want));

  it('a pod past its deletion grace is not charged', () => {
    const p = pod([{ requests: { cpu: '1' } }]);
    p.metadata.deletionTimestamp = new Date(now - 60_000).toISOString();
    p.metadata.deletionGracePeriodSeconds = 30;
    expect(podEvaluator.usage(p, now)).toEqual({ 'count/pods': '1' });
  });

  it('matches pod quota resources, prefixes and extended requests', () => {
    expect(
      podEvaluator.matchingResources([
        'pods',
        'requests.cpu',
        'services',
        'requests.example.com/gpu',
        'hugepages-2Mi',
        'count/pods',
        'requests.storage',
      ]),
    ).toEqual(['pods', 'requests.cpu', 'requests.example.com/gpu', 'hugepages-2Mi', 'count/pods']);
  });

  it('constraints: quota on cpu/memory needs them stated by every container', () => {
    const p = pod([{ name: 'a', requests: { cpu: '1' } }, { name: 'b' }]);
    expect(podEvaluator.constraints(['requests.cpu', 'limits.memory', 'pods'], p)).toBe(
      'must specify limits.memory for: a,b; requests.cpu for: b',
    );
  });
});

describe('service, claim and object-count evaluators', () => {
  it.each<[string, Record<string, unknown>, Record<string, string>]>([
    [
      'ClusterIP',
      { type: 'ClusterIP', ports: [{ port: 80 }] },
      { 'count/services': '1', services: '1', 'services.loadbalancers': '0', 'services.nodeports': '0' },
    ],
    [
      'NodePort',
      { type: 'NodePort', ports: [{ port: 80 }, { port: 81 }] },
      { 'count/services': '1', services: '1', 'services.loadbalancers': '0', 'services.nodeports': '2' },
    ],
    [
      'LoadBalancer',
      { type: 'LoadBalancer', ports: [{ port: 80 }] },
      { 'count/services': '1', services: '1', 'services.loadbalancers': '1', 'services.nodeports': '1' },
    ],
  ])('service %s', (_n, spec, want) => expect(serviceEvaluator.usage({ metadata: {}, spec }, 0)).toEqual(want));

  it('claims charge storage, also per storage class', () => {
    const pvc: KubeObject = {
      metadata: {},
      spec: { storageClassName: 'gold', resources: { requests: { storage: '1Gi' } } },
    };
    expect(pvcEvaluator.usage(pvc, 0)).toEqual({
      persistentvolumeclaims: '1',
      'count/persistentvolumeclaims': '1',
      'gold.storageclass.storage.k8s.io/persistentvolumeclaims': '1',
      'requests.storage': '1Gi',
      'gold.storageclass.storage.k8s.io/requests.storage': '1Gi',
    });
    expect(
      pvcEvaluator.matchingResources(['requests.storage', 'gold.storageclass.storage.k8s.io/requests.storage', 'pods']),
    ).toHaveLength(2);
  });

  it('object counts: legacy names and count/<resource>.<group>', () => {
    expect(evaluatorFor('', 'configmaps').usage({ metadata: {} }, 0)).toEqual({
      'count/configmaps': '1',
      configmaps: '1',
    });
    expect(evaluatorFor('apps', 'deployments').usage({ metadata: {} }, 0)).toEqual({ 'count/deployments.apps': '1' });
    expect(evaluatorFor('apps', 'deployments').handles('UPDATE')).toBe(false);
  });
});

describe('checkRequest (resourcequota controller.go)', () => {
  const req = (obj: KubeObject) => ({ operation: 'CREATE' as const, obj, now: Date.now() });

  it('charges every matching quota', () => {
    const res = checkRequest(
      [quota('q', { pods: '2', 'requests.cpu': '1' }, { pods: '1', 'requests.cpu': '200m' })],
      podEvaluator,
      req(pod([{ requests: { cpu: '300m' } }])),
    );
    expect(res).toMatchObject({ ok: true, changed: [0] });
    if (res.ok) expect(res.quotas[0]!.status!.used).toEqual({ pods: '2', 'requests.cpu': '500m' });
  });

  it.each<[string, KubeObject, KubeObject, string]>([
    [
      'exceeded',
      quota('compute', { pods: '2' }, { pods: '2' }),
      pod([{}]),
      'exceeded quota: compute, requested: pods=1, used: pods=2, limited: pods=2',
    ],
    [
      'exceeded, several resources',
      quota(
        'q',
        { pods: '5', 'limits.cpu': '1', 'limits.memory': '1Gi' },
        { pods: '1', 'limits.cpu': '800m', 'limits.memory': '1Gi' },
      ),
      pod([{ requests: { cpu: '1', memory: '1' }, limits: { cpu: '500m', memory: '1Mi' } }]),
      'exceeded quota: q, requested: limits.cpu=500m,limits.memory=1Mi, used: limits.cpu=800m,limits.memory=1Gi, limited: limits.cpu=1,limits.memory=1Gi',
    ],
    [
      'must specify',
      quota('mem', { 'requests.memory': '1Gi' }, { 'requests.memory': '0' }),
      pod([{ name: 'app' }]),
      'failed quota: mem: must specify requests.memory for: app',
    ],
    [
      'status unknown',
      quota('fresh', { pods: '2' }, undefined),
      pod([{}]),
      'status unknown for quota: fresh, resources: pods',
    ],
  ])('%s', (_n, q, p, reason) => expect(checkRequest([q], podEvaluator, req(p))).toEqual({ ok: false, reason }));

  it('scopes select pods: a BestEffort quota ignores pods with requests', () => {
    const q = quota('be', { pods: '0' }, { pods: '0' }, { scopes: ['BestEffort'] });
    expect(checkRequest([q], podEvaluator, req(pod([{ requests: { cpu: '1' } }])))).toMatchObject({
      ok: true,
      changed: [],
    });
    expect(checkRequest([q], podEvaluator, req(pod([{}])))).toMatchObject({ ok: false });
    const term = quota('t', { pods: '1' }, { pods: '1' }, { scopes: ['Terminating'] });
    expect(checkRequest([term], podEvaluator, req(pod([{}])))).toMatchObject({ ok: true, changed: [] });
    expect(checkRequest([term], podEvaluator, req(pod([{}], { activeDeadlineSeconds: 10 })))).toMatchObject({
      ok: false,
    });
  });

  it('scopeSelector on PriorityClass', () => {
    const q = quota(
      'hi',
      { pods: '0' },
      { pods: '0' },
      { scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: ['high'] }] } },
    );
    expect(checkRequest([q], podEvaluator, req(pod([{}], { priorityClassName: 'low' })))).toMatchObject({
      ok: true,
      changed: [],
    });
    expect(checkRequest([q], podEvaluator, req(pod([{}], { priorityClassName: 'high' })))).toMatchObject({ ok: false });
  });

  it('an update is charged the difference (a service becoming a NodePort)', () => {
    const q = quota('np', { 'services.nodeports': '1' }, { 'services.nodeports': '0' });
    const old: KubeObject = { metadata: { resourceVersion: '5' }, spec: { type: 'ClusterIP', ports: [{ port: 80 }] } };
    const next: KubeObject = {
      metadata: { resourceVersion: '5' },
      spec: { type: 'NodePort', ports: [{ port: 80 }, { port: 81 }] },
    };
    expect(checkRequest([q], serviceEvaluator, { operation: 'UPDATE', obj: next, old, now: 0 })).toEqual({
      ok: false,
      reason:
        'exceeded quota: np, requested: services.nodeports=2, used: services.nodeports=0, limited: services.nodeports=1',
    });
  });
});
