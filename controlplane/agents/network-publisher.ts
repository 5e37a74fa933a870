// What every agent needs to know about the cluster network, kept from watch-fed caches of
// Nodes, Services and EndpointSlices and pushed to all agents whenever it changes (the
// part of kube-proxy's and flannel's watches that skiff centralises: agents never list
// the API themselves). The message is the whole state, so an agent that missed one is
// right again with the next; a change storm is coalesced into one message, encoded once
// for every agent, and broadcasts are spaced so that sending them takes at most a tenth
// of the server's time and the agents together are sent at most AGENT_BYTES_PER_S (1000
// nodes joining would otherwise send 1000 × 80 KB per join; spaced by the server's time
// alone, 1000 agents on one machine — hollow.mjs — spent their CPU parsing it and missed
// the server's pings: at 1000 nodes a change now reaches the agents within 4 s).
// NetworkPolicy enforcement needs the policies, every pod's IP, labels and named ports and
// every namespace's labels (policy-state.ts); they are sent to every agent, and only while
// at least one NetworkPolicy exists, so a cluster without policies pays nothing for them.
// Ingresses of skiff's class and the TLS Secrets they name: ingress-state.ts (and its rule).
import type { Logger } from 'pino';
import type { DiscoveryEndpointPort, ServicePort } from '../../proto/api/types.gen.js';
import type { KubeObject } from '../../proto/meta.js';
import { NetNode, NetService, NetworkState, type NetEndpoint } from '../../proto/agent-protocol.js';
import { policyState } from './policy-state.js';
import { ingressState, ownIngresses, referencedSecrets } from './ingress-state.js';
import { parseCidr, parseIPv4 } from '../../proto/cidr.js';
import { Informer } from '../controllers/informer.js';
import { findResource } from '../resources/index.js';
import type { ApiStorage } from '../api/storage.js';

export interface NetworkSettings {
  clusterCidr: string;
  serviceCidr: string;
  clusterDns: string;
  clusterDomain: string;
}

const MAX_GAP_MS = 5000;
/** what all agents together are sent per second at most, in broadcasts of the state */
const AGENT_BYTES_PER_S = 20e6;
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const isIPv4 = (s: unknown): s is string => typeof s === 'string' && parseIPv4(s) !== undefined;

export class NetworkPublisher {
  private readonly nodes: Informer;
  private readonly services: Informer;
  private readonly slices: Informer;
  private readonly pods: Informer;
  private readonly namespaces: Informer;
  private readonly policies: Informer;
  private readonly ingresses: Informer;
  private readonly ingressClasses: Informer;
  private readonly secrets: Informer;
  private timer?: NodeJS.Timeout;
  private last?: NetworkState;
  private lastJson = '';
  private lastEncoded?: Buffer;
  private listeners = new Set<(m: NetworkState, encoded: Buffer) => number | void>();
  /** when the last broadcast went out, and the gap the next one keeps after it */
  private lastSentAt = 0;
  private gapMs = 0;

  constructor(
    storage: ApiStorage,
    private readonly settings: NetworkSettings,
    private readonly log: Logger,
    private readonly debounceMs = 50,
  ) {
    const def = (g: string, v: string, r: string) => findResource(g, v, r)!;
    this.nodes = new Informer(storage, def('', 'v1', 'nodes'), log);
    this.services = new Informer(storage, def('', 'v1', 'services'), log);
    this.slices = new Informer(storage, def('discovery.k8s.io', 'v1', 'endpointslices'), log);
    this.pods = new Informer(storage, def('', 'v1', 'pods'), log);
    this.namespaces = new Informer(storage, def('', 'v1', 'namespaces'), log);
    this.policies = new Informer(storage, def('networking.k8s.io', 'v1', 'networkpolicies'), log);
    this.ingresses = new Informer(storage, def('networking.k8s.io', 'v1', 'ingresses'), log);
    this.ingressClasses = new Informer(storage, def('networking.k8s.io', 'v1', 'ingressclasses'), log);
    this.secrets = new Informer(storage, def('', 'v1', 'secrets'), log);
    const changed = { add: () => this.schedule(), update: () => this.schedule(), delete: () => this.schedule() };
    // a Node's status is rewritten every minute: only its name, subnet and address matter here
    this.nodes.on({
      add: () => this.schedule(),
      update: (o, n) => {
        if (!sameNodeEntry(o, n)) this.schedule();
      },
      delete: () => this.schedule(),
    });
    for (const i of [this.services, this.slices, this.policies, this.ingresses, this.ingressClasses]) i.on(changed);
    // a Secret matters only while an Ingress of skiff's class names it
    const ifReferenced = (s: KubeObject) => {
      if (
        referencedSecrets(ownIngresses(this.ingresses.list(), this.ingressClasses.list())).has(
          `${s.metadata.namespace}/${s.metadata.name}`,
        )
      )
        this.schedule();
    };
    this.secrets.on({ add: ifReferenced, update: (_o, s) => ifReferenced(s), delete: ifReferenced });
    // pods and namespaces only matter while some NetworkPolicy exists
    const ifPolicies = () => {
      if (this.policies.list().length) this.schedule();
    };
    for (const i of [this.pods, this.namespaces]) i.on({ add: ifPolicies, update: ifPolicies, delete: ifPolicies });
  }

  private get informers(): Informer[] {
    return [
      this.nodes,
      this.services,
      this.slices,
      this.pods,
      this.namespaces,
      this.policies,
      this.ingresses,
      this.ingressClasses,
      this.secrets,
    ];
  }

  async start(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.start()));
    this.rebuild();
  }

  stop(): void {
    clearTimeout(this.timer);
    for (const i of this.informers) i.stop();
  }

  /** the current state (undefined until the caches have listed) */
  get current(): NetworkState | undefined {
    return this.last;
  }

  /** the current state as the JSON text every agent is sent */
  get currentEncoded(): Buffer | undefined {
    return this.lastEncoded;
  }

  /** fn returns how many agents it sent the state to (for the spacing), or nothing for one */
  subscribe(fn: (m: NetworkState, encoded: Buffer) => number | void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private schedule(): void {
    if (this.informers.some((i) => !i.synced) || this.timer) return;
    const wait = Math.max(this.debounceMs, this.lastSentAt + this.gapMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.rebuild();
    }, wait);
  }

  private rebuild(): void {
    let state: NetworkState;
    try {
      state = this.build();
    } catch (err) {
      this.log.error({ err }, 'building the network state failed');
      return;
    }
    if (!NetworkState.safeParse(state).success) {
      // a value the agents would refuse: drop the offenders rather than stop every update
      const badNodes = state.nodes.filter((n) => !NetNode.safeParse(n).success);
      const badServices = state.services.filter((x) => !NetService.safeParse(x).success);
      this.log.error(
        { nodes: badNodes.map((n) => n.name), services: badServices.map((x) => `${x.namespace}/${x.name}`) },
        'left out of the network state: invalid for agents',
      );
      state = {
        ...state,
        nodes: state.nodes.filter((n) => !badNodes.includes(n)),
        services: state.services.filter((x) => !badServices.includes(x)),
      };
      if (!NetworkState.safeParse(state).success) return;
    }
    const json = JSON.stringify(state);
    if (json === this.lastJson) return;
    this.lastJson = json;
    this.last = state;
    const encoded = (this.lastEncoded = Buffer.from(json));
    const t0 = performance.now();
    let recipients = 0;
    for (const fn of this.listeners) recipients += fn(state, encoded) ?? 1;
    // the next broadcast waits nine times as long as this one took, and as long as
    // AGENT_BYTES_PER_S takes to send it to every agent (at most 5 s)
    const took = performance.now() - t0;
    this.lastSentAt = Date.now();
    this.gapMs = broadcastGapMs(took, recipients, encoded.length);
  }

  build(): NetworkState {
    const nodes: NetNode[] = this.nodes
      .list()
      .map((n) => nodeEntry(n))
      .sort((a, b) => a.name.localeCompare(b.name));
    const slicesBySvc = new Map<string, KubeObject[]>();
    for (const s of this.slices.list()) {
      const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
      if (!svc || s.addressType !== 'IPv4') continue;
      const k = `${s.metadata.namespace}/${svc}`;
      (slicesBySvc.get(k) ?? slicesBySvc.set(k, []).get(k)!).push(s);
    }
    const services: NetService[] = [];
    for (const svc of this.services.list()) {
      const e = serviceEntry(svc, slicesBySvc.get(`${svc.metadata.namespace}/${svc.metadata.name}`) ?? []);
      if (e) services.push(e);
    }
    services.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
    return {
      type: 'network',
      clusterCIDR: this.settings.clusterCidr,
      serviceCIDR: this.settings.serviceCidr,
      clusterDNS: this.settings.clusterDns,
      clusterDomain: this.settings.clusterDomain,
      nodes,
      services,
      ...policyState(this.policies.list(), this.pods.list(), this.namespaces.list(), this.log),
      ...ingressState(
        this.ingresses.list(),
        this.ingressClasses.list(),
        (ns, name) => this.secrets.get(ns, name),
        (what) => this.log.error({ object: what }, 'left out of the ingress state: invalid for agents'),
      ),
    };
  }
}

/**
 * The pause after a broadcast: nine times what sending it took the server, and what sending
 * it to every agent takes at AGENT_BYTES_PER_S; at most MAX_GAP_MS.
 */
export function broadcastGapMs(tookMs: number, recipients: number, bytes: number): number {
  return Math.min(MAX_GAP_MS, Math.max(tookMs * 9, (recipients * bytes * 1000) / AGENT_BYTES_PER_S));
}

function sameNodeEntry(a: KubeObject, b: KubeObject): boolean {
  const x = nodeEntry(a);
  const y = nodeEntry(b);
  return x.name === y.name && x.podCIDR === y.podCIDR && x.internalIP === y.internalIP;
}

function nodeEntry(n: KubeObject): NetNode {
  const ip = (n.status?.addresses as { type: string; address: string }[] | undefined)?.find(
    (a) => a.type === 'InternalIP',
  )?.address;
  const cidr = n.spec?.podCIDR;
  return {
    name: n.metadata.name!,
    // anything a user could have written into a Node must not stop every agent's updates
    ...(typeof cidr === 'string' && parseCidr(cidr) ? { podCIDR: cidr } : {}),
    ...(isIPv4(ip) ? { internalIP: ip } : {}),
  };
}

type Protocol = 'TCP' | 'UDP' | 'SCTP';
const PROTOCOLS = new Set<string | undefined>(['TCP', 'UDP', 'SCTP']);
/** a port entry as stored, once its port is an integer and its protocol known (absent: TCP) */
type CheckedPort<P> = Omit<P, 'port' | 'protocol'> & { port: number; protocol?: Protocol };

export function serviceEntry(svc: KubeObject, slices: KubeObject[]): NetService | undefined {
  const spec = svc.spec ?? {};
  const type = spec.type ?? 'ClusterIP';
  if (!['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'].includes(type)) return undefined;
  const headless = spec.clusterIP === 'None';
  // spec.ports entries as stored (objects, their fields unchecked): only integer ports of a known protocol
  const ports = (Array.isArray(spec.ports) ? (spec.ports as (Partial<ServicePort> | null | undefined)[]) : [])
    .filter(
      (p): p is CheckedPort<Partial<ServicePort>> => Number.isInteger(p?.port) && PROTOCOLS.has(p?.protocol ?? 'TCP'),
    )
    .map((p) => ({
      name: typeof p.name === 'string' ? p.name : '',
      protocol: p.protocol ?? 'TCP',
      port: p.port,
      ...(p.nodePort !== undefined && Number.isInteger(p.nodePort) && p.nodePort > 0 ? { nodePort: p.nodePort } : {}),
    }));
  const endpoints: NetEndpoint[] = [];
  const seen = new Set<string>();
  for (const sl of slices) {
    const slPorts = (Array.isArray(sl.ports) ? (sl.ports as (Partial<DiscoveryEndpointPort> | null | undefined)[]) : [])
      .filter(
        (p): p is CheckedPort<Partial<DiscoveryEndpointPort>> =>
          Number.isInteger(p?.port) && p!.port! > 0 && PROTOCOLS.has(p?.protocol ?? 'TCP'),
      )
      .map((p) => ({ name: typeof p.name === 'string' ? p.name : '', port: p.port, protocol: p.protocol ?? 'TCP' }));
    for (const ep of Array.isArray(sl.endpoints) ? sl.endpoints : []) {
      const ip = ep?.addresses?.[0];
      if (!isIPv4(ip)) continue;
      const c = ep.conditions ?? {};
      const key = `${ip}|${slPorts.map((p: { name: string; port: number }) => `${p.name}:${p.port}`).join(',')}`;
      if (seen.has(key)) continue;
      seen.add(key);
      endpoints.push({
        ip,
        ...(typeof ep.nodeName === 'string' && ep.nodeName ? { node: ep.nodeName } : {}),
        // EndpointSlice: a nil ready condition means "unknown", which consumers treat as ready
        ready: c.ready !== false,
        ...(c.terminating === true ? { terminating: true } : {}),
        ...(typeof ep.hostname === 'string' && ep.hostname ? { hostname: ep.hostname } : {}),
        ports: slPorts,
      });
    }
  }
  endpoints.sort((a, b) => parseIPv4(a.ip)! - parseIPv4(b.ip)!);
  const lbIPs = ((svc.status?.loadBalancer?.ingress ?? []) as { ip?: string }[]).map((i) => i.ip).filter(isIPv4);
  const externalIPs = (Array.isArray(spec.externalIPs) ? spec.externalIPs : []).filter(isIPv4);
  const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  return {
    namespace: svc.metadata.namespace!,
    name: svc.metadata.name!,
    type,
    ...(isIPv4(spec.clusterIP) ? { clusterIP: spec.clusterIP } : {}),
    ...(headless ? { headless: true } : {}),
    ...(type === 'ExternalName' &&
    typeof spec.externalName === 'string' &&
    /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(spec.externalName.toLowerCase().replace(/\.$/, ''))
      ? { externalName: spec.externalName.toLowerCase().replace(/\.$/, '') }
      : {}),
    ...(externalIPs.length ? { externalIPs } : {}),
    ...(lbIPs.length ? { loadBalancerIPs: lbIPs } : {}),
    ...(spec.externalTrafficPolicy === 'Local' || spec.externalTrafficPolicy === 'Cluster'
      ? { externalTrafficPolicy: spec.externalTrafficPolicy }
      : {}),
    ...(spec.internalTrafficPolicy === 'Local' || spec.internalTrafficPolicy === 'Cluster'
      ? { internalTrafficPolicy: spec.internalTrafficPolicy }
      : {}),
    ...(spec.sessionAffinity === 'ClientIP'
      ? { affinitySeconds: Number.isInteger(timeout) && timeout >= 1 && timeout <= 86400 ? timeout : 10800 }
      : {}),
    ports,
    endpoints,
  };
}
