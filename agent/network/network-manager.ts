// The node's part of the cluster network, driven by the network state the server pushes:
// 1. the pod bridge (Docker network "skiff" on this node's podCIDR, gateway .1);
// 2. host-gw routes to every other node's podCIDR via its InternalIP;
// 3. iptables: forwarding for the pod network, masquerade for traffic leaving it, and the
//    service proxy (proxy-rules.ts) and NetworkPolicy enforcement (policy-rules.ts), applied
//    with one iptables-restore per sync;
// 4. the node's DNS server on the bridge gateway, which the cluster DNS IP is DNATed to.
// Syncs are serialised and coalesced (the newest state wins) and retried on failure.
// Map of the code base: ARCHITECTURE.md, "The parts".
import type { Logger } from 'pino';
import type { NetworkState } from '../../proto/agent-protocol.js';
import { nthAddress, parseCidr } from '../../proto/cidr.js';
import type { Runtime } from '../runtime/types.js';
import { DnsRecords } from './dns-records.js';
import { DnsServer, hostResolvers } from './dns-server.js';
import {
  deleteChains,
  ensureHooks,
  listChains,
  realExec,
  restore,
  syncRoutes,
  type Exec,
  type Route,
} from './iptables.js';
import { podDns, type PodDns } from './pod-dns.js';
import { buildProxyRules, restoreInput, staleChains } from './proxy-rules.js';
import { buildPolicyRules } from './policy-rules.js';
import { ensurePolicyHooks } from './policy-hooks.js';
import { writeFile } from 'node:fs/promises';

export const POD_NETWORK = 'skiff';
export const POD_BRIDGE = 'skiff0';

export interface NetworkManagerOptions {
  runtime: Runtime;
  node: string;
  log: Logger;
  exec?: Exec;
  /** where the DNS server listens: port 53 on the bridge gateway unless told otherwise */
  dnsPort?: number;
  dnsHost?: string;
  /** the node's resolver configuration (kubelet --resolv-conf) */
  resolvConf?: string;
  retryMs?: number;
}

export class NetworkManager {
  private state?: NetworkState;
  private running = false;
  private dirty = false;
  private stopped = false;
  private retry?: NodeJS.Timeout;
  private podCIDR?: string;
  private bridgeReady = false;
  private bridgeMade = false;
  private gateway?: string;
  private dns?: DnsServer;
  private records?: DnsRecords;
  private lastRules = '';
  private warnedBridgeNf = false;
  private readonly exec: Exec;
  syncs = 0;
  lastSyncMs = 0;

  private resync: NodeJS.Timeout;

  constructor(private readonly o: NetworkManagerOptions) {
    this.exec = o.exec ?? realExec;
    // kube-proxy's periodic full sync: repairs rules someone else flushed
    this.resync = setInterval(() => {
      this.lastRules = '';
      if (this.state) this.kick();
    }, 30_000);
    this.resync.unref();
  }

  /** the latest network state from the server */
  apply(state: NetworkState): void {
    this.state = state;
    this.kick();
  }

  /** why pods cannot get a network yet, or undefined when they can */
  notReady(): string | undefined {
    if (this.bridgeReady) return undefined;
    if (!this.state) return 'waiting for the network state from the server';
    if (!this.podCIDR) return `node ${this.o.node} has no pod subnet (spec.podCIDR) yet`;
    return `creating the pod bridge on ${this.podCIDR}`;
  }

  /** the pod's resolver settings: the cluster DNS once this node's DNS server is up */
  podDns(pod: { metadata?: { namespace?: string }; spec?: unknown }): PodDns | undefined {
    const cluster = this.state ? { server: this.state.clusterDNS, domain: this.state.clusterDomain } : undefined;
    return podDns(pod, cluster, hostResolvers(this.o.resolvConf));
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    clearInterval(this.resync);
    this.dns?.stop();
  }

  private kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.dirty = true;
      return;
    }
    this.running = true;
    void (async () => {
      do {
        this.dirty = false;
        const started = Date.now();
        try {
          await this.sync(this.state!);
          this.syncs++;
          this.lastSyncMs = Date.now() - started;
          clearTimeout(this.retry);
        } catch (err) {
          this.o.log.warn({ err: (err as Error).message }, 'network sync failed; retrying');
          clearTimeout(this.retry);
          this.retry = setTimeout(() => this.kick(), this.o.retryMs ?? 2000);
          this.retry.unref();
        }
      } while (this.dirty && !this.stopped);
      this.running = false;
    })();
  }

  private async sync(state: NetworkState): Promise<void> {
    const me = state.nodes.find((n) => n.name === this.o.node);
    if (!me?.podCIDR) return;
    const cidr = parseCidr(me.podCIDR);
    if (!cidr) throw new Error(`bad pod subnet ${me.podCIDR}`);

    // 1. the pod bridge
    if (this.podCIDR !== me.podCIDR || !this.bridgeMade) {
      this.bridgeReady = false;
      this.bridgeMade = false;
      this.podCIDR = me.podCIDR;
      this.gateway = nthAddress(cidr, 1);
      await this.o.runtime.ensurePodNetwork({
        name: POD_NETWORK,
        subnet: me.podCIDR,
        gateway: this.gateway,
        bridge: POD_BRIDGE,
        node: this.o.node,
      });
      await sysctl('net/ipv4/ip_forward', '1');
      await sysctl('net/bridge/bridge-nf-call-iptables', '1');
      this.bridgeMade = true;
      this.o.log.info({ podCIDR: me.podCIDR, bridge: POD_BRIDGE }, 'pod bridge ready');
    }

    // 2. DNS (before the rules that point at it)
    this.records = DnsRecords.from(state);
    if (!this.dns) {
      const host = this.o.dnsHost ?? this.gateway!;
      const server = new DnsServer({
        host,
        port: this.o.dnsPort ?? 53,
        records: () => this.records,
        log: this.o.log,
        resolvConf: this.o.resolvConf,
      });
      try {
        await server.start();
      } catch (err) {
        if (this.o.dnsPort !== undefined) throw err;
        // something else owns port 53 on every address: take any port, the DNAT rule hides it
        this.o.log.warn({ err: (err as Error).message }, 'DNS port 53 is taken; listening on another port');
        const alt = new DnsServer({
          host,
          port: 0,
          records: () => this.records,
          log: this.o.log,
          resolvConf: this.o.resolvConf,
        });
        await alt.start();
        this.dns = alt;
      }
      this.dns ??= server;
      this.o.log.info({ address: `${host}:${this.dns.port}`, clusterDNS: state.clusterDNS }, 'cluster DNS listening');
    }

    // 3. routes to the other nodes' pod subnets
    const routes: Route[] = state.nodes
      .filter((n) => n.name !== this.o.node && n.podCIDR && n.internalIP && n.podCIDR !== me.podCIDR)
      .map((n) => ({ cidr: n.podCIDR!, via: n.internalIP! }));
    await syncRoutes(this.exec, routes);

    // 4. iptables
    const dns = { ip: this.o.dnsHost ?? this.gateway!, port: this.dns.port };
    const rules = buildProxyRules({ state, node: this.o.node, dns });
    const policy = buildPolicyRules({ state, node: this.o.node, dns });
    rules.tables.filter.push(...policy.filter);
    for (const c of policy.chains) rules.chains.filter.add(c);
    const text = JSON.stringify(rules.tables);
    if (text !== this.lastRules) {
      const existing = { nat: await listChains(this.exec, 'nat'), filter: await listChains(this.exec, 'filter') };
      await restore(this.exec, restoreInput(rules, existing));
      const kept = await deleteChains(this.exec, staleChains(rules, existing));
      if (kept.length) this.o.log.warn({ chains: kept }, 'stale chains still referenced elsewhere: left empty');
      this.lastRules = text;
    }
    await ensureHooks(this.exec);
    const np = await ensurePolicyHooks(this.exec);
    if (!np.bridgeNf && state.policies?.length && !this.warnedBridgeNf) {
      this.warnedBridgeNf = true;
      this.o.log.warn(
        'bridge-nf-call-iptables is off and br_netfilter cannot be loaded: NetworkPolicy does not see traffic between two pods of this node',
      );
    }
    if (!this.bridgeReady) this.o.log.info({ podCIDR: me.podCIDR, routes: routes.length }, 'pod network ready');
    this.bridgeReady = true;
  }
}

async function sysctl(key: string, value: string): Promise<void> {
  // bridge-nf-call-iptables makes bridged replies pass conntrack, so a pod answering a
  // ClusterIP client on the same bridge is un-DNATed; absent without br_netfilter
  await writeFile(`/proc/sys/${key}`, value).catch(() => undefined);
}
