// ClusterRole aggregation's rule (pkg/controller/clusterroleaggregation), pure: the rules of
// a ClusterRole with an aggregationRule are the union, in name order and each rule once, of
// the rules of every other ClusterRole one of its selectors matches. Used by the aggregation
// controller and by the bootstrap policy's reconcile.
import type { KubeObject } from '../../proto/meta.js';
import { canonicalJson } from '../../proto/canonical.js';
import { selectorMatches, type LabelSelector } from '../resources/label-selector.js';

function selectors(cr: KubeObject): LabelSelector[] {
  const s = cr.aggregationRule?.clusterRoleSelectors;
  return Array.isArray(s) ? (s as LabelSelector[]) : [];
}

/** the aggregated rules of `target` over `all` cluster roles */
export function aggregatedRules(target: KubeObject, all: readonly KubeObject[]): unknown[] {
  const sels = selectors(target);
  const matched = all
    .filter(
      (c) => c.metadata.name !== target.metadata.name && sels.some((s) => selectorMatches(s, c.metadata.labels ?? {})),
    )
    .sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : a.metadata.name! > b.metadata.name! ? 1 : 0));
  const out: unknown[] = [];
  const seen = new Set<string>();
  for (const c of matched) {
    for (const r of Array.isArray(c.rules) ? c.rules : []) {
      const k = canonicalJson(r);
      if (seen.has(k)) continue;
      seen.add(k);
      out.push(r);
    }
  }
  return out;
}
