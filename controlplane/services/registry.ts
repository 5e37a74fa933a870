// What kube-apiserver's service registry does around a Service write
// (pkg/registry/core/service/storage/alloc.go: allocateCreate / allocateUpdate): IP family
// fields, ClusterIPs from --service-cidr, NodePorts and the health-check NodePort from
// --service-node-port-range. The allocators are rebuilt from the other stored Services on
// every write; ApiStorage runs this and the store write under one lock per store, so two
// writes never take the same value, and a dry run takes nothing because nothing is kept.
// Map of the code base: ARCHITECTURE.md, "The parts".
import { isIP } from 'node:net';
import type { KubeObject, StatusCause } from '../../proto/meta.js';
import { field, internal, invalid } from '../api/errors.js';
import { invalidRendered } from '../resources/meta-validation.js';
import type { ServicePort } from '../../proto/api/types.gen.js';
import type { AllocationContext } from '../resources/types.js';
import { AllocationError, IPAllocator, PortAllocator } from './allocator.js';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** a service port as stored (an object entry of spec.ports; its fields unchecked) */
const isServicePort = (v: unknown): v is Partial<ServicePort> => isObj(v);

/** what the type predicates read of a Service spec (a body's, not yet validated, or a stored one's) */
type SpecLike =
  | { type?: unknown; externalTrafficPolicy?: unknown; allocateLoadBalancerNodePorts?: unknown; ports?: unknown }
  | null
  | undefined;

export const needsClusterIP = (spec: SpecLike): boolean => spec?.type !== 'ExternalName';
export const needsNodePort = (spec: SpecLike): boolean => spec?.type === 'NodePort' || spec?.type === 'LoadBalancer';
/** apiservice.NeedsHealthCheck */
export const needsHealthCheck = (spec: SpecLike): boolean =>
  spec?.type === 'LoadBalancer' && spec?.externalTrafficPolicy === 'Local';
/** shouldAllocateNodePorts */
const shouldAllocateNodePorts = (spec: SpecLike): boolean =>
  spec?.type === 'NodePort' || (spec?.type === 'LoadBalancer' && spec?.allocateLoadBalancerNodePorts !== false);

const portsOf = (spec: SpecLike): Partial<ServicePort>[] =>
  Array.isArray(spec?.ports) ? spec.ports.filter(isServicePort) : [];

/** The ClusterIPs a stored Service holds ("None" and empty are not addresses). */
export function clusterIPsOf(svc: KubeObject): string[] {
  const spec = svc.spec ?? {};
  if (!needsClusterIP(spec)) return [];
  const ips: string[] =
    Array.isArray(spec.clusterIPs) && spec.clusterIPs.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
  return ips.filter((ip) => typeof ip === 'string' && ip !== '' && ip !== 'None');
}

/** collectServiceNodePorts plus the health-check port: every node port a stored Service holds. */
export function nodePortsOf(svc: KubeObject): number[] {
  const spec = svc.spec ?? {};
  const out = portsOf(spec)
    .map((p) => p.nodePort)
    .filter((n): n is number => n !== undefined && Number.isInteger(n) && n > 0);
  if (Number.isInteger(spec.healthCheckNodePort) && spec.healthCheckNodePort > 0) out.push(spec.healthCheckNodePort);
  return out;
}

const renderStrings = (v: string[]): string => `[]string{${v.map((s) => JSON.stringify(s)).join(', ')}}`;

function fail(svc: KubeObject, causes: StatusCause[]): never {
  throw invalid('Service', svc.metadata?.name ?? '', causes);
}

/**
 * The defaulting half of initIPFamilyFields (no errors): clusterIP/clusterIPs in step,
 * ipFamilyPolicy, and for a valid single-stack service ipFamilies [IPv4]. Returns whether
 * the service is headless without a selector (dual-stack families by default).
 */
export function defaultIPFamilyFields(spec: unknown, old?: KubeObject): boolean {
  if (!isObj(spec) || !needsClusterIP(spec)) return false;
  if (spec.clusterIP && (!Array.isArray(spec.clusterIPs) || spec.clusterIPs.length === 0))
    spec.clusterIPs = [spec.clusterIP];
  if (!spec.clusterIP && Array.isArray(spec.clusterIPs) && spec.clusterIPs.length) spec.clusterIP = spec.clusterIPs[0];
  const headlessNoSelector =
    spec.clusterIP === 'None' && (!isObj(spec.selector) || Object.keys(spec.selector).length === 0);
  if (!spec.ipFamilyPolicy) {
    if (old?.spec?.ipFamilyPolicy) spec.ipFamilyPolicy = old.spec.ipFamilyPolicy;
    else spec.ipFamilyPolicy = headlessNoSelector ? 'RequireDualStack' : 'SingleStack';
  }
  if (
    !headlessNoSelector &&
    spec.ipFamilyPolicy === 'SingleStack' &&
    (!Array.isArray(spec.ipFamilies) || spec.ipFamilies.length === 0)
  )
    spec.ipFamilies = ['IPv4'];
  return headlessNoSelector;
}

/**
 * initIPFamilyFields for a single-stack IPv4 cluster: ipFamilyPolicy (kept from before on
 * update; RequireDualStack for headless services without a selector), ipFamilies, and the
 * loose pre-validation of clusterIPs the allocator relies on.
 */
function initIPFamilyFields(svc: KubeObject, old: KubeObject | undefined): void {
  const spec = svc.spec;
  if (!needsClusterIP(spec)) return;
  const headlessNoSelector = defaultIPFamilyFields(spec, old);
  const causes: StatusCause[] = [];
  const ips: unknown[] = Array.isArray(spec.clusterIPs) ? spec.clusterIPs : [];
  if (spec.clusterIP && ips.length && spec.clusterIP !== ips[0]) {
    causes.push(
      invalidRendered('spec.clusterIPs', renderStrings(ips.map(String)), 'first value must match `clusterIP`'),
    );
  }
  ips.forEach((ip, i) => {
    if (ip === 'None') {
      if (i > 0 || ips.length > 1)
        causes.push(
          invalidRendered('spec.clusterIPs', renderStrings(ips.map(String)), "'None' must be the first and only value"),
        );
    } else if (typeof ip !== 'string' || !isIP(ip)) {
      causes.push(
        field.invalid(`spec.clusterIPs[${i}]`, ip, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'),
      );
    } else if (isIP(ip) === 6) {
      causes.push(
        invalidRendered(
          `spec.clusterIPs[${i}]`,
          renderStrings(ips.map(String)),
          'IPv6 is not configured on this cluster',
        ),
      );
    }
  });
  const policies = ['SingleStack', 'PreferDualStack', 'RequireDualStack'];
  if (!policies.includes(spec.ipFamilyPolicy))
    causes.push(field.notSupported('spec.ipFamilyPolicy', spec.ipFamilyPolicy, policies));
  if (causes.length) fail(svc, causes);
  if (headlessNoSelector) {
    if (!Array.isArray(spec.ipFamilies) || spec.ipFamilies.length === 0) spec.ipFamilies = ['IPv4'];
    if (spec.ipFamilies.length < 2 && spec.ipFamilyPolicy !== 'SingleStack')
      spec.ipFamilies = [spec.ipFamilies[0], spec.ipFamilies[0] === 'IPv4' ? 'IPv6' : 'IPv4'];
    return;
  }
  if (spec.ipFamilyPolicy === 'RequireDualStack') {
    causes.push(
      field.invalid(
        'spec.ipFamilyPolicy',
        spec.ipFamilyPolicy,
        'this cluster is not configured for dual-stack services',
      ),
    );
  }
  (Array.isArray(spec.ipFamilies) ? spec.ipFamilies : []).forEach((f: unknown, i: number) => {
    if (f !== 'IPv4') causes.push(field.invalid(`spec.ipFamilies[${i}]`, f, 'not configured on this cluster'));
  });
  if (causes.length) fail(svc, causes);
  if (!Array.isArray(spec.ipFamilies) || spec.ipFamilies.length === 0) spec.ipFamilies = ['IPv4'];
}

/** allocClusterIPs: nothing for ExternalName and headless, else the requested or a random free address. */
function allocClusterIPs(svc: KubeObject, ips: IPAllocator): void {
  const spec = svc.spec;
  if (!needsClusterIP(spec)) return;
  if (spec.clusterIP === 'None' || spec.clusterIPs?.[0] === 'None') return;
  const want: string | undefined = spec.clusterIPs?.[0] || spec.clusterIP || undefined;
  let ip: string;
  if (!want) {
    try {
      ip = ips.allocateNext();
    } catch (e) {
      if (e instanceof AllocationError) throw internal(`failed to allocate a serviceIP: ${e.message}`);
      throw e;
    }
  } else {
    try {
      ips.allocate(want);
    } catch (e) {
      if (e instanceof AllocationError)
        fail(svc, [
          invalidRendered(
            'spec.clusterIPs',
            renderStrings(spec.clusterIPs ?? [want]),
            `failed to allocate IP ${want}: ${e.message}`,
          ),
        ]);
      throw e;
    }
    ip = want;
  }
  spec.clusterIP = ip;
  spec.clusterIPs = [ip];
}

function allocatePort(svc: KubeObject, ports: PortAllocator, path: string, np: number): void {
  try {
    ports.allocate(np);
  } catch (e) {
    if (e instanceof AllocationError) fail(svc, [field.invalid(path, np, e.message)]);
    throw e;
  }
}

function nextPort(ports: PortAllocator, what = 'a nodePort'): number {
  try {
    return ports.allocateNext();
  } catch (e) {
    if (e instanceof AllocationError) throw internal(`failed to allocate ${what}: ${e.message}`);
    throw e;
  }
}

/** initNodePorts: ports with the same port number share one node port, requested values win. */
function initNodePorts(svc: KubeObject, ports: PortAllocator): void {
  const list = portsOf(svc.spec);
  const byPort = new Map<number | undefined, number>();
  list.forEach((sp, i) => {
    if (!sp.nodePort && !shouldAllocateNodePorts(svc.spec)) return;
    const already = byPort.get(sp.port);
    if (already === undefined) {
      const requested = list.find((q) => q.port === sp.port && q.nodePort)?.nodePort as number | undefined;
      if (requested) {
        allocatePort(svc, ports, `spec.ports[${i}].nodePort`, requested);
        sp.nodePort = requested;
      } else {
        sp.nodePort = nextPort(ports);
      }
      byPort.set(sp.port, sp.nodePort);
    } else if (sp.nodePort !== already) {
      if (!sp.nodePort) sp.nodePort = already;
      else allocatePort(svc, ports, `spec.ports[${i}].nodePort`, sp.nodePort);
    }
  });
}

function allocHealthCheckNodePort(svc: KubeObject, ports: PortAllocator): void {
  const spec = svc.spec;
  const hc = spec.healthCheckNodePort;
  if (hc) {
    try {
      ports.allocate(hc);
    } catch (e) {
      if (e instanceof AllocationError)
        throw internal(`failed to allocate requested HealthCheck NodePort ${hc}: ${e.message}`);
      throw e;
    }
  } else {
    spec.healthCheckNodePort = nextPort(ports, 'a HealthCheck NodePort 0');
  }
}

/** updateNodePorts: keep the ports the Service had, allocate new requests and missing values. */
function updateNodePorts(svc: KubeObject, old: KubeObject, ports: PortAllocator): void {
  const oldNumbers = new Set(
    portsOf(old.spec)
      .map((p) => p.nodePort)
      .filter(Boolean),
  );
  const taken = new Set<number>();
  const seen = new Set<string>();
  portsOf(svc.spec).forEach((sp, i) => {
    if (!sp.nodePort && !shouldAllocateNodePorts(svc.spec)) return;
    if (sp.nodePort) {
      if (!oldNumbers.has(sp.nodePort) && !taken.has(sp.nodePort)) {
        allocatePort(svc, ports, `spec.ports[${i}].nodePort`, sp.nodePort);
        taken.add(sp.nodePort);
      }
    } else {
      sp.nodePort = nextPort(ports);
    }
    const key = `${sp.protocol ?? 'TCP'}/${sp.nodePort}`;
    if (seen.has(key)) throw internal(`duplicate nodePort: {${sp.protocol ?? 'TCP'} ${sp.nodePort}}`);
    seen.add(key);
  });
}

function updateHealthCheckNodePort(svc: KubeObject, old: KubeObject, ports: PortAllocator): void {
  const needed = needsHealthCheck(old.spec);
  const needs = needsHealthCheck(svc.spec);
  if (!needed && needs) allocHealthCheckNodePort(svc, ports);
  else if (needed && needs) {
    const oldHc = old.spec?.healthCheckNodePort ?? 0;
    const hc = svc.spec.healthCheckNodePort ?? 0;
    if (hc !== oldHc)
      fail(svc, [
        field.invalid(
          'spec.healthCheckNodePort',
          hc,
          'cannot change healthCheckNodePort on loadBalancer service with externalTraffic=Local during update',
        ),
      ]);
  }
}

/**
 * Fill and reserve a Service's allocated fields. `old` is the stored Service on update
 * (after dropTypeDependentFields and patchAllocatedValues have run on `svc`).
 */
export async function allocateService(
  svc: KubeObject,
  old: KubeObject | undefined,
  ctx: AllocationContext,
): Promise<void> {
  if (!isObj(svc.spec)) return;
  initIPFamilyFields(svc, old);
  const uid = svc.metadata?.uid;
  const others = (await ctx.list()).filter((s) => !uid || s.metadata.uid !== uid);
  const ownedIPs = old ? clusterIPsOf(old) : [];
  const ownedPorts = old ? nodePortsOf(old) : [];
  const ips = new IPAllocator(ctx.network.serviceCidr, [...others.flatMap(clusterIPsOf), ...ownedIPs]);
  const ports = new PortAllocator(ctx.network.nodePortRange, [...others.flatMap(nodePortsOf), ...ownedPorts]);
  if (!old) {
    allocClusterIPs(svc, ips);
    if (needsNodePort(svc.spec)) initNodePorts(svc, ports);
    if (needsHealthCheck(svc.spec)) allocHealthCheckNodePort(svc, ports);
    return;
  }
  // updateClusterIPs: only ExternalName -> a type with a ClusterIP allocates; a changed
  // address is left for validation ("may not change once set").
  if (!needsClusterIP(old.spec) && needsClusterIP(svc.spec)) allocClusterIPs(svc, ips);
  if (needsNodePort(svc.spec)) updateNodePorts(svc, old, ports);
  updateHealthCheckNodePort(svc, old, ports);
}
