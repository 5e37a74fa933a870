// ResourceQuota scopes: spec.scopes and spec.scopeSelector as one list of requirements
// (getScopeSelectorsFromQuota) and the label-selector test a PriorityClass scope uses
// (ScopedResourceSelectorRequirementsAsSelector). Pure.
import type { KubeObject } from '../../proto/meta.js';

export interface ScopeRequirement {
  scopeName: string;
  operator: string;
  values?: string[];
}

export function quotaScopeSelectors(quota: KubeObject): ScopeRequirement[] {
  const spec = (quota.spec ?? {}) as { scopes?: unknown; scopeSelector?: { matchExpressions?: unknown } };
  const out: ScopeRequirement[] = [];
  for (const s of Array.isArray(spec.scopes) ? spec.scopes : [])
    if (typeof s === 'string') out.push({ scopeName: s, operator: 'Exists' });
  const exprs = spec.scopeSelector?.matchExpressions;
  for (const e of Array.isArray(exprs) ? exprs : []) {
    if (!e || typeof e !== 'object') continue;
    const r = e as Record<string, unknown>;
    out.push({
      scopeName: String(r.scopeName ?? ''),
      operator: String(r.operator ?? ''),
      values: Array.isArray(r.values) ? r.values.map(String) : [],
    });
  }
  return out;
}

/** the requirement as a label selector over `labels` (key = scope name) */
export function matchesScope(req: ScopeRequirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, req.scopeName);
  const v = labels[req.scopeName];
  switch (req.operator) {
    case 'In':
      return has && (req.values ?? []).includes(v!);
    case 'NotIn':
      return !has || !(req.values ?? []).includes(v!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    default:
      return false;
  }
}
