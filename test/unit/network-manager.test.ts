// NetworkManager's sync against a recorded ip/iptables (the commands are the contract;
// the real kernel side is covered by the multi-node e2e test): routes follow nodes
// joining and leaving, the pod bridge is made on the node's subnet before pods may
// start, rules are restored once per change, and a failing command is retried.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { NetworkState } from '../../proto/agent-protocol.js';
import { NetworkManager } from '../../agent/network/network-manager.js';
import type { Exec } from '../../agent/network/iptables.js';
import type { PodNetworkSpec, Runtime } from '../../agent/runtime/types.js';

function fakeHost() {
  const routes = new Map<string, string>(); // dst -> gateway (proto 200)
  const calls: string[] = [];
  let failNext = 0;
  const exec: Exec = async (cmd, args, input) => {
    calls.push(`${cmd} ${args.join(' ')}${input ? ` <<${input.split('\n').length} lines` : ''}`);
    if (failNext > 0 && cmd === 'iptables-restore') {
      failNext--;
      throw new Error('iptables-restore: resource busy');
    }
    if (cmd === 'ip' && args[0] === '-j')
      return { stdout: JSON.stringify([...routes].map(([dst, gateway]) => ({ dst, gateway }))), exitCode: 0 };
    if (cmd === 'ip' && args[1] === 'replace') routes.set(args[2]!, args[4]!);
    if (cmd === 'ip' && args[1] === 'del') routes.delete(args[2]!);
    if (cmd === 'iptables-save') return { stdout: '*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n', exitCode: 0 };
    if (cmd === 'iptables' && args.includes('-C')) return { stdout: '', exitCode: 1 };
    return { stdout: '', exitCode: 0 };
  };
  const networks: PodNetworkSpec[] = [];
  const runtime = {
    ensurePodNetwork: async (s: PodNetworkSpec) => {
      networks.push(s);
    },
  } as unknown as Runtime;
  return {
    exec,
    routes,
    calls,
    networks,
    runtime,
    failNextRestore: (n: number) => {
      failNext = n;
    },
  };
}

const state = (nodes: NetworkState['nodes']): NetworkState => ({
  type: 'network',
  clusterCIDR: '10.42.0.0/16',
  serviceCIDR: '10.43.0.0/16',
  clusterDNS: '10.43.0.10',
  clusterDomain: 'cluster.local',
  nodes,
  services: [],
});

async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('NetworkManager', () => {
  it("makes the pod bridge on the node's subnet, then routes to the others; routes follow nodes leaving", async () => {
    const h = fakeHost();
    const nm = new NetworkManager({
      runtime: h.runtime,
      node: 'a',
      log: pino({ level: 'silent' }),
      exec: h.exec,
      dnsHost: '127.0.0.1',
      dnsPort: 0,
      retryMs: 20,
    }); // the bridge gateway does not exist here
    try {
      expect(nm.notReady()).toMatch(/waiting for the network state/);
      nm.apply(state([{ name: 'a' }]));
      await until(() => h.calls.length > 0 || nm.syncs > 0, 'first sync');
      expect(nm.notReady()).toMatch(/no pod subnet/);
      nm.apply(
        state([
          { name: 'a', podCIDR: '10.42.0.0/24', internalIP: '192.168.1.11' },
          { name: 'b', podCIDR: '10.42.1.0/24', internalIP: '192.168.1.12' },
          { name: 'c', podCIDR: '10.42.2.0/24', internalIP: '192.168.1.13' },
          { name: 'd' }, // no subnet yet: no route
        ]),
      );
      await until(() => nm.notReady() === undefined, 'network ready');
      expect(h.networks).toEqual([
        { name: 'skiff', subnet: '10.42.0.0/24', gateway: '10.42.0.1', bridge: 'skiff0', node: 'a' },
      ]);
      expect([...h.routes]).toEqual([
        ['10.42.1.0/24', '192.168.1.12'],
        ['10.42.2.0/24', '192.168.1.13'],
      ]);
      const restores = h.calls.filter((c) => c.startsWith('iptables-restore')).length;
      expect(restores).toBe(1);
      nm.apply(
        state([
          { name: 'a', podCIDR: '10.42.0.0/24', internalIP: '192.168.1.11' },
          { name: 'c', podCIDR: '10.42.2.0/24', internalIP: '192.168.1.99' }, // moved
        ]),
      );
      await until(() => h.routes.size === 1 && h.routes.get('10.42.2.0/24') === '192.168.1.99', 'b gone, c moved');
      expect(h.networks).toHaveLength(1); // the bridge is not made again
    } finally {
      nm.stop();
    }
  });

  it('retries a failed sync and only then reports the network ready', async () => {
    const h = fakeHost();
    h.failNextRestore(2);
    const nm = new NetworkManager({
      runtime: h.runtime,
      node: 'a',
      log: pino({ level: 'silent' }),
      exec: h.exec,
      dnsHost: '127.0.0.1',
      dnsPort: 0,
      retryMs: 20,
    }); // the bridge gateway does not exist here
    try {
      nm.apply(state([{ name: 'a', podCIDR: '10.42.0.0/24', internalIP: '192.168.1.11' }]));
      await until(() => nm.notReady() === undefined, 'ready after retries');
      expect(h.calls.filter((c) => c.startsWith('iptables-restore'))).toHaveLength(3);
    } finally {
      nm.stop();
    }
  });
});
