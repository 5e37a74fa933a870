// What a ResourceQuota's status should say (kube-controller-manager's resourcequota
// controller syncResourceQuota with quota.CalculateUsage): status.hard mirrors spec.hard,
// status.used is measured by the evaluators that track the quota's resources over the
// namespace's objects that match its scopes; resources no evaluator can measure keep
// their last observed usage. Pure apart from the `list` it is given.
import type { KubeObject } from '../../proto/meta.js';
import { customResourceStorageDefs } from '../crd/registry.js';
import { resources } from '../resources/index.js';
import type { ResourceDef } from '../resources/types.js';
import { evaluatorFor, type Evaluator } from './evaluators.js';
import { add, equals, mask, toList, type ResourceList } from './resource-list.js';
import { quotaScopeSelectors } from './scopes.js';

/** lists the objects of group/resource in a namespace */
export type ListFn = (group: string, resource: string, namespace: string) => Promise<KubeObject[]>;

const SPECIAL = [
  'pods',
  'services',
  'persistentvolumeclaims',
  'configmaps',
  'secrets',
  'resourcequotas',
  'replicationcontrollers',
];

/** the served namespaced kind with this group and plural (built-in or custom) */
export function namespacedDef(group: string, resource: string): ResourceDef | undefined {
  const match = (d: ResourceDef): boolean => d.resource === resource && d.group === group && d.namespaced;
  return resources.find(match) ?? customResourceStorageDefs().find(match);
}

/** the evaluators that could track a quota's resources: the core ones and one object counter per count/<r>.<g> */
export function evaluatorsFor(hard: string[]): Evaluator[] {
  const out = new Map<string, Evaluator>();
  for (const r of SPECIAL) {
    const e = evaluatorFor('', r);
    if (e.matchingResources(hard).length) out.set(e.groupResource, e);
  }
  for (const name of hard) {
    const m = /^count\/([^.]+)(?:\.(.+))?$/.exec(name);
    if (!m) continue;
    const [, resource, group = ''] = m;
    if (!namespacedDef(group, resource!)) continue;
    const e = evaluatorFor(group, resource!);
    if (e.matchingResources(hard).length) out.set(e.groupResource, e);
  }
  return [...out.values()];
}

export async function calculateUsage(quota: KubeObject, list: ListFn, now: number): Promise<ResourceList> {
  const ns = quota.metadata.namespace!;
  const hardNames = Object.keys(toList(quota.spec?.hard));
  const scopes = quotaScopeSelectors(quota);
  let usage: ResourceList = {};
  const matched = new Set<string>();
  for (const e of evaluatorsFor(hardNames)) {
    const names = e.matchingResources(hardNames);
    let used: ResourceList = Object.fromEntries(names.map((n) => [n, '0']));
    for (const obj of await list(e.group, e.resource, ns)) {
      if (!scopes.every((s) => e.matchesScope(s, obj))) continue;
      used = add(used, e.usage(obj, now));
    }
    usage = add(usage, used);
    for (const n of names) matched.add(n);
  }
  return mask(usage, matched);
}

/** the status the controller writes, or undefined when the stored one is right */
export async function desiredQuotaStatus(
  quota: KubeObject,
  list: ListFn,
  now: number,
): Promise<{ hard: ResourceList; used: ResourceList } | undefined> {
  const hard = toList(quota.spec?.hard);
  const status = (quota.status ?? {}) as { hard?: unknown; used?: unknown };
  const oldUsed = toList(status.used);
  const fresh = await calculateUsage(quota, list, now);
  const used = mask({ ...oldUsed, ...fresh }, Object.keys(hard));
  const dirty =
    status.hard === undefined ||
    status.used === undefined ||
    !equals(hard, toList(status.hard)) ||
    !equals(used, oldUsed);
  return dirty ? { hard, used } : undefined;
}
