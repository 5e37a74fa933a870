// networking.k8s.io/v1 NetworkPolicy on the server: defaulting, ValidateNetworkPolicy's
// messages (a table of specs -> causes), the NAME/POD-SELECTOR/AGE row, the policy part of
// the network state (policy-state.ts), and the publisher sending pods and namespaces only
// while a policy exists, over the real write path.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { NetworkPublisher } from '../../controlplane/agents/network-publisher.js';
import { canonicalCidr4, podEntry, policyEntry } from '../../controlplane/agents/policy-state.js';
import { findResource } from '../../controlplane/resources/index.js';
import { networkPolicy } from '../../controlplane/resources/network-policy.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import type { NetworkState } from '../../proto/agent-protocol.js';
import type { KubeObject } from '../../proto/meta.js';
import { until } from './controller-harness.js';

const obj = (spec: Record<string, unknown>, name = 'np'): KubeObject => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace: 'default' },
  spec,
});
const causes = (spec: Record<string, unknown>) => {
  const o = obj(spec);
  networkPolicy.defaults!(o);
  return networkPolicy.validate!(o).map((c) => `${c.field}: ${c.message}`);
};

describe('NetworkPolicy defaulting', () => {
  it('defaults policyTypes from the presence of egress rules, protocol TCP and an empty podSelector', () => {
    const a = obj({ ingress: [{ ports: [{ port: 80 }] }] });
    networkPolicy.defaults!(a);
    expect(a.spec).toEqual({
      podSelector: {},
      policyTypes: ['Ingress'],
      ingress: [{ ports: [{ port: 80, protocol: 'TCP' }] }],
    });
    const b = obj({ podSelector: { matchLabels: { app: 'x' } }, egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] });
    networkPolicy.defaults!(b);
    expect(b.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(b.spec.egress[0].ports[0].protocol).toBe('UDP');
    const c = obj({ podSelector: {}, policyTypes: ['Egress'] });
    networkPolicy.defaults!(c);
    expect(c.spec.policyTypes).toEqual(['Egress']);
  });
});

describe('ValidateNetworkPolicy', () => {
  it.each([
    [
      'a valid policy',
      {
        podSelector: { matchLabels: { app: 'web' } },
        ingress: [
          {
            from: [
              { podSelector: {} },
              { namespaceSelector: {}, podSelector: {} },
              { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } },
            ],
            ports: [{ port: 80 }, { port: 'http' }, { protocol: 'UDP', port: 1000, endPort: 2000 }],
          },
        ],
        egress: [{}],
      },
      [],
    ],
    [
      'protocol',
      { ingress: [{ ports: [{ protocol: 'ICMP' }] }] },
      ['spec.ingress[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"'],
    ],
    [
      'port number',
      { ingress: [{ ports: [{ port: 70000 }] }] },
      ['spec.ingress[0].ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive'],
    ],
    [
      'port name',
      { egress: [{ ports: [{ port: 'Not_A_Name' }] }] },
      [
        'spec.egress[0].ports[0].port: Invalid value: "Not_A_Name": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
      ],
    ],
    [
      'endPort below port',
      { ingress: [{ ports: [{ port: 100, endPort: 99 }] }] },
      ['spec.ingress[0].ports[0].endPort: Invalid value: 99: must be greater than or equal to `port`'],
    ],
    [
      'endPort with a named port',
      { ingress: [{ ports: [{ port: 'http', endPort: 99 }] }] },
      ['spec.ingress[0].ports[0].endPort: Invalid value: 99: may not be specified when `port` is non-numeric'],
    ],
    [
      'endPort without port',
      { ingress: [{ ports: [{ endPort: 99 }] }] },
      ['spec.ingress[0].ports[0].endPort: Invalid value: 99: may not be specified when `port` is not specified'],
    ],
    ['empty peer', { ingress: [{ from: [{}] }] }, ['spec.ingress[0].from[0]: Required value: must specify a peer']],
    [
      'ipBlock with a selector',
      { egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }] },
      ['spec.egress[0].to[0]: Forbidden: may not specify both ipBlock and another peer'],
    ],
    [
      'ipBlock without cidr',
      { ingress: [{ from: [{ ipBlock: {} }] }] },
      ['spec.ingress[0].from[0].ipBlock.cidr: Required value'],
    ],
    [
      'ipBlock bad cidr',
      { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/33' } }] }] },
      ['spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "10.0.0.0/33": not a valid CIDR'],
    ],
    [
      'except outside cidr',
      { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['11.0.0.0/16', '10.0.0.0/8'] } }] }] },
      [
        'spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "11.0.0.0/16": must be a strict subset of `cidr`',
        'spec.ingress[0].from[0].ipBlock.except[1]: Invalid value: "10.0.0.0/8": must be a strict subset of `cidr`',
      ],
    ],
    ['IPv6 ipBlock', { ingress: [{ from: [{ ipBlock: { cidr: 'fd00::/8', except: ['fd00:1::/32'] } }] }] }, []],
    [
      'selector operator',
      { podSelector: { matchExpressions: [{ key: 'a', operator: 'Is' }] } },
      ['spec.podSelector.matchExpressions[0].operator: Invalid value: "Is": not a valid selector operator'],
    ],
    [
      'policyTypes value',
      { policyTypes: ['Ingress', 'Sideways'] },
      ['spec.policyTypes[1]: Unsupported value: "Sideways": supported values: "Ingress", "Egress"'],
    ],
    [
      'too many policyTypes',
      { policyTypes: ['Ingress', 'Egress', 'Ingress'] },
      [
        'spec.policyTypes: Invalid value: []networking.PolicyType{"Ingress", "Egress", "Ingress"}: may not specify more than two policyTypes',
      ],
    ],
  ])('%s', (_name, spec, want) => {
    expect(causes(spec as Record<string, unknown>)).toEqual(want);
  });
});

describe('NetworkPolicy table', () => {
  it('prints NAME, POD-SELECTOR (or <none>) and AGE', () => {
    expect(networkPolicy.columns.map((c) => c.name)).toEqual(['Name', 'Pod-Selector', 'Age']);
    const now = Date.parse('2026-01-01T00:10:00Z');
    const a = obj({
      podSelector: {
        matchLabels: { app: 'web' },
        matchExpressions: [{ key: 'tier', operator: 'In', values: ['b', 'a'] }],
      },
    });
    a.metadata.creationTimestamp = '2026-01-01T00:00:00Z';
    expect(networkPolicy.row(a, now)).toEqual(['np', 'app=web,tier in (a,b)', '10m']);
    expect(networkPolicy.row(obj({ podSelector: {} }), now)[1]).toBe('<none>');
    expect(findResource('networking.k8s.io', 'v1', 'networkpolicies')?.shortNames).toEqual(['netpol']);
  });
});

describe('the policy part of the network state', () => {
  it("reduces a policy to its types' rules, canonical IPv4 CIDRs, and IPv6 blocks to a peer matching nothing", () => {
    const o = obj({
      podSelector: { matchLabels: { app: 'web' } },
      policyTypes: ['Egress'],
      ingress: [{}],
      egress: [
        {
          to: [{ ipBlock: { cidr: '10.1.2.3/16', except: ['10.1.2.0/24'] } }, { ipBlock: { cidr: 'fd00::/8' } }],
          ports: [
            { port: 53, protocol: 'UDP' },
            { port: 'http', protocol: 'TCP' },
          ],
        },
      ],
    });
    expect(policyEntry(o)).toEqual({
      namespace: 'default',
      name: 'np',
      podSelector: { matchLabels: { app: 'web' } },
      egress: [
        {
          peers: [{ ipBlock: { cidr: '10.1.0.0/16', except: ['10.1.2.0/24'] } }, {}],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 'http' },
          ],
        },
      ],
    });
    expect(canonicalCidr4('010.0.0.1/8')).toBe('10.0.0.0/8');
    expect(canonicalCidr4('0.0.0.0/0')).toBe('0.0.0.0/0');
  });

  it('lists pods with a pod-network IP, their labels and named ports', () => {
    const p = (
      extra: Record<string, unknown>,
      status: Record<string, unknown> = { podIP: '10.42.0.5', phase: 'Running' },
    ): KubeObject => ({
      metadata: { name: 'p', namespace: 'default', labels: { app: 'web' } },
      spec: {
        nodeName: 'n1',
        containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080 }, { containerPort: 9090 }] }],
        ...extra,
      },
      status,
    });
    expect(podEntry(p({}))).toEqual({
      namespace: 'default',
      name: 'p',
      ip: '10.42.0.5',
      node: 'n1',
      labels: { app: 'web' },
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    });
    expect(podEntry(p({ hostNetwork: true }))).toBeUndefined();
    expect(podEntry(p({}, { phase: 'Pending' }))).toBeUndefined();
    expect(podEntry(p({}, { podIP: '10.42.0.5', phase: 'Succeeded' }))).toBeUndefined();
  });

  it('is pushed with the network state only while a policy exists, and follows label changes', async () => {
    const store = new SqliteStore(':memory:');
    const storage = new ApiStorage(store);
    await seedNamespaces(storage);
    const def = (g: string, r: string) => findResource(g, 'v1', r)!;
    const pub = new NetworkPublisher(
      storage,
      {
        clusterCidr: '10.42.0.0/16',
        serviceCidr: '10.43.0.0/16',
        clusterDns: '10.43.0.10',
        clusterDomain: 'cluster.local',
      },
      pino({ level: 'silent' }),
      20,
    );
    const sent: NetworkState[] = [];
    pub.subscribe((m) => sent.push(m));
    try {
      await pub.start();
      const pod = await storage.create(def('', 'pods'), 'default', {
        metadata: { name: 'a', labels: { role: 'x' } },
        spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'i' }] },
      } as never);
      await storage.update(
        def('', 'pods'),
        'default',
        'a',
        { ...pod, status: { ...pod.status, podIP: '10.42.0.9', phase: 'Running' } } as never,
        {},
        'status',
      );
      expect(pub.current?.pods).toBeUndefined();
      await storage.create(
        def('networking.k8s.io', 'networkpolicies'),
        'default',
        obj({ podSelector: {} }, 'deny') as never,
      );
      const st = await until('policies published', async () =>
        pub.current?.policies?.length ? pub.current : undefined,
      );
      expect(st.policies).toEqual([{ namespace: 'default', name: 'deny', podSelector: {}, ingress: [] }]);
      expect(st.namespaces?.map((n) => n.name)).toContain('default');
      await until('the pod with its IP', async () =>
        pub.current?.pods?.find((p) => p.name === 'a' && p.ip === '10.42.0.9'),
      );
      const cur = await storage.get(def('', 'pods'), 'default', 'a');
      await storage.update(def('', 'pods'), 'default', 'a', {
        ...cur,
        metadata: { ...cur.metadata, labels: { role: 'friend' } },
      } as never);
      await until('the new label', async () =>
        pub.current?.pods?.find((p) => p.name === 'a' && p.labels?.role === 'friend'),
      );
      await storage.delete(def('networking.k8s.io', 'networkpolicies'), 'default', 'deny');
      await until('no policy part', async () =>
        pub.current && pub.current.policies === undefined && pub.current.pods === undefined ? true : undefined,
      );
    } finally {
      pub.stop();
      await store.close();
    }
  });
});
