// Docker-links-style service environment variables, as kubelet's getServiceEnvVarMap and
// pkg/kubelet/envvars FromServices build them from the Services that exist when a
// container starts: every Service of the pod's namespace with a ClusterIP (when
// enableServiceLinks, the default) plus the master service `kubernetes` of the default
// namespace (always).
import type { NetService } from '../../proto/agent-protocol.js';

const MASTER_SERVICES = new Set(['kubernetes']);
const DEFAULT_NAMESPACE = 'default';

/** envvars.makeEnvVariableName */
export function envVariableName(s: string): string {
  return s.replace(/-/g, '_').toUpperCase();
}

/** IsServiceIPSet: a ClusterIP that is neither "None" nor empty */
function hasClusterIP(s: NetService): boolean {
  return !!s.clusterIP && s.clusterIP !== 'None' && !s.headless;
}

type SvcLike = Pick<NetService, 'namespace' | 'name' | 'clusterIP' | 'headless' | 'ports'>;

/** the services whose variables a pod in `namespace` gets, by name (getServiceEnvVarMap's serviceMap) */
export function servicesForPod(
  services: readonly SvcLike[],
  namespace: string,
  enableServiceLinks: boolean,
): SvcLike[] {
  const byName = new Map<string, SvcLike>();
  for (const s of services) {
    if (!hasClusterIP(s as NetService)) continue;
    if (s.namespace === DEFAULT_NAMESPACE && MASTER_SERVICES.has(s.name)) {
      if (!byName.has(s.name)) byName.set(s.name, s);
    } else if (s.namespace === namespace && enableServiceLinks) {
      byName.set(s.name, s);
    }
  }
  return [...byName.values()];
}

/** envvars.FromServices: host, first port, named ports, then the Docker link variables */
export function serviceEnvVars(services: readonly SvcLike[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const s of services) {
    if (!hasClusterIP(s as NetService) || s.ports.length === 0) continue;
    const prefix = envVariableName(s.name);
    const ip = s.clusterIP!;
    out.push([`${prefix}_SERVICE_HOST`, ip]);
    const portName = `${prefix}_SERVICE_PORT`;
    out.push([portName, String(s.ports[0]!.port)]);
    for (const p of s.ports) if (p.name) out.push([`${portName}_${envVariableName(p.name)}`, String(p.port)]);
    s.ports.forEach((p, i) => {
      const proto = (p.protocol || 'TCP').toLowerCase();
      const url = `${proto}://${ip}:${p.port}`;
      if (i === 0) out.push([`${prefix}_PORT`, url]);
      const pp = `${prefix}_PORT_${p.port}_${proto.toUpperCase()}`;
      out.push([pp, url], [`${pp}_PROTO`, proto], [`${pp}_PORT`, String(p.port)], [`${pp}_ADDR`, ip]);
    });
  }
  return out;
}

/** the service variables of a pod's containers (explicit env overrides them, see env.ts) */
export function serviceEnvMap(
  services: readonly SvcLike[],
  namespace: string,
  enableServiceLinks: boolean,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of serviceEnvVars(servicesForPod(services, namespace, enableServiceLinks))) env[k] = v;
  return env;
}
