// The names OpenAPI gives skiff's schema definitions, as kube-apiserver's do: the Go
// package of the type and its name (`io.k8s.api.core.v1.PodSpec`,
// `io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`). proto/schema/defs.ts keys its
// definitions by bare type name, so the package comes from (1) the fixed table below for
// the apimachinery types and the few defs named differently from their Go type, else
// (2) the group version of the first served kind (core first) that reaches the def.
// Pure functions, no I/O.

/** Go package path (dotted) of the types of a group version, as in k8s.io/api and friends */
export function packageOf(group: string, version: string): string {
  switch (group) {
    case '':
      return `io.k8s.api.core.${version}`;
    case 'apiextensions.k8s.io':
      return `io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.${version}`;
    case 'apiregistration.k8s.io':
      return `io.k8s.kube-aggregator.pkg.apis.apiregistration.${version}`;
    case 'metrics.k8s.io':
      return `io.k8s.metrics.pkg.apis.metrics.${version}`;
    case 'meta.k8s.io':
      return `io.k8s.apimachinery.pkg.apis.meta.${version}`;
    default:
      break;
  }
  if (group.endsWith('.k8s.io') || !group.includes('.')) return `io.k8s.api.${group.split('.')[0]}.${version}`;
  // custom resources: the reversed group (`stable.example.com` → `com.example.stable`)
  return `${reverseGroup(group)}.${version}`;
}

/** `stable.example.com` → `com.example.stable` (the OpenAPI definition name prefix of a CRD group) */
export function reverseGroup(group: string): string {
  return group.split('.').reverse().join('.');
}

export const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
export const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
export const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
export const RAW_EXTENSION = 'io.k8s.apimachinery.pkg.runtime.RawExtension';

/** defs.ts names whose package (and sometimes Go name) is fixed, whoever reaches them */
const FIXED: Record<string, string> = {
  ObjectMeta: `${META}.ObjectMeta`,
  ListMeta: `${META}.ListMeta`,
  LabelSelector: `${META}.LabelSelector`,
  LabelSelectorRequirement: `${META}.LabelSelectorRequirement`,
  OwnerReference: `${META}.OwnerReference`,
  Condition: `${META}.Condition`,
  DeleteOptions: `${META}.DeleteOptions`,
  Preconditions: `${META}.Preconditions`,
  RbacSubject: 'io.k8s.api.rbac.v1.Subject',
  DiscoveryEndpointPort: 'io.k8s.api.discovery.v1.EndpointPort',
  Scale: 'io.k8s.api.autoscaling.v1.Scale',
  ScaleSpec: 'io.k8s.api.autoscaling.v1.ScaleSpec',
  ScaleStatus: 'io.k8s.api.autoscaling.v1.ScaleStatus',
  Eviction: 'io.k8s.api.policy.v1.Eviction',
  Binding: 'io.k8s.api.core.v1.Binding',
  // reached first from apps or batch kinds, but core types
  PodTemplateSpec: 'io.k8s.api.core.v1.PodTemplateSpec',
  PersistentVolumeClaimTemplate: 'io.k8s.api.core.v1.PersistentVolumeClaimTemplate',
  TopologySelectorTerm: 'io.k8s.api.core.v1.TopologySelectorTerm',
  TopologySelectorLabelRequirement: 'io.k8s.api.core.v1.TopologySelectorLabelRequirement',
};

/** upstream's name for a defs.ts definition first reached from `group`/`version` */
export function definitionName(def: string, group: string, version: string): string {
  return FIXED[def] ?? `${packageOf(group, version)}.${def}`;
}

/** the last dotted segment: what `kubectl explain` prints as a field's type */
export function shortName(full: string): string {
  return full.slice(full.lastIndexOf('.') + 1);
}

/** `rbac.authorization.k8s.io` → `RbacAuthorization`, '' → `Core` (operation ids) */
export function groupCamel(group: string): string {
  if (!group) return 'Core';
  return group
    .replace(/\.k8s\.io$/, '')
    .split(/[.-]/)
    .filter(Boolean)
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join('');
}

/** `core_v1`, `rbacAuthorization_v1` (operation tags) */
export function tagOf(group: string, version: string): string {
  const g = groupCamel(group);
  return `${g[0]!.toLowerCase()}${g.slice(1)}_${version}`;
}
