// The address half of skiff's Ingress controller (the proxy runs in every agent,
// agent/ingress/): status.loadBalancer.ingress of each Ingress of skiff's class lists the
// addresses of the nodes that serve it — the same eligible nodes and address choice as
// ServiceLB (ExternalIPs if any node has one, else InternalIPs), as `{ip}` entries. It
// follows nodes as they come, go or change, and clears the status of an Ingress that stops
// being skiff's — only the addresses skiff wrote, never another controller's.
import type { KubeObject } from '../../proto/meta.js';
import { canonicalJson } from '../../proto/canonical.js';
import { ownIngresses } from '../agents/ingress-state.js';
import type { ControllerContext, DefOf } from './context.js';
import { keyOf, runWhenSynced, splitKey, type Informer } from './informer.js';
import { writeLoadBalancerIngress } from './load-balancer-status.js';
import { eligibleNodes, ingressFor } from './service-lb-controller.js';
import type { Controller } from './types.js';
import { WorkQueue } from './work-queue.js';

const RESYNC_MS = 30_000;

/** what status.loadBalancer.ingress should be for an Ingress (ours or not) given the nodes */
export function desiredIngressStatus(ours: boolean, nodes: KubeObject[]): { ip: string }[] {
  return ours ? ingressFor(eligibleNodes(nodes)).map(({ ip }) => ({ ip })) : [];
}

class IngressStatusController implements Controller {
  readonly name = 'ingress-status-controller';
  private readonly queue = new WorkQueue();
  private readonly def: DefOf<'networking.k8s.io', 'ingresses'>;
  private ingInf!: Informer<'Ingress'>;
  private classInf!: Informer<'IngressClass'>;
  private nodeInf!: Informer<'Node'>;
  private loop?: { stop(): void };

  constructor(private readonly ctx: ControllerContext) {
    this.def = ctx.def('networking.k8s.io', 'v1', 'ingresses');
  }

  async start(): Promise<void> {
    this.ingInf = this.ctx.informers.get('networking.k8s.io', 'v1', 'ingresses');
    this.classInf = this.ctx.informers.get('networking.k8s.io', 'v1', 'ingressclasses');
    this.nodeInf = this.ctx.informers.get('', 'v1', 'nodes');
    const all = () => {
      for (const i of this.ingInf.list()) this.queue.add(keyOf(i));
    };
    this.ingInf.on({ add: (i) => this.queue.add(keyOf(i)), update: (_o, i) => this.queue.add(keyOf(i)) });
    this.classInf.on({ add: all, update: all, delete: all });
    this.nodeInf.on({
      add: all,
      update: (o, n) => {
        if (
          canonicalJson(desiredIngressStatus(true, [o])) !== canonicalJson(desiredIngressStatus(true, [n])) ||
          canonicalJson(o.metadata.labels ?? {}) !== canonicalJson(n.metadata.labels ?? {})
        )
          all();
      },
      delete: all,
    });
    this.loop = runWhenSynced({
      informers: [this.ingInf, this.classInf, this.nodeInf],
      queue: this.queue,
      workers: 1,
      sync: (key) => this.sync(key),
      onError: (key, err) => this.ctx.log.warn({ err, ingress: key }, 'ingress status sync failed; will retry'),
      resyncMs: RESYNC_MS,
      resync: () => this.ingInf.list(),
      enqueue: (i) => this.queue.add(keyOf(i)),
    });
  }

  stop(): void {
    this.loop?.stop();
    this.queue.stop();
  }

  private async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const ing = this.ingInf.get(namespace, name);
    if (!ing || ing.metadata.deletionTimestamp) return;
    const ours = ownIngresses([ing], this.classInf.list()).length === 1;
    const nodes = this.nodeInf.list();
    const want = desiredIngressStatus(ours, nodes);
    const current: unknown[] = Array.isArray(ing.status?.loadBalancer?.ingress) ? ing.status.loadBalancer.ingress : [];
    if (!ours && current.length === 0) return;
    // another controller's Ingress: its status is that controller's, unless it is exactly what
    // skiff writes (the Ingress was skiff's and moved to another class)
    if (!ours && canonicalJson(current) !== canonicalJson(desiredIngressStatus(true, nodes))) return;
    if (canonicalJson(current) === canonicalJson(want)) return;
    await writeLoadBalancerIngress(this.ctx.storage, this.def, ing, want, 'skiff-ingress', 'ingress');
  }
}

export function create(ctx: ControllerContext): Controller {
  return new IngressStatusController(ctx);
}
