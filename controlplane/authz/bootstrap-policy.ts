// Kubernetes' bootstrap RBAC policy (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/
// policy.go), trimmed to what skiff serves: cluster-admin, admin/edit/view (aggregated),
// the system:aggregate-to-* pieces, system:basic-user, system:discovery,
// system:public-info-viewer, system:auth-delegator, system:monitoring, system:service-account-issuer-discovery and
// system:node, with their bindings.
// Reconciled at every start as kube-apiserver's storage_rbac post-start hook does: missing
// objects are created; objects annotated autoupdate != "false" get missing rules, subjects,
// labels and annotations added back (never removed).
import type { KubeObject } from '../../proto/meta.js';
import { canonicalJson } from '../../proto/canonical.js';
import { ApiError } from '../api/errors.js';
import type { ApiStorage } from '../api/storage.js';
import { findResource } from '../resources/index.js';
import { RBAC_GROUP } from '../resources/rbac.js';
import { covers, toRules, toSubjects, type PolicyRule } from './rules.js';
import { aggregatedRules } from './cluster-role-aggregation.js';

export const AUTOUPDATE_ANNOTATION = 'rbac.authorization.kubernetes.io/autoupdate';
const BOOTSTRAP_LABELS = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };
const BOOTSTRAP_ANNOTATIONS = { [AUTOUPDATE_ANNOTATION]: 'true' };

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update'];
const READ_WRITE = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];

const rule = (verbs: string[], apiGroups: string[], resources: string[]): PolicyRule => ({
  verbs,
  apiGroups,
  resources,
});
const urls = (verbs: string[], nonResourceURLs: string[]): PolicyRule => ({ verbs, nonResourceURLs });

interface RoleSpec {
  name: string;
  rules?: PolicyRule[];
  aggregateTo?: string;
  aggregationLabel?: string;
  labels?: Record<string, string>;
}

const agg = (to: string) => ({ [`rbac.authorization.k8s.io/aggregate-to-${to}`]: 'true' });

const ROLES: RoleSpec[] = [
  { name: 'cluster-admin', rules: [rule(['*'], ['*'], ['*']), urls(['*'], ['*'])] },
  { name: 'admin', aggregationLabel: 'admin' },
  { name: 'edit', aggregationLabel: 'edit', labels: agg('admin') },
  { name: 'view', aggregationLabel: 'view', labels: agg('edit') },
  {
    name: 'system:aggregate-to-admin',
    labels: agg('admin'),
    rules: [
      rule(['create'], ['authorization.k8s.io'], ['localsubjectaccessreviews']),
      rule(READ_WRITE, [RBAC_GROUP], ['roles', 'rolebindings']),
    ],
  },
  {
    name: 'system:aggregate-to-edit',
    labels: agg('edit'),
    rules: [
      rule(READ, [''], ['pods/attach', 'pods/proxy', 'pods/exec', 'pods/portforward', 'secrets', 'services/proxy']),
      rule(['impersonate'], [''], ['serviceaccounts']),
      rule(WRITE, [''], ['pods', 'pods/attach', 'pods/proxy', 'pods/exec', 'pods/portforward']),
      rule(['create'], [''], ['pods/eviction']),
      rule(
        WRITE,
        [''],
        [
          'replicationcontrollers',
          'replicationcontrollers/scale',
          'serviceaccounts',
          'services',
          'services/proxy',
          'persistentvolumeclaims',
          'configmaps',
          'secrets',
          'events',
        ],
      ),
      rule(['create'], [''], ['serviceaccounts/token']),
      rule(
        WRITE,
        ['apps'],
        [
          'statefulsets',
          'statefulsets/scale',
          'daemonsets',
          'deployments',
          'deployments/scale',
          'deployments/rollback',
          'replicasets',
          'replicasets/scale',
        ],
      ),
      rule(WRITE, ['autoscaling'], ['horizontalpodautoscalers']),
      rule(WRITE, ['batch'], ['jobs', 'cronjobs']),
      rule(
        WRITE,
        ['extensions'],
        [
          'daemonsets',
          'deployments',
          'deployments/scale',
          'deployments/rollback',
          'ingresses',
          'replicasets',
          'replicasets/scale',
          'replicationcontrollers/scale',
          'networkpolicies',
        ],
      ),
      rule(WRITE, ['policy'], ['poddisruptionbudgets']),
      rule(WRITE, ['networking.k8s.io'], ['networkpolicies', 'ingresses']),
      rule(READ_WRITE, ['coordination.k8s.io'], ['leases']),
    ],
  },
  {
    name: 'system:aggregate-to-view',
    labels: agg('view'),
    rules: [
      rule(
        READ,
        [''],
        [
          'pods',
          'replicationcontrollers',
          'replicationcontrollers/scale',
          'serviceaccounts',
          'services',
          'services/status',
          'endpoints',
          'persistentvolumeclaims',
          'persistentvolumeclaims/status',
          'configmaps',
        ],
      ),
      rule(
        READ,
        [''],
        [
          'limitranges',
          'resourcequotas',
          'bindings',
          'events',
          'pods/status',
          'resourcequotas/status',
          'namespaces/status',
          'replicationcontrollers/status',
          'pods/log',
        ],
      ),
      rule(READ, [''], ['namespaces']),
      rule(READ, ['discovery.k8s.io'], ['endpointslices']),
      rule(
        READ,
        ['apps'],
        [
          'controllerrevisions',
          'statefulsets',
          'statefulsets/status',
          'statefulsets/scale',
          'daemonsets',
          'daemonsets/status',
          'deployments',
          'deployments/status',
          'deployments/scale',
          'replicasets',
          'replicasets/status',
          'replicasets/scale',
        ],
      ),
      rule(READ, ['autoscaling'], ['horizontalpodautoscalers', 'horizontalpodautoscalers/status']),
      rule(READ, ['batch'], ['jobs', 'cronjobs', 'cronjobs/status', 'jobs/status']),
      rule(
        READ,
        ['extensions'],
        [
          'daemonsets',
          'daemonsets/status',
          'deployments',
          'deployments/scale',
          'deployments/status',
          'ingresses',
          'ingresses/status',
          'replicasets',
          'replicasets/scale',
          'replicasets/status',
          'replicationcontrollers/scale',
          'networkpolicies',
        ],
      ),
      rule(READ, ['policy'], ['poddisruptionbudgets', 'poddisruptionbudgets/status']),
      rule(READ, ['networking.k8s.io'], ['networkpolicies', 'ingresses', 'ingresses/status']),
    ],
  },
  {
    name: 'system:basic-user',
    rules: [
      rule(['create'], ['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']),
      rule(['create'], ['authentication.k8s.io'], ['selfsubjectreviews']),
    ],
  },
  {
    name: 'system:discovery',
    rules: [
      urls(
        ['get'],
        [
          '/livez',
          '/readyz',
          '/healthz',
          '/version',
          '/version/',
          '/api',
          '/api/*',
          '/apis',
          '/apis/*',
          '/openapi',
          '/openapi/*',
        ],
      ),
    ],
  },
  // a role to use for allowing authentication and authorization delegation (no binding)
  {
    name: 'system:auth-delegator',
    rules: [
      rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
      rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
    ],
  },
  {
    name: 'system:public-info-viewer',
    rules: [urls(['get'], ['/livez', '/readyz', '/healthz', '/version', '/version/'])],
  },
  {
    name: 'system:service-account-issuer-discovery',
    rules: [
      urls(
        ['get'],
        [
          '/.well-known/openid-configuration',
          '/.well-known/openid-configuration/',
          '/openid/v1/jwks',
          '/openid/v1/jwks/',
        ],
      ),
    ],
  },
  {
    name: 'system:monitoring',
    rules: [
      urls(
        ['get'],
        ['/metrics', '/metrics/slis', '/livez', '/readyz', '/healthz', '/livez/*', '/readyz/*', '/healthz/*'],
      ),
    ],
  },
  // certificates.k8s.io: CSR creation for node bootstrap, and one approver role per kubernetes.io signer
  {
    name: 'system:node-bootstrapper',
    rules: [rule(['create', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests'])],
  },
  {
    name: 'system:certificates.k8s.io:certificatesigningrequests:nodeclient',
    rules: [rule(['create'], ['certificates.k8s.io'], ['certificatesigningrequests/nodeclient'])],
  },
  {
    name: 'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient',
    rules: [rule(['create'], ['certificates.k8s.io'], ['certificatesigningrequests/selfnodeclient'])],
  },
  ...['legacy-unknown', 'kubelet-serving', 'kube-apiserver-client', 'kube-apiserver-client-kubelet'].map(
    (signer): RoleSpec => ({
      name: `system:certificates.k8s.io:${signer}-approver`,
      rules: [
        {
          verbs: ['approve'],
          apiGroups: ['certificates.k8s.io'],
          resources: ['signers'],
          resourceNames: [`kubernetes.io/${signer}`],
        },
      ],
    }),
  ),
  {
    name: 'system:node',
    rules: [
      rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
      rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews', 'localsubjectaccessreviews']),
      rule(READ, [''], ['services']),
      rule(['create', 'get', 'list', 'watch'], [''], ['nodes']),
      rule(['update', 'patch'], [''], ['nodes/status']),
      rule(['update', 'patch'], [''], ['nodes']),
      rule(['create', 'update', 'patch'], [''], ['events']),
      rule(READ, [''], ['pods']),
      rule(['create', 'delete'], [''], ['pods']),
      rule(['update', 'patch'], [''], ['pods/status']),
      rule(['create'], [''], ['pods/eviction']),
      rule(['get'], [''], ['secrets', 'configmaps']),
      rule(['get'], [''], ['persistentvolumeclaims', 'persistentvolumes']),
      rule(['get'], [''], ['endpoints']),
      rule(['update', 'patch'], [''], ['persistentvolumeclaims/status']),
      rule(['create'], [''], ['serviceaccounts/token']),
      rule(['get', 'create', 'update', 'patch', 'delete'], ['coordination.k8s.io'], ['leases']),
      rule(['get'], ['storage.k8s.io'], ['storageclasses']),
    ],
  },
];

interface BindingSpec {
  name: string;
  role: string;
  groups: string[];
}

const BINDINGS: BindingSpec[] = [
  { name: 'cluster-admin', role: 'cluster-admin', groups: ['system:masters'] },
  { name: 'system:monitoring', role: 'system:monitoring', groups: ['system:monitoring'] },
  {
    name: 'system:service-account-issuer-discovery',
    role: 'system:service-account-issuer-discovery',
    groups: ['system:serviceaccounts'],
  },
  { name: 'system:discovery', role: 'system:discovery', groups: ['system:authenticated'] },
  { name: 'system:basic-user', role: 'system:basic-user', groups: ['system:authenticated'] },
  {
    name: 'system:public-info-viewer',
    role: 'system:public-info-viewer',
    groups: ['system:authenticated', 'system:unauthenticated'],
  },
];

export const BOOTSTRAP_CLUSTER_ROLES = ROLES.map((r) => r.name);
export const BOOTSTRAP_CLUSTER_ROLE_BINDINGS = BINDINGS.map((b) => b.name);

export function bootstrapClusterRole(name: string): KubeObject | undefined {
  const r = ROLES.find((x) => x.name === name);
  if (!r) return undefined;
  const o: KubeObject = {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'ClusterRole',
    metadata: { name: r.name, labels: { ...BOOTSTRAP_LABELS, ...r.labels }, annotations: { ...BOOTSTRAP_ANNOTATIONS } },
  };
  if (r.aggregationLabel) {
    o.aggregationRule = { clusterRoleSelectors: [{ matchLabels: agg(r.aggregationLabel) }] };
    o.rules = [];
  } else o.rules = (r.rules ?? []).map((x) => ({ ...x }));
  return o;
}

export function bootstrapClusterRoleBinding(name: string): KubeObject | undefined {
  const b = BINDINGS.find((x) => x.name === name);
  if (!b) return undefined;
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'ClusterRoleBinding',
    metadata: { name: b.name, labels: { ...BOOTSTRAP_LABELS }, annotations: { ...BOOTSTRAP_ANNOTATIONS } },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: b.role },
    subjects: b.groups.map((g) => ({ kind: 'Group', apiGroup: RBAC_GROUP, name: g })),
  };
}

const OPTS = { fieldValidation: 'Strict' as const, fieldManager: 'skiff-server' };

/** labels/annotations the stored object lacks (never overriding the user's) */
function mergeMeta(cur: KubeObject, want: KubeObject): boolean {
  let changed = false;
  for (const k of ['labels', 'annotations'] as const) {
    const have: Record<string, string> = cur.metadata[k] ?? {};
    for (const [key, v] of Object.entries(want.metadata[k] ?? {})) {
      if (have[key] === undefined) {
        have[key] = v;
        changed = true;
      }
    }
    if (changed) cur.metadata[k] = have;
  }
  return changed;
}

async function reconcileOne(storage: ApiStorage, resource: string, want: KubeObject): Promise<void> {
  const def = findResource(RBAC_GROUP, 'v1', resource)!;
  const name = want.metadata.name!;
  const existing = await storage.tryGet(def, undefined, name);
  if (!existing) {
    try {
      await storage.create(def, undefined, want, OPTS);
    } catch (e) {
      if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
    }
    return;
  }
  if (existing.metadata.annotations?.[AUTOUPDATE_ANNOTATION] === 'false') return;
  if (resource === 'clusterrolebindings' && canonicalJson(existing.roleRef) !== canonicalJson(want.roleRef)) {
    // a roleRef cannot change: the binding is replaced, as kube-apiserver's reconciler does
    await storage.delete(def, undefined, name, {});
    await storage.create(def, undefined, want, OPTS);
    return;
  }
  await storage.guaranteedUpdate(def, undefined, name, OPTS, (cur) => {
    let changed = mergeMeta(cur, want);
    if (resource === 'clusterroles') {
      if (want.aggregationRule) {
        const sels: unknown[] = Array.isArray(cur.aggregationRule?.clusterRoleSelectors)
          ? cur.aggregationRule.clusterRoleSelectors
          : [];
        for (const s of want.aggregationRule.clusterRoleSelectors as unknown[]) {
          if (!sels.some((x) => canonicalJson(x) === canonicalJson(s))) {
            sels.push(s);
            changed = true;
          }
        }
        if (changed) cur.aggregationRule = { clusterRoleSelectors: sels };
      } else {
        const have = toRules(cur.rules);
        const add = toRules(want.rules).filter((r) => !covers(have, [r]).ok);
        if (add.length) {
          cur.rules = [...(Array.isArray(cur.rules) ? cur.rules : []), ...add];
          changed = true;
        }
      }
    } else {
      const have = toSubjects(cur.subjects);
      const add = toSubjects(want.subjects).filter(
        (s) => !have.some((h) => h.kind === s.kind && h.name === s.name && (h.namespace ?? '') === (s.namespace ?? '')),
      );
      if (add.length) {
        cur.subjects = [...(Array.isArray(cur.subjects) ? cur.subjects : []), ...add];
        changed = true;
      }
    }
    void changed;
    return cur;
  });
}

/**
 * create or repair every bootstrap ClusterRole and ClusterRoleBinding (safe on every start),
 * then aggregate once (admin/edit/view hold their rules before the first request; the
 * aggregation controller keeps them current afterwards)
 */
export async function reconcileBootstrapPolicy(storage: ApiStorage): Promise<void> {
  for (const n of BOOTSTRAP_CLUSTER_ROLES) await reconcileOne(storage, 'clusterroles', bootstrapClusterRole(n)!);
  for (const n of BOOTSTRAP_CLUSTER_ROLE_BINDINGS)
    await reconcileOne(storage, 'clusterrolebindings', bootstrapClusterRoleBinding(n)!);
  const def = findResource(RBAC_GROUP, 'v1', 'clusterroles')!;
  // nested aggregation (admin ⊇ edit ⊇ view) settles within a few passes
  for (let pass = 0; pass < 5; pass++) {
    const all = (await storage.list(def, undefined)).items;
    let changed = false;
    for (const cr of all) {
      if (!cr.aggregationRule) continue;
      const rules = aggregatedRules(cr, all);
      if (canonicalJson(rules) === canonicalJson(cr.rules ?? [])) continue;
      await storage.guaranteedUpdate(
        def,
        undefined,
        cr.metadata.name!,
        { fieldManager: 'clusterrole-aggregation-controller' },
        (cur) => ({ ...cur, rules }),
      );
      changed = true;
    }
    if (!changed) return;
  }
}

/** re-create one bootstrap object that was deleted (the controller's path) */
export async function restoreBootstrapObject(
  storage: ApiStorage,
  resource: 'clusterroles' | 'clusterrolebindings',
  name: string,
): Promise<void> {
  const want = resource === 'clusterroles' ? bootstrapClusterRole(name) : bootstrapClusterRoleBinding(name);
  if (want) await reconcileOne(storage, resource, want);
}
