// A pod's /etc/resolv.conf as kubelet writes it (pkg/kubelet/network/dns): dnsPolicy
// ClusterFirst points at the cluster DNS with the namespace's search path and ndots:5,
// Default copies the node's resolvers, None uses only dnsConfig, and dnsConfig's
// nameservers, searches and options are merged in. Pure.

export interface ClusterDns {
  server: string;
  domain: string;
}

export interface HostResolv {
  nameservers: string[];
  searches: string[];
  options: string[];
}

export interface PodDns {
  servers: string[];
  searches: string[];
  options: string[];
}

const MAX_NAMESERVERS = 3;
const MAX_SEARCHES = 32;
const MAX_SEARCH_CHARS = 2048;

/** field `k` of an object read from the server (a pod spec, its dnsConfig), unchecked */
function field(o: unknown, k: string): unknown {
  return typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[k] : undefined;
}
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/**
 * The pod's resolver settings, or undefined to leave the runtime's default file alone
 * (Default policy on a host whose only resolvers are loopback ones, unusable from a pod).
 */
export function podDns(
  pod: { metadata?: { namespace?: string }; spec?: unknown },
  cluster: ClusterDns | undefined,
  host: HostResolv,
): PodDns | undefined {
  const spec = pod.spec;
  const dnsPolicy = field(spec, 'dnsPolicy');
  const hostNetwork = !!field(spec, 'hostNetwork');
  let policy = typeof dnsPolicy === 'string' ? dnsPolicy : 'ClusterFirst';
  if (policy === 'ClusterFirst' && hostNetwork) policy = 'Default';
  if ((policy === 'ClusterFirst' || policy === 'ClusterFirstWithHostNet') && !cluster) policy = 'Default'; // kubelet: no cluster DNS configured
  // loopback resolvers only work in the host's own network namespace
  const hostServers = hostNetwork
    ? [...host.nameservers]
    : host.nameservers.filter((s) => !/^127\./.test(s) && s !== '::1');
  let out: PodDns;
  if (policy === 'None') out = { servers: [], searches: [], options: [] };
  else if (policy === 'Default')
    out = { servers: hostServers, searches: [...host.searches], options: [...host.options] };
  else {
    const ns = pod.metadata?.namespace ?? 'default';
    const d = cluster!.domain;
    out = {
      servers: [cluster!.server],
      searches: [`${ns}.svc.${d}`, `svc.${d}`, d, ...host.searches],
      options: ['ndots:5'],
    };
  }
  const cfg = field(spec, 'dnsConfig');
  for (const s of list(field(cfg, 'nameservers')))
    if (typeof s === 'string' && !out.servers.includes(s)) out.servers.push(s);
  for (const s of list(field(cfg, 'searches')))
    if (typeof s === 'string' && !out.searches.includes(s)) out.searches.push(s);
  for (const o of list(field(cfg, 'options'))) {
    const name = field(o, 'name');
    if (typeof name !== 'string') continue;
    const value = field(o, 'value');
    const opt = value !== undefined && value !== null && value !== '' ? `${name}:${String(value)}` : name;
    const i = out.options.findIndex((x) => x.split(':')[0] === name);
    if (i >= 0) out.options[i] = opt;
    else out.options.push(opt);
  }
  out.servers = out.servers.slice(0, MAX_NAMESERVERS);
  const searches: string[] = [];
  let chars = 0;
  for (const s of out.searches) {
    const t = s.replace(/\.$/, '');
    if (!t || searches.includes(t) || searches.length >= MAX_SEARCHES || chars + t.length + 1 > MAX_SEARCH_CHARS)
      continue;
    searches.push(t);
    chars += t.length + 1;
  }
  out.searches = searches;
  if (policy === 'Default' && !out.servers.length) return undefined;
  return out;
}

export function resolvConf(d: PodDns): string {
  const lines = d.servers.map((s) => `nameserver ${s}`);
  if (d.searches.length) lines.push(`search ${d.searches.join(' ')}`);
  if (d.options.length) lines.push(`options ${d.options.join(' ')}`);
  return `${lines.join('\n')}\n`;
}
