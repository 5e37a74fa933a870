// Node pod subnets (kube-controller-manager's node-ipam "range allocator"): each node gets
// the lowest free /mask of --cluster-cidr in Node.spec.podCIDR and podCIDRs, once, when
// its agent first registers. A deleted Node's subnet is free again. Allocations are
// serialised in this process so two nodes joining at once never get the same subnet.
// The subnets in use are read from the Nodes once per burst of joins (kept USED_TTL_MS,
// extended by this allocator's own assignments), not listed again for every joining node:
// 1000 nodes joining listed 1000 Nodes each (registrations ran at a few per second).
// Several servers on one datastore allocate at once, each with its own cache, so a subnet
// is first reserved by a create-if-absent key in the store (/skiff/pod-cidrs/<subnet>,
// naming the node and its uid): only one server's create wins. A reservation whose node is
// gone (or re-created, or holds another subnet) is stale and taken over by compare-and-swap.
import type { Logger } from 'pino';
import { KeyExistsError, StaleRevisionError, KeyNotFoundError } from '../store/types.js';
import { formatCidr, parseCidr, subnet, type Cidr } from '../../proto/cidr.js';
import { findResource } from '../resources/index.js';
import type { ApiStorage } from '../api/storage.js';

/** how long the set of used subnets read from the Nodes is trusted (a deleted Node's subnet is free again after it) */
const USED_TTL_MS = 10_000;
/** store keys (outside /registry: no API client sees them) reserving each subnet given out */
export const POD_CIDR_RESERVATIONS = '/skiff/pod-cidrs/';

export class PodCidrAllocator {
  private used?: { set: Set<string>; at: number; next: number };
  private readonly cluster: Cidr;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly nodeDef = findResource('', 'v1', 'nodes')!;

  constructor(
    private readonly storage: ApiStorage,
    clusterCidr: string,
    private readonly maskSize: number,
    private readonly log: Logger,
  ) {
    const c = parseCidr(clusterCidr);
    if (!c || maskSize < c.prefix || maskSize > 30)
      throw new Error(`invalid cluster CIDR ${clusterCidr} / node mask ${maskSize}`);
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
      for (const n of (await this.storage.list(this.nodeDef, undefined)).items)
        for (const c of [n.spec?.podCIDR, ...(n.spec?.podCIDRs ?? [])]) if (typeof c === 'string') set.add(c);
      this.used = { set, at: Date.now(), next: 0 };
    }
    const used = this.used;
    const count = 2 ** (this.maskSize - this.cluster.prefix);
    // below `next` every subnet is taken (lowest free first, as the range allocator)
    for (let i = used.next; i < count; i++) {
      const candidate = formatCidr(subnet(this.cluster, this.maskSize, i)!);
      used.next = i;
      if (used.set.has(candidate)) continue;
      const key = POD_CIDR_RESERVATIONS + candidate.replace('/', '_');
      if (!(await this.reserve(key, candidate, nodeName, me.metadata.uid ?? ''))) {
        // another server gave it out since the Nodes were read
        used.set.add(candidate);
        continue;
      }
      let assigned: string | undefined;
      await this.storage.guaranteedUpdate(this.nodeDef, undefined, nodeName, {}, (cur) => {
        if (cur.spec?.podCIDR) {
          assigned = cur.spec.podCIDR;
          return cur;
        }
        cur.spec = { ...(cur.spec ?? {}), podCIDR: candidate, podCIDRs: [candidate] };
        assigned = candidate;
        return cur;
      });
      if (assigned) used.set.add(assigned);
      // the node got one meanwhile (another server): give the reservation back
      if (assigned !== candidate) await this.storage.store.delete(key).catch(() => undefined);
      this.log.info({ node: nodeName, podCIDR: assigned }, 'allocated pod subnet');
      return assigned;
    }
    this.log.error({ node: nodeName, clusterCidr: formatCidr(this.cluster) }, 'no pod subnet left in the cluster CIDR');
    return undefined;
  }

  /** true when `key` now reserves `cidr` for this node (created, already ours, or taken over from a stale owner) */
  private async reserve(key: string, cidr: string, node: string, uid: string): Promise<boolean> {
    const value = JSON.stringify({ node, uid });
    const store = this.storage.store;
    try {
      await store.create(key, value);
      return true;
    } catch (e) {
      if (!(e instanceof KeyExistsError)) throw e;
    }
    const kv = await store.get(key);
    if (!kv) return false;
    let owner: { node?: unknown; uid?: unknown } = {};
    try {
      owner = JSON.parse(kv.value) as typeof owner;
    } catch {
      /* unreadable: stale */
    }
    if (owner.node === node && owner.uid === uid) return true;
    const holder =
      typeof owner.node === 'string' ? await this.storage.tryGet(this.nodeDef, undefined, owner.node) : undefined;
    const stale =
      !holder ||
      holder.metadata.uid !== owner.uid ||
      (typeof holder.spec?.podCIDR === 'string' && holder.spec.podCIDR !== '' && holder.spec.podCIDR !== cidr);
    if (!stale) return false;
    try {
      await store.update(key, value, kv.modRevision);
      return true;
    } catch (e) {
      if (e instanceof StaleRevisionError || e instanceof KeyNotFoundError) return false;
      throw e;
    }
  }
}
