// The agent's pure network pieces: iptables-restore text for the service proxy, DNS records
// from the network state, and kubelet's resolv.conf rules.
import { describe, expect, it } from 'vitest';
import type { NetService, NetworkState } from '../../proto/agent-protocol.js';
import { NetworkState as NetworkStateSchema } from '../../proto/agent-protocol.js';
import { buildProxyRules, restoreInput, staleChains } from '../../agent/network/proxy-rules.js';
import { DnsRecords } from '../../agent/network/dns-records.js';
import { podDns, resolvConf } from '../../agent/network/pod-dns.js';

const ep = (ip: string, node: string, ready = true, extra: Partial<NetService['endpoints'][number]> = {}) => ({
  ip,
  node,
  ready,
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' as const }],
  ...extra,
});

function state(services: NetService[]): NetworkState {
  return {
    type: 'network',
    clusterCIDR: '10.42.0.0/16',
    serviceCIDR: '10.43.0.0/16',
    clusterDNS: '10.43.0.10',
    clusterDomain: 'cluster.local',
    nodes: [
      { name: 'n1', podCIDR: '10.42.0.0/24', internalIP: '192.168.1.11' },
      { name: 'n2', podCIDR: '10.42.1.0/24', internalIP: '192.168.1.12' },
    ],
    services,
  };
}

const web: NetService = {
  namespace: 'default',
  name: 'web',
  type: 'NodePort',
  clusterIP: '10.43.7.7',
  ports: [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 }],
  endpoints: [ep('10.42.0.5', 'n1'), ep('10.42.1.6', 'n2'), ep('10.42.1.7', 'n2', false)],
};

describe('buildProxyRules', () => {
  it('spreads a ClusterIP over the ready endpoints with falling probabilities, and marks off-cluster sources', () => {
    const r = buildProxyRules({ state: state([web]), node: 'n1', dns: { ip: '10.42.0.1', port: 53 } });
    const nat = r.tables.nat.join('\n');
    expect(nat).toMatch(/-A SKIFF-SERVICES -d 10\.43\.7\.7\/32 -p tcp -m tcp --dport 80 .* -j SKIFF-SVC-\w{16}/);
    expect(nat).toMatch(/! -s 10\.42\.0\.0\/16 -d 10\.43\.7\.7\/32 .* -j SKIFF-MARK-MASQ/);
    expect(nat).toContain('--probability 0.50000000000 -j SKIFF-SEP-');
    expect(nat).toContain('--to-destination 10.42.0.5:8080');
    expect(nat).toContain('--to-destination 10.42.1.6:8080');
    expect(nat).not.toContain('10.42.1.7'); // not ready: no traffic
    expect(nat).toMatch(/-A SKIFF-NODEPORTS -p tcp .* --dport 30080 -j SKIFF-EXT-/);
    expect(nat).toContain('-d 10.43.0.10/32 -p udp -m udp --dport 53');
    expect(nat).toContain('--to-destination 10.42.0.1:53');
  });

  it('rejects a service without endpoints at once instead of blackholing it', () => {
    const r = buildProxyRules({ state: state([{ ...web, endpoints: [] }]), node: 'n1' });
    expect(r.tables.filter.join('\n')).toMatch(
      /-A SKIFF-SERVICES -d 10\.43\.7\.7\/32 -p tcp -m tcp --dport 80 .* -j REJECT/,
    );
    expect(r.tables.nat.join('\n')).not.toContain('SKIFF-SVC-');
  });

  it('externalTrafficPolicy Local: outside clients only reach local endpoints, unmasqueraded; none local means drop', () => {
    const local = { ...web, externalTrafficPolicy: 'Local' as const };
    const n1 = buildProxyRules({ state: state([local]), node: 'n1' }).tables.nat.join('\n');
    expect(n1).toMatch(/-A SKIFF-EXT-\w+ -j SKIFF-SVL-/);
    const svl = n1.split('\n').filter((l) => l.startsWith('-A SKIFF-SVL-'));
    expect(svl).toHaveLength(1); // only n1's endpoint, no statistic needed
    const extRules = n1.split('\n').filter((l) => l.startsWith('-A SKIFF-EXT-'));
    expect(extRules.some((l) => l.endsWith('-j SKIFF-MARK-MASQ') && !l.includes('--src-type LOCAL'))).toBe(false);
    const n3 = buildProxyRules({ state: state([{ ...local, endpoints: [ep('10.42.1.6', 'n2')] }]), node: 'n1' });
    expect(n3.tables.filter.join('\n')).toMatch(/SKIFF-EXTERNAL ! -s 10\.42\.0\.0\/16 .* --dport 30080 .* -j DROP/);
  });

  it('ClientIP affinity uses the recent module; LoadBalancer ingress IPs are portals', () => {
    const lb: NetService = { ...web, type: 'LoadBalancer', affinitySeconds: 600, loadBalancerIPs: ['192.168.1.11'] };
    const nat = buildProxyRules({ state: state([lb]), node: 'n1' }).tables.nat.join('\n');
    expect(nat).toMatch(/--rcheck --seconds 600 --reap -j SKIFF-SEP-/);
    expect(nat).toMatch(/-m recent --name SKIFF-SEP-\w+ --set -m tcp -j DNAT/);
    expect(nat).toMatch(/-A SKIFF-SERVICES -d 192\.168\.1\.11\/32 -p tcp -m tcp --dport 80 .* -j SKIFF-EXT-/);
  });

  it('resolves target ports by name per endpoint and deletes stale chains of ours only', () => {
    const named: NetService = {
      ...web,
      endpoints: [ep('10.42.0.5', 'n1', true, { ports: [{ name: 'http', port: 9090, protocol: 'TCP' }] })],
    };
    const r = buildProxyRules({ state: state([named]), node: 'n1' });
    expect(r.tables.nat.join('\n')).toContain('--to-destination 10.42.0.5:9090');
    const existing = { nat: ['SKIFF-SVC-OLDOLDOLDOLDOLD1', 'DOCKER', 'KUBE-X'], filter: [] };
    const text = restoreInput(r, existing);
    expect(text).toContain(':SKIFF-SVC-OLDOLDOLDOLDOLD1 - [0:0]'); // flushed, then deleted one by one
    expect(staleChains(r, existing)).toEqual({ nat: ['SKIFF-SVC-OLDOLDOLDOLDOLD1'], filter: [] });
    expect(text).not.toContain('DOCKER');
    expect(text).not.toContain('KUBE-X');
    expect(text.match(/^COMMIT$/gm)).toHaveLength(2);
  });

  it('is deterministic', () => {
    const a = buildProxyRules({ state: state([web]), node: 'n1' });
    const b = buildProxyRules({ state: state([web]), node: 'n1' });
    expect(JSON.stringify(a.tables)).toBe(JSON.stringify(b.tables));
  });
});

describe('network state schema', () => {
  it('refuses values that would reach iptables unchecked', () => {
    const ok = state([web]);
    expect(NetworkStateSchema.safeParse(ok).success).toBe(true);
    expect(NetworkStateSchema.safeParse({ ...ok, clusterCIDR: '10.42.0.0/16 -j ACCEPT' }).success).toBe(false);
    expect(NetworkStateSchema.safeParse(state([{ ...web, clusterIP: '10.43.7.7; rm -rf /' }])).success).toBe(false);
    expect(
      NetworkStateSchema.safeParse(state([{ ...web, endpoints: [{ ...ep('10.42.0.5', 'n1'), ip: '1.2.3.999' }] }]))
        .success,
    ).toBe(false);
    expect(
      NetworkStateSchema.safeParse(state([{ ...web, ports: [{ name: 'x', protocol: 'TCP', port: 70000 }] }])).success,
    ).toBe(false);
  });
});

describe('DnsRecords', () => {
  const headless: NetService = {
    namespace: 'db',
    name: 'pg',
    type: 'ClusterIP',
    headless: true,
    ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }],
    endpoints: [
      {
        ip: '10.42.0.8',
        node: 'n1',
        ready: true,
        hostname: 'pg-0',
        ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
      },
      {
        ip: '10.42.1.9',
        node: 'n2',
        ready: true,
        hostname: 'pg-1',
        ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
      },
      {
        ip: '10.42.1.10',
        node: 'n2',
        ready: false,
        hostname: 'pg-2',
        ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
      },
    ],
  };
  const ext: NetService = {
    namespace: 'default',
    name: 'ext',
    type: 'ExternalName',
    externalName: 'example.org',
    ports: [],
    endpoints: [],
  };
  const r = DnsRecords.from(state([web, headless, ext]));

  it('answers services, headless endpoints, StatefulSet hostnames, SRV and pod names', () => {
    expect(r.lookup('web.default.svc.cluster.local', 'A')).toEqual({ kind: 'a', ips: ['10.43.7.7'] });
    expect(r.lookup('WEB.default.svc.cluster.local.', 'A')).toEqual({ kind: 'a', ips: ['10.43.7.7'] });
    expect(r.lookup('pg.db.svc.cluster.local', 'A')).toEqual({ kind: 'a', ips: ['10.42.0.8', '10.42.1.9'] });
    expect(r.lookup('pg-1.pg.db.svc.cluster.local', 'A')).toEqual({ kind: 'a', ips: ['10.42.1.9'] });
    expect(r.lookup('pg-2.pg.db.svc.cluster.local', 'A')).toEqual({ kind: 'nxdomain' }); // not ready
    expect(r.lookup('_http._tcp.web.default.svc.cluster.local', 'SRV')).toEqual({
      kind: 'srv',
      records: [{ port: 80, target: 'web.default.svc.cluster.local' }],
    });
    expect(r.lookup('ext.default.svc.cluster.local', 'A')).toEqual({ kind: 'cname', target: 'example.org' });
    expect(r.lookup('10-42-0-5.default.pod.cluster.local', 'A')).toEqual({ kind: 'a', ips: ['10.42.0.5'] });
  });

  it('NXDOMAIN for unknown cluster names, NODATA for existing names of other types, forward for the rest', () => {
    expect(r.lookup('nope.default.svc.cluster.local', 'A')).toEqual({ kind: 'nxdomain' });
    expect(r.lookup('web.default.svc.cluster.local', 'AAAA')).toEqual({ kind: 'empty' });
    expect(r.lookup('default.svc.cluster.local', 'A')).toEqual({ kind: 'empty' });
    expect(r.lookup('example.org', 'A')).toEqual({ kind: 'forward' });
  });
});

describe('podDns (kubelet resolv.conf)', () => {
  const host = { nameservers: ['127.0.0.53', '192.168.1.1'], searches: ['lan'], options: ['edns0'] };
  const cluster = { server: '10.43.0.10', domain: 'cluster.local' };
  it("ClusterFirst: cluster DNS, the namespace search path then the host's, ndots:5", () => {
    const d = podDns({ metadata: { namespace: 'shop' }, spec: {} }, cluster, host)!;
    expect(resolvConf(d)).toBe(
      'nameserver 10.43.0.10\nsearch shop.svc.cluster.local svc.cluster.local cluster.local lan\noptions ndots:5\n',
    );
  });
  it('Default copies the host without loopback resolvers; hostNetwork ClusterFirst means Default; None + dnsConfig', () => {
    expect(podDns({ spec: { dnsPolicy: 'Default' } }, cluster, host)).toEqual({
      servers: ['192.168.1.1'],
      searches: ['lan'],
      options: ['edns0'],
    });
    expect(podDns({ spec: { hostNetwork: true } }, cluster, host)?.servers).toEqual(['127.0.0.53', '192.168.1.1']); // the host's namespace: loopback works
    expect(
      podDns({ spec: { hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' } }, cluster, host)?.servers,
    ).toEqual(['10.43.0.10']);
    const none = podDns(
      {
        spec: {
          dnsPolicy: 'None',
          dnsConfig: {
            nameservers: ['1.1.1.1'],
            searches: ['a.example'],
            options: [{ name: 'ndots', value: '2' }, { name: 'rotate' }],
          },
        },
      },
      cluster,
      host,
    )!;
    expect(resolvConf(none)).toBe('nameserver 1.1.1.1\nsearch a.example\noptions ndots:2 rotate\n');
    const merged = podDns(
      { metadata: { namespace: 'x' }, spec: { dnsConfig: { options: [{ name: 'ndots', value: '1' }] } } },
      cluster,
      host,
    )!;
    expect(merged.options).toEqual(['ndots:1']);
  });
});
