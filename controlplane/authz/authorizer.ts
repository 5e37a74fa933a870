// The RBAC authorizer (plugin/pkg/auth/authorizer/rbac/rbac.go) over watch-fed caches of
// Roles, ClusterRoles and their bindings: every decision reads memory only, never the
// store. system:masters is allowed everything, as Kubernetes' privileged-group authorizer
// does before RBAC.
// Map of the code base: ARCHITECTURE.md, "The parts".
import type { KubeObject } from '../../proto/meta.js';
import type { ApiStorage } from '../api/storage.js';
import { Informer } from '../controllers/informer.js';
import { findResource } from '../resources/index.js';
import { RBAC_GROUP } from '../resources/rbac.js';
import {
  ALL_AUTHENTICATED,
  ANONYMOUS,
  SYSTEM_MASTERS,
  ruleAllows,
  subjectMatches,
  toRules,
  toSubjects,
  type Attributes,
  type Binding,
  type Decision,
  type PolicyRule,
  type RbacSource,
  type UserInfo,
} from './rules.js';

// the authorizer's contract lives beside the rules (escalation.ts reads it from there)
export type { Binding, Decision, RbacSource } from './rules.js';

function toBinding(o: KubeObject): Binding {
  return {
    name: o.metadata.name ?? '',
    namespace: o.metadata.namespace ?? '',
    subjects: toSubjects(o.subjects),
    roleKind: typeof o.roleRef?.kind === 'string' ? o.roleRef.kind : '',
    roleName: typeof o.roleRef?.name === 'string' ? o.roleRef.name : '',
  };
}

/** the RBAC objects, kept current by informers; indexes rebuilt lazily after a change */
export class RbacCache implements RbacSource {
  private readonly informers: Informer[];
  private roles: Informer;
  private clusterRoles: Informer;
  private rbs: Informer;
  private crbs: Informer;
  private dirty = true;
  private crbIndex: Binding[] = [];
  private rbIndex = new Map<string, Binding[]>();
  private ruleCache = new Map<string, PolicyRule[]>();
  private gen = 0;

  constructor(storage: ApiStorage) {
    const def = (r: string) => findResource(RBAC_GROUP, 'v1', r)!;
    this.roles = new Informer(storage, def('roles'));
    this.clusterRoles = new Informer(storage, def('clusterroles'));
    this.rbs = new Informer(storage, def('rolebindings'));
    this.crbs = new Informer(storage, def('clusterrolebindings'));
    this.informers = [this.roles, this.clusterRoles, this.rbs, this.crbs];
    const mark = () => {
      this.dirty = true;
      this.gen++;
    };
    for (const i of this.informers) i.on({ add: mark, update: mark, delete: mark });
  }

  async start(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.start()));
  }

  stop(): void {
    for (const i of this.informers) i.stop();
  }

  private index(): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.crbIndex = this.crbs.list().map(toBinding);
    const m = new Map<string, Binding[]>();
    for (const o of this.rbs.list()) {
      const b = toBinding(o);
      const l = m.get(b.namespace);
      if (l) l.push(b);
      else m.set(b.namespace, [b]);
    }
    this.rbIndex = m;
    this.ruleCache.clear();
  }

  generation(): number {
    return this.gen;
  }

  clusterRoleBindings(): readonly Binding[] {
    this.index();
    return this.crbIndex;
  }

  roleBindings(namespace: string): readonly Binding[] {
    this.index();
    return this.rbIndex.get(namespace) ?? [];
  }

  clusterRoleRules(name: string): PolicyRule[] | undefined {
    this.index();
    const k = `/${name}`;
    let r = this.ruleCache.get(k);
    if (!r) {
      const o = this.clusterRoles.get(undefined, name);
      if (!o) return undefined;
      this.ruleCache.set(k, (r = toRules(o.rules)));
    }
    return r;
  }

  roleRules(namespace: string, name: string): PolicyRule[] | undefined {
    this.index();
    const k = `${namespace}/${name}`;
    let r = this.ruleCache.get(k);
    if (!r) {
      const o = this.roles.get(namespace, name);
      if (!o) return undefined;
      this.ruleCache.set(k, (r = toRules(o.rules)));
    }
    return r;
  }
}

/** the user as authorizers see it: every authenticated user is in system:authenticated */
export function withAuthenticatedGroup(u: UserInfo): UserInfo {
  if (u.name === ANONYMOUS || u.groups.includes(ALL_AUTHENTICATED) || u.groups.includes('system:unauthenticated'))
    return u;
  return { ...u, groups: [...u.groups, ALL_AUTHENTICATED] };
}

function roleNotFound(kind: string, name: string): string {
  return `${kind === 'Role' ? 'role' : 'clusterrole'}.${RBAC_GROUP} ${JSON.stringify(name)} not found`;
}

const MAX_RESOLVED = 4096;

export class RbacAuthorizer {
  constructor(readonly source: RbacSource) {}

  /**
   * VisitRulesFor: the rules of every binding that applies to the user, cluster-wide and
   * in `namespace`; `visit` returns false to stop. Errors are unresolved role references.
   */
  visitRulesFor(user: UserInfo, namespace: string, visit: (rule: PolicyRule) => boolean): string[] {
    const errors: string[] = [];
    for (const b of this.source.clusterRoleBindings()) {
      if (!b.subjects.some((s) => subjectMatches(user, s, ''))) continue;
      if (b.roleKind !== 'ClusterRole') continue;
      const rules = this.source.clusterRoleRules(b.roleName);
      if (!rules) {
        errors.push(roleNotFound('ClusterRole', b.roleName));
        continue;
      }
      for (const r of rules) if (!visit(r)) return errors;
    }
    if (!namespace) return errors;
    for (const b of this.source.roleBindings(namespace)) {
      if (!b.subjects.some((s) => subjectMatches(user, s, namespace))) continue;
      const rules =
        b.roleKind === 'Role' ? this.source.roleRules(namespace, b.roleName) : this.source.clusterRoleRules(b.roleName);
      if (!rules) {
        errors.push(roleNotFound(b.roleKind, b.roleName));
        continue;
      }
      for (const r of rules) if (!visit(r)) return errors;
    }
    return errors;
  }

  /** RulesFor: every rule the user holds in the namespace ('' = cluster-wide only) */
  rulesFor(user: UserInfo, namespace: string): { rules: PolicyRule[]; errors: string[] } {
    const rules: PolicyRule[] = [];
    const errors = this.visitRulesFor(user, namespace, (r) => {
      rules.push(r);
      return true;
    });
    return { rules, errors };
  }

  // resolved rules per (user, groups, namespace), dropped whenever any RBAC object changes
  private resolved = new Map<string, { rules: PolicyRule[]; errors: string[] }>();
  private resolvedGen = -1;

  private cachedRulesFor(user: UserInfo, namespace: string): { rules: PolicyRule[]; errors: string[] } {
    const gen = this.source.generation?.();
    if (gen === undefined) return this.rulesFor(user, namespace);
    if (gen !== this.resolvedGen || this.resolved.size >= MAX_RESOLVED) {
      this.resolved.clear();
      this.resolvedGen = gen;
    }
    const key = `${namespace}\0${user.name}\0${user.groups.join('\0')}`;
    let r = this.resolved.get(key);
    if (!r) this.resolved.set(key, (r = this.rulesFor(user, namespace)));
    return r;
  }

  authorize(a: Attributes): Decision {
    if (a.user.groups.includes(SYSTEM_MASTERS)) return { allowed: true, reason: '' };
    const { rules, errors } = this.cachedRulesFor(a.user, a.namespace);
    for (const r of rules) if (ruleAllows(a, r)) return { allowed: true, reason: '' };
    return {
      allowed: false,
      reason: errors.length ? `RBAC: ${errors.length === 1 ? errors[0] : `[${errors.join(', ')}]`}` : '',
    };
  }
}
