// core/v1 Service: SetDefaults_Service, ValidateService's port/type rules, the update
// strategy's dropTypeDependentFields and patchAllocatedValues, the allocation hook
// (ClusterIPs, NodePorts: controlplane/services/registry.ts) and the `kubectl get svc` row
// (PORT(S) "80:30080/TCP", EXTERNAL-IP "<none>"/"<pending>"/the load balancer's IPs).
import type { KubeObject, StatusCause } from '../../proto/meta.js';
import type { LoadBalancerIngress, ServicePort, ServiceSpec, ServiceStatus } from '../../proto/api/types.gen.js';
import { canonicalJson } from '../../proto/canonical.js';
import { field } from '../api/errors.js';
import { ageOf } from './age.js';
import { ageColumn, col, nameColumn } from './columns.js';
import { formatLabels } from './label-selector.js';
import {
  invalidRendered,
  isDNS1123Label,
  isRecord,
  isQualifiedName,
  isValidPortNum,
  nameIsDNS1035Label,
  validateLabels,
  validateObjectMeta,
} from './meta-validation.js';
import { validatePortNumOrName } from './pod-template.js';
import type { ResourceDef } from './types.js';
import { ALL_VERBS } from './verbs.js';
import {
  allocateService,
  defaultIPFamilyFields,
  needsClusterIP,
  needsHealthCheck,
  needsNodePort,
} from '../services/registry.js';

const TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];

/** a Service spec as the schema decoder leaves it: an object, its fields of their JSON types (list entries may be null) */
const isServiceSpec = (v: unknown): v is ServiceSpec => isRecord(v);
/** a spec.ports entry as decoded: an object whose fields may be missing, or null */
type PortEntry = Partial<ServicePort> | null | undefined;

const isHeadless = (spec: ServiceSpec): boolean => spec?.clusterIP === 'None';
const externallyAccessible = (spec: ServiceSpec): boolean =>
  spec?.type === 'LoadBalancer' ||
  spec?.type === 'NodePort' ||
  (spec?.type === 'ClusterIP' && Array.isArray(spec?.externalIPs) && spec.externalIPs.length > 0);

function defaultService(obj: KubeObject): void {
  if (!isRecord(obj.spec)) obj.spec = {};
  const spec: ServiceSpec = obj.spec;
  if (!spec.sessionAffinity) spec.sessionAffinity = 'None';
  if (spec.sessionAffinity === 'None') delete spec.sessionAffinityConfig;
  if (spec.sessionAffinity === 'ClientIP' && typeof spec.sessionAffinityConfig?.clientIP?.timeoutSeconds !== 'number') {
    spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 10800 } };
  }
  if (!spec.type) spec.type = 'ClusterIP';
  for (const p of Array.isArray(spec.ports) ? spec.ports : []) {
    if (!isRecord(p)) continue;
    if (!p.protocol) p.protocol = 'TCP';
    if (p.targetPort === undefined || p.targetPort === null || p.targetPort === 0 || p.targetPort === '')
      p.targetPort = p.port;
  }
  if (externallyAccessible(spec) && !spec.externalTrafficPolicy) spec.externalTrafficPolicy = 'Cluster';
  if (!spec.internalTrafficPolicy && ['NodePort', 'LoadBalancer', 'ClusterIP'].includes(spec.type))
    spec.internalTrafficPolicy = 'Cluster';
  if (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts === undefined)
    spec.allocateLoadBalancerNodePorts = true;
}

const portList = (spec: ServiceSpec): Partial<ServicePort>[] =>
  Array.isArray(spec?.ports) ? spec.ports.filter(isRecord) : [];
const nodePortSet = (spec: ServiceSpec): Set<number> =>
  new Set(
    portList(spec)
      .map((p) => p.nodePort)
      .filter((n): n is number => !!n),
  );
const sameStrings = (a: unknown, b: unknown): boolean => canonicalJson(a ?? []) === canonicalJson(b ?? []);

/**
 * Keep what the allocators assigned (clusterIP(s), nodePorts, healthCheckNodePort) when an
 * update leaves them out, as the service registry's patchAllocatedValues does: node ports
 * are matched by port name and never reused for a second port.
 */
export function preserveAllocatedValues(next: KubeObject, old: KubeObject): void {
  const n = next.spec;
  const o = old.spec;
  if (!isServiceSpec(n) || !isServiceSpec(o)) return;
  if (needsClusterIP(o) && needsClusterIP(n)) {
    if (!n.clusterIP && o.clusterIP) n.clusterIP = o.clusterIP;
    if (
      (!Array.isArray(n.clusterIPs) || n.clusterIPs.length === 0) &&
      Array.isArray(o.clusterIPs) &&
      o.clusterIPs.length
    )
      n.clusterIPs = [...o.clusterIPs];
  }
  if (needsNodePort(o) && needsNodePort(n)) {
    const oldPorts = nodePortSet(o);
    const used = new Set([...nodePortSet(n)].filter((p) => oldPorts.has(p)));
    const byName = new Map<string, number>();
    for (const p of portList(o)) byName.set(p.name ?? '', p.nodePort ?? 0);
    for (const p of portList(n)) {
      if (p.nodePort) continue;
      const v = byName.get(p.name ?? '') ?? 0;
      if (v && !used.has(v)) p.nodePort = v;
    }
  }
  if (needsHealthCheck(o) && needsHealthCheck(n) && !n.healthCheckNodePort && o.healthCheckNodePort)
    n.healthCheckNodePort = o.healthCheckNodePort;
}

/**
 * normalizeClusterIPs on update: keep clusterIP and clusterIPs in step when a client sets
 * only the singular field (an older client, or a patch of clusterIP alone).
 */
export function normalizeClusterIPs(next: KubeObject, old: KubeObject): void {
  const n = next.spec;
  const o = old.spec;
  if (!isServiceSpec(n) || !isServiceSpec(o)) return;
  const oldIPs: string[] = Array.isArray(o.clusterIPs) ? o.clusterIPs : [];
  if (
    oldIPs.length &&
    (!Array.isArray(n.clusterIPs) || n.clusterIPs.length === 0) &&
    (o.clusterIP ?? '') === (n.clusterIP ?? '')
  )
    n.clusterIPs = [...oldIPs];
  if ((o.clusterIP ?? '') === (n.clusterIP ?? '')) return;
  if (o.clusterIP && !n.clusterIP) {
    if (sameStrings(n.clusterIPs, o.clusterIPs)) delete n.clusterIPs;
    return;
  }
  // n.clusterIP is set here: both empty returned above
  if (
    n.clusterIP &&
    oldIPs.length &&
    o.clusterIP === oldIPs[0] &&
    Array.isArray(n.clusterIPs) &&
    n.clusterIPs[0] === o.clusterIP
  )
    n.clusterIPs[0] = n.clusterIP;
}

/**
 * dropTypeDependentFields: when the type changes, clear what the old type needed and the
 * user did not touch (allocated values are then released), and the load-balancer status.
 */
export function dropTypeDependentFields(next: KubeObject, old: KubeObject): void {
  const n = next.spec;
  const o = old.spec;
  if (!isServiceSpec(n) || !isServiceSpec(o)) return;
  if (needsClusterIP(o) && !needsClusterIP(n)) {
    if ((n.clusterIP ?? '') === (o.clusterIP ?? '') && sameStrings(n.clusterIPs, o.clusterIPs)) {
      delete n.clusterIP;
      delete n.clusterIPs;
    }
    if (sameStrings(n.ipFamilies, o.ipFamilies)) delete n.ipFamilies;
    if ((n.ipFamilyPolicy ?? '') === (o.ipFamilyPolicy ?? '')) delete n.ipFamilyPolicy;
  }
  if (needsNodePort(o) && !needsNodePort(n)) {
    const oldPorts = nodePortSet(o);
    if ([...nodePortSet(n)].every((p) => oldPorts.has(p))) for (const p of portList(n)) delete p.nodePort;
  }
  if (needsHealthCheck(o) && !needsHealthCheck(n) && (n.healthCheckNodePort ?? 0) === (o.healthCheckNodePort ?? 0))
    delete n.healthCheckNodePort;
  if (o.type === 'LoadBalancer' && n.type !== 'LoadBalancer') {
    if (
      n.allocateLoadBalancerNodePorts !== undefined &&
      n.allocateLoadBalancerNodePorts === o.allocateLoadBalancerNodePorts
    )
      delete n.allocateLoadBalancerNodePorts;
    if ((n.loadBalancerClass ?? null) === (o.loadBalancerClass ?? null)) delete n.loadBalancerClass;
  }
  if (externallyAccessible(o) && !externallyAccessible(n) && n.externalTrafficPolicy === o.externalTrafficPolicy)
    delete n.externalTrafficPolicy;
  if (n.type !== 'LoadBalancer' && isRecord(next.status)) next.status.loadBalancer = {};
}

function validatePorts(spec: ServiceSpec): StatusCause[] {
  const out: StatusCause[] = [];
  const ports: PortEntry[] = Array.isArray(spec.ports) ? spec.ports : [];
  if (ports.length === 0 && !isHeadless(spec) && spec.type !== 'ExternalName') out.push(field.required('spec.ports'));
  const names = new Set<string>();
  const nodePorts = new Set<string>();
  ports.forEach((sp, i) => {
    const p = `spec.ports[${i}]`;
    if (ports.length > 1 && !sp?.name) out.push(field.required(`${p}.name`));
    else if (sp?.name) {
      for (const m of isDNS1123Label(String(sp.name))) out.push(field.invalid(`${p}.name`, sp.name, m));
      if (names.has(sp.name)) out.push(field.duplicate(`${p}.name`, sp.name));
      else names.add(sp.name);
    }
    // a missing (or null) port is no port number: NaN fails the same check
    for (const m of isValidPortNum(sp?.port ?? NaN)) out.push(field.invalid(`${p}.port`, sp?.port ?? 0, m));
    if (!sp?.protocol) out.push(field.required(`${p}.protocol`));
    else if (!PROTOCOLS.includes(sp.protocol)) out.push(field.notSupported(`${p}.protocol`, sp.protocol, PROTOCOLS));
    out.push(...validatePortNumOrName(sp?.targetPort, `${p}.targetPort`));
    if (sp?.appProtocol)
      for (const m of isQualifiedName(String(sp.appProtocol)))
        out.push(field.invalid(`${p}.appProtocol`, sp.appProtocol, m));
    const np = sp?.nodePort;
    if (np) {
      // the range is the allocator's to check (--service-node-port-range)
      if (spec.type === 'ClusterIP')
        out.push(field.forbidden(`${p}.nodePort`, "may not be used when `type` is 'ClusterIP'"));
      else for (const m of isValidPortNum(np)) out.push(field.invalid(`${p}.nodePort`, np, m));
      const key = `${np}/${sp?.protocol ?? ''}`;
      if (nodePorts.has(key)) out.push(field.duplicate(`${p}.nodePort`, np));
      nodePorts.add(key);
    }
  });
  return out;
}

export function validateServiceSpec(spec: unknown): StatusCause[] {
  if (!isServiceSpec(spec)) return [field.required('spec')];
  const out: StatusCause[] = [];
  if (!TYPES.includes(spec.type ?? '')) out.push(field.notSupported('spec.type', spec.type ?? '', TYPES));
  if (spec.type === 'ExternalName') {
    if (spec.clusterIP) out.push(field.forbidden('spec.clusterIP', 'may not be set for ExternalName services'));
    if (!spec.externalName) out.push(field.required('spec.externalName'));
  } else if (spec.clusterIP === 'None' && (spec.type === 'NodePort' || spec.type === 'LoadBalancer')) {
    out.push(field.invalid('spec.clusterIPs[0]', 'None', `may not be set to 'None' for ${spec.type} services`));
  }
  out.push(...validatePorts(spec));
  if (!['ClientIP', 'None'].includes(spec.sessionAffinity ?? ''))
    out.push(field.notSupported('spec.sessionAffinity', spec.sessionAffinity ?? '', ['ClientIP', 'None']));
  out.push(...validateLabels(spec.selector, 'spec.selector'));
  if (spec.externalTrafficPolicy && !['Cluster', 'Local'].includes(spec.externalTrafficPolicy)) {
    out.push(field.notSupported('spec.externalTrafficPolicy', spec.externalTrafficPolicy, ['Cluster', 'Local']));
  }
  if (spec.internalTrafficPolicy && !['Cluster', 'Local'].includes(spec.internalTrafficPolicy)) {
    out.push(field.notSupported('spec.internalTrafficPolicy', spec.internalTrafficPolicy, ['Cluster', 'Local']));
  }
  return out;
}

function validateServiceUpdate(obj: KubeObject, old: KubeObject): StatusCause[] {
  const n: ServiceSpec = obj.spec ?? {};
  const o: ServiceSpec = old.spec ?? {};
  if (o.type === 'ExternalName' || n.type === 'ExternalName' || !o.clusterIP || !n.clusterIP) return [];
  if (
    n.clusterIP === o.clusterIP &&
    canonicalJson(n.clusterIPs ?? [n.clusterIP]) === canonicalJson(o.clusterIPs ?? [o.clusterIP])
  )
    return [];
  const ips: string[] = Array.isArray(n.clusterIPs) ? n.clusterIPs : [n.clusterIP];
  return [
    invalidRendered(
      'spec.clusterIPs[0]',
      `[]string{${ips.map((ip) => JSON.stringify(ip)).join(', ')}}`,
      'may not change once set',
    ),
  ];
}

function externalIP(spec: ServiceSpec, status: ServiceStatus | undefined): string {
  const external: string[] = Array.isArray(spec?.externalIPs) ? spec.externalIPs : [];
  switch (spec?.type) {
    case 'ClusterIP':
    case 'NodePort':
      return external.length ? external.join(',') : '<none>';
    case 'LoadBalancer': {
      const ingress: (LoadBalancerIngress | null | undefined)[] = Array.isArray(status?.loadBalancer?.ingress)
        ? status.loadBalancer.ingress
        : [];
      const lb = [...new Set(ingress.map((i) => i?.ip || i?.hostname).filter((a): a is string => !!a))].sort();
      if (external.length) return [...lb, ...external].join(',');
      return lb.length ? lb.join(',') : '<pending>';
    }
    case 'ExternalName':
      return spec.externalName ?? '';
  }
  return '<unknown>';
}

/** makePortString: "80/TCP", "80:30080/TCP", joined by commas. */
export function servicePorts(spec: ServiceSpec | undefined): string {
  const ports: PortEntry[] = Array.isArray(spec?.ports) ? spec.ports : [];
  const s = ports
    .map((p) =>
      p?.nodePort && p.nodePort > 0 ? `${p.port}:${p.nodePort}/${p.protocol ?? ''}` : `${p?.port}/${p?.protocol ?? ''}`,
    )
    .join(',');
  return s || '<none>';
}

export const service: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Service',
  resource: 'services',
  singular: 'service',
  namespaced: true,
  shortNames: ['svc'],
  categories: ['all'],
  verbs: ALL_VERBS,
  subresources: ['status'],
  hasStatusSubresource: true,
  hasGeneration: false,
  schema: 'Service',

  defaults: defaultService,

  prepareForCreate(obj) {
    defaultService(obj);
    defaultIPFamilyFields(obj.spec);
    obj.status = { loadBalancer: {} };
  },

  async allocate(obj, old, ctx) {
    defaultService(obj);
    if (old) {
      dropTypeDependentFields(obj, old);
      preserveAllocatedValues(obj, old);
      normalizeClusterIPs(obj, old);
    }
    await allocateService(obj, old, ctx);
  },

  validate(obj, old) {
    const out = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNS1035Label });
    out.push(...validateServiceSpec(obj.spec));
    if (old) out.push(...validateServiceUpdate(obj, old));
    return out;
  },

  columns: [
    nameColumn(),
    col('Type', 'string', 'type determines how the Service is exposed. Defaults to ClusterIP.'),
    col('Cluster-IP', 'string', 'clusterIP is the IP address of the service and is usually assigned randomly.'),
    col(
      'External-IP',
      'string',
      'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.',
    ),
    col('Port(s)', 'string', 'The list of ports that are exposed by this service.'),
    ageColumn(),
    col('Selector', 'string', 'Route service traffic to pods with label keys and values matching this selector.', 1),
  ],

  row(obj, now) {
    const spec: ServiceSpec = obj.spec ?? {};
    const clusterIP = (Array.isArray(spec.clusterIPs) && spec.clusterIPs[0]) || spec.clusterIP || '<none>';
    return [
      obj.metadata?.name ?? '',
      spec.type ?? '',
      clusterIP,
      externalIP(spec, obj.status),
      servicePorts(spec),
      ageOf(obj, now),
      formatLabels(spec.selector),
    ];
  },

  fields: {
    'spec.clusterIP': (o) => String(o.spec?.clusterIP ?? ''),
    'spec.type': (o) => String(o.spec?.type ?? ''),
  },
};
