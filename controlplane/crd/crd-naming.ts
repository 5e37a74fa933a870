// The naming and establishing controllers' decision, pure: which of a CRD's requested
// names it may have given the names other CRDs of its group already hold
// (apiextensions-apiserver pkg/controller/status/naming_controller.go), and the
// NamesAccepted / Established conditions that follow.
import type { KubeObject } from '../../proto/meta.js';
import { findCondition } from '../../proto/api/conditions.js';
import { str } from './schema-types.js';
import { namesOf as names, type CrdNames } from './custom-resource-def.js';

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime?: string;
}

/** equalToAcceptedOrFresh */
function check(requested: string, accepted: string, used: Set<string>): string | undefined {
  if (requested === accepted || !used.has(requested)) return undefined;
  return `"${requested}" is already in use`;
}

export interface NamingResult {
  acceptedNames: CrdNames;
  namesAccepted: Condition;
  established: Condition;
}

/** calculateNamesAndConditions, with the establishing controller's step folded in */
export function calculateNames(crd: KubeObject, others: KubeObject[]): NamingResult {
  const group = str(crd.spec?.group);
  const resources = new Set<string>();
  const kinds = new Set<string>();
  for (const o of others) {
    if (o.metadata.name === crd.metadata.name || str(o.spec?.group) !== group) continue;
    const a = names(o.status?.acceptedNames);
    for (const r of [a.plural, a.singular, ...a.shortNames]) if (r) resources.add(r);
    for (const k of [a.kind, a.listKind]) if (k) kinds.add(k);
  }
  const requested = names(crd.spec?.names);
  const accepted = names(crd.status?.acceptedNames);
  const next: CrdNames = { ...accepted, shortNames: [...accepted.shortNames] };
  const cond: Condition = { type: 'NamesAccepted', status: 'Unknown', reason: '', message: '' };
  const fail = (reason: string, message: string) => {
    cond.status = 'False';
    cond.reason = reason;
    cond.message = message;
  };

  let err = check(requested.plural, accepted.plural, resources);
  if (err) fail('PluralConflict', err);
  else next.plural = requested.plural;
  err = check(requested.singular, accepted.singular, resources);
  if (err) fail('SingularConflict', err);
  else next.singular = requested.singular;
  if (JSON.stringify(requested.shortNames) !== JSON.stringify(accepted.shortNames)) {
    const mine = new Set(accepted.shortNames);
    const errs = requested.shortNames
      .filter((s) => !mine.has(s))
      .map((s) => check(s, '', resources))
      .filter((e): e is string => !!e);
    if (errs.length) fail('ShortNamesConflict', errs.length === 1 ? errs[0]! : `[${errs.join(', ')}]`);
    else next.shortNames = requested.shortNames;
  }
  err = check(requested.kind, accepted.kind, kinds);
  if (err) fail('KindConflict', err);
  else next.kind = requested.kind;
  err = check(requested.listKind, accepted.listKind, kinds);
  if (err) fail('ListKindConflict', err);
  else next.listKind = requested.listKind;
  next.categories = requested.categories;
  if (cond.status === 'Unknown') {
    cond.status = 'True';
    cond.reason = 'NoConflicts';
    cond.message = 'no conflicts found';
  }

  const old = findCondition<Condition>(crd.status?.conditions, 'Established');
  let established: Condition = old ?? {
    type: 'Established',
    status: 'False',
    reason: 'NotAccepted',
    message: 'not all names are accepted',
  };
  if (established.status !== 'True' && cond.status === 'True') {
    // the establishing controller: once the names are accepted the endpoint is served
    established = {
      type: 'Established',
      status: 'True',
      reason: 'InitialNamesAccepted',
      message: 'the initial names have been accepted',
    };
  }
  return { acceptedNames: next, namesAccepted: cond, established };
}

/** the apiapproval controller: KubernetesAPIApprovalPolicyConformant for groups under k8s.io / kubernetes.io */
export function approvalCondition(crd: KubeObject): Condition | undefined {
  const group = str(crd.spec?.group);
  if (!['k8s.io', 'kubernetes.io'].some((g) => group === g || group.endsWith(`.${g}`))) return undefined;
  const type = 'KubernetesAPIApprovalPolicyConformant';
  const value = crd.metadata.annotations?.['api-approved.kubernetes.io'];
  if (value === undefined)
    return {
      type,
      status: 'False',
      reason: 'MissingAnnotation',
      message:
        'protected groups must have approval annotation "api-approved.kubernetes.io", see https://github.com/kubernetes/enhancements/pull/1111',
    };
  if (value.startsWith('unapproved'))
    return { type, status: 'False', reason: 'UnapprovedAnnotation', message: `not approved: "${value}"` };
  return { type, status: 'True', reason: 'ApprovedAnnotation', message: `approved in ${value}` };
}

/** SetCRDCondition: replaces the condition of its type, keeping lastTransitionTime when the status did not change */
export function setCondition(conditions: Condition[], c: Condition, now: string): Condition[] {
  const old = conditions.find((x) => x.type === c.type);
  const next: Condition = {
    type: c.type,
    status: c.status,
    lastTransitionTime: old && old.status === c.status ? (old.lastTransitionTime ?? now) : now,
    reason: c.reason,
    message: c.message,
  };
  if (old) return conditions.map((x) => (x.type === c.type ? next : x));
  return [...conditions, next];
}
