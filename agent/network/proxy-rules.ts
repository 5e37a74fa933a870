// The service proxy as iptables-restore input, computed from the network state (kube-proxy's
// iptables mode, in chains of our own): ClusterIPs, NodePorts, LoadBalancer and external
// IPs DNAT to a random ready endpoint (statistic module), traffic from outside the pod
// network is marked for masquerade, externalTrafficPolicy: Local keeps to this node's
// endpoints without SNAT, ClientIP affinity uses the recent module, services without
// endpoints reject at once. Pure: the same state always gives the same text.
import { createHash } from 'node:crypto';
import { base32NoPad } from '../../proto/base32.js';
import type { NetEndpoint, NetService, NetworkState } from '../../proto/agent-protocol.js';

export const MASQ_MARK = '0x4000/0x4000';
export const CHAIN_PREFIX = 'SKIFF-';
/** scripts/hosts.sh's chains (SKIFF-HOSTS*) share the prefix and are never ours to touch */
export const isOurChain = (c: string): boolean => c.startsWith(CHAIN_PREFIX) && !c.startsWith('SKIFF-HOSTS');

/** the chains hooked into the built-in ones, with the rule that jumps there */
export const HOOKS: { table: 'nat' | 'filter'; chain: string; rule: string[] }[] = [
  {
    table: 'nat',
    chain: 'PREROUTING',
    rule: ['-m', 'comment', '--comment', 'skiff service portals', '-j', 'SKIFF-SERVICES'],
  },
  {
    table: 'nat',
    chain: 'OUTPUT',
    rule: ['-m', 'comment', '--comment', 'skiff service portals', '-j', 'SKIFF-SERVICES'],
  },
  {
    table: 'nat',
    chain: 'POSTROUTING',
    rule: ['-m', 'comment', '--comment', 'skiff postrouting', '-j', 'SKIFF-POSTROUTING'],
  },
  {
    table: 'filter',
    chain: 'FORWARD',
    rule: ['-m', 'comment', '--comment', 'skiff forwarding', '-j', 'SKIFF-FORWARD'],
  },
  {
    table: 'filter',
    chain: 'FORWARD',
    rule: [
      '-m',
      'conntrack',
      '--ctstate',
      'NEW',
      '-m',
      'comment',
      '--comment',
      'skiff service portals',
      '-j',
      'SKIFF-SERVICES',
    ],
  },
  {
    table: 'filter',
    chain: 'OUTPUT',
    rule: [
      '-m',
      'conntrack',
      '--ctstate',
      'NEW',
      '-m',
      'comment',
      '--comment',
      'skiff service portals',
      '-j',
      'SKIFF-SERVICES',
    ],
  },
  {
    table: 'filter',
    chain: 'INPUT',
    rule: [
      '-m',
      'conntrack',
      '--ctstate',
      'NEW',
      '-m',
      'comment',
      '--comment',
      'skiff external services',
      '-j',
      'SKIFF-EXTERNAL',
    ],
  },
];

export interface ProxyInput {
  state: NetworkState;
  node: string;
  /** this node's pod subnet gateway, where the agent's DNS server listens */
  dns?: { ip: string; port: number };
}

export interface ProxyRules {
  /** iptables-restore --noflush input for both tables, without stale-chain deletion */
  tables: { nat: string[]; filter: string[] };
  /** every chain of ours the text declares, per table */
  chains: { nat: Set<string>; filter: Set<string> };
}

function hash(s: string): string {
  // kube-proxy: base32 of sha256, 16 characters, so chain names stay under 29 characters
  return base32NoPad(createHash('sha256').update(s).digest()).slice(0, 16);
}

/** the 16-character chain name suffix, for the NetworkPolicy chains too */
export const chainHash = hash;

const q = (s: string) => `"${s.replace(/["\\]/g, '')}"`;

interface PortTarget {
  ep: NetEndpoint;
  port: number;
}

/** the endpoints a service port reaches, with the endpoint's port for it */
function targets(svc: NetService, portName: string, protocol: string): PortTarget[] {
  const out: PortTarget[] = [];
  for (const ep of svc.endpoints) {
    if (!ep.ready || ep.terminating) continue;
    const p =
      ep.ports.find((x) => x.name === portName && x.protocol === protocol) ??
      (svc.ports.length === 1 ? ep.ports.find((x) => x.protocol === protocol) : undefined);
    if (p) out.push({ ep, port: p.port });
  }
  return out;
}

export function buildProxyRules(input: ProxyInput): ProxyRules {
  const { state, node } = input;
  const cluster = state.clusterCIDR;
  const myPods = state.nodes.find((n) => n.name === node)?.podCIDR;
  const nat: string[] = [];
  const filter: string[] = [];
  const natChains = new Set(['SKIFF-SERVICES', 'SKIFF-NODEPORTS', 'SKIFF-POSTROUTING', 'SKIFF-MARK-MASQ']);
  const filterChains = new Set(['SKIFF-FORWARD', 'SKIFF-SERVICES', 'SKIFF-EXTERNAL']);
  const natRules: string[] = [];
  const svcRules: string[] = [];
  const nodePortRules: string[] = [];
  const filterSvc: string[] = [];
  const filterExt: string[] = [];

  natRules.push(`-A SKIFF-MARK-MASQ -j MARK --or-mark 0x4000`);
  // service traffic marked for SNAT, then pod traffic leaving the pod network (flannel's ip-masq)
  natRules.push(
    `-A SKIFF-POSTROUTING -m mark --mark ${MASQ_MARK} -m comment --comment ${q('service traffic requiring SNAT')} -j MASQUERADE`,
  );
  natRules.push(
    `-A SKIFF-POSTROUTING -s ${cluster} -d ${cluster} -m comment --comment ${q('pod to pod: no NAT')} -j RETURN`,
  );
  natRules.push(
    `-A SKIFF-POSTROUTING -s ${cluster} ! -d 224.0.0.0/4 -m comment --comment ${q('pods leaving the cluster network')} -j MASQUERADE`,
  );

  // Docker's FORWARD rules only admit published ports into its bridges: let the pod network through
  filter.push(`-A SKIFF-FORWARD -s ${cluster} -m comment --comment ${q('pod network')} -j ACCEPT`);
  filter.push(`-A SKIFF-FORWARD -d ${cluster} -m comment --comment ${q('pod network')} -j ACCEPT`);
  filter.push(`-A SKIFF-FORWARD -m mark --mark ${MASQ_MARK} -m comment --comment ${q('service traffic')} -j ACCEPT`);

  if (input.dns) {
    for (const proto of ['udp', 'tcp']) {
      svcRules.push(
        `-A SKIFF-SERVICES -d ${state.clusterDNS}/32 -p ${proto} -m ${proto} --dport 53 -m comment --comment ${q(`cluster DNS (${proto}) to this node`)} -j DNAT --to-destination ${input.dns.ip}:${input.dns.port}`,
      );
    }
  }

  for (const svc of state.services) {
    if (svc.type === 'ExternalName' || svc.headless) continue;
    if (input.dns && svc.clusterIP === state.clusterDNS) continue; // answered by this node's DNS server
    for (const sp of svc.ports) {
      if (sp.protocol === 'SCTP') continue;
      const proto = sp.protocol.toLowerCase();
      const id = `${svc.namespace}/${svc.name}:${sp.name}`;
      const h = hash(`${id}/${sp.protocol}`);
      const svcChain = `SKIFF-SVC-${h}`;
      const extChain = `SKIFF-EXT-${h}`;
      const localChain = `SKIFF-SVL-${h}`;
      const all = targets(svc, sp.name, sp.protocol);
      const local = all.filter((t) => t.ep.node === node);
      const internal = svc.internalTrafficPolicy === 'Local' ? local : all;
      const externalLocal = svc.externalTrafficPolicy === 'Local';
      const external: string[] = [];
      if (sp.nodePort) external.push('nodeport');
      const extIPs = [...(svc.externalIPs ?? []), ...(svc.loadBalancerIPs ?? [])];

      // endpoint chains
      const sepChain = (t: PortTarget) => `SKIFF-SEP-${hash(`${id}/${sp.protocol}/${t.ep.ip}:${t.port}`)}`;
      const seps = new Map<string, PortTarget>();
      for (const t of all) seps.set(sepChain(t), t);
      for (const [chain, t] of seps) {
        natChains.add(chain);
        natRules.push(`-A ${chain} -s ${t.ep.ip}/32 -m comment --comment ${q(id)} -j SKIFF-MARK-MASQ`);
        const affinity = svc.affinitySeconds ? ` -m recent --name ${chain} --set` : '';
        natRules.push(
          `-A ${chain} -p ${proto} -m comment --comment ${q(id)}${affinity} -m ${proto} -j DNAT --to-destination ${t.ep.ip}:${t.port}`,
        );
      }
      const spread = (chain: string, ts: PortTarget[]) => {
        if (svc.affinitySeconds) {
          for (const t of ts)
            natRules.push(
              `-A ${chain} -m comment --comment ${q(id)} -m recent --name ${sepChain(t)} --rcheck --seconds ${svc.affinitySeconds} --reap -j ${sepChain(t)}`,
            );
        }
        ts.forEach((t, i) => {
          const left = ts.length - i;
          const stat = left > 1 ? ` -m statistic --mode random --probability ${(1 / left).toFixed(11)}` : '';
          natRules.push(
            `-A ${chain} -m comment --comment ${q(`${id} -> ${t.ep.ip}:${t.port}`)}${stat} -j ${sepChain(t)}`,
          );
        });
      };

      // the cluster IP
      if (svc.clusterIP) {
        const match = `-d ${svc.clusterIP}/32 -p ${proto} -m ${proto} --dport ${sp.port}`;
        if (internal.length) {
          natChains.add(svcChain);
          svcRules.push(`-A SKIFF-SERVICES ${match} -m comment --comment ${q(`${id} cluster IP`)} -j ${svcChain}`);
          natRules.push(
            `-A ${svcChain} ! -s ${cluster} ${match} -m comment --comment ${q(`${id} cluster IP`)} -j SKIFF-MARK-MASQ`,
          );
          spread(svcChain, internal);
        } else {
          filterSvc.push(
            `-A SKIFF-SERVICES ${match} -m comment --comment ${q(`${id} has no endpoints`)} -j REJECT --reject-with icmp-port-unreachable`,
          );
        }
      }

      // node ports, load balancer and external IPs
      if (!sp.nodePort && !extIPs.length) continue;
      const reachable = externalLocal ? local.length > 0 : all.length > 0;
      if (all.length) {
        natChains.add(extChain);
        if (!natChains.has(svcChain) && all.length) {
          natChains.add(svcChain);
          spread(svcChain, all);
        }
        if (externalLocal) {
          // pods and this node itself may still use any endpoint; outside clients only local ones, unSNATed
          natRules.push(
            `-A ${extChain} -s ${cluster} -m comment --comment ${q(`${id} pod traffic for external destinations`)} -j ${svcChain}`,
          );
          natRules.push(
            `-A ${extChain} -m addrtype --src-type LOCAL -m comment --comment ${q(`${id} masquerade local traffic`)} -j SKIFF-MARK-MASQ`,
          );
          natRules.push(
            `-A ${extChain} -m addrtype --src-type LOCAL -m comment --comment ${q(`${id} route local traffic`)} -j ${svcChain}`,
          );
          if (local.length) {
            natChains.add(localChain);
            spread(localChain, local);
            natRules.push(`-A ${extChain} -j ${localChain}`);
          }
        } else {
          // this node's pods keep their address, as through the cluster IP (replies come back
          // through this node anyway), so NetworkPolicy on the backend sees the real client
          if (myPods)
            natRules.push(
              `-A ${extChain} -s ${myPods} -m comment --comment ${q(`${id} pods of this node`)} -j ${svcChain}`,
            );
          natRules.push(`-A ${extChain} -m comment --comment ${q(`${id} external`)} -j SKIFF-MARK-MASQ`);
          natRules.push(`-A ${extChain} -j ${svcChain}`);
        }
      }
      if (sp.nodePort) {
        if (all.length)
          nodePortRules.push(
            `-A SKIFF-NODEPORTS -p ${proto} -m comment --comment ${q(`${id} node port`)} -m ${proto} --dport ${sp.nodePort} -j ${extChain}`,
          );
        if (!reachable)
          filterExt.push(
            `-A SKIFF-EXTERNAL ! -s ${cluster} -m addrtype --dst-type LOCAL -p ${proto} -m ${proto} --dport ${sp.nodePort} -m comment --comment ${q(`${id} has no ${externalLocal ? 'local ' : ''}endpoints`)} -j ${all.length ? 'DROP' : 'REJECT --reject-with icmp-port-unreachable'}`,
          );
      }
      for (const ip of extIPs) {
        const match = `-d ${ip}/32 -p ${proto} -m ${proto} --dport ${sp.port}`;
        if (all.length)
          svcRules.push(`-A SKIFF-SERVICES ${match} -m comment --comment ${q(`${id} external IP`)} -j ${extChain}`);
        if (!reachable)
          filterExt.push(
            `-A SKIFF-EXTERNAL ! -s ${cluster} ${match} -m comment --comment ${q(`${id} has no ${externalLocal ? 'local ' : ''}endpoints`)} -j ${all.length ? 'DROP' : 'REJECT --reject-with icmp-port-unreachable'}`,
          );
        if (!all.length)
          filterSvc.push(
            `-A SKIFF-SERVICES ${match} -m comment --comment ${q(`${id} has no endpoints`)} -j REJECT --reject-with icmp-port-unreachable`,
          );
      }
    }
  }
  // node ports answer on every local address but loopback (that would need route_localnet)
  svcRules.push(
    `-A SKIFF-SERVICES ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -m comment --comment ${q('node ports')} -j SKIFF-NODEPORTS`,
  );

  for (const c of [...natChains].sort()) nat.push(`:${c} - [0:0]`);
  nat.push(...svcRules, ...nodePortRules, ...natRules);
  const filterOut = [...[...filterChains].sort().map((c) => `:${c} - [0:0]`), ...filter, ...filterSvc, ...filterExt];
  return { tables: { nat, filter: filterOut }, chains: { nat: natChains, filter: filterChains } };
}

/**
 * iptables-restore --noflush input: our chains (declaring a chain flushes it), including
 * stale chains of ours, which are left empty; `staleChains` lists them for deleteChains.
 */
export function restoreInput(rules: ProxyRules, existing: { nat: string[]; filter: string[] }): string {
  const out: string[] = [];
  for (const table of ['nat', 'filter'] as const) {
    out.push(`*${table}`);
    out.push(...rules.tables[table].filter((l) => l.startsWith(':')));
    for (const c of staleChains(rules, existing)[table]) out.push(`:${c} - [0:0]`);
    out.push(...rules.tables[table].filter((l) => !l.startsWith(':')));
    out.push('COMMIT');
  }
  return `${out.join('\n')}\n`;
}

export function staleChains(
  rules: ProxyRules,
  existing: { nat: string[]; filter: string[] },
): { nat: string[]; filter: string[] } {
  const pick = (t: 'nat' | 'filter') => existing[t].filter((c) => isOurChain(c) && !rules.chains[t].has(c));
  return { nat: pick('nat'), filter: pick('filter') };
}
