// The cluster's DNS names (the Kubernetes DNS specification, as CoreDNS's kubernetes plugin
// serves it) computed from the network state: services' A records (the ClusterIP, or the
// ready endpoints of a headless service), `<hostname>.<service>` for endpoints with a
// hostname (StatefulSet pods), CNAMEs for ExternalName, SRV for named ports, and
// `a-b-c-d.<namespace>.pod` names. Pure and synchronous: lookups are map reads.
import type { NetworkState } from '../../proto/agent-protocol.js';
import { parseIPv4 } from '../../proto/cidr.js';

export type Lookup =
  | { kind: 'a'; ips: string[] }
  | { kind: 'cname'; target: string }
  | { kind: 'srv'; records: { port: number; target: string }[] }
  | { kind: 'nxdomain' }
  /** a name that exists with no records of the asked type (NODATA) */
  | { kind: 'empty' }
  /** not a cluster name: forward upstream */
  | { kind: 'forward' };

export class DnsRecords {
  private a = new Map<string, string[]>();
  private cname = new Map<string, string>();
  private srv = new Map<string, { port: number; target: string }[]>();
  /** every name that exists (for NODATA versus NXDOMAIN), including empty non-terminals */
  private names = new Set<string>();
  private namespaces = new Set<string>();
  domain = 'cluster.local';

  static from(state: NetworkState): DnsRecords {
    const r = new DnsRecords();
    r.domain = state.clusterDomain.toLowerCase();
    const d = r.domain;
    for (const svc of state.services) {
      r.namespaces.add(svc.namespace);
      const base = `${svc.name}.${svc.namespace}.svc.${d}`;
      r.names.add(base);
      if (svc.type === 'ExternalName') {
        if (svc.externalName) r.cname.set(base, svc.externalName);
        continue;
      }
      const ready = svc.endpoints.filter((e) => e.ready && !e.terminating);
      if (svc.headless) {
        const ips = [...new Set(ready.map((e) => e.ip))];
        if (ips.length) r.a.set(base, ips);
        for (const e of ready) {
          if (!e.hostname) continue;
          const host = `${e.hostname}.${base}`;
          r.names.add(host);
          r.a.set(host, [...new Set([...(r.a.get(host) ?? []), e.ip])]);
        }
      } else if (svc.clusterIP) {
        r.a.set(base, [svc.clusterIP]);
      }
      for (const p of svc.ports) {
        if (!p.name) continue;
        const name = `_${p.name}._${p.protocol.toLowerCase()}.${base}`;
        r.names.add(name);
        r.names.add(`_${p.protocol.toLowerCase()}.${base}`);
        if (svc.headless) {
          const recs = ready.map((e) => ({
            port: e.ports.find((x) => x.name === p.name)?.port ?? p.port,
            target: e.hostname ? `${e.hostname}.${base}` : `${e.ip.replace(/\./g, '-')}.${base}`,
          }));
          for (const e of ready)
            if (!e.hostname) {
              const t = `${e.ip.replace(/\./g, '-')}.${base}`;
              r.names.add(t);
              r.a.set(t, [e.ip]);
            }
          if (recs.length) r.srv.set(name, recs);
        } else if (svc.clusterIP) {
          r.srv.set(name, [{ port: p.port, target: base }]);
        }
      }
    }
    return r;
  }

  /** true when the name is inside the cluster domain (answered here, never forwarded) */
  isClusterName(name: string): boolean {
    const n = norm(name);
    return n === this.domain || n.endsWith(`.${this.domain}`);
  }

  lookup(name: string, type: string): Lookup {
    const n = norm(name);
    if (!this.isClusterName(n)) return { kind: 'forward' };
    const cname = this.cname.get(n);
    if (cname) return { kind: 'cname', target: cname };
    const exists = this.nameExists(n);
    if (!exists) return { kind: 'nxdomain' };
    if (type === 'A' || type === 'ANY') {
      const ips = this.a.get(n) ?? podIp(n, this.domain, this.namespaces);
      if (ips?.length) return { kind: 'a', ips: Array.isArray(ips) ? ips : [ips] };
    }
    if (type === 'SRV' || type === 'ANY') {
      const recs = this.srv.get(n);
      if (recs?.length) return { kind: 'srv', records: recs };
    }
    return { kind: 'empty' };
  }

  private nameExists(n: string): boolean {
    if (this.names.has(n) || this.a.has(n) || podIp(n, this.domain, this.namespaces)) return true;
    // empty non-terminals: cluster.local, svc.cluster.local, <ns>.svc.cluster.local, …
    for (const x of this.names) if (x.endsWith(`.${n}`)) return true;
    return false;
  }
}

const norm = (s: string) => s.toLowerCase().replace(/\.$/, '');

/** `1-2-3-4.<namespace>.pod.<domain>` answers 1.2.3.4 (CoreDNS "pods insecure") */
function podIp(n: string, domain: string, namespaces: Set<string>): string | undefined {
  const suffix = `.pod.${domain}`;
  if (!n.endsWith(suffix)) return undefined;
  const parts = n.slice(0, -suffix.length).split('.');
  if (parts.length !== 2 || (!namespaces.has(parts[1]!) && !/^[a-z0-9-]+$/.test(parts[1]!))) return undefined;
  const ip = parts[0]!.replace(/-/g, '.');
  return parseIPv4(ip) !== undefined ? ip : undefined;
}
