// Node pod subnets (kube-controller-manager's node-ipam "range allocator"): each node gets
// the lowest free /mask of --cluster-cidr in Node.spec.podCIDR and podCIDRs, once, when
// its agent first registers. A deleted Node's subnet is free again. Allocations are
// serialised in this process so two nodes joining at once never get the same subnet.
// The subnets in use are read from the Nodes once per burst of joins (kept USED_TTL_MS,
// extended by this allocator's own assignments), not listed again for every joining node:
// 1000 nodes joining listed 1000 Nodes each (registrations ran at a few per second).
import type { Logger } from 'pino';
import { formatCidr, parseCidr, subnet, type Cidr } from '../../proto/cidr.js';
import { findResource } from '../resources/index.js';
import type { ApiStorage } from '../api/storage.js';

/** how long the set of used subnets read from the Nodes is trusted (a deleted Node's subnet is free again after it) */
const USED_TTL_MS = 10_000;

export class PodCidrAllocator {
  private used?: { set: Set<string>; at: number; next: number };
  private readonly cluster: Cidr;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly nodeDef = findResource('', 'v1', 'nodes')!;

  constructor(private readonly storage: ApiStorage, clusterCidr: string, private readonly maskSize: number, private readonly log: Logger) {
    const c = parseCidr(clusterCidr);
    if (!c || maskSize < c.prefix || maskSize > 30) throw new Error(`invalid cluster CIDR ${clusterCidr} / node mask ${maskSize}`);
    this.cluster = c;
  }

  /** The node's podCIDR, allocating one if it has none; undefined when the range is full. */
  ensure(nodeName: string): Promise<string | undefined> {
    const run = this.chain.then(() => this.allocate(nodeName));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async allocate(nodeName: string): Promise<string | undefined> {
    const me = await this.storage.tryGet(this.nodeDef, undefined, nodeName);
    if (!me) return undefined;
    if (typeof me.spec?.podCIDR === 'string' && me.spec.podCIDR) return me.spec.podCIDR;
    if (!this.used || Date.now() - this.used.at > USED_TTL_MS) {
      const set = new Set<string>();
      for (const n of (await this.storage.list(this.nodeDef, undefined)).items) for (const c of [n.spec?.podCIDR, ...(n.spec?.podCIDRs ?? [])]) if (typeof c === 'string') set.add(c);
      this.used = { set, at: Date.now(), next: 0 };
    }
    const used = this.used;
    const count = 2 ** (this.maskSize - this.cluster.prefix);
    // below `next` every subnet is taken (lowest free first, as the range allocator)
    for (let i = used.next; i < count; i++) {
      const candidate = formatCidr(subnet(this.cluster, this.maskSize, i)!);
      used.next = i;
      if (used.set.has(candidate)) continue;
      let assigned: string | undefined;
      await this.storage.guaranteedUpdate(this.nodeDef, undefined, nodeName, {}, (cur) => {
        if (cur.spec?.podCIDR) { assigned = cur.spec.podCIDR; return cur; }
        cur.spec = { ...(cur.spec ?? {}), podCIDR: candidate, podCIDRs: [candidate] };
        assigned = candidate;
        return cur;
      });
      if (assigned) used.set.add(assigned);
      this.log.info({ node: nodeName, podCIDR: assigned }, 'allocated pod subnet');
      return assigned;
    }
    this.log.error({ node: nodeName, clusterCidr: formatCidr(this.cluster) }, 'no pod subnet left in the cluster CIDR');
    return undefined;
  }
}
