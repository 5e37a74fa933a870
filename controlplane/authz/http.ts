// Authorization at the API edge: after authentication, impersonation headers are judged
// (endpoints/filters/impersonation.go: the `impersonate` verb on users, groups,
// serviceaccounts, uids and userextras), then every request is judged by RBAC
// (endpoints/filters/authorization.go) and refused with Kubernetes' 403 Status.
// Also the review APIs: SelfSubjectAccessReview, SelfSubjectRulesReview,
// SubjectAccessReview, LocalSubjectAccessReview and SelfSubjectReview (kubectl auth
// can-i / can-i --list / whoami).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import type { KubeObject } from '../../proto/meta.js';
import { isPublicPath } from '../api/auth.js';
import { decodeBody } from '../api/body.js';
import { badRequest, field, invalid } from '../api/errors.js';
import { hasBody } from '../api/http-edge.js';
import type { ResourceDef } from '../resources/types.js';
import { forbiddenError, requestAttributes } from './attributes.js';
import { withAuthenticatedGroup, type RbacAuthorizer } from './authorizer.js';
import {
  ALL_AUTHENTICATED,
  ALL_UNAUTHENTICATED,
  ANONYMOUS,
  splitServiceAccountUser,
  type Attributes,
  type PolicyRule,
  type UserInfo,
} from './rules.js';

const AUTHN_GROUP = 'authentication.k8s.io';
const AUTHZ_GROUP = 'authorization.k8s.io';

export function userOf(req: FastifyRequest): UserInfo | undefined {
  const u = (req as unknown as { user?: unknown }).user;
  if (typeof u !== 'object' || u === null) return undefined;
  const o = u as Partial<UserInfo>;
  return typeof o.name === 'string' && Array.isArray(o.groups) ? (o as UserInfo) : undefined;
}

function headerValues(h: IncomingHttpHeaders, name: string): string[] {
  const v = h[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v])
    .flatMap((x) => (name === 'impersonate-group' ? x.split(',').map((s) => s.trim()) : [x]))
    .filter((x) => x !== '');
}

interface ImpersonationRequest {
  kind: 'User' | 'ServiceAccount' | 'Group' | 'UserExtra' | 'UID';
  name: string;
  namespace?: string;
  extraKey?: string;
}

/** buildImpersonationRequests */
function impersonationRequests(h: IncomingHttpHeaders): ImpersonationRequest[] {
  const out: ImpersonationRequest[] = [];
  const user = headerValues(h, 'impersonate-user')[0];
  if (user) {
    const sa = splitServiceAccountUser(user);
    out.push(sa ? { kind: 'ServiceAccount', name: sa.name, namespace: sa.namespace } : { kind: 'User', name: user });
  }
  const groups = headerValues(h, 'impersonate-group');
  for (const g of groups) out.push({ kind: 'Group', name: g });
  let extra = false;
  for (const k of Object.keys(h)) {
    if (!k.startsWith('impersonate-extra-')) continue;
    extra = true;
    let key = k.slice('impersonate-extra-'.length);
    try {
      key = decodeURIComponent(key);
    } catch {
      /* kept as sent */
    }
    for (const v of headerValues(h, k)) out.push({ kind: 'UserExtra', name: v, extraKey: key });
  }
  const uid = headerValues(h, 'impersonate-uid')[0];
  if (uid) out.push({ kind: 'UID', name: uid });
  if ((groups.length || extra || uid) && !user)
    throw badRequest(`requested ${out.map((r) => `${r.kind} ${r.name}`).join(', ')} without impersonating a user`);
  return out;
}

function hasImpersonationHeader(h: IncomingHttpHeaders): boolean {
  for (const k in h) if (k.startsWith('impersonate-')) return true;
  return false;
}

/** WithImpersonation: the user the request acts as (the requester itself when no headers) */
export function impersonate(h: IncomingHttpHeaders, requester: UserInfo, authorizer: RbacAuthorizer): UserInfo {
  if (!hasImpersonationHeader(h)) return requester;
  const reqs = impersonationRequests(h);
  if (!reqs.length) return requester;
  let username = '';
  let groups: string[] = [];
  const extra: Record<string, string[]> = {};
  let uid = '';
  const groupsSpecified = headerValues(h, 'impersonate-group').length > 0;
  for (const r of reqs) {
    const a: Attributes = {
      user: requester,
      verb: 'impersonate',
      resourceRequest: true,
      path: '',
      apiGroup: '',
      apiVersion: 'v1',
      namespace: r.namespace ?? '',
      resource: '',
      subresource: '',
      name: r.name,
    };
    switch (r.kind) {
      case 'ServiceAccount':
        a.resource = 'serviceaccounts';
        username = `system:serviceaccount:${r.namespace}:${r.name}`;
        if (!groupsSpecified) groups = ['system:serviceaccounts', `system:serviceaccounts:${r.namespace}`];
        break;
      case 'User':
        a.resource = 'users';
        username = r.name;
        break;
      case 'Group':
        a.resource = 'groups';
        groups.push(r.name);
        break;
      case 'UserExtra':
        a.apiGroup = AUTHN_GROUP;
        a.resource = 'userextras';
        a.subresource = r.extraKey ?? '';
        (extra[r.extraKey ?? ''] ??= []).push(r.name);
        break;
      case 'UID':
        a.apiGroup = AUTHN_GROUP;
        a.resource = 'uids';
        uid = r.name;
        break;
    }
    const d = authorizer.authorize(a);
    if (!d.allowed) throw forbiddenError(a, d.reason);
  }
  if (username !== ANONYMOUS) {
    if (!groups.includes(ALL_AUTHENTICATED) && !groups.includes(ALL_UNAUTHENTICATED)) groups.push(ALL_AUTHENTICATED);
  } else if (!groups.includes(ALL_UNAUTHENTICATED)) groups.push(ALL_UNAUTHENTICATED);
  const u: UserInfo = { name: username, groups };
  if (uid) u.uid = uid;
  if (Object.keys(extra).length) u.extra = extra;
  return u;
}

/** what authorization made of a request, for the audit log (controlplane/audit) */
export interface AuthorizationRecord {
  impersonatedUser?: UserInfo;
  decision?: { allowed: boolean; reason: string };
}
const records = new WeakMap<object, AuthorizationRecord>();
export function authorizationRecordOf(req: FastifyRequest): AuthorizationRecord | undefined {
  return records.get(req.raw);
}

/**
 * The authorization hook: install right after the authentication hook. Requests without a
 * user are the public paths (authentication refused the rest); they stay open.
 */
export function installAuthorization(app: FastifyInstance, authorizer: RbacAuthorizer): void {
  app.addHook('onRequest', async (req, reply) => {
    const authenticated = userOf(req);
    if (!authenticated) return;
    try {
      const rec: AuthorizationRecord = {};
      records.set(req.raw, rec);
      const requester = withAuthenticatedGroup(authenticated);
      const user = impersonate(req.headers, requester, authorizer);
      if (user !== requester) rec.impersonatedUser = user;
      (req as unknown as { user: UserInfo }).user = user;
      if (isPublicPath(req.url)) return;
      const a = requestAttributes(req.method, req.url, user);
      const d = authorizer.authorize(a);
      rec.decision = d;
      if (!d.allowed) throw forbiddenError(a, d.reason);
    } catch (e) {
      // the body of a refused request is never read: close rather than drain it
      if (hasBody(req.raw)) reply.header('Connection', 'close');
      throw e;
    }
  });
}

// ---- review APIs ------------------------------------------------------------------------

function reviewDef(group: string, kind: string, resource: string, namespaced = false): ResourceDef {
  return {
    group,
    version: 'v1',
    kind,
    resource,
    singular: '',
    namespaced,
    shortNames: [],
    categories: [],
    verbs: ['create'],
    subresources: [],
    hasStatusSubresource: false,
    hasGeneration: false,
    schema: kind,
    validate: () => [],
    columns: [],
    row: () => [],
  };
}

/** advertised in discovery (kubectl's RESTMapper finds them there) */
export const REVIEW_RESOURCES: ResourceDef[] = [
  reviewDef(AUTHN_GROUP, 'SelfSubjectReview', 'selfsubjectreviews'),
  reviewDef(AUTHZ_GROUP, 'LocalSubjectAccessReview', 'localsubjectaccessreviews', true),
  reviewDef(AUTHZ_GROUP, 'SelfSubjectAccessReview', 'selfsubjectaccessreviews'),
  reviewDef(AUTHZ_GROUP, 'SelfSubjectRulesReview', 'selfsubjectrulesreviews'),
  reviewDef(AUTHZ_GROUP, 'SubjectAccessReview', 'subjectaccessreviews'),
];

export function bodyOf(req: FastifyRequest, kind: string): KubeObject & { spec?: Record<string, unknown> } {
  const b = decodeBody(req.headers['content-type'], req.body as Buffer | undefined);
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw badRequest(`${kind} must be a JSON object`);
  const o = b as KubeObject;
  if (o.kind !== undefined && o.kind !== kind)
    throw badRequest(`the kind of the body (${String(o.kind)}) does not match ${kind}`);
  return o;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** spec.resourceAttributes / nonResourceAttributes → Attributes for `user` */
function specAttributes(
  kind: string,
  spec: Record<string, unknown> | undefined,
  user: UserInfo,
  namespace?: string,
): Attributes {
  const ra = spec?.resourceAttributes;
  const nra = spec?.nonResourceAttributes;
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(ra) === isObj(nra)) {
    throw invalid(
      kind,
      '',
      [
        field.invalid(
          'spec.resourceAttributes',
          isObj(ra) ? ra : 'null',
          'exactly one of nonResourceAttributes or resourceAttributes must be specified',
        ),
      ],
      AUTHZ_GROUP,
    );
  }
  if (isObj(nra)) {
    return {
      user,
      verb: str(nra.verb),
      resourceRequest: false,
      path: str(nra.path),
      apiGroup: '',
      apiVersion: '',
      namespace: '',
      resource: '',
      subresource: '',
      name: '',
    };
  }
  const r = ra as Record<string, unknown>;
  if (namespace !== undefined && str(r.namespace) !== namespace) {
    throw invalid(
      kind,
      '',
      [field.invalid('spec.resourceAttributes.namespace', str(r.namespace), 'must match metadata.namespace')],
      AUTHZ_GROUP,
    );
  }
  return {
    user,
    verb: str(r.verb),
    resourceRequest: true,
    path: '',
    apiGroup: str(r.group),
    apiVersion: str(r.version),
    namespace: str(r.namespace),
    resource: str(r.resource),
    subresource: str(r.subresource),
    name: str(r.name),
  };
}

function status(d: { allowed: boolean; reason: string }): Record<string, unknown> {
  const s: Record<string, unknown> = { allowed: d.allowed };
  if (d.reason) s.reason = d.reason;
  return s;
}

function reviewReply(
  group: string,
  kind: string,
  body: KubeObject,
  extra: Record<string, unknown>,
): Record<string, unknown> {
  const meta = { ...(body.metadata ?? {}), creationTimestamp: null };
  return {
    kind,
    apiVersion: `${group}/v1`,
    metadata: meta,
    ...(body.spec !== undefined ? { spec: body.spec } : {}),
    ...extra,
  };
}

function ruleJson(r: PolicyRule): Record<string, unknown> {
  const o: Record<string, unknown> = { verbs: r.verbs };
  if (r.apiGroups) o.apiGroups = r.apiGroups;
  if (r.resources) o.resources = r.resources;
  if (r.resourceNames) o.resourceNames = r.resourceNames;
  return o;
}

export function registerReviewRoutes(app: FastifyInstance, authorizer: RbacAuthorizer): void {
  const me = (req: FastifyRequest): UserInfo => userOf(req) ?? { name: ANONYMOUS, groups: [ALL_UNAUTHENTICATED] };
  app.post(`/apis/${AUTHN_GROUP}/v1/selfsubjectreviews`, async (req, reply) => {
    const body = bodyOf(req, 'SelfSubjectReview');
    const u = me(req);
    const userInfo: Record<string, unknown> = { username: u.name };
    if (u.uid) userInfo.uid = u.uid;
    userInfo.groups = u.groups;
    if (u.extra && Object.keys(u.extra).length) userInfo.extra = u.extra;
    reply.code(201);
    return {
      kind: 'SelfSubjectReview',
      apiVersion: `${AUTHN_GROUP}/v1`,
      metadata: { ...(body.metadata ?? {}), creationTimestamp: null },
      status: { userInfo },
    };
  });
  app.post(`/apis/${AUTHZ_GROUP}/v1/selfsubjectaccessreviews`, async (req, reply) => {
    const body = bodyOf(req, 'SelfSubjectAccessReview');
    const a = specAttributes('SelfSubjectAccessReview', body.spec, me(req));
    reply.code(201);
    return reviewReply(AUTHZ_GROUP, 'SelfSubjectAccessReview', body, { status: status(authorizer.authorize(a)) });
  });
  app.post(`/apis/${AUTHZ_GROUP}/v1/selfsubjectrulesreviews`, async (req, reply) => {
    const body = bodyOf(req, 'SelfSubjectRulesReview');
    const namespace = str(body.spec?.namespace);
    const { rules, errors } = authorizer.rulesFor(me(req), namespace);
    const resourceRules = rules.filter((r) => !r.nonResourceURLs?.length).map(ruleJson);
    const nonResourceRules = rules
      .filter((r) => r.nonResourceURLs?.length)
      .map((r) => ({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs }));
    const st: Record<string, unknown> = { resourceRules, nonResourceRules, incomplete: errors.length > 0 };
    if (errors.length) st.evaluationError = errors.join(', ');
    reply.code(201);
    return reviewReply(AUTHZ_GROUP, 'SelfSubjectRulesReview', body, { status: st });
  });
  const sar =
    (kind: string, namespaced: boolean) => async (req: FastifyRequest, reply: { code(c: number): unknown }) => {
      const body = bodyOf(req, kind);
      const spec = body.spec ?? {};
      const user = str(spec.user);
      const groups = Array.isArray(spec.groups)
        ? spec.groups.filter((g: unknown): g is string => typeof g === 'string')
        : [];
      if (!user && !groups.length)
        throw invalid(
          kind,
          '',
          [field.invalid('spec.user', user, 'at least one of user or group must be specified')],
          AUTHZ_GROUP,
        );
      const subject: UserInfo = { name: user, groups };
      if (typeof spec.uid === 'string' && spec.uid) subject.uid = spec.uid;
      const ns = namespaced ? (req.params as { namespace: string }).namespace : undefined;
      const a = specAttributes(kind, spec, subject, ns);
      reply.code(201);
      return reviewReply(AUTHZ_GROUP, kind, body, { status: status(authorizer.authorize(a)) });
    };
  app.post(`/apis/${AUTHZ_GROUP}/v1/subjectaccessreviews`, sar('SubjectAccessReview', false));
  app.post(
    `/apis/${AUTHZ_GROUP}/v1/namespaces/:namespace/localsubjectaccessreviews`,
    sar('LocalSubjectAccessReview', true),
  );
}

/**
 * An exec/attach/portforward upgrade (impersonation included): `create` on pods/<sub>, as
 * kube-apiserver asks for websocket upgrades (AuthorizePodWebsocketUpgradeCreatePermission).
 * Throws the 403 (or 400) ApiError; returns the user the request acts as.
 */
export function authorizeUpgrade(
  authorizer: RbacAuthorizer,
  method: string,
  url: string,
  headers: IncomingHttpHeaders,
  user: UserInfo,
): UserInfo {
  const u = impersonate(headers, withAuthenticatedGroup(user), authorizer);
  const a = requestAttributes(method, url, u);
  if (a.resourceRequest && a.resource === 'pods' && ['exec', 'attach', 'portforward'].includes(a.subresource))
    a.verb = 'create';
  const d = authorizer.authorize(a);
  if (!d.allowed) throw forbiddenError(a, d.reason);
  return u;
}
