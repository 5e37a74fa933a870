// rbac.authorization.k8s.io/v1 Role, ClusterRole, RoleBinding, ClusterRoleBinding: defaults
// (subject and roleRef apiGroups), pkg/apis/rbac/validation (ValidatePolicyRule,
// ValidateRoleBinding…) and the kubectl tables (printers.go: roles NAME/CREATED AT,
// bindings NAME/ROLE/AGE and -o wide USERS/GROUPS/SERVICEACCOUNTS).
// Escalation prevention runs as admission (controlplane/authz/escalation.ts).
import type { RoleRef } from '../../proto/api/types.gen.js';
import type { KubeObject, StatusCause } from '../../proto/meta.js';
import { canonicalJson } from '../../proto/canonical.js';
import { field } from '../api/errors.js';
import { ageOf } from './age.js';
import { ageColumn, col, nameColumn } from './columns.js';
import { validateLabelSelector } from './label-selector.js';
import { isDecoded, isDNS1123Subdomain, isRecord, validateObjectMeta, type NameFn } from './meta-validation.js';
import type { ResourceDef } from './types.js';
import { ALL_VERBS } from './verbs.js';
import { checkBindingWrite, checkRoleWrite } from '../authz/escalation.js';
import { rfc3339 } from '../../proto/api/time.js';

export const RBAC_GROUP = 'rbac.authorization.k8s.io';

/** path.ValidatePathSegmentName: what RBAC object names must satisfy */
export function validatePathSegmentName(name: string, prefix: boolean): string[] {
  if (!prefix && (name === '.' || name === '..')) return [`may not be '${name}'`];
  const out: string[] = [];
  for (const c of ['/', '%']) if (name.includes(c)) out.push(`may not contain '${c}'`);
  return out;
}
const nameFn: NameFn = validatePathSegmentName;

function strList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/** ValidatePolicyRule */
export function validatePolicyRule(rule: unknown, namespaced: boolean, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  if (!isRecord(rule)) return [field.invalid(path, rule, 'must be an object')];
  for (const k of ['verbs', 'apiGroups', 'resources', 'resourceNames', 'nonResourceURLs']) {
    if (rule[k] !== undefined && rule[k] !== null && !strList(rule[k]))
      out.push(field.invalid(`${path}.${k}`, rule[k], 'must be a list of strings'));
  }
  if (out.length) return out;
  const len = (k: string) => (Array.isArray(rule[k]) ? rule[k].length : 0);
  if (len('verbs') === 0) out.push(field.required(`${path}.verbs`, 'verbs must contain at least one value'));
  if (len('nonResourceURLs') > 0) {
    if (namespaced)
      out.push(
        field.invalid(
          `${path}.nonResourceURLs`,
          rule.nonResourceURLs,
          'namespaced rules cannot apply to non-resource URLs',
        ),
      );
    if (len('apiGroups') > 0 || len('resources') > 0 || len('resourceNames') > 0) {
      out.push(
        field.invalid(
          `${path}.nonResourceURLs`,
          rule.nonResourceURLs,
          'rules cannot apply to both regular resources and non-resource URLs',
        ),
      );
    }
    return out;
  }
  if (len('apiGroups') === 0)
    out.push(field.required(`${path}.apiGroups`, 'resource rules must supply at least one api group'));
  if (len('resources') === 0)
    out.push(field.required(`${path}.resources`, 'resource rules must supply at least one resource'));
  return out;
}

function validateRules(obj: KubeObject, namespaced: boolean): StatusCause[] {
  const out: StatusCause[] = [];
  if (obj.rules === undefined || obj.rules === null) return out;
  if (!Array.isArray(obj.rules)) return [field.invalid('rules', obj.rules, 'must be a list')];
  obj.rules.forEach((r: unknown, i: number) => out.push(...validatePolicyRule(r, namespaced, `rules[${i}]`)));
  return out;
}

function defaultBinding(obj: KubeObject): void {
  if (isRecord(obj.roleRef) && (obj.roleRef.apiGroup === undefined || obj.roleRef.apiGroup === ''))
    obj.roleRef.apiGroup = RBAC_GROUP;
  if (Array.isArray(obj.subjects)) {
    for (const s of obj.subjects) {
      if (!isRecord(s) || (s.apiGroup !== undefined && s.apiGroup !== '')) continue;
      if (s.kind === 'User' || s.kind === 'Group') s.apiGroup = RBAC_GROUP;
      else if (s.kind === 'ServiceAccount') s.apiGroup = '';
    }
  }
}

/** ValidateRoleBinding / ValidateClusterRoleBinding (+ the update rule: roleRef is fixed) */
function validateBinding(obj: KubeObject, namespaced: boolean, old?: KubeObject): StatusCause[] {
  const out = validateObjectMeta(obj, { namespaced, nameFn });
  const ref = obj.roleRef;
  if (!isDecoded<RoleRef>(ref)) out.push(field.required('roleRef', ''));
  else {
    if (ref.apiGroup !== RBAC_GROUP) out.push(field.notSupported('roleRef.apiGroup', ref.apiGroup ?? '', [RBAC_GROUP]));
    const kinds = namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole'];
    if (typeof ref.kind !== 'string' || !kinds.includes(ref.kind))
      out.push(field.notSupported('roleRef.kind', ref.kind ?? '', kinds));
    if (typeof ref.name !== 'string' || ref.name === '') out.push(field.required('roleRef.name', ''));
    else for (const m of validatePathSegmentName(ref.name, false)) out.push(field.invalid('roleRef.name', ref.name, m));
  }
  if (obj.subjects !== undefined && obj.subjects !== null) {
    if (!Array.isArray(obj.subjects)) out.push(field.invalid('subjects', obj.subjects, 'must be a list'));
    else obj.subjects.forEach((s: unknown, i: number) => out.push(...validateSubject(s, namespaced, `subjects[${i}]`)));
  }
  if (old && canonicalJson(old.roleRef ?? null) !== canonicalJson(obj.roleRef ?? null))
    out.push(field.invalid('roleRef', obj.roleRef, 'cannot change roleRef'));
  return out;
}

/** ValidateRoleBindingSubject */
function validateSubject(s: unknown, namespaced: boolean, path: string): StatusCause[] {
  if (!isRecord(s)) return [field.invalid(path, s, 'must be an object')];
  const out: StatusCause[] = [];
  if (typeof s.name !== 'string' || s.name === '') out.push(field.required(`${path}.name`, ''));
  switch (s.kind) {
    case 'ServiceAccount':
      if (typeof s.name === 'string' && s.name !== '')
        for (const m of isDNS1123Subdomain(s.name)) out.push(field.invalid(`${path}.name`, s.name, m));
      if (s.apiGroup !== undefined && s.apiGroup !== '')
        out.push(field.notSupported(`${path}.apiGroup`, s.apiGroup, ['']));
      if (!namespaced && (typeof s.namespace !== 'string' || s.namespace === ''))
        out.push(field.required(`${path}.namespace`, ''));
      break;
    case 'User':
    case 'Group':
      if (s.apiGroup !== RBAC_GROUP) out.push(field.notSupported(`${path}.apiGroup`, s.apiGroup ?? '', [RBAC_GROUP]));
      break;
    default:
      out.push(field.notSupported(`${path}.kind`, s.kind ?? '', ['ServiceAccount', 'User', 'Group']));
  }
  return out;
}

// ---- tables ---------------------------------------------------------------------------

const createdAt = col('Created At', 'date', 'Time when this role was created');
function createdAtCell(obj: KubeObject): string {
  const t = Date.parse(obj.metadata?.creationTimestamp ?? '');
  return Number.isNaN(t) ? '' : rfc3339(t);
}

const bindingColumns = [
  nameColumn(),
  col('Role', 'string', 'Role of the binding.'),
  ageColumn(),
  col('Users', 'string', 'Users in the binding.', 1),
  col('Groups', 'string', 'Groups in the binding.', 1),
  col('ServiceAccounts', 'string', 'ServiceAccounts in the binding.', 1),
];

/** printRoleBinding: Kind/Name of the role, then users, groups and ns/name service accounts */
function bindingRow(obj: KubeObject, now: number): unknown[] {
  const users: string[] = [];
  const groups: string[] = [];
  const sas: string[] = [];
  for (const s of Array.isArray(obj.subjects) ? obj.subjects : []) {
    if (s?.kind === 'User') users.push(s.name);
    else if (s?.kind === 'Group') groups.push(s.name);
    else if (s?.kind === 'ServiceAccount') sas.push(`${s.namespace ?? ''}/${s.name}`);
  }
  return [
    obj.metadata?.name ?? '',
    `${obj.roleRef?.kind ?? ''}/${obj.roleRef?.name ?? ''}`,
    ageOf(obj, now),
    users.join(', '),
    groups.join(', '),
    sas.join(', '),
  ];
}

const common = { group: RBAC_GROUP, version: 'v1', hasStatusSubresource: false, hasGeneration: false };

export const role: ResourceDef = {
  ...common,
  verbs: [...ALL_VERBS],
  subresources: [],
  categories: [],
  shortNames: [],
  kind: 'Role',
  resource: 'roles',
  singular: 'role',
  namespaced: true,
  schema: 'Role',
  admit: async (obj) => checkRoleWrite('Role', obj),
  admitUpdate: async (obj, old) => checkRoleWrite('Role', obj, old),
  validate: (obj) => [...validateObjectMeta(obj, { namespaced: true, nameFn }), ...validateRules(obj, true)],
  columns: [nameColumn(), createdAt],
  row: (obj) => [obj.metadata?.name ?? '', createdAtCell(obj)],
};

export const clusterRole: ResourceDef = {
  ...common,
  verbs: [...ALL_VERBS],
  subresources: [],
  categories: [],
  shortNames: [],
  kind: 'ClusterRole',
  resource: 'clusterroles',
  singular: 'clusterrole',
  namespaced: false,
  schema: 'ClusterRole',
  admit: async (obj) => checkRoleWrite('ClusterRole', obj),
  admitUpdate: async (obj, old) => checkRoleWrite('ClusterRole', obj, old),
  validate(obj) {
    const out = [...validateObjectMeta(obj, { namespaced: false, nameFn }), ...validateRules(obj, false)];
    const agg = obj.aggregationRule;
    if (agg !== undefined && agg !== null) {
      if (!isRecord(agg)) out.push(field.invalid('aggregationRule', agg, 'must be an object'));
      else {
        const sels = agg.clusterRoleSelectors;
        if (!Array.isArray(sels) || sels.length === 0)
          out.push(
            field.required(
              'aggregationRule.clusterRoleSelectors',
              'at least one clusterRoleSelector required if aggregationRule is non-nil',
            ),
          );
        else
          sels.forEach((s: unknown, i: number) =>
            out.push(...validateLabelSelector(s, `aggregationRule.clusterRoleSelectors[${i}]`)),
          );
      }
    }
    return out;
  },
  columns: [nameColumn(), createdAt],
  row: (obj) => [obj.metadata?.name ?? '', createdAtCell(obj)],
};

export const roleBinding: ResourceDef = {
  ...common,
  verbs: [...ALL_VERBS],
  subresources: [],
  categories: [],
  shortNames: [],
  kind: 'RoleBinding',
  resource: 'rolebindings',
  singular: 'rolebinding',
  namespaced: true,
  schema: 'RoleBinding',
  defaults: defaultBinding,
  admit: async (obj) => checkBindingWrite('RoleBinding', obj),
  admitUpdate: async (obj, old) => checkBindingWrite('RoleBinding', obj, old),
  validate: (obj, old) => validateBinding(obj, true, old),
  columns: bindingColumns,
  row: bindingRow,
};

export const clusterRoleBinding: ResourceDef = {
  ...common,
  verbs: [...ALL_VERBS],
  subresources: [],
  categories: [],
  shortNames: [],
  kind: 'ClusterRoleBinding',
  resource: 'clusterrolebindings',
  singular: 'clusterrolebinding',
  namespaced: false,
  schema: 'ClusterRoleBinding',
  defaults: defaultBinding,
  admit: async (obj) => checkBindingWrite('ClusterRoleBinding', obj),
  admitUpdate: async (obj, old) => checkBindingWrite('ClusterRoleBinding', obj, old),
  validate: (obj, old) => validateBinding(obj, false, old),
  columns: bindingColumns,
  row: bindingRow,
};

export const RBAC_RESOURCES = [role, clusterRole, roleBinding, clusterRoleBinding];
