// From an Ingress backend (Service name + port number or name) to the addresses to dial,
// pure: the Service port the backend names, then each ready endpoint's port of the same
// name (the EndpointSlice controller has already resolved named and numeric targetPorts).
// Terminating and not-ready endpoints are left out; the caller round-robins over the rest.
import type { NetService } from '../../proto/agent-protocol.js';
import type { Backend } from './router.js';

export interface Target {
  ip: string;
  port: number;
}

export type Resolution =
  | { ok: true; targets: Target[] }
  | { ok: false; reason: 'no-service' | 'no-port' | 'no-endpoints' };

export type ServiceIndex = Map<string, NetService>;

export function indexServices(services: readonly NetService[]): ServiceIndex {
  return new Map(services.map((s) => [`${s.namespace}/${s.name}`, s]));
}

export function resolveBackend(services: ServiceIndex, b: Backend): Resolution {
  const svc = services.get(`${b.namespace}/${b.service}`);
  if (!svc) return { ok: false, reason: 'no-service' };
  const sp = svc.ports.find(
    (p) => p.protocol === 'TCP' && (typeof b.port === 'number' ? p.port === b.port : p.name === b.port),
  );
  if (!sp) return { ok: false, reason: 'no-port' };
  const targets: Target[] = [];
  for (const e of svc.endpoints) {
    if (!e.ready || e.terminating) continue;
    const ep =
      e.ports.find((p) => p.protocol === 'TCP' && p.name === sp.name) ??
      (e.ports.length === 1 && svc.ports.length === 1 ? e.ports[0] : undefined);
    if (ep) targets.push({ ip: e.ip, port: ep.port });
  }
  return targets.length ? { ok: true, targets } : { ok: false, reason: 'no-endpoints' };
}
