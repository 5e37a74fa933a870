// What the Endpoints and EndpointSlice controllers compute from a Service and its pods,
// without I/O: which pods count (endpointsliceutil.ShouldPodBeInEndpoints), the port each
// service port resolves to in a pod (podutil.FindPort), the Endpoints subsets
// (addEndpointSubset + endpoints.RepackSubsets) and the EndpointSlice endpoints and ports
// (podToEndpoint, getEndpointPorts).
import type { KubeObject } from '../../proto/meta.js';
import type { Container, ServicePort } from '../../proto/api/types.gen.js';
import { canonicalJson } from '../../proto/canonical.js';
import { isPodReady } from '../../proto/api/pod.js';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** a service port as stored (an object entry of spec.ports; its fields unchecked) */
const isServicePort = (v: unknown): v is Partial<ServicePort> => isObj(v);

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const SLICE_CONTROLLER_NAME = 'endpointslice-controller.k8s.io';
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';

/** The selector the endpoint controllers use; undefined (and the Service is left alone) without one or for ExternalName. */
export function serviceSelector(svc: KubeObject): Record<string, string> | undefined {
  const spec = svc.spec;
  if (!isObj(spec) || spec.type === 'ExternalName') return undefined;
  if (!isObj(spec.selector) || Object.keys(spec.selector).length === 0) return undefined;
  return spec.selector as Record<string, string>;
}

export function selectsPod(selector: Record<string, string>, pod: KubeObject): boolean {
  const labels = pod.metadata.labels ?? {};
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

export function podIP(pod: KubeObject): string | undefined {
  const ip = pod.status?.podIP || pod.status?.podIPs?.[0]?.ip;
  return typeof ip === 'string' && ip ? ip : undefined;
}

/** ShouldPodBeInEndpoints: not terminal, has an IP, and terminating only when asked. */
export function shouldPodBeInEndpoints(pod: KubeObject, includeTerminating: boolean): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  if (!podIP(pod)) return false;
  if (!includeTerminating && pod.metadata.deletionTimestamp) return false;
  return true;
}

/** ShouldSetHostname: pod.spec.hostname with the Service as its subdomain (StatefulSet DNS). */
export function shouldSetHostname(pod: KubeObject, svc: KubeObject): boolean {
  return (
    !!pod.spec?.hostname &&
    pod.spec?.subdomain === svc.metadata.name &&
    pod.metadata.namespace === svc.metadata.namespace
  );
}

/** podutil.FindPort: a number is taken as is, a name is looked up among the pod's container ports of the same protocol. */
export function findPort(pod: KubeObject, svcPort: Partial<ServicePort> | undefined): number | undefined {
  const target = svcPort?.targetPort ?? svcPort?.port;
  if (typeof target === 'number') return target;
  if (typeof target !== 'string') return undefined;
  const protocol = svcPort?.protocol ?? 'TCP';
  const containers: (Partial<Container> | null | undefined)[] = [
    ...(Array.isArray(pod.spec?.containers) ? pod.spec.containers : []),
    ...(Array.isArray(pod.spec?.initContainers)
      ? pod.spec.initContainers.filter((c: Partial<Container> | null | undefined) => c?.restartPolicy === 'Always')
      : []),
  ];
  for (const c of containers) {
    for (const p of Array.isArray(c?.ports) ? c.ports : []) {
      if (p?.name === target && (p?.protocol ?? 'TCP') === protocol) return p.containerPort;
    }
  }
  return undefined;
}

function targetRef(pod: KubeObject): Record<string, string> {
  return { kind: 'Pod', namespace: pod.metadata.namespace!, name: pod.metadata.name!, uid: pod.metadata.uid! };
}

// ---------- Endpoints ----------

export interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef?: Record<string, string>;
}
export interface EndpointPort {
  name?: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}
export interface EndpointSubset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: EndpointPort[];
}

function endpointPort(sp: Partial<ServicePort>, port: number): EndpointPort {
  const protocol = sp.protocol ?? 'TCP';
  const out: EndpointPort = sp.name ? { name: sp.name, port, protocol } : { port, protocol };
  if (sp.appProtocol) out.appProtocol = sp.appProtocol;
  return out;
}

const addrKey = (a: EndpointAddress): string => `${a.ip}/${a.targetRef?.uid ?? ''}`;
const portKey = (p: EndpointPort): string => canonicalJson(p);

function ipCompare(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

const addrCompare = (a: EndpointAddress, b: EndpointAddress): number =>
  ipCompare(a.ip, b.ip) ||
  ((a.targetRef?.uid ?? '') < (b.targetRef?.uid ?? '')
    ? -1
    : (a.targetRef?.uid ?? '') > (b.targetRef?.uid ?? '')
      ? 1
      : 0);
const portCompare = (a: EndpointPort, b: EndpointPort): number =>
  portKey(a) < portKey(b) ? -1 : portKey(a) > portKey(b) ? 1 : 0;

/**
 * The subsets of a Service's Endpoints (syncService): one entry per pod and port, then
 * repacked so addresses sharing the same set of ports (with the same readiness) form one
 * subset. Addresses, ports and subsets are sorted so equal inputs give equal output.
 */
export function endpointSubsets(svc: KubeObject, pods: KubeObject[]): EndpointSubset[] {
  const spec = svc.spec ?? {};
  const tolerate = spec.publishNotReadyAddresses === true;
  const ports: Partial<ServicePort>[] = Array.isArray(spec.ports) ? spec.ports.filter(isServicePort) : [];
  // address key -> address; port key -> (address key -> ready)
  const addrs = new Map<string, EndpointAddress>();
  const byPort = new Map<string, { port?: EndpointPort; members: Map<string, boolean> }>();
  const add = (epa: EndpointAddress, port: EndpointPort | undefined, ready: boolean) => {
    const k = addrKey(epa);
    if (!addrs.has(k)) addrs.set(k, epa);
    const pk = port ? portKey(port) : '';
    let entry = byPort.get(pk);
    if (!entry) byPort.set(pk, (entry = { port, members: new Map() }));
    entry.members.set(k, entry.members.get(k) === true || ready);
  };
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, tolerate)) continue;
    const epa: EndpointAddress = { ip: podIP(pod)! };
    if (shouldSetHostname(pod, svc)) epa.hostname = pod.spec.hostname;
    if (pod.spec?.nodeName) epa.nodeName = pod.spec.nodeName;
    epa.targetRef = targetRef(pod);
    const ready = tolerate || isPodReady(pod);
    if (ports.length === 0) {
      if (spec.clusterIP === 'None') add(epa, undefined, ready);
      continue;
    }
    for (const sp of ports) {
      const n = findPort(pod, sp);
      if (n === undefined) continue;
      add(epa, endpointPort(sp, n), ready);
    }
  }
  // group ports by the exact (address, readiness) set they are offered on
  const groups = new Map<string, { members: Map<string, boolean>; ports: EndpointPort[] }>();
  for (const { port, members } of byPort.values()) {
    const key = canonicalJson([...members.entries()].sort());
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { members, ports: [] }));
    if (port) g.ports.push(port);
  }
  const out: EndpointSubset[] = [];
  for (const g of groups.values()) {
    const ready: EndpointAddress[] = [];
    const notReady: EndpointAddress[] = [];
    for (const [k, r] of g.members) (r ? ready : notReady).push(addrs.get(k)!);
    const ss: EndpointSubset = {};
    if (ready.length) ss.addresses = ready.sort(addrCompare);
    if (notReady.length) ss.notReadyAddresses = notReady.sort(addrCompare);
    if (g.ports.length) ss.ports = g.ports.sort(portCompare);
    out.push(ss);
  }
  return out.sort((a, b) => {
    const ka = canonicalJson([a.ports ?? [], a.addresses?.[0]?.ip ?? a.notReadyAddresses?.[0]?.ip ?? '']);
    const kb = canonicalJson([b.ports ?? [], b.addresses?.[0]?.ip ?? b.notReadyAddresses?.[0]?.ip ?? '']);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

/** Endpoints' labels: the Service's, plus service.kubernetes.io/headless when it has no ClusterIP. */
export function endpointsLabels(svc: KubeObject): Record<string, string> {
  const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}) };
  delete labels[HEADLESS_LABEL];
  if (isHeadless(svc)) labels[HEADLESS_LABEL] = '';
  return labels;
}

export function isHeadless(svc: KubeObject): boolean {
  const ip = svc.spec?.clusterIP;
  return !ip || ip === 'None';
}

// ---------- EndpointSlices ----------

export interface SlicePort {
  name: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}
export interface SliceEndpoint {
  addresses: string[];
  conditions: { ready: boolean; serving: boolean; terminating: boolean };
  hostname?: string;
  targetRef: Record<string, string>;
  nodeName?: string;
  zone?: string;
}

/** getEndpointPorts: the service ports this pod resolves, in service order. */
export function slicePorts(svc: KubeObject, pod: KubeObject): SlicePort[] {
  const out: SlicePort[] = [];
  for (const sp of Array.isArray(svc.spec?.ports) ? svc.spec.ports.filter(isServicePort) : []) {
    const n = findPort(pod, sp);
    if (n === undefined) continue;
    const p: SlicePort = { name: sp.name ?? '', port: n, protocol: sp.protocol ?? 'TCP' };
    if (sp.appProtocol) p.appProtocol = sp.appProtocol;
    out.push(p);
  }
  return out;
}

/** podToEndpoint: ready/serving/terminating as the EndpointSlice controller sets them. */
export function sliceEndpoint(svc: KubeObject, pod: KubeObject, zone?: string): SliceEndpoint {
  const publish = svc.spec?.publishNotReadyAddresses === true;
  const terminating = !!pod.metadata.deletionTimestamp;
  const serving = publish || isPodReady(pod);
  const ready = terminating && !publish ? false : serving;
  const ep: SliceEndpoint = {
    addresses: [podIP(pod)!],
    conditions: { ready, serving, terminating },
    targetRef: targetRef(pod),
  };
  if (shouldSetHostname(pod, svc)) ep.hostname = pod.spec.hostname;
  if (pod.spec?.nodeName) ep.nodeName = pod.spec.nodeName;
  if (zone) ep.zone = zone;
  return ep;
}

export const sliceEndpointKey = (e: SliceEndpoint): string => `${e.addresses[0]}/${e.targetRef?.uid ?? ''}`;

export function compareSliceEndpoints(a: SliceEndpoint, b: SliceEndpoint): number {
  return (
    ipCompare(a.addresses[0] ?? '', b.addresses[0] ?? '') ||
    (sliceEndpointKey(a) < sliceEndpointKey(b) ? -1 : sliceEndpointKey(a) > sliceEndpointKey(b) ? 1 : 0)
  );
}
