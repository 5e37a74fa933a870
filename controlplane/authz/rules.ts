// RBAC rule evaluation as Kubernetes does it: request attributes, rule matching
// (plugin/pkg/auth/authorizer/rbac/rbac.go RuleAllows, rbac/v1 helpers VerbMatches…),
// subject matching (appliesToUser) and the escalation cover check
// (pkg/registry/rbac/validation/policy_comparator.go Covers, BreakdownRule, CompactString).

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface Subject {
  kind: string;
  apiGroup?: string;
  name: string;
  namespace?: string;
}

export interface UserInfo {
  name: string;
  groups: string[];
  uid?: string;
  extra?: Record<string, string[]>;
}

export interface Decision {
  allowed: boolean;
  /** why not, when a binding could not be resolved (RBAC: clusterrole … not found) */
  reason: string;
}

/** a RoleBinding or ClusterRoleBinding as the authorizer reads it */
export interface Binding {
  name: string;
  namespace: string;
  subjects: Subject[];
  roleKind: string;
  roleName: string;
}

/** What the authorizer reads: roles by name, bindings by scope. */
export interface RbacSource {
  clusterRoleBindings(): readonly Binding[];
  roleBindings(namespace: string): readonly Binding[];
  clusterRoleRules(name: string): PolicyRule[] | undefined;
  roleRules(namespace: string, name: string): PolicyRule[] | undefined;
  /** changes whenever any RBAC object changed (absent: never cache) */
  generation?(): number;
}

/** authorizer.Attributes (a resource request or a non-resource path) */
export interface Attributes {
  user: UserInfo;
  verb: string;
  resourceRequest: boolean;
  /** non-resource requests: the URL path */
  path: string;
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
}

export const SYSTEM_MASTERS = 'system:masters';
export const ALL_AUTHENTICATED = 'system:authenticated';
export const ALL_UNAUTHENTICATED = 'system:unauthenticated';
export const ANONYMOUS = 'system:anonymous';
const SA_PREFIX = 'system:serviceaccount:';

const has = (set: readonly string[] | undefined, v: string) => !!set && set.includes(v);
const hasAll = (set: readonly string[] | undefined, sub: readonly string[] | undefined) =>
  (sub ?? []).every((v) => has(set, v));

export function verbMatches(rule: PolicyRule, verb: string): boolean {
  return has(rule.verbs, '*') || has(rule.verbs, verb);
}

export function apiGroupMatches(rule: PolicyRule, group: string): boolean {
  return has(rule.apiGroups, '*') || has(rule.apiGroups, group);
}

export function resourceMatches(rule: PolicyRule, combined: string, subresource: string): boolean {
  for (const r of rule.resources ?? []) {
    if (r === '*' || r === combined) return true;
    if (!subresource) continue;
    if (r.length === subresource.length + 2 && r.startsWith('*/') && r.endsWith(subresource)) return true;
  }
  return false;
}

export function resourceNameMatches(rule: PolicyRule, name: string): boolean {
  return !rule.resourceNames?.length || rule.resourceNames.includes(name);
}

export function nonResourceURLMatches(rule: PolicyRule, path: string): boolean {
  for (const u of rule.nonResourceURLs ?? []) {
    if (u === '*' || u === path) return true;
    if (u.endsWith('*') && path.startsWith(u.replace(/\*+$/, ''))) return true;
  }
  return false;
}

/** RuleAllows */
export function ruleAllows(a: Attributes, rule: PolicyRule): boolean {
  if (a.resourceRequest) {
    const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
    return (
      verbMatches(rule, a.verb) &&
      apiGroupMatches(rule, a.apiGroup) &&
      resourceMatches(rule, combined, a.subresource) &&
      resourceNameMatches(rule, a.name)
    );
  }
  return verbMatches(rule, a.verb) && nonResourceURLMatches(rule, a.path);
}

/** appliesToUser: does the binding subject name this user (namespace: the binding's) */
export function subjectMatches(user: UserInfo, s: Subject, namespace: string): boolean {
  switch (s.kind) {
    case 'User':
      return user.name === s.name;
    case 'Group':
      return user.groups.includes(s.name);
    case 'ServiceAccount': {
      const ns = s.namespace || namespace;
      if (!ns) return false;
      return user.name === `${SA_PREFIX}${ns}:${s.name}`;
    }
    default:
      return false;
  }
}

/** `system:serviceaccount:ns:name` → {namespace, name} */
export function splitServiceAccountUser(name: string): { namespace: string; name: string } | undefined {
  if (!name.startsWith(SA_PREFIX)) return undefined;
  const parts = name.slice(SA_PREFIX.length).split(':');
  if (parts.length !== 2 || !parts[0] || !parts[1]) return undefined;
  return { namespace: parts[0], name: parts[1] };
}

// ---- escalation: Covers ------------------------------------------------------------------

/** BreakdownRule: one verb × group × resource (× name) per rule; URLs × verbs */
export function breakdownRule(rule: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const g of rule.apiGroups ?? []) {
    for (const r of rule.resources ?? []) {
      for (const v of rule.verbs ?? []) {
        if (rule.resourceNames?.length)
          for (const n of rule.resourceNames)
            out.push({ apiGroups: [g], resources: [r], verbs: [v], resourceNames: [n] });
        else out.push({ apiGroups: [g], resources: [r], verbs: [v] });
      }
    }
  }
  for (const u of rule.nonResourceURLs ?? [])
    for (const v of rule.verbs ?? []) out.push({ nonResourceURLs: [u], verbs: [v] });
  return out;
}

function resourceCoversAll(set: readonly string[] | undefined, covers: readonly string[] | undefined): boolean {
  if (has(set, '*') || hasAll(set, covers)) return true;
  for (const p of covers ?? []) {
    if (has(set, p)) continue;
    const i = p.indexOf('/');
    if (i < 0) return false;
    if (!has(set, `*/${p.slice(i + 1)}`)) return false;
  }
  return true;
}

function nonResourceURLsCoversAll(set: readonly string[] | undefined, covers: readonly string[] | undefined): boolean {
  for (const c of covers ?? []) {
    if (!(set ?? []).some((o) => o === c || (o.endsWith('*') && c.startsWith(o.replace(/\*+$/, ''))))) return false;
  }
  return true;
}

/** ruleCovers: does ownerRule grant everything subRule (one broken-down rule) asks for */
export function ruleCovers(owner: PolicyRule, sub: PolicyRule): boolean {
  const verbs = has(owner.verbs, '*') || hasAll(owner.verbs, sub.verbs);
  const groups = has(owner.apiGroups, '*') || hasAll(owner.apiGroups, sub.apiGroups);
  const resources = resourceCoversAll(owner.resources, sub.resources);
  const urls = nonResourceURLsCoversAll(owner.nonResourceURLs, sub.nonResourceURLs);
  const names = !sub.resourceNames?.length
    ? !owner.resourceNames?.length
    : !owner.resourceNames?.length || hasAll(owner.resourceNames, sub.resourceNames);
  return verbs && groups && resources && names && urls;
}

/** Covers: whether `owner` holds every permission of `requested`; the missing broken-down rules */
export function covers(
  owner: readonly PolicyRule[],
  requested: readonly PolicyRule[],
): { ok: boolean; missing: PolicyRule[] } {
  const missing: PolicyRule[] = [];
  for (const r of requested) {
    for (const sub of breakdownRule(r)) if (!owner.some((o) => ruleCovers(o, sub))) missing.push(sub);
  }
  return { ok: missing.length === 0, missing };
}

/** Go's %q of a []string: ["a" "b"] */
export function goQuoteList(v: readonly string[]): string {
  return `[${v.map((s) => JSON.stringify(s)).join(' ')}]`;
}

/** PolicyRule.CompactString */
export function compactString(r: PolicyRule): string {
  const parts: string[] = [];
  if (r.apiGroups?.length) parts.push(`APIGroups:${goQuoteList(r.apiGroups)}`);
  if (r.resources?.length) parts.push(`Resources:${goQuoteList(r.resources)}`);
  if (r.nonResourceURLs?.length) parts.push(`NonResourceURLs:${goQuoteList(r.nonResourceURLs)}`);
  if (r.resourceNames?.length) parts.push(`ResourceNames:${goQuoteList(r.resourceNames)}`);
  if (r.verbs?.length) parts.push(`Verbs:${goQuoteList(r.verbs)}`);
  return `{${parts.join(', ')}}`;
}

/**
 * CompactRules: broken-down rules differing only in verbs merge back into one
 * (simple resource rules: one group, one resource, no names).
 */
export function compactRules(rules: readonly PolicyRule[]): PolicyRule[] {
  const out: PolicyRule[] = [];
  const simple = new Map<string, PolicyRule>();
  for (const r of rules) {
    if (
      r.apiGroups?.length === 1 &&
      r.resources?.length === 1 &&
      !r.resourceNames?.length &&
      !r.nonResourceURLs?.length
    ) {
      const k = `${r.apiGroups[0]}\0${r.resources[0]}`;
      const ex = simple.get(k);
      if (ex) {
        for (const v of r.verbs) if (!ex.verbs.includes(v)) ex.verbs.push(v);
        continue;
      }
      const c: PolicyRule = { apiGroups: [...r.apiGroups], resources: [...r.resources], verbs: [...r.verbs] };
      simple.set(k, c);
      out.push(c);
    } else out.push(r);
  }
  return out;
}

/** a stored rule (unknown JSON) as a PolicyRule */
export function toRule(x: unknown): PolicyRule | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const o = x as Record<string, unknown>;
  const sl = (v: unknown) => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : undefined);
  const r: PolicyRule = { verbs: sl(o.verbs) ?? [] };
  const g = sl(o.apiGroups);
  if (g) r.apiGroups = g;
  const res = sl(o.resources);
  if (res) r.resources = res;
  const n = sl(o.resourceNames);
  if (n) r.resourceNames = n;
  const u = sl(o.nonResourceURLs);
  if (u) r.nonResourceURLs = u;
  return r;
}

export function toRules(x: unknown): PolicyRule[] {
  return Array.isArray(x) ? x.map(toRule).filter((r): r is PolicyRule => !!r) : [];
}

export function toSubjects(x: unknown): Subject[] {
  if (!Array.isArray(x)) return [];
  const out: Subject[] = [];
  for (const s of x) {
    if (typeof s !== 'object' || s === null) continue;
    const o = s as Record<string, unknown>;
    if (typeof o.kind !== 'string' || typeof o.name !== 'string') continue;
    out.push({
      kind: o.kind,
      name: o.name,
      apiGroup: typeof o.apiGroup === 'string' ? o.apiGroup : undefined,
      namespace: typeof o.namespace === 'string' ? o.namespace : undefined,
    });
  }
  return out;
}
