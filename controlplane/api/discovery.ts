// Discovery documents kubectl reads first: aggregated discovery (apidiscovery.k8s.io/v2,
// chosen by the Accept header) and the legacy /api, /apis, /api/v1, /apis/<g>/<v> lists.
// The legacy /api/v1 must list pods/eviction (group policy) or `kubectl drain` deletes pods.
// Custom resources of Established CRDs (controlplane/crd/registry.ts) are added to every
// document at request time, so a CRD's group appears and disappears with it.
import type { ResourceDef, Subresource } from '../resources/types.js';
import { customResourceDefsServed } from '../crd/registry.js';

export const VERSION_INFO = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.4-skiff',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-11-01T00:00:00Z',
  goVersion: 'go1.23',
  compiler: 'gc',
  platform: `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`,
};

export const AGGREGATED_CONTENT_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
export const AGGREGATED_V2BETA1_CONTENT_TYPE =
  'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList';

interface SubInfo {
  group: string;
  version: string;
  kind: string;
  verbs: string[];
}

function subresourceInfo(def: ResourceDef, sub: Subresource): SubInfo {
  const same = { group: def.group, version: def.version, kind: def.kind };
  switch (sub) {
    case 'status':
      return { ...same, verbs: ['get', 'patch', 'update'] };
    case 'scale':
      return { group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] };
    case 'binding':
      return { group: '', version: 'v1', kind: 'Binding', verbs: ['create'] };
    case 'eviction':
      return { group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] };
    case 'log':
      return { group: '', version: 'v1', kind: 'Pod', verbs: ['get'] };
    case 'exec':
      return { group: '', version: 'v1', kind: 'PodExecOptions', verbs: ['create', 'get'] };
    case 'attach':
      return { group: '', version: 'v1', kind: 'PodAttachOptions', verbs: ['create', 'get'] };
    case 'portforward':
      return { group: '', version: 'v1', kind: 'PodPortForwardOptions', verbs: ['create', 'get'] };
    case 'finalize':
      return { ...same, verbs: ['update'] };
    case 'ephemeralcontainers':
      return { ...same, verbs: ['get', 'patch', 'update'] };
    case 'token':
      return { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', verbs: ['create'] };
    case 'approval':
      return { ...same, verbs: ['get', 'patch', 'update'] };
  }
}

export interface GroupVersion {
  group: string;
  version: string;
  resources: ResourceDef[];
}

/** the built-in kinds given and the custom resources being served */
export function withCustomResources(defs: ResourceDef[]): ResourceDef[] {
  const custom = customResourceDefsServed();
  return custom.length ? [...defs, ...custom] : defs;
}

export function groupVersions(defs: ResourceDef[]): GroupVersion[] {
  const map = new Map<string, GroupVersion>();
  for (const d of withCustomResources(defs)) {
    const k = `${d.group}/${d.version}`;
    let gv = map.get(k);
    if (!gv) map.set(k, (gv = { group: d.group, version: d.version, resources: [] }));
    gv.resources.push(d);
  }
  return [...map.values()];
}

function aggregatedResource(d: ResourceDef) {
  const r: Record<string, unknown> = {
    resource: d.resource,
    responseKind: { group: d.group, version: d.version, kind: d.kind },
    scope: d.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: d.singular,
    verbs: d.verbs,
  };
  if (d.shortNames.length) r.shortNames = d.shortNames;
  if (d.categories.length) r.categories = d.categories;
  if (d.subresources.length) {
    r.subresources = d.subresources.map((s) => {
      const i = subresourceInfo(d, s);
      return { subresource: s, responseKind: { group: i.group, version: i.version, kind: i.kind }, verbs: i.verbs };
    });
  }
  return r;
}

/** /api (core only) or /apis (named groups) as an APIGroupDiscoveryList */
export function aggregatedDiscovery(defs: ResourceDef[], core: boolean, apiVersion: 'v2' | 'v2beta1' = 'v2') {
  const items = [];
  const byGroup = new Map<string, GroupVersion[]>();
  for (const gv of groupVersions(defs)) {
    if ((gv.group === '') !== core) continue;
    const list = byGroup.get(gv.group) ?? [];
    list.push(gv);
    byGroup.set(gv.group, list);
  }
  for (const [group, gvs] of byGroup) {
    items.push({
      metadata: { name: group, creationTimestamp: null },
      versions: gvs.map((gv) => ({
        version: gv.version,
        freshness: 'Current',
        resources: gv.resources.map(aggregatedResource),
      })),
    });
  }
  return { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${apiVersion}`, metadata: {}, items };
}

export function legacyApiVersions(serverAddress: string) {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

export function legacyGroupList(defs: ResourceDef[]) {
  const groups = new Map<string, string[]>();
  for (const gv of groupVersions(defs)) {
    if (!gv.group) continue;
    const v = groups.get(gv.group) ?? [];
    v.push(gv.version);
    groups.set(gv.group, v);
  }
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groups].map(([name, versions]) => ({
      name,
      versions: versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
      preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
    })),
  };
}

export function legacyGroup(defs: ResourceDef[], group: string) {
  const versions = groupVersions(defs)
    .filter((g) => g.group === group)
    .map((g) => g.version);
  if (!versions.length) return undefined;
  return {
    kind: 'APIGroup',
    apiVersion: 'v1',
    name: group,
    versions: versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v })),
    preferredVersion: { groupVersion: `${group}/${versions[0]}`, version: versions[0] },
  };
}

/** APIResourceList for one group version, subresources as `pods/status` entries */
export function resourceList(defs: ResourceDef[], group: string, version: string) {
  const gv = groupVersions(defs).find((g) => g.group === group && g.version === version);
  if (!gv) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const d of gv.resources) {
    const r: Record<string, unknown> = {
      name: d.resource,
      singularName: d.singular,
      namespaced: d.namespaced,
      kind: d.kind,
      verbs: d.verbs,
    };
    if (d.shortNames.length) r.shortNames = d.shortNames;
    if (d.categories.length) r.categories = d.categories;
    resources.push(r);
    for (const s of d.subresources) {
      const i = subresourceInfo(d, s);
      const e: Record<string, unknown> = {
        name: `${d.resource}/${s}`,
        singularName: '',
        namespaced: d.namespaced,
        kind: i.kind,
        verbs: i.verbs,
      };
      if (i.group !== d.group || i.version !== d.version) {
        e.group = i.group;
        e.version = i.version;
      }
      resources.push(e);
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources,
  };
}

/** which discovery form the Accept header asks for */
export function wantsAggregated(accept: string | undefined): 'v2' | 'v2beta1' | undefined {
  if (!accept) return undefined;
  for (const part of accept.split(',')) {
    const p = part.replace(/\s+/g, '');
    if (!p.includes('as=APIGroupDiscoveryList') || !p.includes('g=apidiscovery.k8s.io')) continue;
    if (p.includes('v=v2beta1')) return 'v2beta1';
    if (p.includes('v=v2')) return 'v2';
  }
  return undefined;
}
