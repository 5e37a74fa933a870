// RBAC rule evaluation and escalation, as tables: request attributes from URLs
// (requestinfo.go), rule matching (RuleAllows), subjects, Covers and the messages.
import { describe, expect, it } from 'vitest';
import { forbiddenError, requestAttributes } from '../../controlplane/authz/attributes.js';
import { RbacAuthorizer, type Binding, type RbacSource } from '../../controlplane/authz/authorizer.js';
import {
  compactRules,
  compactString,
  covers,
  ruleAllows,
  subjectMatches,
  type PolicyRule,
  type UserInfo,
} from '../../controlplane/authz/rules.js';
import { parseTokenFile } from '../../controlplane/authz/token-file.js';
import type { KubeObject } from '../../proto/meta.js';

const alice: UserInfo = { name: 'alice', groups: ['dev', 'system:authenticated'] };

describe('requestAttributes (RequestInfoFactory)', () => {
  const cases: [string, string, Partial<ReturnType<typeof requestAttributes>>][] = [
    [
      'GET',
      '/api/v1/namespaces/demo/pods',
      { verb: 'list', resource: 'pods', namespace: 'demo', apiGroup: '', name: '' },
    ],
    ['GET', '/api/v1/namespaces/demo/pods?watch=true', { verb: 'watch', resource: 'pods' }],
    ['GET', '/api/v1/pods?watch=1&fieldSelector=metadata.name%3Dweb', { verb: 'watch', name: 'web', namespace: '' }],
    ['GET', '/api/v1/namespaces/demo/pods/web', { verb: 'get', name: 'web' }],
    ['GET', '/api/v1/namespaces/demo/pods/web/log', { verb: 'get', subresource: 'log', name: 'web' }],
    ['POST', '/api/v1/namespaces/demo/pods/web/exec', { verb: 'create', subresource: 'exec' }],
    [
      'PUT',
      '/apis/apps/v1/namespaces/demo/deployments/web/scale',
      { verb: 'update', apiGroup: 'apps', resource: 'deployments', subresource: 'scale' },
    ],
    ['PATCH', '/apis/apps/v1/namespaces/demo/deployments/web', { verb: 'patch' }],
    ['DELETE', '/api/v1/namespaces/demo/pods', { verb: 'deletecollection' }],
    ['DELETE', '/api/v1/namespaces/demo/pods/web', { verb: 'delete' }],
    ['GET', '/api/v1/namespaces/demo', { verb: 'get', resource: 'namespaces', name: 'demo', namespace: 'demo' }],
    [
      'PUT',
      '/api/v1/namespaces/demo/finalize',
      { verb: 'update', resource: 'namespaces', name: 'demo', subresource: 'finalize' },
    ],
    ['GET', '/api/v1/nodes', { verb: 'list', resource: 'nodes', namespace: '' }],
    ['GET', '/api/v1/watch/namespaces/demo/pods', { verb: 'watch', resource: 'pods', namespace: 'demo' }],
  ];
  it.each(cases)('%s %s', (method, url, want) => {
    const a = requestAttributes(method, url, alice);
    expect(a.resourceRequest).toBe(true);
    expect(a).toMatchObject(want);
  });

  it.each([['/api'], ['/apis'], ['/api/v1'], ['/apis/apps/v1'], ['/metrics'], ['/openapi/v3/api/v1']])(
    '%s is a non-resource URL',
    (url) => {
      const a = requestAttributes('GET', `${url}?timeout=32s`, alice);
      expect(a).toMatchObject({ resourceRequest: false, verb: 'get', path: url });
    },
  );
});

describe('forbidden messages', () => {
  it('namespaced, cluster-scoped and non-resource denials read as kube-apiserver writes them', () => {
    let e = forbiddenError(requestAttributes('GET', '/api/v1/namespaces/y/pods', { name: 'x', groups: [] }), '');
    expect(e.code).toBe(403);
    expect(e.message).toBe(
      'pods is forbidden: User "x" cannot list resource "pods" in API group "" in the namespace "y"',
    );
    expect(e.details).toEqual({ kind: 'pods' });
    e = forbiddenError(
      requestAttributes('GET', '/apis/apps/v1/namespaces/y/deployments/web/scale', { name: 'x', groups: [] }),
      '',
    );
    expect(e.message).toBe(
      'deployments.apps "web" is forbidden: User "x" cannot get resource "deployments/scale" in API group "apps" in the namespace "y"',
    );
    expect(e.details).toEqual({ kind: 'deployments', group: 'apps', name: 'web' });
    e = forbiddenError(requestAttributes('GET', '/api/v1/nodes', { name: 'x', groups: [] }), '');
    expect(e.message).toBe(
      'nodes is forbidden: User "x" cannot list resource "nodes" in API group "" at the cluster scope',
    );
    e = forbiddenError(requestAttributes('GET', '/metrics', { name: 'x', groups: [] }), '');
    expect(e.message).toBe('forbidden: User "x" cannot get path "/metrics"');
  });
});

describe('ruleAllows', () => {
  const a = (method: string, url: string) => requestAttributes(method, url, alice);
  const cases: [string, PolicyRule, string, string, boolean][] = [
    [
      'exact',
      { verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] },
      'GET',
      '/api/v1/namespaces/d/pods',
      true,
    ],
    [
      'verb missing',
      { verbs: ['get'], apiGroups: [''], resources: ['pods'] },
      'GET',
      '/api/v1/namespaces/d/pods',
      false,
    ],
    ['verb *', { verbs: ['*'], apiGroups: [''], resources: ['pods'] }, 'DELETE', '/api/v1/namespaces/d/pods/x', true],
    [
      'group mismatch',
      { verbs: ['*'], apiGroups: ['apps'], resources: ['pods'] },
      'GET',
      '/api/v1/namespaces/d/pods',
      false,
    ],
    [
      'group *',
      { verbs: ['list'], apiGroups: ['*'], resources: ['deployments'] },
      'GET',
      '/apis/apps/v1/namespaces/d/deployments',
      true,
    ],
    [
      'resource does not cover subresource',
      { verbs: ['get'], apiGroups: [''], resources: ['pods'] },
      'GET',
      '/api/v1/namespaces/d/pods/x/log',
      false,
    ],
    [
      'pods/log',
      { verbs: ['get'], apiGroups: [''], resources: ['pods/log'] },
      'GET',
      '/api/v1/namespaces/d/pods/x/log',
      true,
    ],
    [
      '*/log',
      { verbs: ['get'], apiGroups: [''], resources: ['*/log'] },
      'GET',
      '/api/v1/namespaces/d/pods/x/log',
      true,
    ],
    [
      '*/scale does not match status',
      { verbs: ['get'], apiGroups: ['apps'], resources: ['*/scale'] },
      'GET',
      '/apis/apps/v1/namespaces/d/deployments/x/status',
      false,
    ],
    [
      'resource *',
      { verbs: ['get'], apiGroups: [''], resources: ['*'] },
      'GET',
      '/api/v1/namespaces/d/pods/x/log',
      true,
    ],
    [
      'resourceNames hit',
      { verbs: ['get'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['a'] },
      'GET',
      '/api/v1/namespaces/d/configmaps/a',
      true,
    ],
    [
      'resourceNames miss',
      { verbs: ['get'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['a'] },
      'GET',
      '/api/v1/namespaces/d/configmaps/b',
      false,
    ],
    [
      'resourceNames never lists',
      { verbs: ['list'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['a'] },
      'GET',
      '/api/v1/namespaces/d/configmaps',
      false,
    ],
    ['url exact', { verbs: ['get'], nonResourceURLs: ['/metrics'] }, 'GET', '/metrics', true],
    ['url prefix *', { verbs: ['get'], nonResourceURLs: ['/apis/*'] }, 'GET', '/apis/apps/v1', true],
    ['url no prefix', { verbs: ['get'], nonResourceURLs: ['/api'] }, 'GET', '/apis', false],
    [
      'url rule never matches resources',
      { verbs: ['*'], nonResourceURLs: ['*'] },
      'GET',
      '/api/v1/namespaces/d/pods',
      false,
    ],
  ];
  it.each(cases)('%s', (_n, rule, method, url, want) => {
    expect(ruleAllows(a(method, url), rule)).toBe(want);
  });
});

describe('subjects', () => {
  it("users, groups and service accounts (namespace defaulted to the binding's)", () => {
    const sa: UserInfo = { name: 'system:serviceaccount:demo:app', groups: ['system:serviceaccounts'] };
    expect(subjectMatches(alice, { kind: 'User', name: 'alice' }, '')).toBe(true);
    expect(subjectMatches(alice, { kind: 'User', name: 'bob' }, '')).toBe(false);
    expect(subjectMatches(alice, { kind: 'Group', name: 'dev' }, '')).toBe(true);
    expect(subjectMatches(sa, { kind: 'ServiceAccount', name: 'app' }, 'demo')).toBe(true);
    expect(subjectMatches(sa, { kind: 'ServiceAccount', name: 'app' }, 'other')).toBe(false);
    expect(subjectMatches(sa, { kind: 'ServiceAccount', name: 'app', namespace: 'demo' }, 'other')).toBe(true);
    expect(subjectMatches(sa, { kind: 'ServiceAccount', name: 'app' }, '')).toBe(false);
  });
});

describe('covers (escalation)', () => {
  const owner: PolicyRule[] = [
    { verbs: ['get', 'list'], apiGroups: [''], resources: ['pods', 'pods/log'] },
    { verbs: ['*'], apiGroups: ['apps'], resources: ['deployments'] },
    { verbs: ['get'], apiGroups: [''], resources: ['*/status'] },
    { verbs: ['get'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['a'] },
    { verbs: ['get'], nonResourceURLs: ['/healthz/*'] },
  ];
  const cases: [string, PolicyRule[], boolean][] = [
    ['subset', [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }], true],
    ['verb beyond', [{ verbs: ['delete'], apiGroups: [''], resources: ['pods'] }], false],
    ['* verbs held', [{ verbs: ['create', 'delete'], apiGroups: ['apps'], resources: ['deployments'] }], true],
    ['*/status covers pods/status', [{ verbs: ['get'], apiGroups: [''], resources: ['pods/status'] }], true],
    ['named held', [{ verbs: ['get'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['a'] }], true],
    ['unnamed not held by a named rule', [{ verbs: ['get'], apiGroups: [''], resources: ['configmaps'] }], false],
    ['url prefix', [{ verbs: ['get'], nonResourceURLs: ['/healthz/etcd'] }], true],
    ['url beyond', [{ verbs: ['get'], nonResourceURLs: ['/metrics'] }], false],
    ['wildcard request needs wildcard', [{ verbs: ['get'], apiGroups: [''], resources: ['*'] }], false],
  ];
  it.each(cases)('%s', (_n, req, want) => {
    expect(covers(owner, req).ok).toBe(want);
  });

  it('missing rules are compacted and printed as CompactString', () => {
    const c = covers(owner, [{ verbs: ['get', 'list', 'delete'], apiGroups: [''], resources: ['secrets', 'pods'] }]);
    expect(compactRules(c.missing).map(compactString)).toEqual([
      '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "list" "delete"]}',
      '{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}',
    ]);
  });
});

class FakeSource implements RbacSource {
  constructor(
    private crbs: Binding[],
    private rbs: Binding[],
    private cr: Record<string, PolicyRule[]>,
    private r: Record<string, PolicyRule[]>,
  ) {}
  clusterRoleBindings() {
    return this.crbs;
  }
  roleBindings(ns: string) {
    return this.rbs.filter((b) => b.namespace === ns);
  }
  clusterRoleRules(n: string) {
    return this.cr[n];
  }
  roleRules(ns: string, n: string) {
    return this.r[`${ns}/${n}`];
  }
}

describe('RbacAuthorizer', () => {
  const src = new FakeSource(
    [
      {
        name: 'nodes',
        namespace: '',
        subjects: [{ kind: 'Group', name: 'dev' }],
        roleKind: 'ClusterRole',
        roleName: 'node-reader',
      },
    ],
    [
      {
        name: 'rb',
        namespace: 'demo',
        subjects: [{ kind: 'User', name: 'alice' }],
        roleKind: 'Role',
        roleName: 'pods',
      },
      {
        name: 'view',
        namespace: 'demo',
        subjects: [{ kind: 'User', name: 'alice' }],
        roleKind: 'ClusterRole',
        roleName: 'cm-reader',
      },
      {
        name: 'gone',
        namespace: 'demo',
        subjects: [{ kind: 'User', name: 'alice' }],
        roleKind: 'Role',
        roleName: 'missing',
      },
    ],
    {
      'node-reader': [{ verbs: ['list'], apiGroups: [''], resources: ['nodes'] }],
      'cm-reader': [{ verbs: ['get'], apiGroups: [''], resources: ['configmaps'] }],
    },
    { 'demo/pods': [{ verbs: ['list'], apiGroups: [''], resources: ['pods'] }] },
  );
  const az = new RbacAuthorizer(src);
  const can = (u: UserInfo, m: string, url: string) => az.authorize(requestAttributes(m, url, u));
  it('role bindings grant in their namespace only, cluster role bindings everywhere', () => {
    expect(can(alice, 'GET', '/api/v1/namespaces/demo/pods').allowed).toBe(true);
    expect(can(alice, 'GET', '/api/v1/namespaces/other/pods').allowed).toBe(false);
    expect(can(alice, 'GET', '/api/v1/namespaces/demo/configmaps/x').allowed).toBe(true);
    expect(can(alice, 'GET', '/api/v1/namespaces/other/configmaps/x').allowed).toBe(false);
    expect(can(alice, 'GET', '/api/v1/nodes').allowed).toBe(true);
    expect(can({ name: 'bob', groups: [] }, 'GET', '/api/v1/nodes').allowed).toBe(false);
    expect(can({ name: 'root', groups: ['system:masters'] }, 'DELETE', '/api/v1/nodes/x').allowed).toBe(true);
  });
  it('an unresolved role is the denial reason', () => {
    const d = can(alice, 'DELETE', '/api/v1/namespaces/demo/pods/x');
    expect(d).toEqual({ allowed: false, reason: 'RBAC: role.rbac.authorization.k8s.io "missing" not found' });
  });
  it('rulesFor lists cluster-wide and namespace rules', () => {
    expect(az.rulesFor(alice, 'demo').rules).toHaveLength(3);
    expect(az.rulesFor(alice, '').rules).toHaveLength(1);
  });
});

describe('--token-auth-file', () => {
  it("parses kube-apiserver's CSV (quoted groups, comments)", () => {
    expect(parseTokenFile('# c\nt1,alice,u1,"dev,ops"\n\nt2,bob,u2\nt3,carol,,g1,g2\n')).toEqual([
      { token: 't1', name: 'alice', uid: 'u1', groups: ['dev', 'ops'] },
      { token: 't2', name: 'bob', uid: 'u2', groups: [] },
      { token: 't3', name: 'carol', uid: '', groups: ['g1', 'g2'] },
    ]);
    expect(() => parseTokenFile('t1,alice')).toThrow(/line 1/);
  });
});

describe('RBAC kinds: validation (pkg/apis/rbac/validation)', async () => {
  const { role, clusterRole, roleBinding, clusterRoleBinding } = await import('../../controlplane/resources/rbac.js');
  const meta = (ns?: string) => ({ name: 'x', ...(ns ? { namespace: ns } : {}) });
  const msgs = (causes: { field?: string; message?: string }[]) => causes.map((c) => `${c.field}: ${c.message}`);
  it('rules', () => {
    expect(msgs(role.validate({ metadata: meta('d'), rules: [{ verbs: ['get'], nonResourceURLs: ['/x'] }] }))).toEqual([
      'rules[0].nonResourceURLs: Invalid value: ["/x"]: namespaced rules cannot apply to non-resource URLs',
    ]);
    expect(
      msgs(
        clusterRole.validate({
          metadata: meta(),
          rules: [{ verbs: ['get'], nonResourceURLs: ['/x'], resources: ['pods'] }],
        }),
      ),
    ).toEqual([
      'rules[0].nonResourceURLs: Invalid value: ["/x"]: rules cannot apply to both regular resources and non-resource URLs',
    ]);
    expect(msgs(clusterRole.validate({ metadata: meta(), rules: [{ verbs: ['get'] }] }))).toEqual([
      'rules[0].apiGroups: Required value: resource rules must supply at least one api group',
      'rules[0].resources: Required value: resource rules must supply at least one resource',
    ]);
    expect(msgs(clusterRole.validate({ metadata: meta(), aggregationRule: { clusterRoleSelectors: [] } }))).toEqual([
      'aggregationRule.clusterRoleSelectors: Required value: at least one clusterRoleSelector required if aggregationRule is non-nil',
    ]);
    expect(msgs(role.validate({ metadata: { name: 'a/b', namespace: 'd' } }))).toEqual([
      'metadata.name: Invalid value: "a/b": may not contain \'/\'',
    ]);
    expect(clusterRole.validate({ metadata: { name: 'system:node' }, rules: [] })).toEqual([]);
  });
  it('bindings: defaults, roleRef, subjects, roleRef immutable', () => {
    const rb = {
      metadata: meta('d'),
      roleRef: { kind: 'Role', name: 'r' },
      subjects: [
        { kind: 'User', name: 'u' },
        { kind: 'ServiceAccount', name: 'sa' },
      ],
    } as KubeObject;
    roleBinding.defaults!(rb);
    expect(rb.roleRef.apiGroup).toBe('rbac.authorization.k8s.io');
    expect(rb.subjects).toEqual([
      { kind: 'User', name: 'u', apiGroup: 'rbac.authorization.k8s.io' },
      { kind: 'ServiceAccount', name: 'sa', apiGroup: '' },
    ]);
    expect(roleBinding.validate(rb)).toEqual([]);
    expect(msgs(roleBinding.validate({ ...rb, roleRef: { ...rb.roleRef, name: 'other' } }, rb))).toEqual([
      'roleRef: Invalid value: {"kind":"Role","name":"other","apiGroup":"rbac.authorization.k8s.io"}: cannot change roleRef',
    ]);
    const crb = {
      metadata: meta(),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'r' },
      subjects: [
        { kind: 'ServiceAccount', name: 'sa', apiGroup: '' },
        { kind: 'Robot', name: 'r' },
      ],
    };
    expect(msgs(clusterRoleBinding.validate(crb as never))).toEqual([
      'roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"',
      'subjects[0].namespace: Required value',
      'subjects[1].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"',
    ]);
  });
});
