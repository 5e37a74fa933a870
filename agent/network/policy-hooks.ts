// The NetworkPolicy chains' place in the built-in chains: SKIFF-NP-FORWARD must be the first
// rule of FORWARD (above the service proxy's SKIFF-FORWARD, which accepts the pod network,
// and above Docker's rules, which a restarted dockerd puts back on top), SKIFF-NP-INPUT the
// first of INPUT; a hook found elsewhere is moved back. Bridged pod-to-pod traffic on this
// node only reaches FORWARD with br_netfilter's bridge-nf-call-iptables=1, checked here too.
import { readFile, writeFile } from 'node:fs/promises';
import type { Exec } from './iptables.js';
import { NP_HOOKS } from './policy-rules.js';

const WAIT = ['-w', '5'];
const BRIDGE_NF = '/proc/sys/net/bridge/bridge-nf-call-iptables';

/** true when the first rule of `chain` (iptables -S output) is the hook */
export function hookIsFirst(listing: string, chain: string, target: string): boolean {
  const first = listing.split('\n').find((l) => l.startsWith(`-A ${chain} `));
  return !!first && first.endsWith(`-j ${target}`);
}

export async function ensurePolicyHooks(exec: Exec): Promise<{ moved: number; bridgeNf: boolean }> {
  let moved = 0;
  for (const h of NP_HOOKS) {
    const { stdout } = await exec('iptables', [...WAIT, '-t', h.table, '-S', h.chain]);
    if (hookIsFirst(stdout, h.chain, h.rule[h.rule.length - 1]!)) continue;
    while ((await exec('iptables', [...WAIT, '-t', h.table, '-C', h.chain, ...h.rule])).exitCode === 0) {
      await exec('iptables', [...WAIT, '-t', h.table, '-D', h.chain, ...h.rule]);
    }
    await exec('iptables', [...WAIT, '-t', h.table, '-I', h.chain, '1', ...h.rule]);
    moved++;
  }
  return { moved, bridgeNf: await bridgeNetfilter() };
}

/** bridge-nf-call-iptables on (loading br_netfilter if need be); false when impossible */
async function bridgeNetfilter(): Promise<boolean> {
  const read = () =>
    readFile(BRIDGE_NF, 'utf8').then(
      (s) => s.trim(),
      () => undefined,
    );
  let v = await read();
  if (v === undefined) {
    await import('execa')
      .then(({ execa }) => execa('modprobe', ['br_netfilter'], { reject: false, timeout: 10_000 }))
      .catch(() => undefined);
    v = await read();
  }
  if (v === '1') return true;
  if (v === undefined) return false;
  await writeFile(BRIDGE_NF, '1').catch(() => undefined);
  return (await read()) === '1';
}
