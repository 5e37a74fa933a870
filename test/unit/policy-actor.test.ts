// The NetworkPolicy actor: NetworkManager against a recorded iptables. A policy change is one
// iptables-restore carrying the SKIFF-NP chains with the proxy's; the hooks are moved back
// to the top of FORWARD/INPUT when something (a restarted dockerd) got above them; a pod's
// chain that is no longer needed is flushed in the restore and then deleted.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { NetworkState } from '../../proto/agent-protocol.js';
import { NetworkManager } from '../../agent/network/network-manager.js';
import type { Exec } from '../../agent/network/iptables.js';
import type { Runtime } from '../../agent/runtime/types.js';

function fakeHost() {
  const restores: string[] = [];
  const calls: string[] = [];
  const chains = new Set<string>();
  const builtin: Record<string, string[]> = { FORWARD: ['-A FORWARD -j DOCKER-USER'], INPUT: [] };
  const exec: Exec = async (cmd, args, input) => {
    calls.push(`${cmd} ${args.join(' ')}`);
    if (cmd === 'ip' && args[0] === '-j') return { stdout: '[]', exitCode: 0 };
    if (cmd === 'iptables-restore') {
      restores.push(input ?? '');
      for (const m of (input ?? '').matchAll(/^:(\S+) /gm)) chains.add(m[1]!);
      return { stdout: '', exitCode: 0 };
    }
    if (cmd === 'iptables-save')
      return { stdout: `*filter\n${[...chains].map((c) => `:${c} - [0:0]`).join('\n')}\nCOMMIT\n`, exitCode: 0 };
    if (cmd === 'iptables') {
      const i = args.findIndex((a) => ['-C', '-D', '-I', '-S', '-X'].includes(a));
      const op = args[i]!;
      const chain = args[i + 1]!;
      const rule = `-A ${chain} ${args.slice(i + (op === '-I' ? 3 : 2)).join(' ')}`;
      const list = builtin[chain];
      if (op === '-X') {
        chains.delete(chain);
        return { stdout: '', exitCode: 0 };
      }
      if (!list) return { stdout: '', exitCode: op === '-C' ? 1 : 0 };
      if (op === '-S') return { stdout: `-P ${chain} ACCEPT\n${list.join('\n')}\n`, exitCode: 0 };
      if (op === '-C') return { stdout: '', exitCode: list.includes(rule) ? 0 : 1 };
      if (op === '-D') list.splice(list.indexOf(rule), 1);
      if (op === '-I') list.unshift(rule);
    }
    return { stdout: '', exitCode: 0 };
  };
  const runtime = { ensurePodNetwork: async () => undefined } as unknown as Runtime;
  return { exec, restores, calls, chains, builtin, runtime };
}

const base: NetworkState = {
  type: 'network',
  clusterCIDR: '10.42.0.0/16',
  serviceCIDR: '10.43.0.0/16',
  clusterDNS: '10.43.0.10',
  clusterDomain: 'cluster.local',
  nodes: [{ name: 'a', podCIDR: '10.42.0.0/24', internalIP: '192.168.1.11' }],
  services: [],
};
const withPolicy: NetworkState = {
  ...base,
  policies: [{ namespace: 'default', name: 'deny', podSelector: { matchLabels: { app: 'web' } }, ingress: [] }],
  pods: [{ namespace: 'default', name: 'web', ip: '10.42.0.5', node: 'a', labels: { app: 'web' } }],
  namespaces: [{ name: 'default' }],
};

async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('NetworkPolicy actor', () => {
  it('applies a policy in one restore with the proxy, keeps its hooks first and deletes a chain no longer needed', async () => {
    const h = fakeHost();
    const nm = new NetworkManager({
      runtime: h.runtime,
      node: 'a',
      log: pino({ level: 'silent' }),
      exec: h.exec,
      dnsHost: '127.0.0.1',
      dnsPort: 0,
      retryMs: 20,
    });
    try {
      nm.apply(base);
      await until(() => nm.notReady() === undefined, 'network ready');
      expect(h.restores).toHaveLength(1);
      expect(h.restores[0]).toContain(':SKIFF-NP-FORWARD - [0:0]');
      // the hooks went on top, above Docker's
      expect(h.builtin.FORWARD![0]).toMatch(/-j SKIFF-NP-FORWARD$/);
      expect(h.builtin.INPUT![0]).toMatch(/-j SKIFF-NP-INPUT$/);

      nm.apply(withPolicy);
      await until(() => h.restores.length === 2, 'the policy restored');
      const text = h.restores[1]!;
      expect(text).toContain(':SKIFF-SERVICES - [0:0]'); // one restore: proxy and policies together
      const chain = /-A SKIFF-NP-FORWARD -d 10\.42\.0\.5\/32 .* -j (SKIFF-NP-I-\w{16})/.exec(text)?.[1];
      expect(chain).toBeDefined();
      expect(text).toContain(`-A ${chain} -m comment --comment "default/web ingress not allowed by policy" -j DROP`);

      // a restarted dockerd put its jump above ours: the next sync moves ours back
      h.builtin.FORWARD!.unshift('-A FORWARD -j DOCKER-FORWARD');
      nm.apply({ ...withPolicy, services: [], nodes: [...withPolicy.nodes, { name: 'b' }] });
      await until(() => h.builtin.FORWARD![0]!.endsWith('-j SKIFF-NP-FORWARD'), 'hook moved back');
      expect(h.builtin.FORWARD!.filter((r) => r.endsWith('-j SKIFF-NP-FORWARD'))).toHaveLength(1);

      // the policy is gone: its chain is flushed in the restore, then deleted
      nm.apply(base);
      await until(() => !h.chains.has(chain!), 'stale chain deleted');
      expect(h.restores[h.restores.length - 1]).toContain(`:${chain} - [0:0]`);
      expect(h.calls).toContain(`iptables -w 5 -t filter -X ${chain}`);
    } finally {
      nm.stop();
    }
  });
});
