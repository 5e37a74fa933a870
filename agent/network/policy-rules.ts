// NetworkPolicy enforcement for this node's pods as iptables filter rules (chains SKIFF-NP-*),
// computed from the pushed network state. Pure: the same state gives the same text.
//
// Where packets are judged (all in the filter table, so after any Service DNAT: a ClusterIP
// or NodePort connection is judged on the backend pod's IP and port):
// - SKIFF-NP-FORWARD, hooked first in FORWARD: routed traffic (other nodes' pods, Service
//   traffic) and, with br_netfilter's bridge-nf-call-iptables, traffic bridged between two
//   pods of this node. Replies (ESTABLISHED, RELATED) pass at once; then the source's
//   egress chain (a pod of this node isolated for egress), then the destination's ingress
//   chain (a pod of this node isolated for ingress).
// - SKIFF-NP-INPUT, hooked first in INPUT: traffic from a pod of this node to the node
//   itself, chiefly the cluster DNS (the agent answers on the bridge gateway). The DNS server
//   counts as a pod in kube-system labelled k8s-app=kube-dns at the cluster DNS IP, port 53
//   (named ports dns/dns-tcp), so the usual "allow DNS" rules admit it; other traffic to the
//   node is judged by the pod's egress chain like any destination.
// Per pod and direction one chain (SKIFF-NP-I-/SKIFF-NP-E-<hash>): for each rule of the
// policies selecting the pod, its port matches, each either allowing at once (a rule without
// peers) or jumping to the rule's peer chain (SKIFF-NP-P-, shared by every pod the policy
// selects) and allowing when that chain marked the packet (a rule with one or two plain
// addresses has them matched in the pod's chain instead); then DROP. A peer chain marks
// the /32s of the pods its selectors match (pods keep their IPs across hosts: host-gw) and
// the CIDRs of its ipBlocks, an ipBlock with `except` through a sub-chain (SKIFF-NP-X-) that
// returns unmarked for the holes. Named ports are resolved against the target pod's
// container ports (ingress) or each destination pod's (egress: one rule per pod). Traffic
// from the node itself to its pods (probes) is never judged.
import type {
  NetPod,
  NetPolicy,
  NetPolicyPeer,
  NetPolicyPort,
  NetPolicyRule,
  NetworkState,
} from '../../proto/agent-protocol.js';
import { cidrContains, parseCidr, parseIPv4 } from '../../proto/cidr.js';
import { labelSelectorFromObject, matchLabels, type LabelSelector } from '../../proto/selectors.js';
import { chainHash } from './proxy-rules.js';

export const NP_FORWARD = 'SKIFF-NP-FORWARD';
export const NP_INPUT = 'SKIFF-NP-INPUT';
export const NP_MARK = '0x10000/0x10000';

/** the jumps into our chains; each must be the first rule of its built-in chain */
export const NP_HOOKS: { table: 'filter'; chain: 'FORWARD' | 'INPUT'; rule: string[] }[] = [
  {
    table: 'filter',
    chain: 'FORWARD',
    rule: ['-m', 'comment', '--comment', 'skiff network policies', '-j', NP_FORWARD],
  },
  { table: 'filter', chain: 'INPUT', rule: ['-m', 'comment', '--comment', 'skiff network policies', '-j', NP_INPUT] },
];

export interface PolicyInput {
  state: NetworkState;
  node: string;
  /** where this node's DNS server listens (the bridge gateway) */
  dns?: { ip: string; port: number };
}

export interface PolicyRules {
  filter: string[];
  chains: Set<string>;
}

/** a peer's addresses: a CIDR (absent = anywhere) and the pods inside it */
interface Addr {
  cidr?: string;
  except?: string[];
  pods: NetPod[];
}

const q = (s: string) => `"${s.replace(/["\\]/g, '')}"`;
const DNS_POD: NetPod = {
  namespace: 'kube-system',
  name: 'skiff-node-dns',
  ip: '0.0.0.0',
  labels: { 'k8s-app': 'kube-dns' },
  ports: [
    { name: 'dns', port: 53, protocol: 'UDP' },
    { name: 'dns-tcp', port: 53, protocol: 'TCP' },
  ],
};

class Matcher {
  private readonly cache = new Map<string, (l: Record<string, string> | undefined) => boolean>();
  private readonly nsLabels: Map<string, Record<string, string>>;

  constructor(state: NetworkState) {
    this.nsLabels = new Map((state.namespaces ?? []).map((n) => [n.name, n.labels ?? {}]));
  }

  selector(sel: LabelSelector): (l: Record<string, string> | undefined) => boolean {
    const key = JSON.stringify(sel);
    let fn = this.cache.get(key);
    if (!fn) {
      let reqs: ReturnType<typeof labelSelectorFromObject>;
      try {
        reqs = labelSelectorFromObject(sel);
      } catch {
        reqs = null;
      }
      fn = reqs ? (l) => matchLabels(reqs!, l) : () => false;
      this.cache.set(key, fn);
    }
    return fn;
  }

  namespaceLabels(ns: string): Record<string, string> {
    return this.nsLabels.get(ns) ?? { 'kubernetes.io/metadata.name': ns };
  }

  private readonly addrs = new WeakMap<NetPolicyRule, Addr[]>();

  /** a rule's peers as address sets with the pods they stand for (egress named ports); once per rule, not per target pod */
  peerAddrs(np: NetPolicy, rule: NetPolicyRule, pods: NetPod[]): Addr[] {
    let out = this.addrs.get(rule);
    if (out) return out;
    out = [];
    if (!rule.peers) out.push({ pods });
    for (const peer of rule.peers ?? []) {
      if (peer.ipBlock)
        out.push({
          cidr: peer.ipBlock.cidr,
          except: peer.ipBlock.except,
          pods: pods.filter((p) => inBlock(p.ip, peer.ipBlock!)),
        });
      else
        for (const p of pods) if (this.peerMatches(peer, np.namespace, p)) out.push({ cidr: `${p.ip}/32`, pods: [p] });
    }
    this.addrs.set(rule, out);
    return out;
  }

  selects(np: NetPolicy, pod: NetPod): boolean {
    return np.namespace === pod.namespace && this.selector(np.podSelector)(pod.labels);
  }

  /** a selector peer of a policy in `ns` matches the pod */
  peerMatches(peer: NetPolicyPeer, ns: string, pod: NetPod): boolean {
    if (peer.ipBlock || (!peer.podSelector && !peer.namespaceSelector)) return false;
    if (
      peer.namespaceSelector
        ? !this.selector(peer.namespaceSelector)(this.namespaceLabels(pod.namespace))
        : pod.namespace !== ns
    )
      return false;
    return peer.podSelector ? this.selector(peer.podSelector)(pod.labels) : true;
  }
}

function inBlock(ip: string, block: { cidr: string; except?: string[] }): boolean {
  const n = parseIPv4(ip);
  const c = parseCidr(block.cidr);
  if (n === undefined || !c || !cidrContains(c, n)) return false;
  return !(block.except ?? []).some((e) => {
    const x = parseCidr(e);
    return !!x && cidrContains(x, n);
  });
}

/** `-p tcp -m tcp --dport 80[:90]`, or just `-p udp` for a protocol without port */
function portMatch(p: NetPolicyPort, n: number | undefined): string {
  const proto = p.protocol.toLowerCase();
  return n === undefined
    ? `-p ${proto}`
    : `-p ${proto} -m ${proto} --dport ${p.endPort !== undefined ? `${n}:${p.endPort}` : n}`;
}

/** what one rule adds to a pod's chain: port matches that allow at once, or that go to the rule's peer chain */
type Step = { match: string; peers?: string };
/** a rule's peers: a shared chain that marks them, or (a few plain addresses) matches to inline */
type PeerRef = { chain: string } | { inline: string[] };
/** up to this many addresses without `except` are matched in the pod's chain itself */
const INLINE_PEERS = 2;

function ruleSteps(
  m: Matcher,
  np: NetPolicy,
  rule: NetPolicyRule,
  self: NetPod,
  dir: 'in' | 'out',
  pods: NetPod[],
  peerChain: () => PeerRef | undefined,
): Step[] {
  const out: Step[] = [];
  const matches: string[] = [];
  for (const port of rule.ports ?? [undefined]) {
    if (!port) {
      matches.push('');
      continue;
    }
    if (typeof port.port !== 'string') {
      matches.push(portMatch(port, port.port));
      continue;
    }
    // a named port: the target pod's for ingress, each destination pod's for egress
    const named = (p: NetPod) => p.ports?.find((x) => x.name === port.port && x.protocol === port.protocol)?.port;
    if (dir === 'in') {
      const n = named(self);
      if (n !== undefined) matches.push(portMatch(port, n));
      continue;
    }
    for (const a of m.peerAddrs(np, rule, pods)) {
      for (const p of a.pods) {
        const n = named(p);
        if (n !== undefined) out.push({ match: `-d ${p.ip}/32 ${portMatch(port, n)}` });
      }
    }
  }
  if (!matches.length) return out;
  if (!rule.peers) return [...out, ...matches.map((match) => ({ match }))];
  const ref = peerChain();
  if (ref && 'chain' in ref) out.push(...matches.map((match) => ({ match, peers: ref.chain })));
  if (ref && 'inline' in ref)
    for (const where of ref.inline) out.push(...matches.map((match) => ({ match: `${where}${match}`.trim() })));
  return out;
}

/** may `self` reach the node's DNS server over proto (egress rules of the policies isolating it) */
function dnsAllowed(m: Matcher, policies: NetPolicy[], self: NetPod, proto: 'UDP' | 'TCP', dnsIPs: string[]): boolean {
  for (const np of policies) {
    for (const rule of np.egress ?? []) {
      const portOk =
        !rule.ports ||
        rule.ports.some(
          (p) =>
            p.protocol === proto &&
            (p.port === undefined ||
              (typeof p.port === 'number'
                ? p.port <= 53 && 53 <= (p.endPort ?? p.port)
                : DNS_POD.ports!.some((x) => x.name === p.port && x.protocol === proto))),
        );
      if (!portOk) continue;
      const peerOk =
        !rule.peers ||
        rule.peers.some((peer) =>
          peer.ipBlock ? dnsIPs.some((ip) => inBlock(ip, peer.ipBlock!)) : m.peerMatches(peer, np.namespace, DNS_POD),
        );
      if (peerOk) return true;
    }
  }
  return false;
}

export function buildPolicyRules(input: PolicyInput): PolicyRules {
  const { state, node } = input;
  const policies = state.policies ?? [];
  const pods = state.pods ?? [];
  const chains = new Set([NP_FORWARD, NP_INPUT]);
  const filter: string[] = [];
  if (!policies.length) return { filter: [...[...chains].map((c) => `:${c} - [0:0]`)], chains };
  const m = new Matcher(state);
  const egressJumps: string[] = [];
  const ingressJumps: string[] = [];
  const inputRules: string[] = [];
  const body: string[] = [];
  const dnsIPs = [state.clusterDNS, ...(input.dns ? [input.dns.ip] : [])];
  // one chain per (policy, rule) with peers, shared by every pod the policy selects: marks
  // what its peers send (ingress) or where they live (egress); undefined when no peer matches
  const peerChains = new Map<NetPolicyRule, PeerRef | undefined>();
  const peerChain = (np: NetPolicy, rule: NetPolicyRule, dir: 'in' | 'out', i: number): PeerRef | undefined => {
    if (peerChains.has(rule)) return peerChains.get(rule);
    const flag = dir === 'in' ? '-s' : '-d';
    const whereOf = (a: Addr) => (a.cidr && a.cidr !== '0.0.0.0/0' ? `${flag} ${a.cidr} ` : '');
    const addrs = [...new Map(m.peerAddrs(np, rule, pods).map((a) => [`${whereOf(a)}|${a.except ?? ''}`, a])).values()];
    let ref: PeerRef | undefined;
    if (addrs.length && addrs.length <= INLINE_PEERS && addrs.every((a) => !a.except?.length))
      ref = { inline: addrs.map(whereOf) };
    else if (addrs.length) ref = { chain: `SKIFF-NP-P-${chainHash(`${np.namespace}/${np.name}/${dir}/${i}`)}` };
    peerChains.set(rule, ref);
    if (!ref || !('chain' in ref)) return ref;
    const name = ref.chain;
    chains.add(name);
    for (const a of addrs) {
      const where = whereOf(a);
      if (!a.except?.length) {
        body.push(`-A ${name} ${where}-j MARK --set-xmark ${NP_MARK}`);
        continue;
      }
      const sub = `SKIFF-NP-X-${chainHash(`${name}/${a.cidr}/${a.except.join(',')}`)}`;
      chains.add(sub);
      for (const e of a.except) body.push(`-A ${sub} ${flag} ${e} -j RETURN`);
      body.push(`-A ${sub} -j MARK --set-xmark ${NP_MARK}`);
      body.push(`-A ${name} ${where}-j ${sub}`);
    }
    return ref;
  };

  for (const self of pods.filter((p) => p.node === node)) {
    const id = `${self.namespace}/${self.name}`;
    for (const dir of ['in', 'out'] as const) {
      const selecting = policies.filter(
        (np) => (dir === 'in' ? np.ingress : np.egress) !== undefined && m.selects(np, self),
      );
      if (!selecting.length) continue;
      const chain = `SKIFF-NP-${dir === 'in' ? 'I' : 'E'}-${chainHash(`${id}/${dir}`)}`;
      chains.add(chain);
      const steps = new Map<string, Step>();
      for (const np of selecting) {
        ((dir === 'in' ? np.ingress : np.egress) ?? []).forEach((rule, i) => {
          const peers = () => peerChain(np, rule, dir, i);
          for (const st of ruleSteps(m, np, rule, self, dir, pods, peers))
            steps.set(`${st.match}|${st.peers ?? ''}`, st);
        });
      }
      const lines: string[] = [];
      const sp = (match: string) => (match ? `${match} ` : '');
      if ([...steps.values()].some((st) => st.peers))
        lines.push(`-A ${chain} -j MARK --set-xmark 0x0/${NP_MARK.split('/')[1]}`);
      for (const st of steps.values()) {
        if (!st.peers) lines.push(`-A ${chain} ${sp(st.match)}-j RETURN`);
        else lines.push(`-A ${chain} ${sp(st.match)}-j ${st.peers}`, `-A ${chain} -m mark --mark ${NP_MARK} -j RETURN`);
      }
      lines.push(
        `-A ${chain} -m comment --comment ${q(`${id} ${dir === 'in' ? 'ingress' : 'egress'} not allowed by policy`)} -j DROP`,
      );
      body.push(...lines);
      const comment = `-m comment --comment ${q(`${id} ${dir === 'in' ? 'ingress' : 'egress'} policies`)}`;
      if (dir === 'in') ingressJumps.push(`-A ${NP_FORWARD} -d ${self.ip}/32 ${comment} -j ${chain}`);
      else {
        egressJumps.push(`-A ${NP_FORWARD} -s ${self.ip}/32 ${comment} -j ${chain}`);
        if (input.dns) {
          for (const proto of ['UDP', 'TCP'] as const) {
            if (dnsAllowed(m, selecting, self, proto, dnsIPs)) {
              const p = proto.toLowerCase();
              inputRules.push(
                `-A ${NP_INPUT} -s ${self.ip}/32 -d ${input.dns.ip}/32 -p ${p} -m ${p} --dport ${input.dns.port} -m comment --comment ${q(`${id} cluster DNS allowed`)} -j RETURN`,
              );
            }
          }
        }
        inputRules.push(`-A ${NP_INPUT} -s ${self.ip}/32 ${comment} -j ${chain}`);
      }
    }
  }
  const established = (c: string) =>
    `-A ${c} -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment ${q('replies of allowed connections')} -j RETURN`;
  if (egressJumps.length || ingressJumps.length) filter.push(established(NP_FORWARD), ...egressJumps, ...ingressJumps);
  if (inputRules.length) filter.push(established(NP_INPUT), ...inputRules);
  filter.push(...body);
  return { filter: [...[...chains].sort().map((c) => `:${c} - [0:0]`), ...filter], chains };
}
