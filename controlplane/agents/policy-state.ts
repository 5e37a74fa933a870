// The NetworkPolicy part of the network state pushed to agents, from the API objects:
// each policy reduced to what enforcement reads (selectors, peers with IPv4 CIDRs in
// canonical form, ports; ingress/egress present only for the policyTypes it has), every
// pod that has a pod-network IP (namespace, labels, node, named container ports) and every
// namespace's labels. All pods rather than only the peers each node's policies name: an
// agent matches selectors itself, so a label change needs no server-side bookkeeping per
// node, and the list is only sent while at least one policy exists. Every entry is checked
// against its wire schema here, so one odd object cannot stop every agent's updates.
import type { Logger } from 'pino';
import {
  NetNamespace,
  NetPod,
  NetPolicy,
  type NetPolicyPeer,
  type NetPolicyPort,
  type NetPolicyRule,
  type NetworkState,
} from '../../proto/agent-protocol.js';
import type { KubeObject } from '../../proto/meta.js';
import { isRecord } from '../resources/meta-validation.js';
import { parseCidrSloppy } from '../resources/network-policy.js';

type PolicyPart = Pick<NetworkState, 'policies' | 'pods' | 'namespaces'>;

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function stringMap(v: unknown): Record<string, string> | undefined {
  if (!isRecord(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return Object.keys(out).length ? out : undefined;
}

function selector(v: unknown): NetPolicy['podSelector'] {
  if (!isRecord(v)) return {};
  const matchLabels = stringMap(v.matchLabels);
  const matchExpressions = list(v.matchExpressions)
    .filter(isRecord)
    .map((e) => ({
      key: String(e.key ?? ''),
      operator: String(e.operator ?? '') as 'In',
      ...(Array.isArray(e.values) ? { values: e.values.map(String) } : {}),
    }));
  return { ...(matchLabels ? { matchLabels } : {}), ...(matchExpressions.length ? { matchExpressions } : {}) };
}

/** an IPv4 CIDR as a.b.c.d/n with the host bits cleared; undefined for IPv6 or nonsense */
export function canonicalCidr4(s: unknown): string | undefined {
  const c = typeof s === 'string' ? parseCidrSloppy(s) : undefined;
  if (!c || c.v6) return undefined;
  const n = Number(c.bits);
  return `${[24, 16, 8, 0].map((sh) => (n >>> sh) & 255).join('.')}/${c.prefix}`;
}

function peer(v: unknown): NetPolicyPeer {
  if (!isRecord(v)) return {};
  if (isRecord(v.ipBlock)) {
    const cidr = canonicalCidr4(v.ipBlock.cidr);
    if (!cidr) return {}; // IPv6: matches no IPv4 traffic
    const except = list(v.ipBlock.except)
      .map(canonicalCidr4)
      .filter((x): x is string => !!x);
    return { ipBlock: { cidr, ...(except.length ? { except } : {}) } };
  }
  return {
    ...(isRecord(v.podSelector) ? { podSelector: selector(v.podSelector) } : {}),
    ...(isRecord(v.namespaceSelector) ? { namespaceSelector: selector(v.namespaceSelector) } : {}),
  };
}

function port(v: unknown): NetPolicyPort {
  const p = isRecord(v) ? v : {};
  const protocol = (typeof p.protocol === 'string' ? p.protocol : 'TCP') as NetPolicyPort['protocol'];
  const out: NetPolicyPort = { protocol };
  if (typeof p.port === 'number' || typeof p.port === 'string') out.port = p.port;
  if (typeof p.port === 'number' && typeof p.endPort === 'number') out.endPort = p.endPort;
  return out;
}

function rules(v: unknown, peersKey: 'from' | 'to'): NetPolicyRule[] {
  return list(v).map((r) => {
    const rec = isRecord(r) ? r : {};
    const peers = list(rec[peersKey]);
    const ports = list(rec.ports);
    return { ...(peers.length ? { peers: peers.map(peer) } : {}), ...(ports.length ? { ports: ports.map(port) } : {}) };
  });
}

export function policyEntry(np: KubeObject): NetPolicy {
  const spec = isRecord(np.spec) ? np.spec : {};
  const types = list(spec.policyTypes);
  return {
    namespace: np.metadata.namespace!,
    name: np.metadata.name!,
    podSelector: selector(spec.podSelector),
    ...(types.includes('Ingress') ? { ingress: rules(spec.ingress, 'from') } : {}),
    ...(types.includes('Egress') ? { egress: rules(spec.egress, 'to') } : {}),
  };
}

export function podEntry(pod: KubeObject): NetPod | undefined {
  const spec = isRecord(pod.spec) ? pod.spec : {};
  const status = isRecord(pod.status) ? pod.status : {};
  if (spec.hostNetwork === true || status.phase === 'Succeeded' || status.phase === 'Failed') return undefined;
  if (typeof status.podIP !== 'string' || !status.podIP) return undefined;
  const ports: NonNullable<NetPod['ports']> = [];
  for (const c of [...list(spec.initContainers), ...list(spec.containers)]) {
    for (const p of isRecord(c) ? list(c.ports) : []) {
      if (isRecord(p) && typeof p.name === 'string' && p.name && typeof p.containerPort === 'number') {
        ports.push({
          name: p.name,
          port: p.containerPort,
          protocol: (typeof p.protocol === 'string' ? p.protocol : 'TCP') as 'TCP',
        });
      }
    }
  }
  const labels = stringMap(pod.metadata.labels);
  return {
    namespace: pod.metadata.namespace!,
    name: pod.metadata.name!,
    ip: status.podIP,
    ...(typeof spec.nodeName === 'string' && spec.nodeName ? { node: spec.nodeName } : {}),
    ...(labels ? { labels } : {}),
    ...(ports.length ? { ports } : {}),
  };
}

/** the policy fields of the network state: absent while no NetworkPolicy exists */
export function policyState(
  policies: KubeObject[],
  pods: KubeObject[],
  namespaces: KubeObject[],
  log: Logger,
): PolicyPart {
  if (!policies.length) return {};
  const bad: string[] = [];
  const keep = <T>(schema: { safeParse(v: unknown): { success: boolean } }, v: T | undefined, what: string): v is T => {
    if (v === undefined) return false;
    if (schema.safeParse(v).success) return true;
    bad.push(what);
    return false;
  };
  const key = (o: { namespace: string; name: string }) => `${o.namespace}/${o.name}`;
  const out = {
    policies: policies
      .map(policyEntry)
      .filter((p) => keep(NetPolicy, p, `networkpolicy ${key(p)}`))
      .sort((a, b) => key(a).localeCompare(key(b))),
    pods: pods
      .map(podEntry)
      .filter((p): p is NetPod => keep(NetPod, p, `pod ${p ? key(p) : ''}`))
      .sort((a, b) => key(a).localeCompare(key(b))),
    namespaces: namespaces
      .map((n) => ({
        name: n.metadata.name!,
        ...(stringMap(n.metadata.labels) ? { labels: stringMap(n.metadata.labels)! } : {}),
      }))
      .filter((n) => keep(NetNamespace, n, `namespace ${n.name}`))
      .sort((a, b) => a.name.localeCompare(b.name)),
  };
  if (bad.length) log.error({ objects: bad.slice(0, 20) }, 'left out of the network policy state: invalid for agents');
  return out;
}
