// The servers an agent may connect to, as k3s' agent load balancer keeps them: the
// `--server` URLs it was given (always kept, the way back in) and the servers it learned
// from the `default/kubernetes` Service's endpoints in the pushed network state — every live
// skiff-server registers itself there, as kube-apiserver does. The connection uses the
// current one and moves to the next when it loses or cannot reach it; a probe that finds
// one answering makes that one current. The learned list is kept in
// <data-dir>/servers.json so that a restarted agent whose --server is gone finds the others.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NetworkState } from '../../proto/agent-protocol.js';

const FILE = 'servers.json';
/** a server list is short; a longer one from a file or a peer is cut here */
const MAX_SERVERS = 32;

/** https://host:port of every ready endpoint of default/kubernetes (port "https", else the first) */
export function serversFromNetworkState(state: Pick<NetworkState, 'services'>): string[] {
  const svc = state.services.find((s) => s.namespace === 'default' && s.name === 'kubernetes');
  if (!svc) return [];
  const out: string[] = [];
  for (const ep of svc.endpoints) {
    if (!ep.ready) continue;
    const port = (ep.ports.find((p) => p.name === 'https') ?? ep.ports[0])?.port;
    if (port) out.push(`https://${ep.ip}:${port}`);
  }
  return [...new Set(out)].sort().slice(0, MAX_SERVERS);
}

/** the same server: scheme, host and port alike (a trailing slash or path ignored) */
function key(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

export class ServerList {
  private learned: string[];
  private current_: string;

  constructor(
    private readonly configured: string[],
    learned: string[] = [],
  ) {
    if (configured.length === 0) throw new Error('at least one server URL is needed');
    this.learned = learned.slice(0, MAX_SERVERS);
    this.current_ = configured[0]!;
  }

  /** configured first, then learned ones not configured, each once */
  all(): string[] {
    const seen = new Set<string>();
    const out: string[] = [];
    for (const u of [...this.configured, ...this.learned]) {
      if (seen.has(key(u))) continue;
      seen.add(key(u));
      out.push(u);
    }
    return out;
  }

  get current(): string {
    return this.current_;
  }

  /** the next server after the current one (wrapping); the same one when there is only one */
  advance(): string {
    const all = this.all();
    const i = all.findIndex((u) => key(u) === key(this.current_));
    this.current_ = all[(i + 1) % all.length]!;
    return this.current_;
  }

  /** make a known server current (a probe found it answering) */
  use(url: string): void {
    const u = this.all().find((x) => key(x) === key(url));
    if (u) this.current_ = u;
  }

  /** replace the learned servers; true when the list changed. The current one stays current */
  learn(urls: string[]): boolean {
    const next = [...new Set(urls)].slice(0, MAX_SERVERS);
    if (next.length === this.learned.length && next.every((u, i) => u === this.learned[i])) return false;
    this.learned = next;
    return true;
  }

  learnedServers(): string[] {
    return [...this.learned];
  }
}

/** the learned servers a previous run kept (nothing when absent or unreadable) */
export function loadLearnedServers(dataDir: string): string[] {
  try {
    const v: unknown = JSON.parse(readFileSync(join(dataDir, FILE), 'utf8'));
    if (!Array.isArray(v)) return [];
    return v.filter((u): u is string => typeof u === 'string' && /^https:\/\/[^\s/]+$/.test(u)).slice(0, MAX_SERVERS);
  } catch {
    return [];
  }
}

export function saveLearnedServers(dataDir: string, urls: string[]): void {
  const p = join(dataDir, FILE);
  writeFileSync(`${p}.tmp`, `${JSON.stringify(urls)}\n`, { mode: 0o600 });
  renameSync(`${p}.tmp`, p);
}
