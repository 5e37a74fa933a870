// The NetworkPolicy planner (agent/network/policy-rules.ts), table-tested by running its
// iptables text through a small evaluator of the matches it uses (-s/-d, -p/--dport ranges,
// conntrack state, marks, jumps, RETURN/DROP): each row is policies + pods + one packet ->
// passed or dropped. Plus the hook placement check.
import { describe, expect, it } from 'vitest';
import { buildPolicyRules, NP_FORWARD, NP_INPUT } from '../../agent/network/policy-rules.js';
import { hookIsFirst } from '../../agent/network/policy-hooks.js';
import { buildProxyRules, staleChains } from '../../agent/network/proxy-rules.js';
import type { NetNamespace, NetPod, NetPolicy, NetworkState } from '../../proto/agent-protocol.js';
import { cidrContains, parseCidr, parseIPv4 } from '../../proto/cidr.js';

interface Packet {
  src: string;
  dst: string;
  proto?: 'tcp' | 'udp' | 'sctp';
  dport: number;
  state?: 'NEW' | 'ESTABLISHED';
}

/** evaluates `chain` of the filter lines: 'DROP' or 'PASS' (fell through / RETURNed from the hook chain) */
function evaluate(lines: string[], chain: string, pkt: Packet): 'DROP' | 'PASS' {
  const chains = new Map<string, string[][]>();
  for (const l of lines) {
    if (l.startsWith(':')) chains.set(l.slice(1).split(' ')[0]!, []);
  }
  for (const l of lines) {
    if (!l.startsWith('-A ')) continue;
    const words = l.match(/"[^"]*"|\S+/g) ?? [];
    const c = chains.get(words[1]!);
    if (!c) throw new Error(`rule for undeclared chain: ${l}`);
    c.push(words.slice(2));
  }
  let mark = 0;
  const inNet = (ip: string, cidr: string) => {
    const c = parseCidr(cidr.includes('/') ? cidr : `${cidr}/32`);
    if (!c) throw new Error(`bad cidr ${cidr}`);
    return cidrContains(c, parseIPv4(ip)!);
  };
  const run = (name: string, depth: number): 'DROP' | 'RETURN' => {
    if (depth > 10) throw new Error('loop');
    for (const w of chains.get(name) ?? []) {
      let ok = true;
      let target = '';
      const args: string[] = [];
      for (let i = 0; i < w.length; i++) {
        const a = w[i]!;
        const v = w[i + 1] ?? '';
        switch (a) {
          case '-s':
            ok &&= inNet(pkt.src, v);
            i++;
            break;
          case '-d':
            ok &&= inNet(pkt.dst, v);
            i++;
            break;
          case '-p':
            ok &&= (pkt.proto ?? 'tcp') === v;
            i++;
            break;
          case '--dport': {
            const [lo, hi] = v.split(':').map(Number);
            ok &&= pkt.dport >= lo! && pkt.dport <= (hi ?? lo!);
            i++;
            break;
          }
          case '--ctstate':
            ok &&= v.split(',').includes(pkt.state ?? 'NEW');
            i++;
            break;
          case '--mark': {
            const [val, m] = v.split('/').map(Number);
            ok &&= (mark & m!) === val;
            i++;
            break;
          }
          case '-m':
          case '--comment':
            i++;
            break;
          case '-j':
            target = v;
            i++;
            args.push(...w.slice(i + 1));
            i = w.length;
            break;
          default:
            throw new Error(`unknown match ${a} in ${w.join(' ')}`);
        }
      }
      if (!ok) continue;
      if (target === 'DROP') return 'DROP';
      if (target === 'RETURN') return 'RETURN';
      if (target === 'MARK') {
        const [val, m] = args[1]!.split('/').map(Number);
        mark = (mark & ~m!) | val!;
        continue;
      }
      if (!chains.has(target)) throw new Error(`jump to unknown chain ${target}`);
      if (run(target, depth + 1) === 'DROP') return 'DROP';
    }
    return 'RETURN';
  };
  return run(chain, 0) === 'DROP' ? 'DROP' : 'PASS';
}

const pod = (
  name: string,
  ip: string,
  node: string,
  labels: Record<string, string>,
  namespace = 'default',
  ports?: NetPod['ports'],
): NetPod => ({ name, namespace, ip, node, labels, ...(ports ? { ports } : {}) });
const server = pod('server', '10.42.0.10', 'n1', { app: 'server' }, 'default', [
  { name: 'http', port: 8080, protocol: 'TCP' },
]);
const friend = pod('friend', '10.42.0.11', 'n1', { role: 'friend' });
const stranger = pod('stranger', '10.42.1.12', 'n2', { role: 'stranger' });
const remoteFriend = pod('remote-friend', '10.42.1.13', 'n2', { role: 'friend' });
const otherNsFriend = pod('ns-friend', '10.42.1.14', 'n2', { role: 'friend' }, 'team-a');
const teamB = pod('team-b', '10.42.1.15', 'n2', { role: 'friend' }, 'team-b');
const web2 = pod('web2', '10.42.1.20', 'n2', { app: 'web' }, 'default', [{ name: 'web', port: 9000, protocol: 'TCP' }]);
const PODS = [server, friend, stranger, remoteFriend, otherNsFriend, teamB, web2];
const NAMESPACES: NetNamespace[] = [
  { name: 'default', labels: { 'kubernetes.io/metadata.name': 'default' } },
  { name: 'team-a', labels: { 'kubernetes.io/metadata.name': 'team-a', team: 'a' } },
  { name: 'team-b', labels: { 'kubernetes.io/metadata.name': 'team-b', team: 'b' } },
  { name: 'kube-system', labels: { 'kubernetes.io/metadata.name': 'kube-system' } },
];

const np = (name: string, o: Partial<NetPolicy>): NetPolicy => ({
  namespace: 'default',
  name,
  podSelector: { matchLabels: { app: 'server' } },
  ...o,
});
const state = (policies: NetPolicy[]): NetworkState => ({
  type: 'network',
  clusterCIDR: '10.42.0.0/16',
  serviceCIDR: '10.43.0.0/16',
  clusterDNS: '10.43.0.10',
  clusterDomain: 'cluster.local',
  nodes: [
    { name: 'n1', podCIDR: '10.42.0.0/24' },
    { name: 'n2', podCIDR: '10.42.1.0/24' },
  ],
  services: [],
  policies,
  pods: PODS,
  namespaces: NAMESPACES,
});
const DNS = { ip: '10.42.0.1', port: 53 };

const toServer = (from: NetPod, dport = 8080, extra: Partial<Packet> = {}): Packet => ({
  src: from.ip,
  dst: server.ip,
  dport,
  ...extra,
});
const fromServer = (to: string, dport: number, extra: Partial<Packet> = {}): Packet => ({
  src: server.ip,
  dst: to,
  dport,
  ...extra,
});

const onlyFriends = np('only-friends', {
  ingress: [{ peers: [{ podSelector: { matchLabels: { role: 'friend' } } }] }],
});
const denyIngress = np('deny-in', { ingress: [] });
const denyEgress = np('deny-out', { egress: [] });

const rows: { name: string; policies: NetPolicy[]; pkt: Packet; chain?: string; want: 'PASS' | 'DROP' }[] = [
  { name: 'no policy: everything passes', policies: [], pkt: toServer(stranger), want: 'PASS' },
  { name: 'deny-all ingress drops a new connection', policies: [denyIngress], pkt: toServer(friend), want: 'DROP' },
  {
    name: 'deny-all ingress lets replies through',
    policies: [denyIngress],
    pkt: toServer(friend, 8080, { state: 'ESTABLISHED' }),
    want: 'PASS',
  },
  {
    name: 'deny-all ingress leaves egress alone',
    policies: [denyIngress],
    pkt: fromServer(stranger.ip, 80),
    want: 'PASS',
  },
  {
    name: 'a policy selecting other pods changes nothing',
    policies: [np('x', { podSelector: { matchLabels: { app: 'nope' } }, ingress: [] })],
    pkt: toServer(stranger),
    want: 'PASS',
  },
  { name: 'podSelector admits a friend on this node', policies: [onlyFriends], pkt: toServer(friend), want: 'PASS' },
  {
    name: 'podSelector admits a friend on another node',
    policies: [onlyFriends],
    pkt: toServer(remoteFriend),
    want: 'PASS',
  },
  { name: 'podSelector drops a stranger', policies: [onlyFriends], pkt: toServer(stranger), want: 'DROP' },
  {
    name: "podSelector alone is the policy's namespace only",
    policies: [onlyFriends],
    pkt: toServer(otherNsFriend),
    want: 'DROP',
  },
  {
    name: 'policies add up: deny-all plus allow-friends admits friends',
    policies: [denyIngress, onlyFriends],
    pkt: toServer(friend),
    want: 'PASS',
  },
  {
    name: 'namespaceSelector admits a pod of a labelled namespace',
    policies: [np('ns', { ingress: [{ peers: [{ namespaceSelector: { matchLabels: { team: 'a' } } }] }] })],
    pkt: toServer(otherNsFriend),
    want: 'PASS',
  },
  {
    name: 'namespaceSelector drops a pod of another namespace',
    policies: [np('ns', { ingress: [{ peers: [{ namespaceSelector: { matchLabels: { team: 'a' } } }] }] })],
    pkt: toServer(teamB),
    want: 'DROP',
  },
  {
    name: "namespaceSelector drops the policy's own namespace unless it matches",
    policies: [np('ns', { ingress: [{ peers: [{ namespaceSelector: { matchLabels: { team: 'a' } } }] }] })],
    pkt: toServer(friend),
    want: 'DROP',
  },
  {
    name: 'namespaceSelector and podSelector together: both must match',
    policies: [
      np('both', {
        ingress: [
          {
            peers: [
              {
                namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'Exists' }] },
                podSelector: { matchLabels: { role: 'friend' } },
              },
            ],
          },
        ],
      }),
    ],
    pkt: toServer(teamB),
    want: 'PASS',
  },
  {
    name: 'namespaceSelector and podSelector together: pod label missing',
    policies: [
      np('both', {
        ingress: [
          {
            peers: [
              {
                namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'Exists' }] },
                podSelector: { matchLabels: { role: 'enemy' } },
              },
            ],
          },
        ],
      }),
    ],
    pkt: toServer(teamB),
    want: 'DROP',
  },
  {
    name: 'empty namespaceSelector: every namespace',
    policies: [np('all-ns', { ingress: [{ peers: [{ namespaceSelector: {} }] }] })],
    pkt: toServer(teamB),
    want: 'PASS',
  },
  {
    name: 'ipBlock admits its CIDR',
    policies: [np('ipb', { ingress: [{ peers: [{ ipBlock: { cidr: '10.42.1.0/24', except: ['10.42.1.12/32'] } }] }] })],
    pkt: toServer(remoteFriend),
    want: 'PASS',
  },
  {
    name: 'ipBlock except drops the hole',
    policies: [np('ipb', { ingress: [{ peers: [{ ipBlock: { cidr: '10.42.1.0/24', except: ['10.42.1.12/32'] } }] }] })],
    pkt: toServer(stranger),
    want: 'DROP',
  },
  {
    name: 'ipBlock outside drops',
    policies: [np('ipb', { ingress: [{ peers: [{ ipBlock: { cidr: '10.42.1.0/24', except: ['10.42.1.12/32'] } }] }] })],
    pkt: toServer(friend),
    want: 'DROP',
  },
  {
    name: 'an IPv6 ipBlock ({} peer) matches nothing',
    policies: [np('v6', { ingress: [{ peers: [{}] }] })],
    pkt: toServer(friend),
    want: 'DROP',
  },
  {
    name: 'empty rule: everyone, every port',
    policies: [np('open', { ingress: [{}] })],
    pkt: toServer(stranger, 1234),
    want: 'PASS',
  },
  {
    name: 'port: the allowed one',
    policies: [np('port', { ingress: [{ ports: [{ protocol: 'TCP', port: 8080 }] }] })],
    pkt: toServer(stranger),
    want: 'PASS',
  },
  {
    name: 'port: another one drops',
    policies: [np('port', { ingress: [{ ports: [{ protocol: 'TCP', port: 8080 }] }] })],
    pkt: toServer(stranger, 8081),
    want: 'DROP',
  },
  {
    name: 'port: the protocol counts',
    policies: [np('port', { ingress: [{ ports: [{ protocol: 'TCP', port: 8080 }] }] })],
    pkt: toServer(stranger, 8080, { proto: 'udp' }),
    want: 'DROP',
  },
  {
    name: 'port without number: every port of the protocol',
    policies: [np('udp', { ingress: [{ ports: [{ protocol: 'UDP' }] }] })],
    pkt: toServer(stranger, 9999, { proto: 'udp' }),
    want: 'PASS',
  },
  {
    name: 'endPort: inside the range',
    policies: [np('range', { ingress: [{ ports: [{ protocol: 'TCP', port: 8000, endPort: 8100 }] }] })],
    pkt: toServer(stranger, 8100),
    want: 'PASS',
  },
  {
    name: 'endPort: past the range',
    policies: [np('range', { ingress: [{ ports: [{ protocol: 'TCP', port: 8000, endPort: 8100 }] }] })],
    pkt: toServer(stranger, 8101),
    want: 'DROP',
  },
  {
    name: 'named port: resolved on the target pod',
    policies: [np('named', { ingress: [{ ports: [{ protocol: 'TCP', port: 'http' }] }] })],
    pkt: toServer(stranger, 8080),
    want: 'PASS',
  },
  {
    name: 'named port: another port drops',
    policies: [np('named', { ingress: [{ ports: [{ protocol: 'TCP', port: 'http' }] }] })],
    pkt: toServer(stranger, 9000),
    want: 'DROP',
  },
  {
    name: 'named port the pod lacks: nothing allowed',
    policies: [np('named', { ingress: [{ ports: [{ protocol: 'TCP', port: 'metrics' }] }] })],
    pkt: toServer(stranger, 8080),
    want: 'DROP',
  },
  {
    name: 'peers and ports together: friend on the wrong port',
    policies: [
      np('both', {
        ingress: [
          { peers: [{ podSelector: { matchLabels: { role: 'friend' } } }], ports: [{ protocol: 'TCP', port: 80 }] },
        ],
      }),
    ],
    pkt: toServer(friend, 8080),
    want: 'DROP',
  },
  {
    name: 'egress deny-all drops to other pods',
    policies: [denyEgress],
    pkt: fromServer(stranger.ip, 80),
    want: 'DROP',
  },
  {
    name: 'egress deny-all lets replies out',
    policies: [denyEgress],
    pkt: fromServer(stranger.ip, 80, { state: 'ESTABLISHED' }),
    want: 'PASS',
  },
  {
    name: 'egress deny-all drops to the outside',
    policies: [denyEgress],
    pkt: fromServer('192.0.2.7', 443),
    want: 'DROP',
  },
  {
    name: 'egress deny-all drops DNS to the node',
    policies: [denyEgress],
    pkt: fromServer(DNS.ip, 53, { proto: 'udp' }),
    chain: NP_INPUT,
    want: 'DROP',
  },
  { name: 'egress deny-all does not judge ingress', policies: [denyEgress], pkt: toServer(stranger), want: 'PASS' },
  {
    name: 'egress port 53 rule admits DNS to the node',
    policies: [np('dns', { egress: [{ ports: [{ protocol: 'UDP', port: 53 }] }] })],
    pkt: fromServer(DNS.ip, 53, { proto: 'udp' }),
    chain: NP_INPUT,
    want: 'PASS',
  },
  {
    name: 'egress port 53 UDP only: DNS over TCP drops',
    policies: [np('dns', { egress: [{ ports: [{ protocol: 'UDP', port: 53 }] }] })],
    pkt: fromServer(DNS.ip, 53),
    chain: NP_INPUT,
    want: 'DROP',
  },
  {
    name: 'egress to kube-dns in kube-system admits DNS',
    policies: [
      np('dns', {
        egress: [
          {
            peers: [
              {
                namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
                podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
              },
            ],
            ports: [{ protocol: 'UDP', port: 53 }],
          },
        ],
      }),
    ],
    pkt: fromServer(DNS.ip, 53, { proto: 'udp' }),
    chain: NP_INPUT,
    want: 'PASS',
  },
  {
    name: 'egress to the pods of default does not admit DNS',
    policies: [np('dns', { egress: [{ peers: [{ podSelector: {} }] }] })],
    pkt: fromServer(DNS.ip, 53, { proto: 'udp' }),
    chain: NP_INPUT,
    want: 'DROP',
  },
  {
    name: 'egress ipBlock admits its one address',
    policies: [np('one', { egress: [{ peers: [{ ipBlock: { cidr: '192.0.2.7/32' } }] }] })],
    pkt: fromServer('192.0.2.7', 443),
    want: 'PASS',
  },
  {
    name: 'egress ipBlock drops others',
    policies: [np('one', { egress: [{ peers: [{ ipBlock: { cidr: '192.0.2.7/32' } }] }] })],
    pkt: fromServer('192.0.2.8', 443),
    want: 'DROP',
  },
  {
    name: 'egress podSelector admits a selected destination',
    policies: [np('to-web', { egress: [{ peers: [{ podSelector: { matchLabels: { app: 'web' } } }] }] })],
    pkt: fromServer(web2.ip, 9000),
    want: 'PASS',
  },
  {
    name: 'egress named port: resolved on the destination pod',
    policies: [np('to-web', { egress: [{ ports: [{ protocol: 'TCP', port: 'web' }] }] })],
    pkt: fromServer(web2.ip, 9000),
    want: 'PASS',
  },
  {
    name: 'egress named port: another port of the destination drops',
    policies: [np('to-web', { egress: [{ ports: [{ protocol: 'TCP', port: 'web' }] }] })],
    pkt: fromServer(web2.ip, 9001),
    want: 'DROP',
  },
  {
    name: 'egress and ingress both judged: egress allows, ingress of the local peer denies',
    policies: [
      np('out', { egress: [{}] }),
      np('in-friend', { podSelector: { matchLabels: { role: 'friend' } }, ingress: [] }),
    ],
    pkt: fromServer(friend.ip, 80),
    want: 'DROP',
  },
  {
    name: 'egress and ingress both judged: both allow',
    policies: [
      np('out', { egress: [{}] }),
      np('in-friend', { podSelector: { matchLabels: { role: 'friend' } }, ingress: [{}] }),
    ],
    pkt: fromServer(friend.ip, 80),
    want: 'PASS',
  },
  {
    name: 'remote pods are judged on their own node: no rules here for them',
    policies: [np('remote', { podSelector: { matchLabels: { role: 'stranger' } }, ingress: [] })],
    pkt: { src: friend.ip, dst: stranger.ip, dport: 80 },
    want: 'PASS',
  },
  {
    name: 'mark from an egress except clause does not leak into ingress',
    policies: [
      np('out', { egress: [{ peers: [{ ipBlock: { cidr: '10.42.0.0/16', except: ['10.42.9.0/24'] } }] }] }),
      np('in-friend', {
        podSelector: { matchLabels: { role: 'friend' } },
        ingress: [{ peers: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.42.0.0/24'] } }] }],
      }),
    ],
    pkt: fromServer(friend.ip, 80),
    want: 'DROP',
  },
];

describe('buildPolicyRules', () => {
  it.each(rows)('$name', ({ policies, pkt, chain, want }) => {
    const r = buildPolicyRules({ state: state(policies), node: 'n1', dns: DNS });
    expect(evaluate(r.filter, chain ?? NP_FORWARD, pkt)).toBe(want);
  });

  it('declares only the hook chains, empty, when there is no policy', () => {
    const r = buildPolicyRules({ state: { ...state([]), policies: undefined, pods: undefined }, node: 'n1', dns: DNS });
    expect(r.filter).toEqual([`:${NP_FORWARD} - [0:0]`, `:${NP_INPUT} - [0:0]`]);
  });

  it("names chains within iptables' 28 characters, one per isolated pod and direction", () => {
    const r = buildPolicyRules({ state: state([onlyFriends, denyEgress]), node: 'n1', dns: DNS });
    const names = [...r.chains];
    expect(names.filter((c) => c.startsWith('SKIFF-NP-I-'))).toHaveLength(1);
    expect(names.filter((c) => c.startsWith('SKIFF-NP-E-'))).toHaveLength(1);
    for (const c of names) expect(c.length).toBeLessThanOrEqual(28);
    // the same state gives the same text
    expect(buildPolicyRules({ state: state([onlyFriends, denyEgress]), node: 'n1', dns: DNS }).filter).toEqual(
      r.filter,
    );
  });

  it('follows a label change: the pod stops matching the peer selector', () => {
    const relabelled = {
      ...state([onlyFriends]),
      pods: PODS.map((p) => (p === friend ? { ...p, labels: { role: 'stranger' } } : p)),
    };
    const r = buildPolicyRules({ state: relabelled, node: 'n1', dns: DNS });
    expect(evaluate(r.filter, NP_FORWARD, toServer(friend))).toBe('DROP');
  });
});

describe('hookIsFirst', () => {
  it('wants the jump as the first rule of the chain', () => {
    const hook = '-A FORWARD -m comment --comment "skiff network policies" -j SKIFF-NP-FORWARD';
    expect(
      hookIsFirst(`-P FORWARD ACCEPT\n${hook}\n-A FORWARD -j SKIFF-FORWARD\n`, 'FORWARD', 'SKIFF-NP-FORWARD'),
    ).toBe(true);
    expect(hookIsFirst(`-P FORWARD ACCEPT\n-A FORWARD -j DOCKER-USER\n${hook}\n`, 'FORWARD', 'SKIFF-NP-FORWARD')).toBe(
      false,
    );
    expect(hookIsFirst('-P FORWARD ACCEPT\n', 'FORWARD', 'SKIFF-NP-FORWARD')).toBe(false);
  });
});

describe('NodePort from a pod of the same node', () => {
  it("is not masqueraded, so the backend's policies see the pod (as through the cluster IP)", () => {
    const st = {
      ...state([]),
      services: [
        {
          namespace: 'default',
          name: 'web',
          type: 'NodePort' as const,
          clusterIP: '10.43.0.20',
          ports: [{ name: 'http', protocol: 'TCP' as const, port: 80, nodePort: 30080 }],
          endpoints: [
            {
              ip: '10.42.1.20',
              node: 'n2',
              ready: true,
              ports: [{ name: 'http', port: 8080, protocol: 'TCP' as const }],
            },
          ],
        },
      ],
    };
    const nat = buildProxyRules({ state: st, node: 'n1' }).tables.nat;
    const ext = nat.filter((l) => l.startsWith('-A SKIFF-EXT-'));
    expect(ext[0]).toMatch(/^-A SKIFF-EXT-\w+ -s 10\.42\.0\.0\/24 .* -j SKIFF-SVC-\w+$/);
    expect(ext[1]).toContain('-j SKIFF-MARK-MASQ');
  });
});

describe('stale chains', () => {
  it("are ours (SKIFF-NP-* included) but never scripts/hosts.sh's SKIFF-HOSTS*", () => {
    const rules = buildProxyRules({ state: state([]), node: 'n1' });
    const stale = staleChains(rules, {
      nat: ['SKIFF-HOSTS', 'SKIFF-SVC-OLD'],
      filter: ['SKIFF-HOSTS-FWD', 'SKIFF-NP-I-OLD', 'SKIFF-FORWARD', 'KUBE-FORWARD'],
    });
    expect(stale).toEqual({ nat: ['SKIFF-SVC-OLD'], filter: ['SKIFF-NP-I-OLD'] });
  });
});
