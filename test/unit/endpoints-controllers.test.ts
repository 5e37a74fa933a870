// The Endpoints and EndpointSlice controllers over the real API write path: the pure
// subset/slice computations, then each controller against a store where pods get IPs and
// readiness as an agent would report them.
import { afterEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import * as endpointsController from '../../controlplane/controllers/endpoints-controller.js';
import * as sliceController from '../../controlplane/controllers/endpoint-slice-controller.js';
import { planSlices } from '../../controlplane/controllers/endpoint-slice-controller.js';
import * as serviceLB from '../../controlplane/controllers/service-lb-controller.js';
import { eligibleNodes, ingressFor } from '../../controlplane/controllers/service-lb-controller.js';
import { findResource } from '../../controlplane/resources/index.js';
import { endpointSubsets, findPort, sliceEndpoint } from '../../controlplane/services/endpoints.js';
import { startController, until, type ControllerHarness } from './controller-harness.js';

const podDef = findResource('', 'v1', 'pods')!;
const svcDef = findResource('', 'v1', 'services')!;
const epDef = findResource('', 'v1', 'endpoints')!;
const sliceDef = findResource('discovery.k8s.io', 'v1', 'endpointslices')!;
const nodeDef = findResource('', 'v1', 'nodes')!;

interface PodOpts {
  ip?: string;
  ready?: boolean;
  labels?: Record<string, string>;
  node?: string;
  phase?: string;
  hostname?: string;
  subdomain?: string;
  ports?: any[];
  uid?: string;
}

function pod(name: string, o: PodOpts = {}): KubeObject {
  return {
    metadata: { name, namespace: 'default', uid: o.uid ?? `uid-${name}`, labels: o.labels ?? { app: 'web' } },
    spec: {
      nodeName: o.node ?? 'n1',
      hostname: o.hostname,
      subdomain: o.subdomain,
      containers: [{ name: 'c', image: 'busybox', ports: o.ports ?? [{ name: 'http', containerPort: 8080 }] }],
    },
    status: {
      phase: o.phase ?? 'Running',
      ...(o.ip ? { podIP: o.ip, podIPs: [{ ip: o.ip }] } : {}),
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
    },
  };
}

function service(spec: Record<string, unknown> = {}, name = 'web'): KubeObject {
  return {
    metadata: { name, namespace: 'default', uid: 'svc-uid', labels: { tier: 'front' } },
    spec: {
      selector: { app: 'web' },
      clusterIP: '10.43.0.20',
      ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
      ...spec,
    },
  };
}

describe('endpointSubsets', () => {
  it('puts ready pods in addresses, others in notReadyAddresses, and skips pods without IP or finished', () => {
    const subsets = endpointSubsets(service(), [
      pod('a', { ip: '10.42.0.5' }),
      pod('b', { ip: '10.42.0.4', ready: false }),
      pod('c'),
      pod('d', { ip: '10.42.0.9', phase: 'Succeeded' }),
    ]);
    expect(subsets).toEqual([
      {
        addresses: [
          {
            ip: '10.42.0.5',
            nodeName: 'n1',
            targetRef: { kind: 'Pod', namespace: 'default', name: 'a', uid: 'uid-a' },
          },
        ],
        notReadyAddresses: [
          {
            ip: '10.42.0.4',
            nodeName: 'n1',
            targetRef: { kind: 'Pod', namespace: 'default', name: 'b', uid: 'uid-b' },
          },
        ],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      },
    ]);
    const publish = endpointSubsets(service({ publishNotReadyAddresses: true }), [
      pod('b', { ip: '10.42.0.4', ready: false }),
    ]);
    expect(publish[0]!.addresses?.map((a) => a.ip)).toEqual(['10.42.0.4']);
    expect(publish[0]!.notReadyAddresses).toBeUndefined();
  });

  it('groups pods by the port a named targetPort resolves to, and drops pods without it', () => {
    const subsets = endpointSubsets(service(), [
      pod('a', { ip: '10.42.0.5' }),
      pod('b', { ip: '10.42.0.6', ports: [{ name: 'http', containerPort: 9090 }] }),
      pod('c', { ip: '10.42.0.7', ports: [] }),
      pod('d', { ip: '10.42.0.3' }),
    ]);
    expect(subsets.map((s) => [s.addresses!.map((a) => a.ip), s.ports!.map((p) => p.port)])).toEqual([
      [['10.42.0.3', '10.42.0.5'], [8080]],
      [['10.42.0.6'], [9090]],
    ]);
  });

  it('sets the hostname of pods whose subdomain is the service, and handles headless services without ports', () => {
    const svc = service({ clusterIP: 'None', ports: [] });
    const subsets = endpointSubsets(svc, [
      pod('web-0', { ip: '10.42.0.5', hostname: 'web-0', subdomain: 'web' }),
      pod('x', { ip: '10.42.0.6', hostname: 'x', subdomain: 'other' }),
    ]);
    expect(subsets).toHaveLength(1);
    expect(subsets[0]!.ports).toBeUndefined();
    expect(subsets[0]!.addresses!.map((a) => [a.ip, a.hostname])).toEqual([
      ['10.42.0.5', 'web-0'],
      ['10.42.0.6', undefined],
    ]);
  });

  it('resolves numeric target ports as they are and names per protocol', () => {
    const p = pod('a', {
      ports: [
        { name: 'dns', containerPort: 53, protocol: 'UDP' },
        { name: 'dns', containerPort: 5353, protocol: 'TCP' },
      ],
    });
    expect(findPort(p, { port: 80, targetPort: 8081 })).toBe(8081);
    expect(findPort(p, { port: 53, targetPort: 'dns', protocol: 'UDP' })).toBe(53);
    expect(findPort(p, { port: 53, targetPort: 'dns', protocol: 'TCP' })).toBe(5353);
    expect(findPort(p, { port: 53, targetPort: 'dns', protocol: 'SCTP' })).toBeUndefined();
  });
});

describe('planSlices', () => {
  const ports = [{ name: 'http', port: 8080, protocol: 'TCP' }];
  const key = JSON.stringify(ports);
  const eps = (n: number, from = 0) =>
    Array.from({ length: n }, (_, i) =>
      sliceEndpoint(
        service(),
        pod(`p${from + i}`, { ip: `10.42.${Math.floor((from + i) / 250)}.${((from + i) % 250) + 1}` }),
      ),
    );

  it('splits at 100 endpoints a slice and keeps a placeholder when nothing is left', () => {
    const plan = planSlices(new Map([[key, { ports, endpoints: eps(230) }]]), [], () => false);
    expect(plan.create.map((s) => s.endpoints.length)).toEqual([100, 100, 30]);
    const existing = plan.create.map(
      (s, i) =>
        ({ metadata: { name: `web-${i}` }, addressType: 'IPv4', ports: s.ports, endpoints: s.endpoints }) as KubeObject,
    );
    const same = planSlices(new Map([[key, { ports, endpoints: eps(230) }]]), existing, () => false);
    expect(same).toEqual({ create: [], update: [], delete: [] });
    const empty = planSlices(new Map(), existing, () => false);
    expect(empty.delete).toHaveLength(3);
    expect(empty.create).toEqual([{ ports: [], endpoints: [] }]);
    const placeholder = { metadata: { name: 'web-p' }, addressType: 'IPv4', ports: [], endpoints: [] } as KubeObject;
    expect(planSlices(new Map(), [placeholder], () => false)).toEqual({ create: [], update: [], delete: [] });
  });

  it('fills existing slices before making new ones', () => {
    const first = eps(99);
    const existing = [{ metadata: { name: 'web-a' }, addressType: 'IPv4', ports, endpoints: first }] as KubeObject[];
    const plan = planSlices(new Map([[key, { ports, endpoints: eps(102) }]]), existing, () => false);
    expect(plan.update.map((s) => [s.name, s.endpoints.length])).toEqual([['web-a', 100]]);
    expect(plan.create.map((s) => s.endpoints.length)).toEqual([2]);
  });
});

describe('ServiceLB helpers', () => {
  const node = (
    name: string,
    ip: string,
    o: { ready?: boolean; unschedulable?: boolean; labels?: Record<string, string>; ext?: string } = {},
  ): KubeObject => ({
    metadata: { name, labels: o.labels ?? {} },
    spec: { unschedulable: o.unschedulable },
    status: {
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
      addresses: [
        { type: 'InternalIP', address: ip },
        ...(o.ext ? [{ type: 'ExternalIP', address: o.ext }] : []),
        { type: 'Hostname', address: name },
      ],
    },
  });
  it('uses Ready, schedulable nodes, sorted, ExternalIPs over InternalIPs', () => {
    const nodes = [
      node('b', '192.168.1.20'),
      node('a', '192.168.1.3'),
      node('c', '192.168.1.4', { ready: false }),
      node('d', '192.168.1.5', { unschedulable: true }),
    ];
    expect(ingressFor(eligibleNodes(nodes))).toEqual([
      { ip: '192.168.1.3', ipMode: 'VIP' },
      { ip: '192.168.1.20', ipMode: 'VIP' },
    ]);
    expect(ingressFor([node('a', '10.0.0.1', { ext: '1.2.3.4' }), node('b', '10.0.0.2')])).toEqual([
      { ip: '1.2.3.4', ipMode: 'VIP' },
    ]);
    const labelled = [
      node('a', '10.0.0.1', { labels: { 'svccontroller.k3s.cattle.io/enablelb': 'true' } }),
      node('b', '10.0.0.2'),
    ];
    expect(eligibleNodes(labelled).map((n) => n.metadata.name)).toEqual(['a']);
  });
});

describe('controllers', () => {
  let h: ControllerHarness;
  afterEach(async () => {
    await h?.stop();
  });

  async function putPod(p: KubeObject): Promise<void> {
    const { status, ...rest } = p;
    await h.storage.create(podDef, 'default', rest);
    await setPod(p.metadata.name!, status);
  }
  async function setPod(name: string, status: any): Promise<void> {
    await h.storage.guaranteedUpdate(
      podDef,
      'default',
      name,
      {},
      (cur) => {
        cur.status = { ...cur.status, ...status };
        return cur;
      },
      'status',
    );
  }
  const ready = (ip: string, r = true) => ({
    phase: 'Running',
    podIP: ip,
    podIPs: [{ ip }],
    conditions: [{ type: 'Ready', status: r ? 'True' : 'False' }],
  });
  const createService = async (spec: Record<string, unknown> = {}, name = 'web') => {
    const s = service(spec, name);
    delete s.metadata.uid;
    if (s.spec.clusterIP !== 'None') delete s.spec.clusterIP;
    return h.storage.create(svcDef, 'default', s);
  };

  it('Endpoints: follows pods, readiness and scale to zero, leaves selectorless services alone, goes with the service', async () => {
    h = await startController(endpointsController.create);
    await createService();
    await putPod(pod('a', { ip: '10.42.0.5' }));
    await putPod(pod('b', { ip: '10.42.0.6', ready: false }));
    await putPod(pod('other', { ip: '10.42.0.7', labels: { app: 'other' } }));
    const ep = await until('endpoints', async () => {
      const e = await h.storage.tryGet(epDef, 'default', 'web');
      return e?.subsets?.[0]?.notReadyAddresses ? e : undefined;
    });
    expect(ep.metadata.labels).toEqual({ tier: 'front' });
    expect(ep.subsets).toEqual([
      {
        addresses: [
          {
            ip: '10.42.0.5',
            nodeName: 'n1',
            targetRef: { kind: 'Pod', namespace: 'default', name: 'a', uid: expect.any(String) },
          },
        ],
        notReadyAddresses: [
          {
            ip: '10.42.0.6',
            nodeName: 'n1',
            targetRef: { kind: 'Pod', namespace: 'default', name: 'b', uid: expect.any(String) },
          },
        ],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      },
    ]);
    await setPod('b', ready('10.42.0.6'));
    await until(
      'b ready',
      async () => (await h.storage.get(epDef, 'default', 'web')).subsets?.[0]?.addresses?.length === 2,
    );
    const rv = (await h.storage.get(epDef, 'default', 'web')).metadata.resourceVersion;
    // a change that does not matter to the endpoints writes nothing
    await h.storage.guaranteedUpdate(podDef, 'default', 'a', {}, (cur) => {
      cur.metadata.annotations = { x: 'y' };
      return cur;
    });
    await new Promise((r) => setTimeout(r, 200));
    expect((await h.storage.get(epDef, 'default', 'web')).metadata.resourceVersion).toBe(rv);
    await h.storage.delete(podDef, 'default', 'a');
    await h.storage.delete(podDef, 'default', 'b');
    const empty = await until('empty', async () => {
      const e = await h.storage.get(epDef, 'default', 'web');
      return e.subsets === undefined ? e : undefined;
    });
    expect(empty.metadata.name).toBe('web');
    // selectorless: the user's Endpoints stay as they are
    const manual = service({ selector: undefined }, 'manual');
    delete manual.metadata.uid;
    delete manual.spec.clusterIP;
    await h.storage.create(svcDef, 'default', manual);
    await h.storage.create(epDef, 'default', {
      metadata: { name: 'manual' },
      subsets: [{ addresses: [{ ip: '192.168.1.1' }], ports: [{ port: 80 }] }],
    });
    await new Promise((r) => setTimeout(r, 200));
    expect((await h.storage.get(epDef, 'default', 'manual')).subsets[0].addresses).toEqual([{ ip: '192.168.1.1' }]);
    await h.storage.delete(svcDef, 'default', 'web');
    await until('endpoints deleted', async () => !(await h.storage.tryGet(epDef, 'default', 'web')));
  });

  it('Endpoints: a headless service gets the headless label and hostnames', async () => {
    h = await startController(endpointsController.create);
    await createService({ clusterIP: 'None' });
    await putPod(pod('web-0', { ip: '10.42.0.5', hostname: 'web-0', subdomain: 'web' }));
    const ep = await until('endpoints', async () => {
      const e = await h.storage.tryGet(epDef, 'default', 'web');
      return e?.subsets ? e : undefined;
    });
    expect(ep.metadata.labels).toEqual({ tier: 'front', 'service.kubernetes.io/headless': '' });
    expect(ep.subsets[0].addresses[0].hostname).toBe('web-0');
  });

  it('EndpointSlices: named after the service, owned by it, conditions per pod, placeholder at zero', async () => {
    h = await startController(sliceController.create);
    const svc = await createService();
    await putPod(pod('a', { ip: '10.42.0.5' }));
    await putPod(pod('b', { ip: '10.42.0.6', ready: false }));
    const slices = async () =>
      (await h.storage.list(sliceDef, 'default', { labelSelector: 'kubernetes.io/service-name=web' })).items;
    const [slice] = await until('slice', async () => {
      const s = await slices();
      return s.length === 1 && s[0]!.endpoints?.length === 2 ? s : undefined;
    });
    expect(slice!.metadata.name).toMatch(/^web-[a-z0-9]{5}$/);
    expect(slice!.metadata.generateName).toBe('web-');
    expect(slice!.metadata.labels).toEqual({
      tier: 'front',
      'kubernetes.io/service-name': 'web',
      'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
    });
    expect(slice!.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'v1',
        kind: 'Service',
        name: 'web',
        uid: svc.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(slice!.addressType).toBe('IPv4');
    expect(slice!.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    expect(slice!.endpoints).toEqual([
      {
        addresses: ['10.42.0.5'],
        conditions: { ready: true, serving: true, terminating: false },
        nodeName: 'n1',
        targetRef: { kind: 'Pod', namespace: 'default', name: 'a', uid: expect.any(String) },
      },
      {
        addresses: ['10.42.0.6'],
        conditions: { ready: false, serving: false, terminating: false },
        nodeName: 'n1',
        targetRef: { kind: 'Pod', namespace: 'default', name: 'b', uid: expect.any(String) },
      },
    ]);
    const rv = slice!.metadata.resourceVersion;
    await h.storage.guaranteedUpdate(podDef, 'default', 'a', {}, (cur) => {
      cur.metadata.annotations = { x: 'y' };
      return cur;
    });
    await new Promise((r) => setTimeout(r, 200));
    expect((await slices()).map((s) => s.metadata.resourceVersion)).toEqual([rv]);
    // a terminating pod stays, serving but not ready
    await h.storage.delete(podDef, 'default', 'a');
    await until(
      'terminating',
      async () => (await slices())[0]!.endpoints.find((e: any) => e.targetRef.name === 'a')?.conditions.terminating,
    );
    expect((await slices())[0]!.endpoints.find((e: any) => e.targetRef.name === 'a').conditions).toEqual({
      ready: false,
      serving: true,
      terminating: true,
    });
    await h.storage.delete(podDef, 'default', 'a', { gracePeriodSeconds: 0 });
    await h.storage.delete(podDef, 'default', 'b', { gracePeriodSeconds: 0 });
    const [placeholder] = await until('placeholder', async () => {
      const s = await slices();
      return s.length === 1 && (s[0]!.endpoints ?? []).length === 0 ? s : undefined;
    });
    expect(placeholder!.ports).toEqual([]);
    // many pods: slices of at most 100
    await Promise.all(Array.from({ length: 130 }, (_, i) => putPod(pod(`p${i}`, { ip: `10.42.1.${i + 1}` }))));
    // wait for the final shape, not just the count: all 130 can be in slices while the
    // empty placeholder is still there to be deleted
    const sizes = (s: KubeObject[]) => s.map((x) => x.endpoints?.length ?? 0).sort((a, b) => b - a);
    const many = await until(
      '130 endpoints in two slices of 100 and 30',
      async () => {
        const s = await slices();
        return sizes(s).join() === '100,30' ? s : undefined;
      },
      10_000,
    );
    expect(sizes(many)).toEqual([100, 30]);
  });

  it('ServiceLB: ingress from the Ready nodes, following them, cleared when the type changes', async () => {
    h = await startController(serviceLB.create);
    const mk = (name: string, ip: string) => ({
      metadata: { name },
      status: { conditions: [{ type: 'Ready', status: 'True' }], addresses: [{ type: 'InternalIP', address: ip }] },
    });
    await h.storage.create(nodeDef, undefined, mk('n1', '192.168.5.2'));
    await createService({ type: 'LoadBalancer' });
    const ingress = async () => (await h.storage.get(svcDef, 'default', 'web')).status?.loadBalancer?.ingress;
    await until('one node', async () => (await ingress())?.length === 1);
    expect(await ingress()).toEqual([{ ip: '192.168.5.2', ipMode: 'VIP' }]);
    await h.storage.create(nodeDef, undefined, mk('n2', '192.168.5.1'));
    await until('two nodes', async () => (await ingress())?.length === 2);
    expect((await ingress()).map((i: any) => i.ip)).toEqual(['192.168.5.1', '192.168.5.2']);
    await h.storage.patch(nodeDef, undefined, 'n1', 'merge', { spec: { unschedulable: true } });
    await until('cordoned node gone', async () => (await ingress())?.length === 1);
    await h.storage.patch(svcDef, 'default', 'web', 'merge', { spec: { type: 'ClusterIP' } });
    expect(await ingress()).toBeUndefined();
  });
});
