// networking.k8s.io/v1 NetworkPolicy: defaulting (policyTypes from the presence of egress
// rules, port protocol TCP, an absent podSelector is the empty one), ValidateNetworkPolicy
// as kube-apiserver v1.32 words it (selectors, ports, peers, ipBlock, policyTypes) and
// the NAME/POD-SELECTOR/AGE table. The agents enforce it (agent/network/policy-rules.ts).
import { isIPv4, isIPv6 } from 'node:net';
import type { KubeObject, StatusCause } from '../../proto/meta.js';
import { field } from '../api/errors.js';
import { ageOf } from './age.js';
import { ageColumn, col, nameColumn } from './columns.js';
import { formatLabelSelector, validateLabelSelector, type LabelSelector } from './label-selector.js';
import {
  invalidRendered,
  isRecord,
  isValidPortName,
  isValidPortNum,
  nameIsDNSSubdomain,
  validateObjectMeta,
} from './meta-validation.js';
import type { ResourceDef } from './types.js';
import { ALL_VERBS } from './verbs.js';

const PROTOCOLS = ['TCP', 'UDP', 'SCTP'];
const POLICY_TYPES = ['Ingress', 'Egress'];

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const has = (v: unknown): boolean => v !== undefined && v !== null;

/** SetDefaults_NetworkPolicy and SetDefaults_NetworkPolicyPort */
export function defaultNetworkPolicy(obj: KubeObject): void {
  if (!isRecord(obj.spec)) obj.spec = {};
  const spec = obj.spec as Record<string, unknown>;
  if (!isRecord(spec.podSelector)) spec.podSelector = {};
  if (list(spec.policyTypes).length === 0) {
    spec.policyTypes = list(spec.egress).length ? ['Ingress', 'Egress'] : ['Ingress'];
  }
  for (const dir of ['ingress', 'egress']) {
    for (const rule of list(spec[dir])) {
      if (!isRecord(rule)) continue;
      for (const p of list(rule.ports)) if (isRecord(p) && !has(p.protocol)) p.protocol = 'TCP';
    }
  }
}

/** netutils.ParseCIDRSloppy for validation: IPv4 (leading zeros allowed) or IPv6, with a prefix length */
export function parseCidrSloppy(s: string): { v6: boolean; bits: bigint; prefix: number } | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const prefix = Number(m[2]);
  let ip = m[1]!;
  if (/^\d+(\.\d+){3}$/.test(ip))
    ip = ip
      .split('.')
      .map((o) => String(Number(o)))
      .join('.');
  if (isIPv4(ip)) {
    if (prefix > 32) return undefined;
    const n = ip.split('.').reduce((a, o) => (a << 8n) | BigInt(o), 0n);
    const mask = prefix === 0 ? 0n : ((1n << 32n) - 1n) ^ ((1n << BigInt(32 - prefix)) - 1n);
    return { v6: false, bits: n & mask, prefix };
  }
  if (isIPv6(ip) && !ip.includes('%')) {
    if (prefix > 128) return undefined;
    const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
    const words = (x: string | undefined): string[] => (x ? x.split(':') : []);
    const expand = (ws: string[]): number[] =>
      ws.flatMap((w) =>
        w.includes('.')
          ? (() => {
              const o = w.split('.').map(Number);
              return [(o[0]! << 8) | o[1]!, (o[2]! << 8) | o[3]!];
            })()
          : [parseInt(w, 16)],
      );
    const h = expand(words(head));
    const t = expand(words(tail));
    const all = tail === undefined ? h : [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
    const n = all.reduce((a, w) => (a << 16n) | BigInt(w), 0n);
    const mask = prefix === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - prefix)) - 1n);
    return { v6: true, bits: n & mask, prefix };
  }
  return undefined;
}

function validatePort(port: unknown, path: string): StatusCause[] {
  if (!isRecord(port)) return [];
  const out: StatusCause[] = [];
  if (has(port.protocol) && (typeof port.protocol !== 'string' || !PROTOCOLS.includes(port.protocol)))
    out.push(field.notSupported(`${path}.protocol`, port.protocol, PROTOCOLS));
  const p: unknown = port.port;
  const end: unknown = port.endPort;
  if (has(p)) {
    if (typeof p === 'number') {
      for (const m of isValidPortNum(p)) out.push(field.invalid(`${path}.port`, p, m));
      if (has(end)) {
        if (typeof end === 'number' && end < p)
          out.push(field.invalid(`${path}.endPort`, end, 'must be greater than or equal to `port`'));
        for (const m of isValidPortNum(Number(end))) out.push(field.invalid(`${path}.endPort`, end, m));
      }
    } else {
      if (has(end)) out.push(field.invalid(`${path}.endPort`, end, 'may not be specified when `port` is non-numeric'));
      for (const m of isValidPortName(String(p))) out.push(field.invalid(`${path}.port`, p, m));
    }
  } else if (has(end)) {
    out.push(field.invalid(`${path}.endPort`, end, 'may not be specified when `port` is not specified'));
  }
  return out;
}

function validateIPBlock(ipb: unknown, path: string): StatusCause[] {
  const b = isRecord(ipb) ? ipb : {};
  const cidr = typeof b.cidr === 'string' ? b.cidr : '';
  if (!cidr) return [field.required(`${path}.cidr`, '')];
  const net = parseCidrSloppy(cidr);
  if (!net) return [field.invalid(`${path}.cidr`, cidr, 'not a valid CIDR')];
  const out: StatusCause[] = [];
  const excepts = list(b.except);
  for (let i = 0; i < excepts.length; i++) {
    const e = String(excepts[i]);
    const p = `${path}.except[${i}]`;
    const ex = parseCidrSloppy(e);
    if (!ex) {
      out.push(field.invalid(p, e, 'not a valid CIDR'));
      return out;
    }
    const width = net.v6 ? 128 : 32;
    const contained =
      ex.v6 === net.v6 && ex.bits >> BigInt(width - net.prefix) === net.bits >> BigInt(width - net.prefix);
    if (!contained || net.prefix >= ex.prefix) out.push(field.invalid(p, e, 'must be a strict subset of `cidr`'));
  }
  return out;
}

function validatePeer(peer: unknown, path: string): StatusCause[] {
  const p = isRecord(peer) ? peer : {};
  const out: StatusCause[] = [];
  let n = 0;
  if (has(p.podSelector)) {
    n++;
    out.push(...validateLabelSelector(p.podSelector, `${path}.podSelector`));
  }
  if (has(p.namespaceSelector)) {
    n++;
    out.push(...validateLabelSelector(p.namespaceSelector, `${path}.namespaceSelector`));
  }
  if (has(p.ipBlock)) {
    n++;
    out.push(...validateIPBlock(p.ipBlock, `${path}.ipBlock`));
  }
  if (n === 0) out.push(field.required(path, 'must specify a peer'));
  else if (n > 1 && has(p.ipBlock)) out.push(field.forbidden(path, 'may not specify both ipBlock and another peer'));
  return out;
}

/** ValidateNetworkPolicySpec */
export function validateNetworkPolicySpec(spec: unknown, path = 'spec'): StatusCause[] {
  const s = isRecord(spec) ? spec : {};
  const out: StatusCause[] = [...validateLabelSelector(s.podSelector ?? {}, `${path}.podSelector`)];
  for (const [dir, peers] of [
    ['ingress', 'from'],
    ['egress', 'to'],
  ] as const) {
    list(s[dir]).forEach((rule, i) => {
      const r = isRecord(rule) ? rule : {};
      const rp = `${path}.${dir}[${i}]`;
      list(r.ports).forEach((port, j) => out.push(...validatePort(port, `${rp}.ports[${j}]`)));
      list(r[peers]).forEach((peer, j) => out.push(...validatePeer(peer, `${rp}.${peers}[${j}]`)));
    });
  }
  const types = list(s.policyTypes);
  if (types.length > POLICY_TYPES.length) {
    // field.Invalid dereferences the *[]PolicyType and prints it with %#v
    out.push(
      invalidRendered(
        `${path}.policyTypes`,
        `[]networking.PolicyType{${types.map((t) => JSON.stringify(String(t))).join(', ')}}`,
        'may not specify more than two policyTypes',
      ),
    );
    return out;
  }
  types.forEach((t, i) => {
    if (!POLICY_TYPES.includes(String(t))) out.push(field.notSupported(`${path}.policyTypes[${i}]`, t, POLICY_TYPES));
  });
  return out;
}

export const networkPolicy: ResourceDef = {
  group: 'networking.k8s.io',
  version: 'v1',
  kind: 'NetworkPolicy',
  resource: 'networkpolicies',
  singular: 'networkpolicy',
  namespaced: true,
  shortNames: ['netpol'],
  categories: [],
  verbs: ALL_VERBS,
  subresources: [],
  hasStatusSubresource: false,
  hasGeneration: true,
  schema: 'NetworkPolicy',

  defaults: defaultNetworkPolicy,

  validate: (obj) => [
    ...validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain }),
    ...validateNetworkPolicySpec(obj.spec),
  ],

  columns: [
    nameColumn(),
    col(
      'Pod-Selector',
      'string',
      'Selects the pods to which this NetworkPolicy object applies. The array of ingress rules is applied to any pods selected by this field. Multiple network policies can select the same set of pods. In this case, the ingress rules for each are combined additively. This field is NOT optional and follows standard label selector semantics. An empty podSelector matches all pods in this namespace.',
    ),
    ageColumn(),
  ],
  row: (obj, now) => [
    obj.metadata?.name ?? '',
    formatLabelSelector((isRecord(obj.spec?.podSelector) ? obj.spec.podSelector : {}) as LabelSelector),
    ageOf(obj, now),
  ],
};
