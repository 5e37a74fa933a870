// Which servers default/kubernetes points at, from the servers' identity Leases
// (kube-system/apiserver-<hash>): pure functions for the lease endpoint reconciler
// (endpoint-reconciler.ts), the way kube-apiserver's lease reconciler turns its master
// leases into the kubernetes Endpoints.
import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { base32NoPad } from '../../proto/base32.js';
import type { KubeObject } from '../../proto/meta.js';

/** kube-apiserver's identity Lease label and value */
export const IDENTITY_LABEL = 'apiserver.kubernetes.io/identity';
export const IDENTITY_VALUE = 'kube-apiserver';
export const HOSTNAME_LABEL = 'kubernetes.io/hostname';
/** where a server says it is reached (Kubernetes' annotation of the same name: ip:port) */
export const PEER_ADDRESS_ANNOTATION = 'kubernetes.io/peer-advertise-address';
/** kube-apiserver: identity Leases last an hour, renewed every 10 s, collected an hour after they expire */
export const IDENTITY_LEASE_DURATION_SECONDS = 3600;
export const IDENTITY_RENEW_INTERVAL_MS = 10_000;
/** kube-apiserver's DefaultEndpointReconcilerTTL: a server not seen renewing for this long leaves the Endpoints */
export const ENDPOINT_TTL_MS = 15_000;

/** kube-apiserver's APIServerID: "apiserver-" + base32(sha256(len16(hostname) hostname len16("kube-apiserver") "kube-apiserver")[:16]), lower case */
export function apiServerId(hostname: string): string {
  const part = (s: string) => {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(2);
    len.writeUInt16BE(b.length);
    return Buffer.concat([len, b]);
  };
  const hash = createHash('sha256')
    .update(Buffer.concat([part(hostname), part(IDENTITY_VALUE)]))
    .digest();
  return `apiserver-${base32NoPad(hash.subarray(0, 16)).toLowerCase()}`;
}

export interface ServerEndpoint {
  ip: string;
  port: number;
}

export function parsePeerAddress(v: unknown): ServerEndpoint | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(v);
  if (!m || !isIPv4(m[1]!)) return undefined;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { ip: m[1]!, port } : undefined;
}

/** when each identity Lease's renewTime was last seen to change, on the local clock */
export type SeenRenewals = Map<string, { renewTime: string; at: number }>;

/**
 * The servers whose identity Lease was seen renewed within `ttlMs` (local clock, as
 * client-go judges leases: a Lease first seen counts from then), with the address each
 * advertises; `self` is always live. Returns the updated sightings.
 */
export function liveServers(
  leases: KubeObject[],
  seen: SeenRenewals,
  now: number,
  ttlMs: number,
  self?: string,
): { live: ServerEndpoint[]; seen: SeenRenewals } {
  const next: SeenRenewals = new Map();
  const live: ServerEndpoint[] = [];
  for (const l of leases) {
    if (l.metadata.labels?.[IDENTITY_LABEL] !== IDENTITY_VALUE) continue;
    const name = l.metadata.name!;
    const renewTime = String(l.spec?.renewTime ?? '');
    const before = seen.get(name);
    const at = before && before.renewTime === renewTime ? before.at : now;
    next.set(name, { renewTime, at });
    const ep = parsePeerAddress(l.metadata.annotations?.[PEER_ADDRESS_ANNOTATION]);
    if (ep && (name === self || at + ttlMs > now)) live.push(ep);
  }
  return { live, seen: next };
}

/** identity Leases expired by their own renewTime + leaseDurationSeconds (kube-apiserver's lease GC) */
export function expiredIdentityLeases(leases: KubeObject[], now: number): KubeObject[] {
  return leases.filter((l) => {
    if (l.metadata.labels?.[IDENTITY_LABEL] !== IDENTITY_VALUE) return false;
    const renew = Date.parse(l.spec?.renewTime ?? '');
    const d = Number(l.spec?.leaseDurationSeconds);
    return Number.isFinite(renew) && Number.isFinite(d) && renew + d * 1000 < now;
  });
}

export interface EndpointPort {
  name: string;
  port: number;
  protocol: string;
}
export interface EndpointSubset {
  addresses: { ip: string }[];
  ports: EndpointPort[];
}
export interface KubernetesSlice {
  name: string;
  endpoints: { addresses: string[]; conditions: { ready: boolean } }[];
  ports: EndpointPort[];
}

/**
 * default/kubernetes' Endpoints subsets and EndpointSlices for these servers: one subset
 * per port (kube-apiserver assumes one port for all servers; servers on one machine differ
 * by port), addresses sorted; the slice of the first (lowest) port is named `kubernetes`,
 * the others `kubernetes-<port>`. One server gives exactly the single-server objects.
 */
export function desiredEndpoints(servers: ServerEndpoint[]): { subsets: EndpointSubset[]; slices: KubernetesSlice[] } {
  const byPort = new Map<number, Set<string>>();
  for (const s of servers) {
    if (!byPort.has(s.port)) byPort.set(s.port, new Set());
    byPort.get(s.port)!.add(s.ip);
  }
  const ipOrder = (a: string, b: string) => {
    const n = (ip: string) => ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
    return n(a) - n(b);
  };
  const ports = [...byPort.keys()].sort((a, b) => a - b);
  const subsets: EndpointSubset[] = [];
  const slices: KubernetesSlice[] = [];
  ports.forEach((port, i) => {
    const ips = [...byPort.get(port)!].sort(ipOrder);
    const p = [{ name: 'https', port, protocol: 'TCP' }];
    subsets.push({ addresses: ips.map((ip) => ({ ip })), ports: p });
    slices.push({
      name: i === 0 ? 'kubernetes' : `kubernetes-${port}`,
      endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
      ports: p,
    });
  });
  return { subsets, slices };
}

/** a slice this reconciler wrote for a second port (removed when that port has no server) */
export function isExtraKubernetesSlice(name: string): boolean {
  return /^kubernetes-\d{1,5}$/.test(name);
}
