// ServiceLB (k3s pkg/cloudprovider/servicelb.go) without the svclb pods: skiff's agents
// open a LoadBalancer Service's ports on every node themselves, so the controller only
// publishes where that happens. For each Service of type LoadBalancer without a
// spec.loadBalancerClass, status.loadBalancer.ingress becomes one {ip, ipMode: VIP} per
// address of the eligible nodes, sorted: the nodes' ExternalIPs if any node has one, else
// their InternalIPs. Eligible: Ready, schedulable, not labelled
// node.kubernetes.io/exclude-from-external-load-balancers, and — when some node carries
// svccontroller.k3s.cattle.io/enablelb=true — only those; with externalTrafficPolicy
// Local, only nodes with a ready endpoint of the Service (from its EndpointSlices). The
// status follows nodes as they come, go or change, and is cleared when the Service stops
// being a LoadBalancer.
import type { KubeObject } from '../../proto/meta.js';
import { canonicalJson } from '../../proto/canonical.js';
import { isIP } from 'node:net';
import { SERVICE_NAME_LABEL } from '../services/endpoints.js';
import type { ControllerContext, DefOf } from './context.js';
import { keyOf, runWhenSynced, splitKey, type Informer } from './informer.js';
import { writeLoadBalancerIngress } from './load-balancer-status.js';
import type { Controller } from './types.js';
import { isConditionTrue } from '../../proto/api/conditions.js';
import { WorkQueue } from './work-queue.js';

export const ENABLE_LB_LABEL = 'svccontroller.k3s.cattle.io/enablelb';
export const EXCLUDE_LB_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';
const RESYNC_MS = 30_000;

const isNodeReady = (n: KubeObject): boolean => isConditionTrue(n.status?.conditions, 'Ready');

/** The nodes a LoadBalancer Service is reachable on (before the traffic-policy filter). */
export function eligibleNodes(nodes: KubeObject[]): KubeObject[] {
  const restricted = nodes.some((n) => n.metadata.labels?.[ENABLE_LB_LABEL] === 'true');
  return nodes.filter((n) => {
    if (restricted && n.metadata.labels?.[ENABLE_LB_LABEL] !== 'true') return false;
    if (n.metadata.labels?.[ENABLE_LB_LABEL] === 'false') return false;
    if (n.metadata.labels && EXCLUDE_LB_LABEL in n.metadata.labels) return false;
    return isNodeReady(n) && !n.spec?.unschedulable && !n.metadata.deletionTimestamp;
  });
}

/** The ingress list for the given nodes: ExternalIPs if any, else InternalIPs; IPv4, unique, sorted. */
export function ingressFor(nodes: KubeObject[]): { ip: string; ipMode: string }[] {
  const ext = new Set<string>();
  const int = new Set<string>();
  for (const n of nodes) {
    for (const a of Array.isArray(n.status?.addresses) ? n.status.addresses : []) {
      if (isIP(String(a?.address ?? '')) !== 4) continue;
      if (a.type === 'ExternalIP') ext.add(a.address);
      else if (a.type === 'InternalIP') int.add(a.address);
    }
  }
  const ips = [...(ext.size ? ext : int)].sort((x, y) => {
    const a = x.split('.').map(Number);
    const b = y.split('.').map(Number);
    for (let i = 0; i < 4; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
    return 0;
  });
  return ips.map((ip) => ({ ip, ipMode: 'VIP' }));
}

const wantsServiceLB = (svc: KubeObject): boolean => svc.spec?.type === 'LoadBalancer' && !svc.spec?.loadBalancerClass;

class ServiceLBController implements Controller {
  readonly name = 'service-lb-controller';
  private readonly queue = new WorkQueue();
  private readonly svcDef: DefOf<'', 'services'>;
  private svcInf!: Informer<'Service'>;
  private nodeInf!: Informer<'Node'>;
  private sliceInf!: Informer<'EndpointSlice'>;
  private loop?: { stop(): void };

  constructor(private readonly ctx: ControllerContext) {
    this.svcDef = ctx.def('', 'v1', 'services');
  }

  async start(): Promise<void> {
    this.svcInf = this.ctx.informers.get('', 'v1', 'services');
    this.nodeInf = this.ctx.informers.get('', 'v1', 'nodes');
    this.sliceInf = this.ctx.informers.get('discovery.k8s.io', 'v1', 'endpointslices');
    this.svcInf.on({ add: (s) => this.queue.add(keyOf(s)), update: (_o, s) => this.queue.add(keyOf(s)) });
    const allLBs = () => {
      for (const s of this.svcInf.list()) if (s.spec?.type === 'LoadBalancer') this.queue.add(keyOf(s));
    };
    this.nodeInf.on({
      add: allLBs,
      update: (o, n) => {
        // heartbeats touch every node every few seconds: react only to what matters here
        const view = (x: KubeObject) =>
          canonicalJson([
            x.metadata.labels ?? {},
            x.spec?.unschedulable ?? false,
            isNodeReady(x),
            x.status?.addresses ?? [],
            !!x.metadata.deletionTimestamp,
          ]);
        if (view(o) !== view(n)) allLBs();
      },
      delete: allLBs,
    });
    const sliceChanged = (s: KubeObject) => {
      const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
      if (!svc) return;
      const cur = this.svcInf.get(s.metadata.namespace, svc);
      if (cur && cur.spec?.type === 'LoadBalancer' && cur.spec?.externalTrafficPolicy === 'Local')
        this.queue.add(keyOf(cur));
    };
    this.sliceInf.on({ add: sliceChanged, update: (_o, s) => sliceChanged(s), delete: sliceChanged });
    this.loop = runWhenSynced({
      informers: [this.svcInf, this.nodeInf, this.sliceInf],
      queue: this.queue,
      workers: 1,
      sync: (key) => this.sync(key),
      onError: (key, err) => this.ctx.log.warn({ err, service: key }, 'servicelb sync failed; will retry'),
      resyncMs: RESYNC_MS,
      resync: () => this.svcInf.list(),
      enqueue: (s) => {
        if (s.spec?.type === 'LoadBalancer') this.queue.add(keyOf(s));
      },
    });
  }

  stop(): void {
    this.loop?.stop();
    this.queue.stop();
  }

  /** nodes with a ready endpoint of the Service (externalTrafficPolicy Local) */
  private nodesWithEndpoints(svc: KubeObject): Set<string> {
    const out = new Set<string>();
    for (const s of this.sliceInf.list(svc.metadata.namespace)) {
      if (s.metadata.labels?.[SERVICE_NAME_LABEL] !== svc.metadata.name) continue;
      for (const e of Array.isArray(s.endpoints) ? s.endpoints : []) {
        if (e?.conditions?.ready !== false && e?.nodeName) out.add(e.nodeName);
      }
    }
    return out;
  }

  private async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const svc = this.svcInf.get(namespace, name);
    if (!svc) return;
    let ingress: { ip: string; ipMode: string }[];
    if (wantsServiceLB(svc)) {
      let nodes = eligibleNodes(this.nodeInf.list());
      if (svc.spec?.externalTrafficPolicy === 'Local') {
        const local = this.nodesWithEndpoints(svc);
        nodes = nodes.filter((n) => local.has(n.metadata.name!));
      }
      ingress = ingressFor(nodes);
    } else if (svc.spec?.type === 'LoadBalancer') {
      return; // another load-balancer implementation's Service (spec.loadBalancerClass)
    } else {
      ingress = [];
    }
    const current: unknown[] = Array.isArray(svc.status?.loadBalancer?.ingress) ? svc.status.loadBalancer.ingress : [];
    if (canonicalJson(current) === canonicalJson(ingress)) return;
    await writeLoadBalancerIngress(this.ctx.storage, this.svcDef, svc, ingress, 'service-lb-controller', 'service');
  }
}

export function create(ctx: ControllerContext): Controller {
  return new ServiceLBController(ctx);
}
