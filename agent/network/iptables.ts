// iptables and ip(8), through execa: the only place the agent runs them. Everything here is
// idempotent, so a sync can run any number of times and after a crash halfway through.
import { execa } from 'execa';
import { HOOKS, isOurChain } from './proxy-rules.js';
import { NP_HOOKS } from './policy-rules.js';

const WAIT = ['-w', '5'];

export type Exec = (cmd: string, args: string[], input?: string) => Promise<{ stdout: string; exitCode: number }>;

export const realExec: Exec = async (cmd, args, input) => {
  const r = await execa(cmd, args, { input, reject: false, timeout: 30_000 });
  if (r.exitCode !== 0 && !(cmd === 'iptables' && args.includes('-C'))) {
    throw new Error(`${cmd} ${args.join(' ')}: exit ${r.exitCode}: ${String(r.stderr).trim().slice(0, 500)}`);
  }
  return { stdout: String(r.stdout), exitCode: r.exitCode ?? 1 };
};

/** names of the user chains in a table (from iptables-save) */
export async function listChains(exec: Exec, table: 'nat' | 'filter'): Promise<string[]> {
  const { stdout } = await exec('iptables-save', ['-t', table]);
  return [...stdout.matchAll(/^:(\S+) /gm)]
    .map((m) => m[1]!)
    .filter((c) => !['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING', 'FORWARD'].includes(c));
}

export async function restore(exec: Exec, input: string): Promise<void> {
  await exec('iptables-restore', [...WAIT, '--noflush'], input);
}

/** delete (already flushed) chains one by one; one still referenced by someone else's rule stays */
export async function deleteChains(exec: Exec, chains: { nat: string[]; filter: string[] }): Promise<string[]> {
  const kept: string[] = [];
  for (const table of ['nat', 'filter'] as const) {
    for (const c of chains[table]) {
      try {
        await exec('iptables', [...WAIT, '-t', table, '-X', c]);
      } catch {
        kept.push(`${table}/${c}`);
      }
    }
  }
  return kept;
}

/** jump rules from the built-in chains into ours, inserted first (Docker inserts its own at the top too) */
export async function ensureHooks(exec: Exec): Promise<void> {
  for (const h of HOOKS) {
    const { exitCode } = await exec('iptables', [...WAIT, '-t', h.table, '-C', h.chain, ...h.rule]);
    if (exitCode !== 0) await exec('iptables', [...WAIT, '-t', h.table, '-I', h.chain, '1', ...h.rule]);
  }
}

/** uninstall: unhook and delete every chain of ours */
export async function removeAll(exec: Exec): Promise<void> {
  for (const h of [...HOOKS, ...NP_HOOKS]) {
    while ((await exec('iptables', [...WAIT, '-t', h.table, '-C', h.chain, ...h.rule])).exitCode === 0) {
      await exec('iptables', [...WAIT, '-t', h.table, '-D', h.chain, ...h.rule]);
    }
  }
  const lines: string[] = [];
  for (const table of ['nat', 'filter'] as const) {
    const ours = (await listChains(exec, table)).filter(isOurChain);
    if (!ours.length) continue;
    lines.push(`*${table}`, ...ours.map((c) => `:${c} - [0:0]`), ...ours.map((c) => `-X ${c}`), 'COMMIT');
  }
  if (lines.length) await restore(exec, `${lines.join('\n')}\n`);
}

// ---- routes (host-gw): one per other node's pod subnet, tagged with our protocol number ----

export const ROUTE_PROTO = '200';

export interface Route {
  cidr: string;
  via: string;
}

export async function syncRoutes(exec: Exec, want: Route[]): Promise<{ added: number; removed: number }> {
  const { stdout } = await exec('ip', ['-j', 'route', 'show', 'proto', ROUTE_PROTO]);
  let have: { dst: string; gateway?: string }[] = [];
  try {
    have = JSON.parse(stdout || '[]');
  } catch {
    have = [];
  }
  let added = 0;
  let removed = 0;
  for (const r of have) {
    if (!want.some((w) => w.cidr === r.dst && w.via === r.gateway)) {
      await exec('ip', ['route', 'del', r.dst, 'proto', ROUTE_PROTO]).catch(() => undefined);
      removed++;
    }
  }
  for (const w of want) {
    if (have.some((r) => r.dst === w.cidr && r.gateway === w.via)) continue;
    await exec('ip', ['route', 'replace', w.cidr, 'via', w.via, 'proto', ROUTE_PROTO]);
    added++;
  }
  return { added, removed };
}
